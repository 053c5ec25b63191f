/**
 * The read-only plan over an in-memory snapshot: per pod a verdict (filters.ts), and across the
 * pool whether the drain can succeed: replacement capacity, scheduling constraints, PDBs that can
 * never allow a disruption, single-replica workloads and DaemonSets not yet Ready on the
 * replacement. Pure and indexed: linear in pods + nodes + PDBs (5,000 nodes / 150,000 pods /
 * 3,000 PDBs in well under 3 s).
 *
 * planSnapshot runs named steps in order, each adding its blockers and warnings to one `Findings`:
 * poolAndReplacement (the pool's nodes, Ready replacement nodes), countPods (one pass over every
 * pod: free capacity, PDB and workload counts, DaemonSet readiness), decidePoolPods (the filters'
 * verdict per pool pod, its PDB or implicit budget), pinVolumes (claims only the pool can reach),
 * moveWarnings (grace periods, cordon tolerations, single replicas), planPdbs, planImplicitBudgets,
 * checkFit (capacity, constraints, anti-affinity, topology) and pendingDaemonSets.
 */
import type { V1Node, V1Pod, V1PodAntiAffinity, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { DEFAULT_BUDGET, DefaultBudget, implicitBudget, parseDefaultBudget } from "./budget";
import { controllerOf, decidePod } from "./filters";
import { topologyBlockers } from "./fit";
import { expectedPods, isHealthy, isTerminal, keyOf, neverAllowsReason, PdbIndex, pdbFloor } from "./pdb";
import { neverAllowsFix, pinnedFix } from "./advice";
import { cpuMillis, parseQuantity } from "./quantity";
import { matchLabelSelector, matchNodeAffinity, matchRequirements, parseSelector, untoleratedTaints } from "./selectors";
import { Controllers, workloadOf } from "./workloads";
import { ScaleCount, ScaleSource } from "./pdbRules";
import { gracePeriodWarnings } from "./terminating";
import { cordonTolerant } from "./cordonToleration";
import { localDataOnPool, VolumePin, volumePins } from "./volumes";
import { ClusterSnapshot, GKE_POOL_LABEL, ImplicitBudgetPlan, PdbPlan, Plan, PlanOptions, PodPlan, PoolTarget, ROLE_LABEL, Verdict } from "./types";

/** Max pod names listed in one blocker or warning line. */
const LIST_MAX = 10;

function listNames(names: string[]): string {
  return names.length <= LIST_MAX ? names.join(", ") : `${names.slice(0, LIST_MAX).join(", ")} and ${names.length - LIST_MAX} more`;
}

/** Checks plan options before anything else; throws naming the field and the fix. */
export function validatePlanOptions(opts: PlanOptions): void {
  if (!opts || typeof opts.pool !== "string" || !opts.pool.trim()) throw new Error(`pool: required, the old node pool's name (e.g. --pool app-1-34-4-gke1047000-20261120)`);
  if (opts.poolLabel !== undefined && (typeof opts.poolLabel !== "string" || !opts.poolLabel)) throw new Error(`poolLabel: must be a non-empty label key (default ${GKE_POOL_LABEL})`);
  if (opts.replacementSelector !== undefined) parseSelector(opts.replacementSelector);
  if (opts.defaultBudget !== undefined) parseDefaultBudget(opts.defaultBudget);
}

/** Node condition Ready=True. */
export function isNodeReady(node: V1Node | undefined): boolean {
  return (node?.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Pool nodes, by the pool label. */
export function poolNodesOf(nodes: V1Node[], opts: PoolTarget): V1Node[] {
  const label = opts.poolLabel ?? GKE_POOL_LABEL;
  return nodes.filter((n) => n?.metadata?.labels?.[label] === opts.pool);
}

/** The replacement selector: explicit, or the role of the pool's nodes. */
export function replacementSelectorOf(poolNodes: V1Node[], opts: PlanOptions): { selector: string; warning?: string } {
  if (opts.replacementSelector !== undefined) return { selector: opts.replacementSelector };
  const roles = [...new Set(poolNodes.map((n) => n?.metadata?.labels?.[ROLE_LABEL]).filter((r): r is string => r !== undefined))];
  if (roles.length === 1) return { selector: `${ROLE_LABEL}=${roles[0]}` };
  if (roles.length > 1) return { selector: `${ROLE_LABEL} in (${roles.join(",")})`, warning: `pool nodes carry several roles (${roles.join(", ")}): replacement = nodes of any of them` };
  return { selector: "", warning: `pool nodes have no ${ROLE_LABEL} label: every other Ready node counts as replacement (set --replacement-selector to narrow it)` };
}

/** Requests of a pod as the scheduler sums them: containers summed, init containers as a max. */
export function podRequests(pod: V1Pod): { cpu: number; mem: number } {
  let cpu = 0, mem = 0, icpu = 0, imem = 0;
  for (const c of pod?.spec?.containers ?? []) { cpu += cpuMillis(c.resources?.requests?.cpu); mem += parseQuantity(c.resources?.requests?.memory); }
  for (const c of pod?.spec?.initContainers ?? []) { icpu = Math.max(icpu, cpuMillis(c.resources?.requests?.cpu)); imem = Math.max(imem, parseQuantity(c.resources?.requests?.memory)); }
  return { cpu: Math.max(cpu, icpu), mem: Math.max(mem, imem) };
}

export { workloadOf };

/** Does a pod's scheduling constraint name the old pool (so no replacement node can ever satisfy it)? */
function pinnedToPool(pod: V1Pod, poolLabel: string, pool: string, poolNodeNames: Set<string>): string | undefined {
  const ns = pod?.spec?.nodeSelector ?? {};
  if (ns[poolLabel] === pool) return `nodeSelector ${poolLabel}=${pool}`;
  const terms = pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const e of t.matchExpressions ?? []) if (e.key === poolLabel && e.operator === "In" && (e.values ?? []).includes(pool)) return `node affinity ${poolLabel} in (${(e.values ?? []).join(",")})`;
    for (const e of t.matchFields ?? []) if (e.key === "metadata.name" && e.operator === "In" && (e.values ?? []).some((v) => poolNodeNames.has(v))) return `node affinity metadata.name in (${(e.values ?? []).join(",")})`;
  }
  return undefined;
}

const HOSTNAME = "kubernetes.io/hostname";

/** A required pod (anti-)affinity term. */
type PodAffinityTerm = NonNullable<V1PodAntiAffinity["requiredDuringSchedulingIgnoredDuringExecution"]>[number];

/** Required pod anti-affinity terms with topologyKey kubernetes.io/hostname (the one-per-node kind). */
function hostnameAntiAffinity(pod: V1Pod): PodAffinityTerm[] {
  return (pod?.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).filter((t) => t.topologyKey === HOSTNAME);
}

/** Would one of these anti-affinity terms reject a node already running `pods`? (namespaceSelector: not evaluated, own namespace assumed.) */
function antiAffinityConflict(pod: V1Pod, terms: PodAffinityTerm[], pods: V1Pod[]): boolean {
  for (const t of terms) {
    const nss: (string | undefined)[] = t.namespaces?.length ? t.namespaces : [pod.metadata?.namespace];
    for (const q of pods) if (q !== pod && nss.includes(q.metadata?.namespace) && matchLabelSelector(t.labelSelector, q.metadata?.labels)) return true;
  }
  return false;
}

/** Can this pod (constraints only, no resources) run on this node? */
function schedulableOn(pod: V1Pod, node: V1Node): boolean {
  const sel = pod?.spec?.nodeSelector;
  if (sel) for (const [k, v] of Object.entries(sel)) if (node.metadata?.labels?.[k] !== v) return false;
  if (!matchNodeAffinity(pod?.spec?.affinity, node)) return false;
  return untoleratedTaints(pod?.spec?.tolerations, node).length === 0;
}

function withoutMatchFields(pod: V1Pod): V1Pod {
  const terms = pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms) return pod;
  const stripped = terms.map((t) => ({ matchExpressions: t.matchExpressions ?? [] })).filter((t) => t.matchExpressions.length);
  const affinity = stripped.length ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: stripped } } } : undefined;
  return { ...pod, spec: { ...pod.spec!, affinity } }; // (terms came from pod.spec)
}

/** What the plan found so far: blockers (the drain would fail) and warnings, in the order found. */
interface Findings {
  blockers: string[];
  warnings: string[];
}

/** Step 1: the pool's nodes and the replacement. */
interface PoolNodes {
  poolLabel: string;
  /** The pool's nodes (by the pool label) and their names. */
  nodes: V1Node[];
  names: Set<string>;
  /** The replacement selector (explicit, or the role of the pool's nodes). */
  selector: string;
  /** Replacement nodes that are Ready and schedulable: the only capacity counted. */
  ready: V1Node[];
}

/** Free capacity of each Ready replacement node (index of PoolNodes.ready), reduced as pods are placed. */
interface Capacity {
  cpu: number[];
  mem: number[];
  slots: number[];
  /** Pods on each node: existing ones, then the ones the fit check places. */
  pods: V1Pod[][];
}

/**
 * A PDB's pods, cluster-wide (not terminal, not deleting) and on the pool (evictable ones), and the
 * scale it protects (pdbRules.ts: its "never allows" is decided from the controllers' spec.replicas).
 */
interface PdbCount { pods: number; healthy: number; poolPods: number; pdb: V1PodDisruptionBudget; scale: ScaleCount }

/** Step 2: what one pass over every pod of the cluster counts. */
interface PodCensus {
  /** Pods bound to pool nodes (terminal ones included: the filters ignore them). */
  poolPods: V1Pod[];
  capacity: Capacity;
  /** Per PDB ("<ns>/<name>") selecting at least one pod. */
  pdbs: Map<string, PdbCount>;
  /** Per workload: pods not being deleted, and the Ready ones. */
  workloadSize: Map<string, number>;
  workloadHealthy: Map<string, number>;
  /** DaemonSet "<ns>/<name>" -> nodes with a Ready pod of it. */
  dsReadyOn: Map<string, Set<string>>;
}

/** Step 3: the pool pods' verdicts and what the later steps need of them. */
interface PoolPodVerdicts {
  pods: PodPlan[];
  counts: Record<Verdict, number>;
  /** Pods to evict, to be placed on the replacement. */
  toPlace: V1Pod[];
  /** Evictable workloads with a single replica (a warning each, see planSnapshot). */
  singleReplica: Set<string>;
  /** One pod of each DaemonSet on the pool. */
  dsSamples: Map<string, V1Pod>;
  /** Workload -> its evictable pool pods that no PDB selects (the implicit budget's candidates). */
  unbudgeted: Map<string, number>;
}

/**
 * Plans the drain of a pool over an in-memory snapshot. Pure: no I/O, same input same output.
 * Throws only on invalid options.
 */
export function planSnapshot(snap: ClusterSnapshot, opts: PlanOptions): Plan {
  validatePlanOptions(opts);
  const found: Findings = { blockers: [], warnings: [] };
  const nodes = snap.nodes ?? [];
  const pool = poolAndReplacement(nodes, opts, found);
  const controllers = Controllers.of(snap);
  const pdbIndex = new PdbIndex(snap.pdbs ?? []);
  // A PDB's "never allows" is decided from its workloads' spec.replicas (pdbRules.ts), when the snapshot has the controllers.
  const hasControllers = !!(snap.deployments || snap.statefulSets || snap.replicaSets);
  const scale: ScaleSource = { workloadOf: (p) => workloadOf(p, controllers.rsOwner), replicas: (w) => hasControllers ? controllers.replicas(w) : undefined };
  const census = countPods(snap.pods ?? [], pool, pdbIndex, scale);
  const verdicts = decidePoolPods(census, opts, pdbIndex, controllers.rsOwner, found);
  const pinnedVolumes = pinVolumes(snap, census, verdicts, pool, found);
  moveWarnings(census, verdicts, pool, opts, controllers.rsOwner, found);
  const pdbPlans = planPdbs(census.pdbs, found);
  const implicitBudgets = planImplicitBudgets(verdicts.unbudgeted, opts.defaultBudget === undefined ? DEFAULT_BUDGET : parseDefaultBudget(opts.defaultBudget),
    (w) => snap.deployments || snap.statefulSets || snap.replicaSets ? controllers.replicas(w) : census.workloadSize.get(w), census.workloadHealthy, found.warnings);
  const fits = checkFit(pool, census.capacity, verdicts.toPlace, { nodes, pods: snap.pods ?? [], workloadOf: (p) => workloadOf(p, controllers.rsOwner) }, opts, found);
  const dsPending = pendingDaemonSets(verdicts.dsSamples, pool.ready, census.dsReadyOn, found);
  return {
    pool: opts.pool,
    nodes: pool.nodes.map(nameOf).sort(),
    replacementSelector: pool.selector,
    replacementNodes: pool.ready.map(nameOf).sort(),
    pods: verdicts.pods.sort((a, b) => a.node.localeCompare(b.node) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
    pdbs: pdbPlans,
    implicitBudgets,
    daemonSetsPending: dsPending.sort(),
    pinnedVolumes,
    blockers: found.blockers,
    warnings: found.warnings,
    fits,
    counts: verdicts.counts,
  };
}

/** metadata.name of an object from the API (always set there). */
function nameOf(o: { metadata?: { name?: string } }): string {
  return o.metadata?.name ?? "";
}

/** Step 1: the pool's nodes; replacement nodes match the selector outside the pool, capacity only from Ready, schedulable ones. */
function poolAndReplacement(nodes: V1Node[], opts: PlanOptions, found: Findings): PoolNodes {
  const poolLabel = opts.poolLabel ?? GKE_POOL_LABEL;
  const poolNodes = poolNodesOf(nodes, opts);
  const names = new Set(poolNodes.map(nameOf));
  if (poolNodes.length === 0) found.blockers.push(`no nodes found with label ${poolLabel}=${opts.pool} (check --pool and --pool-label)`);
  const rs = replacementSelectorOf(poolNodes, opts);
  if (rs.warning && poolNodes.length) found.warnings.push(rs.warning);
  const reqs = parseSelector(rs.selector);
  const replacement = nodes.filter((n) => !names.has(nameOf(n)) && matchRequirements(reqs, n.metadata?.labels));
  const ready = replacement.filter((n) => isNodeReady(n) && !n.spec?.unschedulable);
  if (poolNodes.length && ready.length === 0) {
    found.blockers.push(`no Ready, schedulable replacement nodes match "${rs.selector || "(any node)"}" (${replacement.length} match in total): create the new pool first`);
  }
  return { poolLabel, nodes: poolNodes, names, selector: rs.selector, ready };
}

/** Step 2: one pass over all pods: per-node usage, PDB match counts, workload sizes, DaemonSet readiness. */
function countPods(pods: V1Pod[], pool: PoolNodes, pdbIndex: PdbIndex, scale: ScaleSource): PodCensus {
  const { ready } = pool;
  const readyIdx = new Map<string, number>(ready.map((n, i) => [nameOf(n), i]));
  const capacity: Capacity = {
    cpu: ready.map((n) => cpuMillis(n.status?.allocatable?.cpu ?? "0")),
    mem: ready.map((n) => parseQuantity(n.status?.allocatable?.memory ?? "0")),
    slots: ready.map((n) => parseQuantity(n.status?.allocatable?.pods ?? "110")),
    pods: ready.map(() => []),
  };
  const census: PodCensus = { poolPods: [], capacity, pdbs: new Map(), workloadSize: new Map(), workloadHealthy: new Map(), dsReadyOn: new Map() };
  for (const pod of pods) {
    const nodeName = pod?.spec?.nodeName;
    if (nodeName && pool.names.has(nodeName)) census.poolPods.push(pod);
    if (isTerminal(pod)) continue;
    const i = nodeName !== undefined ? readyIdx.get(nodeName) : undefined;
    if (i !== undefined) { const r = podRequests(pod); capacity.cpu[i] -= r.cpu; capacity.mem[i] -= r.mem; capacity.slots[i] -= 1; capacity.pods[i].push(pod); }
    const c = controllerOf(pod);
    if (c?.kind === "DaemonSet" && nodeName && isHealthy(pod)) {
      const k = `${pod.metadata?.namespace}/${c.name}`;
      (census.dsReadyOn.get(k) ?? census.dsReadyOn.set(k, new Set()).get(k)!).add(nodeName);
    }
    for (const p of pdbIndex.match(pod)) {
      const k = keyOf(p);
      (census.pdbs.get(k) ?? census.pdbs.set(k, { pods: 0, healthy: 0, poolPods: 0, pdb: p, scale: new ScaleCount(scale) }).get(k)!).scale.add(pod);
    }
    if (pod.metadata?.deletionTimestamp) continue;
    const w = scale.workloadOf(pod);
    if (w) census.workloadSize.set(w, (census.workloadSize.get(w) ?? 0) + 1);
    if (w && isHealthy(pod)) census.workloadHealthy.set(w, (census.workloadHealthy.get(w) ?? 0) + 1);
    for (const p of pdbIndex.match(pod)) {
      const e = census.pdbs.get(keyOf(p))!;
      e.pods++;
      if (isHealthy(pod)) e.healthy++;
    }
  }
  return census;
}

/**
 * Step 3: per pool pod, the filters' verdict (filters.ts), then PDB and workload facts for the
 * evictable ones. Counts each evictable pod on its PDB (census.pdbs[...].poolPods).
 */
function decidePoolPods(census: PodCensus, opts: PlanOptions, pdbIndex: PdbIndex, rsOwner: Map<string, string>, found: Findings): PoolPodVerdicts {
  const out: PoolPodVerdicts = {
    pods: [], counts: { evict: 0, "wait-completed": 0, terminating: 0, stays: 0, ignored: 0, blocks: 0 }, toPlace: [],
    singleReplica: new Set(), dsSamples: new Map(), unbudgeted: new Map(),
  };
  const warnByText = new Map<string, string[]>();
  for (const pod of census.poolPods) {
    const d = decidePod(pod, opts);
    const name = keyOf(pod);
    const pp: PodPlan = { namespace: pod.metadata?.namespace ?? "", name: nameOf(pod), node: pod.spec?.nodeName ?? "", verdict: d.verdict, reason: d.reason, uid: pod.metadata?.uid };
    const w = workloadOf(pod, rsOwner);
    if (w) pp.workload = w;
    for (const t of d.warnings ?? []) (warnByText.get(t) ?? warnByText.set(t, []).get(t)!).push(name);
    if (d.verdict === "blocks") found.blockers.push(`pod ${name} on ${pp.node}: ${d.reason}`);
    const c = controllerOf(pod);
    if (c?.kind === "DaemonSet" && d.verdict === "stays" && !out.dsSamples.has(`${pp.namespace}/${c.name}`)) out.dsSamples.set(`${pp.namespace}/${c.name}`, pod);
    if (d.verdict === "evict") {
      out.toPlace.push(pod);
      const pdbs = pdbIndex.match(pod);
      if (pdbs.length > 1) {
        found.blockers.push(`pod ${name} is selected by ${pdbs.length} PodDisruptionBudgets (${pdbs.map(keyOf).join(", ")}): the Eviction API refuses such pods (HTTP 500); make the PDB selectors disjoint`);
      } else if (pdbs.length === 1) {
        pp.pdb = keyOf(pdbs[0]);
        census.pdbs.get(pp.pdb)!.poolPods++;
      } else if (w) {
        out.unbudgeted.set(w, (out.unbudgeted.get(w) ?? 0) + 1);
      }
      if (w && (census.workloadSize.get(w) ?? 0) <= 1) out.singleReplica.add(w);
    }
    out.counts[d.verdict]++;
    out.pods.push(pp);
  }
  for (const [text, names] of warnByText) found.warnings.push(`${text}: ${listNames(names)}`);
  return out;
}

/**
 * Step 4: volumes that pin pods to the pool (scheduler VolumeBinding / VolumeZone), and local data on
 * it (volumes.ts): each is a blocker, and an evictable pod it pins becomes a blocked one.
 */
function pinVolumes(snap: ClusterSnapshot, census: PodCensus, verdicts: PoolPodVerdicts, pool: PoolNodes, found: Findings): VolumePin[] {
  const pinnedVolumes: VolumePin[] = [];
  if (!snap.persistentVolumeClaims || !snap.persistentVolumes) return pinnedVolumes;
  const claims = new Map(snap.persistentVolumeClaims.map((c) => [`${c.metadata?.namespace}/${c.metadata?.name}`, c]));
  const pvs = new Map(snap.persistentVolumes.map((v) => [v.metadata?.name ?? "", v]));
  const seen = new Set<string>();
  const planByKey = new Map(verdicts.pods.map((x) => [`${x.namespace}/${x.name}`, x]));
  for (const pod of verdicts.toPlace) for (const pin of volumePins(pod, claims, pvs, pool.ready)) { seen.add(pin.claim); pinnedVolumes.push(pin); }
  const claimants = (snap.pods ?? []).filter((p) => !p.spec?.nodeName || pool.names.has(p.spec.nodeName));
  for (const pin of localDataOnPool(claimants, claims, pvs, pool.nodes, pool.ready)) if (!seen.has(pin.claim)) pinnedVolumes.push(pin);
  for (const pin of pinnedVolumes) {
    found.blockers.push(pin.message);
    const pp = planByKey.get(pin.pod);
    if (pp && pp.verdict === "evict") { pp.verdict = "blocks"; pp.reason = `claim ${pin.claim} is bound to volume ${pin.volume}, which no replacement node can reach`; verdicts.counts.evict--; verdicts.counts.blocks++; }
  }
  return pinnedVolumes;
}

/** Step 5: warnings about the pods to evict: grace periods longer than the drain's deadline, pods that tolerate the cordon (NodeUnschedulable), single replicas. */
function moveWarnings(census: PodCensus, verdicts: PoolPodVerdicts, pool: PoolNodes, opts: PlanOptions, rsOwner: Map<string, string>, found: Findings): void {
  const verdictOf = new Map(verdicts.pods.map((x) => [x.uid, x.verdict]));
  const evictable = census.poolPods.filter((p) => verdictOf.get(p.metadata?.uid) === "evict");
  found.warnings.push(...gracePeriodWarnings(evictable, opts.deadlineMs ?? 60 * 60 * 1000));
  const roles = [...new Set(pool.nodes.map((n) => n?.metadata?.labels?.[ROLE_LABEL]).filter((r) => r !== undefined))];
  for (const t of cordonTolerant(evictable.filter((p) => controllerOf(p)?.kind !== "DaemonSet").map((pod) => ({ pod, workload: workloadOf(pod, rsOwner) })), roles.length === 1 ? roles[0] : undefined)) found.warnings.push(t.warning);
  for (const w of verdicts.singleReplica) found.warnings.push(`workload ${w} has a single replica: it is unavailable while it moves`);
}

/** Step 6: the PDBs covering evictable pool pods: floor, budget now, and whether one can never allow a disruption. */
function planPdbs(pdbs: Map<string, PdbCount>, found: Findings): PdbPlan[] {
  const out: PdbPlan[] = [];
  for (const [name, e] of pdbs) {
    if (e.poolPods === 0) continue;
    const expected = expectedPods(e.pdb, e.pods);
    const floor = pdbFloor(e.pdb, expected);
    const scale = e.scale.total(); // the controllers' spec.replicas (pdbRules.ts): the verdict and its fix from one count
    const never = neverAllowsReason(e.pdb, scale);
    out.push({ name, pods: e.pods, healthy: e.healthy, floor, allowed: Math.max(0, e.healthy - floor), poolPods: e.poolPods, neverAllows: !!never });
    if (never) found.blockers.push(`PodDisruptionBudget ${name} can never allow a disruption (${never}); it covers ${e.poolPods} pod(s) on the pool: ${neverAllowsFix(e.pdb, scale)}`);
    else if (e.healthy - floor <= 0) found.warnings.push(`PodDisruptionBudget ${name} allows no disruption right now (${e.healthy} healthy, floor ${floor}): the drain waits for it`);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A pod to place and its requests. */
interface Placement { pod: V1Pod; cpu: number; mem: number }

/**
 * Step 8: can the evictable pods be placed on the Ready replacement nodes? Groups them by scheduling
 * constraints, most constrained group first, first-fit decreasing on CPU and memory with one-per-node
 * anti-affinity; then DoNotSchedule topology spread and zone-wide anti-affinity (fit.ts). Uses up
 * `capacity`. Returns whether everything fits.
 */
function checkFit(pool: PoolNodes, capacity: Capacity, toPlace: V1Pod[], cluster: { nodes: V1Node[]; pods: V1Pod[]; workloadOf: (pod: V1Pod) => string | undefined },
  opts: PlanOptions, found: Findings): boolean {
  const { ready } = pool;
  let fitOk = ready.length > 0 || toPlace.length === 0;
  if (ready.length === 0 || toPlace.length === 0) return fitOk;
  const groups = new Map<string, V1Pod[]>();
  for (const pod of toPlace) {
    const sig = JSON.stringify([pod.spec?.nodeSelector ?? null, pod.spec?.affinity?.nodeAffinity ?? null, pod.spec?.tolerations ?? null, hostnameAntiAffinity(pod).length ? [pod.metadata?.namespace, pod.metadata?.labels, hostnameAntiAffinity(pod)] : null]);
    (groups.get(sig) ?? groups.set(sig, []).get(sig)!).push(pod);
  }
  const plans: { pods: V1Pod[]; eligible: number[] }[] = [];
  for (const pods of groups.values()) {
    const sample = pods[0];
    const pinned = pinnedToPool(sample, pool.poolLabel, opts.pool, pool.names);
    const eligible = pinned ? [] : ready.map((_, i) => i).filter((i) => schedulableOn(sample, ready[i]));
    if (eligible.length === 0) {
      fitOk = false;
      const why = pinned ? `pinned to the old pool by ${pinned}: no replacement node can ever run it` : `no Ready replacement node satisfies its nodeSelector/affinity/tolerations`;
      const role = pool.selector.startsWith(`${ROLE_LABEL}=`) ? pool.selector.slice(ROLE_LABEL.length + 1) : undefined;
      const fix = pinned ? `; fix: ${pinnedFix(pinned.includes("metadata.name") ? "node name" : "pool label", ROLE_LABEL, role)}` : "";
      found.blockers.push(`${pods.length} pod(s) cannot be scheduled on the replacement: ${why}: ${listNames(pods.map(keyOf))}${fix}`);
      continue;
    }
    plans.push({ pods, eligible });
  }
  plans.sort((a, b) => a.eligible.length - b.eligible.length);
  const { cpu: freeCpu, mem: freeMem, slots: freeSlots, pods: onNode } = capacity;
  const unplaced: Placement[] = [];
  const antiBlocked: Placement[] = [];
  for (const g of plans) {
    const reqs: Placement[] = g.pods.map((p) => ({ pod: p, ...podRequests(p) })).sort((a, b) => b.cpu - a.cpu || b.mem - a.mem);
    const minCpu = reqs[reqs.length - 1].cpu, minMem = Math.min(...reqs.map((r) => r.mem));
    const anti = hostnameAntiAffinity(g.pods[0]);
    let start = 0;
    for (const r of reqs) {
      let placed = false, repelled = false;
      for (let j = start; j < g.eligible.length; j++) {
        const i = g.eligible[j];
        if (freeCpu[i] >= r.cpu && freeMem[i] >= r.mem && freeSlots[i] >= 1) {
          if (anti.length && antiAffinityConflict(r.pod, anti, onNode[i])) { repelled = true; continue; }
          freeCpu[i] -= r.cpu; freeMem[i] -= r.mem; freeSlots[i] -= 1; onNode[i].push(r.pod); placed = true; break;
        }
        if (j === start && (freeCpu[i] < minCpu || freeMem[i] < minMem || freeSlots[i] < 1)) start++;
      }
      if (!placed) (repelled ? antiBlocked : unplaced).push(r);
    }
  }
  if (antiBlocked.length) {
    fitOk = false;
    found.blockers.push(`${antiBlocked.length} pod(s) cannot be placed: their required pod anti-affinity (one per node, topologyKey kubernetes.io/hostname) needs more Ready replacement nodes than the ${ready.length} there are: ${listNames(antiBlocked.map((r) => keyOf(r.pod)))}; scale the new pool up first`);
  }
  if (unplaced.length) {
    fitOk = false;
    const cpu = unplaced.reduce((s, r) => s + r.cpu, 0), mem = unplaced.reduce((s, r) => s + r.mem, 0);
    found.blockers.push(`${unplaced.length} pod(s) do not fit on the ${ready.length} Ready replacement node(s) (short by up to ${cpu}m CPU, ${Math.ceil(mem / 2 ** 20)}Mi memory): ${listNames(unplaced.map((r) => keyOf(r.pod)))}; scale the new pool up first`);
  }
  // DoNotSchedule topology spread and zone-wide anti-affinity during the drain (fit.ts).
  const topology = topologyBlockers({ nodes: cluster.nodes, pods: cluster.pods, poolNodes: pool.names, replacement: ready, toPlace, eligible: schedulableOn, workloadOf: cluster.workloadOf });
  if (topology.length) { fitOk = false; found.blockers.push(...topology); }
  if (toPlace.some((p) => p.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length)) {
    found.warnings.push("some pods have required pod affinity: the fit check does not evaluate it");
  }
  return fitOk;
}

/** Step 9: DaemonSets with pods on the pool must be Ready on every replacement node they target before the old nodes go. */
function pendingDaemonSets(samples: Map<string, V1Pod>, ready: V1Node[], readyOn: Map<string, Set<string>>, found: Findings): string[] {
  const pending: string[] = [];
  for (const [ds, sample] of samples) {
    const loose = withoutMatchFields(sample);
    const missing = ready.filter((n) => schedulableOn(loose, n) && !readyOn.get(ds)?.has(nameOf(n))).map(nameOf);
    if (missing.length) {
      pending.push(ds);
      found.warnings.push(`DaemonSet ${ds} is not Ready yet on replacement node(s) ${listNames(missing)}: the drain waits for it before evicting`);
    }
  }
  return pending;
}

/**
 * The implicit budgets of the pool's workloads that no PDB selects (budget.ts), each with a
 * warning that recommends a real PDB: the implicit one protects only this drain; GKE repairs,
 * the cluster autoscaler and other tools do not know it. With "none", one warning names them.
 */
function planImplicitBudgets(unbudgeted: Map<string, number>, budget: DefaultBudget, replicasOf: (w: string) => number | undefined,
  healthyOf: Map<string, number>, warnings: string[]): ImplicitBudgetPlan[] {
  const out: ImplicitBudgetPlan[] = [];
  const unprotected: string[] = [];
  for (const [workload, poolPods] of [...unbudgeted].sort(([a], [b]) => a.localeCompare(b))) {
    const replicas = replicasOf(workload);
    if (replicas === undefined) continue; // no scalable controller: today's rules
    const b = implicitBudget(budget, replicas);
    if (!b) { unprotected.push(workload); continue; }
    const healthy = healthyOf.get(workload) ?? 0;
    out.push({ workload, replicas, floor: b.floor, budget: String(budget), maxUnavailable: b.maxUnavailable, healthy, poolPods });
    warnings.push(`workload ${workload} has no PodDisruptionBudget: this drain keeps at least ${b.floor} of its ${replicas} replica(s) Ready (implicit budget maxUnavailable ${budget} = ${b.maxUnavailable})` +
      (healthy <= b.floor ? `, which lets no Ready pod go right now (${healthy} Ready): the drain waits for replacements (unready pods go at once)` : "") +
      `; add a PodDisruptionBudget: the implicit one protects only this drain (GKE repairs, the cluster autoscaler and other tools do not know it)`);
  }
  if (unprotected.length) {
    warnings.push(`defaultBudget is "none": ${unprotected.length} workload(s) without a PodDisruptionBudget have all their pool pods evicted at once: ${listNames(unprotected)}`);
  }
  return out;
}

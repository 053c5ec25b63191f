/**
 * The read-only plan over an in-memory snapshot: per pod a verdict (filters.ts), and across the
 * pool whether the drain can succeed: replacement capacity, scheduling constraints, PDBs that can
 * never allow a disruption, single-replica workloads and DaemonSets not yet Ready on the
 * replacement. Pure and indexed: linear in pods + nodes + PDBs (5,000 nodes / 150,000 pods /
 * 3,000 PDBs in well under 3 s).
 */
import { DEFAULT_BUDGET, DefaultBudget, implicitBudget, parseDefaultBudget } from "./budget";
import { controllerOf, decidePod } from "./filters";
import { topologyBlockers } from "./fit";
import { expectedPods, isHealthy, isTerminal, keyOf, neverAllowsReason, PdbIndex, pdbFloor } from "./pdb";
import { cpuMillis, parseQuantity } from "./quantity";
import { matchLabelSelector, matchNodeAffinity, matchRequirements, parseSelector, untoleratedTaints } from "./selectors";
import { Controllers, workloadOf } from "./workloads";
import { ScaleCount } from "./pdbRules";
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
export function isNodeReady(node: any): boolean {
  return (node?.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
}

/** Pool nodes, by the pool label. */
export function poolNodesOf(nodes: any[], opts: PoolTarget): any[] {
  const label = opts.poolLabel ?? GKE_POOL_LABEL;
  return nodes.filter((n) => n?.metadata?.labels?.[label] === opts.pool);
}

/** The replacement selector: explicit, or the role of the pool's nodes. */
export function replacementSelectorOf(poolNodes: any[], opts: PlanOptions): { selector: string; warning?: string } {
  if (opts.replacementSelector !== undefined) return { selector: opts.replacementSelector };
  const roles = [...new Set(poolNodes.map((n) => n?.metadata?.labels?.[ROLE_LABEL]).filter((r) => r !== undefined))];
  if (roles.length === 1) return { selector: `${ROLE_LABEL}=${roles[0]}` };
  if (roles.length > 1) return { selector: `${ROLE_LABEL} in (${roles.join(",")})`, warning: `pool nodes carry several roles (${roles.join(", ")}): replacement = nodes of any of them` };
  return { selector: "", warning: `pool nodes have no ${ROLE_LABEL} label: every other Ready node counts as replacement (set --replacement-selector to narrow it)` };
}

/** Requests of a pod as the scheduler sums them: containers summed, init containers as a max. */
export function podRequests(pod: any): { cpu: number; mem: number } {
  let cpu = 0, mem = 0, icpu = 0, imem = 0;
  for (const c of pod?.spec?.containers ?? []) { cpu += cpuMillis(c.resources?.requests?.cpu); mem += parseQuantity(c.resources?.requests?.memory); }
  for (const c of pod?.spec?.initContainers ?? []) { icpu = Math.max(icpu, cpuMillis(c.resources?.requests?.cpu)); imem = Math.max(imem, parseQuantity(c.resources?.requests?.memory)); }
  return { cpu: Math.max(cpu, icpu), mem: Math.max(mem, imem) };
}

export { workloadOf };

/** Does a pod's scheduling constraint name the old pool (so no replacement node can ever satisfy it)? */
function pinnedToPool(pod: any, poolLabel: string, pool: string, poolNodeNames: Set<string>): string | undefined {
  const ns = pod?.spec?.nodeSelector ?? {};
  if (ns[poolLabel] === pool) return `nodeSelector ${poolLabel}=${pool}`;
  const terms: any[] = pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const e of t.matchExpressions ?? []) if (e.key === poolLabel && e.operator === "In" && (e.values ?? []).includes(pool)) return `node affinity ${poolLabel} in (${e.values.join(",")})`;
    for (const e of t.matchFields ?? []) if (e.key === "metadata.name" && e.operator === "In" && (e.values ?? []).some((v: string) => poolNodeNames.has(v))) return `node affinity metadata.name in (${e.values.join(",")})`;
  }
  return undefined;
}

const HOSTNAME = "kubernetes.io/hostname";

/** Required pod anti-affinity terms with topologyKey kubernetes.io/hostname (the one-per-node kind). */
function hostnameAntiAffinity(pod: any): any[] {
  return (pod?.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).filter((t: any) => t.topologyKey === HOSTNAME);
}

/** Would one of these anti-affinity terms reject a node already running `pods`? (namespaceSelector: not evaluated, own namespace assumed.) */
function antiAffinityConflict(pod: any, terms: any[], pods: any[]): boolean {
  for (const t of terms) {
    const nss: string[] = t.namespaces?.length ? t.namespaces : [pod.metadata?.namespace];
    for (const q of pods) if (q !== pod && nss.includes(q.metadata?.namespace) && matchLabelSelector(t.labelSelector, q.metadata?.labels)) return true;
  }
  return false;
}

/** Can this pod (constraints only, no resources) run on this node? */
function schedulableOn(pod: any, node: any): boolean {
  const sel = pod?.spec?.nodeSelector;
  if (sel) for (const [k, v] of Object.entries(sel)) if (node.metadata?.labels?.[k] !== v) return false;
  if (!matchNodeAffinity(pod?.spec?.affinity, node)) return false;
  return untoleratedTaints(pod?.spec?.tolerations, node).length === 0;
}

function withoutMatchFields(pod: any): any {
  const terms = pod?.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms) return pod;
  const stripped = terms.map((t: any) => ({ matchExpressions: t.matchExpressions ?? [] })).filter((t: any) => t.matchExpressions.length);
  const affinity = stripped.length ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: stripped } } } : undefined;
  return { ...pod, spec: { ...pod.spec, affinity } };
}

/**
 * Plans the drain of a pool over an in-memory snapshot. Pure: no I/O, same input same output.
 * Throws only on invalid options.
 */
export function planSnapshot(snap: ClusterSnapshot, opts: PlanOptions): Plan {
  validatePlanOptions(opts);
  const poolLabel = opts.poolLabel ?? GKE_POOL_LABEL;
  const blockers: string[] = [];
  const warnings: string[] = [];
  const nodes: any[] = snap.nodes ?? [];
  const poolNodes = poolNodesOf(nodes, opts);
  const poolNames = new Set(poolNodes.map((n) => n.metadata.name as string));
  if (poolNodes.length === 0) blockers.push(`no nodes found with label ${poolLabel}=${opts.pool} (check --pool and --pool-label)`);

  // Replacement nodes: selector match, not in the pool; capacity only from Ready, schedulable ones.
  const rs = replacementSelectorOf(poolNodes, opts);
  if (rs.warning && poolNodes.length) warnings.push(rs.warning);
  const reqs = parseSelector(rs.selector);
  const replacement = nodes.filter((n) => !poolNames.has(n.metadata?.name) && matchRequirements(reqs, n.metadata?.labels));
  const ready = replacement.filter((n) => isNodeReady(n) && !n.spec?.unschedulable);
  if (poolNodes.length && ready.length === 0) {
    blockers.push(`no Ready, schedulable replacement nodes match "${rs.selector || "(any node)"}" (${replacement.length} match in total): create the new pool first`);
  }

  // One pass over all pods: per-node usage, PDB match counts, workload sizes, DaemonSet readiness.
  const controllers = Controllers.of(snap);
  const rsOwner = controllers.rsOwner;
  const pdbIndex = new PdbIndex(snap.pdbs ?? []);
  const pdbPods = new Map<string, { pods: number; healthy: number; poolPods: number; pdb: any; scale: ScaleCount }>();
  // A PDB's "never allows" is decided from its workloads' spec.replicas (pdbRules.ts), when the snapshot has the controllers.
  const hasControllers = !!(snap.deployments || snap.statefulSets || snap.replicaSets);
  const scaleSource = { workloadOf: (p: any) => workloadOf(p, rsOwner), replicas: (w: string) => hasControllers ? controllers.replicas(w) : undefined };
  const workloadSize = new Map<string, number>();
  const workloadHealthy = new Map<string, number>();
  const readyIdx = new Map<string, number>(ready.map((n, i) => [n.metadata.name, i]));
  const freeCpu = ready.map((n) => cpuMillis(n.status?.allocatable?.cpu ?? "0"));
  const freeMem = ready.map((n) => parseQuantity(n.status?.allocatable?.memory ?? "0"));
  const freeSlots = ready.map((n) => parseQuantity(n.status?.allocatable?.pods ?? "110"));
  const onNode: any[][] = ready.map(() => []); // pods on each Ready replacement node (existing, then planned)
  const dsReadyOn = new Map<string, Set<string>>(); // DaemonSet key -> nodes with a Ready pod of it
  const poolPods: any[] = [];
  for (const pod of snap.pods ?? []) {
    const nodeName = pod?.spec?.nodeName;
    if (nodeName && poolNames.has(nodeName)) poolPods.push(pod);
    if (isTerminal(pod)) continue;
    const i = nodeName !== undefined ? readyIdx.get(nodeName) : undefined;
    if (i !== undefined) { const r = podRequests(pod); freeCpu[i] -= r.cpu; freeMem[i] -= r.mem; freeSlots[i] -= 1; onNode[i].push(pod); }
    const c = controllerOf(pod);
    if (c?.kind === "DaemonSet" && nodeName && isHealthy(pod)) {
      const k = `${pod.metadata.namespace}/${c.name}`;
      (dsReadyOn.get(k) ?? dsReadyOn.set(k, new Set()).get(k)!).add(nodeName);
    }
    for (const p of pdbIndex.match(pod)) {
      const k = keyOf(p);
      (pdbPods.get(k) ?? pdbPods.set(k, { pods: 0, healthy: 0, poolPods: 0, pdb: p, scale: new ScaleCount(scaleSource) }).get(k)!).scale.add(pod);
    }
    if (pod.metadata?.deletionTimestamp) continue;
    const w = workloadOf(pod, rsOwner);
    if (w) workloadSize.set(w, (workloadSize.get(w) ?? 0) + 1);
    if (w && isHealthy(pod)) workloadHealthy.set(w, (workloadHealthy.get(w) ?? 0) + 1);
    for (const p of pdbIndex.match(pod)) {
      const e = pdbPods.get(keyOf(p))!;
      e.pods++;
      if (isHealthy(pod)) e.healthy++;
    }
  }

  // Per pool pod: the filters' verdict, then PDB and workload facts for the evictable ones.
  const podPlans: PodPlan[] = [];
  const counts = { evict: 0, "wait-completed": 0, terminating: 0, stays: 0, ignored: 0, blocks: 0 } as Record<Verdict, number>;
  const toPlace: any[] = [];
  const warnByText = new Map<string, string[]>();
  const singleReplica = new Set<string>();
  const dsSamples = new Map<string, any>();
  const unbudgeted = new Map<string, number>(); // workload -> its evictable pool pods no PDB selects
  for (const pod of poolPods) {
    const d = decidePod(pod, opts);
    const name = keyOf(pod);
    const pp: PodPlan = { namespace: pod.metadata.namespace, name: pod.metadata.name, node: pod.spec.nodeName, verdict: d.verdict, reason: d.reason, uid: pod.metadata.uid };
    const w = workloadOf(pod, rsOwner);
    if (w) pp.workload = w;
    for (const t of d.warnings ?? []) (warnByText.get(t) ?? warnByText.set(t, []).get(t)!).push(name);
    if (d.verdict === "blocks") blockers.push(`pod ${name} on ${pp.node}: ${d.reason}`);
    const c = controllerOf(pod);
    if (c?.kind === "DaemonSet" && d.verdict === "stays" && !dsSamples.has(`${pp.namespace}/${c.name}`)) dsSamples.set(`${pp.namespace}/${c.name}`, pod);
    if (d.verdict === "evict") {
      toPlace.push(pod);
      const pdbs = pdbIndex.match(pod);
      if (pdbs.length > 1) {
        blockers.push(`pod ${name} is selected by ${pdbs.length} PodDisruptionBudgets (${pdbs.map(keyOf).join(", ")}): the Eviction API refuses such pods (HTTP 500); make the PDB selectors disjoint`);
      } else if (pdbs.length === 1) {
        pp.pdb = keyOf(pdbs[0]);
        pdbPods.get(pp.pdb)!.poolPods++;
      } else if (w) {
        unbudgeted.set(w, (unbudgeted.get(w) ?? 0) + 1);
      }
      if (w && (workloadSize.get(w) ?? 0) <= 1) singleReplica.add(w);
    }
    counts[d.verdict]++;
    podPlans.push(pp);
  }
  for (const [text, names] of warnByText) warnings.push(`${text}: ${listNames(names)}`);

  // Volumes that pin pods to the pool (scheduler VolumeBinding / VolumeZone), and local data on it.
  const pinnedVolumes: VolumePin[] = [];
  if (snap.persistentVolumeClaims && snap.persistentVolumes) {
    const claims = new Map(snap.persistentVolumeClaims.map((c) => [`${c.metadata?.namespace}/${c.metadata?.name}`, c]));
    const pvs = new Map(snap.persistentVolumes.map((v) => [v.metadata?.name ?? "", v]));
    const seen = new Set<string>();
    const planByKey = new Map(podPlans.map((x) => [`${x.namespace}/${x.name}`, x]));
    for (const pod of toPlace) for (const pin of volumePins(pod, claims, pvs, ready)) { seen.add(pin.claim); pinnedVolumes.push(pin); }
    const claimants = (snap.pods ?? []).filter((p: any) => !p.spec?.nodeName || poolNames.has(p.spec.nodeName));
    for (const pin of localDataOnPool(claimants, claims, pvs, poolNodes, ready)) if (!seen.has(pin.claim)) pinnedVolumes.push(pin);
    for (const pin of pinnedVolumes) {
      blockers.push(pin.message);
      const pp = planByKey.get(pin.pod);
      if (pp && pp.verdict === "evict") { pp.verdict = "blocks"; pp.reason = `claim ${pin.claim} is bound to volume ${pin.volume}, which no replacement node can reach`; counts.evict--; counts.blocks++; }
    }
  }
  // Grace periods longer than the drain's deadline; pods that tolerate the cordon (NodeUnschedulable).
  const verdictOf = new Map(podPlans.map((x) => [x.uid, x.verdict]));
  const evictable = poolPods.filter((p) => verdictOf.get(p.metadata?.uid) === "evict");
  warnings.push(...gracePeriodWarnings(evictable, opts.deadlineMs ?? 60 * 60 * 1000));
  const roles = [...new Set(poolNodes.map((n) => n?.metadata?.labels?.[ROLE_LABEL]).filter((r) => r !== undefined))];
  for (const t of cordonTolerant(evictable.filter((p) => controllerOf(p)?.kind !== "DaemonSet").map((pod) => ({ pod, workload: workloadOf(pod, rsOwner) })), roles.length === 1 ? roles[0] : undefined)) warnings.push(t.warning);
  for (const w of singleReplica) warnings.push(`workload ${w} has a single replica: it is unavailable while it moves`);

  // PDBs covering evictable pool pods.
  const pdbPlans: PdbPlan[] = [];
  for (const [name, e] of pdbPods) {
    if (e.poolPods === 0) continue;
    const expected = expectedPods(e.pdb, e.pods);
    const floor = pdbFloor(e.pdb, expected);
    const never = neverAllowsReason(e.pdb, e.scale.total());
    pdbPlans.push({ name, pods: e.pods, healthy: e.healthy, floor, allowed: Math.max(0, e.healthy - floor), poolPods: e.poolPods, neverAllows: !!never });
    if (never) blockers.push(`PodDisruptionBudget ${name} can never allow a disruption (${never}); it covers ${e.poolPods} pod(s) on the pool: relax it or scale the workload up`);
    else if (e.healthy - floor <= 0) warnings.push(`PodDisruptionBudget ${name} allows no disruption right now (${e.healthy} healthy, floor ${floor}): the drain waits for it`);
  }
  pdbPlans.sort((a, b) => a.name.localeCompare(b.name));
  const implicitBudgets = planImplicitBudgets(unbudgeted, opts.defaultBudget === undefined ? DEFAULT_BUDGET : parseDefaultBudget(opts.defaultBudget),
    (w) => snap.deployments || snap.statefulSets || snap.replicaSets ? controllers.replicas(w) : workloadSize.get(w), workloadHealthy, warnings);

  // Fit: group by scheduling constraints, most constrained group first, first-fit decreasing.
  let fitOk = ready.length > 0 || toPlace.length === 0;
  if (ready.length > 0 && toPlace.length > 0) {
    const groups = new Map<string, any[]>();
    for (const pod of toPlace) {
      const sig = JSON.stringify([pod.spec?.nodeSelector ?? null, pod.spec?.affinity?.nodeAffinity ?? null, pod.spec?.tolerations ?? null, hostnameAntiAffinity(pod).length ? [pod.metadata?.namespace, pod.metadata?.labels, hostnameAntiAffinity(pod)] : null]);
      (groups.get(sig) ?? groups.set(sig, []).get(sig)!).push(pod);
    }
    const plans: { pods: any[]; eligible: number[] }[] = [];
    for (const pods of groups.values()) {
      const sample = pods[0];
      const pinned = pinnedToPool(sample, poolLabel, opts.pool, poolNames);
      const eligible = pinned ? [] : ready.map((_, i) => i).filter((i) => schedulableOn(sample, ready[i]));
      if (eligible.length === 0) {
        fitOk = false;
        const why = pinned ? `pinned to the old pool by ${pinned}: no replacement node can ever run it` : `no Ready replacement node satisfies its nodeSelector/affinity/tolerations`;
        blockers.push(`${pods.length} pod(s) cannot be scheduled on the replacement: ${why}: ${listNames(pods.map(keyOf))}`);
        continue;
      }
      plans.push({ pods, eligible });
    }
    plans.sort((a, b) => a.eligible.length - b.eligible.length);
    const unplaced: any[] = [];
    const antiBlocked: any[] = [];
    for (const g of plans) {
      const reqs = g.pods.map((p) => ({ pod: p, ...podRequests(p) })).sort((a, b) => b.cpu - a.cpu || b.mem - a.mem);
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
      blockers.push(`${antiBlocked.length} pod(s) cannot be placed: their required pod anti-affinity (one per node, topologyKey kubernetes.io/hostname) needs more Ready replacement nodes than the ${ready.length} there are: ${listNames(antiBlocked.map((r) => keyOf(r.pod)))}; scale the new pool up first`);
    }
    if (unplaced.length) {
      fitOk = false;
      const cpu = unplaced.reduce((s, r) => s + r.cpu, 0), mem = unplaced.reduce((s, r) => s + r.mem, 0);
      blockers.push(`${unplaced.length} pod(s) do not fit on the ${ready.length} Ready replacement node(s) (short by up to ${cpu}m CPU, ${Math.ceil(mem / 2 ** 20)}Mi memory): ${listNames(unplaced.map((r) => keyOf(r.pod)))}; scale the new pool up first`);
    }
    // DoNotSchedule topology spread and zone-wide anti-affinity during the drain (fit.ts).
    const topology = topologyBlockers({ nodes, pods: snap.pods ?? [], poolNodes: poolNames, replacement: ready, toPlace, eligible: schedulableOn, workloadOf: (p) => workloadOf(p, rsOwner) });
    if (topology.length) { fitOk = false; blockers.push(...topology); }
    if (toPlace.some((p: any) => p.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length)) {
      warnings.push("some pods have required pod affinity: the fit check does not evaluate it");
    }
  }

  // DaemonSets: Ready on every replacement node they target before the old nodes go.
  const dsPending: string[] = [];
  for (const [ds, sample] of dsSamples) {
    const loose = withoutMatchFields(sample);
    const missing = ready.filter((n) => schedulableOn(loose, n) && !dsReadyOn.get(ds)?.has(n.metadata.name)).map((n) => n.metadata.name);
    if (missing.length) {
      dsPending.push(ds);
      warnings.push(`DaemonSet ${ds} is not Ready yet on replacement node(s) ${listNames(missing)}: the drain waits for it before evicting`);
    }
  }

  return {
    pool: opts.pool,
    nodes: poolNodes.map((n) => n.metadata.name).sort(),
    replacementSelector: rs.selector,
    replacementNodes: ready.map((n) => n.metadata.name).sort(),
    pods: podPlans.sort((a, b) => a.node.localeCompare(b.node) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
    pdbs: pdbPlans,
    implicitBudgets,
    daemonSetsPending: dsPending.sort(),
    pinnedVolumes,
    blockers,
    warnings,
    fits: fitOk,
    counts,
  };
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

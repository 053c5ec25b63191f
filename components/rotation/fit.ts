/**
 * The plan's topology fit check: can the pods the drain evicts be placed on the replacement nodes
 * without breaking their `DoNotSchedule` topology spread constraints (any topologyKey) or their
 * required pod anti-affinity on a topology wider than a node (zone, region, ...)? When not, a
 * blocker names the workload, the constraint, why (e.g. the new pool is in 2 zones and the
 * workload spreads over 3) and the fix. One-per-node anti-affinity is checked with capacity in
 * plan.ts; CPU/memory are not modelled here, nor other workloads' anti-affinity against the moved
 * pods, nor required pod affinity (plan.ts warns about it).
 *
 * The drain is replayed: the old pool's nodes are cordoned (they stay until Pulumi deletes the pool
 * after the drain), then the evictable pods go one at a time in pool-node order, each leaving its
 * old node and being placed at once, as the scheduler would, while the pods not yet evicted still
 * count where they are. kube-scheduler's PodTopologySpread plugin
 * (kubernetes/kubernetes pkg/scheduler/framework/plugins/podtopologyspread, filtering.go
 * `calPreFilterState`/`Filter`, common.go) decides as follows, and this module does the same:
 * - domains are the topologyKey values of the nodes that carry every topologyKey of the pod's
 *   DoNotSchedule constraints and, with `nodeAffinityPolicy: Honor` (default), match its
 *   nodeSelector / required node affinity; with `nodeTaintsPolicy: Honor` nodes with a taint it
 *   does not tolerate are left out, but by default (`Ignore`) cordoned nodes count — a drained old
 *   node is a domain with 0 pods (KEP-3094 was made for exactly this);
 * - counted pods: same namespace, selector (with `matchLabelKeys`) matches, not terminating;
 *   an empty selector counts nothing;
 * - a node passes when `count(its domain) + (pod matches its own selector ? 1 : 0) - globalMin
 *   <= maxSkew`, globalMin being the smallest domain count, or 0 with fewer domains than
 *   `minDomains`.
 * Each pod goes to the passing replacement node whose domains hold the fewest matching pods; groups
 * of identical pods are replayed one after the other on shared state. The verdict can depend on the
 * eviction order (the engine's concurrency varies it): a blocker means this order gets stuck.
 */
import type { V1LabelSelector, V1Node, V1Pod, V1Taint } from "@kubernetes/client-node";
import { isTerminal, keyOf } from "./pdb";
import { matchLabelSelector, matchNodeAffinity, untoleratedTaints } from "./selectors";

const HOSTNAME = "kubernetes.io/hostname";
const CORDON_TAINT: V1Taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
const LIST_MAX = 10;

/** What the topology fit check looks at (plan.ts builds it from the snapshot). */
export interface TopologyFitInput {
  /** Every node of the cluster: nodes outside the replacement still define and fill domains. */
  nodes: V1Node[];
  /** Every pod of the cluster; bound, non-terminating ones count in their node's domains. */
  pods: V1Pod[];
  /** Names of the old pool's nodes (cordoned during the drain; their evicted pods are gone). */
  poolNodes: Set<string>;
  /** Ready, schedulable replacement nodes: where the evicted pods are placed. */
  replacement: V1Node[];
  /** The pool pods the drain evicts. */
  toPlace: V1Pod[];
  /** Whether a pod's nodeSelector, node affinity and tolerations allow a node (plan.ts decides). */
  eligible: (pod: V1Pod, node: V1Node) => boolean;
  /** The workload a pod belongs to, for messages ("ns/Deployment/name"). */
  workloadOf: (pod: V1Pod) => string | undefined;
}

/** A DoNotSchedule constraint, normalized as common.go `filterTopologySpreadConstraints` does. */
interface Spread {
  key: string;
  maxSkew: number;
  minDomains: number;
  selector: V1LabelSelector | undefined;
  honorAffinity: boolean;
  honorTaints: boolean;
}

/** A required anti-affinity term on a topology wider than a node. */
interface Anti { key: string; selector: V1LabelSelector | undefined; namespaces: (ns: string) => boolean }

function emptySelector(sel: V1LabelSelector | undefined): boolean {
  return !sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length);
}

/** Counting selector: empty counts nothing (countPodsMatchSelector). */
function counts(sel: V1LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  return !emptySelector(sel) && matchLabelSelector(sel, labels);
}

function spreadsOf(pod: V1Pod): Spread[] {
  const out: Spread[] = [];
  for (const c of pod.spec?.topologySpreadConstraints ?? []) {
    if ((c.whenUnsatisfiable ?? "DoNotSchedule") !== "DoNotSchedule") continue;
    let selector = c.labelSelector;
    const extra: Record<string, string> = {};
    for (const k of c.matchLabelKeys ?? []) if (pod.metadata?.labels?.[k] !== undefined) extra[k] = pod.metadata.labels[k];
    if (selector && Object.keys(extra).length) selector = { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), ...extra } };
    out.push({
      key: c.topologyKey, maxSkew: c.maxSkew ?? 1, minDomains: c.minDomains ?? 1, selector,
      honorAffinity: (c.nodeAffinityPolicy ?? "Honor") === "Honor", honorTaints: c.nodeTaintsPolicy === "Honor",
    });
  }
  return out;
}

function antisOf(pod: V1Pod): Anti[] {
  const own = pod.metadata?.namespace ?? "";
  return (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
    .filter((t) => t.topologyKey !== HOSTNAME)
    .map((t) => {
      const listed = t.namespaces ?? [];
      // namespaceSelector: {} means every namespace; a non-empty one needs namespace labels the
      // snapshot does not carry, so only the listed namespaces (or the pod's own) are assumed.
      const all = !!t.namespaceSelector && emptySelector(t.namespaceSelector);
      return { key: t.topologyKey, selector: t.labelSelector, namespaces: (ns: string) => all || (listed.length ? listed.includes(ns) : ns === own) };
    });
}

function affinityMatches(pod: V1Pod, node: V1Node): boolean {
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) if (node.metadata?.labels?.[k] !== v) return false;
  return matchNodeAffinity(pod.spec?.affinity, node);
}

/** NoSchedule taints as the scheduler sees the node during the drain (old pool nodes cordoned). */
function taintedFor(pod: V1Pod, node: V1Node, cordoned: boolean): boolean {
  const n = cordoned || node.spec?.unschedulable ? { ...node, spec: { ...node.spec, taints: [...(node.spec?.taints ?? []), CORDON_TAINT] } } : node;
  return untoleratedTaints(pod.spec?.tolerations, n).length > 0;
}

function list(names: string[]): string {
  return names.length <= LIST_MAX ? names.join(", ") : `${names.slice(0, LIST_MAX).join(", ")} and ${names.length - LIST_MAX} more`;
}

/** A bound pod and where it runs now (undefined once evicted without a place). */
interface Placed { pod: V1Pod; node?: V1Node }

/**
 * Blockers for evicted pods whose DoNotSchedule spread or wide anti-affinity cannot be met on the
 * replacement nodes during the drain; empty when every such pod finds a place. Pure.
 */
export function topologyBlockers(input: TopologyFitInput): string[] {
  const order = input.toPlace.filter((p) => spreadsOf(p).length || antisOf(p).length)
    .sort((a, b) => (a.spec?.nodeName ?? "").localeCompare(b.spec?.nodeName ?? "") || keyOf(a).localeCompare(keyOf(b)));
  if (!order.length) return [];
  const groups = new Map<string, V1Pod[]>();
  for (const p of order) {
    const sig = JSON.stringify([p.metadata?.namespace, p.metadata?.labels, p.spec?.topologySpreadConstraints, p.spec?.affinity, p.spec?.nodeSelector, p.spec?.tolerations]);
    (groups.get(sig) ?? groups.set(sig, []).get(sig)!).push(p);
  }
  const nodeByName = new Map(input.nodes.map((n) => [n.metadata?.name ?? "", n]));
  // Bound, non-terminating pods per namespace; replaying a group moves its entries.
  const byNs = new Map<string, Placed[]>();
  const entryOf = new Map<string, Placed>();
  for (const p of input.pods) {
    const node = p.spec?.nodeName ? nodeByName.get(p.spec.nodeName) : undefined;
    if (!node || p.metadata?.deletionTimestamp || isTerminal(p)) continue;
    const ns = p.metadata?.namespace ?? "";
    const e = { pod: p, node };
    (byNs.get(ns) ?? byNs.set(ns, []).get(ns)!).push(e);
    entryOf.set(keyOf(p), e);
  }
  const blockers: string[] = [];
  for (const pods of groups.values()) {
    const b = replayGroup(pods, input, byNs, entryOf);
    if (b) blockers.push(b);
  }
  return blockers;
}

/** Replays the eviction of one group of identical pods; returns a blocker when some find no place. */
function replayGroup(pods: V1Pod[], input: TopologyFitInput, byNs: Map<string, Placed[]>, entryOf: Map<string, Placed>): string | undefined {
  const sample = pods[0];
  const ns = sample.metadata?.namespace ?? "";
  const spreads = spreadsOf(sample);
  const antis = antisOf(sample);
  const selfMatch = spreads.map((s) => counts(s.selector, sample.metadata?.labels));
  const memo = new Map<string, boolean>();
  /** Is the node one of constraint i's domains (filtering.go calPreFilterState)? */
  const included = (i: number, node: V1Node) => {
    const k = `${i}/${node.metadata?.name}`;
    let ok = memo.get(k);
    if (ok === undefined) {
      const labels = node.metadata?.labels ?? {};
      const s = spreads[i];
      ok = !spreads.some((c) => labels[c.key] === undefined) && (!s.honorAffinity || affinityMatches(sample, node)) &&
        !(s.honorTaints && taintedFor(sample, node, input.poolNodes.has(node.metadata?.name ?? "")));
      memo.set(k, ok);
    }
    return ok;
  };
  // Domains per constraint: value -> matching pods; whether a value has only old-pool nodes.
  const domains = spreads.map(() => new Map<string, number>());
  const fromPoolOnly = spreads.map(() => new Map<string, boolean>());
  for (const node of input.nodes) {
    spreads.forEach((s, i) => {
      if (!included(i, node)) return;
      const v = node.metadata!.labels![s.key];
      if (!domains[i].has(v)) domains[i].set(v, 0);
      fromPoolOnly[i].set(v, (fromPoolOnly[i].get(v) ?? true) && input.poolNodes.has(node.metadata?.name ?? ""));
    });
  }
  // Anti-affinity: per term, value -> matching pods (every namespace the term covers).
  const taken = antis.map(() => new Map<string, number>());
  /** Adds (+1) or removes (-1) a pod at a node in every count it belongs to. */
  const account = (pod: V1Pod, node: V1Node, delta: number) => {
    const labels = node.metadata?.labels ?? {};
    if ((pod.metadata?.namespace ?? "") === ns) {
      spreads.forEach((s, i) => {
        const v = labels[s.key];
        if (v !== undefined && domains[i].has(v) && included(i, node) && counts(s.selector, pod.metadata?.labels)) domains[i].set(v, domains[i].get(v)! + delta);
      });
    }
    antis.forEach((a, i) => {
      const v = labels[a.key];
      if (v !== undefined && a.namespaces(pod.metadata?.namespace ?? "") && matchLabelSelector(a.selector, pod.metadata?.labels)) taken[i].set(v, (taken[i].get(v) ?? 0) + delta);
    });
  };
  for (const [podNs, entries] of byNs) {
    if (podNs !== ns && !antis.some((a) => a.namespaces(podNs))) continue;
    for (const e of entries) if (e.node) account(e.pod, e.node, 1);
  }
  const candidates = input.replacement.filter((n) => input.eligible(sample, n));
  const minOf = (i: number) => (domains[i].size < spreads[i].minDomains ? 0 : Math.min(...domains[i].values()));
  /** Index of the first constraint the node breaks (spreads, then antis offset by spreads.length), or -1. */
  const breaks = (node: V1Node): number => {
    const labels = node.metadata?.labels ?? {};
    for (let i = 0; i < spreads.length; i++) {
      const v = labels[spreads[i].key];
      if (v === undefined || !domains[i].has(v)) return i;
      if (domains[i].get(v)! + (selfMatch[i] ? 1 : 0) - minOf(i) > spreads[i].maxSkew) return i;
    }
    for (let i = 0; i < antis.length; i++) {
      const v = labels[antis[i].key];
      if (v !== undefined && (taken[i].get(v) ?? 0) > 0) return spreads.length + i;
    }
    return -1;
  };
  const unplaced: V1Pod[] = [];
  const breakCount = new Map<number, number>();
  for (const pod of pods) {
    const entry = entryOf.get(keyOf(pod));
    if (entry?.node) account(pod, entry.node, -1); // evicted: it leaves its old node
    let best: V1Node | undefined, bestLoad = Infinity;
    const why = new Map<number, number>();
    for (const n of candidates) {
      const b = breaks(n);
      if (b >= 0) { why.set(b, (why.get(b) ?? 0) + 1); continue; }
      const load = spreads.reduce((sum, c, i) => sum + (domains[i].get(n.metadata!.labels![c.key]) ?? 0), 0);
      if (load < bestLoad) { best = n; bestLoad = load; }
    }
    if (entry) entry.node = best;
    if (!best) {
      unplaced.push(pod);
      for (const [b, c] of why) breakCount.set(b, (breakCount.get(b) ?? 0) + c);
      continue;
    }
    account(pod, best, 1);
  }
  if (!unplaced.length) return undefined;
  const workload = input.workloadOf(sample) ?? keyOf(sample);
  const head = `${unplaced.length} of ${pods.length} evicted pod(s) of ${workload} cannot be placed on the replacement nodes during the drain`;
  const names = `: ${list(unplaced.map(keyOf))}`;
  if (!candidates.length) return `${head}: no replacement node matches their nodeSelector/affinity/tolerations${names}`;
  const culprit = [...breakCount].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  const offered = (key: string) => [...new Set(candidates.map((n) => n.metadata?.labels?.[key]).filter((v): v is string => v !== undefined))].sort();
  if (culprit < spreads.length) {
    const s = spreads[culprit];
    const i = culprit;
    const have = offered(s.key);
    const poolOnly = [...domains[i].keys()].filter((v) => fromPoolOnly[i].get(v) && !have.includes(v)).sort();
    const what = `topologySpreadConstraint {topologyKey: ${s.key}, maxSkew: ${s.maxSkew}, whenUnsatisfiable: DoNotSchedule${s.minDomains > 1 ? `, minDomains: ${s.minDomains}` : ""}}`;
    let why: string, fix: string;
    if (s.minDomains > have.length && s.minDomains > 1) {
      why = `minDomains ${s.minDomains} needs ${s.minDomains} ${s.key} values, the replacement nodes offer ${have.length} (${list(have)})`;
      fix = s.key === HOSTNAME ? `give the new pool at least ${s.minDomains} nodes, or lower minDomains` : `create the new pool in at least ${s.minDomains} ${s.key} values (GKE: node locations), or lower minDomains`;
    } else if (poolOnly.length) {
      why = s.key === HOSTNAME
        ? `the ${poolOnly.length} cordoned old-pool node(s) stay domains with 0 pods until the pool is deleted, so each replacement node may hold only ${s.maxSkew} of them; the ${have.length} replacement node(s) hold ${pods.length - unplaced.length}`
        : `the replacement nodes are in ${have.length} ${s.key} value(s) (${list(have)}) but the workload spreads over ${have.length + poolOnly.length}: ${list(poolOnly)} only has cordoned old-pool nodes, a domain with 0 pods until the pool is deleted`;
      fix = s.key === HOSTNAME
        ? `set nodeTaintsPolicy: Honor on the constraint (cordoned nodes then stop counting), or give the new pool at least ${Math.ceil(pods.length / s.maxSkew)} nodes`
        : `create the new pool in ${list(poolOnly)} too (GKE: node locations), or set nodeTaintsPolicy: Honor on the constraint (cordoned nodes then stop counting)`;
    } else {
      why = `the replacement nodes' ${have.length} ${s.key} value(s) (${list(have)}) cannot take them within maxSkew ${s.maxSkew} next to the pods that stay`;
      fix = `add ${s.key === HOSTNAME ? "nodes" : `${s.key} values`} to the new pool, or raise maxSkew`;
    }
    return `${head}: ${what}: ${why}; fix: ${fix}${names}`;
  }
  const a = antis[culprit - spreads.length];
  const have = offered(a.key);
  return `${head}: required pod anti-affinity {topologyKey: ${a.key}} allows one matching pod per ${a.key} value; the replacement nodes offer ${have.length} (${list(have)}) for ${pods.length} pod(s); ` +
    `fix: create the new pool in more ${a.key} values (GKE: node locations), or lower the replica count${names}`;
}

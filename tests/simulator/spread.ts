/**
 * PodTopologySpread as kube-scheduler computes it (kubernetes/kubernetes
 * pkg/scheduler/framework/plugins/podtopologyspread, filtering.go `calPreFilterState`/`Filter` and
 * common.go, v1.33), for the simulator's scheduler:
 *
 * - Domains: the values of `topologyKey` over the nodes the pod could land on — nodes that carry
 *   every topologyKey of the pod's constraints of that kind and, with `nodeAffinityPolicy: Honor`
 *   (the default), match the pod's nodeSelector / required node affinity; with
 *   `nodeTaintsPolicy: Honor` (default Ignore) nodes with a taint the pod does not tolerate are left
 *   out. Cordoned and not-Ready nodes count (the default ignores their taints): a cordoned, drained
 *   node is a domain with 0 pods, the well-known reason spread pods stay Pending during a drain.
 * - Counts: pods in the pod's namespace matching the selector (with `matchLabelKeys` merged in),
 *   not terminating (#87621), not finished; an empty selector counts nothing.
 * - Filter: `count(domain) + (1 if the pod matches its own selector) - globalMin <= maxSkew`, where
 *   globalMin is the smallest count over the domains, or 0 when there are fewer than `minDomains`
 *   domains (`minMatchNum`). A node without the topologyKey is "missing required label".
 * - ScheduleAnyway constraints are a preference (scoring.go, simplified): the feasible node whose
 *   domains hold the fewest matching pods, each constraint weighted by log(domains + 2).
 * System default constraints (applied to pods without any) are not simulated.
 *
 * Kept independent of components/rotation/fit.ts on purpose: the simulator is the ground the
 * engine's fit check is tested against, so it must not share its code.
 */
import { isTerminal, matchesLabelSelector, nodeMatchesPod, Obj, tolerates } from "./util";

/** One constraint of the pod, normalized (defaults filled as in common.go). */
export interface Constraint {
  key: string;
  maxSkew: number;
  minDomains: number;
  selector: Obj | undefined;
  honorAffinity: boolean;
  honorTaints: boolean;
}

/** Per-constraint domain counts for one pod. */
export interface SpreadState {
  constraints: Constraint[];
  /** per constraint: domain value -> matching pods */
  counts: Map<string, number>[];
  /** per constraint: global minimum used by the filter */
  min: number[];
  /** per constraint: whether the pod matches its own selector */
  self: boolean[];
}

export const MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";
export const SKEW = "node(s) didn't match pod topology spread constraints";

/** The pod's constraints with `whenUnsatisfiable` = action. */
export function constraintsOf(pod: Obj, action: "DoNotSchedule" | "ScheduleAnyway"): Constraint[] {
  const out: Constraint[] = [];
  for (const c of pod.spec?.topologySpreadConstraints ?? []) {
    if ((c.whenUnsatisfiable ?? "DoNotSchedule") !== action) continue;
    let selector = c.labelSelector;
    const keys: string[] = c.matchLabelKeys ?? [];
    const extra: Record<string, string> = {};
    for (const k of keys) if (pod.metadata.labels?.[k] !== undefined) extra[k] = pod.metadata.labels[k];
    if (selector && Object.keys(extra).length) selector = { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), ...extra } };
    out.push({
      key: c.topologyKey,
      maxSkew: c.maxSkew ?? 1,
      minDomains: c.minDomains ?? 1,
      selector,
      honorAffinity: (c.nodeAffinityPolicy ?? "Honor") === "Honor",
      honorTaints: (c.nodeTaintsPolicy ?? "Ignore") === "Honor",
    });
  }
  return out;
}

/** A node's NoSchedule/NoExecute taints, with the one the node lifecycle controller puts on a cordoned node. */
function untolerated(pod: Obj, node: Obj): boolean {
  const taints: Obj[] = [...(node.spec?.taints ?? [])];
  if (node.spec?.unschedulable) taints.push({ key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" });
  return taints.some((t) => t.effect !== "PreferNoSchedule" && !tolerates(pod.spec?.tolerations, t));
}

/**
 * Domain counts for `pod` over `nodes` (the scheduler's whole node list), counting `nsPods` (the
 * pods of the pod's namespace). Cost: O(nodes + nsPods) per constraint.
 */
export function spreadState(pod: Obj, constraints: Constraint[], nodes: Obj[], nsPods: Obj[]): SpreadState {
  const counts = constraints.map(() => new Map<string, number>());
  const self = constraints.map((c) => matchesLabelSelector(c.selector, pod.metadata.labels));
  if (constraints.length === 0) return { constraints, counts, min: [], self };
  const perNode = constraints.map(() => new Map<string, number>());
  for (const p of nsPods) {
    const n = p.spec?.nodeName;
    if (!n || p.metadata.deletionTimestamp || isTerminal(p)) continue;
    constraints.forEach((c, i) => {
      if (matchesLabelSelector(c.selector, p.metadata.labels)) perNode[i].set(n, (perNode[i].get(n) ?? 0) + 1);
    });
  }
  const affinityOk = new Map<string, boolean>();
  for (const node of nodes) {
    const labels = node.metadata.labels ?? {};
    if (constraints.some((c) => labels[c.key] === undefined)) continue;
    constraints.forEach((c, i) => {
      if (c.honorAffinity) {
        let ok = affinityOk.get(node.metadata.name);
        if (ok === undefined) affinityOk.set(node.metadata.name, (ok = nodeMatchesPod(pod.spec ?? {}, node)));
        if (!ok) return;
      }
      if (c.honorTaints && untolerated(pod, node)) return;
      const v = labels[c.key];
      counts[i].set(v, (counts[i].get(v) ?? 0) + (perNode[i].get(node.metadata.name) ?? 0));
    });
  }
  const min = constraints.map((c, i) => (counts[i].size < c.minDomains ? 0 : Math.min(...counts[i].values())));
  return { constraints, counts, min, self };
}

/** Why `node` breaks a DoNotSchedule constraint, or undefined (Filter). */
export function spreadFilter(s: SpreadState, node: Obj): string | undefined {
  const labels = node.metadata.labels ?? {};
  for (let i = 0; i < s.constraints.length; i++) {
    const c = s.constraints[i];
    const v = labels[c.key];
    if (v === undefined) return MISSING_LABEL;
    if ((s.counts[i].get(v) ?? 0) + (s.self[i] ? 1 : 0) - s.min[i] > c.maxSkew) return SKEW;
  }
  return undefined;
}

/** ScheduleAnyway preference: lower is better; nodes without a topologyKey come last. */
export function spreadScore(s: SpreadState, node: Obj): number {
  const labels = node.metadata.labels ?? {};
  let score = 0;
  for (let i = 0; i < s.constraints.length; i++) {
    const v = labels[s.constraints[i].key];
    if (v === undefined) return Number.POSITIVE_INFINITY;
    score += (s.counts[i].get(v) ?? 0) * Math.log(s.counts[i].size + 2);
  }
  return score;
}

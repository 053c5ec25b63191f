/**
 * Pods that tolerate the cordon (issue 19 case 9). A cordoned node is `spec.unschedulable: true`;
 * the scheduler's NodeUnschedulable plugin (kubernetes pkg/scheduler/framework/plugins/
 * nodeunschedulable/node_unschedulable.go) lets a pod onto it anyway when the pod tolerates the taint
 * `node.kubernetes.io/unschedulable:NoSchedule` (v1helper.TolerationsTolerateTaint: a toleration with
 * that key and operator Exists, or Equal with an empty value, or no key with operator Exists — the
 * tolerate-everything form; effect empty or NoSchedule). Such a pod, evicted from the old pool, can be
 * placed right back on it and evicted again. The DaemonSet controller adds this toleration to its
 * pods, which stay anyway; for anything else `plan` warns, naming the workload and the fix, and the
 * drain bounds how often it re-evicts the same workload.
 */
import type { V1Pod, V1Toleration } from "@kubernetes/client-node";
import { ROLE_LABEL } from "./types";
import { tolerates } from "./selectors";

/** The taint a cordoned node carries for the scheduler (corev1.TaintNodeUnschedulable). */
export const UNSCHEDULABLE_TAINT = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" } as const;

/** The pod's toleration that lets it onto a cordoned node, or undefined. */
export function cordonToleration(pod: V1Pod): V1Toleration | undefined {
  return (pod.spec?.tolerations ?? []).find((t) => tolerates(t, UNSCHEDULABLE_TAINT));
}

function describe(t: V1Toleration): string {
  return `{${t.key ? `key: ${t.key}, ` : ""}operator: ${t.operator ?? "Equal"}${t.effect ? `, effect: ${t.effect}` : ""}}`;
}

/** A workload whose pods tolerate the cordon, for the plan. */
export interface CordonTolerant {
  /** "<ns>/<Kind>/<name>", or "<ns>/Pod/<name>" for a pod without a workload. */
  workload: string;
  /** Its pods on the pool. */
  pods: string[];
  /** The toleration, as written in the pod spec. */
  toleration: string;
  /** The plan's warning line. */
  warning: string;
}

/**
 * Plan warnings for the pods to evict (DaemonSet pods are not passed: they stay) that tolerate the
 * cordon, one per workload. `role`: the role of the pool's nodes, for the node-affinity fix.
 */
export function cordonTolerant(pods: Iterable<{ pod: V1Pod; workload?: string }>, role: string | undefined): CordonTolerant[] {
  const by = new Map<string, { pods: string[]; toleration: string }>();
  for (const { pod, workload } of pods) {
    const t = cordonToleration(pod);
    if (!t) continue;
    const w = workload ?? `${pod.metadata?.namespace}/Pod/${pod.metadata?.name}`;
    const e = by.get(w) ?? by.set(w, { pods: [], toleration: describe(t) }).get(w)!;
    e.pods.push(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }
  const affinity = role ? `${ROLE_LABEL}=${role}` : `${ROLE_LABEL}=<role>`;
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([workload, e]) => ({
    workload, pods: e.pods.sort(), toleration: e.toleration,
    warning: `workload ${workload} tolerates the cordon (toleration ${e.toleration} matches ${UNSCHEDULABLE_TAINT.key}:${UNSCHEDULABLE_TAINT.effect}): the scheduler may put its evicted pods back on the cordoned pool (NodeUnschedulable), and the drain re-evicts them only a bounded number of times; fix: remove that toleration, or add a required node affinity to ${affinity} (the new pool carries it too)`,
  }));
}

/**
 * Bounds re-evictions of a workload whose pods keep coming back to the pool. A workload may have
 * `limit` evictions beyond the pods it had on the pool when the drain started (default: as many
 * again, at least 2). Invariant: `evictions(w) <= initial(w) + allowance(w)` for every workload the
 * drain evicts through it; past that, `admit` refuses and says why.
 */
export class ReEvictionBound {
  private readonly initial = new Map<string, number>();
  private readonly count = new Map<string, number>();

  constructor(private readonly extra: (initialPods: number) => number = (n) => Math.max(2, n)) {}

  /** Records a workload's pods on the pool at the start (call once per workload). */
  start(workload: string, poolPods: number): void {
    this.initial.set(workload, poolPods);
  }

  /** Evictions a workload may still get. */
  left(workload: string): number {
    const initial = this.initial.get(workload) ?? 0;
    return initial + this.extra(initial) - (this.count.get(workload) ?? 0);
  }

  /** Undefined when one more eviction of the workload is allowed (and counts it), else why not. */
  admit(workload: string): string | undefined {
    if (this.left(workload) <= 0) {
      const initial = this.initial.get(workload) ?? 0;
      return `workload ${workload} was evicted ${this.count.get(workload) ?? 0} times for ${initial} pod(s) on the pool: its pods keep coming back to the cordoned nodes (they tolerate ${UNSCHEDULABLE_TAINT.key}); remove the toleration or add a required node affinity to the new pool's ${ROLE_LABEL} label`;
    }
    this.count.set(workload, (this.count.get(workload) ?? 0) + 1);
    return undefined;
  }

  /** An admitted eviction that was not accepted (429, error): it does not count. */
  refund(workload: string): void {
    const n = this.count.get(workload) ?? 0;
    if (n > 0) this.count.set(workload, n - 1);
  }
}

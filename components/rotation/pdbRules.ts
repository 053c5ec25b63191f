/**
 * Two PDB rules the drain must take from the Kubernetes source, not from a momentary status
 * (issue 19 cases 3 and 4).
 *
 * Case 3, "never allows". The disruption controller (kubernetes pkg/controller/disruption/
 * disruption.go, getExpectedPodCount) computes expectedPods differently per spec:
 * - maxUnavailable, or a percentage minAvailable: the controllers' scale (getExpectedScale: the sum of
 *   spec.replicas of the controllers owning the matching pods);
 * - an integer minAvailable: `expectedCount = len(pods)`, the pods it sees at that moment.
 * So while a StatefulSet recreates an evicted pod, a zk-style PDB (3 replicas, `minAvailable: 2`, the
 * example of the Kubernetes docs "Specifying a Disruption Budget") can publish `expectedPods: 2`, and
 * "minAvailable >= expectedPods" would call it "never allows" though one disruption at a time is fine.
 * Whether a PDB can EVER allow a disruption is a property of its spec and of the workload's declared
 * size: decided here from the controllers' spec.replicas (the scale), with the matching pods counted
 * only for pods that have no scalable controller.
 *
 * Case 4, unready and Pending pods. EvictionREST.Create (pkg/registry/core/pod/storage/eviction.go):
 * `canIgnorePDB` deletes Pending, Succeeded, Failed and already-deleting pods without looking at any
 * PDB; a Running pod that is not Ready is deleted without decrementing the budget when the PDB's
 * `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or under the default `IfHealthyBudget` while
 * `currentHealthy >= desiredHealthy > 0`; otherwise checkAndDecrement decides (429 when
 * disruptionsAllowed is 0). The drain therefore does not hold such pods back on `disruptionsAllowed:
 * 0`: it offers them, and the server decides (a 429 parks them as any other).
 */
import type { V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { isHealthy, neverAllowsReason, pdbSelects } from "./pdb";

/** How to learn a workload's declared size: its controller's spec.replicas, or undefined (no scalable controller known). */
export interface ScaleSource {
  /** "<ns>/<Kind>/<name>" of a pod's workload (workloads.ts Controllers.workloadOf). */
  workloadOf(pod: V1Pod): string | undefined;
  /** spec.replicas of a workload's controller (workloads.ts Controllers.replicas). */
  replicas(workload: string): number | undefined;
}

/**
 * The scale a PDB protects, as getExpectedScale computes it: the sum of spec.replicas over the
 * distinct workloads of the (non-terminal) pods it selects, plus one for each selected pod that has no
 * scalable controller (and is not being deleted). Deleting pods count for their workload: a pod being
 * replaced still belongs to it. Fed pod by pod, so a plan over a large cluster counts every PDB in
 * its one pass over the pods.
 */
export class ScaleCount {
  private readonly workloads = new Set<string>();
  private loose = 0;

  constructor(private readonly scale: ScaleSource) {}

  /** Adds one pod the PDB selects (terminal pods are skipped). */
  add(pod: V1Pod): void {
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    const w = this.scale.workloadOf(pod);
    if (w !== undefined && this.scale.replicas(w) !== undefined) this.workloads.add(w);
    else if (!pod.metadata?.deletionTimestamp) this.loose++;
  }

  /** The expected scale of the pods added so far. */
  total(): number {
    let t = this.loose;
    for (const w of this.workloads) t += this.scale.replicas(w) ?? 0;
    return t;
  }
}

/** expectedScale over a list of pods (those of the PDB's namespace, or all). */
export function expectedScale(pdb: V1PodDisruptionBudget, pods: Iterable<V1Pod>, scale: ScaleSource): number {
  const ns = pdb.metadata?.namespace;
  const count = new ScaleCount(scale);
  for (const p of pods) if (p.metadata?.namespace === ns && pdbSelects(pdb, p.metadata?.labels)) count.add(p);
  return count.total();
}

/**
 * Why this PDB can never allow a disruption of a workload of `scale` pods (maxUnavailable 0 or 0%,
 * minAvailable 100%, or an integer/percentage minAvailable >= scale), or undefined. `scale` comes
 * from expectedScale — never from status.expectedPods, which for an integer minAvailable is the
 * momentary pod count.
 */
export function neverAllows(pdb: V1PodDisruptionBudget, scale: number): string | undefined {
  return neverAllowsReason(pdb, scale);
}

/** Why the drain offers a pod to the Eviction API although its PDB shows no budget, or undefined. */
export interface ServerDecides {
  /** The pod is offered even with `disruptionsAllowed: 0`; it takes nothing from the PDB's budget in the drain's ledger. */
  offer: true;
  /** What the API server will do with it, as eviction.go reads (for progress lines and the evidence). */
  expect: "deleted without a PDB check" | "deleted without using the budget" | "the server decides";
  reason: string;
}

/**
 * Case 4: should the drain offer this pod to the API server although its PDB allows no disruption?
 * Pending pods (canIgnorePDB) and pods that are not Ready: yes; Ready pods: no (undefined), the
 * PDB's budget gates them. Terminal and deleting pods are never evicted by the drain (filters.ts).
 */
export function serverDecides(pod: V1Pod, pdb: V1PodDisruptionBudget): ServerDecides | undefined {
  if (pod.status?.phase === "Pending") {
    return { offer: true, expect: "deleted without a PDB check", reason: "Pending: the Eviction API deletes it without checking the PDB (canIgnorePDB)" };
  }
  if (isHealthy(pod)) return undefined;
  if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") {
    return { offer: true, expect: "deleted without using the budget", reason: "not Ready under unhealthyPodEvictionPolicy AlwaysAllow" };
  }
  const st = pdb.status;
  if (st && st.desiredHealthy > 0 && st.currentHealthy >= st.desiredHealthy) {
    return { offer: true, expect: "deleted without using the budget", reason: `not Ready while the PDB is healthy (${st.currentHealthy} >= ${st.desiredHealthy}, IfHealthyBudget)` };
  }
  return { offer: true, expect: "the server decides", reason: "not Ready: the API server decides (IfHealthyBudget; a 429 parks it)" };
}

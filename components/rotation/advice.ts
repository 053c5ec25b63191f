/**
 * What the engine tells the operator to do about a refusal, where the fix depends on the case:
 * one place decides each advice; the plan's blockers, the drain's failures and the docs
 * (docs/troubleshooting.md) quote it.
 *
 * PodDisruptionBudgets that never allow a disruption: the floor arithmetic is the disruption
 * controller's (pdb.ts): a percentage is scaled over the expected pods and rounded up, so
 * `minAvailable: 100%` and `maxUnavailable: 0` keep every pod at any size: scaling the workload up
 * never helps them. Only a floor that stays put while the workload grows — an integer
 * `minAvailable` — is helped by more replicas.
 */
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";

/** The smallest replica count at which `minAvailable: P%` (rounded up) leaves one pod free, or undefined for 100% and above. */
export function replicasFreeingOne(percent: number): number | undefined {
  if (!(percent < 100)) return undefined;
  for (let n = 1; ; n++) if (Math.ceil((percent * n) / 100) < n) return n;
}

/**
 * The fix for a PDB that never allows a disruption with `expected` pods (see pdb.ts
 * neverAllowsReason), worded for the PDB's form:
 * - `maxUnavailable: 0` (or "0%"): raise maxUnavailable; scaling up does not help;
 * - `minAvailable: 100%`: lower it (or use maxUnavailable); scaling up does not help;
 * - `minAvailable: P%` below 100: lower it, or scale to the size at which it frees a pod;
 * - `minAvailable: N` (integer, N >= expected): lower it, or scale the workload to N + 1 replicas.
 */
export function neverAllowsFix(pdb: V1PodDisruptionBudget, expected: number): string {
  const spec = pdb.spec ?? {};
  const mu = spec.maxUnavailable;
  if (mu !== undefined && mu !== null) {
    return `set maxUnavailable to 1 or more (scaling the workload up does not help: maxUnavailable: ${mu} never allows an eviction at any size)`;
  }
  const ma = spec.minAvailable;
  if (typeof ma === "string" && ma.trim().endsWith("%")) {
    const p = parseInt(ma, 10);
    const n = replicasFreeingOne(p);
    if (n === undefined) return `lower minAvailable below 100% or use maxUnavailable: 1 instead (scaling the workload up does not help: minAvailable: ${ma} keeps every pod at any size)`;
    return `lower minAvailable or use maxUnavailable: 1 instead, or scale the workload to ${n} replicas or more (minAvailable: ${ma} rounds up: it frees a pod only from ${n} replicas)`;
  }
  const k = typeof ma === "number" ? ma : parseInt(String(ma), 10);
  const to = Math.max(k, expected) + 1;
  return `lower minAvailable below ${expected} (or use maxUnavailable: 1 instead), or scale the workload up to ${to} replicas or more (minAvailable: ${ma} is a fixed number of pods)`;
}

/**
 * The fix for pods pinned to the old pool by `how` (plan.ts pinnedToPool): a pool label in a
 * nodeSelector or required node affinity names one pool, and pool names change on every rotation;
 * the role label is what every pool of the role carries (policy `workload-not-pinned-to-pool-name`).
 * `role` is the pool nodes' role, when they carry one.
 */
export function pinnedFix(how: "pool label" | "node name", roleLabel: string, role: string | undefined): string {
  if (how === "node name") return "remove the required node affinity on metadata.name (node names change when a pool is replaced)";
  return `select ${roleLabel}=${role ?? "<role>"} instead (every pool of the role carries it; pool names change on every rotation)`;
}

/**
 * A hint for a drain that reached its deadline while PDBs it waited on had unready pods: under the
 * default `unhealthyPodEvictionPolicy: IfHealthyBudget` an unready pod counts against the budget
 * and is evicted only while the PDB is at its floor or above; with `AlwaysAllow` (Kubernetes
 * recommends it: blog "Kubernetes 1.26: Eviction policy for unhealthy pods guarded by
 * PodDisruptionBudgets") unready pods are evicted at once, since they serve nothing.
 */
export function unreadyPodsHint(pdbs: readonly string[]): string {
  return `PodDisruptionBudget(s) ${pdbs.join(", ")} have unready pods: make them Ready, or set unhealthyPodEvictionPolicy: AlwaysAllow on the PDB so unready pods can be evicted at once`;
}

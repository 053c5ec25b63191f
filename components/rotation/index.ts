/**
 * Rotation engine: plan and drain a node pool through the Kubernetes API. Imports
 * @kubernetes/client-node only (never @pulumi/*); the CLI, the PoolDrainer dynamic provider and the
 * rehearsal are thin doors into these functions. See docs/architecture.md "Rotation engine".
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "./client";
import { planSnapshot, validatePlanOptions } from "./plan";
import { volumesUnreadable } from "./volumes";
import { Plan, PlanOptions } from "./types";

export * from "./types";
export { planSnapshot, validatePlanOptions, podRequests, isNodeReady } from "./plan";
export { workloadOf, Controllers, SCALABLE_KINDS } from "./workloads";
export { DEFAULT_BUDGET, parseDefaultBudget, implicitBudget } from "./budget";
export type { DefaultBudget, ImplicitBudget } from "./budget";
export { formatAvailability, AvailabilityTracker } from "./availability";
export type { WorkloadAvailability, FloorInfo } from "./availability";
export { drainPool, validateDrainOptions, parseBatch, uncordonNodes, DRAIN_DEFAULTS } from "./drain";
export { drainOptionsFor, DEFAULT_DEADLINE_MINUTES, checkDrainSettings, settingProblem, drainOptionProblem, DRAIN_SETTING_KEYS, DRAIN_SETTING_RULES } from "./settings";
export { errorText, missingExecCommand, KubeClient } from "./client";
export { realClock } from "./clock";
export type { Clock, TimerHandle } from "./clock";
export type { DrainSettings, DrainSettingKey } from "./settings";
export { decidePod, POD_FILTERS, controllerOf } from "./filters";
export type { PodFilter, PodDecision, FilterOptions, KnobAudience } from "./filters";
export { PdbIndex, pdbFloor, neverAllowsReason } from "./pdb";

/** Plans the drain of a pool from the live cluster (paginated lists of nodes, pods, PDBs and the scalable controllers; read-only). `log` gets retry progress lines. */
export async function planPool(kc: KubeConfig, opts: PlanOptions & { deadlineMs?: number; signal?: AbortSignal; log?: (line: string) => void }): Promise<Plan & { apiRequests: number }> {
  validatePlanOptions(opts);
  const client = new KubeClient(kc, opts.signal, undefined, opts.log && ((line) => opts.log!(`[${opts.pool}] ${line}`)));
  const deadline = Date.now() + (opts.deadlineMs ?? 5 * 60 * 1000);
  const [nodes, pods, pdbs, deployments, replicaSets, statefulSets, vols] = await Promise.all([client.listNodes(deadline), client.listPods(deadline), client.listPdbs(deadline),
    client.listDeployments(deadline), client.listReplicaSets(deadline), client.listStatefulSets(deadline), client.listVolumes(deadline)]);
  const snap = { nodes: nodes.items, pods: pods.items, pdbs: pdbs.items, deployments: deployments.items, replicaSets: replicaSets.items, statefulSets: statefulSets.items,
    ...("unreadable" in vols ? {} : { persistentVolumeClaims: vols.claims, persistentVolumes: vols.volumes }) };
  const plan = planSnapshot(snap, opts);
  if ("unreadable" in vols) plan.warnings.push(volumesUnreadable(vols.unreadable));
  return { ...plan, apiRequests: client.total };
}

/**
 * Kubernetes workload helpers for the policies: which resources carry a pod template, how many
 * replicas they run, whether a PodDisruptionBudget selects them and how many disruptions it allows.
 * Pure functions over plain manifests (policy props), no I/O.
 */
import { GKE_POOL_LABEL } from "../components/contracts";
import { LabelSelector, matchLabelSelector } from "../components/rotation/selectors";

/** Pulumi type tokens of the Kubernetes kinds the policies look at (@pulumi/kubernetes). */
export const K8S_TYPES = {
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    daemonSet: "kubernetes:apps/v1:DaemonSet",
    replicaSet: "kubernetes:apps/v1:ReplicaSet",
    job: "kubernetes:batch/v1:Job",
    cronJob: "kubernetes:batch/v1:CronJob",
    pod: "kubernetes:core/v1:Pod",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
} as const;

/** Kinds whose replicas a drain moves and a PDB protects (the multi-replica rules apply to these). */
export const REPLICATED_TYPES: ReadonlySet<string> = new Set([K8S_TYPES.deployment, K8S_TYPES.statefulSet]);

/** Every kind that schedules pods, i.e. that can be pinned to a node pool. */
export const POD_SPEC_TYPES: ReadonlySet<string> = new Set([
    K8S_TYPES.deployment, K8S_TYPES.statefulSet, K8S_TYPES.daemonSet, K8S_TYPES.replicaSet,
    K8S_TYPES.job, K8S_TYPES.cronJob, K8S_TYPES.pod,
]);

/** The pod template (`{ metadata, spec }`) of a workload manifest, or undefined. */
export function podTemplate(type: string, manifest: any): { metadata?: any; spec?: any } | undefined {
    if (type === K8S_TYPES.pod) {
        return manifest;
    }
    if (type === K8S_TYPES.cronJob) {
        return manifest?.spec?.jobTemplate?.spec?.template;
    }
    return manifest?.spec?.template;
}

/** Desired replicas of a Deployment/StatefulSet; Kubernetes defaults `spec.replicas` to 1. */
export function replicas(manifest: any): number {
    const r = manifest?.spec?.replicas;
    return typeof r === "number" ? r : 1;
}

/** Namespace of a manifest; the Kubernetes default namespace when unset. */
export function namespaceOf(manifest: any, providerNamespace?: string): string {
    return manifest?.metadata?.namespace || providerNamespace || "default";
}

/** A label selector as in `metav1.LabelSelector` (the engine's type: one definition). */
export type { LabelSelector };

/**
 * Does `selector` select an object with `labels`? The engine's matcher decides (metav1 semantics:
 * all matchLabels and expressions hold; empty matches everything; null matches nothing — policy/v1
 * PDBs follow this). An invalid operator, which the API server would reject, never matches here.
 */
export function selects(selector: LabelSelector | null | undefined, labels: Record<string, string>): boolean {
    try {
        return matchLabelSelector(selector, labels);
    } catch {
        return false;
    }
}

/** Resolves an IntOrString against `total`, rounding up as the disruption controller does. */
function scaled(value: number | string, total: number): number {
    if (typeof value === "number") {
        return value;
    }
    const m = /^(\d+)%$/.exec(value.trim());
    if (m) {
        return Math.ceil((Number(m[1]) * total) / 100);
    }
    const n = Number(value);
    return Number.isFinite(n) ? n : NaN;
}

/**
 * How many pods of a workload with `total` replicas a PDB lets the Eviction API take at once when
 * all of them are healthy. Mirrors kubernetes pkg/controller/disruption/disruption.go
 * getExpectedPodCount: maxUnavailable wins over minAvailable; percentages round UP
 * (GetScaledValueFromIntOrPercent(..., true)); disruptionsAllowed = healthy - desiredHealthy, ≥ 0.
 */
export function disruptionsAllowed(pdbSpec: any, total: number): number {
    let desiredHealthy = 0;
    if (pdbSpec?.maxUnavailable !== undefined && pdbSpec?.maxUnavailable !== null) {
        desiredHealthy = Math.max(0, total - scaled(pdbSpec.maxUnavailable, total));
    } else if (pdbSpec?.minAvailable !== undefined && pdbSpec?.minAvailable !== null) {
        desiredHealthy = scaled(pdbSpec.minAvailable, total);
    }
    const allowed = total - desiredHealthy;
    return Number.isFinite(allowed) && allowed > 0 ? allowed : 0;
}

/** The node label GKE puts on every node: its (versioned, short-lived) pool name. */
export const GKE_NODEPOOL_LABEL = GKE_POOL_LABEL; // one definition: components/contracts.ts

/**
 * Where a pod spec pins itself to `GKE_NODEPOOL_LABEL`: nodeSelector, required or preferred node
 * affinity. Returns human-readable locations, empty when not pinned.
 */
export function poolNamePins(podSpec: any): string[] {
    const found: string[] = [];
    if (podSpec?.nodeSelector && Object.prototype.hasOwnProperty.call(podSpec.nodeSelector, GKE_NODEPOOL_LABEL)) {
        found.push("nodeSelector");
    }
    const na = podSpec?.affinity?.nodeAffinity;
    const terms: any[] = na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    if (terms.some(t => mentionsPoolLabel(t))) {
        found.push("affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
    }
    const preferred: any[] = na?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (preferred.some(p => mentionsPoolLabel(p?.preference))) {
        found.push("affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution");
    }
    return found;
}

function mentionsPoolLabel(term: any): boolean {
    const exprs: any[] = [...(term?.matchExpressions ?? []), ...(term?.matchFields ?? [])];
    return exprs.some(e => e?.key === GKE_NODEPOOL_LABEL);
}

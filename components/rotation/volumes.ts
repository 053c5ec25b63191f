/**
 * Volumes that pin a pod to the old pool (issue 19 case 1). A pod whose PersistentVolumeClaim is
 * bound to a volume no replacement node can reach is moved like any pod today; its replacement then
 * stays Pending for ever, the pool guard finds no pod left, and the pool (with the data) is deleted.
 * The plan blocks such a pod instead, naming the claim, the volume and the fix.
 *
 * The scheduler's rules, read from kubernetes pkg/scheduler/framework/plugins:
 * - volumebinding (binder.go FindPodVolumes -> checkBoundClaims): every bound claim's PV
 *   `spec.nodeAffinity.required` must match the node (volumeutil.CheckNodeAffinity), else "node(s)
 *   had volume node affinity conflict". A local PV (`spec.local`, whose validation requires node
 *   affinity, in practice on kubernetes.io/hostname) therefore pins the pod to its node; a zonal
 *   GCE PD (provisioned with a topology.kubernetes.io/zone affinity) pins it to its zone.
 * - volumezone (volume_zone.go): PV labels topology.kubernetes.io/zone|region (and the deprecated
 *   failure-domain.beta.kubernetes.io ones; a value may list several zones joined by "__") must match
 *   the node's labels, else "node(s) had no available volume zone".
 * Claims that are not bound yet (WaitForFirstConsumer) bind wherever the new pod lands, and generic
 * ephemeral volumes are created anew with the new pod: neither pins it.
 */
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { matchNodeAffinity } from "./selectors";

const ZONE = "topology.kubernetes.io/zone";
const REGION = "topology.kubernetes.io/region";
const BETA_ZONE = "failure-domain.beta.kubernetes.io/zone";
const BETA_REGION = "failure-domain.beta.kubernetes.io/region";
const HOSTNAME = "kubernetes.io/hostname";
/** PV label -> the node labels that may satisfy it (GA and beta names are equivalent, volumezone translateToGALabel). */
const ZONE_LABELS: Record<string, string[]> = {
  [ZONE]: [ZONE, BETA_ZONE], [BETA_ZONE]: [ZONE, BETA_ZONE],
  [REGION]: [REGION, BETA_REGION], [BETA_REGION]: [REGION, BETA_REGION],
};

/** A pod that cannot leave the pool because of one of its volumes. */
export interface VolumePin {
  /** "<ns>/<name>" of the pod. */
  pod: string;
  /** "<ns>/<name>" of the claim. */
  claim: string;
  /** Name of the bound PersistentVolume. */
  volume: string;
  /** local: data on one node's disk; zonal: a disk in one zone; affinity: other PV node affinity. */
  kind: "local" | "zonal" | "affinity";
  /** One line for the plan's blockers: what pins it, and the fix. */
  message: string;
}

/** Does a PV's node affinity and zone labels admit this node? */
export function volumeFitsNode(pv: V1PersistentVolume, node: V1Node): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  if (required && !matchNodeAffinity({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: required } }, node)) return false;
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(pv.metadata?.labels ?? {})) {
    const nodeKeys = ZONE_LABELS[key];
    if (!nodeKeys) continue;
    const allowed = new Set(value.split("__"));
    if (!nodeKeys.some((k) => labels[k] !== undefined && allowed.has(labels[k]))) return false;
  }
  return true;
}

/** Values a PV's affinity or labels give for one of `keys` (hostnames, zones), for messages. */
function pinnedValues(pv: V1PersistentVolume, keys: string[]): string[] {
  const out = new Set<string>();
  for (const t of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const e of t.matchExpressions ?? []) if (keys.includes(e.key) && e.operator === "In") for (const v of e.values ?? []) out.add(v);
    for (const e of t.matchFields ?? []) if (keys.includes("metadata.name") && e.key === "metadata.name" && e.operator === "In") for (const v of e.values ?? []) out.add(v);
  }
  for (const k of keys) { const v = pv.metadata?.labels?.[k]; if (v) for (const z of v.split("__")) out.add(z); }
  return [...out].sort();
}

function kindOf(pv: V1PersistentVolume): VolumePin["kind"] {
  if (pv.spec?.local || pv.spec?.hostPath || pinnedValues(pv, [HOSTNAME, "metadata.name"]).length) return "local";
  if (pinnedValues(pv, [ZONE, BETA_ZONE]).length) return "zonal";
  return "affinity";
}

/** The PVs bound to a pod's claims (claims not found or not bound are skipped: they do not pin it). */
export function boundVolumes(pod: V1Pod, claims: ReadonlyMap<string, V1PersistentVolumeClaim>, volumes: ReadonlyMap<string, V1PersistentVolume>): { claim: string; pv: V1PersistentVolume }[] {
  const ns = pod.metadata?.namespace ?? "";
  const out: { claim: string; pv: V1PersistentVolume }[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    const name = v.persistentVolumeClaim?.claimName;
    if (!name) continue; // generic ephemeral volumes (v.ephemeral) are re-created with the new pod
    const claim = claims.get(`${ns}/${name}`);
    const pvName = claim?.spec?.volumeName;
    if (!claim || !pvName || (claim.status?.phase && claim.status.phase !== "Bound")) continue;
    const pv = volumes.get(pvName);
    if (pv) out.push({ claim: `${ns}/${name}`, pv });
  }
  return out;
}

/**
 * Local volumes on pool nodes that a pod still claims — also a pod already off the pool (evicted
 * earlier, its replacement Pending): deleting the pool deletes their data with the node's disk. The
 * pool guard re-checks this before it lets GKE delete the pool, when no pod is left on it to block.
 * One line per claim.
 */
export function localDataOnPool(pods: Iterable<V1Pod>, claims: ReadonlyMap<string, V1PersistentVolumeClaim>, volumes: ReadonlyMap<string, V1PersistentVolume>, poolNodes: readonly V1Node[], replacementNodes: readonly V1Node[]): VolumePin[] {
  const out = new Map<string, VolumePin>();
  for (const pod of pods) {
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
    for (const { claim, pv } of boundVolumes(pod, claims, volumes)) {
      if (out.has(claim) || kindOf(pv) !== "local") continue;
      const on = poolNodes.filter((n) => volumeFitsNode(pv, n)).map((n) => n.metadata?.name ?? "");
      if (!on.length || replacementNodes.some((n) => volumeFitsNode(pv, n))) continue;
      const volume = pv.metadata?.name ?? "";
      const podKey = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
      out.set(claim, {
        pod: podKey, claim, volume, kind: "local",
        message: `claim ${claim} (used by pod ${podKey}${pod.spec?.nodeName ? "" : ", Pending"}) is bound to local volume ${volume} on pool node ${on.join(", ")}: deleting the pool deletes its data; replicate or back it up, then delete claim ${claim} and volume ${volume} (or keep the old pool)`,
      });
    }
  }
  return [...out.values()];
}

/**
 * The volumes that keep a pod on the pool: those of its bound volumes that no replacement node
 * admits, when no replacement node admits all of them together (the scheduler needs one node for
 * every volume). Empty when some replacement node fits, or when there is no replacement node at all
 * (the plan blocks that on its own).
 */
export function volumePins(pod: V1Pod, claims: ReadonlyMap<string, V1PersistentVolumeClaim>, volumes: ReadonlyMap<string, V1PersistentVolume>, replacementNodes: readonly V1Node[]): VolumePin[] {
  if (!replacementNodes.length) return [];
  const bound = boundVolumes(pod, claims, volumes);
  if (!bound.length) return [];
  if (replacementNodes.some((n) => bound.every(({ pv }) => volumeFitsNode(pv, n)))) return [];
  const podKey = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const zones = [...new Set(replacementNodes.map((n) => n.metadata?.labels?.[ZONE] ?? n.metadata?.labels?.[BETA_ZONE]).filter((z): z is string => !!z))].sort();
  // Each volume that fits no replacement node on its own; if each fits some node but never all on one, all of them.
  const alone = bound.filter(({ pv }) => !replacementNodes.some((n) => volumeFitsNode(pv, n)));
  return (alone.length ? alone : bound).map(({ claim, pv }) => {
    const volume = pv.metadata?.name ?? "";
    const kind = kindOf(pv);
    const where = kind === "local" ? `node ${pinnedValues(pv, [HOSTNAME, "metadata.name"]).join(", ") || "(its node)"}`
      : kind === "zonal" ? `zone ${pinnedValues(pv, [ZONE, BETA_ZONE]).join(", ")}` : "nodes matching its node affinity";
    const fix = kind === "local"
      ? `its data lives on that node's disk: replicate or back it up, then delete claim ${claim} and volume ${volume} so the workload gets a new volume on a replacement node (or keep the old pool)`
      : kind === "zonal"
        ? `add replacement nodes in ${where} (the new pool's node locations), or snapshot volume ${volume} and restore it in a zone the replacement nodes have${zones.length ? ` (${zones.join(", ")})` : ""}`
        : `give replacement nodes labels that match volume ${volume}'s node affinity, or re-create the volume`;
    return {
      pod: podKey, claim, volume, kind,
      message: `pod ${podKey} uses claim ${claim} bound to ${kind === "local" ? "local " : kind === "zonal" ? "zonal " : ""}volume ${volume} pinned to ${where}, which no replacement node satisfies (the scheduler's VolumeBinding filter: "volume node affinity conflict"; its replacement would stay Pending): ${fix}`,
    };
  });
}

/** The plan's warning when the cluster refused the claims or volumes list. */
export function volumesUnreadable(why: string): string {
  return `could not list PersistentVolumeClaims/PersistentVolumes (${why}): volumes that pin pods to the pool (local or zonal disks) were not checked; grant list on persistentvolumeclaims and persistentvolumes`;
}

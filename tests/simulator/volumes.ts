/**
 * PersistentVolumes and PersistentVolumeClaims (core/v1), the part of storage a drain meets:
 *  - binding (pkg/controller/volume/persistentvolume/pv_controller.go, syncClaim/syncVolume): a
 *    claim with spec.volumeName and that volume existing is Bound (status.phase, accessModes,
 *    capacity; the volume gets spec.claimRef and phase Bound); a volume pre-bound by claimRef binds
 *    its claim; a claim without a volume and without a storage class stays Pending;
 *  - the scheduler's VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding/
 *    volume_binding.go PreFilter/Filter, binder.go FindPodVolumes): a claim that does not exist,
 *    is being deleted, or is unbound without a class fails PreFilter (`persistentvolumeclaim "x" not
 *    found`, `... is being deleted`, `pod has unbound immediate PersistentVolumeClaims`); a bound
 *    claim whose volume's spec.nodeAffinity the node does not satisfy fails Filter with
 *    "node(s) had volume node affinity conflict" (ErrReasonNodeConflict), a bound claim whose volume
 *    is gone with "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
 *  - dynamic provisioning as GKE's default classes do it (WaitForFirstConsumer): an unbound claim
 *    with a storageClassName is provisioned when its first pod is scheduled (annotation
 *    volume.kubernetes.io/selected-node), as a volume pinned to that node's zone (a zonal PD) or,
 *    with the claim annotation `simulator.nodepool-rotation.io/volume-topology: node`, to the node
 *    itself (a local SSD volume); the volume is named pvc-<claim uid> as external-provisioner names it.
 * Not modelled: capacity matching of static volumes, access modes, attach/detach, the
 * pvc-protection finalizer, reclaim policies.
 */
import type { Cluster } from "./cluster";
import { admitCreate } from "./namespaces";
import { nodeSelectorTermsMatch, Obj, objKey } from "./util";

/** Claim annotation: `node` pins a provisioned volume to its node (local PV), default `zone` (zonal PD). */
export const VOLUME_TOPOLOGY_ANN = "simulator.nodepool-rotation.io/volume-topology";

export const ERR_NODE_CONFLICT = "node(s) had volume node affinity conflict";
export const ERR_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
export const ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims";

/** The VolumeBinding verdict for a pod: a PreFilter failure, or a per-node Filter. */
export interface VolumeCheck {
  preFilter?: string;
  filter(node: Obj): string | undefined;
}

export class VolumeController {
  constructor(private c: Cluster) {}

  /** Names of the claims a pod's volumes use. */
  static claimsOf(pod: Obj): string[] {
    return (pod.spec?.volumes ?? []).map((v: Obj) => v.persistentVolumeClaim?.claimName).filter((n: unknown): n is string => typeof n === "string");
  }

  onVolumeObject(plural: string, o: Obj, type: string): void {
    // pods waiting on a claim or volume get another try whenever one changes
    this.c.scheduler.retryUnschedulable();
    if (type === "DELETED") return;
    this.c.timers.soon(() => (plural === "persistentvolumeclaims" ? this.syncClaim(objKey(o)) : this.syncVolume(o.metadata.name)));
  }


  private syncClaim(key: string): void {
    const pvc = this.c.store.peek("persistentvolumeclaims", key);
    if (!pvc || pvc.metadata.deletionTimestamp) return;
    const pvName = pvc.spec?.volumeName;
    if (!pvName) return;
    const pv = this.c.store.peek("persistentvolumes", pvName);
    if (!pv) {
      if (pvc.status?.phase === "Bound") this.c.store.mutate("persistentvolumeclaims", key, (x) => { x.status = { ...(x.status ?? {}), phase: "Lost" }; });
      return;
    }
    if (pvc.status?.phase !== "Bound") {
      this.c.store.mutate("persistentvolumeclaims", key, (x) => {
        x.metadata.annotations = { ...(x.metadata.annotations ?? {}), "pv.kubernetes.io/bind-completed": "yes" };
        x.status = { phase: "Bound", accessModes: pv.spec?.accessModes ?? ["ReadWriteOnce"], capacity: pv.spec?.capacity ?? {} };
      });
    }
    if (!pv.spec?.claimRef || pv.status?.phase !== "Bound") {
      this.c.store.mutate("persistentvolumes", pvName, (v) => {
        v.spec.claimRef = v.spec.claimRef ?? { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid };
        v.status = { phase: "Bound" };
      });
    }
  }

  private syncVolume(name: string): void {
    const pv = this.c.store.peek("persistentvolumes", name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    if (!ref) {
      if (!pv.status?.phase) this.c.store.mutate("persistentvolumes", name, (v) => { v.status = { phase: "Available" }; });
      return;
    }
    const key = `${ref.namespace}/${ref.name}`;
    const pvc = this.c.store.peek("persistentvolumeclaims", key);
    if (pvc && !pvc.spec?.volumeName) {
      // a volume pre-bound to a claim binds it (syncVolume → bind)
      this.c.store.mutate("persistentvolumeclaims", key, (x) => { x.spec.volumeName = name; });
      return;
    }
    if (pvc) this.syncClaim(key);
  }

  /** VolumeBinding PreFilter + Filter for `pod` (see the module comment). */
  check(pod: Obj): VolumeCheck {
    const ns = pod.metadata.namespace;
    const volumes: Obj[] = [];
    for (const claim of VolumeController.claimsOf(pod)) {
      const pvc = this.c.store.peek("persistentvolumeclaims", `${ns}/${claim}`);
      if (!pvc) return { preFilter: `persistentvolumeclaim "${claim}" not found`, filter: () => undefined };
      if (pvc.metadata.deletionTimestamp) return { preFilter: `persistentvolumeclaim "${claim}" is being deleted`, filter: () => undefined };
      const pvName = pvc.spec?.volumeName;
      if (!pvName) {
        if (!pvc.spec?.storageClassName) return { preFilter: ERR_UNBOUND_IMMEDIATE, filter: () => undefined };
        continue; // WaitForFirstConsumer: provisioned once the pod has a node
      }
      const pv = this.c.store.peek("persistentvolumes", pvName);
      if (!pv) return { filter: () => ERR_PV_NOT_EXIST };
      volumes.push(pv);
    }
    return {
      filter: (node: Obj) => {
        for (const pv of volumes) {
          const terms: Obj[] | undefined = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
          if (terms && terms.length && !nodeSelectorTermsMatch(terms, node)) return ERR_NODE_CONFLICT;
        }
        return undefined;
      },
    };
  }

  /** PreBind: provisions the pod's unbound claims for the node it was bound to (WaitForFirstConsumer). */
  provisionFor(pod: Obj, node: Obj): void {
    const ns = pod.metadata.namespace;
    for (const claim of VolumeController.claimsOf(pod)) {
      const key = `${ns}/${claim}`;
      const pvc = this.c.store.peek("persistentvolumeclaims", key);
      if (!pvc || pvc.spec?.volumeName || !pvc.spec?.storageClassName) continue;
      const byNode = pvc.metadata.annotations?.[VOLUME_TOPOLOGY_ANN] === "node";
      const zone = node.metadata.labels?.["topology.kubernetes.io/zone"];
      const term = byNode || !zone
        ? { key: "kubernetes.io/hostname", operator: "In", values: [node.metadata.labels?.["kubernetes.io/hostname"] ?? node.metadata.name] }
        : { key: "topology.kubernetes.io/zone", operator: "In", values: [zone] };
      const name = `pvc-${pvc.metadata.uid}`;
      if (!this.c.store.peek("persistentvolumes", name)) {
        this.c.store.create("persistentvolumes", {
          metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": byNode ? "kubernetes.io/no-provisioner" : "pd.csi.storage.gke.io" } },
          spec: {
            capacity: { storage: pvc.spec?.resources?.requests?.storage ?? "1Gi" },
            accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
            persistentVolumeReclaimPolicy: "Delete",
            storageClassName: pvc.spec.storageClassName,
            volumeMode: "Filesystem",
            claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: ns, name: claim, uid: pvc.metadata.uid },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [term] }] } },
          },
        });
      }
      this.c.store.mutate("persistentvolumeclaims", key, (x) => {
        x.metadata.annotations = { ...(x.metadata.annotations ?? {}), "volume.kubernetes.io/selected-node": node.metadata.name };
        x.spec.volumeName = name;
      });
    }
  }

  /**
   * StatefulSet volumeClaimTemplates (pkg/controller/statefulset/stateful_set_utils.go
   * getPersistentVolumeClaims / updateStorage): the pod `<set>-<i>` uses the claim
   * `<template>-<set>-<i>`, created if missing (labels: the template's and the set's selector) and
   * reused as is when the pod is recreated (default retention policy Retain: no owner reference).
   */
  claimTemplatesFor(set: Obj, pod: Obj): void {
    const templates: Obj[] = set.spec?.volumeClaimTemplates ?? [];
    if (!templates.length) return;
    const ns = set.metadata.namespace;
    const volumes: Obj[] = (pod.spec.volumes ?? []).filter((v: Obj) => !templates.some((t) => t.metadata?.name === v.name));
    for (const t of templates) {
      const claim = `${t.metadata.name}-${pod.metadata.name}`;
      volumes.push({ name: t.metadata.name, persistentVolumeClaim: { claimName: claim } });
      if (this.c.store.peek("persistentvolumeclaims", `${ns}/${claim}`)) continue;
      admitCreate(this.c, ns, "persistentvolumeclaims", "", claim);
      this.c.store.create("persistentvolumeclaims", {
        metadata: {
          name: claim, namespace: ns,
          labels: { ...(t.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) },
          ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        },
        spec: { volumeMode: "Filesystem", ...(t.spec ?? {}) },
        status: { phase: "Pending" },
      });
    }
    pod.spec.volumes = volumes;
  }
}

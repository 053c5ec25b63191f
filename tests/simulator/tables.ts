/**
 * Server-side printing (meta.k8s.io/v1 Table) for `kubectl get`, which asks with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`. Columns follow kube's
 * pkg/printers/internalversion for the resources served; anything else gets NAME and AGE.
 */
import { isNodeReady, Obj, shortAge } from "./util";

interface Col { name: string; type: string; format?: string; priority?: number; description?: string }
type Printer = { cols: Col[]; row: (o: Obj) => unknown[] };

const name: Col = { name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace." };
const age: Col = { name: "Age", type: "string", description: "CreationTimestamp is a timestamp representing the server time when this object was created." };

function podStatus(p: Obj): string {
  if (p.metadata.deletionTimestamp) return "Terminating";
  if (p.status?.reason) return p.status.reason;
  const phase = p.status?.phase ?? "Pending";
  if (phase === "Succeeded") return "Completed";
  if (phase === "Failed") return "Error";
  if (phase === "Pending" && p.spec?.nodeName) return "ContainerCreating";
  return phase;
}

/** ReadWriteOnce -> RWO, ... as kubectl prints access modes. */
function accessModes(modes: string[] | undefined): string {
  const short: Record<string, string> = { ReadWriteOnce: "RWO", ReadOnlyMany: "ROX", ReadWriteMany: "RWX", ReadWriteOncePod: "RWOP" };
  return (modes ?? []).map((m) => short[m] ?? m).join(",");
}

const PRINTERS: Record<string, Printer> = {
  nodes: {
    cols: [name, { name: "Status", type: "string" }, { name: "Roles", type: "string" }, age, { name: "Version", type: "string" },
      { name: "Internal-IP", type: "string", priority: 1 }],
    row: (n) => {
      const ready = (n.status?.conditions ?? []).find((c: Obj) => c.type === "Ready");
      let st = !ready ? "Unknown" : isNodeReady(n) ? "Ready" : "NotReady";
      if (n.spec?.unschedulable) st += ",SchedulingDisabled";
      return [n.metadata.name, st, "<none>", shortAge(n.metadata.creationTimestamp), n.status?.nodeInfo?.kubeletVersion ?? "",
        (n.status?.addresses ?? []).find((a: Obj) => a.type === "InternalIP")?.address ?? "<none>"];
    },
  },
  pods: {
    cols: [name, { name: "Ready", type: "string" }, { name: "Status", type: "string" }, { name: "Restarts", type: "string" }, age,
      { name: "IP", type: "string", priority: 1 }, { name: "Node", type: "string", priority: 1 }],
    row: (p) => {
      const cs = p.status?.containerStatuses ?? [];
      const total = (p.spec?.containers ?? []).length;
      return [p.metadata.name, `${cs.filter((c: Obj) => c.ready).length}/${total}`, podStatus(p), "0", shortAge(p.metadata.creationTimestamp),
        p.status?.podIP ?? "<none>", p.spec?.nodeName ?? "<none>"];
    },
  },
  deployments: {
    cols: [name, { name: "Ready", type: "string" }, { name: "Up-to-date", type: "integer" }, { name: "Available", type: "integer" }, age],
    row: (d) => [d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`, d.status?.updatedReplicas ?? 0, d.status?.availableReplicas ?? 0, shortAge(d.metadata.creationTimestamp)],
  },
  replicasets: {
    cols: [name, { name: "Desired", type: "integer" }, { name: "Current", type: "integer" }, { name: "Ready", type: "integer" }, age],
    row: (r) => [r.metadata.name, r.spec?.replicas ?? 1, r.status?.replicas ?? 0, r.status?.readyReplicas ?? 0, shortAge(r.metadata.creationTimestamp)],
  },
  statefulsets: {
    cols: [name, { name: "Ready", type: "string" }, age],
    row: (s) => [s.metadata.name, `${s.status?.readyReplicas ?? 0}/${s.spec?.replicas ?? 1}`, shortAge(s.metadata.creationTimestamp)],
  },
  daemonsets: {
    cols: [name, { name: "Desired", type: "integer" }, { name: "Current", type: "integer" }, { name: "Ready", type: "integer" },
      { name: "Up-to-date", type: "integer" }, { name: "Available", type: "integer" }, age],
    row: (d) => [d.metadata.name, d.status?.desiredNumberScheduled ?? 0, d.status?.currentNumberScheduled ?? 0, d.status?.numberReady ?? 0,
      d.status?.updatedNumberScheduled ?? 0, d.status?.numberAvailable ?? 0, shortAge(d.metadata.creationTimestamp)],
  },
  jobs: {
    cols: [name, { name: "Status", type: "string" }, { name: "Completions", type: "string" }, age],
    row: (j) => {
      const complete = (j.status?.conditions ?? []).some((c: Obj) => c.type === "Complete" && c.status === "True");
      return [j.metadata.name, complete ? "Complete" : "Running", `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`, shortAge(j.metadata.creationTimestamp)];
    },
  },
  poddisruptionbudgets: {
    cols: [name, { name: "Min Available", type: "string" }, { name: "Max Unavailable", type: "string" }, { name: "Allowed Disruptions", type: "integer" }, age],
    row: (p) => [p.metadata.name, p.spec?.minAvailable !== undefined ? String(p.spec.minAvailable) : "N/A",
      p.spec?.maxUnavailable !== undefined ? String(p.spec.maxUnavailable) : "N/A", p.status?.disruptionsAllowed ?? 0, shortAge(p.metadata.creationTimestamp)],
  },
  // pkg/printers/internalversion printPersistentVolume / printPersistentVolumeClaim / printLease
  persistentvolumes: {
    cols: [name, { name: "Capacity", type: "string" }, { name: "Access Modes", type: "string" }, { name: "Reclaim Policy", type: "string" },
      { name: "Status", type: "string" }, { name: "Claim", type: "string" }, { name: "StorageClass", type: "string" }, { name: "VolumeAttributesClass", type: "string" },
      { name: "Reason", type: "string" }, age],
    row: (v) => [v.metadata.name, v.spec?.capacity?.storage ?? "", accessModes(v.spec?.accessModes), v.spec?.persistentVolumeReclaimPolicy ?? "Retain",
      v.metadata.deletionTimestamp ? "Terminating" : v.status?.phase ?? "Pending", v.spec?.claimRef ? `${v.spec.claimRef.namespace}/${v.spec.claimRef.name}` : "",
      v.spec?.storageClassName ?? "", "<unset>", v.status?.reason ?? "", shortAge(v.metadata.creationTimestamp)],
  },
  persistentvolumeclaims: {
    cols: [name, { name: "Status", type: "string" }, { name: "Volume", type: "string" }, { name: "Capacity", type: "string" }, { name: "Access Modes", type: "string" },
      { name: "StorageClass", type: "string" }, { name: "VolumeAttributesClass", type: "string" }, age],
    row: (c) => [c.metadata.name, c.metadata.deletionTimestamp ? "Terminating" : c.status?.phase ?? "Pending", c.spec?.volumeName ?? "",
      c.status?.capacity?.storage ?? "", accessModes(c.status?.accessModes), c.spec?.storageClassName ?? "", "<unset>", shortAge(c.metadata.creationTimestamp)],
  },
  leases: {
    cols: [name, { name: "Holder", type: "string" }, age],
    row: (l) => [l.metadata.name, l.spec?.holderIdentity ?? "", shortAge(l.metadata.creationTimestamp)],
  },
  namespaces: {
    cols: [name, { name: "Status", type: "string" }, age],
    row: (n) => [n.metadata.name, n.status?.phase ?? "Active", shortAge(n.metadata.creationTimestamp)],
  },
};

const GENERIC: Printer = { cols: [name, age], row: (o) => [o.metadata.name, shortAge(o.metadata.creationTimestamp)] };

/** Builds a Table for `items`; rows carry the object as PartialObjectMetadata (kubectl's default includeObject=Metadata) or in full. */
export function toTable(plural: string, items: Obj[], listMeta: Obj, includeObject: string | null): Obj {
  const p = PRINTERS[plural] ?? GENERIC;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: p.cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? "", description: c.description ?? "", priority: c.priority ?? 0 })),
    rows: items.map((o) => ({
      cells: p.row(o),
      object: includeObject === "None" ? undefined
        : includeObject === "Object" ? o
        : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}

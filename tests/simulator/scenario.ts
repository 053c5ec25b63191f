/**
 * Scenario loading: a multi-document YAML of ordinary manifests. The ConfigMap kube-system/simulator
 * carries timing knobs (podStartMs, podReadyMs, terminationGraceScale, nodeBootMs) and is stored too.
 * Namespaces referenced by objects are created if the file does not define them; nodes without a Ready
 * condition come up Ready at once; ownerReferences without a uid are resolved by kind and name.
 */
import * as YAML from "yaml";
import { Cluster, fillNodeStatus, Timing } from "./cluster";
import { resourceByKind } from "./resources";
import { defaultObject } from "./server";
import { Obj } from "./util";

const ORDER = ["Namespace", "ConfigMap", "Node", "PodDisruptionBudget", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Pod", "Event"];

/** Parses the YAML, returning manifests (in load order) and the timing found in the simulator ConfigMap. */
export function parseScenario(text: string): { objects: Obj[]; timing: Partial<Timing> } {
  const docs = YAML.parseAllDocuments(text);
  const objects: Obj[] = [];
  docs.forEach((d, i) => {
    if (d.errors.length) throw new Error(`scenario document ${i + 1}: ${d.errors[0].message}`);
    const o = d.toJSON();
    if (o === null || o === undefined) return;
    if (o.kind === "List" && Array.isArray(o.items)) {
      objects.push(...o.items);
      return;
    }
    if (typeof o !== "object" || !o.kind || !o.metadata?.name) throw new Error(`scenario document ${i + 1}: needs kind and metadata.name`);
    if (!resourceByKind(o.kind)) throw new Error(`scenario document ${i + 1}: kind ${o.kind} is not supported (supported: ${ORDER.join(", ")})`);
    objects.push(o);
  });
  objects.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
  const timing: Partial<Timing> = {};
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "simulator" && o.metadata.namespace === "kube-system");
  if (cm) {
    for (const k of ["podStartMs", "podReadyMs", "terminationGraceScale", "nodeBootMs"] as (keyof Timing)[]) {
      const v = cm.data?.[k];
      if (v === undefined) continue;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`ConfigMap kube-system/simulator: data.${k} must be a non-negative number (got ${JSON.stringify(v)})`);
      timing[k] = n;
    }
  }
  return { objects, timing };
}

/** Loads parsed manifests into the cluster's store. */
export function loadObjects(cluster: Cluster, objects: Obj[]): void {
  const store = cluster.store;
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    if (!store.peek("namespaces", ns)) store.create("namespaces", defaultObject("namespaces", { metadata: { name: ns } }));
  }
  for (const o of objects) {
    const info = resourceByKind(o.kind)!;
    const obj: Obj = JSON.parse(JSON.stringify(o));
    if (info.namespaced) {
      obj.metadata.namespace = obj.metadata.namespace ?? "default";
      if (!store.peek("namespaces", obj.metadata.namespace)) store.create("namespaces", defaultObject("namespaces", { metadata: { name: obj.metadata.namespace } }));
    } else delete obj.metadata.namespace;
    for (const ref of obj.metadata.ownerReferences ?? []) {
      if (ref.uid) continue;
      const r = resourceByKind(ref.kind);
      const owner = r && store.peek(r.plural, r.namespaced ? `${obj.metadata.namespace}/${ref.name}` : ref.name);
      if (!owner) throw new Error(`scenario: ${o.kind} ${obj.metadata.name}: ownerReference ${ref.kind}/${ref.name} not found (define the owner earlier or give its uid)`);
      ref.uid = owner.metadata.uid;
      ref.apiVersion = ref.apiVersion ?? owner.apiVersion;
    }
    if (o.kind === "Node" && !(obj.status?.conditions ?? []).some((c: Obj) => c.type === "Ready")) fillNodeStatus(obj);
    const spec = obj.spec;
    if (["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"].includes(o.kind) && !spec) throw new Error(`scenario: ${o.kind} ${obj.metadata.name}: spec is required`);
    store.create(info.plural, defaultObject(info.plural, obj));
  }
}

/**
 * Scenario loading: a multi-document YAML of ordinary manifests. The ConfigMap kube-system/simulator
 * carries timing knobs (podStartMs, podReadyMs, terminationGraceScale, nodeBootMs) and the cluster's
 * location (clusterName, zones) and is stored too. Namespaces referenced by objects are created if
 * the file does not define them; nodes without a Ready condition come up Ready at once, with the
 * well-known labels they lack (gke.ts); ownerReferences without a uid are resolved by kind and name.
 * `kind: NodePool` (apiVersion simulator.nodepool-rotation.io/v1, not served by the API) declares a
 * GKE pool: `spec` is a PoolSpec without name (`nodes` per zone, `zones`, `labels`, `machineType`,
 * `cpu`, `memory`, `pods`, `taints`); its nodes exist, Ready, when the scenario is loaded.
 */
import * as YAML from "yaml";
import { Cluster, fillNodeStatus, PoolSpec, Timing } from "./cluster";
import { checkClusterName, checkZones, labelScenarioNodes, Location } from "./gke";
import { resourceByKind } from "./resources";
import { defaultObject } from "./server";
import { Obj } from "./util";

/** Scenario-only kind declaring a GKE node pool (see the module comment). */
export const NODE_POOL_KIND = "NodePool";

const ORDER = ["Namespace", "ConfigMap", NODE_POOL_KIND, "Node", "PersistentVolume", "PersistentVolumeClaim", "Lease", "PodDisruptionBudget", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Pod", "Event"];

/** A parsed scenario: manifests (in load order), pools, and what the simulator ConfigMap says. */
export interface ParsedScenario {
  objects: Obj[];
  pools: PoolSpec[];
  timing: Partial<Timing>;
  location: Partial<Location>;
}

/** Parses the YAML, returning manifests (in load order), NodePools, and the simulator ConfigMap's timing and location. */
export function parseScenario(text: string): ParsedScenario {
  const docs = YAML.parseAllDocuments(text);
  const objects: Obj[] = [];
  const pools: PoolSpec[] = [];
  docs.forEach((d, i) => {
    if (d.errors.length) throw new Error(`scenario document ${i + 1}: ${d.errors[0].message}`);
    const o = d.toJSON();
    if (o === null || o === undefined) return;
    if (o.kind === "List" && Array.isArray(o.items)) {
      objects.push(...o.items);
      return;
    }
    if (typeof o !== "object" || !o.kind || !o.metadata?.name) throw new Error(`scenario document ${i + 1}: needs kind and metadata.name`);
    if (o.kind === NODE_POOL_KIND) {
      pools.push(poolFromManifest(o, i + 1));
      return;
    }
    if (!resourceByKind(o.kind)) throw new Error(`scenario document ${i + 1}: kind ${o.kind} is not supported (supported: ${ORDER.join(", ")})`);
    objects.push(o);
  });
  objects.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
  const timing: Partial<Timing> = {};
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "simulator" && o.metadata.namespace === "kube-system");
  if (cm) {
    for (const k of ["podStartMs", "podReadyMs", "terminationGraceScale", "nodeBootMs", "disruptionLagMs", "workloadLagMs", "lagSeed"] as (keyof Timing)[]) {
      const v = cm.data?.[k];
      if (v === undefined) continue;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`ConfigMap kube-system/simulator: data.${k} must be a non-negative number (got ${JSON.stringify(v)})`);
      timing[k] = n;
    }
  }
  const location: Partial<Location> = {};
  if (cm?.data?.clusterName !== undefined) location.clusterName = checkClusterName(cm.data.clusterName, "ConfigMap kube-system/simulator: data.clusterName");
  if (cm?.data?.zones !== undefined) {
    const zones = String(cm.data.zones).split(",").map((z) => z.trim()).filter(Boolean);
    location.zones = checkZones(zones, "ConfigMap kube-system/simulator: data.zones (comma-separated)");
  }
  return { objects, pools, timing, location };
}

/** A `kind: NodePool` document as a PoolSpec (validated again by Cluster.addPool, naming the pool). */
function poolFromManifest(o: Obj, doc: number): PoolSpec {
  const spec = o.spec;
  if (!spec || typeof spec !== "object") throw new Error(`scenario document ${doc}: NodePool ${o.metadata.name}: spec is required (spec.nodes, per zone; optional spec.zones, labels, machineType, cpu, memory, pods, taints)`);
  const known = ["nodes", "zones", "labels", "machineType", "cpu", "memory", "pods", "taints"];
  const unknown = Object.keys(spec).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`scenario document ${doc}: NodePool ${o.metadata.name}: unknown field spec.${unknown[0]} (known: ${known.join(", ")})`);
  return { ...spec, name: o.metadata.name };
}

/** Loads parsed manifests and pools into the cluster's store (pools right after the Nodes). */
export function loadObjects(cluster: Cluster, objects: Obj[], pools: PoolSpec[] = []): void {
  const store = cluster.store;
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    if (!store.peek("namespaces", ns)) store.create("namespaces", defaultObject("namespaces", { metadata: { name: ns } }));
  }
  const nodes = objects.filter((o) => o.kind === "Node").map((o) => JSON.parse(JSON.stringify(o)));
  labelScenarioNodes(nodes, cluster.location);
  let nodeIndex = 0;
  let poolsAdded = false;
  for (const original of objects) {
    if (!poolsAdded && ORDER.indexOf(original.kind) > ORDER.indexOf("Node")) {
      addScenarioPools(cluster, pools);
      poolsAdded = true;
    }
    const o = original.kind === "Node" ? nodes[nodeIndex++] : original;
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
  if (!poolsAdded) addScenarioPools(cluster, pools);
}

function addScenarioPools(cluster: Cluster, pools: PoolSpec[]): void {
  for (const p of pools) {
    try {
      cluster.addPool(p, true);
    } catch (e) {
      throw new Error(`scenario: NodePool ${p.name}: ${(e as Error).message}`);
    }
  }
}

/**
 * In-memory Kubernetes objects for plan unit tests and the plan-scale benchmark. Shapes are the
 * API's JSON (what a list or watch returns), nothing engine-specific.
 */
export const POOL_LABEL = "cloud.google.com/gke-nodepool";

export interface NodeOpts { role?: string; cpu?: string; memory?: string; pods?: number; ready?: boolean; unschedulable?: boolean; taints?: any[]; labels?: Record<string, string>; annotations?: Record<string, string> }

export function node(name: string, pool: string, o: NodeOpts = {}): any {
  return {
    apiVersion: "v1", kind: "Node",
    metadata: { name, uid: `uid-node-${name}`, labels: { [POOL_LABEL]: pool, "kubernetes.io/hostname": name, ...(o.role !== undefined ? { "nodepool-rotation/role": o.role } : { "nodepool-rotation/role": "app" }), ...o.labels }, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: { ...(o.unschedulable ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: {
      allocatable: { cpu: o.cpu ?? "4", memory: o.memory ?? "16Gi", pods: String(o.pods ?? 110) },
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

export interface PodOpts {
  owner?: { kind: string; name: string } | null; labels?: Record<string, string>; annotations?: Record<string, string>;
  cpu?: string; memory?: string; phase?: string; ready?: boolean; deleting?: boolean; emptyDir?: boolean;
  nodeSelector?: Record<string, string>; affinity?: any; tolerations?: any[]; templateHash?: string;
}

let seq = 0;
export function pod(ns: string, name: string, nodeName: string, o: PodOpts = {}): any {
  const owner = o.owner === undefined ? { kind: "ReplicaSet", name: `${name.replace(/-[^-]+$/, "")}-abc12` } : o.owner;
  const labels = { ...(o.labels ?? {}), ...(owner?.kind === "ReplicaSet" && o.templateHash !== "" ? { "pod-template-hash": o.templateHash ?? "abc12" } : {}) };
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: {
      namespace: ns, name, uid: `uid-${ns}-${name}-${++seq}`, labels,
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: `uid-${owner.kind}-${owner.name}`, controller: true }] } : {}),
      ...(o.deleting ? { deletionTimestamp: "2026-11-22T00:00:00Z" } : {}),
    },
    spec: {
      nodeName,
      containers: [{ name: "c", image: "x", resources: { requests: { cpu: o.cpu ?? "100m", memory: o.memory ?? "128Mi" } } }],
      ...(o.emptyDir ? { volumes: [{ name: "scratch", emptyDir: {} }] } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.affinity ? { affinity: o.affinity } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    },
    status: { phase: o.phase ?? "Running", conditions: [{ type: "Ready", status: o.ready === false || (o.phase && o.phase !== "Running") ? "False" : "True" }] },
  };
}

export function pdb(ns: string, name: string, matchLabels: Record<string, string>, spec: { minAvailable?: number | string; maxUnavailable?: number | string }, status?: any): any {
  return { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: ns, name, generation: 1 }, spec: { selector: { matchLabels }, ...spec }, ...(status ? { status } : {}) };
}

/** Deterministic PRNG for seeded fixtures. */
export { mulberry32 as rng } from "../support/prng";

/**
 * A large cluster: `nodes` nodes in pools of 100 (pool-0 is the one drained, `drainNodes` nodes),
 * `pods` pods from Deployments of 10 replicas spread over namespaces, one PDB per Deployment up
 * to `pdbs`. Used by the plan-scale benchmark (5,000 / 150,000 / 3,000).
 */
export function bigCluster(n: { nodes: number; pods: number; pdbs: number; namespaces?: number; drainNodes?: number }): { nodes: any[]; pods: any[]; pdbs: any[]; pool: string } {
  const nodes: any[] = [];
  const drainNodes = n.drainNodes ?? Math.round(n.nodes / 10);
  for (let i = 0; i < n.nodes; i++) {
    const pool = i < drainNodes ? "old" : `new-${Math.floor(i / 500)}`;
    nodes.push(node(`n-${i}`, pool, { cpu: "32", memory: "128Gi", pods: 110 }));
  }
  const pods: any[] = [];
  const pdbs: any[] = [];
  const nsCount = n.namespaces ?? 300;
  const deployments = Math.ceil(n.pods / 10);
  for (let d = 0; d < deployments; d++) {
    const ns = `ns-${d % nsCount}`;
    const app = `app-${d}`;
    for (let r = 0; r < 10 && pods.length < n.pods; r++) {
      const nodeName = `n-${(d * 7 + r * 13) % n.nodes}`;
      pods.push(pod(ns, `${app}-${r}`, nodeName, { owner: { kind: "ReplicaSet", name: `${app}-abc12` }, labels: { app, tier: "web" }, cpu: "100m", memory: "256Mi" }));
    }
    if (pdbs.length < n.pdbs) pdbs.push(pdb(ns, `${app}-pdb`, { app }, { maxUnavailable: 1 }, { disruptionsAllowed: 1, expectedPods: 10, currentHealthy: 10, desiredHealthy: 9 }));
  }
  return { nodes, pods, pdbs, pool: "old" };
}

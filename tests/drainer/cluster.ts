/**
 * Scenario and cluster helpers for the drainer specs: a pool of PDB-protected workloads on the
 * simulator, read back through the Kubernetes API like an operator would.
 */
import * as k8s from "@kubernetes/client-node";
import { ANN } from "../simulator";

/** Pool names as components/naming.ts shapes them (role-version-date-hash). */
export const OLD_POOL = "app-1-34-4-gke1047000-20261101-a1b2c";
export const NEW_POOL = "app-1-35-2-gke1269000-20261120-d3e4f";
export const ROLE_LABELS = { "nodepool-rotation/role": "app", env: "staging" };

/** Simulator timing: fast but with a real readiness delay, so a gap in availability is measurable. */
const TIMING = `apiVersion: v1
kind: ConfigMap
metadata: { name: simulator, namespace: kube-system }
data: { podStartMs: "20", podReadyMs: "150", terminationGraceScale: "0.01", nodeBootMs: "100" }
`;

/** A Deployment with `replicas` pods (small requests) and optionally a PDB. */
export function deployment(ns: string, name: string, replicas: number, pdb?: { minAvailable?: number | string; maxUnavailable?: number | string }): string {
  const docs = [
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      nodeSelector: { nodepool-rotation/role: app }
      containers:
      - name: main
        image: registry.example/${name}:1
        resources: { requests: { cpu: 100m, memory: 128Mi } }
`,
  ];
  if (pdb) {
    const rule = pdb.minAvailable !== undefined ? `minAvailable: ${pdb.minAvailable}` : `maxUnavailable: ${pdb.maxUnavailable}`;
    docs.push(`apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: ${name}-pdb, namespace: ${ns} }
spec:
  ${rule}
  selector: { matchLabels: { app: ${name} } }
`);
  }
  return docs.join("---\n");
}

/**
 * A Deployment `name` (2 replicas, PDB minAvailable 1) whose pods never become Ready: its budget
 * allows no disruption now but could later, so a drain cordons the pool and waits on it.
 */
export function neverReadyDeployment(ns: string, name: string): string {
  return deployment(ns, name, 2, { minAvailable: 1 }).replace(
    `metadata: { labels: { app: ${name} } }`,
    `metadata: { labels: { app: ${name} }, annotations: { ${ANN.ready}: "false" } }`,
  );
}

/** A DaemonSet on every node (the drain leaves it in place). */
export function daemonSet(ns: string, name: string): string {
  return `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: ${name}, namespace: ${ns} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
      - name: main
        image: registry.example/${name}:1
        resources: { requests: { cpu: 10m, memory: 16Mi } }
`;
}

/** Scenario YAML: timing, namespaces, then the given documents. Nodes come from addPool. */
export function scenario(...docs: string[]): string {
  return [TIMING, `apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n`, `apiVersion: v1\nkind: Namespace\nmetadata: { name: monitoring }\n`, ...docs].join("---\n");
}

// Waiting: one helper for every spec (tests/support/wait.ts), re-exported for the drainer specs.
export { waitFor } from "../support/wait";

/** Operator's view of a cluster through the Kubernetes API. */
export class ClusterView {
  private core: k8s.CoreV1Api;
  private apps: k8s.AppsV1Api;
  constructor(kc: k8s.KubeConfig) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
  }
  async nodes(pool: string): Promise<k8s.V1Node[]> {
    return (await this.core.listNode({ labelSelector: `cloud.google.com/gke-nodepool=${pool}` })).items;
  }
  async nodesReady(pool: string, count: number): Promise<boolean> {
    const nodes = await this.nodes(pool);
    return nodes.length === count && nodes.every((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  }
  /** Pods on the pool's nodes other than DaemonSet pods (what a drain must move). */
  async movablePodsOn(pool: string): Promise<string[]> {
    const nodes = new Set((await this.nodes(pool)).map((n) => n.metadata!.name!));
    const pods = (await this.core.listPodForAllNamespaces()).items;
    return pods
      .filter((p) => nodes.has(p.spec?.nodeName ?? "") && !p.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet"))
      .map((p) => `${p.metadata!.namespace}/${p.metadata!.name}`);
  }
  /** True when every Deployment (but those named in `except`) has all its replicas ready. */
  async allDeploymentsReady(except: string[] = []): Promise<boolean> {
    const ds = (await this.apps.listDeploymentForAllNamespaces()).items.filter((d) => !except.includes(d.metadata!.name!));
    return ds.length > 0 && ds.every((d) => (d.status?.readyReplicas ?? 0) === d.spec?.replicas);
  }
}

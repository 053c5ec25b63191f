/**
 * Helpers for drain specs against the simulator (tests/simulator, issue 3) over HTTP with the real
 * client: scenario building, waiting on conditions with a deadline, and reading cluster state
 * through the API (what an operator would see).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { startSimulator, Simulator } from "../simulator";

export const ROLE = "nodepool-rotation/role";
export const POOL = "cloud.google.com/gke-nodepool";

/** A Node manifest in pool `pool` with role `app`. */
export function nodeManifest(name: string, pool: string, o: { cpu?: string; memory?: string; labels?: Record<string, string> } = {}): any {
  return {
    apiVersion: "v1", kind: "Node",
    metadata: { name, labels: { [POOL]: pool, [ROLE]: "app", "kubernetes.io/hostname": name, ...o.labels } },
    status: { capacity: { cpu: o.cpu ?? "8", memory: o.memory ?? "32Gi", pods: "110" }, allocatable: { cpu: o.cpu ?? "8", memory: o.memory ?? "32Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] },
  };
}

/** Pod template spec with small requests (plus extras). */
export function podSpec(extra: any = {}): any {
  return { terminationGracePeriodSeconds: 30, containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "50m", memory: "64Mi" } } }], ...extra };
}

/** A Deployment (and optionally its PDB). */
export function deployment(ns: string, name: string, replicas: number, pdb?: { minAvailable?: number | string; maxUnavailable?: number | string }, o: { annotations?: Record<string, string>; spec?: any } = {}): any[] {
  const out: any[] = [{
    apiVersion: "apps/v1", kind: "Deployment", metadata: { namespace: ns, name },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name }, ...(o.annotations ? { annotations: o.annotations } : {}) }, spec: podSpec(o.spec) } },
  }];
  if (pdb) out.push({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: ns, name: `${name}-pdb` }, spec: { selector: { matchLabels: { app: name } }, ...pdb } });
  return out;
}

/** Multi-document YAML scenario with the simulator timing ConfigMap. */
export function scenario(objects: any[], timing: Record<string, number> = {}): string {
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "simulator", namespace: "kube-system" }, data: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, String(v)])) };
  const nss = [...new Set(objects.map((o) => o.metadata?.namespace).filter((n) => n && n !== "default" && n !== "kube-system"))];
  const all = [cm, ...nss.map((n) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: n } })), ...objects];
  return all.map((o) => stringify(o)).join("---\n");
}

// Waiting: one helper for every spec (tests/support/wait.ts), re-exported for the specs that import it from here.
import { waitFor } from "../support/wait";
export { waitFor };

const isReady = (o: any) => (o?.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

/** Read-only views through the API. */
export class View {
  readonly core: k8s.CoreV1Api;
  constructor(readonly kc: k8s.KubeConfig) { this.core = kc.makeApiClient(k8s.CoreV1Api); }
  async nodes(pool?: string): Promise<any[]> { return (await this.core.listNode(pool ? { labelSelector: `${POOL}=${pool}` } : {})).items; }
  async pods(): Promise<any[]> { return (await this.core.listPodForAllNamespaces()).items; }
  async podsOn(nodeNames: string[]): Promise<any[]> { const s = new Set(nodeNames); return (await this.pods()).filter((p) => s.has(p.spec?.nodeName)); }
  async allReady(): Promise<boolean> {
    const pods = await this.pods();
    return pods.length > 0 && pods.every((p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed" || (isReady(p) && !p.metadata?.deletionTimestamp) || p.metadata?.annotations?.["simulator.nodepool-rotation.io/ready"] === "false");
  }
}

export interface PoolSim { sim: Simulator; kc: k8s.KubeConfig; view: View; oldNodes: string[]; newNodes: string[] }

/**
 * Starts a simulator whose workloads all run on the "old" pool (`oldNodes` nodes), waits for them
 * to be Ready, then adds the "new" pool (`newNodes` nodes, same role) and waits for it to be Ready.
 */
export async function startPoolSim(o: { oldNodes: number; newNodes?: number; objects: any[]; timing?: Record<string, number>; faults?: any; nodeCpu?: string; waitReady?: boolean }): Promise<PoolSim> {
  const oldNodes = Array.from({ length: o.oldNodes }, (_, i) => `old-${i}`);
  const text = scenario([...oldNodes.map((n) => nodeManifest(n, "old", { cpu: o.nodeCpu })), ...o.objects], { podStartMs: 5, podReadyMs: 20, terminationGraceScale: 0.001, nodeBootMs: 10, ...(o.timing ?? {}) });
  const sim = await startSimulator({ scenario: text });
  try {
    const kc = sim.kubeConfig();
    const view = new View(kc);
    if (o.waitReady !== false) await waitFor("workloads Ready on the old pool", () => view.allReady());
    await sim.addPool({ name: "new", nodes: o.newNodes ?? o.oldNodes, labels: { [ROLE]: "app" }, cpu: o.nodeCpu ?? "8", memory: "32Gi" });
    await waitFor("new pool Ready", async () => { const n = await view.nodes("new"); return n.length === (o.newNodes ?? o.oldNodes) && n.every(isReady); });
    if (o.faults) sim.setFaults(o.faults);
    return { sim, kc, view, oldNodes, newNodes: (await view.nodes("new")).map((n) => n.metadata.name) };
  } catch (e) {
    await sim.stop();
    throw e;
  }
}

/** The rotation CLI running as a child process (components/rotation/bin.js), as an operator runs it. */
export interface CliRun {
  child: ChildProcess;
  /** Everything the CLI wrote on stderr so far (progress lines, the failure message). */
  readonly stderr: string;
  /** Exit code, or null when a signal killed it. */
  exited: Promise<number | null>;
  /** Kills the process if still running and removes its kubeconfig file. */
  stop(): void;
}

/** Starts `rotation <args> --kubeconfig <file holding kubeconfig>`; stdout is ignored, stderr collected. */
export function runCli(kubeconfig: string, args: string[]): CliRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-cli-"));
  const kcPath = path.join(dir, "kubeconfig");
  fs.writeFileSync(kcPath, kubeconfig);
  const bin = path.join(__dirname, "../../components/rotation/bin.js");
  const child = spawn(process.execPath, [bin, ...args, "--kubeconfig", kcPath], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => { stderr += d; });
  const exited = new Promise<number | null>((r) => child.on("exit", (code, sig) => r(sig ? null : code)));
  return {
    child,
    get stderr() { return stderr; },
    exited,
    stop() {
      child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

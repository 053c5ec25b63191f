/**
 * In-process Kubernetes API simulator for tests (see docs/architecture.md "Simulator" and
 * README.md, "Kubernetes API simulator"). Start one per test suite; always stop() it.
 *
 *   const sim = await startSimulator({ scenario: yamlText, timing: { podReadyMs: 20 } });
 *   const core = sim.kubeConfig().makeApiClient(CoreV1Api);
 *   ...
 *   await sim.stop();
 */
import * as fs from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { Cluster, PoolSpec, Timing } from "./cluster";
import { SimulatorReport } from "./report";
import { loadObjects, parseScenario } from "./scenario";
import { ApiServer, Faults } from "./server";

export { ANN, DEFAULT_TIMING, KUBE_VERSION } from "./cluster";
export type { PoolSpec, Timing } from "./cluster";
export type { SimulatorReport } from "./report";
export type { Faults } from "./server";

export interface SimulatorOptions {
  /** multi-document YAML text (ordinary manifests + ConfigMap kube-system/simulator) */
  scenario?: string;
  /** or a path to such a file */
  scenarioFile?: string;
  /** 0/undefined = OS-chosen; always bound to 127.0.0.1 */
  port?: number;
  /** overrides the ConfigMap's timing */
  timing?: Partial<Timing>;
  faults?: Partial<Faults>;
  /** events kept for watch resumption (default 50000); older resourceVersions get 410 Gone */
  watchCacheSize?: number;
  /** request log (method, URL, Accept, Content-Type), e.g. console.error */
  log?: (line: string) => void;
}

export interface Simulator {
  url: string;
  kubeconfig: string;
  writeKubeconfig(path: string): void;
  kubeConfig(): KubeConfig;
  report(): SimulatorReport;
  addPool(spec: PoolSpec): Promise<void>;
  deletePool(name: string): Promise<void>;
  setFaults(f: Partial<Faults>): void;
  stop(): Promise<void>;
  /** Direct access to the control plane (store, controllers, timing) for white-box checks. */
  readonly cluster: Cluster;
}

/** kubeconfig YAML pointing at the simulator (no credentials: the simulator does not authenticate). */
export function kubeconfigFor(url: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: simulator",
    "  cluster:",
    `    server: ${url}`,
    // @kubernetes/client-node 1.x refuses plain http unless skipTLSVerify is set
    "    insecure-skip-tls-verify: true",
    "contexts:",
    "- name: simulator",
    "  context:",
    "    cluster: simulator",
    "    user: simulator",
    "    namespace: default",
    "current-context: simulator",
    "users:",
    "- name: simulator",
    "  user: {}",
    "",
  ].join("\n");
}

/** Starts the simulator: loads the scenario, listens on 127.0.0.1, returns once serving. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const text = opts.scenario ?? (opts.scenarioFile ? fs.readFileSync(opts.scenarioFile, "utf8") : "");
  const parsed = parseScenario(text);
  const cluster = new Cluster({ ...parsed.timing, ...(opts.timing ?? {}) }, opts.watchCacheSize, parsed.location);
  loadObjects(cluster, parsed.objects, parsed.pools);
  const api = new ApiServer(cluster);
  api.log = opts.log;
  if (opts.faults) api.setFaults(opts.faults);
  let port: number;
  try {
    port = await api.listen(opts.port ?? 0);
  } catch (e) {
    cluster.stop();
    throw e;
  }
  const url = `http://127.0.0.1:${port}`;
  const kubeconfig = kubeconfigFor(url);
  let stopped: Promise<void> | undefined;
  return {
    url,
    kubeconfig,
    cluster,
    writeKubeconfig(path: string) {
      fs.writeFileSync(path, kubeconfig, { mode: 0o600 });
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfig);
      return kc;
    },
    report: () => cluster.recorder.report(),
    async addPool(spec: PoolSpec) {
      cluster.addPool(spec);
    },
    async deletePool(name: string) {
      cluster.deletePool(name);
    },
    setFaults: (f) => api.setFaults(f),
    stop() {
      if (!stopped) {
        cluster.stop();
        stopped = api.close();
      }
      return stopped;
    },
  };
}

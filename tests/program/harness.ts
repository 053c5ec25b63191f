/**
 * Runs the real index.ts under pulumi.runtime.setMocks with a stack's config read from the actual
 * Pulumi.<stack>.yaml (optionally edited), and records every resource and invoke it registers.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const settings = require("@pulumi/pulumi/runtime/settings");

export const ROOT = path.resolve(__dirname, "../..");

/** One resource registered with the mock monitor. */
export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** The `ignoreChanges` resource option as the engine receives it (RegisterResourceRequest). */
  ignoreChanges?: string[];
}

export const GET_CLUSTER = "gcp:container/getCluster:getCluster";
export const GET_ENGINE_VERSIONS = "gcp:container/getEngineVersions:getEngineVersions";

/** A node pool as the mocked `getCluster` reports it (the fields of GetClusterNodePool the program reads). */
export interface MockLivePool {
  name: string;
  version: string;
  nodeCount: number;
  initialNodeCount: number;
  nodeConfigs: { labels: Record<string, string> }[];
  maintenancePolicies?: { exclusionUntilEndOfSupports: { enabled: boolean; startTime?: string; endTime?: string }[] }[];
}

/** What the mocked GKE reports. */
export interface GkeMock {
  /** getCluster's answer; "absent" = GKE says the cluster does not exist. Default: `liveAfterUp(config)`. */
  cluster?: { masterVersion?: string; releaseChannels?: { channel: string }[]; nodePools?: MockLivePool[] } | "absent";
  /** getCluster fails with this message (e.g. a permission error). */
  clusterError?: string;
  /** getEngineVersions' validNodeVersions. Default: every version the config names. */
  offered?: string[];
}

/**
 * The cluster as GKE reports it right after `pulumi up` of `config` succeeded: control plane at
 * `controlPlaneVersion`, in the configured channel (default REGULAR), one pool per configured pool
 * under its versioned name, at its version, created with (and still running) `sizes[role]`
 * nodes per zone (default initialNodes ?? max(minNodes, 1)).
 */
export function liveAfterUp(stack: string, config: Record<string, any>, sizes: Record<string, number> = {}): NonNullable<Exclude<GkeMock["cluster"], "absent">> {
  const cfg = validateStackConfig(config, { stack });
  return {
    masterVersion: cfg.cluster.controlPlaneVersion,
    releaseChannels: [{ channel: cfg.cluster.releaseChannel ?? "REGULAR" }],
    nodePools: cfg.pools.map((p) => {
      const n = sizes[p.role] ?? p.initialNodes ?? Math.max(p.minNodes, 1);
      return {
        name: poolName(p, cfg.environment),
        version: p.version,
        nodeCount: n,
        initialNodeCount: n,
        nodeConfigs: [{ labels: { ...p.labels, "nodepool-rotation/role": p.role, env: cfg.environment } }],
      };
    }),
  };
}

/** The `config:` map of Pulumi.<stack>.yaml, as parsed YAML values. */
export function stackFileConfig(stack: string): Record<string, any> {
  const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
  return YAML.parse(text).config;
}

/** Deep copy (config maps are plain JSON). */
export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

/** Endpoint and CA the mocked GKE cluster reports. */
export const MOCK_ENDPOINT = "34.85.1.2";
export const MOCK_CA = Buffer.from("-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n").toString("base64");

export interface ProgramRun {
  resources: Registered[];
  calls: { token: string; inputs: Record<string, any> }[];
  /** Module exports of index.ts (stack outputs). */
  outputs: Record<string, any>;
  /** Resolves when `count` resources of `type` are registered; rejects after `ms`. */
  waitFor(type: string, count?: number, ms?: number): Promise<Registered[]>;
}

/** Resolve an Output (or plain value) to its value. */
export function resolve<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((res) => pulumi.output(o).apply((v) => res(v as T)));
}

/**
 * Set mocks + config (values of structured keys as JSON strings, exactly what the Pulumi CLI hands
 * the program) and load index.ts freshly (its module cache entry is dropped first). Throws what
 * index.ts throws at load time (e.g. a StackConfigError); `resources` is filled in either case.
 * `verifiedVersions`: what a stack referenced by the promotion gate reports (default: this stack's
 * own pool versions, i.e. "staging verified them").
 */
export async function runProgram(
  stack: string,
  config: Record<string, any>,
  sink?: Registered[],
  verifiedVersions?: Record<string, string>,
  gke: GkeMock = {},
): Promise<ProgramRun> {
  // The prod promotion gate (issue 7) reads the referenced stack's `verifiedVersions` through a
  // StackReference. Default: that stack verified exactly the versions this stack's file pins.
  const pools: any[] = Array.isArray(config["nodepool-rotation:pools"]) ? config["nodepool-rotation:pools"] : [];
  const verified = verifiedVersions ?? Object.fromEntries(pools.map((p) => [p?.role, p?.version]));
  const clusterCfg = config["nodepool-rotation:cluster"] ?? {};
  const liveCluster = gke.cluster ?? liveAfterUp(stack, config);
  const offered = gke.offered ?? [...new Set([clusterCfg.controlPlaneVersion, ...pools.map((p) => p?.version)])];
  const resources: Registered[] = sink ?? [];
  const calls: ProgramRun["calls"] = [];
  const waiters: (() => void)[] = [];
  const ignored = new Map<string, string[]>();
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) flat[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(flat);

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, ignoreChanges: ignored.get(`${args.type}::${args.name}`) });
        waiters.forEach((w) => w());
        if (args.type === "pulumi:pulumi:StackReference") {
          // ...and, for the fleet gate, runs this stack's control plane and rotated long ago (soak over).
          const outputs = { verifiedVersions: verified, verifiedControlPlane: clusterCfg.controlPlaneVersion, verifiedAt: "2026-01-01T00:00:00.000Z" };
          return { id: args.inputs.name, state: { name: args.inputs.name, outputs } };
        }
        const state: Record<string, any> = { ...args.inputs };
        if (args.type === "gcp:container/cluster:Cluster") {
          state.endpoint = MOCK_ENDPOINT;
          state.masterAuth = { clusterCaCertificate: MOCK_CA };
        }
        return { id: `${args.name}_id`, state };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        calls.push({ token: args.token, inputs: args.inputs });
        if (args.token === GET_CLUSTER) {
          const id = `projects/${args.inputs.project}/locations/${args.inputs.location}/clusters/${args.inputs.name}`;
          if (gke.clusterError) throw Object.assign(new Error(gke.clusterError), { details: gke.clusterError });
          if (liveCluster === "absent") {
            // what the engine's gRPC error carries for the provider's answer (data_source_google_container_cluster.go)
            throw Object.assign(new Error(`${id} not found`), { details: `invocation of ${GET_CLUSTER} returned an error: ${id} not found` });
          }
          return { ...args.inputs, id, endpoint: MOCK_ENDPOINT, masterAuths: [{ clusterCaCertificate: MOCK_CA }], ...liveCluster };
        }
        if (args.token === GET_ENGINE_VERSIONS) {
          return { ...args.inputs, id: `projects/${args.inputs.project}/locations/${args.inputs.location}`, validNodeVersions: offered, validMasterVersions: offered };
        }
        return args.inputs;
      },
    },
    "nodepool-rotation",
    stack,
    false,
  );

  // Record the resource options the engine would get (MockResourceArgs has none), as tests/policy/program.ts does.
  const monitor = settings.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
    ignored.set(`${req.getType()}::${req.getName()}`, req.getIgnorechangesList());
    return register(req, callback);
  };

  const entry = require.resolve(path.join(ROOT, "index.ts"));
  delete require.cache[entry];
  const outputs = require(entry);

  const waitFor = (type: string, count = 1, ms = 30_000) =>
    new Promise<Registered[]>((res, rej) => {
      const check = () => {
        const found = resources.filter((r) => r.type === type);
        if (found.length >= count) {
          clearTimeout(timer);
          res(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => rej(new Error(`timed out waiting for ${count} ${type}`)), ms);
      if (!check()) waiters.push(() => void check());
    });
  return { resources, calls, outputs, waitFor };
}

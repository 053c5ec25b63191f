/**
 * Runs the real index.ts under pulumi.runtime.setMocks with a stack's config read from the actual
 * Pulumi.<stack>.yaml (optionally edited), and records every resource and invoke it registers.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";

export const ROOT = path.resolve(__dirname, "../..");

/** One resource registered with the mock monitor. */
export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
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
export async function runProgram(stack: string, config: Record<string, any>, sink?: Registered[], verifiedVersions?: Record<string, string>): Promise<ProgramRun> {
  // The prod promotion gate (issue 7) reads the referenced stack's `verifiedVersions` through a
  // StackReference. Default: that stack verified exactly the versions this stack's file pins.
  const pools: any[] = Array.isArray(config["nodepool-rotation:pools"]) ? config["nodepool-rotation:pools"] : [];
  const verified = verifiedVersions ?? Object.fromEntries(pools.map((p) => [p?.role, p?.version]));
  const resources: Registered[] = sink ?? [];
  const calls: ProgramRun["calls"] = [];
  const waiters: (() => void)[] = [];
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) flat[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(flat);

  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        waiters.forEach((w) => w());
        if (args.type === "pulumi:pulumi:StackReference") {
          return { id: args.inputs.name, state: { name: args.inputs.name, outputs: { verifiedVersions: verified } } };
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
        if (args.token === "gcp:container/getCluster:getCluster") {
          return { ...args.inputs, id: `projects/${args.inputs.project}/locations/${args.inputs.location}/clusters/${args.inputs.name}`, endpoint: MOCK_ENDPOINT, masterAuths: [{ clusterCaCertificate: MOCK_CA }] };
        }
        return args.inputs;
      },
    },
    "nodepool-rotation",
    stack,
    false,
  );

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

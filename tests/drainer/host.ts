/**
 * The REAL dynamic-provider host, started the way the Pulumi engine starts it, driven over gRPC the
 * way the engine drives it. No emulation: every drainer spec (and the rehearsal's drain seam) runs
 * the serialized `__provider` text inside `@pulumi/pulumi/cmd/dynamic-provider`.
 *
 * How the engine starts it (pulumi/pulumi sdk/go/common/resource/plugin/plugin.go, `ExecPlugin`,
 * tag v3.259.0-14-g1b5949891b; the same in 3.270):
 *  - `environment := os.Environ()` (line 500) … `cmd.Env = environment` (602): the host inherits the
 *    `pulumi` process's environment (that is how NODEPOOL_ROTATION_DRAIN_OVERRIDE reaches it);
 *  - `cmdutil.RegisterProcessGroup(cmd)` (598: `Setpgid: true`) and `cmd.Dir = pwd` (599, the
 *    project directory): the plugin runs in its OWN process group, so a terminal's Ctrl-C never
 *    reaches it; here: `spawn(..., { detached: true })`, which calls setsid (a new group too);
 *  - the binary is `pulumi-resource-pulumi-nodejs` (shipped in node_modules/@pulumi/pulumi): a
 *    shell script that resolves `@pulumi/pulumi/cmd/dynamic-provider` from the working directory
 *    and runs it with node, so the group holds `sh` and `node`;
 *  - the host prints its gRPC port on stdout (cmd/dynamic-provider/index.js `main`), the engine
 *    dials 127.0.0.1:<port>, calls GetPluginInfo and Configure (the host answers
 *    `acceptSecrets: false`, so secrets arrive unwrapped), then Check/Diff/Create/Update/Delete with
 *    properties as google.protobuf.Struct, `__provider` carrying the serialized provider text;
 *  - stopping it: `InterruptChildren` = SIGINT to the process group (line 648), then SIGKILL to the
 *    group 5 s later if it has not exited (651–661). `signal()` below sends the same signals.
 *
 * The specs stop every host they start after each test (`stopAllHosts`): SIGKILL to the group.
 */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { POOL_DRAINER_TYPE } from "../../components/poolDrainer";

/* eslint-disable @typescript-eslint/no-var-requires */
const fromPulumi = (m: string) => require(require.resolve(m, { paths: [require.resolve("@pulumi/pulumi")] }));
const grpc = fromPulumi("@grpc/grpc-js");
const providerpb = require("@pulumi/pulumi/proto/provider_pb");
const providerrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-var-requires */

/** The project directory: where `pulumi up` runs, and so the host's working directory. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const WRAPPER = path.join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "pulumi-resource-pulumi-nodejs");
const STARTUP_LIMIT_MS = 60_000;

/** Result of one provider RPC: the host's answer, or the gRPC error (its message, as Pulumi shows it). */
export type HostResult =
  | { ok: true; result: any; ms: number }
  | { ok: false; message: string; code: number; ms: number };

/** Where the host runs. */
export interface HostOptions {
  /**
   * `"project"` (default): this repository, as `pulumi up` in the project. `"elsewhere"`: a fresh
   * temporary directory outside the repository whose `node_modules` links to the project's
   * packages, as a CI checkout in another path (nothing else is shared).
   */
  checkout?: "project" | "elsewhere";
  /** A project directory of one's own to run in (overrides `checkout`); its node_modules must hold @pulumi/pulumi. */
  cwd?: string;
  /** Extra environment (inherited from the `pulumi` process by the real host). */
  env?: Record<string, string>;
}

/** A running host process group. */
export interface FreshHost {
  /** Working directory of the host. */
  cwd: string;
  /** Process group id (= pid of the wrapper script the engine would exec). */
  pgid: number;
  /** Everything the host wrote to stderr so far (Pulumi shows a provider's stderr to the operator). */
  stderr(): string;
  /**
   * One provider RPC as the engine sends it: `check(olds, news)`, `diff(id, olds, news)`,
   * `create(props)`, `update(id, olds, news)`, `delete(id, props)`; plain JS values in, the
   * response converted back (check → {inputs, failures}, diff → {changes, replaces,
   * deleteBeforeReplace}, create → {id, outs}, update → {outs}, delete → null).
   */
  call(method: "check" | "diff" | "create" | "update" | "delete", ...args: any[]): Promise<HostResult>;
  /** Sends `sig` to the host's process group, as the engine's InterruptChildren/KillChildren do. */
  signal(sig: NodeJS.Signals): void;
  /** True while any process of the group is alive (not a zombie). */
  running(): boolean;
  /**
   * What the engine does to the plugin on a second Ctrl-C or SIGTERM (plugin.go 648–666):
   * SIGINT to the process group, then SIGKILL to the group if it is still running 5 s later.
   * Resolves once the group is gone, with how long it took and whether SIGKILL was needed.
   */
  terminateLikeEngine(): Promise<{ exitedAfterMs: number; killed: boolean }>;
  /** Kills the process group (SIGKILL), waits until it is gone, removes a temporary checkout. */
  stop(): Promise<void>;
}

const started = new Set<FreshHost>();

/** Stops every host started and not yet stopped (the specs call it after each test). */
export async function stopAllHosts(): Promise<void> {
  await Promise.all([...started].map((h) => h.stop()));
}

/** Live (non-zombie) processes of process group `pgid`, read from /proc (Linux). */
function groupAlive(pgid: number): boolean {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses: parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
}

const urnOf = (name: string) => `urn:pulumi:staging::nodepool-rotation::${POOL_DRAINER_TYPE}::${name}`;
/** The Struct the engine sends: JSON values only (undefined fields are absent on the wire). */
const struct = (v: unknown) => Struct.fromJavaScript(JSON.parse(JSON.stringify(v ?? {})));

/** Builds the engine's request for `method` from plain values. */
function request(method: string, args: any[]): any {
  const name = "drainer";
  switch (method) {
    case "check": {
      const [olds, news] = args;
      return new providerpb.CheckRequest().setUrn(urnOf(name)).setName(name).setType(POOL_DRAINER_TYPE).setOlds(struct(olds)).setNews(struct(news));
    }
    case "diff": {
      const [id, olds, news] = args;
      return new providerpb.DiffRequest().setId(id).setUrn(urnOf(name)).setName(name).setType(POOL_DRAINER_TYPE).setOlds(struct(olds)).setNews(struct(news));
    }
    case "create":
      return new providerpb.CreateRequest().setUrn(urnOf(name)).setName(name).setType(POOL_DRAINER_TYPE).setProperties(struct(args[0]));
    case "update": {
      const [id, olds, news] = args;
      return new providerpb.UpdateRequest().setId(id).setUrn(urnOf(name)).setName(name).setType(POOL_DRAINER_TYPE).setOlds(struct(olds)).setNews(struct(news));
    }
    case "delete": {
      const [id, props] = args;
      return new providerpb.DeleteRequest().setId(id).setUrn(urnOf(name)).setName(name).setType(POOL_DRAINER_TYPE).setProperties(struct(props));
    }
    default:
      throw new Error(`unsupported provider method ${method}`);
  }
}

const DIFF = providerpb.DiffResponse.DiffChanges;

/** Converts the host's response for `method` back to plain values. */
function response(method: string, resp: any): any {
  switch (method) {
    case "check":
      return {
        inputs: resp.getInputs()?.toJavaScript(),
        failures: resp.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
      };
    case "diff":
      return {
        changes: resp.getChanges() === DIFF.DIFF_SOME ? true : resp.getChanges() === DIFF.DIFF_NONE ? false : undefined,
        replaces: resp.getReplacesList(),
        deleteBeforeReplace: resp.getDeletebeforereplace(),
      };
    case "create":
      return { id: resp.getId(), outs: resp.getProperties()?.toJavaScript() };
    case "update":
      return { outs: resp.getProperties()?.toJavaScript() };
    default:
      return null;
  }
}

/**
 * Starts the real host as the engine does and performs the engine's handshake (GetPluginInfo,
 * Configure). Resolves once it serves.
 */
export async function startFreshHost(opts: HostOptions = {}): Promise<FreshHost> {
  let cwd = PROJECT_DIR;
  let tempDir: string | undefined;
  if (opts.checkout === "elsewhere") {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "pooldrainer-checkout-"));
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(tempDir, "node_modules"), "dir");
    cwd = tempDir;
  }
  if (opts.cwd) cwd = opts.cwd;
  // The pulumi CLI's environment, minus what mocha's ts-node would add to a child.
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` };
  for (const k of ["NODE_OPTIONS", "NODE_PATH", "TS_NODE_PROJECT", "TS_NODE_TRANSPILE_ONLY", "TS_NODE_FILES"]) delete env[k];
  // The engine passes its own gRPC address as the first argument; the dynamic host never dials it.
  const child: ChildProcessWithoutNullStreams = spawn("/bin/sh", [WRAPPER, "127.0.0.1:1"], { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  const pgid = child.pid!;
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let stdout = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let client: any;
  let stopped = false;

  const host: FreshHost = {
    cwd,
    pgid,
    stderr: () => stderr,
    call(method, ...args) {
      const t0 = Date.now();
      return new Promise((resolve) => {
        client[method](request(method, args), (err: any, resp: any) =>
          resolve(err ? { ok: false, message: String(err.details ?? err.message), code: err.code, ms: Date.now() - t0 } : { ok: true, result: response(method, resp), ms: Date.now() - t0 }),
        );
      });
    },
    signal(sig) {
      try {
        process.kill(-pgid, sig);
      } catch (e: any) {
        if (e.code !== "ESRCH") throw e;
      }
    },
    running: () => groupAlive(pgid),
    async terminateLikeEngine() {
      const t0 = Date.now();
      host.signal("SIGINT");
      while (groupAlive(pgid) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      const killed = groupAlive(pgid);
      if (killed) host.signal("SIGKILL");
      while (groupAlive(pgid)) await new Promise((r) => setTimeout(r, 20));
      return { exitedAfterMs: Date.now() - t0, killed };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      started.delete(host);
      client?.close();
      host.signal("SIGKILL");
      await exited;
      const until = Date.now() + 5000;
      while (groupAlive(pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    },
  };
  started.add(host);

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the dynamic-provider host printed no port within ${STARTUP_LIMIT_MS} ms; stderr:\n${stderr}`)), STARTUP_LIMIT_MS);
      child.stdout.on("data", (d) => {
        stdout += d;
        const m = /^(\d+)\s*$/m.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the dynamic-provider host exited (${code}) before serving; stderr:\n${stderr}`));
      });
    });
    client = new providerrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) => client.getPluginInfo(new Empty(), (err: any) => (err ? reject(err) : resolve())));
    const configured = await new Promise<any>((resolve, reject) =>
      client.configure(new providerpb.ConfigureRequest().setArgs(struct({})).setAcceptsecrets(true).setAcceptresources(true), (err: any, r: any) => (err ? reject(err) : resolve(r))),
    );
    if (configured.getAcceptsecrets()) throw new Error("the dynamic-provider host accepts secrets: the specs' plainInputs() assumption no longer holds");
  } catch (e) {
    await host.stop();
    throw e;
  }
  return host;
}

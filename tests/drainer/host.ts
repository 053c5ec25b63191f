/**
 * Loads a serialized dynamic provider (`__provider` text) in a FRESH Node process, exactly the way
 * Pulumi's dynamic-provider host does, and calls its methods.
 *
 * What "exactly" means (node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js, 3.270):
 *  - Pulumi starts the host through the `pulumi-resource-pulumi-nodejs` script (pulumi/pulumi
 *    sdk/nodejs/dist/pulumi-resource-pulumi-nodejs):
 *      node "$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")"
 *    i.e. @pulumi/pulumi is resolved from the working directory, which is the project directory.
 *  - The host does `requireFromString(props.__provider).handler()` with `require-from-string`
 *    resolved from its own file, no filename and no extra paths.
 *  - require-from-string then sets the module's search paths to `Module._nodeModulePaths(dirname(""))`
 *    = node_modules directories of the *working directory* and its parents.
 * So the child runs with its working directory in a fresh temporary "checkout" (not below this
 * repository, so no parent node_modules is found by accident) whose `node_modules` is a symlink to
 * this project's installed packages, with NODE_PATH/NODE_OPTIONS cleared (no ts-node, no extra
 * paths). Anything the text needs must be found the way the real host would find it.
 */
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const PROJECT_NODE_MODULES = path.resolve(__dirname, "..", "..", "node_modules");

/** The child: a line-delimited JSON RPC over stdin/stdout around the loaded provider. */
const CHILD_SOURCE = `
const path = require("path");
const { createRequire } = require("module");
// As pulumi-resource-pulumi-nodejs: resolve the host script from the working directory ...
const hostScript = createRequire(path.join(process.cwd(), "[cwd]")).resolve("@pulumi/pulumi/cmd/dynamic-provider");
// ... and require-from-string from the host's own file, as the host's \`require\` does.
const hostRequire = createRequire(hostScript);
const requireFromString = hostRequire("require-from-string");
const text = require("fs").readFileSync(process.argv[2], "utf8");
let provider;
const send = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
let buf = "";
process.stdin.on("data", async (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const { seq, method, args } = JSON.parse(line);
    try {
      if (!provider) provider = requireFromString(text).handler();
      if (typeof provider[method] !== "function") throw new Error("provider has no " + method);
      const result = await provider[method](...args);
      send({ seq, ok: true, result: result === undefined ? null : result });
    } catch (e) {
      send({ seq, ok: false, message: String(e && e.message || e) });
    }
  }
});
process.stdin.on("end", () => process.exit(0));
`;

/** Result of a provider method call in the child. */
export type HostResult = { ok: true; result: any; ms: number } | { ok: false; message: string; ms: number };

/** A running fresh host process. */
export interface FreshHost {
  /** Working directory of the child (a temporary directory outside this repository). */
  cwd: string;
  /** Everything the provider wrote to stderr so far (the host shows stderr to the operator). */
  stderr(): string;
  /** Calls `provider[method](...args)` in the child; resolves with the result or the thrown message. */
  call(method: string, ...args: unknown[]): Promise<HostResult>;
  /** Ends the child and removes its directory. */
  stop(): Promise<void>;
}

/** Starts a fresh host for `providerText` in a new temporary project directory. */
export async function startFreshHost(providerText: string): Promise<FreshHost> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "pooldrainer-host-"));
  fs.symlinkSync(PROJECT_NODE_MODULES, path.join(cwd, "node_modules"), "dir");
  const script = path.join(cwd, "host-child.js");
  const textFile = path.join(cwd, "provider.js.txt");
  fs.writeFileSync(script, CHILD_SOURCE);
  fs.writeFileSync(textFile, providerText);
  const env = { ...process.env };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  delete env.TS_NODE_PROJECT;
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script, textFile], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const pending = new Map<number, { resolve: (r: HostResult) => void; started: number }>();
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    let i;
    while ((i = out.indexOf("\n")) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      const msg = JSON.parse(line);
      const p = pending.get(msg.seq);
      if (!p) continue;
      pending.delete(msg.seq);
      const ms = Date.now() - p.started;
      p.resolve(msg.ok ? { ok: true, result: msg.result, ms } : { ok: false, message: msg.message, ms });
    }
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  child.on("exit", (code) => {
    for (const [, p] of pending) p.resolve({ ok: false, message: `host exited (${code}): ${stderr}`, ms: Date.now() - p.started });
    pending.clear();
  });
  let seq = 0;
  return {
    cwd,
    stderr: () => stderr,
    call(method, ...args) {
      return new Promise((resolve) => {
        const id = ++seq;
        pending.set(id, { resolve, started: Date.now() });
        child.stdin.write(JSON.stringify({ seq: id, method, args }) + "\n");
      });
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}

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

/**
 * The child: the host's CRUD semantics (cmd/dynamic-provider/index.js) over line-delimited JSON:
 * the provider text is taken from the props of each call (`__provider` of news for
 * check/diff/update, of the stored props for create/read/delete, olds when news' is unknown),
 * loaded once per distinct text with `requireFromString(text).handler()`, and create/update/read
 * return outputs with `__provider` attached, as `resultIncludingProvider` does.
 */
const CHILD_SOURCE = `
const path = require("path");
const { createRequire } = require("module");
// As pulumi-resource-pulumi-nodejs: resolve the host script from the working directory ...
const hostScript = createRequire(path.join(process.cwd(), "[cwd]")).resolve("@pulumi/pulumi/cmd/dynamic-provider");
// ... and require-from-string from the host's own file, as the host's \`require\` does.
const requireFromString = createRequire(hostScript)("require-from-string");
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const cache = {};
function getProvider(props) {
  const text = props.__provider;
  if (!cache[text]) cache[text] = requireFromString(text).handler();
  return cache[text];
}
const withProvider = (result, props) => Object.assign(result || {}, { __provider: props.__provider });
const methods = {
  async check(olds, news) {
    const p = getProvider(news.__provider === UNKNOWN ? olds : news);
    const r = p.check ? await p.check(olds, news) : { inputs: news };
    const inputs = r.inputs || news;
    inputs.__provider = news.__provider;
    return { inputs, failures: r.failures || [] };
  },
  async diff(id, olds, news) {
    const p = getProvider(news.__provider === UNKNOWN ? olds : news);
    return p.diff ? await p.diff(id, olds, news) : {};
  },
  async create(props) {
    const r = await getProvider(props).create(props);
    return { id: r.id, outs: withProvider(r.outs, props) };
  },
  async update(id, olds, news) {
    const p = getProvider(news);
    const r = p.update ? (await p.update(id, olds, news)) || {} : {};
    return { outs: withProvider(r.outs, news) };
  },
  async read(id, props) {
    const p = getProvider(props);
    if (!p.read) return { id, props };
    const r = await p.read(id, props);
    return { id: r.id, props: withProvider(r.props, props) };
  },
  async delete(id, props) {
    const p = getProvider(props);
    if (p.delete) await p.delete(id, props);
    return null;
  },
};
const send = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
let buf = "";
process.stdin.on("data", async (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const { seq, method, args } = JSON.parse(line);
    try {
      const result = await methods[method](...args);
      send({ seq, ok: true, result: result === undefined ? null : result });
    } catch (e) {
      // check/diff/read/delete errors are printed by the host before answering; create/update are not.
      if (method !== "create" && method !== "update") console.error(\`\${e}: \${e.stack}\`);
      send({ seq, ok: false, message: String((e && e.message) || e) });
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
  /** Runs the host's `method` (check/diff/create/update/read/delete) with the engine's arguments; resolves with the result or the thrown message. */
  call(method: string, ...args: unknown[]): Promise<HostResult>;
  /** Ends the child and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a fresh host in a new temporary project directory. Calls take the props the engine would
 * send, including `__provider` (the serialized text), exactly like the real host.
 */
export async function startFreshHost(): Promise<FreshHost> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "pooldrainer-host-"));
  fs.symlinkSync(PROJECT_NODE_MODULES, path.join(cwd, "node_modules"), "dir");
  const script = path.join(cwd, "host-child.js");
  fs.writeFileSync(script, CHILD_SOURCE);
  const env = { ...process.env };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  delete env.TS_NODE_PROJECT;
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
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

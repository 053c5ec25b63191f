/**
 * PoolDrainer: a Pulumi dynamic resource tied to one GKE node pool whose `delete()` drains that pool
 * (cordon, Eviction API honouring PodDisruptionBudgets) before Pulumi deletes the pool itself.
 *
 * How it rides Pulumi's own order on a version bump (pool name changes → pool replaced):
 *   create pool v2 → create drainer v2 → delete drainer v1 (= drain pool v1) → delete pool v1.
 * The old drainer is deleted before the old pool because it depends on it (reverse dependency order).
 * If the drain fails, the delete fails: Pulumi keeps the old pool (and the old drainer) in state as
 * pending deletes, and the next `pulumi up` retries both.
 *
 * Facts this file is built on (pulumi/pulumi 3.270, node_modules/@pulumi/pulumi):
 *  - `dynamic.Resource(provider, name, props, opts, module, type)` registers the type token
 *    `pulumi-nodejs:dynamic/<module>:<type>` (dynamic/index.js) → ours is
 *    `pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer`.
 *  - The host (cmd/dynamic-provider/index.js) runs `requireFromString(props.__provider).handler()`;
 *    require-from-string builds the module's search paths with `Module._nodeModulePaths(dirname(""))`,
 *    i.e. from the host's *working directory* (Pulumi starts the host in the project directory), so a
 *    bare `require("@kubernetes/client-node")` in the serialized text resolves against the project's
 *    node_modules wherever the checkout lives. `require` itself is never captured by the closure
 *    serializer (runtime/closure/parseFunction.js `nodeModuleGlobals`).
 *  - `delete(id, props)` gets the OLD outputs from state and runs with the provider text stored in
 *    those outputs (`getProvider(props)`), i.e. the code from the last `pulumi up` that created or
 *    *updated* this resource. `diff`/`check`/`update` run the NEW text (`getProvider(news)`), and
 *    `update` stores the new text (`resultIncludingProvider(result.outs, news)`). Hence `codeVersion`:
 *    a hash of the exact serialized text; when it changes, `diff` reports an update, and the update
 *    refreshes the code that a later delete will run.
 *  - The host ignores customTimeouts and does not show `pulumi.log` output: `delete` keeps its own
 *    deadline and writes progress to stderr.
 *
 * How the engine gets into the serialized text: NOT by letting the closure serializer capture the
 * engine's functions by value. The serializer rewrites every captured function into a `with(...)`
 * environment of its own and walks whole module export objects; checked with 3.270: module-level
 * state is copied per function (after `inc(); inc()` a sibling `get()` still returns 0), native
 * helpers such as `promisify(setTimeout)` cannot be captured, and capturing this engine's
 * `drainPool` fails outright ("PoolDrain … function 'until' … Unexpected missing variable in closure
 * environment"). Classes are re-emitted as functions with `super` rewritten, async functions
 * and getters are supported — but one unsupported construct anywhere in the engine breaks
 * `pulumi up`. Instead, `engineBundle()` embeds
 * the engine's own module sources (components/rotation/**, found by following its relative requires,
 * transpiled with TypeScript's `transpileModule`) as plain strings, and the provider evaluates them
 * with a 20-line CommonJS loader at delete time: classes, getters, async functions, `instanceof` and
 * module state behave exactly as in `npm run rotation`. Only the provider's own small functions below
 * are captured by the serializer, and they capture nothing but that bundle of strings.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
// Type-only (erased): provider-side code gets client-node from the host's `require` at run time.
import type { CoreV1Api, V1ConfigMap, V1NodeList } from "@kubernetes/client-node";
import type { DrainConfig } from "./config";
import { checkDrainSettings } from "./rotation/settings";
// Type-only (erased): the provider runs the engine from its stored bundle (loadEngine), never this import.
import type * as EngineModule from "./rotation";

/** The engine's exports, as loadEngine returns them from the bundle. */
type EngineExports = typeof EngineModule;
/** The contracts module (components/contracts.ts), as the bundle carries it. */
type ContractsModule = typeof import("./contracts");

// Pulumi type token of the drainer (module/type arguments of `dynamic.Resource`): contracts.ts.
export { POOL_DRAINER_TYPE } from "./contracts";

/** Drain options: the stack's `nodepool-rotation:drain` (one definition, in config.ts). */
export type DrainerOptions = DrainConfig;

/** Inputs of a PoolDrainer. */
export interface PoolDrainerArgs {
  /** Name of the node pool this drainer drains when it is deleted (GKE label `cloud.google.com/gke-nodepool`). */
  poolName: pulumi.Input<string>;
  /** Pool role (`nodepool-rotation/role` node label); replacement nodes are the role's nodes outside this pool. */
  role: pulumi.Input<string>;
  /** Cluster identity `project/location/name`; a change replaces the drainer. */
  cluster: pulumi.Input<string>;
  /**
   * Kubeconfig YAML for the cluster. Stored as a secret. Must authenticate through an exec plugin
   * (`gke-gcloud-auth-plugin`, see components/kubeconfig.ts), never an embedded token or key: the
   * text is kept in state and used by a later delete, when any token would have expired.
   * Loopback servers (127.0.0.1/localhost, the test simulator) may omit auth.
   */
  kubeconfig: pulumi.Input<string>;
  /** Drain options; see DrainerOptions. */
  options?: pulumi.Input<DrainerOptions>;
}

/** Everything delete() needs, as stored in state (the drainer's outputs). */
export interface DrainerState {
  poolName: string;
  role: string;
  cluster: string;
  kubeconfig: string;
  options: DrainerOptions;
  codeVersion: string;
}

/**
 * PoolDrainer resource. Create it with `dependsOn`/parent such that it depends on its pool (never
 * `deletedWith`, never `deleteBeforeReplace`): then Pulumi deletes it — and so drains the pool —
 * before it deletes the pool.
 */
export class PoolDrainer extends pulumi.dynamic.Resource {
  public readonly poolName!: pulumi.Output<string>;
  public readonly role!: pulumi.Output<string>;
  public readonly cluster!: pulumi.Output<string>;
  public readonly options!: pulumi.Output<DrainerOptions>;
  /** sha256 of the serialized provider text (engine + provider) and the installed client-node version; a change updates the stored code. */
  public readonly codeVersion!: pulumi.Output<string>;

  constructor(name: string, args: PoolDrainerArgs, opts: pulumi.CustomResourceOptions = {}) {
    if (opts.deletedWith !== undefined || opts.deleteBeforeReplace) {
      throw new Error(
        `PoolDrainer "${name}": deletedWith/deleteBeforeReplace would skip or reorder the drain; remove them from its resource options.`,
      );
    }
    // Plain (config-provided) options are validated here, before anything is changed; Output
    // values are validated by check() in the provider host, still before any change.
    if (args.options !== undefined && !pulumi.Output.isInstance(args.options) && !isPromiseLike(args.options)) {
      const problems = validateDrainOptions(args.options, { checkDrainSettings });
      if (problems.length > 0) {
        throw new Error(
          `PoolDrainer "${name}": invalid drain options (stack config nodepool-rotation:drain): ${problems
            .map((p) => `${p.property}: ${p.reason}`)
            .join("; ")}`,
        );
      }
    }
    const { provider, codeVersion } = drainerProvider();
    super(
      provider,
      name,
      {
        poolName: args.poolName,
        role: args.role,
        cluster: args.cluster,
        kubeconfig: pulumi.secret(args.kubeconfig),
        options: args.options ?? {},
        codeVersion,
      },
      { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "kubeconfig"] },
      "nodepool-rotation",
      "PoolDrainer",
    );
  }
}

function isPromiseLike(v: unknown): boolean {
  return typeof (v as { then?: unknown } | null | undefined)?.then === "function";
}

// ---------------------------------------------------------------------------------------------
// Program side: the engine bundle and the (single, shared) provider object.
// ---------------------------------------------------------------------------------------------

/** The engine's CommonJS module sources, keyed by path relative to the project root. */
export interface EngineBundle {
  /** Key of the entry module (the engine's index). */
  entry: string;
  /** key → transpiled CommonJS source. */
  files: Record<string, string>;
  /** key → (relative require specifier → key): resolved at program time, so the loader needs no paths. */
  links: Record<string, Record<string, string>>;
}

const PROJECT_ROOT = path.resolve(__dirname, "..");
/** The engine's entry: the TypeScript source in a checkout, the compiled module in the installed package (dist/). */
const DEFAULT_ENGINE_ENTRY = ["index.ts", "index.js"].map((f) => path.join(__dirname, "rotation", f)).find((f) => fs.existsSync(f)) ?? path.join(__dirname, "rotation", "index.ts");

/**
 * Builds the engine bundle from the engine's entry module by following its relative requires.
 * Bare specifiers (`@kubernetes/client-node`, `node:timers/promises`) are left to the host's
 * `require`, i.e. the project's node_modules at delete time. Throws if the engine requires a file
 * outside the project root, or if it imports `@pulumi/*` (the engine must never).
 */
export function engineBundle(entryFile: string = DEFAULT_ENGINE_ENTRY, root: string = PROJECT_ROOT): EngineBundle {
  // TypeScript is already a dependency of every Pulumi TS program (Pulumi's closure serializer
  // parses functions with it, through @pulumi/pulumi/typescript-shim).
  const ts: typeof import("typescript") = require("typescript");
  const files: Record<string, string> = {};
  const links: Record<string, Record<string, string>> = {};
  const keyOf = (abs: string) => {
    const rel = path.relative(root, abs);
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
      throw new Error(`PoolDrainer: the rotation engine requires ${abs}, outside the project root; keep the engine self-contained.`);
    }
    return rel.split(path.sep).join("/");
  };
  const resolveFile = (fromDir: string, spec: string): string => {
    const base = path.resolve(fromDir, spec);
    for (const candidate of [base, `${base}.ts`, `${base}.js`, `${base}.json`, path.join(base, "index.ts"), path.join(base, "index.js")]) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
    }
    throw new Error(`PoolDrainer: cannot resolve "${spec}" required from ${keyOf(path.join(fromDir, "x"))}`);
  };
  const visit = (abs: string): string => {
    const key = keyOf(abs);
    if (files[key] !== undefined) return key;
    const source = fs.readFileSync(abs, "utf8");
    let code: string;
    if (abs.endsWith(".json")) {
      code = `module.exports = ${JSON.stringify(JSON.parse(source))};`;
    } else if (abs.endsWith(".ts")) {
      code = ts.transpileModule(source, {
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
          sourceMap: false,
          inlineSourceMap: false,
          removeComments: true,
        },
      }).outputText;
    } else {
      code = source;
    }
    files[key] = code.replace(/\n\/\/# sourceMappingURL=.*$/m, "");
    links[key] = {};
    for (const spec of requiredSpecifiers(code)) {
      if (spec.startsWith("@pulumi/")) {
        throw new Error(`PoolDrainer: the rotation engine (${key}) imports ${spec}; the engine must never import @pulumi/*.`);
      }
      if (spec.startsWith("./") || spec.startsWith("../")) {
        links[key][spec] = visit(resolveFile(path.dirname(abs), spec));
      }
    }
    return key;
  };
  const entry = visit(entryFile);
  return { entry, files, links };
}

/** The specifiers of the `require("...")` calls in CommonJS source. */
function requiredSpecifiers(code: string): string[] {
  return [...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
}

let shared: { provider: pulumi.dynamic.ResourceProvider; codeVersion: Promise<string> } | undefined;

/**
 * The provider object shared by every PoolDrainer of this program run (Pulumi caches serialization
 * per provider object) and its code version: sha256 of the exact text the host will run.
 */
export function drainerProvider(): { provider: pulumi.dynamic.ResourceProvider; codeVersion: Promise<string> } {
  if (!shared) {
    const bundle = engineBundle();
    const provider = makeDrainerProvider(bundle);
    shared = { provider, codeVersion: codeVersionOf(provider, requiredPackageVersions(bundle)) };
  }
  return shared;
}

/**
 * Installed versions of the packages the stored code `require`s by bare name at delete time: the
 * provider's own `@kubernetes/client-node` plus every non-builtin package the engine bundle
 * requires. They are resolved like the host resolves them — require-from-string searches
 * `Module._nodeModulePaths(<working directory>)`, and Pulumi runs the host in the project
 * directory — so an `npm ci` that installs another client-node changes the code a delete runs.
 * Throws, naming the package and the fix, when one is not installed.
 */
export function requiredPackageVersions(bundle: EngineBundle, root: string = PROJECT_ROOT): Record<string, string> {
  const builtins = new Set(require("node:module").builtinModules as string[]);
  const names = new Set<string>(["@kubernetes/client-node"]);
  for (const code of Object.values(bundle.files)) {
    for (const spec of requiredSpecifiers(code)) {
      if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec) || builtins.has(spec.split("/")[0])) continue;
      names.add(spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"));
    }
  }
  const searchPaths: string[] = require("node:module")._nodeModulePaths(root);
  const versions: Record<string, string> = {};
  for (const name of [...names].sort()) {
    const file = searchPaths.map((dir) => path.join(dir, name, "package.json")).find((f) => fs.existsSync(f));
    if (!file) {
      throw new Error(`PoolDrainer: ${name} (required by the drain code at delete time) is not installed under ${root}: run \`npm ci\` in the project.`);
    }
    versions[name] = String(JSON.parse(fs.readFileSync(file, "utf8")).version);
  }
  return versions;
}

/**
 * sha256 (16 hex) of what a delete will run: the text Pulumi stores as `__provider` for this
 * provider object (the SDK serializes `() => provider`, dynamic/index.js
 * `serializeFunctionMaybeSecret`, and so do we) plus the installed versions of the packages that
 * text requires (`packages`, from requiredPackageVersions).
 */
export async function codeVersionOf(provider: pulumi.dynamic.ResourceProvider, packages: Record<string, string>): Promise<string> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
  const deps = Object.keys(packages)
    .sort()
    .map((name) => `${name}@${packages[name]}`)
    .join("\n");
  return crypto.createHash("sha256").update(`${sf.text}\n${deps}`).digest("hex").slice(0, 16);
}

// ---------------------------------------------------------------------------------------------
// Provider side: everything below is serialized into `__provider` and runs in the dynamic-provider
// host. These functions may only use globals, `require(...)` of node_modules/builtins, their
// arguments and each other (function declarations): no module-level values, no imports.
// ---------------------------------------------------------------------------------------------

/**
 * The dynamic provider. `bundle` (plain strings) is its only captured value.
 * check/diff/create/update/read never touch the cluster; delete drains the pool.
 */
/**
 * A PoolDrainer's inputs as check() and diff() receive them: open, since nothing has validated them
 * yet (in a preview an input not known yet is the engine's sentinel string, see isUnknown).
 */
type RawDrainerInputs = Record<string, unknown>;

/** The inputs after check() accepted them (create/update): DrainerState's fields, options optional. */
type CheckedDrainerInputs = Omit<DrainerState, "options"> & { options?: DrainerOptions };

export function makeDrainerProvider(bundle: EngineBundle): pulumi.dynamic.ResourceProvider {
  return {
    async check(olds: RawDrainerInputs, news: RawDrainerInputs) {
      // The rules come from the bundle's copy of the engine: its settings and contracts modules only
      // (they load no client-node), so a check stays cheap.
      const settings = loadEngine<SettingsModule>(bundle, require, "components/rotation/settings.ts");
      const contracts = loadEngine<ContractsModule>(bundle, require, "components/contracts.ts");
      return { inputs: news, failures: checkDrainerInputs(news, settings, contracts) };
    },
    async diff(_id: string, olds: RawDrainerInputs, news: RawDrainerInputs) {
      return diffDrainer(olds, news);
    },
    async create(inputs: CheckedDrainerInputs) {
      return { id: `${inputs.cluster}/${inputs.poolName}`, outs: drainerOutputs(inputs) };
    },
    async update(_id: string, _olds: DrainerState, news: CheckedDrainerInputs) {
      return { outs: drainerOutputs(news) };
    },
    async read(id: string, props: DrainerState) {
      return { id, props };
    },
    async delete(_id: string, props: DrainerState) {
      await drainPoolBeforeDelete(props, bundle);
    },
  };
}

/** The engine's value for an input that is not known yet (preview). */
function isUnknown(v: unknown): boolean {
  return v === "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
}

/** Outputs = exactly the fields delete() needs (the host adds `__provider`). */
function drainerOutputs(inputs: CheckedDrainerInputs): DrainerState {
  return {
    poolName: inputs.poolName,
    role: inputs.role,
    cluster: inputs.cluster,
    kubeconfig: inputs.kubeconfig,
    options: inputs.options ?? {},
    codeVersion: inputs.codeVersion,
  };
}

/** JSON with sorted keys, so option objects compare by value. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * Replace (so the old drainer's delete drains the old pool) when the pool or the cluster changes;
 * update in place when anything else delete() uses changes — options, role, kubeconfig, or the code
 * version (so the stored provider code is refreshed). Never deleteBeforeReplace.
 */
function diffDrainer(olds: RawDrainerInputs, news: RawDrainerInputs): { changes: boolean; replaces: string[]; stables: string[] } {
  const replaces = ["poolName", "cluster"].filter((k) => isUnknown(news[k]) || olds[k] !== news[k]);
  const updates = ["role", "kubeconfig", "options", "codeVersion"].filter(
    (k) => isUnknown(news[k]) || canonicalJson(olds[k] ?? (k === "options" ? {} : undefined)) !== canonicalJson(news[k] ?? (k === "options" ? {} : undefined)),
  );
  return { changes: replaces.length + updates.length > 0, replaces, stables: [] };
}

/** The engine's drain-settings module (components/rotation/settings.ts): the one rule of each setting. */
type SettingsModule = Pick<typeof EngineModule, "checkDrainSettings">;

/**
 * Validation of drain options (stack config, or an override): one failure per bad field, naming it
 * and the rule, from the engine's one definition (`settings.checkDrainSettings`; passed in: provider-side
 * code may not import, it loads the module from its bundle).
 */
export function validateDrainOptions(options: unknown, settings: SettingsModule): { property: string; reason: string }[] {
  return settings
    .checkDrainSettings(options, { isUnknown })
    .map((p) => ({ property: p.field ? `options.${p.field}` : "options", reason: p.reason }));
}

/**
 * Validation of all inputs (runs in check(), before any change). The kubeconfig must not carry a
 * credential that could expire or leak from state: token, password, client key, auth-provider.
 */
function checkDrainerInputs(news: RawDrainerInputs, settings: SettingsModule, contracts: ContractsModule): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  const str = (key: string, re: RegExp, rule: string) => {
    const v = news[key];
    if (isUnknown(v)) return;
    if (typeof v !== "string" || !re.test(v)) failures.push({ property: key, reason: `${rule}, got ${JSON.stringify(v)}` });
  };
  str("poolName", contracts.GKE_POOL_NAME_REGEX, `must be ${contracts.POOL_NAME_RULE}`);
  str("role", contracts.ROLE_REGEX, `must be a pool role: ${contracts.ROLE_RULE}`);
  str("cluster", /^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be the cluster identity project/location/name");
  if (news.options !== undefined && !isUnknown(news.options)) failures.push(...validateDrainOptions(news.options, settings));
  if (!isUnknown(news.kubeconfig)) {
    const problem = kubeconfigProblem(news.kubeconfig);
    if (problem) failures.push({ property: "kubeconfig", reason: problem });
  }
  return failures;
}

/** Why this kubeconfig must not be stored for a later delete, or undefined if it is fine. */
function kubeconfigProblem(text: unknown): string | undefined {
  if (typeof text !== "string" || text.trim() === "") return "must be kubeconfig YAML text";
  const k8s = require("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (e) {
    return `is not a valid kubeconfig: ${(e as Error).message}`;
  }
  const context = kc.getContextObject(kc.getCurrentContext());
  const cluster = context ? kc.getCluster(context.cluster) : null;
  const user = context ? kc.getUser(context.user) : null;
  if (!cluster) return "has no current context/cluster";
  const embedded = ["token", "password", "keyData", "keyFile", "authProvider"].filter((f) => user && (user as Record<string, unknown>)[f]);
  if (embedded.length > 0 || /\b(token|tokenFile|client-key-data|client-key|password)\s*:/.test(text)) {
    return `embeds a credential (${embedded.join(", ") || "token/key/password"}): it is stored in state and used by a later delete, when it would be stale. Use an exec kubeconfig with gke-gcloud-auth-plugin (components/kubeconfig.ts)`;
  }
  const host = (() => {
    try {
      return new URL(cluster.server).hostname;
    } catch {
      return "";
    }
  })();
  const loopback = host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1";
  if (!user?.exec && !loopback) {
    return "has no exec credential plugin: use an exec kubeconfig with gke-gcloud-auth-plugin (components/kubeconfig.ts)";
  }
  return undefined;
}

/**
 * Loads the engine from the bundle with a minimal CommonJS loader: relative requires come from the
 * bundle, everything else from the host's `require` (the project's node_modules).
 */
function loadEngine<T = EngineExports>(bundle: EngineBundle, hostRequire: (id: string) => unknown, entry: string = bundle.entry): T {
  const cache: Record<string, { exports: unknown }> = {};
  const load = (key: string): unknown => {
    if (cache[key]) return cache[key].exports;
    const module: { exports: unknown } = { exports: {} };
    cache[key] = module;
    const localRequire = (spec: string) => {
      if (spec.startsWith("./") || spec.startsWith("../")) {
        const target = bundle.links[key][spec];
        if (!target) throw new Error(`PoolDrainer engine bundle: ${key} requires ${spec}, which is not in the bundle`);
        return load(target);
      }
      return hostRequire(spec);
    };
    const dir = key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : ".";
    const fn = new Function("exports", "require", "module", "__filename", "__dirname", `${bundle.files[key]}\n//# sourceURL=nodepool-rotation/${key}`);
    fn(module.exports, localRequire, module, key, dir);
    return module.exports;
  };
  // A checkout bundles the TypeScript sources (components/contracts.ts), the installed package its
  // compiled modules (components/contracts.js): a module named by its source path is found in either.
  const key = [entry, entry.replace(/\.ts$/, ".js")].find((k) => bundle.files[k] !== undefined);
  if (key === undefined) throw new Error(`PoolDrainer engine bundle: ${entry} is not in the bundle`);
  return load(key) as T; // module text we transpiled ourselves: the entry's exports (index.ts: EngineExports)
}

/**
 * The operator-facing error of a failed drain: what blocked, that the old pool was kept and whether
 * its nodes are schedulable again, and how to retry. Never includes the kubeconfig. `e` is the
 * engine's DrainError (or any error from before the drain started); `interrupted` names the signal
 * that stopped it. Exported so tests/docs/troubleshooting.spec.ts can quote its wording from real
 * engine failures; the provider calls it inside the serialized delete.
 */
export function drainFailureMessage(pool: string, cluster: string, e: unknown, availability: string[] = [], interrupted?: string): string {
  // Errors are recognised by name (rotation/errors.ts): this runs in the provider host, where the
  // engine is the stored bundle's copy and its classes are not the ones this module could import.
  const err = (e ?? {}) as { name?: string; message?: string; reason?: string; detail?: string; blockingPdbs?: string[]; uncordoned?: string[]; stillCordoned?: string[]; advice?: unknown };
  const isDrainError = err.name === "DrainError" && Array.isArray(err.uncordoned) && typeof err.detail === "string";
  const hardStop = err.name === "DrainHardStopError";
  const detail = isDrainError ? String(err.detail).trim() : String(err.message ?? e).trim();
  const lines = [`PoolDrainer: could not drain node pool "${pool}" (cluster ${cluster})${isDrainError && err.reason ? ` [${err.reason}]` : ""}: ${detail}`];
  if (interrupted) lines.push(`The drain was INTERRUPTED by ${interrupted}: \`pulumi\` was interrupted a second time (Ctrl-C) or terminated, and stops this process 5 s later.`);
  if (err.blockingPdbs?.length) lines.push(`Blocked by PodDisruptionBudget(s): ${err.blockingPdbs.join(", ")}.`);
  const stillCordoned: string[] = isDrainError ? err.stillCordoned ?? [] : [];
  const uncordoned: string[] = err.uncordoned ?? [];
  let state: string;
  if (hardStop) {
    state = `but the drain did not stop at its deadline: nodes may still be cordoned; check \`kubectl get nodes -l cloud.google.com/gke-nodepool=${pool}\` and uncordon them.`;
  } else if (!isDrainError) state = "and this drainer changed nothing in the cluster (the drain did not start).";
  else if (stillCordoned.length === 0) {
    state = uncordoned.length
      ? `and its nodes were uncordoned (${uncordoned.length}: ${uncordoned.join(", ")}), so it keeps serving.`
      : "and none of its nodes was left cordoned, so it keeps serving.";
  } else {
    state = `but ${stillCordoned.length} node(s) could NOT be uncordoned: run \`kubectl uncordon ${stillCordoned.join(" ")}\`.`;
  }
  lines.push(`The old pool was KEPT (Pulumi does not delete a pool whose drainer failed to delete) ${state}`);
  if (availability.length) lines.push("Workload availability while the drain ran:", ...availability);
  lines.push(
    typeof err.advice === "string"
      ? err.advice
      : !isDrainError && !hardStop
        ? // Nothing was drained: the cluster could not be reached, authenticated to, or read.
          "Fix access from where `pulumi up` runs: credentials (`gcloud auth list`; in CI the workload identity or service-account step before `pulumi up`), " +
          "gke-gcloud-auth-plugin on PATH, the network path to the control plane (private endpoint, authorized networks, VPN), " +
          "Kubernetes RBAC (`kubectl auth can-i --list`); then run `pulumi up` again: it retries this drain and then deletes the old pool."
        : interrupted
        ? "Run `pulumi up` again when ready: it retries this drain and then deletes the old pool (Pulumi may first warn about the interrupted delete as a pending operation)."
        : // The fix depends on the blocker (a PDB's form decides whether scaling up helps: rotation/advice.ts); the engine's text above names it.
          `Fix the blocker named above (\`npm run rotation -- plan --kubeconfig PATH --pool ${pool}\` lists each blocker with its fix), then run \`pulumi up\` again: it retries this drain and then deletes the old pool.`,
  );
  return lines.join("\n");
}

/**
 * One source of drain options for a delete, lowest precedence first: the options stored at the last
 * `pulumi up` (state), the ConfigMap override in the cluster, the environment override.
 */
interface OptionLayer {
  /** Where the options came from, as printed on stderr. */
  source: string;
  /** The options of this source (undefined: the source is absent or names other pools). */
  options: Record<string, unknown> | undefined;
}

/** Names of the two override sources (docs/drainer.md "Overriding a stuck drain's options"). */
function overrideSources(): { env: string; namespace: string; configMap: string; key: string } {
  return { env: "NODEPOOL_ROTATION_DRAIN_OVERRIDE", namespace: "kube-system", configMap: "nodepool-rotation-drain", key: "override" };
}

/**
 * Parses and validates an override: a JSON object of drain options (the same keys and rules as
 * stack config `nodepool-rotation:drain`) plus an optional `pools` list limiting it to those pools.
 * Returns the options for `pool`, or undefined when `pools` names other pools. Throws one error
 * naming the source and every bad field (nothing has been changed yet); its `advice` replaces the
 * retry advice of the failure message.
 */
function parseDrainOverride(text: string, source: string, pool: string, engine: () => EngineExports): Record<string, unknown> | undefined {
  const fail = (problem: string) =>
    new (engine().AdvisedError)(
      `invalid drain override in ${source}: ${problem}`,
      `Fix or remove the override (${source}), then run \`pulumi up\` again. Example: {"deadlineMinutes":90,"pools":["${pool}"]}.`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw fail(`not JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw fail("must be a JSON object of drain options");
  const { pools, ...options } = value as Record<string, unknown>;
  const failures = validateDrainOptions(options, engine());
  if (pools !== undefined && (!Array.isArray(pools) || pools.length === 0 || !pools.every((p: unknown) => typeof p === "string" && p !== ""))) {
    failures.push({ property: "pools", reason: `must be a non-empty list of node pool names, got ${JSON.stringify(pools)}` });
  }
  if (failures.length > 0) throw fail(failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
  return pools === undefined || (pools as string[]).includes(pool) ? options : undefined;
}

/** Merges option layers (later wins, key by key) and records where each effective value came from. */
function mergeDrainOptions(layers: OptionLayer[]): { options: DrainerOptions; from: Record<string, string> } {
  const options: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.options ?? {})) {
      if (value === undefined) continue;
      options[key] = value;
      from[key] = layer.source;
    }
  }
  return { options: options as DrainerOptions, from };
}

/** "deadlineMinutes=90 (env …), concurrency=10 (stored …)": every option a drain runs with and its source. */
function describeDrainOptions(merged: { options: DrainerOptions; from: Record<string, string> }): string {
  const parts = Object.keys(merged.options)
    .sort()
    .map((key) => `${key}=${JSON.stringify((merged.options as Record<string, unknown>)[key])} (${merged.from[key]})`);
  if (merged.options.deadlineMinutes === undefined) parts.unshift("deadlineMinutes=60 (default)");
  return `${parts.join(", ")}; other options: engine defaults`;
}

/**
 * Reads the ConfigMap override (`data.override`). 404 (no ConfigMap, or no such key): none. Any other
 * failure is thrown (the delete fails before anything changes): a drain must not run with options
 * other than the ones the operator set.
 */
async function readConfigMapOverride(
  core: CoreV1Api,
  pool: string,
  engine: () => EngineExports,
  describe: (e: unknown) => string,
  log: (line: string) => void,
): Promise<OptionLayer> {
  const { namespace, configMap, key } = overrideSources();
  const source = `ConfigMap ${namespace}/${configMap}`;
  let cm: V1ConfigMap;
  try {
    cm = await core.readNamespacedConfigMap({ name: configMap, namespace });
  } catch (e) {
    if ((e as { code?: unknown } | undefined)?.code === 404) return { source, options: undefined };
    throw new Error(`could not reach or authenticate to the cluster: ${describe(e)} ${firstRequestNote()}`);
  }
  const text = cm?.data?.[key];
  if (text === undefined || text.trim() === "") return { source, options: undefined };
  const options = parseDrainOverride(text, `${source} (key ${key})`, pool, engine);
  if (!options) log(`${source} (key ${key}) is set but its "pools" do not include ${pool}: not applied to this drain`);
  return { source, options };
}

/**
 * What the drain's first request is, for access failures: it reads the optional override ConfigMap,
 * so an unreachable cluster, a missing auth plugin or an RBAC refusal shows up there first.
 */
function firstRequestNote(): string {
  const { namespace, configMap } = overrideSources();
  return `(the drain's first request, a read of its optional override ConfigMap ${namespace}/${configMap}, failed; that ConfigMap need not exist)`;
}

/**
 * Rejects with `timeoutMessage(seconds)` after `ms`, or with the abort reason when `signal` aborts; otherwise settles
 * like `p`. Used for the requests made before the engine runs (they are not tied to the signal).
 */
async function bounded<T>(p: Promise<T>, ms: number, timeoutMessage: (seconds: number) => string, signal: AbortSignal): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(timeoutMessage(Math.round(ms / 1000)))), ms);
        onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * SIGINT/SIGTERM while a delete runs. On a second Ctrl-C or SIGTERM the engine sends SIGINT to the
 * host's process group and SIGKILL 5 s later (pulumi/pulumi sdk/go/common/resource/plugin/plugin.go
 * `ExecPlugin`, tag v3.259.0-14-g1b5949891b: line 598 `RegisterProcessGroup`, 648
 * `cmdutil.InterruptChildren(pid)`, 651 `context.WithTimeout(…, 5*time.Second)`, 661
 * `cmdutil.KillChildren(pid)`; pkg/backend/cancellation_scope.go:113: the second signal calls
 * `cancelSource.Terminate()`). Node's default for SIGINT/SIGTERM is to exit at once, and the host
 * installs no handler of its own, so a listener is installed for the delete's duration: it calls
 * `onSignal` (which aborts the drain: the engine stops evicting and uncordons what it cordoned).
 * `release()` removes it; if a signal arrived, the host is then let go the way the engine asked —
 * the same signal is re-raised once the delete's error has been answered (250 ms) and no other
 * delete of this host still holds a listener.
 */
function trapTermination(onSignal: (sig: NodeJS.Signals) => void): { release(): void; received(): NodeJS.Signals | undefined } {
  let received: NodeJS.Signals | undefined;
  const listener = (sig: NodeJS.Signals) => {
    if (received) return;
    received = sig;
    onSignal(sig);
  };
  process.on("SIGINT", listener);
  process.on("SIGTERM", listener);
  return {
    received: () => received,
    release() {
      process.removeListener("SIGINT", listener);
      process.removeListener("SIGTERM", listener);
      const sig = received;
      if (sig) {
        setTimeout(() => {
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        }, 250);
      }
    },
  };
}

/**
 * delete(): drain the OLD pool with the engine, with our own deadline, progress on stderr.
 * Options: stored (state) < ConfigMap kube-system/nodepool-rotation-drain < env
 * NODEPOOL_ROTATION_DRAIN_OVERRIDE, each override validated before anything changes; the options
 * used and their sources are printed. A pool with no nodes left (deleted or scaled to zero outside
 * Pulumi) is done at once; so is a drain whose options say `skip: true` (no request at all when the
 * stored options or the environment say so). SIGINT/SIGTERM stop the drain and fail closed (see
 * trapTermination). On failure, throws drainFailureMessage(...).
 */
async function drainPoolBeforeDelete(props: DrainerState, bundle: EngineBundle): Promise<void> {
  const pool = props.poolName;
  const started = Date.now();
  const enginePrefix = `[${pool}] `;
  const log = (line: string) =>
    process.stderr.write(`[PoolDrainer ${pool}] ${line.startsWith(enginePrefix) ? line.slice(enginePrefix.length) : line}\n`);
  const names = overrideSources();
  let engine: EngineExports | undefined;
  const loaded = (): EngineExports => (engine ??= loadEngine<EngineExports>(bundle, require));

  // The environment override is validated before any request; with the stored options it decides skip.
  const stored: OptionLayer = { source: "stored at the last `pulumi up`", options: { ...props.options } };
  const envSource = `env ${names.env}`;
  const envText = process.env[names.env];
  let env: OptionLayer = { source: envSource, options: undefined };
  if (envText !== undefined && envText.trim() !== "") {
    try {
      env = { source: envSource, options: parseDrainOverride(envText, `environment variable ${names.env}`, pool, loaded) };
    } catch (e) {
      throw new Error(drainFailureMessage(pool, props.cluster, e));
    }
    if (!env.options) log(`${names.env} is set but its "pools" do not include ${pool}: not applied to this drain`);
  }
  const early = mergeDrainOptions([stored, env]);
  if (early.options.skip === true) {
    const why = early.from.skip === stored.source ? "nodepool-rotation:drain.skip is true" : `skip: true from ${early.from.skip}`;
    log(`drain SKIPPED (${why}): the pool is deleted without honouring PodDisruptionBudgets`);
    return;
  }

  const controller = new AbortController();
  let signalTimer: ReturnType<typeof setTimeout> | undefined;
  const trap = trapTermination((sig) => {
    log(`received ${sig} (pulumi was interrupted a second time, or terminated; it kills this process in 5 s): stopping the drain and uncordoning the nodes it cordoned`);
    controller.abort(new Error(`interrupted by ${sig}`));
    signalTimer = setTimeout(
      () => log(`still stopping 4 s after ${sig}: if this process is killed now, check \`kubectl get nodes -l cloud.google.com/gke-nodepool=${pool}\` and uncordon them`),
      4000,
    );
  });
  let describe = (err: unknown): string => String((err as { message?: unknown } | undefined)?.message ?? err);
  let backstop: ReturnType<typeof setTimeout> | undefined;
  let hardTimer: ReturnType<typeof setTimeout> | undefined;
  try {
    const k8s = require("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromString(props.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const eng = loaded();
    // The engine's one wording of API failures (rotation/client.ts errorText: Status message and
    // HTTP code, a missing auth plugin with the kubeconfig's installHint).
    if (typeof eng.errorText === "function") describe = (err: unknown) => eng.errorText(err, kc);
    // Requests before the drain are bounded by min(deadline, 2 min): a server that never answers
    // fails the delete then, not at the backstop an hour later, blaming the drain.
    const firstLimitMs = (deadlineMinutes: unknown) => Math.min(typeof deadlineMinutes === "number" ? deadlineMinutes * 60_000 : 60 * 60_000, 120_000);
    const configMap = await bounded(
      readConfigMapOverride(core, pool, loaded, describe, log),
      firstLimitMs(early.options.deadlineMinutes),
      (seconds) => `could not reach the cluster: no answer within ${seconds} s ${firstRequestNote().replace(/, failed;/, ", got none;")}`,
      controller.signal,
    );
    const merged = mergeDrainOptions([stored, configMap, env]);
    const options: DrainerOptions = merged.options;
    log(`drain options: ${describeDrainOptions(merged)}`);
    if (options.skip === true) {
      log(`drain SKIPPED (skip: true from ${merged.from.skip}): the pool is deleted without honouring PodDisruptionBudgets`);
      return;
    }
    engine = loaded();
    // One mapping of stack drain settings to engine options, shared with the pool guard (rotation/settings.ts).
    const drainOptions = engine.drainOptionsFor(pool, props.role, options);
    const deadlineMs: number = drainOptions.deadlineMs;
    const deadlineMinutes = deadlineMs / 60_000;
    // The engine stops at deadlineMs and fails closed (uncordons). Backstops, never expected to fire:
    // abort its signal 15 s later; give up waiting 60 s later, so delete() always returns.
    backstop = setTimeout(() => controller.abort(), deadlineMs + 15_000);
    const hardStop = new Promise<never>((_, reject) => {
      hardTimer = setTimeout(
        () => reject(new (loaded().DrainHardStopError)(`the drain was still running ${Math.round((deadlineMs + 60_000) / 1000)} s after it started`)),
        deadlineMs + 60_000,
      );
    });
    log(`draining node pool ${pool} of cluster ${props.cluster} before Pulumi deletes it (deadline ${deadlineMinutes} min)`);
    // "No nodes" only from a list that succeeded: any failure to list fails the delete.
    const nodes = await bounded(
      // Provider-side code cannot import contracts.ts: GKE's pool label (contracts GKE_POOL_LABEL) is spelled here.
      (core.listNode({ labelSelector: `cloud.google.com/gke-nodepool=${pool}` }) as Promise<V1NodeList>).catch((err: unknown) => {
        throw new Error(`could not list the pool's nodes: ${describe(err)}`);
      }),
      firstLimitMs(deadlineMinutes),
      (seconds) => `could not reach the cluster: listing the pool's nodes got no answer within ${seconds} s`,
      controller.signal,
    );
    if (nodes.items.length === 0) {
      log(`no nodes labelled cloud.google.com/gke-nodepool=${pool} are left: nothing to drain`);
      return;
    }
    const drain = engine.drainPool(kc, { ...drainOptions, log, signal: controller.signal });
    const summary = await Promise.race([drain, hardStop]);
    log(
      `drained: ${Array.isArray(summary?.nodes) ? summary.nodes.length : 0} node(s), ${summary?.evicted ?? 0} pod(s) evicted in ${Math.round((Date.now() - started) / 1000)} s; Pulumi may now delete the pool`,
    );
    if (typeof engine.formatAvailability === "function" && Array.isArray(summary?.availability)) for (const line of engine.formatAvailability(summary.availability)) log(line);
  } catch (e) {
    // The host prints the error (message and stack) to stderr itself, and Pulumi shows the message.
    // A DrainError carries the drain's summary (rotation/errors.ts); anything else may be thrown here.
    const failed = e as { summary?: Partial<EngineModule.DrainSummary> } | undefined;
    const availability = typeof engine?.formatAvailability === "function" && failed?.summary?.availability?.length ? engine.formatAvailability(failed.summary.availability) : [];
    throw new Error(drainFailureMessage(pool, props.cluster, e, availability, trap.received()));
  } finally {
    clearTimeout(backstop);
    clearTimeout(hardTimer);
    clearTimeout(signalTimer);
    trap.release();
  }
}

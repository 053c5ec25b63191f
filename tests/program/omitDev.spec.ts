/**
 * `npm ci --omit=dev` followed by loading the program (issue 12.8): `pulumi up` needs TypeScript at
 * program time (the language host's ts-node compiles index.ts with the project's `typescript`, and
 * the PoolDrainer transpiles its engine bundle with it), so it must be a dependency.
 *
 * The install is emulated without touching the real node_modules: a temporary project holds the
 * sources and a node_modules with exactly the lockfile entries `npm ci --omit=dev` installs (every
 * entry but those flagged `dev`; npm keeps `devOptional` ones unless optional deps are omitted too),
 * as symlinks to the installed packages (`--preserve-symlinks`, so nothing resolves back into the
 * full tree). A child process then loads index.ts the way @pulumi/pulumi's cmd/run does (tsutils
 * `typeScriptRequireStrings`, ts-node registered with the project's tsconfig) under mocks.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./harness";

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
type LockEntry = { version?: string; dev?: boolean; devOptional?: boolean; optional?: boolean };
const entries = lock.packages as Record<string, LockEntry>;

/** Loads the program from `process.argv[2]` like the Pulumi language host, under mocks; prints what it saw. */
const BOOT = String.raw`
const path = require("path");
const root = process.argv[2];
const from = (m) => require(require.resolve(m, { paths: [root] }));
const tsutils = from("@pulumi/pulumi/tsutils");
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const tsConfigPath = path.join(root, "tsconfig.json");
const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsConfigPath);
require(tsnodeRequire).register({ compiler: typescriptRequire, transpileOnly: compilerOptions.noCheck, project: tsConfigPath, skipProject: false, compilerOptions: {} });
const pulumi = from("@pulumi/pulumi");
const settings = from("@pulumi/pulumi/runtime/settings");
const YAML = from("yaml");
const config = YAML.parse(require("fs").readFileSync(path.join(root, "Pulumi.staging.yaml"), "utf8")).config;
const flat = {};
for (const [k, v] of Object.entries(config)) flat[k] = typeof v === "string" ? v : JSON.stringify(v);
const versions = config["nodepool-rotation:pools"].map((p) => p.version);
const types = [];
(async () => {
  pulumi.runtime.setAllConfig(flat);
  await pulumi.runtime.setMocks({
    newResource: (a) => (types.push(a.type), { id: a.name + "_id", state: { ...a.inputs, endpoint: "34.85.1.2", masterAuth: { clusterCaCertificate: "TU9DSw==" } } }),
    call: (a) => {
      if (a.token === "gcp:container/getCluster:getCluster") throw Object.assign(new Error("x"), { details: "projects/p/locations/l/clusters/c not found" });
      return { ...a.inputs, validNodeVersions: versions };
    },
  }, "nodepool-rotation", "staging", false);
  const program = require(path.join(root, "index.ts"));
  await new Promise((res) => program.pools.apply(res));
  await settings.waitForRPCs();
  process.stdout.write(JSON.stringify({ types, typescript: require.resolve(typescriptRequire), tsnode: tsnodeRequire, modules: Object.keys(require.cache) }));
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

/** Top-level lockfile entries npm ci --omit=dev installs. */
function omitDevEntries(): string[] {
  return Object.entries(entries)
    .filter(([k, v]) => k.startsWith("node_modules/") && !k.slice("node_modules/".length).includes("/node_modules/") && !v.dev)
    .map(([k]) => k);
}

/** The lockfile entry a loaded file belongs to (innermost node_modules/<name>), relative to `root`. */
function entryOf(root: string, file: string): string | undefined {
  const rel = path.relative(root, file).split(path.sep).join("/");
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(rel);
  return m?.[1];
}

describe("program: npm ci --omit=dev, then load the program (issue 12.8)", () => {
  let dir: string;
  let seen: { types: string[]; typescript: string; tsnode: string; modules: string[] };

  before(function () {
    this.timeout(120_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "npr-omit-dev-"));
    for (const f of ["index.ts", "tsconfig.json", "package.json", "package-lock.json", "Pulumi.yaml", "Pulumi.staging.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    fs.cpSync(path.join(ROOT, "components"), path.join(dir, "components"), { recursive: true });
    for (const e of omitDevEntries()) {
      fs.mkdirSync(path.dirname(path.join(dir, e)), { recursive: true });
      fs.symlinkSync(path.join(ROOT, e), path.join(dir, e), "dir");
    }
    fs.writeFileSync(path.join(dir, "boot.js"), BOOT);
    const r = spawnSync(process.execPath, ["--preserve-symlinks", "--preserve-symlinks-main", path.join(dir, "boot.js"), dir], { cwd: dir, encoding: "utf8", timeout: 110_000 });
    assert.equal(r.status, 0, `the program did not load without dev dependencies:\n${r.stderr}`);
    seen = JSON.parse(r.stdout);
  });

  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it("typescript is a dependency (exact version), not a dev dependency, in package.json and the lockfile", () => {
    assert.equal(pkg.dependencies.typescript, "5.9.3");
    assert.equal(pkg.devDependencies?.typescript, undefined);
    assert.equal(lock.packages[""].dependencies.typescript, "5.9.3");
    const ts = entries["node_modules/typescript"];
    assert.equal(ts.version, "5.9.3");
    assert.ok(!ts.dev && !ts.devOptional, "lockfile flags typescript as a production package");
  });

  it("the program loads and registers the cluster, both pools and their drainers (drainer bundle transpiled with the installed typescript)", () => {
    assert.equal(seen.types.filter((t) => t === "gcp:container/cluster:Cluster").length, 1);
    assert.equal(seen.types.filter((t) => t === "gcp:container/nodePool:NodePool").length, 2);
    assert.equal(seen.types.filter((t) => t === "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer").length, 2);
    assert.equal(seen.typescript, path.join(dir, "node_modules/typescript/lib/typescript.js"), "the project's typescript, not @pulumi/pulumi's vendored 3.8");
  });

  it("every package the program loaded is a production one (reachable from dependencies, not only from devDependencies)", () => {
    const host = (e: string) => /node_modules\/(ts-node|@cspotcode\/source-map-support|@jridgewell\/[^/]+|@tsconfig\/[^/]+|acorn|acorn-walk|arg|create-require|make-error|v8-compile-cache-lib|yn|diff)$/.test(e);
    const loaded = new Set(seen.modules.map((m) => entryOf(dir, m)).filter((e): e is string => e !== undefined));
    assert.ok(loaded.has("node_modules/@pulumi/gcp") && loaded.has("node_modules/typescript"));
    const devOnly = [...loaded].filter((e) => !host(e) && (entries[e]?.dev || entries[e]?.devOptional));
    assert.deepEqual(devOnly, [], "loaded by the program but installed only for development");
  });
});

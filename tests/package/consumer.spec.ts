/**
 * The components used from a Pulumi project of one's own, as docs/use-as-a-package.md says:
 *  1. `npm pack` in this checkout (its `prepack` builds dist/), the tarball extracted into a separate
 *     temporary project's node_modules/nodepool-rotation, exactly the files npm installs from it; the
 *     project's other dependencies are this checkout's installed packages, linked (offline; the same
 *     tree a hoisted `npm install` of the same versions gives, one copy of @pulumi/pulumi);
 *  2. the page's minimal program, copied from the page, compiled WITH type-checking by ts-node against
 *     a Pulumi-template tsconfig (moduleResolution node: types through `typesVersions`), and run under
 *     pulumi.runtime.setMocks in a child process started in that project;
 *  3. the PoolDrainer code the program registered (its `__provider` text) run in the Pulumi SDK's real
 *     dynamic-provider host started in that project: Delete drains a pool on the simulator.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { POOL_DRAINER_TYPE } from "../../components/poolDrainer";
import { POOL_GUARD_HOOK } from "../../components/poolGuard";
import { poolName } from "../../components/naming";
import { POOL_DEFAULTS } from "../../components/config";
import { ROOT } from "../docs/markdown";
import { startFreshHost, stopAllHosts } from "../drainer/host";
import { deployment, startPoolSim, PoolSim } from "../rotation/sim";

const PAGE = path.join(ROOT, "docs", "use-as-a-package.md");

/** The page's minimal program: the ```ts block that starts with `// index.ts`. */
function minimalProgram(): string {
  const blocks = [...fs.readFileSync(PAGE, "utf8").matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  const program = blocks.find((b) => b.startsWith("// index.ts\n"));
  assert.ok(program, "docs/use-as-a-package.md has a ```ts block starting with // index.ts");
  return program;
}

/**
 * Runs in the consumer project: mocks (answering getCluster as GKE would), records every registered
 * resource and its beforeDelete hook names, loads index.ts through ts-node (type-checked), prints JSON.
 */
const RUNNER = String.raw`
const pulumi = require("@pulumi/pulumi");
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const resources = [];
const original = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req, cb) {
  resources.push({ type: req.getType(), name: req.getName(), beforeDelete: req.getHooks() ? req.getHooks().getBeforeDeleteList() : [] });
  return original.call(this, req, cb);
};
const inputs = {};
pulumi.runtime.setMocks({
  newResource: (a) => { inputs[a.name] = a.inputs; return { id: a.name + "-id", state: a.inputs }; },
  call: (a) => a.token === "gcp:container/getCluster:getCluster"
    ? { ...a.inputs, endpoint: "203.0.113.10", masterAuths: [{ clusterCaCertificate: "Q0EK" }] }
    : a.inputs,
}, "acme-infra", "staging", false);
require("ts-node").register({ project: "tsconfig.json", transpileOnly: false });
const program = require("./index.ts");
const deadline = Date.now() + 120000;
(function wait() {
  const drainer = resources.find((r) => r.type.endsWith(":PoolDrainer"));
  if (drainer && inputs[drainer.name]) {
    program.poolName.apply((poolName) => {
      // Exit only once the write is flushed: stdout to a pipe is asynchronous, and a large document
      // written just before process.exit() arrives truncated.
      process.stdout.write(JSON.stringify({ resources, inputs, poolName }), () => process.exit(0));
    });
    return;
  }
  if (Date.now() > deadline) { console.error("no PoolDrainer registered within 120 s"); process.exit(1); }
  setTimeout(wait, 50);
})();
`;

describe("package: the components from a separate Pulumi project (npm pack, installed offline, under mocks)", function () {
  this.timeout(300_000);
  let dir: string;
  let project: string;
  let tarball: string;
  let run: { resources: { type: string; name: string; beforeDelete: string[] }[]; inputs: Record<string, any>; poolName: string };
  let s: PoolSim | undefined;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodepool-rotation-consumer-"));
    // 1. Pack (prepack builds dist/) and install the tarball's files as npm would.
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const packed = JSON.parse(execFileSync(npm, ["pack", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
    tarball = path.join(dir, packed[0].filename);
    project = path.join(dir, "acme-infra");
    const installed = path.join(project, "node_modules", "nodepool-rotation");
    fs.mkdirSync(installed, { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
      if (entry.startsWith(".") || entry === "nodepool-rotation") continue;
      fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(project, "node_modules", entry), "dir");
    }
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "acme-infra", main: "index.ts", dependencies: { "nodepool-rotation": `file:${path.basename(tarball)}` } }, null, 2));
    fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: acme-infra\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    // The tsconfig of Pulumi's TypeScript template.
    fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, outDir: "bin", target: "es2020", module: "commonjs", moduleResolution: "node", sourceMap: true, experimentalDecorators: true, pretty: true, noFallthroughCasesInSwitch: true, noImplicitReturns: true, forceConsistentCasingInFileNames: true },
      files: ["index.ts"],
    }, null, 2));
    fs.writeFileSync(path.join(project, "index.ts"), minimalProgram());
    fs.writeFileSync(path.join(project, "run-under-mocks.js"), RUNNER);
    // 2. The program under mocks, in its own project.
    const env = { ...process.env };
    for (const k of ["NODE_OPTIONS", "NODE_PATH", "TS_NODE_PROJECT", "TS_NODE_TRANSPILE_ONLY", "TS_NODE_FILES"]) delete env[k];
    const r = spawnSync(process.execPath, ["run-under-mocks.js"], { cwd: project, env, encoding: "utf8", timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, `the program failed under mocks:\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
    run = JSON.parse(r.stdout);
  });

  after(async () => {
    await stopAllHosts();
    await s?.sim.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the tarball holds the compiled components, their types and the licence, not the TypeScript sources or the tests", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
    for (const f of ["package/dist/components/index.js", "package/dist/components/index.d.ts", "package/dist/components/rotation/index.js", "package/dist/components/rotation/bin.js", "package/LICENSE", "package/package.json"]) {
      assert.ok(files.includes(f), `${f} in the tarball`);
    }
    // npm always packs `main` (index.ts, this repository's own program, which `pulumi up` here loads
    // through it); it is not exported, so a consumer cannot load it. No other source ships.
    assert.deepEqual(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts")), ["package/index.ts"], "no TypeScript sources but main");
    assert.deepEqual(files.filter((f) => f.startsWith("package/tests/") || f.startsWith("package/node_modules/")), []);
    const pkg = JSON.parse(fs.readFileSync(path.join(project, "node_modules", "nodepool-rotation", "package.json"), "utf8"));
    assert.equal(pkg.private, undefined, "not private");
    assert.equal(pkg.license, "Apache-2.0");
  });

  it("this repository's own program stays index.ts for Pulumi: no \".\" export, main index.ts", () => {
    // @pulumi/pulumi cmd/run/run.js: without `main` in Pulumi.yaml the nodejs host runs exports["."]
    // when package.json has one, else `main`; a "." export would make `pulumi up` here run the library.
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    assert.equal(pkg.exports["."], undefined);
    assert.equal(pkg.main, "index.ts");
    assert.deepEqual(Object.keys(pkg.exports).sort(), ["./components", "./package.json", "./rotation"]);
  });

  it("the page's program registers a versioned NodePool with the pool guard hook, and its PoolDrainer", () => {
    const app = { ...POOL_DEFAULTS, oauthScopes: [...POOL_DEFAULTS.oauthScopes], labels: { team: "game" }, taints: [], role: "app", version: "1.35.2-gke.1269000", rotatedOn: "2026-11-20", machineType: "e2-standard-4", minNodes: 1, maxNodes: 3 };
    const expected = poolName(app, "staging");
    const nodePool = run.resources.find((r) => r.type === "gcp:container/nodePool:NodePool");
    assert.ok(nodePool, JSON.stringify(run.resources.map((r) => r.type)));
    assert.equal(run.inputs[nodePool.name].name, expected, "the same versioned name this checkout's naming gives");
    assert.equal(run.poolName, expected);
    assert.deepEqual(nodePool.beforeDelete, [POOL_GUARD_HOOK]);
    const drainer = run.resources.find((r) => r.type === POOL_DRAINER_TYPE);
    assert.ok(drainer, "PoolDrainer registered under its type token");
    const inputs = run.inputs[drainer.name];
    assert.equal(inputs.poolName, expected);
    assert.equal(inputs.role, "app");
    assert.equal(inputs.cluster, "acme-game-staging/asia-northeast1/game-staging");
    assert.match(inputs.codeVersion, /^[0-9a-f]{16}$/);
    assert.equal(typeof inputs.__provider, "string");
    assert.ok(!inputs.__provider.includes(project) && !inputs.__provider.includes("node_modules/nodepool-rotation"), "the stored drain code does not point back into the install");
  });

  it("that PoolDrainer's stored code drains a pool on the simulator, run by the real dynamic-provider host in the consumer project", async () => {
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { minAvailable: 3 }) });
    const drainer = run.resources.find((r) => r.type === POOL_DRAINER_TYPE)!;
    const unwrap = (v: any) => (v && typeof v === "object" && "value" in v && Object.keys(v).length === 2 ? v.value : v);
    const stored = Object.fromEntries(Object.entries(run.inputs[drainer.name]).map(([k, v]) => [k, unwrap(v)]));
    // The same code, pointed at the simulator's old pool (what a rotation's delete receives).
    const props = { ...stored, poolName: "old", kubeconfig: s.sim.kubeconfig, options: { deadlineMinutes: 1 } };
    const host = await startFreshHost({ cwd: project });
    const checked = await host.call("check", {}, props);
    assert.ok(checked.ok && checked.result.failures.length === 0, JSON.stringify(checked));
    const created = await host.call("create", checked.result.inputs);
    assert.ok(created.ok, !created.ok ? created.message : "");
    const deleted = await host.call("delete", created.result.id, created.result.outs);
    assert.ok(deleted.ok, !deleted.ok ? deleted.message : "");
    const onOld = (await s.view.podsOn(s.oldNodes)).filter((p) => !p.metadata?.deletionTimestamp);
    assert.deepEqual(onOld.map((p) => p.metadata.name), [], "nothing left on the old pool");
    const report = s.sim.report();
    assert.ok(report.evictions >= 4, `evictions: ${report.evictions}`);
    assert.equal(report.workloads["shop/Deployment/web"].msBelowFloor, 0);
    assert.equal(report.podsDeletedWithoutEviction, 0);
    assert.match(host.stderr(), /\[PoolDrainer old\] draining node pool/);
  });
});

/**
 * PoolDrainer as Pulumi registers it and as the REAL dynamic-provider host runs it: the type token,
 * the inputs (kubeconfig secret), and the serialized `__provider` text served by
 * `@pulumi/pulumi/cmd/dynamic-provider` over gRPC (tests/drainer/host.ts) answering
 * Check/Diff/Create/Update/Delete as the engine calls them — in the project directory, and once
 * from a checkout in another directory.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CREDENTIAL_PATTERNS, execKubeconfig, installMocks, isSecret, plainInputs, Registered } from "./capture";
import { startFreshHost, stopAllHosts } from "./host";
import { Simulator, startSimulator } from "../simulator";
import { codeVersionOf, engineBundle, makeDrainerProvider, POOL_DRAINER_TYPE, PoolDrainer, requiredPackageVersions } from "../../components/poolDrainer";

const REPO = path.resolve(__dirname, "..", "..");

describe("PoolDrainer registration and serialized provider (real dynamic-provider host over gRPC)", function () {
  this.timeout(60_000);
  let reg: Registered;
  let text: string;
  let news: Record<string, any>;

  before(async () => {
    const mocks = installMocks();
    new PoolDrainer("drainer-app-v1", {
      poolName: "app-v1-31-4-gke-1100-20261120-ab12c",
      role: "app",
      cluster: "acme-game-staging/asia-northeast1/game-staging",
      kubeconfig: execKubeconfig(),
      options: { deadlineMinutes: 30, concurrency: 10 },
    });
    reg = await mocks.registered("drainer-app-v1");
    text = reg.inputs.__provider;
    news = plainInputs(reg.inputs);
  });
  afterEach(stopAllHosts); // every host process group started by a test is killed after it

  it("registers the documented type token with the kubeconfig as a secret and a code version", () => {
    assert.equal(reg.type, POOL_DRAINER_TYPE);
    assert.equal(reg.type, "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer");
    assert.ok(isSecret(reg.inputs.kubeconfig), "kubeconfig input must be a secret");
    assert.equal(typeof text, "string");
    assert.match(text, /exports\.handler = /);
    assert.match(reg.inputs.codeVersion, /^[0-9a-f]{16}$/);
  });

  it("codeVersion is the hash of exactly the provider text the host will run and the installed client-node version", () => {
    const clientNode = JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", "@kubernetes", "client-node", "package.json"), "utf8")).version;
    const hash = crypto.createHash("sha256").update(`${text}\n@kubernetes/client-node@${clientNode}`).digest("hex").slice(0, 16);
    assert.equal(reg.inputs.codeVersion, hash);
  });

  describe("codeVersion follows the installed @kubernetes/client-node (the stored code requires it at delete time)", () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "pooldrainer-deps-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    /** A project directory whose node_modules reports client-node `version` (resolved like the host resolves it). */
    const projectWith = (version: string) => {
      const root = path.join(dir, version);
      fs.mkdirSync(path.join(root, "node_modules", "@kubernetes", "client-node"), { recursive: true });
      fs.writeFileSync(path.join(root, "node_modules", "@kubernetes", "client-node", "package.json"), JSON.stringify({ name: "@kubernetes/client-node", version }));
      return root;
    };

    it("the installed version is read from the project's node_modules; another version → another codeVersion", async () => {
      const bundle = engineBundle();
      const provider = makeDrainerProvider(bundle);
      const installed = requiredPackageVersions(bundle);
      assert.deepEqual(Object.keys(installed), ["@kubernetes/client-node"], "the engine requires no other package");
      assert.equal(await codeVersionOf(provider, installed), reg.inputs.codeVersion, "the program's codeVersion uses the installed version");
      const v140 = requiredPackageVersions(bundle, projectWith("1.4.0"));
      const v141 = requiredPackageVersions(bundle, projectWith("1.4.1"));
      assert.deepEqual(v141, { "@kubernetes/client-node": "1.4.1" });
      assert.notEqual(await codeVersionOf(provider, v141), await codeVersionOf(provider, v140), "same text, other client-node → other codeVersion (an update refreshes the stored code)");
    });

    it("a project without client-node installed is refused at program time, naming the package and `npm ci`", () => {
      const empty = path.join(dir, "empty");
      fs.mkdirSync(empty, { recursive: true });
      assert.throws(() => requiredPackageVersions(engineBundle(), empty), /@kubernetes\/client-node .* is not installed .* run `npm ci`/);
    });
  });

  describe("stale code: Delete runs the text stored at the last Create/Update", () => {
    let dir: string;
    let sim: Simulator;
    const variant = async (marker: string) => {
      // A minimal engine: what the provider calls at delete time (drainOptionsFor, drainPool).
      fs.writeFileSync(path.join(dir, "index.ts"), `export function drainOptionsFor(pool: string) { return { pool, deadlineMs: 60000 }; }\n` +
        `export async function drainPool(kc: any, opts: any) { opts.log("engine ${marker}"); return { nodes: [], evicted: 0 }; }\n`);
      const bundle = engineBundle(path.join(dir, "index.ts"), dir);
      const provider = makeDrainerProvider(bundle);
      const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
      return { text: sf.text, codeVersion: await codeVersionOf(provider, requiredPackageVersions(bundle, REPO)) };
    };
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "pooldrainer-engine-"));
      // A cluster where the pool still has a node, so delete() reaches the engine.
      sim = await startSimulator({ scenario: "apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n" });
      await sim.addPool({ name: news.poolName, nodes: 1, labels: { "nodepool-rotation/role": "app" } });
    });
    after(async () => {
      fs.rmSync(dir, { recursive: true, force: true });
      await sim?.stop();
    });

    it("same engine → same codeVersion; changed engine → new codeVersion", async () => {
      const a1 = await variant("A");
      const a2 = await variant("A");
      const b = await variant("B");
      assert.equal(a1.codeVersion, a2.codeVersion);
      assert.equal(a1.text, a2.text);
      assert.notEqual(b.codeVersion, a1.codeVersion);
    });

    it("without an update the old text drains; the codeVersion update stores the new text", async () => {
      const host = await startFreshHost();
      const a = await variant("A");
      const b = await variant("B");
      const simNews = { ...news, kubeconfig: sim.kubeconfig };
      const created = await host.call("create", { ...simNews, codeVersion: a.codeVersion, __provider: a.text });
      assert.ok(created.ok, !created.ok ? created.message : "");
      const outsA = (created as any).result.outs;
      assert.equal(outsA.__provider, a.text, "the host stores the text next to the outputs");

      // Next `pulumi up` with new code: diff runs the NEW text and asks for an in-place update.
      const newsB = { ...simNews, codeVersion: b.codeVersion, __provider: b.text };
      const d = await host.call("diff", "id", outsA, newsB);
      assert.ok(d.ok);
      assert.equal((d as any).result.changes, true);
      assert.deepEqual((d as any).result.replaces, []);
      const updated = await host.call("update", "id", outsA, newsB);
      assert.ok(updated.ok);
      const outsB = (updated as any).result.outs;
      assert.equal(outsB.__provider, b.text);
      assert.equal(outsB.codeVersion, b.codeVersion);

      const mark = host.stderr().length;
      const delA = await host.call("delete", "id", outsA);
      assert.ok(delA.ok, !delA.ok ? delA.message : "");
      assert.match(host.stderr().slice(mark), /engine A/, "state never updated: delete runs the stale code");
      assert.doesNotMatch(host.stderr().slice(mark), /engine B/);
      const mark2 = host.stderr().length;
      assert.ok((await host.call("delete", "id", outsB)).ok);
      assert.match(host.stderr().slice(mark2), /engine B/, "after the update: delete runs the refreshed code");
    });
  });

  it("codeVersion does not depend on the working directory of `pulumi up` (no spurious updates from CI)", async () => {
    const { execFile } = await import("node:child_process");
    const script = `require(${JSON.stringify(path.join(REPO, "components", "poolDrainer.ts"))}).drainerProvider().codeVersion.then((v) => process.stdout.write(v))`;
    const env: NodeJS.ProcessEnv = { ...process.env, TS_NODE_PROJECT: path.join(REPO, "tsconfig.json"), TS_NODE_TRANSPILE_ONLY: "true" };
    delete env.NODE_PATH;
    const other = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["-r", require.resolve("ts-node/register"), "-e", script], { cwd: os.tmpdir(), env }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    assert.equal(other, reg.inputs.codeVersion);
  });

  it("the text holds no credential and no absolute path of this machine", () => {
    for (const re of CREDENTIAL_PATTERNS) assert.doesNotMatch(text, re);
    for (const p of [REPO, os.homedir(), os.tmpdir() + path.sep, "/work/", process.cwd()]) {
      assert.ok(!text.includes(p), `provider text contains the path ${p}`);
    }
  });

  it("embeds the real engine (components/rotation) as modules, not a require of a local path", () => {
    assert.match(text, /components\/rotation\/index\.ts/);
    assert.doesNotMatch(text, /require\("\.\.?\//);
    assert.doesNotMatch(text, /require\("@pulumi\//);
  });

  it("Create touches nothing and returns every field Delete needs, without credentials", async () => {
    const host = await startFreshHost();
    const r = await host.call("create", news);
    assert.ok(r.ok, !r.ok ? r.message : "");
    const outs = (r as any).result.outs;
    assert.equal((r as any).result.id, "acme-game-staging/asia-northeast1/game-staging/app-v1-31-4-gke-1100-20261120-ab12c");
    assert.deepEqual(Object.keys(outs).sort(), ["__provider", "cluster", "codeVersion", "kubeconfig", "options", "poolName", "role"]);
    assert.equal(outs.__provider, text, "the host stores the provider text next to the outputs");
    assert.equal(outs.poolName, news.poolName);
    assert.equal(outs.kubeconfig, news.kubeconfig);
    assert.deepEqual(outs.options, { deadlineMinutes: 30, concurrency: 10 });
    const { __provider, ...rest } = outs;
    const json = JSON.stringify(rest);
    for (const re of CREDENTIAL_PATTERNS) assert.doesNotMatch(json, re);
    assert.ok(!json.includes(REPO));
  });

  it("Diff: options, codeVersion, kubeconfig, role → in-place update; pool or cluster → replace (never delete-before-replace)", async () => {
    const host = await startFreshHost();
    const created = await host.call("create", news);
    assert.ok(created.ok, !created.ok ? created.message : "");
    const olds = (created as any).result.outs;
    const cases: [string, Record<string, any>, { changes: boolean; replaces: string[] }][] = [
      ["no change", {}, { changes: false, replaces: [] }],
      ["same options in another key order", { options: { concurrency: 10, deadlineMinutes: 30 } }, { changes: false, replaces: [] }],
      ["options changed", { options: { deadlineMinutes: 45, concurrency: 10 } }, { changes: true, replaces: [] }],
      ["codeVersion changed (refreshes the stored code)", { codeVersion: "0000000000000000" }, { changes: true, replaces: [] }],
      ["kubeconfig changed (delete must use the current one)", { kubeconfig: execKubeconfig("https://203.0.113.99") }, { changes: true, replaces: [] }],
      ["role changed", { role: "batch" }, { changes: true, replaces: [] }],
      ["pool renamed (version bump)", { poolName: "app-v1-32-1-gke-1200-20261201-cd34e" }, { changes: true, replaces: ["poolName"] }],
      ["cluster changed", { cluster: "acme-game-staging/asia-northeast1/game-staging-2" }, { changes: true, replaces: ["cluster"] }],
      ["pool name unknown during preview", { poolName: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }, { changes: true, replaces: ["poolName"] }],
    ];
    for (const [what, patch, expected] of cases) {
      const r = await host.call("diff", "id", olds, { ...news, ...patch });
      assert.ok(r.ok, `${what}: ${!r.ok ? r.message : ""}`);
      const d = (r as any).result;
      assert.deepEqual({ changes: d.changes, replaces: d.replaces }, expected, what);
      assert.equal(d.deleteBeforeReplace, false, `${what}: never delete-before-replace`);
    }
    const updated = await host.call("update", "id", olds, { ...news, options: { deadlineMinutes: 45 } });
    assert.ok(updated.ok, !updated.ok ? updated.message : "");
    assert.deepEqual((updated as any).result.outs.options, { deadlineMinutes: 45 }, "Update stores the new inputs as outputs");
    assert.equal((updated as any).result.outs.__provider, text);
  });

  it("Check: bad input is named (field and fix) before anything changes; values unknown in preview pass", async () => {
    const host = await startFreshHost();
    const failuresOf = async (patch: Record<string, any>) => {
      const r = await host.call("check", {}, { ...news, ...patch });
      assert.ok(r.ok, !r.ok ? r.message : "");
      return (r as any).result.failures as { property: string; reason: string }[];
    };
    assert.deepEqual(await failuresOf({}), [], "the exec-auth kubeconfig and valid options");

    const withToken = execKubeconfig().replace(/ {4}exec:[\s\S]*$/, "    token: ya29.a0AfH6SMBexampleexampleexample\n");
    const token = await failuresOf({ kubeconfig: withToken });
    assert.deepEqual(token.map((x) => x.property), ["kubeconfig"]);
    assert.match(token[0].reason, /credential/);
    assert.match(token[0].reason, /gke-gcloud-auth-plugin/);
    assert.doesNotMatch(token[0].reason, /ya29/, "the failure must not echo the token");

    const noAuth = await failuresOf({ kubeconfig: execKubeconfig().replace(/ {4}exec:[\s\S]*$/, "    {}\n") });
    assert.deepEqual(noAuth.map((x) => x.property), ["kubeconfig"]);
    assert.match(noAuth[0].reason, /exec/);

    const loopback = execKubeconfig("http://127.0.0.1:6443").replace(/ {4}exec:[\s\S]*$/, "    {}\n");
    assert.deepEqual(await failuresOf({ kubeconfig: loopback }), [], "a loopback kubeconfig without auth (the simulator)");

    const bad = await failuresOf({ options: { deadlineMinutes: 0, batch: "150%", colour: "red" } });
    assert.deepEqual(bad.map((x) => x.property).sort(), ["options.batch", "options.colour", "options.deadlineMinutes"]);
    assert.deepEqual((await failuresOf({ poolName: "App_V1" })).map((x) => x.property), ["poolName"]);
    assert.deepEqual(await failuresOf({ kubeconfig: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }), [], "preview: kubeconfig of a cluster being created");
  });

  it("the stored text loads and drains from a checkout in another directory (node_modules found as pulumi-resource-pulumi-nodejs finds them)", async () => {
    // The host runs from the other checkout: its wrapper resolves @pulumi/pulumi from there, and
    // require-from-string resolves the text's `require("@kubernetes/client-node")` from there.
    const sim = await startSimulator({ scenario: "apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n" });
    try {
      const host = await startFreshHost({ checkout: "elsewhere" });
      assert.ok(!host.cwd.startsWith(REPO), `host cwd ${host.cwd} is outside the repository`);
      const simNews = { ...news, kubeconfig: sim.kubeconfig };
      const checked = await host.call("check", {}, simNews);
      assert.ok(checked.ok && (checked as any).result.failures.length === 0, JSON.stringify(checked));
      const created = await host.call("create", (checked as any).result.inputs);
      assert.ok(created.ok, !created.ok ? created.message : "");
      const deleted = await host.call("delete", (created as any).result.id, (created as any).result.outs);
      assert.ok(deleted.ok, !deleted.ok ? deleted.message : "");
      assert.match(host.stderr(), /no nodes labelled cloud\.google\.com\/gke-nodepool=app-v1-31-4-gke-1100-20261120-ab12c are left: nothing to drain/, "client-node listed the pool's nodes");
      assert.ok(sim.report().totalRequests > 0, "the delete reached the cluster");
    } finally {
      await sim.stop();
    }
  });

  it("refuses deletedWith/deleteBeforeReplace and bad plain options in the program, before registering", () => {
    assert.throws(
      () => new PoolDrainer("d1", { poolName: "p", role: "app", cluster: "a/b/c", kubeconfig: "x" }, { deleteBeforeReplace: true }),
      /deleteBeforeReplace/,
    );
    assert.throws(
      () => new PoolDrainer("d2", { poolName: "p", role: "app", cluster: "a/b/c", kubeconfig: "x", options: { concurrency: 0 } }),
      /options\.concurrency/,
    );
  });
});

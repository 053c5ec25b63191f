/**
 * PoolDrainer as Pulumi registers it and as the dynamic-provider host runs it: the type token, the
 * inputs (kubeconfig secret), and the serialized `__provider` text loaded in a fresh Node process from
 * another working directory (tests/drainer/host.ts) answering check/diff/create/update.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { CREDENTIAL_PATTERNS, execKubeconfig, installMocks, isSecret, plainInputs, Registered } from "./capture";
import { FreshHost, startFreshHost } from "./host";
import { Simulator, startSimulator } from "../simulator";
import { codeVersionOf, engineBundle, makeDrainerProvider, POOL_DRAINER_TYPE, PoolDrainer } from "../../components/poolDrainer";

const REPO = path.resolve(__dirname, "..", "..");

describe("PoolDrainer registration and serialized provider (fresh host process)", function () {
  this.timeout(60_000);
  let reg: Registered;
  let text: string;
  let news: Record<string, any>;
  let host: FreshHost;

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
    host = await startFreshHost();
  });
  after(async () => {
    await host?.stop();
  });

  it("registers the documented type token with the kubeconfig as a secret and a code version", () => {
    assert.equal(reg.type, POOL_DRAINER_TYPE);
    assert.equal(reg.type, "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer");
    assert.ok(isSecret(reg.inputs.kubeconfig), "kubeconfig input must be a secret");
    assert.equal(typeof text, "string");
    assert.match(text, /exports\.handler = /);
    assert.match(reg.inputs.codeVersion, /^[0-9a-f]{16}$/);
  });

  it("codeVersion is the hash of exactly the provider text the host will run", () => {
    const hash = crypto.createHash("sha256").update(text).digest("hex").slice(0, 16);
    assert.equal(reg.inputs.codeVersion, hash);
  });

  describe("stale code: delete runs the text stored at the last create/update", () => {
    let dir: string;
    let sim: Simulator;
    const variant = async (marker: string) => {
      fs.writeFileSync(path.join(dir, "index.ts"), `export async function drainPool(kc: any, opts: any) { opts.log("engine ${marker}"); return { nodes: [], evicted: 0 }; }\n`);
      const provider = makeDrainerProvider(engineBundle(path.join(dir, "index.ts"), dir));
      const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: false });
      return { text: sf.text, codeVersion: await codeVersionOf(provider) };
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

  it("create() touches nothing and returns every field delete() needs, without credentials", async () => {
    const r = await host.call("create", news);
    assert.ok(r.ok, !r.ok ? r.message : "");
    const outs = (r as any).result.outs;
    assert.equal((r as any).result.id, "acme-game-staging/asia-northeast1/game-staging/app-v1-31-4-gke-1100-20261120-ab12c");
    assert.deepEqual(Object.keys(outs).sort(), ["__provider", "cluster", "codeVersion", "kubeconfig", "options", "poolName", "role"]);
    assert.equal(outs.__provider, text);
    assert.equal(outs.poolName, news.poolName);
    assert.equal(outs.kubeconfig, news.kubeconfig);
    assert.deepEqual(outs.options, { deadlineMinutes: 30, concurrency: 10 });
    const { __provider, ...rest } = outs;
    const json = JSON.stringify(rest);
    for (const re of CREDENTIAL_PATTERNS) assert.doesNotMatch(json, re);
    assert.ok(!json.includes(REPO));
  });

  describe("diff() in the fresh host", () => {
    let olds: Record<string, any>;
    before(async () => {
      const r = await host.call("create", news);
      olds = (r as any).result.outs;
    });
    const diff = async (patch: Record<string, any>) => {
      const r = await host.call("diff", "id", olds, { ...news, ...patch });
      assert.ok(r.ok, !r.ok ? r.message : "");
      return (r as any).result;
    };

    it("no change → no changes, no replace", async () => {
      const d = await diff({});
      assert.equal(d.changes, false);
      assert.deepEqual(d.replaces, []);
    });
    it("same options in another key order → no change", async () => {
      const d = await diff({ options: { concurrency: 10, deadlineMinutes: 30 } });
      assert.equal(d.changes, false);
    });
    it("pool renamed (version bump) → replace on poolName, never deleteBeforeReplace", async () => {
      const d = await diff({ poolName: "app-v1-32-1-gke-1200-20261201-cd34e" });
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, ["poolName"]);
      assert.ok(!d.deleteBeforeReplace);
    });
    it("cluster changed → replace on cluster", async () => {
      const d = await diff({ cluster: "acme-game-staging/asia-northeast1/game-staging-2" });
      assert.deepEqual(d.replaces, ["cluster"]);
      assert.ok(!d.deleteBeforeReplace);
    });
    it("options changed → update in place", async () => {
      const d = await diff({ options: { deadlineMinutes: 45, concurrency: 10 } });
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, []);
    });
    it("codeVersion changed → update in place (refreshes the stored code)", async () => {
      const d = await diff({ codeVersion: "0000000000000000" });
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, []);
    });
    it("kubeconfig changed → update in place (delete must use the current one)", async () => {
      const d = await diff({ kubeconfig: execKubeconfig("https://203.0.113.99") });
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, []);
    });
    it("pool name unknown during preview → replace", async () => {
      const d = await diff({ poolName: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
      assert.deepEqual(d.replaces, ["poolName"]);
    });
    it("update() stores the new inputs as outputs", async () => {
      const r = await host.call("update", "id", olds, { ...news, options: { deadlineMinutes: 45 } });
      assert.ok(r.ok);
      assert.deepEqual((r as any).result.outs.options, { deadlineMinutes: 45 });
    });
  });

  describe("check() in the fresh host: bad input named before anything changes", () => {
    const failuresOf = async (patch: Record<string, any>) => {
      const r = await host.call("check", {}, { ...news, ...patch });
      assert.ok(r.ok, !r.ok ? r.message : "");
      return (r as any).result.failures as { property: string; reason: string }[];
    };
    it("accepts the exec-auth kubeconfig and valid options", async () => {
      assert.deepEqual(await failuresOf({}), []);
    });
    it("rejects a kubeconfig with an embedded token, naming the fix", async () => {
      const withToken = execKubeconfig().replace(/ {4}exec:[\s\S]*$/, "    token: ya29.a0AfH6SMBexampleexampleexample\n");
      const f = await failuresOf({ kubeconfig: withToken });
      assert.equal(f.length, 1);
      assert.equal(f[0].property, "kubeconfig");
      assert.match(f[0].reason, /credential/);
      assert.match(f[0].reason, /gke-gcloud-auth-plugin/);
      assert.doesNotMatch(f[0].reason, /ya29/, "the failure must not echo the token");
    });
    it("rejects a remote kubeconfig without exec auth", async () => {
      const noAuth = execKubeconfig().replace(/ {4}exec:[\s\S]*$/, "    {}\n");
      const f = await failuresOf({ kubeconfig: noAuth });
      assert.deepEqual(f.map((x) => x.property), ["kubeconfig"]);
      assert.match(f[0].reason, /exec/);
    });
    it("accepts a loopback kubeconfig without auth (the simulator)", async () => {
      const noAuth = execKubeconfig("http://127.0.0.1:6443").replace(/ {4}exec:[\s\S]*$/, "    {}\n");
      assert.deepEqual(await failuresOf({ kubeconfig: noAuth }), []);
    });
    it("names each bad option", async () => {
      const f = await failuresOf({ options: { deadlineMinutes: 0, batch: "150%", colour: "red" } });
      assert.deepEqual(f.map((x) => x.property).sort(), ["options.batch", "options.colour", "options.deadlineMinutes"]);
    });
    it("preview: values not known yet (kubeconfig of a cluster being created) are not failures", async () => {
      assert.deepEqual(await failuresOf({ kubeconfig: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }), []);
    });
    it("rejects a pool name GKE would refuse", async () => {
      const f = await failuresOf({ poolName: "App_V1" });
      assert.deepEqual(f.map((x) => x.property), ["poolName"]);
    });
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

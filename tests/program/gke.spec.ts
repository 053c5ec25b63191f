/**
 * The program against what GKE reports (getCluster and getEngineVersions mocked): how a new pool
 * is sized under the engine's ignoreChanges rule, the channel modes, adopted clusters, each preview
 * check, and the preview-after-up no-diff property.
 */
import * as assert from "node:assert/strict";
import { validateStackConfig } from "../../components/config";
import {
  EXCLUSION_NAME,
  LiveCluster,
  NO_CHANNEL_REMOVAL_DATE,
  PreflightError,
  newPoolSize,
  preflight,
  toLiveCluster,
} from "../../components/gke";
import { poolName } from "../../components/naming";
import { GET_CLUSTER, GET_ENGINE_VERSIONS, GkeMock, Registered, clone, liveAfterUp, runProgram, stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

const NODEPOOL = "gcp:container/nodePool:NodePool";
const CLUSTER = "gcp:container/cluster:Cluster";
const P = "nodepool-rotation:pools";
const C = "nodepool-rotation:cluster";

/**
 * The engine's ignoreChanges rule. pulumi/pulumi pkg/resource/deploy/step_generator.go: whenever
 * the URN has an old state (an update AND a replacement), `processIgnoreChanges(..., inputs,
 * old.Inputs, goal.IgnoreChanges)` resets each ignored path of the new inputs to the OLD inputs'
 * value (sdk/go/common/resource/properties_path.go `PropertyPath.Reset`; the path is removed when
 * the old inputs lack it) BEFORE the provider's diff decides update vs replace. The result is what
 * the provider's Create sends to GKE for the replacement (pulumi/pulumi#2657).
 */
function engineInputs(news: Record<string, any>, olds: Record<string, any>, ignoreChanges: string[] = []): Record<string, any> {
  const out = clone(news);
  for (const path of ignoreChanges) {
    const keys = path.split(".");
    let n: any = out;
    let o: any = olds;
    for (const k of keys.slice(0, -1)) {
      n = n?.[k];
      o = o?.[k];
    }
    const last = keys[keys.length - 1];
    if (n === undefined) continue;
    if (o !== undefined && last in o) n[last] = clone(o[last]);
    else delete n[last];
  }
  return out;
}

/** The registration of `role`'s NodePool. */
async function poolOf(run: Awaited<ReturnType<typeof runProgram>>, role: string, count: number): Promise<Registered> {
  return (await run.waitFor(NODEPOOL, count)).find((r) => r.name === role)!;
}

/** Settle an Output (rejects when it failed). */
const settle = (o: any): Promise<unknown> => o.promise();

/** The program was refused: the error names the problem, and no Cluster or NodePool reached the engine. */
async function refused(run: Awaited<ReturnType<typeof runProgram>>, message: RegExp): Promise<void> {
  await assert.rejects(settle(run.outputs.pools), (e: Error) => {
    assert.match(e.message, message);
    return true;
  });
  await waitForRPCs();
  assert.deepEqual(run.resources.filter((r) => r.type === NODEPOOL || r.type === CLUSTER).map((r) => r.name), []);
}

/** Key -> inputs of every registered resource. */
const byKey = (rs: Registered[]) => Object.fromEntries(rs.map((r) => [`${r.type}::${r.name}`, r.inputs]));

describe("program against GKE: sizing a new pool (issue 12.1)", () => {
  const original = stackFileConfig("staging");
  const cfg = validateStackConfig(original, { stack: "staging" });
  const app = cfg.pools.find((p) => p.role === "app")!; // minNodes 3, maxNodes 6
  let state: Registered[]; // what the first `up` stored
  let grown: Exclude<GkeMock["cluster"], "absent" | undefined>;

  before(async () => {
    // First-ever up of a new stack: GKE has no such cluster, so nothing to read: pools start at the floor.
    const first = await runProgram("staging", original, undefined, undefined, { cluster: "absent" });
    await first.waitFor(NODEPOOL, 2);
    await waitForRPCs();
    state = first.resources;
    // Since then the autoscaler grew the app pool to 5 nodes per zone.
    grown = liveAfterUp("staging", original);
    grown.nodePools!.find((p) => p.name === poolName(app, cfg.environment))!.nodeCount = 5;
  });

  it("first up of a new cluster: the pools are created at initialNodes ?? max(minNodes, 1)", () => {
    const pools = state.filter((r) => r.type === NODEPOOL);
    assert.deepEqual(Object.fromEntries(pools.map((p) => [p.name, p.inputs.initialNodeCount])), { app: 3, batch: 1 });
  });

  it("preview right after the up, with the pool grown by the autoscaler: every input equals the stored one (no diff, no same-name replace)", async () => {
    const again = await runProgram("staging", original, undefined, undefined, { cluster: grown });
    await again.waitFor(NODEPOOL, 2);
    await waitForRPCs();
    assert.deepEqual(byKey(again.resources), byKey(state));
  });

  it("a version bump: GKE is sent the LIVE per-zone size of the pool being replaced, under the engine's ignoreChanges rule", async () => {
    const after = clone(original);
    after[P][0].version = "1.34.4-gke.1047000";
    const bump = await runProgram("staging", after, undefined, undefined, { cluster: grown });
    const news = await poolOf(bump, "app", 2);
    const olds = state.find((r) => r.type === NODEPOOL && r.name === "app")!;
    assert.notEqual(news.inputs.name, olds.inputs.name, "renamed: a create-before-delete replacement under the same URN");
    assert.deepEqual(news.ignoreChanges, []);
    assert.equal(engineInputs(news.inputs, olds.inputs, news.ignoreChanges).initialNodeCount, 5);
    // The rule bites: with the former `ignoreChanges: ["initialNodeCount"]` GKE got the old input.
    assert.equal(engineInputs(news.inputs, olds.inputs, ["initialNodeCount"]).initialNodeCount, 3);
    // The other role is untouched.
    const batch = await poolOf(bump, "batch", 2);
    assert.deepEqual(batch.inputs, state.find((r) => r.type === NODEPOOL && r.name === "batch")!.inputs);
  });

  it("newPoolSize: the live size clamped to maxNodes, initialNodes as a floor, the pool's own count while its name stays", () => {
    const live = (nodeCount: number): LiveCluster => ({
      channel: "REGULAR",
      pools: [{ name: "app-old", version: app.version, nodeCount, initialNodeCount: 3, role: "app", env: "staging" }],
    });
    assert.equal(newPoolSize(app, "app-new", "staging", live(5)).count, 5);
    const clamped = newPoolSize(app, "app-new", "staging", live(9));
    assert.equal(clamped.count, 6);
    assert.match(clamped.note!, /created with 6 nodes per zone \(maxNodes\), below the 9 of app-old/);
    assert.equal(newPoolSize({ ...app, initialNodes: 4 }, "app-new", "staging", live(2)).count, 4);
    assert.equal(newPoolSize(app, "app-new", "staging", live(1)).count, 3, "never below minNodes");
    assert.equal(newPoolSize(app, "app-old", "staging", live(5)).count, 3, "same name: the count GKE reports it was created with");
    assert.equal(newPoolSize(app, "app-new", "prod", live(5)).count, 3, "another environment's pool is not ours");
    assert.equal(newPoolSize(app, "app-new", "staging", undefined).count, 3);
  });

  it("reads the per-zone nodeCount getCluster reports for the role's pool (labels), not some other pool", () => {
    const live = toLiveCluster({
      nodePools: [
        { name: "default-pool", version: app.version, nodeCount: 9, initialNodeCount: 1, nodeConfigs: [{ labels: {} }] },
        { name: "app-old", version: app.version, nodeCount: 4, initialNodeCount: 3, nodeConfigs: [{ labels: { "nodepool-rotation/role": "app", env: "staging" } }] },
      ] as any,
    });
    assert.equal(live.channel, "UNSPECIFIED", "no channel block = no channel");
    assert.equal(newPoolSize(app, "app-new", "staging", live).count, 4);
  });
});

describe("program against GKE: release channels (issue 13.1)", () => {
  it("created cluster, default channel: REGULAR, exclusion until end of support; inputs carry no clock", async () => {
    const file = clone(stackFileConfig("staging"));
    delete file[C].releaseChannel;
    const run = await runProgram("staging", file);
    const [cluster] = await run.waitFor(CLUSTER);
    assert.deepEqual(cluster.inputs.releaseChannel, { channel: "REGULAR" });
    assert.equal(cluster.inputs.maintenancePolicy.maintenanceExclusions[0].exclusionName, EXCLUSION_NAME);
    assert.equal(cluster.inputs.maintenancePolicy.maintenanceExclusions[0].endTime, undefined, "end of support is GKE's to compute");
    for (const p of await run.waitFor(NODEPOOL, 2)) assert.equal(p.inputs.management.autoUpgrade, true);
  });

  it("created cluster, explicit UNSPECIFIED on a no-channel cluster: no channel, no exclusion, auto-upgrade off, warning naming 2027-06-14", async () => {
    const file = clone(stackFileConfig("staging"));
    file[C].releaseChannel = "UNSPECIFIED";
    const live = liveAfterUp("staging", file);
    const run = await runProgram("staging", file, undefined, undefined, { cluster: live });
    const [cluster] = await run.waitFor(CLUSTER);
    assert.deepEqual(cluster.inputs.releaseChannel, { channel: "UNSPECIFIED" });
    assert.equal(cluster.inputs.maintenancePolicy, undefined);
    for (const p of await run.waitFor(NODEPOOL, 2)) {
      assert.deepEqual(p.inputs.management, { autoUpgrade: false, autoRepair: true });
      assert.equal(p.inputs.maintenancePolicies, undefined);
    }
    const r = preflight({ config: validateStackConfig(file, { stack: "staging" }), live: toLiveCluster(live as any), offered: undefined, stack: "staging" });
    assert.ok(r.warnings.some((w) => w.includes(NO_CHANNEL_REMOVAL_DATE) && w.includes("nodepool-rotation:cluster.releaseChannel")), r.warnings.join("\n"));
  });

  it("created cluster set to UNSPECIFIED while GKE has it in a channel: refused (no way back), naming the live channel", async () => {
    const file = clone(stackFileConfig("staging"));
    file[C].releaseChannel = "UNSPECIFIED";
    const live = { ...liveAfterUp("staging", file), releaseChannels: [{ channel: "STABLE" }] };
    const run = await runProgram("staging", file, undefined, undefined, { cluster: live });
    await refused(run, /releaseChannel = UNSPECIFIED, but cluster "game-staging" is in STABLE now .* set releaseChannel: STABLE/);
  });

  for (const channel of ["STABLE", "UNSPECIFIED"]) {
    it(`adopted cluster (create: false) in ${channel}: reads the channel and configures the pools to match`, async () => {
      const file = clone(stackFileConfig("prod"));
      file[C].create = false;
      delete file[C].releaseChannel;
      const live = { ...liveAfterUp("prod", file), releaseChannels: [{ channel }] };
      const run = await runProgram("prod", file, undefined, undefined, { cluster: live });
      const pools = await run.waitFor(NODEPOOL, 2);
      assert.equal(run.resources.filter((r) => r.type === CLUSTER).length, 0);
      assert.ok(run.calls.some((c) => c.token === GET_CLUSTER && c.inputs.name === "game-prod"));
      for (const p of pools) {
        assert.equal(p.inputs.management.autoUpgrade, channel !== "UNSPECIFIED");
        assert.deepEqual(p.inputs.maintenancePolicies, channel === "UNSPECIFIED" ? undefined : [{ exclusionUntilEndOfSupports: [{ enabled: true }] }]);
      }
    });
  }

  it("adopted cluster whose channel differs from cluster.releaseChannel: refused, naming both", async () => {
    const file = clone(stackFileConfig("prod"));
    file[C].create = false;
    const live = { ...liveAfterUp("prod", file), releaseChannels: [{ channel: "RAPID" }] };
    await refused(await runProgram("prod", file, undefined, undefined, { cluster: live }), /releaseChannel = REGULAR, but the adopted cluster "game-prod" is in RAPID/);
  });

  it("adopted cluster that does not exist: refused, naming the cluster and the fix", async () => {
    const file = clone(stackFileConfig("prod"));
    file[C].create = false;
    await refused(await runProgram("prod", file, undefined, undefined, { cluster: "absent" }), /cluster "game-prod" does not exist in acme-game-prod\/asia-northeast1 .*set nodepool-rotation:cluster\.create: true/);
  });
});

describe("program: drain.gkeRespectPdbOnDelete (issue 13.5)", () => {
  it("sets GKE's PDB-respecting deletion on every pool and leaves the drainers' options alone", async () => {
    const file = clone(stackFileConfig("prod"));
    const plain = await runProgram("prod", file);
    const drainersBefore = await plain.waitFor("pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer", 2);
    file["nodepool-rotation:drain"].gkeRespectPdbOnDelete = true;
    const run = await runProgram("prod", file);
    for (const p of await run.waitFor(NODEPOOL, 2)) assert.deepEqual(p.inputs.nodeDrainConfigs, [{ respectPdbDuringNodePoolDeletion: true }]);
    const drainers = await run.waitFor("pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer", 2);
    assert.equal(drainersBefore[0].inputs.options.deadlineMinutes, 90);
    assert.deepEqual(drainers.map((d) => d.inputs.options), drainersBefore.map((d) => d.inputs.options), "toggling it never updates a drainer");
  });
});

describe("program against GKE: preview checks before anything changes (issue 13.3, 13.4)", () => {
  const file = stackFileConfig("staging");
  const cfg = validateStackConfig(file, { stack: "staging" });
  const bumped = (version: string) => {
    const f = clone(file);
    f[P][0].version = version;
    return f;
  };

  it("a version GKE does not offer in the location: one line naming pool, version, location and offered versions", async () => {
    const f = bumped("1.35.1-gke.1000");
    const run = await runProgram("staging", f, undefined, undefined, { cluster: liveAfterUp("staging", file), offered: ["1.35.2-gke.1269000", "1.35.3-gke.1100000", "1.34.4-gke.1047000"] });
    await refused(run, /pool "app" \(app-1-35-1-gke1000-\d{8}-[0-9a-f]{5}\): version 1\.35\.1-gke\.1000 is not offered for nodes in asia-northeast1 .*e\.g\. 1\.35\.2-gke\.1269000, 1\.35\.3-gke\.1100000: npm run bump -- --stack staging --role app --version <version>/);
    assert.ok(run.calls.some((c) => c.token === GET_ENGINE_VERSIONS && c.inputs.location === "asia-northeast1" && c.inputs.project === "acme-game-staging"));
  });

  it("a version newer than the LIVE control plane (adopted cluster older than controlPlaneVersion says)", async () => {
    const f = clone(file);
    f[C].create = false;
    const live = { ...liveAfterUp("staging", f), masterVersion: "1.35.1-gke.1000" };
    const g = clone(f);
    g[P][0].version = "1.35.2-gke.1300000";
    g[C].controlPlaneVersion = "1.35.2-gke.1300000";
    await refused(
      await runProgram("staging", g, undefined, undefined, { cluster: live, offered: ["1.35.2-gke.1300000", ...cfg.pools.map((p) => p.version)] }),
      /pool "app" .*node version 1\.35\.2-gke\.1300000 is newer than the control plane 1\.35\.1-gke\.1000 .*upgrade the adopted cluster's control plane first/,
    );
  });

  it("a created cluster whose controlPlaneVersion is being raised in the same up: pools may follow (the cluster is updated first)", async () => {
    const g = clone(file);
    g[C].controlPlaneVersion = "1.35.3-gke.1100000";
    g[P][0].version = "1.35.3-gke.1100000";
    const run = await runProgram("staging", g, undefined, undefined, { cluster: liveAfterUp("staging", file) });
    assert.equal((await poolOf(run, "app", 2)).inputs.version, "1.35.3-gke.1100000");
  });

  it("a pool GKE upgraded behind Pulumi (end of support): refused with the command that adopts the live version, no downgrade attempted", async () => {
    const live = liveAfterUp("staging", file);
    live.nodePools![1].version = "1.35.3-gke.1100000";
    const run = await runProgram("staging", file, undefined, undefined, { cluster: live });
    await refused(run, /pool "batch" \(batch-[^)]+\) runs 1\.35\.3-gke\.1100000 in GKE but nodepool-rotation:pools says 1\.35\.2-gke\.1269000 .*npm run bump -- --stack staging --role batch --version 1\.35\.3-gke\.1100000/);
  });

  it("drift past controlPlaneVersion (GKE upgraded control plane and nodes): the fix raises controlPlaneVersion first", () => {
    const raw = { ...liveAfterUp("staging", file), masterVersion: "1.36.1-gke.1000000" };
    raw.nodePools![0].version = "1.36.1-gke.1000000";
    const r = preflight({ config: cfg, live: toLiveCluster(raw as any), offered: undefined, stack: "staging" });
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0], /runs 1\.36\.1-gke\.1000000 in GKE .*npm run bump -- --stack staging --control-plane 1\.36\.1-gke\.1000000, then npm run bump -- --stack staging --role app --version 1\.36\.1-gke\.1000000$/);
  });

  it("every problem at once, each on its own line", () => {
    const config = validateStackConfig(bumped("1.35.1-gke.1000"), { stack: "staging" });
    const live = toLiveCluster(liveAfterUp("staging", file) as any);
    live.pools[1].version = "1.35.3-gke.1100000";
    const r = preflight({ config, live, offered: ["1.35.2-gke.1269000"], stack: "staging" });
    assert.equal(r.errors.length, 2);
    const e = new PreflightError(r.errors);
    assert.match(e.message, /^GKE preflight refused \(nothing was changed\): 2 problems\n  - pool "app".*\n  - pool "batch"/);
  });

  it("a pool whose version is no longer offered keeps running (warning only): nothing is created at that version", () => {
    const r = preflight({ config: cfg, live: toLiveCluster(liveAfterUp("staging", file) as any), offered: ["1.35.3-gke.1100000"], stack: "staging" });
    assert.deepEqual(r.errors, []);
    assert.equal(r.warnings.filter((w) => /no longer offered in asia-northeast1/.test(w)).length, 2);
  });

  it("end of standard support within warnEndOfSupportDays (from the pool's end-of-support exclusion): a warning naming pool, version, date and the fix", () => {
    const raw = liveAfterUp("staging", file);
    raw.nodePools![0].maintenancePolicies = [{ exclusionUntilEndOfSupports: [{ enabled: true, endTime: "2027-01-10T00:00:00Z" }] }];
    raw.nodePools![1].maintenancePolicies = [{ exclusionUntilEndOfSupports: [{ enabled: true, endTime: "2027-06-30T00:00:00Z" }] }];
    const live = toLiveCluster(raw as any);
    const now = new Date("2026-12-20T00:00:00Z");
    const r = preflight({ config: cfg, live, offered: undefined, stack: "staging", now });
    const eos = r.warnings.filter((w) => w.includes("end of standard support"));
    assert.equal(eos.length, 1, eos.join("\n"));
    assert.match(eos[0], /pool "app" .*version 1\.35\.2-gke\.1269000 reaches end of standard support on 2027-01-10 \(in 21 days\).*npm run bump -- --stack staging --role app/);
    const wider = validateStackConfig({ ...clone(file), [C]: { ...file[C], warnEndOfSupportDays: 200 } }, { stack: "staging" });
    assert.equal(preflight({ config: wider, live, offered: undefined, stack: "staging", now }).warnings.filter((w) => w.includes("end of standard support")).length, 2);
    assert.deepEqual(preflight({ config: cfg, live, offered: undefined, stack: "staging", now }).errors, [], "a warning never blocks");
  });

  it("a getCluster failure other than 'not found' (e.g. permissions) fails the program instead of sizing pools from nothing", async () => {
    const run = await runProgram("staging", file, undefined, undefined, { clusterError: "googleapi: Error 403: Required 'container.clusters.get' permission" });
    await refused(run, /Error 403/);
  });
});

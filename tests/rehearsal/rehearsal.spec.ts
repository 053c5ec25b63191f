/**
 * The proof, as a test: the shipped scenarios rehearsed end to end with the real code, in the
 * Pulumi engine's order, asserting the claims from the data: the default regional pool with and
 * without the implicit budget and without the drain (GKE's behaviour); two roles in one update,
 * their drains in parallel, and with one role's drain blocked. Timing is not asserted beyond
 * "0 ms" properties: they hold on a loaded box as on an idle one.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { POOL_DEFAULTS } from "../../components/config";
import { poolName } from "../../components/naming";
import { FIGURES_FILE, FiguresDoc, runDoc } from "./figures";
import { decodePoints } from "./picture";
import { formatSummary } from "./report";
import { claimHeld, RehearsalResult, runRehearsal } from "./run";
import { SPANNING_WORKLOAD, TWO_ROLES_SCENARIO_FILE } from "./scenario";

const ROOT = path.resolve(__dirname, "../..");

/** Runs `npm run rehearse -- ARGS` as a user would; resolves with exit code, stdout, stderr. */
function rehearseCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "tests/rehearsal/rehearse.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A temporary directory for a suite's pictures, removed after it. */
function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function servingMultiReplica(r: RehearsalResult) {
  return Object.values(r.workloads).filter((w) => w.multiReplica && !w.batch);
}

/** Every multi-replica serving workload: 0 ms at zero and below its floor, for the prober and the simulator. */
function assertZeroDowntime(r: RehearsalResult) {
  for (const w of servingMultiReplica(r)) {
    assert.equal(w.msAtZero, 0, `${w.key} at zero ready`);
    assert.equal(w.msBelowFloor, 0, `${w.key} below floor ${w.floor}`);
    assert.ok(w.simulator, `${w.key} missing from the simulator's report`);
    assert.equal(w.simulator!.msAtZero, 0, `${w.key} at zero (simulator)`);
    assert.equal(w.simulator!.msBelowFloor, 0, `${w.key} below floor (simulator)`);
    if (w.floor !== null) assert.ok(w.minReady >= w.floor, `${w.key} min ready ${w.minReady} < floor ${w.floor}`);
  }
  assert.equal(r.verdict.zeroDowntime, true);
  assert.equal(r.workloadPodsDeletedWithoutEviction, 0, "no workload pod killed");
  assert.equal(r.proberWatchRestarts, 0, "the prober's watch never failed: its series are complete");
}

/** The engine's evidence agrees with the prober and the simulator (floors and min ready exactly, times within tolerance). */
function assertEvidenceAgrees(r: RehearsalResult, moved: string[]) {
  const rows = r.evidence.rows;
  assert.ok(rows.length > 0, `the drainer printed no availability line:\n${r.roles.flatMap((x) => x.drain?.output ?? []).join("\n")}`);
  for (const key of moved) assert.ok(rows.some((e) => e.workload === key), `no engine evidence for ${key}`);
  // One row per workload a drain moved: each drain's output is read once (a retry's drain is another role run).
  for (const role of r.roles) {
    const keys = role.availability.map((a) => a.workload);
    assert.deepEqual(keys, [...new Set(keys)], `${role.role}: availability lists a workload twice: ${keys.join(", ")}`);
  }
  const perRole = rows.map((e) => `${e.role} ${e.workload}`);
  assert.deepEqual(perRole, [...new Set(perRole)], "evidence rows: one per moved workload and role");
  for (const e of rows) {
    assert.ok(e.floorsAgree, `${e.workload}: engine floor ${e.engine.floor} (${e.engine.floorSource}) vs rehearsal ${e.prober?.floor}`);
    assert.ok(e.minReadyAgrees, `${e.workload}: engine min ready ${e.engine.minReady} vs prober ${e.prober?.minReady}`);
  }
  assert.ok(r.evidence.agree, `evidence disagrees beyond ${r.evidence.toleranceMs} ms: ${JSON.stringify(rows.map((e) => [e.workload, e.deltaProberMs, e.deltaSimulatorMs]))}`);
}

describe("rehearsal: the default scenario (a regional pool) end to end", function () {
  this.timeout(180_000);
  const out = scratchDir("rehearsal-spec-");

  describe("with the drain (implicit budget 25% for workloads without a PDB)", () => {
    let r: RehearsalResult;
    before(async () => {
      r = await runRehearsal({ outDir: out, log: () => {} });
    });

    it("the pool is regional: 3 zones x 2 nodes, and its replacement has the same shape", () => {
      const [app] = r.roles;
      assert.equal(r.roles.length, 1);
      assert.deepEqual(app.oldPool.zones, ["asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"]);
      assert.equal(app.oldPool.nodesPerZone, 2);
      assert.deepEqual([app.newPool.zones, app.newPool.nodesPerZone], [app.oldPool.zones, 2]);
    });

    it("every multi-replica workload, spread ones and the one without a PDB included: 0 ms at zero, 0 ms below its floor", () => {
      assertZeroDowntime(r);
      const web = r.workloads["shop/Deployment/web"];
      assert.equal(web.pdb, undefined, "web has no PDB");
      assert.equal(web.floor, 4, "implicit 25% of 6: at most 2 unavailable");
      assert.equal(web.floorSource, "implicit 25%");
      assert.ok(web.minReady >= 4 && web.minReady < 6, `web moved within its implicit budget (min ready ${web.minReady})`);
      assert.ok(claimHeld(r));
    });

    it("the drain's own evidence agrees with the prober and the simulator", () => {
      assertEvidenceAgrees(r, ["shop/Deployment/web", "shop/Deployment/nginx", "shop/Deployment/api", "shop/StatefulSet/redis", "shop/Deployment/worker"]);
      const web = r.evidence.rows.find((e) => e.workload === "shop/Deployment/web")!;
      assert.deepEqual([web.engine.floor, web.engine.msAtZero, web.engine.msBelowFloor], [4, 0, 0]);
      // The worker's gap is the one non-zero figure: all three observers measured it.
      const worker = r.evidence.rows.find((e) => e.workload === "shop/Deployment/worker")!;
      assert.ok(worker.engine.msAtZero > 0 && worker.prober!.msAtZero > 0 && worker.simulator!.msAtZero > 0);
      assert.match(formatSummary(r), /agreement: engine vs prober within [\d.]+ ms, engine vs simulator within [\d.]+ ms .*AGREE/);
    });

    it("the pods really moved: evictions through the API, none left on the old pool when it was deleted", () => {
      const [app] = r.roles;
      const moved = Object.values(r.workloads).filter((w) => !w.batch && w.kind !== "DaemonSet").reduce((n, w) => n + w.replicas, 0);
      assert.ok(r.evictions >= moved, `evictions ${r.evictions} < ${moved} workload pods on the old pool`);
      assert.deepEqual(app.podsOnOldPool, []);
      assert.equal(app.oldPoolDeleted, true);
      assert.ok(app.drain?.ok, "the drain ran");
      assert.match(app.drain!.via, /serialized delete\(\)/);
      assert.ok(app.drain!.output.some((l) => /\[PoolDrainer app-1-34-4-gke1047000-20261101-[0-9a-f]{5}\] .*drained/.test(l)), app.drain!.output.join("\n"));
      for (const [k, p] of Object.entries(r.pdbs)) assert.ok(p.maxConcurrentDisruptionsObserved <= (p.allowed ?? 0), `${k}`);
      assert.equal(r.pdbs["shop/nginx"].allowed, 1);
      assert.equal(app.guard, "nothing-to-move", "the pool guard hook re-checked the drained pool right before GKE's delete");
      // The engine: drainer first (batch 1), pool after (batch 2).
      assert.deepEqual(r.engine.deleteBatches, [[`drainer of ${app.oldPool.name}: ok`], [`pool ${app.oldPool.name}: ok`]]);
      assert.deepEqual(r.engine.pendingDeletes, []);
    });

    it("the single-replica worker's unavoidable gap is reported, not hidden", () => {
      const worker = r.workloads["shop/Deployment/worker"];
      assert.ok(worker.msAtZero > 0, "one pod cannot move without a gap");
      assert.match(worker.note ?? "", /single replica/);
      assert.deepEqual(r.verdict.singleReplicaGaps.map((g) => g.key), ["shop/Deployment/worker"]);
      assert.match(formatSummary(r), new RegExp(`unavoidable single-replica gap: shop/Deployment/worker at zero ready for ${worker.msAtZero} ms`));
    });

    it("the new pool is named by components/naming.ts from the bumped version, and the old pool is gone", () => {
      const [app] = r.roles;
      const bumped = { ...POOL_DEFAULTS, role: "app", version: "1.35.2-gke.1269000", rotatedOn: "2026-11-20", machineType: "e2-standard-4" };
      assert.equal(app.newPool.name, poolName(bumped as any, "staging"), "the program's name for the bumped stack config");
      assert.equal(r.timeline.pools[app.newPool.name].at(-1)!.v, 6);
      assert.equal(r.timeline.pools[app.oldPool.name].at(-1)!.v, 0);
    });

    it("writes a picture carrying the same data", () => {
      const svg = fs.readFileSync(r.picture, "utf8");
      assert.equal(path.basename(r.picture), "rehearsal-drain.svg");
      assert.equal(XMLValidator.validate(svg), true);
      const groups: any[] = [].concat(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(svg).svg.g);
      const wl = groups.filter((g) => g.class === "workload");
      assert.deepEqual(wl.map((g) => g["data-key"]).sort(), Object.keys(r.workloads).sort());
      for (const g of wl) assert.deepEqual(decodePoints(g["data-points"]), r.timeline.workloads[g["data-key"]].points.map((p) => ({ t: Math.round(p.t), v: p.v })));
      const [app] = r.roles;
      assert.deepEqual(groups.filter((g) => g.class === "pool").map((g) => g["data-pool"]).sort(), [app.newPool.name, app.oldPool.name].sort());
    });

    it("its documented figures have the shape docs/proof/figures.json was generated with", () => {
      const committed: FiguresDoc = JSON.parse(fs.readFileSync(FIGURES_FILE, "utf8"));
      const fresh = runDoc({ command: "npm run rehearse", picture: "rehearsal-drain.svg" }, r);
      const shape = (v: unknown): unknown =>
        Array.isArray(v) ? (v.length ? [shape(v[0])] : []) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape((v as any)[k])])) : typeof v;
      assert.deepEqual(Object.keys(fresh).sort(), Object.keys(committed.runs.drain).sort());
      assert.deepEqual(Object.keys(fresh.workloads).sort(), Object.keys(committed.runs.drain.workloads).sort(), "the committed figures are of the current default scenario");
      assert.deepEqual(shape(fresh.workloads["shop/Deployment/web"]), shape(committed.runs.drain.workloads["shop/Deployment/web"]));
      assert.deepEqual(shape(fresh.roles), shape(committed.runs.drain.roles));
    });
  });

  describe("with the drain and defaultBudget none (what kubectl drain does to workloads without a PDB)", () => {
    let r: RehearsalResult;
    before(async () => {
      r = await runRehearsal({ outDir: out, defaultBudget: "none", log: () => {} });
    });

    it("shows the outage the implicit budget prevents: web (no PDB) reaches zero ready; PDB-protected workloads still never do", () => {
      const web = r.workloads["shop/Deployment/web"];
      assert.equal(web.floor, null, "no budget, no floor");
      assert.ok(web.msAtZero > 0, "all 6 pods evicted at once: zero ready until replacements start");
      assert.ok((web.simulator?.msAtZero ?? 0) > 0, "the simulator measured the same outage");
      assert.equal(web.minReady, 0);
      assert.deepEqual(r.verdict.outages, ["shop/Deployment/web"]);
      assert.deepEqual(r.verdict.belowFloor, [], "every PDB floor held");
      assert.equal(r.workloadPodsDeletedWithoutEviction, 0, "evicted, not killed: the drain ran");
      assert.ok(claimHeld(r), "an outage of an unprotected workload is the demonstration, not a failure");
      assert.equal(path.basename(r.picture), "rehearsal-drain-budget-none.svg");
    });

    it("the engine's evidence says the same: web at zero, floor 0 (no budget)", () => {
      const web = r.evidence.rows.find((e) => e.workload === "shop/Deployment/web");
      assert.ok(web, "the drain reported web");
      assert.equal(web!.engine.floor, 0);
      assert.ok(web!.engine.msAtZero > 0);
      assert.ok(r.evidence.agree, JSON.stringify(r.evidence.rows.map((e) => [e.workload, e.deltaProberMs, e.deltaSimulatorMs])));
    });
  });

  describe("without the drain (GKE's behaviour), through the CLI with --json", () => {
    let res: { code: number | null; stdout: string; stderr: string };
    let r: RehearsalResult;
    before(async () => {
      res = await rehearseCli(["--no-drain", "--json", "--out", out]);
      assert.equal(res.code, 0, res.stderr);
      r = JSON.parse(res.stdout);
    });

    it("stdout is exactly one JSON document; progress went to stderr", () => {
      assert.equal(r.mode, "no-drain");
      assert.match(res.stderr, /delete pool/);
      assert.match(res.stderr, /picture written to/);
    });

    it("shows the outage: the multi-replica workloads reach zero ready, none was evicted, the pods were killed", () => {
      const down = servingMultiReplica(r).filter((w) => w.msAtZero > 0);
      assert.ok(down.length >= 3, "several multi-replica workloads reach zero");
      assert.ok(down.every((w) => (w.simulator?.msAtZero ?? 0) > 0), "the simulator measured the same outage");
      assert.equal(r.verdict.zeroDowntime, false);
      assert.deepEqual(r.verdict.outages.sort(), down.map((w) => w.key).sort());
      assert.equal(r.evictions, 0);
      const [app] = r.roles;
      assert.ok(app.podsOnOldPool.length > 0);
      assert.equal(r.workloadPodsDeletedWithoutEviction, app.podsOnOldPool.length, "the simulator counted the same killed pods");
      assert.equal(app.drain, null);
      assert.deepEqual(r.evidence.rows, []);
    });
  });

  describe("bad input", () => {
    it("a scenario that cannot be read, or --write-docs with other options: exit 2, the message names the cause, nothing started", async () => {
      const [res, docs] = await Promise.all([rehearseCli(["--scenario", path.join(out, "missing.yaml"), "--json"]), rehearseCli(["--write-docs", "--no-drain"])]);
      assert.equal(res.code, 2);
      assert.equal(res.stdout, "");
      assert.match(res.stderr, /cannot read scenario .*missing\.yaml/);
      assert.equal(docs.code, 2);
      assert.match(docs.stderr, /--write-docs .* takes no other option \(got --no-drain\)/);
    });

    it("a bad --default-budget or --block: one clear error before anything starts", async () => {
      await assert.rejects(runRehearsal({ defaultBudget: "150%" }), /--default-budget.*"N%" with 1 <= N <= 100/);
      await assert.rejects(runRehearsal({ block: ["web"] }), /--block web: the scenario has no role web \(roles: app\)/);
      await assert.rejects(runRehearsal({ block: ["app"], noDrain: true }), /--block needs the drain/);
      await assert.rejects(runRehearsal({ retry: true }), /--retry needs --block ROLE/);
    });
  });

  describe("with a scenario of your own (--scenario FILE, Node manifests)", () => {
    it("takes its single pool as the old pool whatever its name, bumps the nodes' version, keeps the PDB floor", async () => {
      const node = (i: number) => `apiVersion: v1
kind: Node
metadata:
  name: blue-${i}
  labels: { cloud.google.com/gke-nodepool: blue, nodepool-rotation/role: web, env: prod }
status:
  allocatable: { cpu: "2", memory: 8Gi, pods: "30" }
  nodeInfo: { kubeletVersion: v1.30.2-gke.1500 }
`;
      const file = path.join(out, "custom.yaml");
      fs.writeFileSync(
        file,
        [
          `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: simulator, namespace: kube-system }\ndata: { podStartMs: "10", podReadyMs: "150", terminationGraceScale: "0.01", nodeBootMs: "50" }\n`,
          `apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n`,
          node(0),
          node(1),
          `apiVersion: apps/v1
kind: Deployment
metadata: { name: front, namespace: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: front } }
  template:
    metadata: { labels: { app: front } }
    spec:
      containers: [{ name: main, image: front:1, resources: { requests: { cpu: 100m, memory: 64Mi } } }]
`,
          `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: front, namespace: web }\nspec: { minAvailable: 2, selector: { matchLabels: { app: front } } }\n`,
        ].join("---\n"),
      );
      const r = await runRehearsal({ scenarioFile: file, outDir: out });
      const [web] = r.roles;
      assert.equal(web.oldPool.name, "blue");
      assert.equal(web.oldPool.version, "1.30.2-gke.1500");
      assert.match(web.newPool.name, /^web-1-30-3-gke1500-\d{8}-[0-9a-f]{5}$/);
      assert.equal(path.basename(r.picture), "rehearsal-custom-drain.svg");
      const front = r.workloads["web/Deployment/front"];
      assert.equal(front.floor, 2);
      assert.equal(front.msAtZero, 0);
      assert.equal(front.msBelowFloor, 0);
      assert.equal(r.evictions, 3);
      assert.equal(r.verdict.zeroDowntime, true);
      assert.equal(r.completed, true);
    });
  });
});

describe("rehearsal: two roles (app, batch) rotated in one update", function () {
  this.timeout(180_000);
  const out = scratchDir("rehearsal-two-");

  describe("both drains succeed", () => {
    let r: RehearsalResult;
    before(async () => {
      r = await runRehearsal({ scenarioFile: TWO_ROLES_SCENARIO_FILE, outDir: out, log: () => {} });
    });

    it("the engine deletes both old drainers in one batch, their drains overlapping in time, then both old pools", () => {
      const [app, batch] = r.roles;
      assert.deepEqual(r.roles.map((x) => x.role), ["app", "batch"]);
      assert.deepEqual(r.engine.deleteBatches.map((b) => b.slice().sort()), [
        [`drainer of ${app.oldPool.name}: ok`, `drainer of ${batch.oldPool.name}: ok`],
        [`pool ${app.oldPool.name}: ok`, `pool ${batch.oldPool.name}: ok`],
      ]);
      const at = (label: string) => r.timeline.markers.find((m) => m.label === label)!.t;
      const started = Math.max(at(`drain ${app.oldPool.name}`), at(`drain ${batch.oldPool.name}`));
      const firstDone = Math.min(at(`drain ${app.oldPool.name} done`), at(`drain ${batch.oldPool.name} done`));
      assert.ok(started < firstDone, "both drains were running at once");
      assert.ok(r.roles.every((x) => x.oldPoolDeleted && x.podsOnOldPool.length === 0 && x.guard === "nothing-to-move"));
      assert.deepEqual(r.engine.pendingDeletes, []);
      assert.deepEqual([batch.oldPool.zones, batch.newPool.nodes], [["asia-northeast1-a"], 2], "the zonal batch pool keeps its shape");
    });

    it("nothing serving was lost: zero downtime on both pools, implicit floors included; the evidence agrees", () => {
      assertZeroDowntime(r);
      assert.equal(r.workloads["jobs/StatefulSet/indexer"].floor, 2, "implicit 25% of 3");
      assertEvidenceAgrees(r, ["shop/Deployment/web", "shop/Deployment/api", "jobs/Deployment/consumer", "jobs/StatefulSet/indexer", SPANNING_WORKLOAD]);
      assert.equal(path.basename(r.picture), "rehearsal-two-roles-drain.svg");
    });

    it("a workload with a pod on EACH old pool and no PDB (shop/web-cache) never went below its implicit floor nor to zero: the two drains share its budget", () => {
      // Both drains had one of its pods to move (each drain reports the workloads of its own pool).
      for (const role of r.roles) {
        assert.ok(role.drain!.output.some((l) => l.includes(`availability ${SPANNING_WORKLOAD}: 2 replica(s), floor 1 (implicit 25%)`)), `${role.role}'s drain moved a ${SPANNING_WORKLOAD} pod`);
      }
      const w = r.workloads[SPANNING_WORKLOAD];
      assert.deepEqual([w.replicas, w.floor, w.floorSource], [2, 1, "implicit 25%"]);
      assert.equal(w.simulator!.floor, null, "no PDB: nothing on the API server protected it");
      assert.ok(w.minReady >= 1 && w.simulator!.minReady >= 1, `min Ready ${w.minReady} (prober), ${w.simulator!.minReady} (simulator)`);
      assert.deepEqual([w.msBelowFloor, w.msAtZero, w.simulator!.msAtZero], [0, 0, 0]);
    });
  });

  describe("app's drain blocked, then fixed and the next pulumi up (--block app --retry, through the CLI)", () => {
    let res: { code: number | null; stdout: string; stderr: string };
    let r: RehearsalResult;
    before(async () => {
      res = await rehearseCli(["--scenario", path.relative(ROOT, TWO_ROLES_SCENARIO_FILE), "--block", "app", "--retry", "--json", "--out", out]);
      r = JSON.parse(res.stdout);
    });

    it("exactly as the engine would: app's drain fails, which cancels the pool batch: BOTH old pools are kept", () => {
      assert.equal(res.code, 0, `the demonstration showed what it should:\n${res.stderr}`);
      const app = r.roles.find((x) => x.role === "app")!;
      const batch = r.roles.find((x) => x.role === "batch")!;
      assert.match(app.blockedBy!.pdb, /^shop\/rehearsal-block-/);
      assert.equal(app.drain!.ok, false);
      assert.match(app.drain!.error!, /rehearsal-block/, "the failure names the blocking PDB");
      assert.equal(batch.drain!.ok, true, "the other role's drain, in the same batch, ran to the end");
      assert.equal(r.engine.ok, false);
      assert.deepEqual(r.engine.deleteBatches[1].slice().sort(), [`pool ${app.oldPool.name}: cancelled`, `pool ${batch.oldPool.name}: cancelled`]);
      assert.deepEqual(r.engine.pendingDeletes.slice().sort(), [`drainer of ${app.oldPool.name}`, `pool ${app.oldPool.name}`, `pool ${batch.oldPool.name}`].sort());
      assert.equal(app.oldPoolDeleted || batch.oldPoolDeleted, false);
      assert.equal(app.guard ?? batch.guard, undefined, "the cancelled pool deletes never reached their hook");
      assert.match(app.keptBecause!, /its drain failed/);
      assert.match(batch.keptBecause!, /another role's drain failed/);
    });

    it("and nothing serving was lost: app's old pool uncordoned and serving, batch's drained (cordoned, empty), zero downtime", () => {
      const app = r.roles.find((x) => x.role === "app")!;
      const batch = r.roles.find((x) => x.role === "batch")!;
      assert.deepEqual(app.oldPoolCordoned, [], "the failed drain uncordoned its pool");
      assert.ok(app.podsOnOldPool.length > 0, "app's workloads still run on the kept pool");
      assert.equal(batch.oldPoolCordoned.length, batch.oldPool.nodes, "the drained pool stays cordoned until the next up deletes it");
      assert.deepEqual(batch.podsOnOldPool, []);
      assertZeroDowntime(r);
      assert.match(formatSummary(r), /pending delete in the stack \(the next pulumi up retries them\)/);
    });

    it("after the fix, the next pulumi up retries the pending deletes: app's drain, then both pools, each re-checked by the pool guard", () => {
      const app = r.roles.find((x) => x.role === "app")!;
      const batch = r.roles.find((x) => x.role === "batch")!;
      const retry = r.engine.retry!;
      assert.equal(retry.ok, true, retry.errors.join("\n"));
      assert.deepEqual(retry.deleteBatches.map((b) => b.slice().sort()), [
        [`drainer of ${app.oldPool.name}: ok`],
        [`pool ${app.oldPool.name}: ok`, `pool ${batch.oldPool.name}: ok`],
      ]);
      assert.deepEqual(retry.pendingDeletes, []);
      assert.equal(app.retry!.drain?.ok, true, "app's drain ran again and succeeded");
      assert.equal(batch.retry!.drain, null, "batch's drainer was gone: the pool guard is what checks its pool");
      assert.deepEqual([app.retry!.guard, batch.retry!.guard], ["nothing-to-move", "nothing-to-move"]);
      assert.ok(app.retry!.oldPoolDeleted && batch.retry!.oldPoolDeleted && r.completed);
      assert.deepEqual(app.retry!.podsOnOldPool, [], "app's pods had moved before its pool was deleted");
      assert.ok(claimHeld(r));
      assert.equal(path.basename(r.picture), "rehearsal-two-roles-drain-blocked-app-retry.svg");
    });
  });
});

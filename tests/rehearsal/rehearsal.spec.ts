/**
 * The proof, as a test: the default scenario rehearsed end to end with the real code, once with
 * the drain and once without (GKE's behaviour), asserting the "Done when" from the data.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { POOL_DEFAULTS } from "../../components/config";
import { poolName } from "../../components/naming";
import { decodePoints } from "./picture";
import { formatSummary } from "./report";
import { RehearsalResult, runRehearsal } from "./run";

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

function servingMultiReplica(r: RehearsalResult) {
  return Object.values(r.workloads).filter((w) => w.multiReplica && !w.batch);
}

describe("rehearsal: the default scenario end to end", function () {
  this.timeout(120_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-spec-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  describe("with the drain", () => {
    let r: RehearsalResult;
    before(async () => {
      r = await runRehearsal({ outDir: out, log: () => {} });
    });

    it("every multi-replica workload: 0 ms at zero ready and 0 ms below its PDB floor (prober and simulator agree)", () => {
      const guarded = servingMultiReplica(r);
      assert.ok(guarded.length >= 4, `expected nginx, api, redis, node-exporter; got ${guarded.map((w) => w.key)}`);
      for (const w of guarded) {
        assert.equal(w.msAtZero, 0, `${w.key} at zero ready`);
        assert.equal(w.msBelowFloor, 0, `${w.key} below floor ${w.floor}`);
        assert.ok(w.simulator, `${w.key} missing from the simulator's report`);
        assert.equal(w.simulator!.msAtZero, 0, `${w.key} at zero (simulator)`);
        assert.equal(w.simulator!.msBelowFloor, 0, `${w.key} below floor (simulator)`);
        if (w.floor !== null) assert.ok(w.minReady >= w.floor, `${w.key} min ready ${w.minReady} < floor ${w.floor}`);
      }
      assert.equal(r.verdict.zeroDowntime, true);
      assert.equal(r.proberWatchRestarts, 0, "the prober's watch never failed: its series are complete");
    });

    it("the pods really moved: evictions through the API, none left on the old pool when it was deleted", () => {
      const moved = Object.values(r.workloads).filter((w) => !w.batch && w.kind !== "DaemonSet").reduce((n, w) => n + w.replicas, 0);
      assert.ok(r.evictions >= moved, `evictions ${r.evictions} < ${moved} workload pods on the old pool`);
      assert.deepEqual(r.podsLeftOnOldPool, []);
      assert.equal(r.workloadPodsDeletedWithoutEviction, 0, "the simulator saw no workload pod killed");
      assert.ok(r.drain, "the drain ran");
      assert.match(r.drain!.via, /serialized delete\(\)/);
      assert.ok(r.drain!.output.some((l) => /\[PoolDrainer app-1-31-4-gke1100-20261101-[0-9a-f]{5}\] .*drained/.test(l)), r.drain!.output.join("\n"));
      // The PDBs were exercised, never exceeded: at most `allowed` disruptions at once.
      const nginx = r.pdbs["shop/nginx"];
      assert.equal(nginx.allowed, 1);
      assert.ok(nginx.maxConcurrentDisruptions <= 1 && nginx.maxConcurrentDisruptionsObserved <= 1);
      for (const [k, p] of Object.entries(r.pdbs)) assert.ok(p.maxConcurrentDisruptionsObserved <= (p.allowed ?? 0), `${k}`);
    });

    it("the single-replica worker's unavoidable gap is reported, not hidden", () => {
      const worker = r.workloads["shop/Deployment/worker"];
      assert.ok(worker.msAtZero > 0, "one pod cannot move without a gap");
      assert.match(worker.note ?? "", /single replica/);
      assert.deepEqual(r.verdict.singleReplicaGaps.map((g) => g.key), ["shop/Deployment/worker"]);
      const text = formatSummary(r);
      assert.match(text, /Verdict: ZERO DOWNTIME/);
      assert.match(text, new RegExp(`unavoidable single-replica gap: shop/Deployment/worker at zero ready for ${worker.msAtZero} ms`));
    });

    it("the new pool is named by components/naming.ts from the bumped version, and the old pool is gone", () => {
      assert.match(r.newPool.name, /^app-1-31-5-gke1023-20261120-[0-9a-f]{5}$/);
      const bumped = { ...POOL_DEFAULTS, role: "app", version: "1.31.5-gke.1023", rotatedOn: "2026-11-20", machineType: "e2-standard-4" };
      assert.equal(r.newPool.name, poolName(bumped as any, "staging"), "the program's name for the bumped stack config");
      const pools = r.timeline.pools;
      assert.equal(pools[r.newPool.name].at(-1)!.v, 6);
      assert.equal(pools[r.oldPool.name].at(-1)!.v, 0);
    });

    it("writes a picture carrying the same data", () => {
      const svg = fs.readFileSync(r.picture, "utf8");
      assert.equal(XMLValidator.validate(svg), true);
      const groups: any[] = [].concat(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(svg).svg.g);
      const wl = groups.filter((g) => g.class === "workload");
      assert.deepEqual(wl.map((g) => g["data-key"]).sort(), Object.keys(r.workloads).sort());
      for (const g of wl) assert.deepEqual(decodePoints(g["data-points"]), r.timeline.workloads[g["data-key"]].points.map((p) => ({ t: Math.round(p.t), v: p.v })));
      assert.deepEqual(groups.filter((g) => g.class === "pool").map((g) => g["data-pool"]).sort(), [r.newPool.name, r.oldPool.name].sort());
    });

    it("runs well under a minute", () => {
      assert.ok(r.totalMs < 30_000, `rotation took ${r.totalMs} ms`);
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

    it("shows the outage: at least one multi-replica workload reaches zero ready, none was evicted", () => {
      const down = servingMultiReplica(r).filter((w) => w.msAtZero > 0);
      assert.ok(down.length >= 1, "some multi-replica workload must reach zero");
      assert.ok(down.every((w) => (w.simulator?.msAtZero ?? 0) > 0), "the simulator measured the same outage");
      assert.equal(r.verdict.zeroDowntime, false);
      assert.deepEqual(r.verdict.outages.sort(), down.map((w) => w.key).sort());
      assert.equal(r.evictions, 0);
      assert.ok(r.podsLeftOnOldPool.length > 0);
      assert.equal(r.workloadPodsDeletedWithoutEviction, r.podsLeftOnOldPool.length, "the simulator counted the same killed pods");
      assert.equal(r.drain, null);
    });
  });

  describe("bad input", () => {
    it("a scenario that cannot be read: exit 2, the message names the file, nothing started", async () => {
      const res = await rehearseCli(["--scenario", path.join(out, "missing.yaml"), "--json"]);
      assert.equal(res.code, 2);
      assert.equal(res.stdout, "");
      assert.match(res.stderr, /cannot read scenario .*missing\.yaml/);
    });
  });

  describe("with a scenario of your own (--scenario FILE)", () => {
    /** A pool "blue" of 2 nodes (role web) and the given workload documents. */
    function customScenario(name: string, ...docs: string[]): string {
      const node = (i: number) => `apiVersion: v1
kind: Node
metadata:
  name: blue-${i}
  labels: { cloud.google.com/gke-nodepool: blue, nodepool-rotation/role: web, env: prod }
status:
  allocatable: { cpu: "2", memory: 8Gi, pods: "30" }
  nodeInfo: { kubeletVersion: v1.30.2-gke.1500 }
`;
      const file = path.join(out, name);
      fs.writeFileSync(
        file,
        [
          `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: simulator, namespace: kube-system }\ndata: { podStartMs: "10", podReadyMs: "150", terminationGraceScale: "0.01", nodeBootMs: "50" }\n`,
          `apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n`,
          node(0),
          node(1),
          ...docs,
        ].join("---\n"),
      );
      return file;
    }
    const deployment = (name: string, replicas: number, pdb: string) => [
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: main, image: ${name}:1, resources: { requests: { cpu: 100m, memory: 64Mi } } }]
`,
      `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: ${name}, namespace: web }\nspec: { ${pdb}, selector: { matchLabels: { app: ${name} } } }\n`,
    ];

    it("takes its single pool as the old pool whatever its name, bumps the nodes' version, keeps the PDB floor", async () => {
      const r = await runRehearsal({ scenarioFile: customScenario("custom.yaml", ...deployment("front", 3, "minAvailable: 2")), outDir: out });
      assert.equal(r.oldPool.name, "blue");
      assert.equal(r.oldPool.version, "1.30.2-gke.1500");
      assert.match(r.newPool.name, /^web-1-30-3-gke1500-\d{8}-[0-9a-f]{5}$/);
      const front = r.workloads["web/Deployment/front"];
      assert.equal(front.floor, 2);
      assert.equal(front.msAtZero, 0);
      assert.equal(front.msBelowFloor, 0);
      assert.equal(r.evictions, 3);
      assert.equal(r.verdict.zeroDowntime, true);
      assert.equal(r.completed, true);
    });

    it("a PDB that never allows an eviction: the drain fails, the old pool is kept and uncordoned, nothing went down", async () => {
      const file = customScenario("blocked.yaml", ...deployment("front", 3, "minAvailable: 2"), ...deployment("ledger", 2, "minAvailable: 2"));
      const r = await runRehearsal({ scenarioFile: file, outDir: out });
      assert.equal(r.completed, false);
      assert.match(r.failure ?? "", /web\/ledger/, "the failure names the blocking PDB");
      assert.equal(r.drain?.ok, false);
      assert.equal(r.timeline.pools.blue.at(-1)!.v, 2, "the old pool was not deleted");
      assert.deepEqual(r.oldPoolCordoned, [], "no old-pool node left cordoned");
      assert.equal(r.workloadPodsDeletedWithoutEviction, 0);
      for (const w of Object.values(r.workloads)) {
        assert.equal(w.msAtZero, 0, w.key);
        assert.equal(w.msBelowFloor, 0, w.key);
      }
      assert.match(formatSummary(r), /Rotation NOT completed: the drain failed/);
    });
  });
});

/**
 * The drain's estimated duration (estimate.ts): scenario in, estimate out. Budgets become waves
 * (ceil(pods on the pool / pods allowed at once)), each wave a replacement's start-to-Ready as the
 * pods' conditions show it; the range's ends are pinned to the figures the model gives.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { estimateDrain, planSnapshot, startToReadyMs } from "../../components/rotation";
import { DEFAULT_START_TO_READY_MS, DrainEstimate, formatEstimate, MAX_STARTUP_MS } from "../../components/rotation/estimate";
import { main } from "../../components/rotation/cli";
import { deployment, podSpec, PoolSim, startPoolSim } from "./sim";
import { node, pdb, pod, PodOpts } from "./fixtures";

const T0 = Date.parse("2026-11-20T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"); // the API's 1 s resolution

/** A pod that was scheduled at `at` (s after T0) and became Ready `readyS` seconds later. */
function timed(p: any, at: number, readyS: number, o: { created?: number; restarts?: number; grace?: number } = {}): any {
  p.metadata.creationTimestamp = iso(T0 + (o.created ?? at) * 1000);
  p.status.startTime = iso(T0 + at * 1000);
  p.status.conditions = [
    { type: "PodScheduled", status: "True", lastTransitionTime: iso(T0 + at * 1000) },
    { type: "Ready", status: "True", lastTransitionTime: iso(T0 + (at + readyS) * 1000) },
  ];
  p.status.containerStatuses = [{ name: "c", ready: true, restartCount: o.restarts ?? 0 }];
  if (o.grace !== undefined) p.spec.terminationGracePeriodSeconds = o.grace;
  return p;
}

/** `n` pods of workload `app` (ReplicaSet app-abc12), the first `onPool` on old nodes, each Ready `readyS` after scheduling. */
function workload(app: string, n: number, onPool: number, readyS: number | undefined, o: PodOpts & { grace?: number } = {}): any[] {
  return Array.from({ length: n }, (_, i) => {
    const p = pod("shop", `${app}-${i}`, i < onPool ? `old-${i % 2}` : `new-${i % 2}`, { labels: { app }, ...o });
    return readyS === undefined ? p : timed(p, i * 7, readyS, { grace: o.grace });
  });
}

function snap(pods: any[], pdbs: any[] = []) {
  return { nodes: [node("old-0", "old", { cpu: "64", pods: 200 }), node("old-1", "old", { cpu: "64", pods: 200 }), node("new-0", "new", { cpu: "64", pods: 200 }), node("new-1", "new", { cpu: "64", pods: 200 })], pods, pdbs };
}

const opts = { concurrency: 20, deadlineMs: 3_600_000 };
const S = 1000;

describe("drain estimate (estimate.ts)", () => {
  it("start-to-Ready: PodScheduled -> Ready, not creation (a pod Pending for capacity), and only from pods that are Ready and never restarted", () => {
    const p = timed(pod("shop", "a-1", "old-0"), 600, 45, { created: 0 }); // created, Pending 10 min, then 45 s to Ready
    assert.equal(startToReadyMs(p as V1Pod), 45 * S);
    delete p.status.conditions[0].lastTransitionTime; // no PodScheduled time: status.startTime
    assert.equal(startToReadyMs(p as V1Pod), 45 * S);
    assert.equal(startToReadyMs(timed(pod("shop", "a-2", "old-0"), 0, 45, { restarts: 1 }) as V1Pod), undefined, "a restart moves Ready's time");
    assert.equal(startToReadyMs(timed(pod("shop", "a-3", "old-0"), 0, MAX_STARTUP_MS / S + 1) as V1Pod), undefined, "a readiness flap long after start-up");
    assert.equal(startToReadyMs(pod("shop", "a-4", "old-0", { ready: false }) as V1Pod), undefined);
  });

  it("a PDB of maxUnavailable 1 over 4 pool pods observed at 45 s: 4 waves, 3 x (44..47 s) + termination (0..30 s)", () => {
    const s = snap(workload("web", 6, 4, 45), [pdb("shop", "web-pdb", { app: "web" }, { maxUnavailable: 1 })]);
    const e = estimateDrain(s, planSnapshot(s, { pool: "old" }), opts);
    const g = e.groups[0];
    assert.equal(g.budget, "pdb shop/web-pdb");
    assert.deepEqual([g.poolPods, g.atOnce, g.waves, g.samples, g.startToReadySource], [4, 1, 4, 6, "observed"]);
    assert.deepEqual(g.startToReadyMs, { low: 44 * S, high: 46 * S }, "45 s widened by the 1 s timestamp resolution");
    assert.deepEqual(g.ms, { low: 3 * 44 * S, high: 3 * (46 + 1) * S + 30 * S }, "3 waves of start-to-Ready (+1 s lag each in the high end), then the last pod's termination");
    assert.deepEqual(e.ms, { low: 132 * S, high: (141 + 30 + 1) * S });
    assert.equal(e.longest, "pdb shop/web-pdb");
    const text = formatEstimate(e).join("\n");
    assert.match(text, /^Estimated drain: 2m12s to 2m52s \(longest: pdb shop\/web-pdb\)/);
    assert.match(text, /pdb shop\/web-pdb: 4 pod\(s\) on the pool, 1 at a time: 4 wave\(s\); start-to-Ready 44s-46s \(observed on 6 pod\(s\)\): 2m12s to 2m51s/);
    assert.match(text, /assumes: start-to-Ready is observed per workload: PodScheduled to Ready/);
  });

  it("a bigger budget means fewer waves: maxUnavailable 25% of 8, the implicit 25% budget alike", () => {
    const pdbCase = snap(workload("web", 8, 8, 20), [pdb("shop", "web-pdb", { app: "web" }, { maxUnavailable: "25%" })]);
    const a = estimateDrain(pdbCase, planSnapshot(pdbCase, { pool: "old" }), opts).groups[0];
    assert.deepEqual([a.atOnce, a.waves], [2, 4]);
    const implicitCase = snap(workload("api", 8, 8, 20));
    const b = estimateDrain(implicitCase, planSnapshot(implicitCase, { pool: "old" }), opts).groups[0];
    assert.deepEqual([b.budget, b.atOnce, b.waves], ["implicit 25% shop/Deployment/api", 2, 4]);
    assert.deepEqual(b.ms, a.ms);
  });

  it("no usable times: the stated default, and the assumption says so", () => {
    const s = snap(workload("web", 3, 3, undefined), [pdb("shop", "web-pdb", { app: "web" }, { maxUnavailable: 1 })]);
    const e = estimateDrain(s, planSnapshot(s, { pool: "old" }), opts);
    const g = e.groups[0];
    assert.equal(g.startToReadySource, "default");
    assert.deepEqual(g.startToReadyMs, DEFAULT_START_TO_READY_MS);
    assert.deepEqual(g.ms, { low: 2 * 10 * S, high: 2 * 61 * S + 30 * S });
    assert.ok(e.assumptions.some((a) => /1 budget\(s\) have no pod with usable times .*assumed 10s-1m00s start-to-Ready/.test(a)), e.assumptions.join("\n"));
    assert.match(formatEstimate(e).join("\n"), /default: no usable times/);
  });

  it("a StatefulSet's wave waits for the evicted pod to be gone; no budget means one wave; concurrency bounds the high end", () => {
    const sts = workload("db", 3, 3, 10, { owner: { kind: "StatefulSet", name: "db" }, grace: 20 });
    const s1 = snap(sts, [pdb("shop", "db-pdb", { app: "db" }, { maxUnavailable: 1 })]);
    const g = estimateDrain(s1, planSnapshot(s1, { pool: "old" }), opts).groups[0];
    assert.equal(g.statefulSet, true);
    assert.deepEqual(g.ms, { low: 2 * 9 * S, high: 2 * (11 + 1 + 20) * S + 20 * S });
    // 100 pods without any budget (defaultBudget none), 30 s grace, concurrency 20: 5 rounds of terminations.
    const many = snap(workload("batch", 100, 100, 5));
    const e = estimateDrain(many, planSnapshot(many, { pool: "old", defaultBudget: "none" }), { concurrency: 20, deadlineMs: 60_000 });
    assert.deepEqual([e.groups[0].budget, e.groups[0].waves], ["no budget", 1]);
    assert.deepEqual(e.concurrencyMs, { low: 0, high: 5 * 30 * S });
    assert.equal(e.ms.high, S + 150 * S);
    assert.equal(e.exceedsDeadline, true);
    assert.ok(e.assumptions.some((a) => /beyond the drain's deadline \(1m00s\)/.test(a)));
  });

  it("budgets run side by side: the drain is as long as the longest; a not-yet-Ready budget and Job pods are stated", () => {
    const pods = [...workload("web", 4, 4, 30), ...workload("api", 2, 2, 5), pod("shop", "job-1", "old-0", { owner: { kind: "Job", name: "nightly" } })];
    pods[5].status.conditions[1].status = "False"; // one api pod not Ready
    const s = snap(pods, [pdb("shop", "web-pdb", { app: "web" }, { maxUnavailable: 1 }), pdb("shop", "api-pdb", { app: "api" }, { maxUnavailable: 1 })]);
    const e = estimateDrain(s, planSnapshot(s, { pool: "old" }), opts);
    assert.deepEqual(e.groups.map((g) => g.budget), ["pdb shop/web-pdb", "pdb shop/api-pdb"]);
    assert.equal(e.ms.low, Math.max(...e.groups.map((g) => g.ms.low)));
    assert.ok(e.assumptions.some((a) => /1 budget\(s\) allow fewer disruptions now/.test(a)), e.assumptions.join("\n"));
    assert.ok(e.assumptions.some((a) => /1 pod\(s\) run until they complete \(Jobs\)/.test(a)), e.assumptions.join("\n"));
  });
});

describe("drain estimate against a measured drain (simulator over HTTP, the real CLI)", function () {
  this.timeout(90_000);
  let ps: PoolSim | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await ps?.sim.stop();
    ps = undefined;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("plan prints the estimate (text and --json); the drain of the same pool takes a time inside its range", async () => {
    // Pods take 0.5 s to start and 2.5 s more to be Ready (podStartMs, podReadyMs), and exit after
    // their full 1 s grace period (terminationGraceScale 1): the times the plan observes.
    const grace = { terminationGracePeriodSeconds: 1 };
    const sts = {
      apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace: "shop", name: "db" },
      spec: { replicas: 2, serviceName: "db", selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } }, spec: podSpec(grace) } },
    };
    ps = await startPoolSim({ oldNodes: 2, newNodes: 2, timing: { podStartMs: 500, podReadyMs: 2500, terminationGraceScale: 1 }, objects: [
      ...deployment("shop", "web", 3, { maxUnavailable: 1 }, { spec: grace }),
      sts,
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: "shop", name: "db-pdb" }, spec: { selector: { matchLabels: { app: "db" } }, maxUnavailable: 1 } },
    ] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "estimate-"));
    const kcPath = path.join(dir, "kubeconfig");
    ps.sim.writeKubeconfig(kcPath);
    const run = async (args: string[]) => {
      let stdout = "", stderr = "";
      const code = await main([...args, "--kubeconfig", kcPath, "--pool", "old"], { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
      return { code, stdout, stderr };
    };

    const text = await run(["plan"]);
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.match(text.stdout, /^Estimated drain: \d+s to \d+s \(longest: pdb shop\/web-pdb\)$/m);
    assert.match(text.stdout, /^ {2}pdb shop\/web-pdb: 3 pod\(s\) on the pool, 1 at a time: 3 wave\(s\); start-to-Ready \ds-\ds \(observed on 3 pod\(s\)\)/m);
    assert.match(text.stdout, /^ {2}pdb shop\/db-pdb: 2 pod\(s\) on the pool, 1 at a time: 2 wave\(s\); .* \+ termination \(StatefulSet\)/m);
    assert.match(text.stdout, /^ {2}assumes: /m);
    const json = await run(["plan", "--json"]);
    const e: DrainEstimate = JSON.parse(json.stdout).estimate;
    const web = e.groups.find((g) => g.budget === "pdb shop/web-pdb")!;
    // Observed: 3 s between scheduling and Ready, seen through 1 s timestamps.
    assert.ok(web.startToReadyMs.low >= 1_000 && web.startToReadyMs.low <= 3_000 && web.startToReadyMs.high >= 3_000 && web.startToReadyMs.high <= 5_000, JSON.stringify(web));
    assert.deepEqual([web.waves, web.terminationMs.high], [3, 1000]);

    const drain = await run(["drain", "--json"]);
    assert.equal(drain.code, 0, drain.stderr);
    const summary = JSON.parse(drain.stdout);
    assert.equal(summary.evicted, 5);
    assert.match(drain.stderr, /^\[old\] Estimated drain: \d+s to \d+s \(longest: pdb shop\/web-pdb\)$/m, "the drain says what to expect");
    const measured: number = summary.durationMs;
    assert.ok(e.ms.low <= measured && measured <= e.ms.high, `measured ${measured} ms within the estimate ${e.ms.low}..${e.ms.high} ms`);
  });
});

/**
 * The worked example of docs/rotation.md ("How long a drain takes"): a 30-node pool at GKE scale.
 * web: 60 replicas, 45 s start-to-Ready, PDB maxUnavailable `webBudget`; api: 30 replicas, 20 s, no
 * PDB (implicit 25%); db: StatefulSet of 3, 90 s, 60 s grace, PDB maxUnavailable 1.
 */
function gkeExample(webBudget: number | string) {
  const nodes = [...Array.from({ length: 30 }, (_, i) => node(`old-${i}`, "old", { cpu: "8", memory: "32Gi" })), ...Array.from({ length: 30 }, (_, i) => node(`new-${i}`, "new", { cpu: "8", memory: "32Gi" }))];
  const pods: any[] = [];
  const add = (app: string, n: number, readyS: number, o: PodOpts & { grace?: number } = {}) => {
    for (let i = 0; i < n; i++) pods.push(timed(pod("shop", `${app}-${i}`, `old-${i % 30}`, { labels: { app }, cpu: "50m", ...o }), i * 11, readyS, { grace: o.grace ?? 30 }));
  };
  add("web", 60, 45);
  add("api", 30, 20);
  add("db", 3, 90, { owner: { kind: "StatefulSet", name: "db" }, grace: 60 });
  const pdbs = [pdb("shop", "web-pdb", { app: "web" }, { maxUnavailable: webBudget }), pdb("shop", "db-pdb", { app: "db" }, { maxUnavailable: 1 })];
  return { nodes, pods, pdbs };
}

describe("drain estimate: the worked example in docs/rotation.md", () => {
  const doc = fs.readFileSync(path.join(__dirname, "../../docs/rotation.md"), "utf8");
  for (const [budget, figures] of [[1, "43m16s to 46m44s"], ["10%", "6m36s to 7m34s"]] as const) {
    it(`web's PDB maxUnavailable ${budget}: the page's figures are the estimator's (${figures})`, () => {
      const s = gkeExample(budget);
      const e = estimateDrain(s, planSnapshot(s, { pool: "old" }), { concurrency: 20, deadlineMs: 3_600_000 });
      const text = formatEstimate(e).join("\n");
      assert.ok(text.startsWith(`Estimated drain: ${figures} (longest: pdb shop/web-pdb)`), text);
      for (const line of text.split("\n").filter((l) => !l.includes("assumes:"))) assert.ok(doc.includes(line.trim()), `docs/rotation.md quotes: ${line.trim()}`);
    });
  }
});

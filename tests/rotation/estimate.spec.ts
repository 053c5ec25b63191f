/**
 * The drain's estimated duration (estimate.ts): scenario in, estimate out. Budgets become waves
 * (ceil(pods on the pool / pods allowed at once)), each wave a replacement's start-to-Ready as the
 * pods' conditions show it; the range's ends are pinned to the figures the model gives.
 */
import * as assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { estimateDrain, planSnapshot, startToReadyMs } from "../../components/rotation";
import { DEFAULT_START_TO_READY_MS, formatEstimate, MAX_STARTUP_MS } from "../../components/rotation/estimate";
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

/**
 * The engine's benchmarks (issue 4), run by `npm run bench` (tests/bench/bench.ts):
 *
 * 1. drain: a 20-node pool with 10 Deployments x 10 replicas, each PDB maxUnavailable 1, pod
 *    readiness delay t. Drain time / the PDB-bound lower limit (max over workloads of
 *    ceil(replicas / allowed) x t = 10 t; target <= 1.2), and / a sequential kubectl-style drain
 *    (tests/bench/kubectlStyle.ts; 5 s after each 429, 1 s polling, both scaled like t; target: ours
 *    >= 3x faster; also reported against the same drain with every pool node cordoned first, the
 *    careful manual procedure, which avoids pods bouncing between old nodes); API requests per
 *    evicted pod (from the simulator's report).
 *    Time scale: t stands for a 10 s real readiness delay, so f = t / 10 s scales kubectl's waits
 *    and pod termination (terminationGracePeriodSeconds 2: a pod that exits 2 s after SIGTERM).
 * 2. plan scale: planSnapshot over 5,000 nodes / 150,000 pods / 3,000 PDBs (< 3 s, < 1 GiB).
 * 3. drain at scale (tests/bench/scale.ts): a 100-node pool with 3,000 pods and PDBs inside a
 *    1,000-node / 30,000-pod cluster, the engine in a process of its own: drain time / PDB-bound
 *    lower limit (<= 1.2), API requests per evicted pod (<= 1.5), peak RSS (< 500 MiB), and what
 *    the cluster-wide pod list and watch cost next to per-namespace / per-node alternatives.
 */
import { drainPool } from "../../components/rotation";
import { deployment, PoolSim, startPoolSim } from "../rotation/sim";
import { kubectlStyleDrain } from "./kubectlStyle";
import { benchPlanScale } from "./planScale";
import { benchScaleDrain } from "./scale";
import { secs, Target, times } from "./figures";

/** Readiness delay t in ms (BENCH_T_MS overrides). */
const T_MS = Number(process.env.BENCH_T_MS ?? 400);
const REAL_T_MS = 10_000;
const DEPLOYMENTS = 10;
const REPLICAS = 10;

function benchScenario(t: number): Promise<PoolSim> {
  const objects: any[] = [];
  for (let i = 0; i < DEPLOYMENTS; i++) objects.push(...deployment("bench", `app${i}`, REPLICAS, { maxUnavailable: 1 }, { spec: { terminationGracePeriodSeconds: 2 } }));
  return startPoolSim({ oldNodes: 20, newNodes: 20, objects, timing: { podStartMs: 1, podReadyMs: t, terminationGraceScale: t / REAL_T_MS, nodeBootMs: 10 } });
}

function floorsKept(ps: PoolSim): { violations: number; deletedWithoutEviction: number } {
  const r = ps.sim.report();
  return { violations: Object.values(r.workloads).filter((w) => w.floor !== null && w.msBelowFloor > 0).length, deletedWithoutEviction: r.podsDeletedWithoutEviction };
}

/** Drain time vs the PDB-bound lower limit and vs a kubectl-style sequential drain; requests per evicted pod. */
export async function benchDrain(t = T_MS) {
  const lowerBoundMs = 10 * t; // ceil(10 replicas / 1 allowed) x t
  const scale = t / REAL_T_MS;

  let ps = await benchScenario(t);
  let ours;
  try {
    const before = ps.sim.report();
    // waitForReady: the drain ends when every moved workload is whole again, as the lower limit
    // (which includes the last replacement's readiness) assumes. kubectl drain ends when the
    // evicted pods are deleted, so the speed-up compares with the drain's "evicted" phase.
    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    const after = ps.sim.report();
    const evictions = after.evictions - before.evictions;
    ours = { durationMs: s.durationMs, podsGoneMs: s.phasesMs!.evicted, phasesMs: s.phasesMs, evicted: s.evicted, apiRequests: s.apiRequests!, served: after.totalRequests - before.totalRequests, evictions, rejected429: s.rejected429, ...floorsKept(ps) };
  } finally {
    await ps.sim.stop();
  }

  ps = await benchScenario(t);
  let seq;
  try {
    const before = ps.sim.report();
    const r = await kubectlStyleDrain(ps.kc, "old", scale);
    const after = ps.sim.report();
    seq = { ...r, served: after.totalRequests - before.totalRequests, ...floorsKept(ps) };
  } finally {
    await ps.sim.stop();
  }

  ps = await benchScenario(t);
  let pre;
  try {
    const before = ps.sim.report();
    const r = await kubectlStyleDrain(ps.kc, "old", scale, true);
    const after = ps.sim.report();
    pre = { ...r, served: after.totalRequests - before.totalRequests, ...floorsKept(ps) };
  } finally {
    await ps.sim.stop();
  }

  const vsLower = ours.durationMs / lowerBoundMs;
  // Same end condition as kubectl drain (every evicted pod deleted): the drain's "evicted" phase.
  const speedup = seq.durationMs / ours.podsGoneMs;
  const perPod = ours.served / ours.evictions;
  return {
    setup: { poolNodes: 20, deployments: 10, replicas: 10, pdb: "maxUnavailable 1", tMs: t, scale: `t = ${REAL_T_MS / 1000} s real; kubectl 429 wait ${Math.round(5000 * scale)} ms, poll ${Math.round(1000 * scale)} ms, pod exit ${Math.round(2000 * scale)} ms` },
    lowerBoundMs,
    ours,
    kubectlStyle: seq,
    kubectlStylePrecordoned: pre,
    ratios: { drainOverLowerBound: +vsLower.toFixed(3), speedupVsSequential: +speedup.toFixed(2), requestsPerEvictedPod: +perPod.toFixed(2), kubectlRequestsPerEvictedPod: +(seq.served / Math.max(1, seq.evicted)).toFixed(2), speedupVsPrecordonedSequential: +(pre.durationMs / ours.podsGoneMs).toFixed(2), speedupIncludingReadinessWait: +(seq.durationMs / ours.durationMs).toFixed(2) },
    reported: [
      { name: "vs kubectl-style with the whole pool cordoned first", figure: `${secs(pre.durationMs)}: ours ${times(pre.durationMs / ours.podsGoneMs, 2)} faster` },
      { name: "kubectl-style's own cost", figure: `${seq.evicted} accepted evictions for the pool's ${DEPLOYMENTS * REPLICAS} pods${seq.evicted > DEPLOYMENTS * REPLICAS ? " (node by node, its evicted pods landed on old nodes not yet drained and were evicted again)" : ""}, ${seq.rejected429} more answered 429 (ours: ${ours.rejected429}), ${(seq.served / Math.max(1, seq.evicted)).toFixed(2)} API requests per accepted eviction` },
    ],
    targets: [
      { name: "drain time <= 1.2x PDB-bound lower limit", met: vsLower <= 1.2, value: +vsLower.toFixed(3), target: 1.2,
        figure: `${secs(ours.durationMs)} until every moved workload is Ready again = **${times(vsLower)}** the lower limit (t = ${t} ms, 10 t = ${secs(lowerBoundMs)})` },
      { name: "drain >= 3x faster than sequential kubectl-style", met: speedup >= 3, value: +speedup.toFixed(2), target: 3,
        figure: `until the evicted pods are gone: kubectl-style ${secs(seq.durationMs)} vs ours ${secs(ours.podsGoneMs)} = **${times(speedup, 2)}** (${times(seq.durationMs / ours.durationMs, 2)} if ours also waits for Ready again)` },
      { name: "< 3 API requests per evicted pod", met: perPod < 3, value: +perPod.toFixed(2), target: 3,
        figure: `**${perPod.toFixed(2)}** (${ours.served} requests served, ${ours.evictions} evictions)` },
      { name: "0 PDB floor violations, 0 pods deleted without eviction", met: ours.violations === 0 && ours.deletedWithoutEviction === 0, value: ours.violations + ours.deletedWithoutEviction, target: 0,
        figure: `${ours.violations} / ${ours.deletedWithoutEviction}` },
    ] satisfies Target[],
  };
}

/** planSnapshot on 5,000 nodes / 150,000 pods / 3,000 PDBs. */
export async function benchPlan() {
  const f = benchPlanScale();
  return {
    ...f,
    targets: [
      { name: "plan 5k nodes/150k pods/3k PDBs < 3 s", met: f.planMs < f.targetMs, value: f.planMs, target: f.targetMs,
        figure: `**${secs(f.planMs)}** (${f.poolNodes} pool nodes, ${f.poolPods} pool pods, ${f.blockers} blockers)` },
      { name: "plan memory (RSS incl. the snapshot) < 1 GiB", met: f.rssMiB < f.targetMiB, value: f.rssMiB, target: f.targetMiB,
        figure: `**${f.rssMiB} MiB** RSS (${f.heapUsedMiB} MiB heap)` },
    ] satisfies Target[],
  };
}

/** What `npm run bench` runs, in order. */
export const benchmarks = [
  { name: "rotation drain (20-node pool, 10x10 replicas, PDB maxUnavailable 1)", run: () => benchDrain() },
  { name: "rotation plan scale (5,000 nodes / 150,000 pods / 3,000 PDBs)", run: () => benchPlan() },
  { name: "rotation drain at scale (100-node pool, 3,000 pods, in 1,000 nodes / 30,000 pods)", run: () => benchScaleDrain() },
];

if (require.main === module) {
  (async () => {
    for (const b of benchmarks) console.log(b.name, JSON.stringify(await b.run(), null, 2));
  })().catch((e) => { console.error(e); process.exitCode = 2; });
}

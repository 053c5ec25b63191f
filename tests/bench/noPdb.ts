/**
 * Benchmark of the implicit budget (issue 11), run by `npm run bench` (wired in tests/bench/bench.ts):
 * a 20-node pool with 10 Deployments x 10 replicas and NO PodDisruptionBudget, default budget
 * (25%: maxUnavailable ceil(2.5) = 3, floor 7), pod readiness delay t.
 *
 * Lower limit the budget implies (same reasoning as the PDB case in tests/bench/engine.ts): a
 * workload can lose at most 3 Ready pods at once and a replacement needs t to become Ready, so
 * moving 10 pods takes at least ceil(10 / 3) = 4 waves of t = 4 t (the workloads move in
 * parallel). Targets, measured as ratios in one run:
 *   - drain time (to every moved workload Ready again, waitForReady) <= 1.2 x that limit;
 *   - 0 ms at zero and 0 ms below the implicit floor (the engine's own evidence, cross-checked
 *     with the simulator's report: min Ready >= 7, 0 ms at zero);
 *   - API requests per evicted pod <= 1.5 (requests the simulator served / evictions).
 */
import { drainPool, implicitBudget } from "../../components/rotation";
import { deployment, startPoolSim } from "../rotation/sim";
import { secs, Target, times } from "./figures";

/**
 * Readiness delay t in ms (BENCH_NOPDB_T_MS overrides). It stands for a 10 s real delay, like the
 * PDB case's t, but is 1 s rather than 400 ms: the implicit budget's limit is 4 waves, not 10, and
 * the fixed costs that do not scale with t (six lists, cordoning 20 nodes, ~0.1-0.3 s) must weigh
 * on it as they do on the PDB case's 10 t = 4 s, not 2.5 times more (on GKE they are < 1% of 4 x 10 s).
 */
const T_MS = Number(process.env.BENCH_NOPDB_T_MS ?? 1000);
const REAL_T_MS = 10_000;
const REPLICAS = 10;
const DEPLOYMENTS = 10;

/** Drain of a PDB-less pool under the default implicit budget, against its lower limit. */
export async function benchNoPdb(t = T_MS) {
  const b = implicitBudget("25%", REPLICAS)!;
  const lowerBoundMs = Math.ceil(REPLICAS / b.maxUnavailable) * t;
  const objects: any[] = [];
  for (let i = 0; i < DEPLOYMENTS; i++) objects.push(...deployment("bench", `app${i}`, REPLICAS, undefined, { spec: { terminationGracePeriodSeconds: 2 } }));
  const ps = await startPoolSim({ oldNodes: 20, newNodes: 20, objects, timing: { podStartMs: 1, podReadyMs: t, terminationGraceScale: t / REAL_T_MS, nodeBootMs: 10 } });
  try {
    const before = ps.sim.report();
    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    const after = ps.sim.report();
    const evictions = after.evictions - before.evictions;
    const served = after.totalRequests - before.totalRequests;
    const sim = Object.entries(after.workloads).filter(([w]) => w.startsWith("bench/"));
    const engine = {
      msAtZero: s.availability.reduce((n, a) => n + a.msAtZero, 0),
      msBelowFloor: s.availability.reduce((n, a) => n + a.msBelowFloor, 0),
      minReady: Math.min(...s.availability.map((a) => a.minReady)),
      workloads: s.availability.length,
    };
    const simulator = {
      msAtZero: sim.reduce((n, [, w]) => n + w.msAtZero, 0),
      minReady: Math.min(...sim.map(([, w]) => w.minReady)),
      podsDeletedWithoutEviction: after.podsDeletedWithoutEviction - before.podsDeletedWithoutEviction,
    };
    const vsLower = s.durationMs / lowerBoundMs;
    const perPod = served / Math.max(1, evictions);
    const floorsKept = engine.msAtZero === 0 && engine.msBelowFloor === 0 && simulator.msAtZero === 0 && simulator.minReady >= b.floor && engine.workloads === DEPLOYMENTS;
    return {
      setup: { poolNodes: 20, deployments: DEPLOYMENTS, replicas: REPLICAS, pdb: "none", defaultBudget: "25%", maxUnavailable: b.maxUnavailable, floor: b.floor, tMs: t },
      lowerBoundMs,
      ours: { durationMs: s.durationMs, phasesMs: s.phasesMs, evicted: s.evicted, evictions, served, apiRequests: s.apiRequests, requestsByKind: s.requestsByKind },
      engineEvidence: engine,
      simulatorReport: simulator,
      ratios: { drainOverLowerBound: +vsLower.toFixed(3), requestsPerEvictedPod: +perPod.toFixed(2) },
      targets: [
        { name: "no PDB: drain time <= 1.2x the lower limit the implicit budget implies", met: vsLower <= 1.2, value: +vsLower.toFixed(3), target: 1.2,
          figure: `${secs(s.durationMs)} = **${times(vsLower)}** the lower limit (t = ${t} ms, ceil(${REPLICAS} / ${b.maxUnavailable}) t = ${secs(lowerBoundMs)})` },
        { name: "no PDB: 0 ms at zero, 0 ms below the implicit floor (engine evidence and simulator agree)", met: floorsKept && simulator.podsDeletedWithoutEviction === 0,
          value: engine.msAtZero + engine.msBelowFloor + simulator.msAtZero + simulator.podsDeletedWithoutEviction, target: 0,
          figure: `engine: ${engine.msAtZero} ms at zero, ${engine.msBelowFloor} ms below the floor of ${b.floor}, min ready ${engine.minReady} (${engine.workloads} workloads); ` +
            `simulator: ${simulator.msAtZero} ms at zero, min ready ${simulator.minReady}, ${simulator.podsDeletedWithoutEviction} pods deleted without eviction` },
        { name: "no PDB: <= 1.5 API requests per evicted pod", met: perPod <= 1.5, value: +perPod.toFixed(2), target: 1.5,
          figure: `**${perPod.toFixed(2)}** (${served} requests served, ${evictions} evictions)` },
      ] satisfies Target[],
    };
  } finally {
    await ps.sim.stop();
  }
}

/** What `npm run bench` adds to the engine's benchmarks. */
export const benchmarks = [
  { name: "rotation drain without PDBs (20-node pool, 10x10 replicas, default implicit budget 25%)", run: () => benchNoPdb() },
];

if (require.main === module) {
  benchNoPdb().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => { console.error(e); process.exitCode = 2; });
}

/** Plan logic at scale: planSnapshot over an in-memory 5,000-node / 150,000-pod / 3,000-PDB cluster. */
import { planSnapshot } from "../../components/rotation";
import { bigCluster } from "../rotation/fixtures";

export interface PlanScaleFigures { nodes: number; pods: number; pdbs: number; poolNodes: number; poolPods: number; planMs: number; heapUsedMiB: number; rssMiB: number; blockers: number; targetMs: number; targetMiB: number }

/** Builds the snapshot, then times one planSnapshot call (after one warm-up on a small cluster). */
export function benchPlanScale(size = { nodes: 5000, pods: 150_000, pdbs: 3000 }): PlanScaleFigures {
  planSnapshot(bigCluster({ nodes: 50, pods: 1000, pdbs: 30 }), { pool: "old" }); // JIT warm-up
  const c = bigCluster({ ...size, drainNodes: Math.round(size.nodes / 10) });
  const t0 = process.hrtime.bigint();
  const plan = planSnapshot(c, { pool: c.pool });
  const planMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const mem = process.memoryUsage();
  return {
    ...size, poolNodes: plan.nodes.length, poolPods: plan.pods.length, planMs: Math.round(planMs),
    heapUsedMiB: Math.round(mem.heapUsed / 2 ** 20), rssMiB: Math.round(mem.rss / 2 ** 20), blockers: plan.blockers.length,
    targetMs: 3000, targetMiB: 1024,
  };
}

if (require.main === module) console.log(JSON.stringify(benchPlanScale(), null, 2));

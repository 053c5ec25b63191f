/**
 * The fix a PDB that never allows a disruption gets depends on its form (advice.ts): scaling the
 * workload up helps only an integer minAvailable (a floor that stays put), never maxUnavailable: 0
 * or minAvailable: 100% (floors that grow with the workload). Pinned through the plan's blocker
 * text, and the claim behind each advice checked against the floor arithmetic (pdb.ts).
 */
import * as assert from "node:assert/strict";
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import { neverAllowsReason, pdbFloor, planSnapshot } from "../../components/rotation";
import { neverAllowsFix, replicasFreeingOne } from "../../components/rotation/advice";
import { node, pdb, pod } from "./fixtures";

/** The plan's blocker for a workload of `replicas` pods (one on the old pool) under a PDB with `spec`. */
function blockerFor(spec: { minAvailable?: number | string; maxUnavailable?: number | string }, replicas: number): string {
  const s = { nodes: [node("old-1", "old"), node("new-1", "new")], pods: [] as any[], pdbs: [pdb("shop", "db-pdb", { app: "db" }, spec)] };
  for (let i = 0; i < replicas; i++) s.pods.push(pod("shop", `db-${i}`, i ? "new-1" : "old-1", { labels: { app: "db" } }));
  const blockers = planSnapshot(s, { pool: "old" }).blockers.filter((b) => b.includes("can never allow a disruption"));
  assert.equal(blockers.length, 1, `one never-allows blocker for ${JSON.stringify(spec)}`);
  return blockers[0];
}

/** Does `spec` let one eviction happen with `replicas` healthy pods? */
const allowsOneAt = (spec: object, replicas: number) => replicas - pdbFloor({ spec }, replicas) >= 1;

describe("advice for a PodDisruptionBudget that never allows a disruption, by its form", () => {
  it("maxUnavailable: 0 -> raise maxUnavailable; scaling up is said not to help (and does not)", () => {
    const b = blockerFor({ maxUnavailable: 0 }, 3);
    assert.match(b, /\(maxUnavailable: 0\); it covers 1 pod\(s\) on the pool: set maxUnavailable to 1 or more \(scaling the workload up does not help/);
    assert.doesNotMatch(b, /scale the workload (up )?to/);
    for (const n of [3, 10, 100]) assert.ok(!allowsOneAt({ maxUnavailable: 0 }, n));
    assert.match(blockerFor({ maxUnavailable: "0%" }, 2), /set maxUnavailable to 1 or more/);
  });

  it("minAvailable: 100% -> lower it or use maxUnavailable; scaling up is said not to help (and does not)", () => {
    const b = blockerFor({ minAvailable: "100%" }, 3);
    assert.match(b, /\(minAvailable: 100%\); it covers 1 pod\(s\) on the pool: lower minAvailable below 100% or use maxUnavailable: 1 instead \(scaling the workload up does not help/);
    for (const n of [3, 10, 100]) assert.ok(!allowsOneAt({ minAvailable: "100%" }, n));
  });

  it("minAvailable: N (integer) equal to the replicas -> lower it, or scale to N + 1, which does free a pod", () => {
    const b = blockerFor({ minAvailable: 2 }, 2);
    assert.match(b, /\(minAvailable: 2 >= 2 expected pods\); it covers 1 pod\(s\) on the pool: lower minAvailable below 2 \(or use maxUnavailable: 1 instead\), or scale the workload up to 3 replicas or more/);
    assert.ok(!allowsOneAt({ minAvailable: 2 }, 2) && allowsOneAt({ minAvailable: 2 }, 3));
    // minAvailable above the replica count: scaling to N + 1, not replicas + 1.
    assert.match(blockerFor({ minAvailable: 4 }, 2), /lower minAvailable below 2 .*scale the workload up to 5 replicas or more/);
    assert.ok(!allowsOneAt({ minAvailable: 4 }, 4) && allowsOneAt({ minAvailable: 4 }, 5));
  });

  it("minAvailable: P% below 100 -> the replica count from which rounding up frees a pod", () => {
    const b = blockerFor({ minAvailable: "90%" }, 2);
    assert.match(b, /\(minAvailable: 90% >= 2 expected pods\).*scale the workload to 10 replicas or more \(minAvailable: 90% rounds up: it frees a pod only from 10 replicas\)/);
    for (const p of [50, 75, 90, 99]) {
      const n = replicasFreeingOne(p)!;
      assert.ok(allowsOneAt({ minAvailable: `${p}%` }, n) && !allowsOneAt({ minAvailable: `${p}%` }, n - 1), `${p}%: frees one from ${n}`);
    }
    assert.equal(replicasFreeingOne(100), undefined);
  });

  it("every advice goes with a PDB that neverAllowsReason flags, and none tells maxUnavailable: 0 or 100% to scale up", () => {
    for (const spec of [{ maxUnavailable: 0 }, { maxUnavailable: "0%" }, { minAvailable: "100%" }]) {
      assert.ok(neverAllowsReason({ spec }, 5));
      assert.doesNotMatch(neverAllowsFix({ spec } as V1PodDisruptionBudget, 5), /or scale the workload/);
    }
  });
});

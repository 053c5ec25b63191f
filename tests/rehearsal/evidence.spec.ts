/**
 * Reading the engine's availability lines back and comparing them with the other observers.
 */
import * as assert from "node:assert/strict";
import { formatAvailability, WorkloadAvailability } from "../../components/rotation/availability";
import { AGREEMENT_TOLERANCE_MS, compareEvidence, parseAvailability } from "./evidence";

const row = (over: Partial<WorkloadAvailability> = {}): WorkloadAvailability => ({
  workload: "shop/Deployment/web",
  replicas: 6,
  floor: 4,
  floorSource: "implicit 25%",
  minReady: 4,
  msBelowFloor: 0,
  msAtZero: 0,
  readyAtEnd: 6,
  readyAtStart: 6,
  ...over,
});

describe("rehearsal: the engine's availability evidence", () => {
  it("reads back exactly what the engine's formatAvailability prints, behind the drainer's prefix", () => {
    const rows = [
      row(),
      row({ workload: "shop/Deployment/worker", replicas: 1, floor: 0, minReady: 0, msAtZero: 341.27, readyAtEnd: 1 }),
      row({ workload: "shop/StatefulSet/redis", replicas: 3, floor: 2, floorSource: "pdb shop/redis", minReady: 1, msBelowFloor: 4.24, readyAtEnd: 3 }),
    ];
    const lines = formatAvailability(rows).map((l) => `[PoolDrainer app-1] ${l}`);
    const back = parseAvailability(["[PoolDrainer app-1] drained: 6 node(s)", ...lines]);
    assert.deepEqual(back.map((r) => r.workload), rows.map((r) => r.workload));
    assert.deepEqual(back[1], { ...rows[1], msAtZero: 341 }, "ms printed rounded: integers from 10 ms");
    assert.deepEqual(back[2], { ...rows[2], msBelowFloor: 4.2 }, "one decimal below 10 ms");
    assert.deepEqual(back[0], rows[0]);
    assert.deepEqual(parseAvailability(formatAvailability([])), [], "'no workload was moved' is no row");
  });

  it("compares floors and min ready exactly and times within the tolerance; says which differ", () => {
    const fig = (msAtZero: number, floor: number | null, minReady = 4, sim = msAtZero) =>
      ({ key: "k", kind: "Deployment", replicas: 6, floor, minReady, msAtZero, msBelowFloor: 0, multiReplica: true, batch: false, simulator: { floor: null, minReady, msAtZero: sim, msBelowFloor: 0 } }) as any;
    const ok = compareEvidence([{ role: "app", rows: [row({ msAtZero: 10 })] }], { "shop/Deployment/web": fig(12, 4, 4, 15) });
    assert.equal(ok.agree, true);
    assert.deepEqual([ok.maxDeltaProberMs, ok.maxDeltaSimulatorMs], [2, 5]);
    const far = compareEvidence([{ role: "app", rows: [row({ msAtZero: 10 })] }], { "shop/Deployment/web": fig(10 + AGREEMENT_TOLERANCE_MS + 1, 4) });
    assert.equal(far.agree, false);
    const floor = compareEvidence([{ role: "app", rows: [row()] }], { "shop/Deployment/web": fig(0, 3) });
    assert.deepEqual([floor.rows[0].floorsAgree, floor.agree], [false, false]);
    const none = compareEvidence([{ role: "app", rows: [row({ floor: 0, floorSource: "none" })] }], { "shop/Deployment/web": fig(0, null) });
    assert.equal(none.rows[0].floorsAgree, true, "no budget: floor 0 for the engine, no floor for the rehearsal");
    const missing = compareEvidence([{ role: "app", rows: [row()] }], {});
    assert.equal(missing.agree, false, "a workload the prober did not follow cannot agree");
  });
});

import * as assert from "node:assert/strict";
import { collectBenchmarks, formatBench, runBenchmarks } from "../bench/bench";

describe("bench aggregator (npm run bench)", () => {
  it("collects bench… functions in export order, or an explicit benchmarks list first", () => {
    const fnMod = { benchDrain: async () => ({}), helper: () => 1, benchPlan: async () => ({}), notABench: 3 };
    assert.deepEqual(collectBenchmarks(fnMod).map((b) => b.name), ["benchDrain", "benchPlan"]);
    const listMod = { benchmarks: [{ name: "drain", run: async () => ({}) }], benchIgnored: async () => ({}) };
    assert.deepEqual(collectBenchmarks(listMod).map((b) => b.name), ["drain"]);
    assert.throws(() => collectBenchmarks({ benchmarks: [{ name: "x" }] }), /benchmarks\[0\] has no run\(\)/);
  });

  it("runs them one at a time, keeps going after a failure, and counts met and missed targets", async () => {
    let running = 0;
    let maxRunning = 0;
    const slow = (result: unknown) => async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return result;
    };
    const run = await runBenchmarks([
      { name: "drain", run: slow({ ratio: 1.1, targets: [{ name: "<= 1.2x lower limit", met: true, value: 1.1 }, { name: ">= 3x sequential", met: false, value: 2.5 }] }) },
      { name: "boom", run: async () => { throw new Error("simulator did not start"); } },
      { name: "plan", run: slow({ ms: 1200, met: true, target: "plan < 3 s" }) },
    ]);
    assert.equal(maxRunning, 1, "never two benchmarks at once");
    assert.deepEqual(run.benchmarks.map((b) => [b.name, b.ok]), [["drain", true], ["boom", false], ["plan", true]]);
    assert.match(run.benchmarks[1].error ?? "", /simulator did not start/);
    assert.equal(run.targetsMet, 2);
    assert.equal(run.targetsMissed, 1);
    const text = formatBench(run);
    assert.match(text, /target >= 3x sequential: MISSED/);
    assert.match(text, /target plan < 3 s: MET/);
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(run)));
  });
});

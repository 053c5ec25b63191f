/**
 * The drain reads time through an injected Clock (components/rotation/clock.ts): a phase that lasts
 * half an hour on the drain's clock — the final soak — is driven in no real time by a fake clock,
 * against the simulator over HTTP. With Date.now() inside the engine this spec would wait 30 min.
 */
import * as assert from "node:assert/strict";
import { drainPool, DrainSummary } from "../../components/rotation";
import { FakeClock } from "../support/clock";
import { waitFor } from "../support/wait";
import { deployment, PoolSim, startPoolSim } from "./sim";

describe("rotation drain with an injected clock (simulator, HTTP)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  afterEach(async () => {
    await ps?.sim.stop();
    ps = undefined;
  });

  it("a 30-minute soak ends when the fake clock passes it, not before, and the summary counts clock time", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    const clock = new FakeClock();
    const logs: string[] = [];
    const soakMs = 30 * 60_000;
    const realStart = Date.now();
    let done: DrainSummary | undefined;
    const drain = drainPool(ps.kc, { pool: "old", soakMs, deadlineMs: 2 * 3600_000, clock, log: (l) => logs.push(l) }).then((s) => (done = s));

    await waitFor("the soak to start", () => logs.some((l) => l.includes(`soak: ${soakMs} ms`)));
    clock.advance(soakMs - 60_000);
    // Still soaking one (fake) minute before its end, however long real time the events take.
    await new Promise((r) => setImmediate(r));
    assert.equal(done, undefined, "the soak has not ended before its time on the drain's clock");
    clock.advance(60_000);
    const s = await drain;

    assert.equal(s.outcome, "drained");
    assert.equal(s.evicted, 4);
    assert.ok((s.phasesMs?.soaked ?? 0) >= soakMs, `soak phase ended at ${s.phasesMs?.soaked} ms of clock time`);
    assert.ok(s.durationMs >= soakMs, `duration ${s.durationMs} ms is clock time`);
    assert.ok(Date.now() - realStart < 45_000, "no real half hour passed");
    assert.deepEqual((await ps.view.podsOn(ps.oldNodes)).map((p) => p.metadata.name), [], "the old pool is empty");
  });
});

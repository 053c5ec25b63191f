/**
 * Seeded faults: 500/503 fractions, 429 with Retry-After, dropped connections, early-closed watches,
 * latency; set at start or with setFaults(), reproducible from a seed.
 */
import * as assert from "node:assert/strict";
import { CoreV1Api, Watch } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { FAST, http } from "./helpers";

describe("simulator faults", function () {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ timing: FAST, faults: { seed: 42, errorRate: 0.3 } });
  });
  after(() => sim.stop());

  const statuses = async (n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await http(sim.url, "GET", "/api/v1/namespaces/default/configmaps")).status);
    return out;
  };

  it("answers a seeded fraction of API requests with 500/503, reproducibly", async () => {
    const a = await statuses(200);
    const errors = a.filter((s) => s === 500 || s === 503).length;
    assert.ok(errors > 35 && errors < 85, `${errors}/200 errors at rate 0.3`);
    assert.ok(a.includes(500) && a.includes(503));
    assert.ok(a.every((s) => [200, 500, 503].includes(s)));
    sim.setFaults({ seed: 42 });
    assert.deepEqual(await statuses(200), a, "same seed, same sequence");
    sim.setFaults({ seed: 43 });
    assert.notDeepEqual(await statuses(200), a);
  });

  it("leaves /version and discovery alone so clients can start", async () => {
    for (let i = 0; i < 20; i++) {
      assert.equal((await http(sim.url, "GET", "/version")).status, 200);
      assert.equal((await http(sim.url, "GET", "/api/v1")).status, 200);
    }
  });

  it("answers 429 with Retry-After", async () => {
    sim.setFaults({ errorRate: 0, retryAfterRate: 1 });
    const r = await http(sim.url, "GET", "/api/v1/nodes");
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "1");
    assert.equal(r.body.reason, "TooManyRequests");
    assert.equal(r.body.details.retryAfterSeconds, 1);
  });

  it("drops connections", async () => {
    sim.setFaults({ retryAfterRate: 0, dropRate: 1 });
    await assert.rejects(fetch(`${sim.url}/api/v1/nodes`));
    sim.setFaults({ dropRate: 0 });
    assert.equal((await http(sim.url, "GET", "/api/v1/nodes")).status, 200, "turned off at runtime");
  });

  it("adds latency", async () => {
    sim.setFaults({ latencyMs: 80 });
    const t0 = Date.now();
    await http(sim.url, "GET", "/api/v1/nodes");
    assert.ok(Date.now() - t0 >= 75, `took ${Date.now() - t0} ms`);
    sim.setFaults({ latencyMs: 0 });
  });

  it("closes watch streams early", async () => {
    sim.setFaults({ watchCloseRate: 1 });
    // No timeoutSeconds: without the fault this watch would never end (see below), so its end is
    // the evidence; no wall-clock bound (a loaded CI machine may deliver the close late).
    await new Promise<void>((resolve) => {
      new Watch(sim.kubeConfig()).watch("/api/v1/namespaces/default/configmaps", {}, () => undefined, () => resolve());
    });
    sim.setFaults({ watchCloseRate: 0 });
    // without the fault the same watch stays open until its timeout
    const t1 = Date.now();
    await new Promise<void>((resolve) => {
      new Watch(sim.kubeConfig()).watch("/api/v1/namespaces/default/configmaps", { timeoutSeconds: 1 }, () => undefined, () => resolve());
    });
    assert.ok(Date.now() - t1 >= 950);
  });

  it("takes faults at start and through POST /simulator/faults, and typed clients see Status errors", async () => {
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    const set = await http(sim.url, "POST", "/simulator/faults", { errorRate: 1 });
    assert.equal(set.body.errorRate, 1);
    await assert.rejects(core.listNode(), (e: any) => [500, 503].includes(e.code));
    sim.setFaults({ errorRate: 0 });
    await core.listNode();
  });
});

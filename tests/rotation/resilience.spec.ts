/**
 * Crash/resume and injected faults against the simulator over HTTP. A crash is simulated two
 * ways: in-process (AbortSignal fired after a seeded random number of evictions; with keepCordoned the run leaves
 * the cluster exactly as a killed process would, without it the run fails closed), and once for
 * real (the CLI in a child process, SIGKILLed mid-drain). The re-run must finish the job from the
 * cluster's state alone without any workload going below its PDB floor.
 */
import * as assert from "node:assert/strict";
import { CORDONED_ANNOTATION, DrainError, drainPool, DrainSummary } from "../../components/rotation";
import { rng } from "./fixtures";
import { deployment, PoolSim, runCli, startPoolSim, waitFor } from "./sim";

function objects(): any[] {
  return [
    ...deployment("shop", "web0", 5, { maxUnavailable: 1 }),
    ...deployment("shop", "web1", 5, { maxUnavailable: 1 }),
    ...deployment("shop", "web2", 4, { maxUnavailable: "25%" }),
    ...deployment("shop", "api", 4, { minAvailable: 3 }),
    ...deployment("shop", "free", 3), // no PDB
  ];
}

async function assertFinished(ps: PoolSim) {
  const left = (await ps.view.podsOn(ps.oldNodes)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  assert.deepEqual(left, [], "nothing left on the old pool");
  for (const n of await ps.view.nodes("old")) assert.equal(n.spec?.unschedulable, true, `${n.metadata.name} stays cordoned after success`);
  const r = ps.sim.report();
  for (const [w, s] of Object.entries(r.workloads)) {
    if (s.floor !== null) assert.equal(s.msBelowFloor, 0, `${w} went below its floor ${s.floor} (min ready ${s.minReady})`);
  }
  assert.equal(r.podsDeletedWithoutEviction, 0);
  const moved = (await ps.view.pods()).filter((p) => p.metadata.namespace === "shop" && !p.metadata.deletionTimestamp);
  assert.equal(moved.length, 21, "every replica exists again");
}

describe("rotation drain resilience (simulator, HTTP)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  afterEach(async () => { await ps?.sim.stop(); ps = undefined; });

  const crashPoints: string[] = [];
  for (let seed = 1; seed <= 10; seed++) {
    const keep = seed % 2 === 0;
    it(`seed ${seed}: ${keep ? "crash (state left as is)" : "abort (fail closed)"} at a random point, then a re-run finishes without going below a floor`, async () => {
      ps = await startPoolSim({ oldNodes: 3, objects: objects(), timing: { podReadyMs: 40 } });
      const random = rng(seed);
      // The crash point is an event, not a wall-clock time (which a loaded machine would shift):
      // abort once the simulator has served `after` evictions (0 = right after the start).
      const after = Math.floor(random() * 21);
      const ctrl = new AbortController();
      let ended = false;
      const running = drainPool(ps.kc, { pool: "old", signal: ctrl.signal, keepCordoned: keep, concurrency: 1 + Math.floor(random() * 6) })
        .catch((e) => e)
        .finally(() => { ended = true; });
      try {
        await waitFor(`${after} evictions`, () => ended || ps!.sim.report().evictions >= after, 30_000);
      } finally {
        ctrl.abort(new Error(`crash after ${after} evictions`));
      }
      const first: DrainSummary | DrainError = await running;
      const nodes = await ps.view.nodes("old");
      crashPoints.push(first instanceof DrainError ? `${first.summary.evicted}/21` : "done");
      if (first instanceof DrainError) {
        assert.equal(first.reason, "aborted");
        if (keep) {
          for (const n of nodes.filter((x) => x.spec?.unschedulable)) assert.ok(n.metadata.annotations?.[CORDONED_ANNOTATION], "our cordons are marked");
          assert.deepEqual(first.uncordoned, []);
        } else {
          assert.ok(nodes.every((n) => !n.spec?.unschedulable), "fail closed: every node uncordoned");
        }
      } else {
        assert.ok(!(first instanceof Error), String(first));
        assert.equal(first.outcome, "drained"); // finished before the crash time
      }
      const logs: string[] = [];
      const second = await drainPool(ps.kc, { pool: "old", log: (l) => logs.push(l) });
      assert.equal(second.outcome, "drained");
      const cordonedBefore = nodes.filter((n) => n.spec?.unschedulable).length;
      if (cordonedBefore) assert.ok(logs.some((l) => l.includes(`resuming: ${cordonedBefore} node(s) already cordoned by this tool`)), logs.join("\n"));
      await assertFinished(ps);
    });
  }

  it("the seeded crashes hit different points, most of them mid-eviction", () => {
    const mid = crashPoints.filter((c) => c !== "done" && c !== "0/21");
    assert.ok(new Set(crashPoints).size >= 4 && mid.length >= 5, `crash points (evicted before the crash): ${crashPoints.join(" ")}`);
  });

  it("the CLI killed with SIGKILL mid-drain: a re-run finishes the job", async () => {
    ps = await startPoolSim({ oldNodes: 3, objects: objects(), timing: { podReadyMs: 150 } });
    const cli = runCli(ps.sim.kubeconfig, ["drain", "--pool", "old"]);
    const { child, exited } = cli;
    try {
      await waitFor("the CLI to evict a few pods", () => ps!.sim.report().evictions >= 4, 30_000);
      child.kill("SIGKILL");
      assert.equal(await exited, null, "killed, not exited");
    } finally {
      cli.stop();
    }
    const nodes = await ps.view.nodes("old");
    assert.ok(nodes.every((n) => n.spec?.unschedulable && n.metadata.annotations?.[CORDONED_ANNOTATION]), `killed mid-drain: cordons stay, marked as ours\n${cli.stderr}`);
    const second = await drainPool(ps.kc, { pool: "old" });
    assert.deepEqual(second.cordoned, ps.oldNodes.slice().sort());
    await assertFinished(ps);
  });

  it("10% injected 5xx, dropped connections and closed watches: completes, 0 floor violations, 0 deletions without eviction", async () => {
    ps = await startPoolSim({ oldNodes: 3, objects: objects(), timing: { podReadyMs: 40 } });
    ps.sim.setFaults({ seed: 42, errorRate: 0.1, dropRate: 0.1, watchCloseRate: 0.1, retryAfterRate: 0.02 });
    let summary: DrainSummary;
    try {
      summary = await drainPool(ps.kc, { pool: "old" });
    } finally {
      ps.sim.setFaults({ errorRate: 0, dropRate: 0, watchCloseRate: 0, retryAfterRate: 0 });
    }
    assert.equal(summary.outcome, "drained");
    await assertFinished(ps);
    const byKind = summary.requestsByKind ?? {};
    assert.ok((byKind["create pods/eviction"] ?? 0) >= 21, "every pod evicted (retries included)");
    assert.ok(summary.apiRequests! > 21 + 8, `faults cost retries: ${JSON.stringify(byKind)}`);
  });
});

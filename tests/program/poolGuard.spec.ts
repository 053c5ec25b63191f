/**
 * The pool guard (components/poolGuard.ts) against the simulator over HTTP with the real
 * client-node: what it does right before GKE deletes a pool.
 *   - a drained pool (nothing left to move) passes without a single write;
 *   - workload pods put on the pool after its drain (auto-repair / the autoscaler bring back
 *     schedulable nodes) are drained PDB-aware first, then the delete may go ahead;
 *   - pods that cannot move fail the delete with a message naming them, and the pool keeps
 *     serving (its nodes uncordoned).
 */
import * as assert from "node:assert/strict";
import { guardPoolDelete } from "../../components/poolGuard";
import { drainPool } from "../../components/rotation";
import { deployment, PoolSim, startPoolSim, waitFor } from "../rotation/sim";
import { applyDeployment, repairNodes } from "./clusterActions";

const TARGET = { pool: "old", role: "app", clusterId: "proj/europe-west1/staging" };

describe("pool guard (beforeDelete hook check) on the simulator", function () {
  this.timeout(60_000);
  let s: PoolSim | undefined;
  afterEach(async () => {
    await s?.sim.stop();
    s = undefined;
  });

  /** Movable pods on the pool's nodes (what a drain must move). */
  const workloadPodsOn = async (sim: PoolSim, nodes: string[]) =>
    (await sim.view.podsOn(nodes)).filter((p) => !p.metadata?.ownerReferences?.some((o: any) => o.kind === "DaemonSet") && !p.metadata?.deletionTimestamp);

  it("a drained pool (nothing left to move) passes, and the guard writes nothing", async () => {
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { minAvailable: 3 }) });
    await drainPool(s.kc, { pool: "old" });
    const before = s.sim.report();
    const logs: string[] = [];
    const result = await guardPoolDelete(s.kc, TARGET, { log: (l) => logs.push(l) });
    assert.equal(result.outcome, "nothing-to-move");
    assert.deepEqual(result.found, []);
    const after = s.sim.report();
    assert.equal(after.evictions, before.evictions, "no eviction");
    // Read-only: three lists, no patch (the drained nodes stay as the drain left them).
    assert.ok((await s.view.nodes("old")).every((n) => n.spec?.unschedulable === true));
    assert.match(logs.join("\n"), /runs no pod a drain would move/);

    await s.sim.deletePool("old");
    assert.equal((await guardPoolDelete(s.kc, TARGET)).outcome, "no-nodes");
    assert.equal(s.sim.report().workloadPodsDeletedWithoutEviction, 0);
  });

  it("workload pods placed on the pool after its drain are drained PDB-aware, then the delete may go ahead", async () => {
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { minAvailable: 3 }) });
    await drainPool(s.kc, { pool: "old" });
    // Auto-repair recreates the old nodes (schedulable again); a team deploys meanwhile: the
    // scheduler spreads the new pods round-robin over all four nodes.
    await repairNodes(s.kc, s.oldNodes);
    await applyDeployment(s.kc, deployment("shop", "late", 4, { minAvailable: 3 }));
    const sim = s;
    await waitFor("pods scheduled on the repaired old nodes", async () => (await workloadPodsOn(sim, sim.oldNodes)).length >= 2);
    const placed = (await workloadPodsOn(s, s.oldNodes)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();

    const evictionsBefore = s.sim.report().evictions;
    const logs: string[] = [];
    const result = await guardPoolDelete(s.kc, TARGET, { log: (l) => logs.push(l) });
    assert.equal(result.outcome, "drained");
    assert.deepEqual([...result.found].sort(), placed);
    assert.equal(result.evicted, placed.length);
    assert.equal(s.sim.report().evictions - evictionsBefore, placed.length, "every pod left through the Eviction API");
    assert.deepEqual(await workloadPodsOn(s, s.oldNodes), []);
    assert.match(logs.join("\n"), new RegExp(`still runs ${placed.length} pod\\(s\\) a drain would move`));

    // What GKE's delete then does to the pool: nothing left to kill.
    await s.sim.deletePool("old");
    const report = s.sim.report();
    assert.equal(report.workloadPodsDeletedWithoutEviction, 0);
    const late = Object.entries(report.workloads).find(([key]) => key.startsWith("shop/") && key.endsWith("/late"));
    assert.ok(late, `the simulator reports the late workload: ${Object.keys(report.workloads)}`);
    assert.equal(late[1].msBelowFloor, 0, "the late workload never went below its PDB floor");
  });

  it("pods that cannot move fail the delete with a message naming them, and leave the pool serving (uncordoned)", async () => {
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 2, { minAvailable: 2 }) });
    const podsBefore = (await workloadPodsOn(s, s.oldNodes)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort();
    await assert.rejects(guardPoolDelete(s.kc, TARGET), (e: Error) => {
      for (const pod of podsBefore) assert.ok(e.message.includes(pod), `names ${pod}: ${e.message}`);
      assert.match(e.message, /pool guard: node pool "old" \(cluster proj\/europe-west1\/staging\) still runs 2 workload pod\(s\)/);
      assert.match(e.message, /PodDisruptionBudget/);
      assert.match(e.message, /The pool was NOT deleted and keeps serving/);
      assert.match(e.message, /Fix: .*npm run rotation -- plan --kubeconfig PATH --pool old/);
      return true;
    });
    assert.ok((await s.view.nodes("old")).every((n) => !n.spec?.unschedulable), "old nodes uncordoned");
    assert.deepEqual((await workloadPodsOn(s, s.oldNodes)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), podsBefore);
    assert.equal(s.sim.report().evictions, 0);
  });

  it("after its drain, an unmovable pod lands on a repaired node: the delete fails and the whole pool is uncordoned (it keeps serving)", async () => {
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { minAvailable: 3 }) });
    await drainPool(s.kc, { pool: "old" });
    assert.ok((await s.view.nodes("old")).every((n) => n.spec?.unschedulable), "drained nodes stay cordoned");
    // Auto-repair recreates one node; a pod that can only run on the old pool lands there.
    await repairNodes(s.kc, [s.oldNodes[0]]);
    await applyDeployment(s.kc, deployment("shop", "pinned", 1, undefined, { spec: { nodeSelector: { "cloud.google.com/gke-nodepool": "old" } } }));
    const sim = s;
    await waitFor("the pinned pod running on the old pool", async () => (await workloadPodsOn(sim, sim.oldNodes)).length === 1);
    const [pinned] = (await workloadPodsOn(s, s.oldNodes)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    await assert.rejects(guardPoolDelete(s.kc, TARGET), (e: Error) => {
      assert.ok(e.message.includes(pinned), e.message);
      assert.match(e.message, /pinned to the old pool/);
      assert.match(e.message, /The pool was NOT deleted and keeps serving/);
      return true;
    });
    assert.ok((await s.view.nodes("old")).every((n) => !n.spec?.unschedulable), "every old node uncordoned, also the one the earlier drain cordoned");
    assert.equal((await workloadPodsOn(s, s.oldNodes)).length, 1, "the pinned pod keeps running");
  });

  it("drain.skip lets the delete through unchecked (environment teardown), and says so", async () => {
    s = await startPoolSim({ oldNodes: 1, objects: deployment("shop", "web", 2, { minAvailable: 2 }) });
    const logs: string[] = [];
    const result = await guardPoolDelete(s.kc, TARGET, { drain: { skip: true }, log: (l) => logs.push(l) });
    assert.equal(result.outcome, "skipped");
    assert.match(logs.join("\n"), /NOT checked: nodepool-rotation:drain.skip is true/);
  });

  it("an unreachable cluster fails the delete (never a blind delete)", async () => {
    s = await startPoolSim({ oldNodes: 1, objects: deployment("shop", "web", 1) });
    const kc = s.kc;
    await s.sim.stop();
    await assert.rejects(guardPoolDelete(kc, TARGET, { checkTimeoutMs: 1500 }), /could not check node pool "old".*The pool was NOT deleted/s);
  });
  it("an interrupt while the guard drains (Ctrl-C / SIGTERM → abort) stops it, uncordons the pool and fails the delete", async () => {
    // Slow readiness + a PDB allowing one disruption at a time: the drain is still running when aborted.
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }), timing: { podReadyMs: 400 } });
    const controller = new AbortController();
    const sim = s;
    const guarded = guardPoolDelete(s.kc, TARGET, { signal: controller.signal });
    await waitFor("the guard's first eviction", () => sim.sim.report().evictions >= 1);
    controller.abort();
    await assert.rejects(guarded, (e: Error) => {
      assert.match(e.message, /Draining them failed \[aborted\]/);
      assert.match(e.message, /The pool was NOT deleted and keeps serving \(uncordoned /);
      return true;
    });
    assert.ok((await s.view.nodes("old")).every((n) => !n.spec?.unschedulable), "old nodes uncordoned");
  });

  it("the re-check after the guard's drain fails (API errors): the delete fails and the drained pool is uncordoned, not left cordoned", async () => {
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { minAvailable: 3 }) });
    const sim = s.sim;
    const logs: string[] = [];
    // The API server starts failing every request the moment the guard's drain has succeeded (its
    // nodes cordoned), and recovers when the guard says it gives up (before it uncordons).
    const log = (line: string) => {
      logs.push(line);
      if (/\] drained: /.test(line)) sim.setFaults({ errorRate: 1 });
      if (/re-check .* failed/.test(line)) sim.setFaults({ errorRate: 0 });
    };
    await assert.rejects(guardPoolDelete(s.kc, TARGET, { log, checkTimeoutMs: 800 }), (e: Error) => {
      assert.match(e.message, /pool guard: could not re-check node pool "old" \(cluster proj\/europe-west1\/staging\) after draining it/);
      assert.match(e.message, /The pool was NOT deleted and keeps serving \(uncordoned old-0, old-1\)/);
      return true;
    });
    sim.setFaults({ errorRate: 0 });
    assert.match(logs.join("\n"), /\] drained: /, "the guard's drain succeeded first");
    assert.ok((await s.view.nodes("old")).every((n) => !n.spec?.unschedulable), `old nodes uncordoned: ${logs.join("\n")}`);
    assert.equal(sim.report().workloadPodsDeletedWithoutEviction, 0);
  });
});

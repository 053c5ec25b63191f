/**
 * PoolDrainer Delete as the engine runs it — the serialized `__provider` text in the REAL
 * dynamic-provider host, driven over gRPC (tests/drainer/host.ts) — against the Kubernetes API
 * simulator.
 */
import * as assert from "node:assert/strict";
import { Simulator } from "../simulator";
import { CREDENTIAL_PATTERNS } from "./capture";
import { ClusterView, daemonSet, deployment, neverReadyDeployment, OLD_POOL, waitFor } from "./cluster";
import { cleanupAfterEach, clusterWithPools, createdDrainer, Pools } from "./harness";

describe("PoolDrainer Delete in the real host against the simulator", function () {
  this.timeout(60_000);
  const cleanups = cleanupAfterEach();

  const cluster = (docs: string[], pools: Pools): Promise<{ sim: Simulator; view: ClusterView }> => clusterWithPools(docs, pools, cleanups);
  const oldDrainer = (sim: Simulator, options: Record<string, unknown>) => createdDrainer(sim.kubeconfig, options);

  it("drains a pool of PDB-protected workloads with 0 PDB violations, progress on stderr", async () => {
    const { sim, view } = await cluster(
      [deployment("shop", "web", 4, { minAvailable: 3 }), deployment("shop", "api", 3, { maxUnavailable: 1 }), daemonSet("monitoring", "node-agent")],
      { old: 2, new: 2 },
    );
    assert.ok((await view.movablePodsOn(OLD_POOL)).length >= 7, "workloads start on the old pool");
    const { host, id, outs } = await oldDrainer(sim, { deadlineMinutes: 1, concurrency: 5 });

    const r = await host.call("delete", id, outs);
    assert.ok(r.ok, !r.ok ? r.message : "");
    assert.deepEqual(await view.movablePodsOn(OLD_POOL), [], "nothing but DaemonSet pods left on the old pool");
    const report = sim.report();
    for (const key of ["shop/Deployment/web", "shop/Deployment/api"]) {
      const w = report.workloads[key];
      assert.ok(w, `report has ${key}`);
      assert.equal(w.msBelowFloor, 0, `${key} below its PDB floor`);
      assert.equal(w.msAtZero, 0, `${key} at zero ready`);
      assert.ok(w.minReady >= (w.floor ?? 1), `${key} minReady ${w.minReady} >= floor ${w.floor}`);
    }
    assert.equal(report.podsDeletedWithoutEviction, 0);
    assert.ok(report.evictions >= 7, `evictions: ${report.evictions}`);
    assert.match(host.stderr(), new RegExp(`\\[PoolDrainer ${OLD_POOL}\\] draining node pool`));
    assert.match(host.stderr(), /drained: 2 node\(s\)/);
    for (const re of CREDENTIAL_PATTERNS) assert.doesNotMatch(host.stderr(), re);
  });

  it("a PDB that can never allow a disruption: refused before anything changes, naming it, with retry advice", async () => {
    const { sim, view } = await cluster(
      [deployment("shop", "web", 3, { minAvailable: 2 }), deployment("shop", "ledger", 2, { minAvailable: 2 })],
      { old: 2, new: 2 },
    );
    const before = await view.movablePodsOn(OLD_POOL);
    const { host, id, outs } = await oldDrainer(sim, { deadlineMinutes: 1 });

    const r = await host.call("delete", id, outs);
    assert.equal(r.ok, false, "delete must fail so Pulumi keeps the old pool");
    const message = (r as any).message as string;
    assert.ok(r.ms < 30_000, `failed after ${r.ms} ms, well before the 60 s deadline`);
    assert.match(message, /Blocked by PodDisruptionBudget\(s\): shop\/ledger-pdb/, "names the blocking PDB");
    assert.match(message, /The old pool was KEPT/);
    assert.match(message, /none of its nodes was left cordoned/);
    assert.match(message, /run `pulumi up` again: it retries this drain/);
    const nodes = await view.nodes(OLD_POOL);
    assert.equal(nodes.length, 2);
    for (const n of nodes) assert.ok(!n.spec?.unschedulable, `${n.metadata?.name} left cordoned`);
    assert.deepEqual((await view.movablePodsOn(OLD_POOL)).sort(), before.sort(), "no pod was moved");
    assert.equal(sim.report().evictions, 0);
    assert.equal(sim.report().podsDeletedWithoutEviction, 0);
    assert.match(host.stderr(), /\[PoolDrainer app-[^\]]+\] draining node pool/, "progress on stderr");
  });

  it("a PDB that blocks mid-drain until the deadline: fails at the deadline, uncordons the nodes it cordoned", async () => {
    const stuck = neverReadyDeployment("shop", "stuck");
    const { sim, view } = await cluster([deployment("shop", "web", 3, { minAvailable: 2 }), stuck], { old: 2, new: 2, unready: ["stuck"] });
    await waitFor("stuck pods scheduled", async () => (await view.movablePodsOn(OLD_POOL)).filter((p) => p.startsWith("shop/stuck-")).length === 2);
    const { host, id, outs } = await oldDrainer(sim, { deadlineMinutes: 0.05 }); // 3 s, the provider's minimum

    const r = await host.call("delete", id, outs);
    assert.equal(r.ok, false);
    const message = (r as any).message as string;
    assert.ok(r.ms >= 2_500 && r.ms < 18_000, `failed after ${r.ms} ms (deadline 3 s; the backstop would abort at 18 s)`);
    assert.match(message, /shop\/stuck-pdb/, "names the blocking PDB");
    assert.match(message, /\[deadline\]/);
    assert.match(message, /its nodes were uncordoned \(2: /);
    assert.match(host.stderr(), /cordoned 2 node\(s\)/, "the drain had cordoned the pool");
    for (const n of await view.nodes(OLD_POOL)) assert.ok(!n.spec?.unschedulable, `${n.metadata?.name} left cordoned`);
    const report = sim.report();
    assert.equal(report.workloads["shop/Deployment/web"].msBelowFloor, 0);
    assert.equal(report.podsDeletedWithoutEviction, 0);
  });

  it("a pool with no nodes left succeeds at once without evicting anything", async () => {
    const { sim } = await cluster([deployment("shop", "web", 2, { minAvailable: 1 })], { old: 0, new: 2 });
    const { host, id, outs } = await oldDrainer(sim, {});
    const r = await host.call("delete", id, outs);
    assert.ok(r.ok, !r.ok ? r.message : "");
    assert.ok(r.ms < 30_000, `took ${r.ms} ms (no waiting for the 60 min default deadline; room for a loaded CI box)`);
    assert.equal(sim.report().evictions, 0);
  });

  it("outputs used by delete hold no token or key", async () => {
    const { sim } = await cluster([], { old: 0, new: 0 });
    const { outs, text } = await oldDrainer(sim, {});
    for (const re of CREDENTIAL_PATTERNS) {
      assert.doesNotMatch(JSON.stringify(outs), re);
      assert.doesNotMatch(text, re);
    }
  });
});

/**
 * `pulumi up` interrupted while a drainer's Delete runs, with the REAL dynamic-provider host.
 *
 * Engine rules the specs rely on (pulumi/pulumi, tag v3.259.0-14-g1b5949891b; the same in 3.270):
 *  - the first Ctrl-C/SIGTERM only cancels: the engine calls the provider's Cancel RPC (a no-op in
 *    cmd/dynamic-provider/index.js `cancel`) and waits for running steps
 *    (pkg/resource/deploy/deployment_executor.go `SignalCancellation`); the terminal's SIGINT does
 *    not reach the host, which runs in its own process group (plugin.go:598 RegisterProcessGroup);
 *  - the second one terminates (pkg/backend/cancellation_scope.go: `cancelSource.Terminate()`), and
 *    closing the plugin sends SIGINT to its process group, then SIGKILL 5 s later if it is still
 *    running (sdk/go/common/resource/plugin/plugin.go:648–666). host.terminateLikeEngine() does
 *    exactly that.
 * Before the fix the host died at once on that SIGINT (Node's default), Delete answered
 * "Connection dropped" and the old pool stayed cordoned.
 */
import * as assert from "node:assert/strict";
import { startFaultProxy } from "../rotation/proxy";
import { deployment, neverReadyDeployment, OLD_POOL, waitFor } from "./cluster";
import { cleanupAfterEach, clusterWithPools, createdDrainer } from "./harness";

/** Pods never Ready: the PDB allows nothing now but could later, so the drain cordons and waits. */
const stuck = neverReadyDeployment("shop", "stuck");

describe("PoolDrainer Delete interrupted (second Ctrl-C / SIGTERM to pulumi) in the real host", function () {
  this.timeout(60_000);
  const cleanups = cleanupAfterEach();

  it("SIGINT to the host's process group mid-drain: nodes uncordoned and Delete failed with a clear message within the engine's 5 s, host gone before SIGKILL", async () => {
    const { sim, view } = await clusterWithPools([deployment("shop", "web", 3, { minAvailable: 2 }), stuck], { old: 2, new: 2, unready: ["stuck"] }, cleanups);
    await waitFor("stuck pods scheduled", async () => (await view.movablePodsOn(OLD_POOL)).filter((p) => p.startsWith("shop/stuck-")).length === 2);
    const { host, id, outs } = await createdDrainer(sim.kubeconfig, { deadlineMinutes: 10 });

    const deleting = host.call("delete", id, outs);
    await waitFor("the drain cordoned the old pool", async () => (await view.nodes(OLD_POOL)).every((n) => n.spec?.unschedulable === true));
    await waitFor("the drain is waiting on the stuck PDB", async () => /cordoned 2 node\(s\)/.test(host.stderr()));

    const signalled = Date.now();
    const terminated = host.terminateLikeEngine();
    await waitFor("old pool uncordoned", async () => (await view.nodes(OLD_POOL)).every((n) => !n.spec?.unschedulable), 5_000);
    const uncordonedAfterMs = Date.now() - signalled;
    const r = await deleting;
    const { exitedAfterMs, killed } = await terminated;
    console.log(`      (uncordoned ${uncordonedAfterMs} ms after SIGINT; host exited after ${exitedAfterMs} ms)`);

    assert.ok(uncordonedAfterMs < 5_000, `uncordoned ${uncordonedAfterMs} ms after SIGINT`);
    assert.equal(killed, false, "the host exited by itself before the engine's SIGKILL");
    assert.equal(r.ok, false, "Delete must fail: Pulumi keeps the old pool");
    const message = (r as any).message as string;
    assert.match(message, /\[aborted\]/);
    assert.match(message, /INTERRUPTED by SIGINT/);
    assert.match(message, /its nodes were uncordoned \(2: /);
    assert.match(message, /The old pool was KEPT/);
    assert.match(host.stderr(), /received SIGINT .*stopping the drain and uncordoning/);
    const report = sim.report();
    assert.equal(report.podsDeletedWithoutEviction, 0, "nothing force-deleted");
    assert.equal(report.workloads["shop/Deployment/web"].msBelowFloor, 0);
  });

  it("SIGTERM before the drain started (while reading the cluster) fails the Delete at once: nothing changed", async () => {
    const { sim, view } = await clusterWithPools([deployment("shop", "web", 2, { minAvailable: 1 })], { old: 2, new: 2 }, cleanups);
    // The first request hangs (a slow API server): the signal arrives before anything was changed.
    let hanging = false;
    const proxy = await startFaultProxy(sim, (method, path) => {
      if (method !== "GET" || !path.includes("/configmaps/")) return undefined;
      hanging = true;
      return "hang";
    });
    cleanups.push(() => proxy.stop());
    const { host, id, outs } = await createdDrainer(sim.kubeconfig.split(sim.url).join(proxy.url), { deadlineMinutes: 10 });
    const before = sim.report().evictions;

    const deleting = host.call("delete", id, outs);
    await waitFor("the delete's first request is on the wire", async () => hanging);
    host.signal("SIGTERM");
    const r = await deleting;
    assert.equal(r.ok, false);
    const message = (r as any).message as string;
    assert.match(message, /INTERRUPTED by SIGTERM/);
    assert.match(message, /changed nothing in the cluster/);
    await waitFor("host exited after answering", async () => !host.running(), 5_000);
    for (const n of await view.nodes(OLD_POOL)) assert.ok(!n.spec?.unschedulable);
    assert.equal(sim.report().evictions, before);
  });

  it("after a Delete finished, SIGINT ends the host at once again (the listener lives only while a Delete runs)", async () => {
    const { sim } = await clusterWithPools([], { old: 0, new: 0 }, cleanups);
    const { host, id, outs } = await createdDrainer(sim.kubeconfig, {});
    const r = await host.call("delete", id, outs);
    assert.ok(r.ok, !r.ok ? r.message : "");
    const { exitedAfterMs, killed } = await host.terminateLikeEngine();
    assert.equal(killed, false);
    assert.ok(exitedAfterMs < 2_000, `exited after ${exitedAfterMs} ms`);
    assert.doesNotMatch(host.stderr(), /received SIGINT/);
  });
});

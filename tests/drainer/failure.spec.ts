/**
 * PoolDrainer.delete() when the cluster cannot be reached or read: it must FAIL (so Pulumi keeps
 * the old pool), never read "could not list" as "the pool has no nodes" and succeed. Run in the REAL
 * dynamic-provider host over gRPC (tests/drainer/host.ts).
 */
import * as assert from "node:assert/strict";
import { Simulator } from "../simulator";
import { startFaultProxy } from "../rotation/proxy";
import { ClusterView, deployment, OLD_POOL } from "./cluster";
import { cleanupAfterEach, clusterWithPools, createdDrainer } from "./harness";
import { closedPort } from "../support/net";
import { waitFor } from "../support/wait";


describe("PoolDrainer Delete cannot reach or read the cluster (real host)", function () {
  this.timeout(60_000);
  const cleanups = cleanupAfterEach();

  /** Delete of a drainer whose stored kubeconfig is `kubeconfig` (deadline 6 s: a dead server is retried that long). */
  async function deleteWith(kubeconfig: string, extra: { skip?: boolean } = {}) {
    const { host, id, outs } = await createdDrainer(kubeconfig, { deadlineMinutes: 0.1, ...extra });
    return { r: await host.call("delete", id, outs), host };
  }

  const simWithOldPool = async (): Promise<Simulator> =>
    (await clusterWithPools([deployment("shop", "web", 2, { minAvailable: 1 })], { old: 2, new: 2 }, cleanups)).sim;

  it("a kubeconfig pointing at a dead server fails the delete (the old pool is kept), it does not report 'no nodes'", async () => {
    const sim = await simWithOldPool();
    const { r, host } = await deleteWith(sim.kubeconfig.split(sim.url).join(`http://127.0.0.1:${await closedPort()}`));
    assert.equal(r.ok, false, "delete must fail so Pulumi keeps the old pool");
    const message = (r as any).message as string;
    assert.match(message, /could not drain node pool/);
    assert.match(message, /ECONNREFUSED/);
    assert.match(message, /The old pool was KEPT/);
    assert.doesNotMatch(host.stderr(), /nothing to drain/);
  });

  it("a list of the pool's nodes refused (403) fails the delete naming the server's reason, nothing changed", async () => {
    const sim = await simWithOldPool();
    const forbidden = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", code: 403, message: 'nodes is forbidden: User "deployer" cannot list resource "nodes" in API group "" at the cluster scope' };
    const proxy = await startFaultProxy(sim, (method, path) => (method === "GET" && path.startsWith("/api/v1/nodes") ? { respond: 403, body: forbidden } : undefined));
    cleanups.push(() => proxy.stop());
    const { r, host } = await deleteWith(sim.kubeconfig.split(sim.url).join(proxy.url));
    assert.equal(r.ok, false);
    const message = (r as any).message as string;
    assert.match(message, /User "deployer" cannot list resource "nodes"/);
    assert.match(message, /changed nothing in the cluster/);
    assert.match(message, /Fix access from where `pulumi up` runs: .*Kubernetes RBAC/, "access advice, not a PDB fix");
    assert.doesNotMatch(message, /Fix the blocker/);
    assert.doesNotMatch(host.stderr(), /nothing to drain/);
    for (const n of await new ClusterView(sim.kubeConfig()).nodes(OLD_POOL)) assert.ok(!n.spec?.unschedulable);
  });

  it("a server that never answers the list fails the delete within the list's bound, not an hour later", async () => {
    const sim = await simWithOldPool();
    const proxy = await startFaultProxy(sim, (method, path) => (method === "GET" && path.startsWith("/api/v1/nodes") ? "hang" : undefined));
    cleanups.push(() => proxy.stop());
    const { r, host } = await deleteWith(sim.kubeconfig.split(sim.url).join(proxy.url));
    assert.equal(r.ok, false);
    assert.ok(r.ms < 20_000, `failed after ${r.ms} ms (deadline 6 s; the old backstop was 66 s)`);
    const message = (r as any).message as string;
    assert.match(message, /listing the pool's nodes got no answer within 6 s/);
    assert.match(message, /changed nothing in the cluster/);
    assert.doesNotMatch(host.stderr(), /nothing to drain/);
  });

  it("drain.skip (set on purpose before a destroy) deletes without a single API request, and says so on stderr", async () => {
    const sim = await simWithOldPool();
    const before = sim.report().totalRequests;
    const { r, host } = await deleteWith(sim.kubeconfig, { skip: true });
    assert.equal(r.ok, true, !r.ok ? (r as any).message : "");
    assert.equal(sim.report().totalRequests, before, "the skipped drain must not touch the cluster");
    // The host's stderr is a separate pipe from its gRPC answer: wait for the line, do not race it.
    await waitFor("the skip line on the host's stderr", () => /drain SKIPPED \(nodepool-rotation:drain\.skip is true\)/.test(host.stderr()), 10_000);
    assert.equal(sim.report().evictions, 0);
  });
});

/**
 * PoolDrainer.delete() when the cluster cannot be reached or read: it must FAIL (so Pulumi keeps
 * the old pool), never read "could not list" as "the pool has no nodes" and succeed. Run as the
 * host runs it: the serialized `__provider` text in a fresh Node process.
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { PoolDrainer } from "../../components/poolDrainer";
import { startSimulator, Simulator } from "../simulator";
import { startFaultProxy } from "../rotation/proxy";
import { installMocks, plainInputs } from "./capture";
import { ClusterView, deployment, NEW_POOL, OLD_POOL, ROLE_LABELS, scenario, waitFor } from "./cluster";
import { startFreshHost } from "./host";

const CLUSTER = "acme-game-staging/asia-northeast1/game-staging";

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe("PoolDrainer.delete() cannot reach or read the cluster (fresh host)", function () {
  this.timeout(60_000);
  let mocks: ReturnType<typeof installMocks>;
  let seq = 0;
  const cleanups: (() => Promise<void>)[] = [];
  before(() => { mocks = installMocks(); });
  afterEach(async () => { while (cleanups.length) await cleanups.pop()!().catch(() => undefined); });

  /** delete() of a drainer whose stored kubeconfig is `kubeconfig`. */
  async function deleteWith(kubeconfig: string, extra: { skip?: boolean } = {}) {
    const name = `drainer-unreachable-${++seq}`;
    new PoolDrainer(name, { poolName: OLD_POOL, role: "app", cluster: CLUSTER, kubeconfig, options: { deadlineMinutes: 0.1, ...extra } }); // 6 s: a dead server is retried that long
    const reg = await mocks.registered(name);
    const host = await startFreshHost();
    cleanups.push(() => host.stop());
    const created = await host.call("create", plainInputs(reg.inputs));
    assert.ok(created.ok, !created.ok ? created.message : "");
    return { r: await host.call("delete", `${CLUSTER}/${OLD_POOL}`, (created as any).result.outs), host };
  }

  async function simWithOldPool(): Promise<Simulator> {
    const sim = await startSimulator({ scenario: scenario(deployment("shop", "web", 2, { minAvailable: 1 })) });
    cleanups.push(() => sim.stop());
    const view = new ClusterView(sim.kubeConfig());
    await sim.addPool({ name: OLD_POOL, nodes: 2, labels: ROLE_LABELS });
    await sim.addPool({ name: NEW_POOL, nodes: 2, labels: ROLE_LABELS });
    await waitFor("pools Ready", async () => (await view.nodesReady(OLD_POOL, 2)) && (await view.nodesReady(NEW_POOL, 2)));
    return sim;
  }

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
    assert.match(host.stderr(), /drain SKIPPED \(nodepool-rotation:drain\.skip is true\)/);
    assert.equal(sim.report().evictions, 0);
  });
});

/**
 * A version bump in Pulumi's own order, on the simulator, with the REAL program component
 * (VersionedNodePool → PoolDrainer) under mocks and the drainer's serialized code in the REAL
 * dynamic-provider host, driven over gRPC as the engine drives it (tests/drainer/host.ts):
 *
 *   previous up:  create drainer v1 (pool v1 serving)
 *   this up:      diff drainer (new code) → replace; create pool v2; create drainer v2;
 *                 delete drainer v1 (its stored code drains pool v1); delete pool v1 (GKE: kills pods)
 *
 * Availability is measured by the simulator for the whole run (per workload: ms at zero ready,
 * ms below the PDB floor). The same sequence without the drainer shows GKE's outage.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { PoolConfig, validateStackConfig } from "../../components/config";
import { VersionedNodePool } from "../../components/versionedNodePool";
import { stackFileConfig } from "../program/harness";
import { Simulator, SimulatorReport, startSimulator } from "../simulator";
import { installMocks, plainInputs } from "./capture";
import { ClusterView, deployment, scenario, waitFor } from "./cluster";
import { FreshHost, startFreshHost, stopAllHosts } from "./host";

const WORKLOADS = [
  deployment("shop", "web", 4, { minAvailable: 3 }),
  deployment("shop", "api", 3, { maxUnavailable: 1 }),
  deployment("shop", "cache", 2, { minAvailable: 1 }),
];
const KEYS = ["shop/Deployment/web", "shop/Deployment/api", "shop/Deployment/cache"];
const NODES = 3;

/** The drainer inputs VersionedNodePool registers for `pool` (one `pulumi up`'s program run). */
async function programRun(pool: PoolConfig, kubeconfig: string): Promise<{ poolName: string; inputs: Record<string, any> }> {
  const mocks = installMocks();
  const vnp = new VersionedNodePool(pool.role, {
    pool,
    environment: "staging",
    project: "acme-game-staging",
    location: "asia-northeast1",
    cluster: "game-staging",
    clusterId: "acme-game-staging/asia-northeast1/game-staging",
    kubeconfig: pulumi.secret(kubeconfig),
    drain: { deadlineMinutes: 1, concurrency: 5 },
  });
  const reg = await mocks.registered(`${pool.role}-drainer`);
  return { poolName: vnp.name, inputs: plainInputs(reg.inputs) };
}

describe("rotation lifecycle on the simulator (Pulumi's order)", function () {
  this.timeout(60_000);
  const cfg = validateStackConfig(stackFileConfig("staging"), { stack: "staging" });
  const v1: PoolConfig = { ...cfg.pools.find((p) => p.role === "app")! };
  const v2: PoolConfig = { ...v1, version: cfg.cluster.controlPlaneVersion, rotatedOn: "2026-12-01" };
  const labels = { "nodepool-rotation/role": "app", env: "staging" };
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await stopAllHosts();
    while (stops.length) await stops.pop()!().catch(() => undefined);
  });

  /** Simulator with the workloads running on pool `name` only. */
  async function clusterOn(name: string): Promise<{ sim: Simulator; view: ClusterView }> {
    const sim = await startSimulator({ scenario: scenario(...WORKLOADS) });
    stops.push(() => sim.stop());
    const view = new ClusterView(sim.kubeConfig());
    await sim.addPool({ name, nodes: NODES, labels });
    await waitFor("pool v1 Ready", () => view.nodesReady(name, NODES));
    await waitFor("workloads Ready on pool v1", () => view.allDeploymentsReady());
    return { sim, view };
  }

  async function createPool(sim: Simulator, view: ClusterView, name: string): Promise<void> {
    await sim.addPool({ name, nodes: NODES, labels });
    await waitFor("pool v2 Ready", () => view.nodesReady(name, NODES)); // GKE's create returns when nodes are up
  }

  function assertNoOutage(report: SimulatorReport): void {
    for (const key of KEYS) {
      const w = report.workloads[key];
      assert.ok(w, `report has ${key}`);
      assert.equal(w.msAtZero, 0, `${key}: ${w.msAtZero} ms at zero ready`);
      assert.equal(w.msBelowFloor, 0, `${key}: ${w.msBelowFloor} ms below its PDB floor ${w.floor}`);
      assert.ok(w.minReady >= (w.floor ?? 1), `${key}: minReady ${w.minReady}`);
    }
  }

  it("with the drainer: 0 ms at zero ready and 0 ms below any PDB floor", async () => {
    const run1 = await programRun(v1, "placeholder"); // names only; kubeconfig set below
    const { sim, view } = await clusterOn(run1.poolName);
    const host: FreshHost = await startFreshHost();

    // Previous `pulumi up`: drainer v1 created with the code of that run; its outputs are the state.
    const prev = await programRun(v1, sim.kubeconfig);
    const created1 = await host.call("create", prev.inputs);
    assert.ok(created1.ok, !created1.ok ? created1.message : "");
    const state1 = (created1 as any).result;

    // This `pulumi up` (version bump): the program registers drainer v2 for the new pool name.
    const now = await programRun(v2, sim.kubeconfig);
    assert.notEqual(now.poolName, prev.poolName, "the bump renames the pool");
    const checked = await host.call("check", state1.outs, now.inputs);
    assert.ok(checked.ok && checked.result.failures.length === 0, JSON.stringify(checked));
    const diff = await host.call("diff", state1.id, state1.outs, now.inputs);
    assert.ok(diff.ok);
    assert.deepEqual((diff as any).result.replaces, ["poolName"], "Pulumi replaces the drainer");
    assert.ok(!(diff as any).result.deleteBeforeReplace, "create-before-delete");

    await createPool(sim, view, now.poolName); //                     + pool v2
    const created2 = await host.call("create", now.inputs); //        + drainer v2
    assert.ok(created2.ok, !created2.ok ? created2.message : "");
    const drained = await host.call("delete", state1.id, state1.outs); // - drainer v1 = drain pool v1
    assert.ok(drained.ok, !drained.ok ? drained.message : "");
    assert.deepEqual(await view.movablePodsOn(prev.poolName), [], "pool v1 empty before it is deleted");
    await sim.deletePool(prev.poolName); //                           - pool v1
    await waitFor("workloads Ready on pool v2", () => view.allDeploymentsReady());

    const report = sim.report();
    assertNoOutage(report);
    assert.equal(report.podsDeletedWithoutEviction, 0, "no pod killed by the pool deletion");
    assert.ok(report.evictions >= 9, `evictions: ${report.evictions}`);
    assert.ok((await view.movablePodsOn(now.poolName)).length >= 9, "everything runs on pool v2");
    assert.match(host.stderr(), /drained: 3 node\(s\)/);
  });

  it("without the drainer (GKE deleting the pool): a workload whose pods all sat on v1 reaches zero ready", async () => {
    const oldName = (await programRun(v1, "placeholder")).poolName;
    const newName = (await programRun(v2, "placeholder")).poolName;
    const { sim, view } = await clusterOn(oldName);
    await createPool(sim, view, newName); //   + pool v2
    await sim.deletePool(oldName); //          - pool v1, no drain
    await waitFor("workloads rescheduled on pool v2", () => view.allDeploymentsReady());

    const report = sim.report();
    const outages = KEYS.filter((k) => report.workloads[k].minReady === 0 && report.workloads[k].msAtZero > 0);
    assert.ok(outages.length > 0, `expected an outage, got ${JSON.stringify(report.workloads)}`);
    assert.ok(KEYS.some((k) => report.workloads[k].msBelowFloor > 0));
    assert.ok(report.podsDeletedWithoutEviction >= 9, `killed without eviction: ${report.podsDeletedWithoutEviction}`);
    assert.equal(report.evictions, 0);
  });
});

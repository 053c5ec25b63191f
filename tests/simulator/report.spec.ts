/**
 * GET /simulator/report: time below the PDB floor and at zero comes from ready-count transitions,
 * so it is bounded by what a client can observe from outside.
 */
import * as assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { deploymentYaml, FAST, http, isReady, pdbYaml, scenario, waitFor } from "./helpers";

describe("simulator report", function () {
  let sim: Simulator;
  let core: CoreV1Api;

  beforeEach(async () => {
    sim = await startSimulator({
      timing: FAST,
      scenario: scenario(
        deploymentYaml("web", "shop", 2, { podSpec: { nodeSelector: { "nodepool-rotation/role": "app" } } }),
        pdbYaml("web", "shop", { app: "web" }, { minAvailable: 1 }),
        deploymentYaml("free", "shop", 1, { podSpec: { nodeSelector: { "nodepool-rotation/role": "app" } } }),
      ),
    });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    await sim.addPool({ name: "old", nodes: 2, labels: { "nodepool-rotation/role": "app" }, bootMs: 5 });
    await waitFor("3 ready", async () => (await core.listNamespacedPod({ namespace: "shop" })).items.filter(isReady).length === 3);
  });
  afterEach(() => sim.stop());

  it("start-up does not count as an outage", async () => {
    const r = sim.report();
    assert.deepEqual(r.workloads["shop/Deployment/web"], { replicas: 2, floor: 1, minReady: 2, msBelowFloor: 0, msAtZero: 0, pdb: "shop/web" });
    assert.deepEqual(r.workloads["shop/Deployment/free"], { replicas: 1, floor: null, minReady: 1, msBelowFloor: 0, msAtZero: 0 });
  });

  it("deleting the only pool: time at zero and below floor lies between the boot delay of the new pool and the outage seen from outside", async () => {
    const bootMs = 150;
    const t0 = performance.now();
    await sim.deletePool("old");
    await sim.addPool({ name: "new", nodes: 2, labels: { "nodepool-rotation/role": "app" }, bootMs });
    await waitFor("web ready again", async () => (await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=web" })).items.filter(isReady).length >= 1, 10_000, 5);
    const outside = performance.now() - t0;
    const { body: r } = await http(sim.url, "GET", "/simulator/report");
    const web = r.workloads["shop/Deployment/web"];
    assert.equal(web.minReady, 0);
    assert.ok(web.msAtZero >= bootMs && web.msAtZero <= outside, `msAtZero ${web.msAtZero} within [${bootMs}, ${outside}]`);
    assert.equal(web.msBelowFloor, web.msAtZero, "floor 1: below floor exactly while at zero");
    assert.equal(r.workloads["shop/Deployment/free"].msBelowFloor, 0, "no PDB, no floor");
    assert.ok(r.workloads["shop/Deployment/free"].msAtZero > 0);
    assert.equal(r.podsDeletedWithoutEviction, 3);
    // the figures stop growing once the workload is back
    await waitFor("web fully back", async () => (await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=web" })).items.filter(isReady).length === 2);
    const a = sim.report().workloads["shop/Deployment/web"].msAtZero;
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(sim.report().workloads["shop/Deployment/web"].msAtZero, a);
  });
});

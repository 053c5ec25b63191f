/**
 * The ten real-cluster cases of issue 19 ("Kubernetes semantics the drain must match"), each a
 * drain through HTTP against the simulator with the real client. Outcomes are read from the API and
 * from the simulator's report (Ready pods per workload over time, measured on the server's side).
 * The rules themselves, as pure functions, are pinned in semantics.spec.ts.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { DrainError, drainPool } from "../../components/rotation";
import { startSimulator, Simulator } from "../simulator";
import { deployment, nodeManifest, PoolSim, podSpec, POOL, scenario, startPoolSim, View, waitFor } from "./sim";

const SIM_READY = "simulator.nodepool-rotation.io/ready";
const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

async function rejects(p: Promise<unknown>): Promise<DrainError> {
  try { await p; } catch (e) { assert.ok(e instanceof DrainError, `expected DrainError, got ${e}`); return e; }
  assert.fail("expected the drain to fail");
}

const isReady = (p: k8s.V1Pod) => !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

describe("issue 19: Kubernetes semantics the drain must match (simulator, HTTP)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  let sim: Simulator | undefined;
  afterEach(async () => { await ps?.sim.stop(); ps = undefined; await sim?.stop(); sim = undefined; });

  it("case 2: two pools drained at once in one process share a PDB-less workload's implicit budget (a 2-replica Deployment keeps 1 Ready)", async () => {
    const web = deployment("shop", "web", 2, undefined, { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "web" } } }] } } } });
    sim = await startSimulator({ scenario: scenario([nodeManifest("a-0", "old-a"), nodeManifest("b-0", "old-b"), ...web], { podStartMs: 5, podReadyMs: 300, terminationGraceScale: 0.001, nodeBootMs: 10 }) });
    const kc = sim.kubeConfig();
    const view = new View(kc);
    await waitFor(async () => (await view.pods()).filter(isReady).length === 2, "web Ready on both old pools");
    const spread = (await view.pods()).map((p) => p.spec.nodeName).sort();
    assert.deepEqual(spread, ["a-0", "b-0"], "one web pod on each old pool");
    await sim.addPool({ name: "new", nodes: 2, labels: { "nodepool-rotation/role": "app" } });
    await waitFor(async () => (await view.nodes("new")).filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")).length === 2, "new pool Ready");
    const opts = { replacementSelector: `${POOL}=new`, deadlineMs: 30_000 };
    await Promise.all([drainPool(kc, { ...opts, pool: "old-a" }), drainPool(kc, { ...opts, pool: "old-b" })]);
    const w = sim.report().workloads["shop/Deployment/web"];
    assert.equal(w.msAtZero, 0, `web spent ${w.msAtZero} ms with no Ready pod`);
    assert.ok(w.minReady >= 1, `web went down to ${w.minReady} Ready (implicit floor 1 of 2 replicas)`);
  });

  it("case 4: an unready pod under a PDB with disruptionsAllowed 0 is offered to the API server, which evicts it (IfHealthyBudget: currentHealthy >= desiredHealthy)", async () => {
    const objects = [
      ...deployment("shop", "web-ok", 2, undefined, { spec: { nodeSelector: { [POOL]: "new" } } }),
      ...deployment("shop", "web-bad", 1, undefined, { annotations: { [SIM_READY]: "false" } }),
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: "shop", name: "web" }, spec: { minAvailable: 2, selector: { matchExpressions: [{ key: "app", operator: "In", values: ["web-ok", "web-bad"] }] } } },
    ];
    ps = await startPoolSim({ oldNodes: 1, newNodes: 2, objects, waitReady: false });
    const policy = ps.kc.makeApiClient(k8s.PolicyV1Api);
    await waitFor(async () => { const s = (await policy.readNamespacedPodDisruptionBudget({ namespace: "shop", name: "web" })).status; return s?.currentHealthy === 2 && s.desiredHealthy === 2 && s.disruptionsAllowed === 0; }, "PDB at 2 healthy of 2 desired, no disruption allowed");
    const onOld = (await ps.view.podsOn(ps.oldNodes)).map((p) => p.metadata.name);
    assert.equal(onOld.length, 1, "only the unready web-bad pod runs on the old pool");
    const summary = await drainPool(ps.kc, { pool: "old", deadlineMs: 10_000 });
    assert.equal(summary.evicted, 1);
    assert.deepEqual((await ps.view.podsOn(ps.oldNodes)).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name), []);
    assert.equal(ps.sim.report().podsDeletedWithoutEviction, 0);
  });

  it("case 8: waitForReady waits for min(before, the controller's current spec.replicas); a workload deleted mid-drain drops out", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "web", 4), ...deployment("shop", "gone", 2)], timing: { podReadyMs: 150 } });
    const apps = ps.kc.makeApiClient(k8s.AppsV1Api);
    const drained = drainPool(ps.kc, { pool: "old", waitForReady: true, deadlineMs: 12_000 });
    const report = ps.sim;
    await waitFor(() => report.report().evictions > 0, "the first eviction");
    await apps.patchNamespacedDeployment({ namespace: "shop", name: "web", body: { spec: { replicas: 2 } } }, MERGE); // the autoscaler scales down
    await apps.deleteNamespacedDeployment({ namespace: "shop", name: "gone" });
    const summary = await drained;
    assert.equal(summary.outcome, "drained");
    const web = (await ps.view.pods()).filter((p) => p.metadata.name.startsWith("web-") && isReady(p));
    assert.equal(web.length, 2, "web is back at its new size");
  });
});

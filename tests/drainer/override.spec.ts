/**
 * Re-optioning a stuck drain's retry without editing state, through the REAL dynamic-provider host.
 *
 * A drainer pending deletion runs Delete with its stored outputs (the engine sends the old outputs;
 * the host loads the stored `__provider` from them), so a changed `nodepool-rotation:drain` never
 * reaches the retry. The overrides: env NODEPOOL_ROTATION_DRAIN_OVERRIDE — the host inherits the
 * `pulumi` process's environment (plugin.go:500 `environment := os.Environ()`, 602 `cmd.Env =
 * environment`), emulated by starting the host with it — and the ConfigMap
 * kube-system/nodepool-rotation-drain (key `override`). Precedence: env > ConfigMap > stored.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { Simulator } from "../simulator";
import { deployment, OLD_POOL } from "./cluster";
import { cleanupAfterEach, clusterWithPools, createdDrainer } from "./harness";
import { startFreshHost } from "./host";

const ENV = "NODEPOOL_ROTATION_DRAIN_OVERRIDE";

/** A Deployment whose pods use an emptyDir volume: the drain refuses them unless deleteEmptyDirData. */
const scratch = deployment("shop", "scratch", 2, { minAvailable: 1 }).replace(
  "      containers:",
  "      volumes: [{ name: tmp, emptyDir: {} }]\n      containers:",
);

/** Creates (or replaces) the ConfigMap override with `override` as its `override` key. */
async function setConfigMapOverride(sim: Simulator, override: string): Promise<void> {
  const core = sim.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: "kube-system", body: { metadata: { name: "nodepool-rotation-drain" }, data: { override } } });
}

describe("PoolDrainer Delete: drain override for a retry (env / ConfigMap), real host", function () {
  this.timeout(60_000);
  const cleanups = cleanupAfterEach();

  /** A cluster whose old pool runs `scratch` (emptyDir) next to web, and its drainer stored with deleteEmptyDirData unset. */
  async function stuckOnEmptyDir() {
    const { sim, view } = await clusterWithPools([deployment("shop", "web", 3, { minAvailable: 2 }), scratch], { old: 2, new: 2 }, cleanups);
    const drainer = await createdDrainer(sim.kubeconfig, { deadlineMinutes: 1, concurrency: 10 });
    return { sim, view, ...drainer };
  }

  it("env override turns a refused drain into a drain: the retry with the SAME stored outputs succeeds, options and sources printed", async () => {
    const { sim, view, host, id, outs } = await stuckOnEmptyDir();
    const refused = await host.call("delete", id, outs);
    assert.equal(refused.ok, false, "stored options: the emptyDir pods block the drain");
    assert.match((refused as any).message, /emptyDir/);

    // Next `pulumi up`, run with the override in its environment: the host inherits it.
    const retry = await startFreshHost({ env: { [ENV]: JSON.stringify({ deleteEmptyDirData: true, pools: [OLD_POOL] }) } });
    const r = await retry.call("delete", id, outs);
    assert.ok(r.ok, !r.ok ? r.message : "");
    assert.deepEqual(await view.movablePodsOn(OLD_POOL), [], "the pool was drained");
    const options = /drain options: (.*)/.exec(retry.stderr())?.[1] ?? "";
    assert.match(options, new RegExp(`deleteEmptyDirData=true \\(env ${ENV}\\)`));
    assert.match(options, /concurrency=10 \(stored at the last `pulumi up`\)/);
    assert.match(options, /deadlineMinutes=1 \(stored at the last `pulumi up`\)/);
    assert.equal(sim.report().podsDeletedWithoutEviction, 0);
    assert.equal(sim.report().workloads["shop/Deployment/web"].msBelowFloor, 0);
  });

  it("ConfigMap override applies; env wins over it field by field", async () => {
    const { sim, view, id, outs } = await stuckOnEmptyDir();
    await setConfigMapOverride(sim, JSON.stringify({ deleteEmptyDirData: true, concurrency: 3, skip: true }));
    const retry = await startFreshHost({ env: { [ENV]: JSON.stringify({ skip: false, concurrency: 5 }) } });
    const r = await retry.call("delete", id, outs);
    assert.ok(r.ok, !r.ok ? r.message : "");
    assert.deepEqual(await view.movablePodsOn(OLD_POOL), [], "env skip:false beat the ConfigMap's skip:true: the pool was drained");
    assert.ok(sim.report().evictions >= 5, `evictions: ${sim.report().evictions}`);
    const options = /drain options: (.*)/.exec(retry.stderr())?.[1] ?? "";
    assert.match(options, /deleteEmptyDirData=true \(ConfigMap kube-system\/nodepool-rotation-drain\)/);
    assert.match(options, new RegExp(`concurrency=5 \\(env ${ENV}\\)`));
    assert.match(options, new RegExp(`skip=false \\(env ${ENV}\\)`));
  });

  it("an override naming other pools is not applied, and says so (env and ConfigMap alike)", async () => {
    const { sim, view, id, outs } = await stuckOnEmptyDir();
    const otherPools = { deleteEmptyDirData: true, pools: ["app-1-30-9-gke1000-20260101-zzzzz"] };
    await setConfigMapOverride(sim, JSON.stringify(otherPools));
    const retry = await startFreshHost({ env: { [ENV]: JSON.stringify(otherPools) } });
    const r = await retry.call("delete", id, outs);
    assert.equal(r.ok, false, "the stored options still block");
    assert.match(retry.stderr(), new RegExp(`${ENV} is set but its "pools" do not include ${OLD_POOL}: not applied`));
    assert.match(retry.stderr(), new RegExp(`ConfigMap kube-system/nodepool-rotation-drain \\(key override\\) is set but its "pools" do not include ${OLD_POOL}: not applied`));
    for (const n of await view.nodes(OLD_POOL)) assert.ok(!n.spec?.unschedulable);
  });

  it("a bad env override fails the Delete naming the variable and each field, before any request to the cluster", async () => {
    const { sim, view, id, outs } = await stuckOnEmptyDir();
    const before = sim.report().totalRequests;
    const retry = await startFreshHost({ env: { [ENV]: JSON.stringify({ deadlineMinutes: 0, colour: "red" }) } });
    const r = await retry.call("delete", id, outs);
    assert.equal(r.ok, false);
    const message = (r as any).message as string;
    assert.match(message, new RegExp(`invalid drain override in environment variable ${ENV}`));
    assert.match(message, /options\.deadlineMinutes: must be a number of minutes > 0 and <= 1440 \(fractions allowed\), got 0/);
    assert.match(message, /options\.colour: unknown drain option/);
    assert.match(message, /changed nothing in the cluster/);
    assert.match(message, /Fix or remove the override/);
    assert.equal(sim.report().totalRequests, before, "no request at all");
    for (const n of await view.nodes(OLD_POOL)) assert.ok(!n.spec?.unschedulable);

    const notJson = await startFreshHost({ env: { [ENV]: "deadlineMinutes=90" } });
    const r2 = await notJson.call("delete", id, outs);
    assert.equal(r2.ok, false);
    assert.match((r2 as any).message, new RegExp(`invalid drain override in environment variable ${ENV}: not JSON`));
  });

  it("a bad ConfigMap override fails the Delete naming the ConfigMap and the field; nothing cordoned or evicted", async () => {
    const { sim, view, id, outs } = await stuckOnEmptyDir();
    await setConfigMapOverride(sim, JSON.stringify({ concurrency: 0 }));
    const retry = await startFreshHost();
    const r = await retry.call("delete", id, outs);
    assert.equal(r.ok, false);
    const message = (r as any).message as string;
    assert.match(message, /invalid drain override in ConfigMap kube-system\/nodepool-rotation-drain \(key override\): options\.concurrency: must be an integer from 1/);
    assert.match(message, /changed nothing in the cluster/);
    for (const n of await view.nodes(OLD_POOL)) assert.ok(!n.spec?.unschedulable);
    assert.equal(sim.report().evictions, 0);
  });
});

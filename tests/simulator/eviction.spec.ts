/**
 * POST pods/eviction edge cases, each as kube-apiserver's eviction.go decides them, through
 * @kubernetes/client-node's CoreV1Api.createNamespacedPodEviction over HTTP.
 */
import * as assert from "node:assert/strict";
import { CoreV1Api, PatchStrategy, PolicyV1Api, setHeaderOptions, V1Pod, Watch } from "@kubernetes/client-node";
import { ANN, startSimulator, Simulator } from "./index";
import { deploymentYaml, expectHttpError, FAST, isReady, nodeYaml, pdbYaml, scenario, waitFor } from "./helpers";

const NS = "ev";


describe("simulator eviction (pkg/registry/core/pod/storage/eviction.go)", function () {
  let sim: Simulator;
  let core: CoreV1Api;
  let policy: PolicyV1Api;

  const evict = (name: string, extra: object = {}) =>
    core.createNamespacedPodEviction({ name, namespace: NS, body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: NS }, ...extra } });
  const pods = async (app: string) => (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;
  const readyPods = async (app: string) => (await pods(app)).filter((p) => isReady(p) && !p.metadata!.deletionTimestamp);
  const pdb = (name: string) => policy.readNamespacedPodDisruptionBudget({ name, namespace: NS });
  const settled = (app: string, n: number, pdbName?: string) => waitFor(`${app} ${n} ready`, async () => {
    if ((await readyPods(app)).length !== n || (await pods(app)).length !== n) return false;
    if (!pdbName) return true;
    const st = (await pdb(pdbName)).status!;
    return st.currentHealthy === n && st.observedGeneration === (await pdb(pdbName)).metadata!.generation;
  });

  beforeEach(async () => {
    sim = await startSimulator({
      timing: FAST,
      scenario: scenario(
        nodeYaml("n1"), nodeYaml("n2"),
        deploymentYaml("web", NS, 3),
        pdbYaml("web", NS, { app: "web" }, { minAvailable: 2 }),
      ),
    });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    policy = sim.kubeConfig().makeApiClient(PolicyV1Api);
    await settled("web", 3, "web");
  });
  afterEach(() => sim.stop());

  it("evicts when the budget allows: 201, DisruptionTarget condition, graceful delete, budget consumed", async () => {
    const [p] = await readyPods("web");
    const name = p.metadata!.name!;
    const seen: { type: string; disruptionTarget?: string; deleting: boolean }[] = [];
    const ctl = await new Watch(sim.kubeConfig()).watch(`/api/v1/namespaces/${NS}/pods`, { fieldSelector: `metadata.name=${name}`, resourceVersion: p.metadata!.resourceVersion },
      (type, o) => seen.push({ type, disruptionTarget: o.status?.conditions?.find((c: any) => c.type === "DisruptionTarget")?.reason, deleting: !!o.metadata.deletionTimestamp }), () => undefined);
    try {
      await evict(name); // client-node throws on any non-2xx
      assert.equal((await pdb("web")).status!.disruptionsAllowed, 0, "budget consumed");
      assert.equal(sim.report().evictions, 1);
      assert.equal(sim.report().podsDeletedWithoutEviction, 0);
      await waitFor("pod gone", () => seen.some((e) => e.type === "DELETED"));
      // the condition is written before the graceful delete, then the kubelet removes the pod
      assert.deepEqual(seen.map((e) => `${e.type}:${e.disruptionTarget ?? "-"}:${e.deleting}`), [
        "MODIFIED:EvictionByEvictionAPI:false", "MODIFIED:EvictionByEvictionAPI:true", "DELETED:EvictionByEvictionAPI:true",
      ]);
    } finally {
      ctl.abort();
    }
  });

  it("a successful eviction consumes budget immediately: of two back-to-back evictions with disruptionsAllowed=1, one is refused", async () => {
    assert.equal((await pdb("web")).status!.disruptionsAllowed, 1);
    const [a, b] = await readyPods("web");
    const results = await Promise.allSettled([evict(a.metadata!.name!), evict(b.metadata!.name!)]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal(rejected.reason.code, 429);
  });

  it("refuses with 429 and the budget named in the cause when no disruption is allowed", async () => {
    const [a, b] = await readyPods("web");
    await evict(a.metadata!.name!);
    const body = await expectHttpError(evict(b.metadata!.name!), 429);
    assert.equal(body.reason, "TooManyRequests");
    assert.equal(body.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(body.details.causes, [{ reason: "DisruptionBudget", message: "The disruption budget web needs 2 healthy pods and has 2 currently" }]);
    assert.equal(sim.report().pdbs[`${NS}/web`].evictionsRejected, 1);
    assert.equal(sim.report().pdbs[`${NS}/web`].evictionsAllowed, 1);
  });

  it("answers 500 when more than one PDB selects the pod", async () => {
    await policy.createNamespacedPodDisruptionBudget({ namespace: NS, body: { metadata: { name: "web2" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } } });
    const [a] = await readyPods("web");
    const body = await expectHttpError(evict(a.metadata!.name!), 500);
    assert.equal(body.message, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  });

  it("answers 429 while the PDB status is stale (observedGeneration < generation)", async () => {
    await policy.patchNamespacedPodDisruptionBudget({ name: "web", namespace: NS, body: { metadata: { annotations: { [ANN.freezeStatus]: "true" } }, spec: { minAvailable: 1 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    const cur = await pdb("web");
    assert.ok(cur.status!.observedGeneration! < cur.metadata!.generation!);
    const [a] = await readyPods("web");
    const body = await expectHttpError(evict(a.metadata!.name!), 429);
    assert.deepEqual(body.details.causes, [{ reason: "DisruptionBudget", message: "The disruption budget web is still being processed by the server." }]);
  });

  it("deletes Pending, Succeeded, Failed and terminating pods without a budget check", async () => {
    // exhaust the budget first
    const [a] = await readyPods("web");
    await evict(a.metadata!.name!);
    assert.equal((await pdb("web")).status!.disruptionsAllowed, 0);
    const mk = (name: string, spec: object) => core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "x" }], ...spec } } });
    await mk("pending", { nodeSelector: { nowhere: "true" } });
    await evict("pending");
    await mk("done", { nodeName: "n1" });
    await core.patchNamespacedPodStatus({ name: "done", namespace: NS, body: { status: { phase: "Succeeded" } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await evict("done");
    await mk("failed", { nodeName: "n1" });
    await core.patchNamespacedPodStatus({ name: "failed", namespace: NS, body: { status: { phase: "Failed" } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await evict("failed");
    const names = (await pods("web")).map((p) => p.metadata!.name);
    for (const n of ["pending", "done", "failed"]) assert.ok(!names.includes(n), `${n} deleted`);
    // terminating: a long grace period keeps it terminating; eviction still succeeds
    const [b] = await readyPods("web");
    await core.deleteNamespacedPod({ name: b.metadata!.name!, namespace: NS, gracePeriodSeconds: 3600 });
    await evict(b.metadata!.name!);
  });

  describe("unready pods and unhealthyPodEvictionPolicy", () => {
    const unhealthy = async (name: string) => {
      await core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels: { app: "web" }, annotations: { [ANN.ready]: "false" } }, spec: { containers: [{ name: "c", image: "x" }], nodeName: "n1" } } });
      await waitFor(`${name} running`, async () => (await core.readNamespacedPod({ name, namespace: NS })).status!.phase === "Running");
    };

    it("IfHealthyBudget (default): an unready pod is evicted without using budget while currentHealthy >= desiredHealthy", async () => {
      await unhealthy("sick");
      await waitFor("pdb sees sick", async () => (await pdb("web")).status!.expectedPods === 4);
      assert.equal((await pdb("web")).status!.disruptionsAllowed, 1);
      await evict("sick");
      const st = (await pdb("web")).status!;
      assert.equal(st.disruptionsAllowed, 1, "budget untouched");
      assert.ok(!st.disruptedPods?.sick);
      await waitFor("sick gone", async () => !(await pods("web")).some((p) => p.metadata!.name === "sick"));
      const [a] = await readyPods("web");
      await evict(a.metadata!.name!); // the budget is still there for a healthy pod
    });

    it("IfHealthyBudget: an unready pod is refused (429) when the budget is already below its desired health", async () => {
      await policy.patchNamespacedPodDisruptionBudget({ name: "web", namespace: NS, body: { spec: { minAvailable: 5 } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      await unhealthy("sick");
      await waitFor("pdb observed", async () => { const p = await pdb("web"); return p.status!.observedGeneration === p.metadata!.generation && p.status!.desiredHealthy === 5; });
      const body = await expectHttpError(evict("sick"), 429);
      assert.match(body.details.causes[0].message, /needs 5 healthy pods and has 3 currently/);
    });

    it("AlwaysAllow: an unready pod is evicted even when the budget is below its desired health", async () => {
      await policy.patchNamespacedPodDisruptionBudget({ name: "web", namespace: NS, body: { spec: { minAvailable: 5, unhealthyPodEvictionPolicy: "AlwaysAllow" } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      await unhealthy("sick");
      await waitFor("pdb observed", async () => { const p = await pdb("web"); return p.status!.observedGeneration === p.metadata!.generation; });
      await evict("sick");
      const [a] = await readyPods("web");
      await expectHttpError(evict(a.metadata!.name!), 429); // healthy pods stay protected
    });
  });

  it("answers 404 for a missing pod and 400 when the body names another pod", async () => {
    const nf = await expectHttpError(evict("nope"), 404);
    assert.equal(nf.message, 'pods "nope" not found');
    const [a] = await readyPods("web");
    const bad = await expectHttpError(core.createNamespacedPodEviction({ name: a.metadata!.name!, namespace: NS, body: { metadata: { name: "other", namespace: NS } } }), 400);
    assert.equal(bad.message, "name in URL does not match name in Eviction object");
  });

  it("counts a direct DELETE of a pod as a deletion without eviction; evictions do not count", async () => {
    const [a, b] = await readyPods("web") as V1Pod[];
    await evict(a.metadata!.name!);
    assert.equal(sim.report().podsDeletedWithoutEviction, 0);
    await core.deleteNamespacedPod({ name: b.metadata!.name!, namespace: NS });
    assert.equal(sim.report().podsDeletedWithoutEviction, 1);
  });
});

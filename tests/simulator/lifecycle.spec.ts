/**
 * Object lifecycle as a real cluster has it, through client-node over HTTP: a namespace being
 * deleted (NamespaceLifecycle admission, namespace controller), finalizers holding a deleted pod,
 * a node whose kubelet is dead, and a node re-created under its name (GKE auto-repair).
 */
import * as assert from "node:assert/strict";
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, V1Pod } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { deploymentYaml, expectHttpError, FAST, http, isReady, nodeYaml, pdbYaml, scenario, waitFor } from "./helpers";


const SCENARIO = scenario(
  nodeYaml("n1"),
  nodeYaml("n2"),
  // 300 s grace x 0.001 = 300 ms: long enough to see pods Terminating
  deploymentYaml("web", "doomed", 2, { podSpec: { terminationGracePeriodSeconds: 300 } }),
  pdbYaml("web", "doomed", { app: "web" }, { minAvailable: 1 }),
  deploymentYaml("api", "live", 2),
);

describe("simulator lifecycle: namespaces, finalizers, dead kubelets, re-created nodes", function () {
  this.timeout(30_000);
  let sim: Simulator;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const podsIn = async (ns: string, selector?: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

  beforeEach(async () => {
    sim = await startSimulator({ scenario: SCENARIO, timing: FAST });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    apps = sim.kubeConfig().makeApiClient(AppsV1Api);
    await waitFor("4 pods ready", async () => (await core.listPodForAllNamespaces()).items.filter(isReady).length === 4);
  });
  afterEach(() => sim.stop());

  it("a namespace being deleted refuses creates and evictions with 403 NamespaceTerminating; its pods are deleted gracefully, then it goes", async () => {
    const [victim] = await podsIn("doomed");
    const del = await core.deleteNamespace({ name: "doomed" });
    assert.equal((del as any).status?.phase, "Terminating");
    const ns = await core.readNamespace({ name: "doomed" });
    assert.ok(ns.metadata!.deletionTimestamp);
    assert.equal(ns.status!.phase, "Terminating");

    const created = await expectHttpError(core.createNamespacedPod({ namespace: "doomed", body: { metadata: { name: "late" }, spec: { containers: [{ name: "c", image: "x" }] } } }), 403);
    assert.equal(created.reason, "Forbidden");
    assert.equal(created.message, 'pods "late" is forbidden: unable to create new content in namespace doomed because it is being terminated');
    assert.deepEqual(created.details.causes, [{ reason: "NamespaceTerminating", message: "namespace doomed is being terminated", field: "metadata.namespace" }]);

    const name = victim.metadata!.name!;
    const evicted = await expectHttpError(core.createNamespacedPodEviction({ name, namespace: "doomed", body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: "doomed" } } }), 403);
    assert.equal(evicted.message, `pods "${name}" is forbidden: unable to create new content in namespace doomed because it is being terminated`);
    assert.equal(evicted.details.causes[0].reason, "NamespaceTerminating");
    assert.deepEqual([evicted.details.name, evicted.details.kind], [name, "pods"]);

    // the namespace controller deletes the pods with their grace period: Terminating first, then gone
    await waitFor("web pods terminating", async () => (await podsIn("doomed")).some((p) => p.metadata!.deletionTimestamp));
    await waitFor("namespace gone", async () => {
      try {
        await core.readNamespace({ name: "doomed" });
        return false;
      } catch (e: any) {
        return e.code === 404;
      }
    });
    assert.equal((await core.listPodForAllNamespaces()).items.filter((p) => p.metadata!.namespace === "doomed").length, 0);
    assert.equal((await podsIn("live")).filter(isReady).length, 2, "other namespaces untouched");
    assert.equal(sim.report().evictions, 0);
  });

  it("a deleted pod with finalizers stays (deletionTimestamp set), not Ready, containers stopped after its grace period, until the finalizers are removed", async () => {
    await core.createNamespacedPod({ namespace: "live", body: { metadata: { name: "held", finalizers: ["example.com/keep"] }, spec: { nodeName: "n1", terminationGracePeriodSeconds: 50, containers: [{ name: "c", image: "x" }] } } });
    await waitFor("held ready", async () => isReady(await core.readNamespacedPod({ name: "held", namespace: "live" })));
    await core.deleteNamespacedPod({ name: "held", namespace: "live" });
    const stopped = await waitFor("containers stopped", async () => {
      const p = await core.readNamespacedPod({ name: "held", namespace: "live" });
      return p.status!.phase === "Failed" ? p : undefined;
    });
    assert.ok(stopped.metadata!.deletionTimestamp);
    assert.equal(stopped.metadata!.deletionGracePeriodSeconds, 0, "the kubelet confirmed the deletion (grace 0)");
    assert.equal(isReady(stopped), false);
    assert.ok(stopped.status!.containerStatuses![0].state!.terminated);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(await core.readNamespacedPod({ name: "held", namespace: "live" }), "still there while the finalizer is");

    await core.patchNamespacedPod({ name: "held", namespace: "live", body: { metadata: { finalizers: null } } }, merge);
    await waitFor("held gone", async () => !(await podsIn("live")).some((p) => p.metadata!.name === "held"));
  });

  it("a node whose kubelet is dead goes Unknown and tainted, its pods unready; pods deleted there stay Terminating until it comes back", async () => {
    const onN2 = (await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=n2" })).items;
    assert.ok(onN2.length > 0);
    const r = await http(sim.url, "POST", "/simulator/nodes/n2/kubelet", { dead: true });
    assert.equal(r.status, 200);
    const node = await waitFor("n2 unknown", async () => {
      const n = await core.readNode({ name: "n2" });
      return n.status!.conditions!.find((c) => c.type === "Ready")!.status === "Unknown" ? n : undefined;
    });
    assert.deepEqual(node.spec!.taints!.map((t) => `${t.key}:${t.effect}`), ["node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"]);
    await waitFor("n2 pods unready", async () => (await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=n2" })).items.every((p) => !isReady(p)));

    const victim = onN2[0];
    await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace: victim.metadata!.namespace!, body: { gracePeriodSeconds: 1 } });
    await new Promise((r) => setTimeout(r, 200)); // 20x its scaled grace period
    const stuck = await core.readNamespacedPod({ name: victim.metadata!.name!, namespace: victim.metadata!.namespace! });
    assert.ok(stuck.metadata!.deletionTimestamp, "still Terminating: no kubelet confirms it");

    await http(sim.url, "POST", "/simulator/nodes/n2/kubelet", { dead: false });
    await waitFor("victim gone once the kubelet is back", async () => !(await core.listPodForAllNamespaces()).items.some((p) => p.metadata!.uid === victim.metadata!.uid));
    const back = await core.readNode({ name: "n2" });
    assert.equal(back.spec!.taints, undefined);
    assert.ok(isReady(back));
  });

  it("POST /simulator/nodes/NAME/recreate: same name, new uid, not cordoned, its pods gone with the VM", async () => {
    await core.patchNode({ name: "n1", body: { spec: { unschedulable: true } } }, merge);
    const old = await core.readNode({ name: "n1" });
    const before: V1Pod[] = (await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=n1" })).items;
    assert.ok(before.length > 0);
    const r = await http(sim.url, "POST", "/simulator/nodes/n1/recreate");
    assert.equal(r.status, 200);
    assert.equal(r.body.oldUid, old.metadata!.uid);
    const fresh = await core.readNode({ name: "n1" });
    assert.notEqual(fresh.metadata!.uid, old.metadata!.uid);
    assert.equal(r.body.uid, fresh.metadata!.uid);
    assert.equal(fresh.spec!.unschedulable, undefined);
    assert.equal(fresh.metadata!.labels!["cloud.google.com/gke-nodepool"], "pool-a");
    const uids = new Set(before.map((p) => p.metadata!.uid));
    assert.ok(!(await core.listPodForAllNamespaces()).items.some((p) => uids.has(p.metadata!.uid)), "the old node's pods are gone");
    await waitFor("n1 ready again", async () => isReady(await core.readNode({ name: "n1" })));
    await waitFor("workloads back to 4 ready", async () => (await core.listPodForAllNamespaces()).items.filter(isReady).length === 4);
    assert.equal((await apps.readNamespacedDeployment({ name: "web", namespace: "doomed" })).status!.readyReplicas, 2);
    assert.equal((await http(sim.url, "POST", "/simulator/nodes/nope/recreate")).status, 404);
  });
});

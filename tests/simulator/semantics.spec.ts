/**
 * API-server and controller semantics a drain meets, through client-node over HTTP: the eviction
 * endpoint's 409 about the PDB (vs the 409 about the pod), the disruption controller's expected
 * count under its lag, the NodeUnschedulable toleration, and coordination.k8s.io Leases.
 */
import * as assert from "node:assert/strict";
import { AppsV1Api, CoordinationV1Api, CoreV1Api, PatchStrategy, PolicyV1Api, setHeaderOptions, V1PodDisruptionBudgetStatus, Watch } from "@kubernetes/client-node";
import { startSimulator, Simulator, Timing } from "./index";
import { deploymentYaml, expectHttpError, FAST, http, isReady, nodeYaml, pdbYaml, scenario, waitFor } from "./helpers";


function statefulSet(name: string, replicas: number): object {
  return {
    metadata: { name, namespace: "zk" },
    spec: {
      replicas, serviceName: name, podManagementPolicy: "Parallel", selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "zookeeper" }] } },
    },
  };
}

describe("simulator semantics: eviction conflicts, disruption controller lag, NodeUnschedulable, Leases", function () {
  this.timeout(30_000);
  let sim: Simulator;
  let core: CoreV1Api;
  const start = async (text: string, timing: Partial<Timing> = {}) => {
    sim = await startSimulator({ scenario: text, timing: { ...FAST, ...timing } });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
  };
  afterEach(() => sim?.stop());
  const evict = (ns: string, name: string, extra: object = {}) =>
    core.createNamespacedPodEviction({ name, namespace: ns, body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns }, ...extra } });

  it("eviction: a PDB update conflict answers 409 about the PDB and evicts nothing; a UID precondition answers 409 about the pod", async () => {
    await start(scenario(nodeYaml("n1"), deploymentYaml("web", "shop", 3), pdbYaml("web", "shop", { app: "web" }, { maxUnavailable: 1 })));
    const policy = sim.kubeConfig().makeApiClient(PolicyV1Api);
    await waitFor("budget 1", async () => (await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" })).status?.disruptionsAllowed === 1);
    const [a, b] = (await core.listNamespacedPod({ namespace: "shop" })).items;
    const f = await http(sim.url, "POST", "/simulator/faults", { pdbConflicts: 1 });
    assert.equal(f.body.pdbConflicts, 1);

    const body = await expectHttpError(evict("shop", a.metadata!.name!), 409);
    assert.deepEqual(body, {
      kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure",
      message: 'Operation cannot be fulfilled on poddisruptionbudgets.policy "web": the object has been modified; please apply your changes to the latest version and try again',
      reason: "Conflict", details: { name: "web", group: "policy", kind: "poddisruptionbudgets" }, code: 409,
    });
    assert.equal((await core.readNamespacedPod({ name: a.metadata!.name!, namespace: "shop" })).metadata!.deletionTimestamp, undefined, "not evicted");
    assert.equal((await policy.readNamespacedPodDisruptionBudget({ name: "web", namespace: "shop" })).status!.disruptionsAllowed, 1, "budget not spent");
    assert.equal(sim.report().evictions, 0);

    const pod = await expectHttpError(evict("shop", b.metadata!.name!, { deleteOptions: { preconditions: { uid: "not-its-uid" } } }), 409);
    assert.deepEqual(pod.details, { name: b.metadata!.name, kind: "Pod" });
    assert.equal(pod.message, `Operation cannot be fulfilled on Pod "${b.metadata!.name}": the UID in the precondition (not-its-uid) does not match the UID in record (${b.metadata!.uid}). The object might have been deleted and then recreated`);
    await evict("shop", a.metadata!.name!); // the fault was for one eviction only
    assert.ok((await core.readNamespacedPod({ name: a.metadata!.name!, namespace: "shop" })).metadata!.deletionTimestamp);
  });

  it("disruption controller lag: under an integer minAvailable a StatefulSet's recreated pod shows as expectedPods 2 for a while; under maxUnavailable the scale (3) stays", async () => {
    const text = scenario(nodeYaml("n1"), nodeYaml("n2"),
      pdbYaml("int", "zk", { app: "int" }, { minAvailable: 2 }), pdbYaml("max", "zk", { app: "max" }, { maxUnavailable: 1 }));
    const run = async (timing: Partial<Timing>): Promise<Map<string, V1PodDisruptionBudgetStatus[]>> => {
      await start(text, timing);
      const apps = sim.kubeConfig().makeApiClient(AppsV1Api);
      for (const name of ["int", "max"]) await apps.createNamespacedStatefulSet({ namespace: "zk", body: statefulSet(name, 3) as any });
      const policy = sim.kubeConfig().makeApiClient(PolicyV1Api);
      const allowed = async (name: string) => (await policy.readNamespacedPodDisruptionBudget({ name, namespace: "zk" })).status;
      await waitFor("both budgets allow 1", async () => (await allowed("int"))?.disruptionsAllowed === 1 && (await allowed("max"))?.disruptionsAllowed === 1);
      const seen = new Map<string, V1PodDisruptionBudgetStatus[]>([["int", []], ["max", []]]);
      const w = await new Watch(sim.kubeConfig()).watch("/apis/policy/v1/namespaces/zk/poddisruptionbudgets", {}, (_t, o) => seen.get(o.metadata.name)?.push(o.status), () => undefined);
      for (const name of ["int", "max"]) await evict("zk", `${name}-1`);
      await waitFor("both recreated and counted", async () => {
        const pods = (await core.listNamespacedPod({ namespace: "zk" })).items;
        return pods.filter((p) => isReady(p) && !p.metadata!.deletionTimestamp).length === 6 && (await allowed("int"))?.disruptionsAllowed === 1 && (await allowed("max"))?.disruptionsAllowed === 1;
      });
      w.abort();
      await sim.stop();
      return seen;
    };
    const lagged = await run({ disruptionLagMs: 10, workloadLagMs: 150, lagSeed: 7 });
    assert.ok(lagged.get("int")!.some((s) => s.expectedPods === 2 && s.disruptionsAllowed === 0), `int: ${JSON.stringify(lagged.get("int")!.map((s) => s.expectedPods))}`);
    assert.ok(lagged.get("max")!.every((s) => s.expectedPods === 3), `max: ${JSON.stringify(lagged.get("max")!.map((s) => s.expectedPods))}`);
    // without the lag the StatefulSet controller runs before the disruption controller: no dip is ever published
    const prompt = await run({});
    assert.ok(prompt.get("int")!.every((s) => s.expectedPods === 3), `int without lag: ${JSON.stringify(prompt.get("int")!.map((s) => s.expectedPods))}`);
  });

  it("NodeUnschedulable: pods tolerating node.kubernetes.io/unschedulable (Exists, NoSchedule or any effect, or an empty key) land on cordoned nodes", async () => {
    await start(scenario(nodeYaml("cordoned", { unschedulable: true })));
    const make = (name: string, tolerations: object[]) => core.createNamespacedPod({ namespace: "default", body: { metadata: { name }, spec: { tolerations, containers: [{ name: "c", image: "x" }] } } as any });
    await make("exists-noschedule", [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }]);
    await make("key-only", [{ key: "node.kubernetes.io/unschedulable", operator: "Exists" }]);
    await make("everything", [{ operator: "Exists" }]);
    await make("plain", []);
    await make("wrong-effect", [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }]);
    for (const name of ["exists-noschedule", "key-only", "everything"]) {
      assert.equal(await waitFor(`${name} bound`, async () => (await core.readNamespacedPod({ name, namespace: "default" })).spec!.nodeName), "cordoned");
    }
    for (const name of ["plain", "wrong-effect"]) {
      const msg = await waitFor(`${name} unschedulable`, async () => (await core.readNamespacedPod({ name, namespace: "default" })).status!.conditions?.find((c) => c.type === "PodScheduled")?.message);
      assert.match(msg, /^0\/1 nodes are available: 1 node\(s\) were unschedulable\./);
    }
  });

  it("Leases (coordination.k8s.io/v1): create, get, list, update and patch with resourceVersion concurrency, 409 AlreadyExists, delete", async () => {
    await start(scenario(nodeYaml("n1")));
    const leases = sim.kubeConfig().makeApiClient(CoordinationV1Api);
    const created = await leases.createNamespacedLease({ namespace: "kube-system", body: { metadata: { name: "drain-budget" }, spec: { holderIdentity: "drainer-a", leaseDurationSeconds: 30 } } });
    assert.equal(created.spec!.holderIdentity, "drainer-a");
    const dup = await expectHttpError(leases.createNamespacedLease({ namespace: "kube-system", body: { metadata: { name: "drain-budget" }, spec: {} } }), 409);
    assert.equal(dup.reason, "AlreadyExists");
    assert.equal(dup.message, 'leases.coordination.k8s.io "drain-budget" already exists');

    const mine = await leases.readNamespacedLease({ name: "drain-budget", namespace: "kube-system" });
    const theirs = await leases.replaceNamespacedLease({ name: "drain-budget", namespace: "kube-system", body: { ...mine, spec: { ...mine.spec, holderIdentity: "drainer-b" } } });
    assert.notEqual(theirs.metadata!.resourceVersion, mine.metadata!.resourceVersion);
    const stale = await expectHttpError(leases.replaceNamespacedLease({ name: "drain-budget", namespace: "kube-system", body: { ...mine, spec: { ...mine.spec, holderIdentity: "drainer-a2" } } }), 409);
    assert.equal(stale.reason, "Conflict");
    assert.equal(stale.message, 'Operation cannot be fulfilled on leases.coordination.k8s.io "drain-budget": the object has been modified; please apply your changes to the latest version and try again');
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    await expectHttpError(leases.patchNamespacedLease({ name: "drain-budget", namespace: "kube-system", body: { metadata: { resourceVersion: mine.metadata!.resourceVersion }, spec: { holderIdentity: "x" } } }, merge), 409);
    const patched = await leases.patchNamespacedLease({ name: "drain-budget", namespace: "kube-system", body: { metadata: { resourceVersion: theirs.metadata!.resourceVersion }, spec: { holderIdentity: "drainer-c" } } }, merge);
    assert.equal(patched.spec!.holderIdentity, "drainer-c");
    assert.deepEqual((await leases.listNamespacedLease({ namespace: "kube-system" })).items.map((l) => l.metadata!.name), ["drain-budget"]);
    await leases.deleteNamespacedLease({ name: "drain-budget", namespace: "kube-system" });
    await expectHttpError(leases.readNamespacedLease({ name: "drain-budget", namespace: "kube-system" }), 404);
  });
});

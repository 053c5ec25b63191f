/**
 * The ten real-cluster cases of issue 19 ("Kubernetes semantics the drain must match"), each a
 * drain through HTTP against the simulator with the real client. Outcomes are read from the API and
 * from the simulator's report (Ready pods per workload over time, measured on the server's side).
 * The rules themselves, as pure functions, are pinned in semantics.spec.ts.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { drainPool, isDrainError, planPool } from "../../components/rotation";
import { rejects } from "../support/drain";
import { guardPoolDelete } from "../../components/poolGuard";
import { CORDONED_ANNOTATION } from "../../components/contracts";
import { startSimulator, Simulator } from "../simulator";
import { deployment, nodeManifest, PoolSim, podSpec, POOL, runCli, scenario, startPoolSim, View, waitFor } from "./sim";

const SIM_READY = "simulator.nodepool-rotation.io/ready";
const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);


function statefulSet(ns: string, name: string, replicas: number): any {
  return { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace: ns, name },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec() } } };
}

/** POST to a simulator endpoint (node re-creation, kubelet). */
async function simPost(sim: Simulator, path: string, body: object = {}): Promise<any> {
  const r = await fetch(`${sim.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, `${path}: HTTP ${r.status}`);
  return r.json();
}

const isReady = (p: k8s.V1Pod) => !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

describe("issue 19: Kubernetes semantics the drain must match (simulator, HTTP)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  let sim: Simulator | undefined;
  afterEach(async () => { await ps?.sim.stop(); ps = undefined; await sim?.stop(); sim = undefined; });

  it("case 1: a pod whose claim is bound to a local PV on an old node is a blocker naming the claim, the volume and the fix; the drain refuses it and the pool guard refuses the delete", async () => {
    const objects = [
      { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "local-ssd-old-0" }, spec: { capacity: { storage: "375Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", local: { path: "/mnt/disks/ssd0" }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["old-0"] }] }] } } } },
      { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { namespace: "db", name: "cache" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", volumeName: "local-ssd-old-0", resources: { requests: { storage: "375Gi" } } } },
      ...deployment("db", "cache", 1, undefined, { spec: { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "cache" } }] } }),
      ...deployment("shop", "web", 2),
    ];
    ps = await startPoolSim({ oldNodes: 1, objects });
    const plan = await planPool(ps.kc, { pool: "old" });
    const line = plan.blockers.find((b) => b.includes("claim db/cache"));
    assert.ok(line, `a blocker names the claim: ${JSON.stringify(plan.blockers)}`);
    assert.match(line, /local volume local-ssd-old-0 pinned to node old-0/);
    assert.match(line, /delete claim db\/cache and volume local-ssd-old-0/);
    const e = await rejects(drainPool(ps.kc, { pool: "old", deadlineMs: 10_000 }));
    assert.equal(e.reason, "blocked");
    assert.equal(ps.sim.report().evictions, 0, "nothing evicted");
    for (const n of await ps.view.nodes("old")) assert.ok(!n.spec?.unschedulable, "old pool uncordoned");
    // The pool's drainer had cordoned it (as after a drain that succeeded before the volume mattered):
    // the guard's refusal gives the pool back, uncordoned, rather than keep it cordoned while it waits.
    const core = ps.kc.makeApiClient(k8s.CoreV1Api);
    await core.patchNode({ name: "old-0", body: { metadata: { annotations: { [CORDONED_ANNOTATION]: new Date().toISOString() } }, spec: { unschedulable: true } } }, MERGE);
    await assert.rejects(guardPoolDelete(ps.kc, { pool: "old", clusterId: "p/europe-west1/c" }), /claim db\/cache .*local-ssd-old-0.*keeps serving \(uncordoned old-0\)/s);
    assert.equal(ps.sim.report().evictions, 0, "the guard moved nothing either");
    const old0 = await core.readNode({ name: "old-0" });
    assert.ok(!old0.spec?.unschedulable, "the guard's refusal uncordoned old-0");
    assert.equal(old0.metadata?.annotations?.[CORDONED_ANNOTATION], undefined, "and removed this tool's cordon annotation");
  });

  it("case 3: a StatefulSet of 3 under an integer minAvailable 2 drains although the lagging disruption controller publishes expectedPods 2", async () => {
    const pdb = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: "zk", name: "zk" }, spec: { minAvailable: 2, selector: { matchLabels: { app: "zk" } } } };
    ps = await startPoolSim({ oldNodes: 3, objects: [statefulSet("zk", "zk", 3), pdb], timing: { disruptionLagMs: 10, workloadLagMs: 150, lagSeed: 7 } });
    const policy = ps.kc.makeApiClient(k8s.PolicyV1Api);
    const seen: number[] = [];
    const w = await new k8s.Watch(ps.kc).watch("/apis/policy/v1/namespaces/zk/poddisruptionbudgets", {}, (_t, o) => seen.push(o.status?.expectedPods), () => undefined);
    try {
      await waitFor("zk allows 1", async () => (await policy.readNamespacedPodDisruptionBudget({ namespace: "zk", name: "zk" })).status?.disruptionsAllowed === 1);
      const summary = await drainPool(ps.kc, { pool: "old", deadlineMs: 20_000 });
      assert.equal(summary.evicted, 3);
      assert.ok(seen.includes(2), `the controller published expectedPods 2 meanwhile: ${JSON.stringify(seen)}`);
    } finally {
      w.abort();
    }
  });

  it("case 2: two pools drained at once in one process share a PDB-less workload's implicit budget (a 2-replica Deployment keeps 1 Ready)", async () => {
    const web = deployment("shop", "web", 2, undefined, { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "web" } } }] } } } });
    sim = await startSimulator({ scenario: scenario([nodeManifest("a-0", "old-a"), nodeManifest("b-0", "old-b"), ...web], { podStartMs: 5, podReadyMs: 300, terminationGraceScale: 0.001, nodeBootMs: 10 }) });
    const kc = sim.kubeConfig();
    const view = new View(kc);
    await waitFor("web Ready on both old pools", async () => (await view.pods()).filter(isReady).length === 2);
    const spread = (await view.pods()).map((p) => p.spec.nodeName).sort();
    assert.deepEqual(spread, ["a-0", "b-0"], "one web pod on each old pool");
    await sim.addPool({ name: "new", nodes: 2, labels: { "nodepool-rotation/role": "app" } });
    await waitFor("new pool Ready", async () => (await view.nodes("new")).filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")).length === 2);
    const opts = { replacementSelector: `${POOL}=new`, deadlineMs: 30_000 };
    await Promise.all([drainPool(kc, { ...opts, pool: "old-a" }), drainPool(kc, { ...opts, pool: "old-b" })]);
    const w = sim.report().workloads["shop/Deployment/web"];
    assert.equal(w.msAtZero, 0, `web spent ${w.msAtZero} ms with no Ready pod`);
    assert.ok(w.minReady >= 1, `web went down to ${w.minReady} Ready (implicit floor 1 of 2 replicas)`);
  });

  it("case 2: two drain processes (two CLIs) share the implicit budget through the Lease kube-system/nodepool-rotation-budget", async () => {
    const web = deployment("shop", "web", 2, undefined, { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "web" } } }] } } } });
    sim = await startSimulator({ scenario: scenario([nodeManifest("a-0", "old-a"), nodeManifest("b-0", "old-b"), ...web], { podStartMs: 5, podReadyMs: 1500, terminationGraceScale: 0.001, nodeBootMs: 10 }) });
    const view = new View(sim.kubeConfig());
    await waitFor("web Ready on both old pools", async () => (await view.pods()).filter(isReady).length === 2, 20_000);
    await sim.addPool({ name: "new", nodes: 2, labels: { "nodepool-rotation/role": "app" } });
    await waitFor("new pool Ready", async () => (await view.nodes("new")).filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True")).length === 2);
    const args = (pool: string) => ["drain", "--pool", pool, "--replacement-selector", `${POOL}=new`, "--deadline", "40s"];
    // what the processes publish in the Lease (each eviction of web is reserved there before it is sent)
    const reserved = new Set<string>();
    const watch = await new k8s.Watch(sim.kubeConfig()).watch("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", {}, (_t, o) => {
      if (o.metadata?.name !== "nodepool-rotation-budget") return;
      for (const e of Object.values<any>(JSON.parse(o.metadata?.annotations?.["nodepool-rotation/budget"] ?? "{}"))) for (const r of e.reservations ?? []) reserved.add(`${r.pool} ${r.workload}`);
    }, () => undefined);
    const a = runCli(sim.kubeconfig, args("old-a")), b = runCli(sim.kubeconfig, args("old-b"));
    try {
      const codes = await Promise.all([a.exited, b.exited]);
      assert.deepEqual(codes, [0, 0], `a: ${a.stderr}\nb: ${b.stderr}`);
    } finally {
      a.stop();
      b.stop();
      watch.abort();
    }
    const w = sim.report().workloads["shop/Deployment/web"];
    assert.equal(w.msAtZero, 0, `web spent ${w.msAtZero} ms with no Ready pod`);
    assert.ok(w.minReady >= 1, `web went down to ${w.minReady} Ready`);
    // Whichever process evicted first reserved it in the Lease; the other waited (on the Lease, or on
    // its own watch once the first eviction showed there: which one depends on timing).
    assert.ok(reserved.has("old-a shop/Deployment/web") || reserved.has("old-b shop/Deployment/web"), `reservations seen in the Lease: ${[...reserved]}`);
    assert.match(a.stderr + b.stderr, /waiting for the implicit budget of shop\/Deployment\/web: .*in progress by another drain|waiting on budget implicit shop\/Deployment\/web/);
  });

  it("case 4: an unready pod under a PDB with disruptionsAllowed 0 is offered to the API server, which evicts it (IfHealthyBudget: currentHealthy >= desiredHealthy)", async () => {
    const objects = [
      ...deployment("shop", "web-ok", 2, undefined, { spec: { nodeSelector: { [POOL]: "new" } } }),
      ...deployment("shop", "web-bad", 1, undefined, { annotations: { [SIM_READY]: "false" } }),
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: "shop", name: "web" }, spec: { minAvailable: 2, selector: { matchExpressions: [{ key: "app", operator: "In", values: ["web-ok", "web-bad"] }] } } },
    ];
    ps = await startPoolSim({ oldNodes: 1, newNodes: 2, objects, waitReady: false });
    const policy = ps.kc.makeApiClient(k8s.PolicyV1Api);
    await waitFor("PDB at 2 healthy of 2 desired, no disruption allowed", async () => { const s = (await policy.readNamespacedPodDisruptionBudget({ namespace: "shop", name: "web" })).status; return s?.currentHealthy === 2 && s.desiredHealthy === 2 && s.disruptionsAllowed === 0; });
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
    await waitFor("the first eviction", () => report.report().evictions > 0);
    await apps.patchNamespacedDeployment({ namespace: "shop", name: "web", body: { spec: { replicas: 2 } } }, MERGE); // the autoscaler scales down
    await apps.deleteNamespacedDeployment({ namespace: "shop", name: "gone" });
    const summary = await drained;
    assert.equal(summary.outcome, "drained");
    const web = (await ps.view.pods()).filter((p) => p.metadata.name.startsWith("web-") && isReady(p));
    assert.equal(web.length, 2, "web is back at its new size");
  });

  it("case 5: an eviction answered 403 NamespaceTerminating waits for the namespace controller to delete the pod", async () => {
    ps = await startPoolSim({ oldNodes: 1, objects: [...deployment("doomed", "web", 2), ...deployment("live", "api", 2)] });
    // the namespace is Terminating and its controller has not reached the pods yet (it lists every
    // resource first; on a large namespace that takes a while)
    ps.sim.cluster.store.mutate("namespaces", "doomed", (n: any) => { n.metadata.deletionTimestamp = new Date().toISOString(); n.status = { phase: "Terminating" }; });
    const lines: string[] = [];
    let failed: unknown;
    const drained = drainPool(ps.kc, { pool: "old", deadlineMs: 20_000, log: (l) => lines.push(l) });
    drained.catch((e) => { failed = e; });
    await waitFor("the drain meets the 403", () => failed !== undefined || lines.some((l) => /namespace doomed is being deleted/.test(l)));
    if (failed) throw failed;
    await ps.kc.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name: "doomed" }); // the namespace controller deletes its pods
    const summary = await drained;
    assert.equal(summary.outcome, "drained");
    assert.equal(summary.evicted, 2, "the live namespace's pods were evicted; doomed's were deleted by their namespace");
  });

  it("case 6: pods stuck terminating (a dead kubelet) stop holding the drain and a concurrency slot past their grace period and a margin, and are named", async () => {
    // grace period 1 s (the API object's seconds are real: the simulator only scales how long its kubelet takes)
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "web", 4, undefined, { spec: { terminationGracePeriodSeconds: 1 } })] });
    const stuckNode = (await ps.view.podsOn(ps.oldNodes))[0].spec.nodeName;
    await simPost(ps.sim, `/simulator/nodes/${stuckNode}/kubelet`, { dead: true });
    const summary = await drainPool(ps.kc, { pool: "old", concurrency: 1, stuckMarginMs: 300, deadlineMs: 15_000 });
    assert.equal(summary.outcome, "drained");
    assert.ok((summary.notWaitedFor ?? []).length >= 1, `stuck pods named: ${JSON.stringify(summary.notWaitedFor)}`);
    assert.match((summary.notWaitedFor ?? []).join("\n"), new RegExp(`node ${stuckNode} is NotReady`));
  });

  it("case 6: a pod already terminating when the drain starts, with a grace period longer than the deadline, does not hold it; plan warns about such grace periods", async () => {
    ps = await startPoolSim({ oldNodes: 1, objects: [...deployment("shop", "web", 2), ...deployment("shop", "slow", 1, undefined, { spec: { terminationGracePeriodSeconds: 36_000 } })] });
    const plan = await planPool(ps.kc, { pool: "old", deadlineMs: 8_000 });
    assert.ok(plan.warnings.some((w) => /terminationGracePeriodSeconds longer than the drain deadline of 8s: shop\/slow-/.test(w)), JSON.stringify(plan.warnings));
    // scaled to 0: its pod is deleted with its 36,000 s grace period (36 s in the simulator's scale) and not replaced
    await ps.kc.makeApiClient(k8s.AppsV1Api).patchNamespacedDeployment({ namespace: "shop", name: "slow", body: { spec: { replicas: 0 } } }, MERGE);
    await waitFor("slow terminating", async () => (await ps!.view.pods()).some((p) => p.metadata.name.startsWith("slow-") && p.metadata.deletionTimestamp));
    const summary = await drainPool(ps.kc, { pool: "old", deadlineMs: 8_000 });
    assert.equal(summary.outcome, "drained");
    assert.match((summary.notWaitedFor ?? []).join("\n"), /already terminating when the drain started/);
  });

  it("case 7: an eviction answered 409 Conflict on the PDB is retried (the pod was not evicted), not taken for gone", async () => {
    ps = await startPoolSim({ oldNodes: 1, objects: deployment("shop", "web", 3, { maxUnavailable: 1 }) });
    ps.sim.setFaults({ pdbConflicts: 1 });
    const summary = await drainPool(ps.kc, { pool: "old", deadlineMs: 15_000 });
    assert.equal(summary.evicted, 3);
    assert.deepEqual((await ps.view.podsOn(ps.oldNodes)).map((p) => p.metadata.name), []);
  });

  it("case 9: plan warns about a workload tolerating node.kubernetes.io/unschedulable, naming it and the fix; the drain re-evicts it a bounded number of times", async () => {
    ps = await startPoolSim({ oldNodes: 1, newNodes: 1, objects: deployment("shop", "tol", 4, undefined, { spec: { tolerations: [{ operator: "Exists" }] } }) });
    const plan = await planPool(ps.kc, { pool: "old" });
    assert.ok(plan.warnings.some((w) => /workload shop\/Deployment\/tol tolerates the cordon .*remove that toleration, or add a required node affinity to nodepool-rotation\/role=app/.test(w)), JSON.stringify(plan.warnings));
    let outcome: string;
    try {
      outcome = (await drainPool(ps.kc, { pool: "old", deadlineMs: 15_000 })).outcome;
    } catch (e) {
      assert.ok(isDrainError(e), String(e));
      assert.equal(e.reason, "re-evictions");
      assert.match(e.message, /workload shop\/Deployment\/tol was evicted \d+ times for 4 pod\(s\)/);
      outcome = "bounded";
    }
    assert.ok(ps.sim.report().evictions <= 8, `at most 4 + 4 evictions (${ps.sim.report().evictions}), outcome ${outcome}`);
  });

  it("case 10: a pool node re-created under its name mid-drain (new UID, schedulable) is cordoned and drained again", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 6, { maxUnavailable: 1 }), timing: { podReadyMs: 150 } });
    const drained = drainPool(ps.kc, { pool: "old", deadlineMs: 20_000 });
    await waitFor("the first eviction", () => ps!.sim.report().evictions >= 1);
    const r = await simPost(ps.sim, "/simulator/nodes/old-1/recreate");
    assert.notEqual(r.uid, r.oldUid);
    await drained;
    for (const n of await ps.view.nodes("old")) {
      assert.equal(n.spec?.unschedulable, true, `${n.metadata.name} (uid ${n.metadata.uid}) cordoned`);
    }
    assert.deepEqual((await ps.view.podsOn(ps.oldNodes)).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name), [], "nothing left on the old pool");
  });
});

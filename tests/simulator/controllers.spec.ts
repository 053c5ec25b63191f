/**
 * Controllers, scheduler, kubelet stand-in, disruption controller, GC and the GKE stand-in, observed
 * through @kubernetes/client-node over HTTP.
 */
import * as assert from "node:assert/strict";
import { AppsV1Api, BatchV1Api, CoreV1Api, PatchStrategy, PolicyV1Api, setHeaderOptions, V1Pod } from "@kubernetes/client-node";
import { ANN, startSimulator, Simulator } from "./index";
import { deploymentYaml, FAST, http, isReady, nodeYaml, pdbYaml, scenario, waitFor } from "./helpers";

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

describe("simulator controllers", function () {
  let sim: Simulator;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let batch: BatchV1Api;
  let policy: PolicyV1Api;
  const NS = "ctl";

  const podsOf = async (selector: string, ns = NS) => (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
  const live = (ps: V1Pod[]) => ps.filter((p) => !p.metadata!.deletionTimestamp);

  beforeEach(async () => {
    sim = await startSimulator({
      timing: FAST,
      scenario: scenario(
        nodeYaml("a1", { cpu: "1" }), nodeYaml("a2", { cpu: "1" }),
        nodeYaml("tainted", { cpu: "8", taints: [{ key: "dedicated", value: "batch", effect: "NoSchedule" }], labels: { kind: "batch" } }),
        JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }),
      ),
    });
    const kc = sim.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    batch = kc.makeApiClient(BatchV1Api);
    policy = kc.makeApiClient(PolicyV1Api);
  });
  afterEach(() => sim.stop());

  it("Deployment -> ReplicaSet -> Pods, Running and Ready; status counts; scale down removes pods", async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("web", NS, 4, { cpu: "200m" })) });
    await waitFor("4 ready", async () => (await podsOf("app=web")).filter(isReady).length === 4);
    const rs = (await apps.listNamespacedReplicaSet({ namespace: NS })).items;
    assert.equal(rs.length, 1);
    assert.equal(rs[0].metadata!.ownerReferences![0].kind, "Deployment");
    const pods = await podsOf("app=web");
    assert.ok(pods.every((p) => p.metadata!.ownerReferences![0].uid === rs[0].metadata!.uid && p.status!.phase === "Running"));
    assert.ok(pods.every((p) => p.spec!.nodeName === "a1" || p.spec!.nodeName === "a2"), "untolerated taint keeps pods off 'tainted'");
    await waitFor("deployment status", async () => (await apps.readNamespacedDeployment({ name: "web", namespace: NS })).status?.readyReplicas === 4);
    await apps.patchNamespacedDeployment({ name: "web", namespace: NS, body: { spec: { replicas: 1 } } }, MERGE);
    await waitFor("scaled to 1", async () => (await podsOf("app=web")).length === 1);
  });

  it("rolls a template change out without dropping below replicas - maxUnavailable", async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("roll", NS, 4)) });
    await waitFor("4 ready", async () => (await podsOf("app=roll")).filter(isReady).length === 4);
    await policy.createNamespacedPodDisruptionBudget({ namespace: NS, body: JSON.parse(pdbYaml("roll", NS, { app: "roll" }, { maxUnavailable: 1 })) });
    await apps.patchNamespacedDeployment({ name: "roll", namespace: NS, body: { spec: { template: { metadata: { labels: { app: "roll", v: "2" } } } } } }, MERGE);
    await waitFor("rolled", async () => {
      const ps = await podsOf("app=roll");
      return ps.length === 4 && ps.every((p) => p.metadata!.labels!.v === "2" && isReady(p));
    });
    const w = sim.report().workloads[`${NS}/Deployment/roll`];
    assert.equal(w.floor, 3);
    assert.ok(w.minReady >= 3, `minReady ${w.minReady}`);
    assert.equal(w.msBelowFloor, 0);
    assert.equal((await apps.listNamespacedReplicaSet({ namespace: NS })).items.length, 2);
  });

  it("StatefulSet: ordinal names, created one at a time after the previous is Ready", async () => {
    const order: string[] = [];
    const readyAt = new Map<string, number>();
    sim.cluster.store.onEvent((e) => {
      if (e.plural !== "pods" || !e.object.metadata.name.startsWith("db-")) return;
      if (e.type === "ADDED") order.push(`${e.object.metadata.name}@${[...readyAt.keys()].join(",")}`);
      if (isReady(e.object) && !readyAt.has(e.object.metadata.name)) readyAt.set(e.object.metadata.name, e.rv);
    });
    await apps.createNamespacedStatefulSet({ namespace: NS, body: {
      metadata: { name: "db" }, spec: { replicas: 3, serviceName: "db", selector: { matchLabels: { app: "db" } }, template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "c", image: "pg" }] } } },
    } });
    await waitFor("3 ready", async () => (await podsOf("app=db")).filter(isReady).length === 3);
    assert.deepEqual((await podsOf("app=db")).map((p) => p.metadata!.name).sort(), ["db-0", "db-1", "db-2"]);
    assert.deepEqual(order, ["db-0@", "db-1@db-0", "db-2@db-0,db-1"]);
    // a deleted member comes back under the same name
    await core.deleteNamespacedPod({ name: "db-1", namespace: NS });
    await waitFor("db-1 back", async () => (await podsOf("app=db")).filter((p) => isReady(p) && !p.metadata!.deletionTimestamp).length === 3);
    assert.equal((await apps.readNamespacedStatefulSet({ name: "db", namespace: NS })).status!.readyReplicas, 3);
  });

  it("DaemonSet: one pod per matching node, cordoned nodes included, new nodes get one", async () => {
    await core.patchNode({ name: "a2", body: { spec: { unschedulable: true } } }, MERGE);
    await apps.createNamespacedDaemonSet({ namespace: NS, body: {
      metadata: { name: "agent" }, spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "c", image: "fluentbit" }] } } },
    } });
    await waitFor("2 agents ready", async () => (await podsOf("app=agent")).filter(isReady).length === 2);
    assert.deepEqual((await podsOf("app=agent")).map((p) => p.spec!.nodeName).sort(), ["a1", "a2"], "not on the tainted node, yes on the cordoned one");
    await sim.addPool({ name: "extra", nodes: 2, bootMs: 10 });
    await waitFor("4 agents ready", async () => (await podsOf("app=agent")).filter(isReady).length === 4);
    const ds = await apps.readNamespacedDaemonSet({ name: "agent", namespace: NS });
    await waitFor("ds status", async () => (await apps.readNamespacedDaemonSet({ name: "agent", namespace: NS })).status!.numberReady === 4);
    assert.equal(ds.status!.desiredNumberScheduled, 4);
  });

  it("Job: runs pods to completion (run-ms annotation) and reports Complete", async () => {
    await batch.createNamespacedJob({ namespace: NS, body: {
      metadata: { name: "once" }, spec: { completions: 3, parallelism: 2, template: { metadata: { annotations: { [ANN.runMs]: "30" } }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } },
    } });
    await waitFor("job complete", async () => (await batch.readNamespacedJob({ name: "once", namespace: NS })).status?.conditions?.some((c) => c.type === "Complete" && c.status === "True"));
    const j = await batch.readNamespacedJob({ name: "once", namespace: NS });
    assert.equal(j.status!.succeeded, 3);
    assert.equal((await podsOf("job-name=once")).filter((p) => p.status!.phase === "Succeeded").length, 3);
  });

  it("scheduler: requests vs allocatable, nodeSelector, required node affinity, taints and tolerations, unschedulable", async () => {
    const mk = (name: string, spec: object) => core.createNamespacedPod({ namespace: NS, body: { metadata: { name }, spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: "600m" } } }], ...spec } } });
    const nodeOf = (name: string) => waitFor(`${name} bound`, async () => (await core.readNamespacedPod({ name, namespace: NS })).spec!.nodeName);
    await mk("big1", {});
    await mk("big2", {});
    const [n1, n2] = [await nodeOf("big1"), await nodeOf("big2")];
    assert.notEqual(n1, n2, "600m + 600m does not fit a 1-cpu node");
    await mk("big3", {});
    const cond = await waitFor("big3 unschedulable", async () => (await core.readNamespacedPod({ name: "big3", namespace: NS })).status!.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False"));
    assert.equal(cond.reason, "Unschedulable");
    assert.match(cond.message!, /^0\/3 nodes are available: .*2 Insufficient cpu/);
    assert.match(cond.message!, /1 node\(s\) had untolerated taint \{dedicated: batch\}/);
    await mk("tol", { tolerations: [{ key: "dedicated", operator: "Equal", value: "batch", effect: "NoSchedule" }], nodeSelector: { kind: "batch" } });
    assert.equal(await nodeOf("tol"), "tainted");
    await mk("aff", { tolerations: [{ operator: "Exists" }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["tainted"] }] }] } } } });
    assert.equal(await nodeOf("aff"), "tainted");
    // freeing capacity on a cordoned node does not help; freeing it on a schedulable one does
    await core.patchNode({ name: n1 as string, body: { spec: { unschedulable: true } } }, MERGE);
    await core.deleteNamespacedPod({ name: "big1", namespace: NS, gracePeriodSeconds: 0 });
    const c2 = await waitFor("big3 still unschedulable", async () => {
      const c = (await core.readNamespacedPod({ name: "big3", namespace: NS })).status!.conditions?.find((x) => x.type === "PodScheduled");
      return c?.message?.includes("1 node(s) were unschedulable") ? c : undefined;
    });
    assert.equal(c2.status, "False");
    await core.deleteNamespacedPod({ name: "big2", namespace: NS, gracePeriodSeconds: 0 });
    assert.equal(await nodeOf("big3"), n2);
  });

  it("scheduler: required pod anti-affinity keeps replicas on distinct nodes; a new node takes the pending one", async () => {
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "spread" } } }] } };
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("spread", NS, 3, { cpu: "10m", podSpec: { affinity: anti } })) });
    const pending = await waitFor("one pending", async () => {
      const ps = await podsOf("app=spread");
      const p = ps.find((x) => x.status!.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False"));
      return ps.filter(isReady).length === 2 ? p : undefined;
    });
    const msg = pending.status!.conditions!.find((c) => c.type === "PodScheduled")!.message!;
    assert.match(msg, /2 node\(s\) didn't match pod anti-affinity rules/);
    assert.deepEqual(new Set((await podsOf("app=spread")).map((p) => p.spec!.nodeName).filter(Boolean)).size, 2);
    await sim.addPool({ name: "more", nodes: 1, bootMs: 5 });
    await waitFor("3 ready on 3 nodes", async () => {
      const ps = (await podsOf("app=spread")).filter(isReady);
      return ps.length === 3 && new Set(ps.map((p) => p.spec!.nodeName)).size === 3;
    });
  });

  it("scheduler: topologySpreadConstraints DoNotSchedule keeps the skew within maxSkew across zones", async () => {
    await sim.addPool({ name: "za", nodes: 2, labels: { zone: "a", spread: "yes" }, bootMs: 5 });
    await sim.addPool({ name: "zb", nodes: 1, labels: { zone: "b", spread: "yes" }, bootMs: 5, pods: 2 });
    await waitFor("zones ready", async () => (await core.listNode({ labelSelector: "spread=yes" })).items.filter(isReady).length === 3);
    const tsc = [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "tsc" } } }];
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("tsc", NS, 6, { cpu: "10m", podSpec: { nodeSelector: { spread: "yes" }, topologySpreadConstraints: tsc } })) });
    // zone b holds 2 pods at most, so zone a may take 3 (skew 1) and the sixth pod must wait
    const pending = await waitFor("5 ready, 1 pending", async () => {
      const ps = await podsOf("app=tsc");
      return ps.filter(isReady).length === 5 ? ps.find((p) => !p.spec!.nodeName && p.status!.conditions?.some((c) => c.type === "PodScheduled")) : undefined;
    });
    const zoneOf = async (n: string) => (await core.readNode({ name: n })).metadata!.labels!.zone;
    const zones = await Promise.all((await podsOf("app=tsc")).filter((p) => p.spec!.nodeName).map((p) => zoneOf(p.spec!.nodeName!)));
    assert.deepEqual([zones.filter((z) => z === "a").length, zones.filter((z) => z === "b").length], [3, 2]);
    const msg = pending.status!.conditions!.find((c) => c.type === "PodScheduled")!.message!;
    assert.match(msg, /didn't match pod topology spread constraints/);
  });

  it("kubelet: a pool's nodes report Ready after bootMs; deleted pods terminate after the scaled grace period", async () => {
    const t0 = Date.now();
    await sim.addPool({ name: "slow", nodes: 1, bootMs: 150 });
    const node = (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=slow" })).items[0];
    assert.equal(isReady(node), false);
    await waitFor("slow node ready", async () => isReady(await core.readNode({ name: node.metadata!.name! })));
    assert.ok(Date.now() - t0 >= 140, `ready after ${Date.now() - t0} ms`);
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: "g" }, spec: { nodeName: node.metadata!.name!, terminationGracePeriodSeconds: 200, containers: [{ name: "c", image: "x" }] } } });
    await waitFor("g ready", async () => isReady(await core.readNamespacedPod({ name: "g", namespace: NS })));
    const t1 = Date.now();
    await core.deleteNamespacedPod({ name: "g", namespace: NS });
    assert.ok((await core.readNamespacedPod({ name: "g", namespace: NS })).metadata!.deletionTimestamp, "terminating first");
    await waitFor("g gone", async () => !(await podsOf("")).some((p) => p.metadata!.name === "g"));
    assert.ok(Date.now() - t1 >= 190, `200 s * 0.001 = 200 ms grace; took ${Date.now() - t1} ms`);
  });

  it("garbage-collects a deleted Deployment's ReplicaSets and Pods", async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("gc", NS, 2)) });
    await waitFor("2 ready", async () => (await podsOf("app=gc")).filter(isReady).length === 2);
    await apps.deleteNamespacedDeployment({ name: "gc", namespace: NS });
    await waitFor("all gone", async () => (await podsOf("app=gc")).length === 0 && (await apps.listNamespacedReplicaSet({ namespace: NS })).items.length === 0);
    assert.equal(sim.report().podsDeletedWithoutEviction, 0, "controller deletions are not counted");
  });

  it("disruption controller: PDB status for minAvailable/maxUnavailable, integer and percent", async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("p", NS, 4, { cpu: "10m" })) });
    await waitFor("4 ready", async () => (await podsOf("app=p")).filter(isReady).length === 4);
    const cases: [object, { desiredHealthy: number; disruptionsAllowed: number; expectedPods: number }][] = [
      [{ minAvailable: 3 }, { desiredHealthy: 3, disruptionsAllowed: 1, expectedPods: 4 }],
      [{ minAvailable: "50%" }, { desiredHealthy: 2, disruptionsAllowed: 2, expectedPods: 4 }],
      [{ maxUnavailable: 1 }, { desiredHealthy: 3, disruptionsAllowed: 1, expectedPods: 4 }],
      [{ maxUnavailable: "30%" }, { desiredHealthy: 2, disruptionsAllowed: 2, expectedPods: 4 }], // 30% of 4 rounds up to 2
    ];
    for (const [i, [spec, want]] of cases.entries()) {
      await policy.createNamespacedPodDisruptionBudget({ namespace: NS, body: JSON.parse(pdbYaml(`p${i}`, NS, { app: "p" }, spec)) });
      const st = await waitFor(`p${i} status`, async () => {
        const p = await policy.readNamespacedPodDisruptionBudget({ name: `p${i}`, namespace: NS });
        return p.status?.observedGeneration === p.metadata!.generation ? p.status : undefined;
      });
      assert.deepEqual({ desiredHealthy: st.desiredHealthy, disruptionsAllowed: st.disruptionsAllowed, expectedPods: st.expectedPods, currentHealthy: st.currentHealthy }, { ...want, currentHealthy: 4 }, JSON.stringify(spec));
      assert.equal(st.conditions!.find((c) => c.type === "DisruptionAllowed")!.reason, "SufficientPods");
      await policy.deleteNamespacedPodDisruptionBudget({ name: `p${i}`, namespace: NS });
    }
    // percent over pods without a controller: getExpectedScale skips unmanaged pods (an UnmanagedPods
    // event since 1.27), so the expected count is 0 and nothing is allowed
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: "bare", labels: { app: "bare" } }, spec: { containers: [{ name: "c", image: "x" }] } } });
    await policy.createNamespacedPodDisruptionBudget({ namespace: NS, body: JSON.parse(pdbYaml("bare", NS, { app: "bare" }, { maxUnavailable: "50%" })) });
    const bare = await waitFor("bare status", async () => (await policy.readNamespacedPodDisruptionBudget({ name: "bare", namespace: NS })).status?.conditions?.[0] && (await policy.readNamespacedPodDisruptionBudget({ name: "bare", namespace: NS })).status);
    assert.deepEqual([bare.expectedPods, bare.disruptionsAllowed, bare.conditions![0].reason], [0, 0, "InsufficientPods"]);
    // a controller without a scale subresource (DaemonSet): fail safe, SyncFailed, nothing allowed
    await apps.createNamespacedDaemonSet({ namespace: NS, body: { metadata: { name: "ds" }, spec: { selector: { matchLabels: { app: "ds" } }, template: { metadata: { labels: { app: "ds" } }, spec: { containers: [{ name: "c", image: "x" }] } } } } });
    await waitFor("ds pods", async () => (await podsOf("app=ds")).length > 0);
    await policy.createNamespacedPodDisruptionBudget({ namespace: NS, body: JSON.parse(pdbYaml("ds", NS, { app: "ds" }, { maxUnavailable: 1 })) });
    const st = await waitFor("ds status", async () => (await policy.readNamespacedPodDisruptionBudget({ name: "ds", namespace: NS })).status?.conditions?.[0]);
    assert.equal(st.reason, "SyncFailed");
    assert.equal(st.message, "daemonsets.apps does not implement the scale subresource");
    await apps.deleteNamespacedDaemonSet({ name: "ds", namespace: NS });
  });

  it("GKE stand-in: POST /simulator/pools adds labelled nodes; DELETE kills their pods without eviction", async () => {
    const add = await http(sim.url, "POST", "/simulator/pools", { name: "pool-b", nodes: 2, labels: { "nodepool-rotation/role": "app" }, cpu: "2", bootMs: 10 });
    assert.equal(add.status, 201);
    assert.equal(add.body.nodes.length, 2);
    const nodes = (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=pool-b,nodepool-rotation/role=app" })).items;
    assert.equal(nodes.length, 2);
    assert.equal(nodes[0].status!.allocatable!.cpu, "2");
    await waitFor("pool-b ready", async () => (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=pool-b" })).items.every(isReady));
    await apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml("onb", NS, 2, { podSpec: { nodeSelector: { "cloud.google.com/gke-nodepool": "pool-b" } } })) });
    await waitFor("2 ready", async () => (await podsOf("app=onb")).filter(isReady).length === 2);
    const bad = await http(sim.url, "POST", "/simulator/pools", { name: "Bad_Name", nodes: 1 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /pool.name must match/);
    const del = await http(sim.url, "DELETE", "/simulator/pools/pool-b");
    assert.equal(del.status, 200);
    assert.equal((await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=pool-b" })).items.length, 0);
    assert.equal(sim.report().podsDeletedWithoutEviction, 2);
    assert.equal(live(await podsOf("app=onb")).filter((p) => p.spec!.nodeName).length, 0, "replacements cannot schedule anywhere");
    assert.equal((await http(sim.url, "DELETE", "/simulator/pools/pool-b")).status, 404);
  });
});

/**
 * drainPool / planPool against the simulator over HTTP with the real client. Outcomes are read
 * from the API (nodes, pods) and from the simulator's report (floors, deletions without eviction,
 * requests served), never from the engine's own word alone.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { CORDONED_ANNOTATION, DrainError, drainPool, planPool } from "../../components/rotation";
import { deployment, PoolSim, podSpec, startPoolSim, waitFor } from "./sim";
import { assertUncordoned, rejects } from "../support/drain";

const SIM_READY = "simulator.nodepool-rotation.io/ready";
const SIM_RUN_MS = "simulator.nodepool-rotation.io/run-ms";

/** Every workload kept its PDB floor, and nothing was deleted behind the Eviction API's back. */
function assertFloorsKept(ps: PoolSim) {
  const r = ps.sim.report();
  for (const [w, s] of Object.entries(r.workloads)) {
    if (s.floor === null) continue;
    assert.equal(s.msBelowFloor, 0, `${w} spent ${s.msBelowFloor} ms below its floor ${s.floor} (min ready ${s.minReady})`);
    assert.ok(s.minReady >= s.floor, `${w}: min ready ${s.minReady} < floor ${s.floor}`);
  }
  assert.equal(r.podsDeletedWithoutEviction, 0, "pods deleted without eviction");
}

/** No pod that should move is left on the old pool; nodes stay cordoned by this tool. */
async function assertDrained(ps: PoolSim) {
  const left = (await ps.view.podsOn(ps.oldNodes)).filter((p) => !(p.metadata?.ownerReferences ?? []).some((o: any) => o.kind === "DaemonSet") && p.status?.phase !== "Succeeded" && !p.metadata?.annotations?.["kubernetes.io/config.mirror"] && p.metadata?.annotations?.["nodepool-rotation/drain"] !== "skip");
  assert.deepEqual(left.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), []);
  for (const n of await ps.view.nodes("old")) {
    assert.equal(n.spec?.unschedulable, true, `${n.metadata.name} cordoned`);
    assert.ok(n.metadata?.annotations?.[CORDONED_ANNOTATION], `${n.metadata.name} carries ${CORDONED_ANNOTATION}`);
  }
}

function workloads(n: number, replicas: number, pdb: any, prefix = "web"): any[] {
  const out: any[] = [];
  for (let i = 0; i < n; i++) out.push(...deployment("shop", `${prefix}${i}`, replicas, pdb));
  return out;
}

describe("rotation drain (simulator, HTTP)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  afterEach(async () => { await ps?.sim.stop(); ps = undefined; });

  it("plans and drains every kind of pod by its verdict", async () => {
    const objects = [
      ...deployment("shop", "web", 3, { maxUnavailable: 1 }),
      { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { namespace: "kube-system", name: "agent" }, spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: podSpec() } } },
      { apiVersion: "batch/v1", kind: "Job", metadata: { namespace: "shop", name: "report" }, spec: { template: { metadata: { annotations: { [SIM_RUN_MS]: "1500" } }, spec: { ...podSpec(), restartPolicy: "Never" } } } },
      { apiVersion: "v1", kind: "Pod", metadata: { namespace: "kube-system", name: "static-old-0", annotations: { "kubernetes.io/config.mirror": "x" }, ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "old-0", uid: "n0", controller: true }] }, spec: { ...podSpec(), nodeName: "old-0" } },
      { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "bare" }, spec: { ...podSpec(), nodeName: "old-1" } },
      ...deployment("shop", "scratch", 2, undefined, { spec: { volumes: [{ name: "tmp", emptyDir: {} }] } }),
      ...deployment("shop", "pinned", 1, undefined, { annotations: { "nodepool-rotation/drain": "skip" } }),
      ...deployment("shop", "typo", 1, undefined, { annotations: { "nodepool-rotation/drain": "evic" } }),
    ];
    ps = await startPoolSim({ oldNodes: 2, objects, waitReady: false });
    await waitFor("pods Ready", async () => (await ps!.view.pods()).filter((p) => p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")).length >= 12);
    const plan = await planPool(ps.kc, { pool: "old" });
    const verdicts = new Map<string, string>();
    for (const p of plan.pods) verdicts.set(p.name.replace(/-[a-z0-9]{5,10}(-[a-z0-9]{5})?$/, ""), p.verdict);
    assert.equal(verdicts.get("web"), "evict");
    assert.equal(verdicts.get("agent"), "stays");
    assert.equal(verdicts.get("static-old-0"), "stays");
    assert.equal(verdicts.get("report"), "wait-completed");
    assert.equal(verdicts.get("bare"), "blocks");
    assert.equal(verdicts.get("scratch"), "blocks");
    assert.equal(verdicts.get("pinned"), "stays");
    assert.equal(verdicts.get("typo"), "blocks");
    // one list each of nodes, pods, PDBs, Deployments, ReplicaSets, StatefulSets, PersistentVolumeClaims, PersistentVolumes
    assert.ok(plan.apiRequests <= 8, `plan used ${plan.apiRequests} requests`);

    // The drain refuses with the same blockers, before changing anything.
    const refused = await rejects(drainPool(ps.kc, { pool: "old" }));
    assert.equal(refused.reason, "blocked");
    assert.match(refused.message, /shop\/bare.*no controller/);
    assert.ok(refused.blockingPods.some((p) => p.startsWith("shop/scratch")), refused.blockingPods.join(","));
    await assertUncordoned(ps.view);

    // Remove the typo; with --force and --delete-emptydir-data the rest moves (by eviction only).
    const apps = ps.kc.makeApiClient(k8s.AppsV1Api);
    await apps.deleteNamespacedDeployment({ name: "typo", namespace: "shop" });
    await waitFor("typo pods gone", async () => !(await ps!.view.pods()).some((p) => p.metadata.name.startsWith("typo")));
    const summary = await drainPool(ps.kc, { pool: "old", force: true, deleteEmptyDirData: true });
    assert.equal(summary.outcome, "drained");
    assert.equal(summary.evicted, 3 + 2 + 1, "web x3, scratch x2, bare");
    assert.equal(summary.waitedCompleted, 1, "the Job pod ran to completion instead of being evicted");
    await assertDrained(ps);
    const left = (await ps.view.podsOn(ps.oldNodes)).map((p) => p.metadata.name);
    assert.ok(left.some((n) => n.startsWith("agent")) && left.includes("static-old-0") && left.some((n) => n.startsWith("pinned")), left.join(","));
    const job = (await ps.view.pods()).find((p) => p.metadata.name.startsWith("report"));
    assert.equal(job?.status?.phase, "Succeeded", "the Job pod completed in place");
    assertFloorsKept(ps);
  });

  it("PDB-gated pool-wide eviction never goes below a floor, in under 3 requests per evicted pod", async () => {
    const objects = [
      ...workloads(3, 6, { maxUnavailable: 1 }),
      ...deployment("shop", "api", 6, { minAvailable: "50%" }),
      ...deployment("shop", "cache", 4, { minAvailable: 3 }),
    ];
    ps = await startPoolSim({ oldNodes: 4, objects, timing: { podReadyMs: 60 } });
    const before = ps.sim.report();
    const logs: string[] = [];
    const summary = await drainPool(ps.kc, { pool: "old", concurrency: 5, log: (l) => logs.push(l) });
    const after = ps.sim.report();
    assert.equal(summary.evicted, 3 * 6 + 6 + 4);
    await assertDrained(ps);
    assertFloorsKept(ps);
    const evictions = after.evictions - before.evictions;
    assert.equal(evictions, summary.evicted, "simulator saw as many evictions as the engine claims");
    const served = after.totalRequests - before.totalRequests;
    assert.ok(served / evictions < 3, `${served} requests for ${evictions} evictions`);
    assert.equal(summary.apiRequests, served, "the engine counts every request the server saw");
    for (const [k, v] of Object.entries(after.pdbs)) {
      assert.ok(v.maxConcurrentDisruptions <= (k.includes("api") ? 3 : 1), `${k} disrupted ${v.maxConcurrentDisruptions} at once`);
      // Gated on the watched budget (and our own unsettled evictions), the drain does not collect 429s.
      assert.equal(v.evictionsRejected, 0, `${k}: ${v.evictionsRejected} evictions answered 429`);
    }
    assert.equal(summary.rejected429, 0);
    assert.ok(logs.some((l) => /evicted \d+, remaining \d+/.test(l)), logs.join("\n"));
  });

  it("refuses a PDB that can never allow a disruption, naming it, and uncordons nodes an earlier run cordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "db", 2, { maxUnavailable: 0 }), ...deployment("shop", "web", 2, { maxUnavailable: 1 })] });
    // An earlier crashed run left old-0 cordoned with our annotation.
    await ps.view.core.patchNode({ name: "old-0", body: { spec: { unschedulable: true }, metadata: { annotations: { [CORDONED_ANNOTATION]: "2026-11-22T00:00:00Z" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    const before = ps.sim.report().evictions;
    const e = await rejects(drainPool(ps.kc, { pool: "old" }));
    assert.equal(e.reason, "blocked");
    assert.deepEqual(e.blockingPdbs, ["shop/db-pdb"]);
    assert.match(e.message, /shop\/db-pdb can never allow a disruption \(maxUnavailable: 0\)/);
    assert.deepEqual(e.uncordoned, ["old-0"]);
    await assertUncordoned(ps.view);
    assert.equal(ps.sim.report().evictions, before, "nothing evicted");
  });

  it("refuses while the replacement is not Ready, and pods pinned to the old pool's name, changing nothing", async () => {
    ps = await startPoolSim({ oldNodes: 2, newNodes: 0, objects: [
      ...deployment("shop", "web", 2, { maxUnavailable: 1 }),
      ...deployment("shop", "pinned", 2, { maxUnavailable: 1 }, { spec: { nodeSelector: { "cloud.google.com/gke-nodepool": "old" } } }),
    ] });
    await ps.sim.addPool({ name: "booting", nodes: 2, labels: { "nodepool-rotation/role": "app" }, bootMs: 60_000 });
    const e = await rejects(drainPool(ps.kc, { pool: "old" }));
    assert.equal(e.reason, "blocked");
    assert.match(e.message, /no Ready, schedulable replacement nodes match "nodepool-rotation\/role=app" \(2 match in total\)/);
    await assertUncordoned(ps.view);
    await ps.sim.addPool({ name: "ready", nodes: 2, labels: { "nodepool-rotation/role": "app" }, bootMs: 1 });
    await waitFor("ready pool", async () => (await planPool(ps!.kc, { pool: "old" })).replacementNodes.length === 2);
    const e2 = await rejects(drainPool(ps.kc, { pool: "old" }));
    assert.match(e2.message, /2 pod\(s\) cannot be scheduled on the replacement: pinned to the old pool by nodeSelector cloud.google.com\/gke-nodepool=old/);
    await assertUncordoned(ps.view);
    assert.equal(ps.sim.report().evictions, 0);
  });

  it("a PDB that blocks for good mid-drain fails fast (long before the deadline), naming it, nodes uncordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "web", 6, { maxUnavailable: 1 })], timing: { podReadyMs: 250 } });
    const policy = ps.kc.makeApiClient(k8s.PolicyV1Api);
    const started = Date.now();
    const drain = rejects(drainPool(ps.kc, { pool: "old", deadlineMs: 60_000 }));
    await waitFor("first eviction", () => ps!.sim.report().evictions >= 1);
    await policy.patchNamespacedPodDisruptionBudget({ name: "web-pdb", namespace: "shop", body: { spec: { maxUnavailable: 0 } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    const e = await drain;
    // reason "never-allows" (not "deadline") is the evidence; the clock only rules out waiting for
    // the 60 s deadline, with room for a loaded CI machine.
    assert.ok(Date.now() - started < 30_000, `failed fast: ${Date.now() - started} ms, deadline 60 s`);
    assert.equal(e.reason, "never-allows");
    assert.deepEqual(e.blockingPdbs, ["shop/web-pdb"]);
    assert.ok(e.blockingPods.length >= 1 && e.blockingPods.every((p) => p.startsWith("shop/web-")), e.blockingPods.join(","));
    assert.deepEqual(e.uncordoned.sort(), ps.oldNodes);
    await assertUncordoned(ps.view);
    // (the floor itself moved up to 6 with the patch, so only deletions are checked here)
    assert.equal(ps.sim.report().podsDeletedWithoutEviction, 0);
  });

  it("a PDB whose pods never get healthy fails at the deadline naming it and its pods, nodes uncordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, waitReady: false, objects: [...deployment("shop", "sick", 3, { minAvailable: 1 }, { annotations: { [SIM_READY]: "false" } }), ...deployment("shop", "web", 2, { maxUnavailable: 1 })] });
    await waitFor("pods running", async () => (await ps!.view.pods()).filter((p) => p.status?.phase === "Running").length === 5);
    const started = Date.now();
    const e = await rejects(drainPool(ps.kc, { pool: "old", deadlineMs: 1500 }));
    assert.ok(Date.now() - started < 15_000, `stopped ${Date.now() - started} ms after a 1.5 s deadline (never-ready pods would block forever)`);
    assert.equal(e.reason, "deadline");
    assert.deepEqual(e.blockingPdbs, ["shop/sick-pdb"]);
    assert.equal(e.blockingPods.filter((p) => p.startsWith("shop/sick-")).length, 3);
    assert.match(e.message, /deadline of 2s reached while evicting; blocked by PodDisruptionBudget\(s\) shop\/sick-pdb/);
    assert.equal(e.summary.evicted, 2, "the healthy workload moved");
    await assertUncordoned(ps.view);
  });

  it("stops with a clear message when a second PDB starts matching pods mid-drain", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "web", 6, { maxUnavailable: 1 })], timing: { podReadyMs: 250 } });
    const policy = ps.kc.makeApiClient(k8s.PolicyV1Api);
    const drain = rejects(drainPool(ps.kc, { pool: "old" }));
    await waitFor("first eviction", () => ps!.sim.report().evictions >= 1);
    await policy.createNamespacedPodDisruptionBudget({ namespace: "shop", body: { metadata: { name: "web-extra" }, spec: { selector: { matchLabels: { app: "web" } }, maxUnavailable: 2 } } });
    const e = await drain;
    assert.equal(e.reason, "multiple-pdbs");
    assert.deepEqual(e.blockingPdbs.sort(), ["shop/web-extra", "shop/web-pdb"]);
    assert.match(e.message, /selected by 2 PodDisruptionBudgets.*disjoint/);
    await assertUncordoned(ps.view);
  });

  it("drains in batches (one batch after the other) with soaks, and waits for moved workloads to be Ready", async () => {
    ps = await startPoolSim({ oldNodes: 4, objects: workloads(2, 8, { maxUnavailable: 2 }), timing: { podReadyMs: 40 } });
    const order: string[] = [];
    const w = new k8s.Watch(ps.kc);
    const ctrl = await w.watch("/api/v1/pods", {}, (type, pod) => {
      if (pod?.metadata?.deletionTimestamp && !order.includes(pod.metadata.name)) order.push(`${pod.spec.nodeName}/${pod.metadata.name}`);
    }, () => undefined);
    try {
      const s = await drainPool(ps.kc, { pool: "old", batch: "50%", batchSoakMs: 100, waitForReady: true, soakMs: 150 });
      assert.equal(s.evicted, 16);
      const podsReady = (await ps.view.pods()).filter((p) => p.metadata.name.startsWith("web") && !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));
      assert.equal(podsReady.length, 16, "waitForReady: every moved pod Ready again when the drain returns");
      const batchOf = (entry: string) => (["old-0", "old-1"].includes(entry.split("/")[0]) ? 1 : 2);
      const firstOfSecond = order.findIndex((e) => batchOf(e) === 2);
      assert.ok(firstOfSecond > 0 && order.slice(firstOfSecond).every((e) => batchOf(e) === 2), `batch order: ${order.join(" ")}`);
    } finally {
      ctrl.abort();
    }
    assertFloorsKept(ps);
  });

  it("fails the soak when a moved workload falls below its PDB floor, and uncordons", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "web", 4, { maxUnavailable: 1 })], timing: { podReadyMs: 300 } });
    const logs: string[] = [];
    const drain = rejects(drainPool(ps.kc, { pool: "old", soakMs: 20_000, log: (l) => logs.push(l) }));
    await waitFor("soak started", () => logs.some((l) => /soak: 20000 ms/.test(l)), 20_000);
    // Something else disrupts the workload during the soak: two of its pods deleted outright.
    const victims = (await ps.view.pods()).filter((p) => p.metadata.name.startsWith("web") && !p.metadata.deletionTimestamp).slice(0, 2);
    for (const v of victims) await ps.view.core.deleteNamespacedPod({ name: v.metadata.name, namespace: "shop" });
    const e = await drain;
    assert.equal(e.reason, "soak");
    assert.deepEqual(e.blockingPdbs, ["shop/web-pdb"]);
    assert.match(e.message, /soak failed: shop\/web-pdb \(\d healthy < floor 3\)/);
    await assertUncordoned(ps.view);
  });

  it("waits for DaemonSets to be Ready on the replacement nodes before the first eviction", async () => {
    const ds = { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { namespace: "kube-system", name: "agent" }, spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: podSpec() } } };
    ps = await startPoolSim({ oldNodes: 2, newNodes: 2, objects: [ds, ...deployment("shop", "web", 4, { maxUnavailable: 1 })], timing: { podReadyMs: 300 } });
    const readyAt = new Map<string, number>();
    let firstEviction = 0;
    const newNodes = new Set(ps.newNodes);
    const w = new k8s.Watch(ps.kc);
    const ctrl = await w.watch("/api/v1/pods", {}, (_t, pod) => {
      const ready = pod?.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
      if (pod?.metadata?.labels?.app === "agent" && newNodes.has(pod.spec?.nodeName) && ready && !readyAt.has(pod.spec.nodeName)) readyAt.set(pod.spec.nodeName, Date.now());
      if (pod?.metadata?.labels?.app === "web" && pod.metadata.deletionTimestamp && !firstEviction) firstEviction = Date.now();
    }, () => undefined);
    try {
      const plan = await planPool(ps.kc, { pool: "old" });
      assert.deepEqual(plan.daemonSetsPending, ["kube-system/agent"], "the DaemonSet is not Ready on the new nodes yet");
      const s = await drainPool(ps.kc, { pool: "old" });
      assert.equal(s.evicted, 4);
      // our watch may lag the drain on a loaded machine: wait until it delivered what it must see
      await waitFor("the watch to see agent Ready on both new nodes and the first eviction", () => firstEviction > 0 && readyAt.size === 2);
      assert.ok(firstEviction >= Math.max(...readyAt.values()), "first eviction only after the DaemonSet was Ready on every replacement node");
    } finally {
      ctrl.abort();
    }
  });

  it("cordons and drains a node that joins the pool mid-drain (e.g. the autoscaler scaling the old pool up)", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: workloads(2, 6, { maxUnavailable: 1 }), timing: { podReadyMs: 150 } });
    const logs: string[] = [];
    const drain = drainPool(ps.kc, { pool: "old", log: (l) => logs.push(l) });
    await waitFor("drain under way", () => ps!.sim.report().evictions >= 2);
    await ps.view.core.createNode({ body: { metadata: { name: "old-late", labels: { "cloud.google.com/gke-nodepool": "old", "nodepool-rotation/role": "app" } }, status: { allocatable: { cpu: "8", memory: "32Gi", pods: "110" }, capacity: { cpu: "8", memory: "32Gi", pods: "110" }, conditions: [{ type: "Ready", status: "True" }] } } as any });
    const s = await drain;
    assert.ok(s.nodes.includes("old-late") && s.cordoned.includes("old-late"), JSON.stringify(s));
    assert.ok(logs.some((l) => l.includes("node old-late joined the pool during the drain")), logs.join("\n"));
    ps.oldNodes.push("old-late");
    await assertDrained(ps);
    assertFloorsKept(ps);
  });

  it("validates options before touching the cluster", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {}}]\ncurrent-context: c\n");
    await assert.rejects(drainPool(kc, { pool: "old", concurrency: 0 }), /concurrency: must be an integer from 1 to 500, got 0/);
    await assert.rejects(drainPool(kc, { pool: "old", batch: "150%" }), /batch: must be a node count like "2" or a percentage like "25%"/);
    await assert.rejects(drainPool(kc, { pool: "", deadlineMs: 5 }), /pool: required/);
    await assert.rejects(drainPool(kc, { pool: "old", deadlineMs: -1 }), /deadlineMs: must be a number of milliseconds > 0 and <= 86400000 \(fractions allowed\), got -1/);
  });
});

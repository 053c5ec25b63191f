/**
 * GKE's upgrade strategies and its draining pool deletion (gkeUpgrade.ts), driven through the
 * simulator's HTTP endpoints and observed through client-node, the report and the operation.
 * Timing: terminationGraceScale 0.0001, so GKE's 1-hour PDB cut-off is 360 ms here.
 */
import * as assert from "node:assert/strict";
import { CoreV1Api, V1Node, V1Pod } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { deploymentYaml, http, isReady, pdbYaml, scenario, waitFor } from "./helpers";
import type { Operation } from "./gkeUpgrade";

const POOL = "cloud.google.com/gke-nodepool";
const TIMING = { podStartMs: 5, podReadyMs: 20, terminationGraceScale: 0.0001, nodeBootMs: 30 };
const HOUR_MS = 3600 * 1000 * TIMING.terminationGraceScale;

const poolDoc = (nodes: number) =>
  JSON.stringify({ apiVersion: "simulator.nodepool-rotation.io/v1", kind: "NodePool", metadata: { name: "app" }, spec: { nodes, labels: { role: "app" }, cpu: "2" } });
const daemonSet = JSON.stringify({
  apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: "default" },
  spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { tolerations: [{ operator: "Exists" }], containers: [{ name: "a", image: "agent" }] } } },
});
const onApp = { podSpec: { nodeSelector: { role: "app" }, topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app: "web" } } }] } };

describe("simulator: GKE's upgrade strategies and pool deletion", function () {
  this.timeout(20_000);
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  /** A 3-node pool running web (3 replicas, optional PDB) and a DaemonSet, settled. */
  async function start(pdb?: object): Promise<{ core: CoreV1Api; old: string[] }> {
    sim = await startSimulator({
      timing: TIMING,
      scenario: scenario(poolDoc(3), daemonSet, deploymentYaml("web", "default", 3, onApp), ...(pdb ? [pdbYaml("web", "default", { app: "web" }, pdb)] : [])),
    });
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    await waitFor("web and agent Ready", async () => (await core.listNamespacedPod({ namespace: "default" })).items.filter(isReady).length === 6);
    const old = (await core.listNode()).items.map((n) => n.metadata!.name!);
    return { core, old };
  }

  async function finished(id: string, timeoutMs = 10_000): Promise<Operation> {
    return waitFor(`operation ${id} to finish`, async () => {
      const r = await http(sim!.url, "GET", `/simulator/operations/${id}`);
      return r.body.status !== "RUNNING" ? (r.body as Operation) : undefined;
    }, timeoutMs);
  }

  const nodes = async (core: CoreV1Api): Promise<V1Node[]> => (await core.listNode()).items;
  const pods = async (core: CoreV1Api): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: "default" })).items;
  const index = (op: Operation, re: RegExp) => op.steps.findIndex((s) => re.test(s.what));

  it("SURGE (defaults maxSurge 1, maxUnavailable 0): a surge node Ready before each old node is cordoned, drained within the PDB, deleted", async () => {
    const { core, old } = await start({ minAvailable: 2 });
    const r = await http(sim!.url, "POST", "/simulator/pools/app/upgrade", { strategy: "SURGE" });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body.settings.maxSurge, 1);
    const op = await finished(r.body.id);
    assert.equal(op.status, "DONE", op.error);
    const now = await nodes(core);
    assert.equal(now.length, 3, "pool size kept");
    assert.ok(now.every((n) => n.metadata!.labels![POOL] === "app" && !old.includes(n.metadata!.name!)), "every node replaced, same pool");
    assert.deepEqual([op.nodesCreated, op.nodesDeleted, op.pdbCutoffs, op.podsDeleted], [3, 3, 0, 0]);
    for (const n of old) {
      const created = op.steps.findIndex((s, i) => /^create 1 node/.test(s.what) && i < index(op, new RegExp(`^cordon ${n}`)));
      assert.ok(created >= 0 && index(op, new RegExp(`^cordon ${n}`)) < index(op, new RegExp(`^delete ${n}`)), `create -> cordon -> delete for ${n}`);
    }
    await waitFor("web whole again", async () => (await pods(core)).filter((p) => p.metadata!.name!.startsWith("web") && isReady(p) && !p.metadata!.deletionTimestamp).length === 3);
    const rep = sim!.report();
    assert.equal(rep.workloads["default/Deployment/web"].msBelowFloor, 0, "the PDB's floor held");
    assert.ok(rep.evictions >= 3, `evicted through the Eviction API (${rep.evictions})`);
    assert.equal(rep.workloadPodsDeletedWithoutEviction, 0);
  });

  it("SURGE: a PDB that never allows a disruption is respected for 1 hour (scaled), then the pods are deleted anyway", async () => {
    const { core } = await start({ minAvailable: 3 });
    const r = await http(sim!.url, "POST", "/simulator/pools/app/upgrade", { strategy: "SURGE", maxSurge: 3 });
    const op = await finished(r.body.id);
    assert.equal(op.status, "DONE", op.error);
    assert.equal(op.settings.pdbTimeout && (op.settings.pdbTimeout as { gkeSeconds: number }).gkeSeconds, 3600);
    assert.ok(op.pdbCutoffs >= 1 && op.podsDeletedAfterCutoff >= 1, JSON.stringify(op));
    assert.ok(op.durationMs >= HOUR_MS, `waited the scaled hour (${op.durationMs} ms >= ${HOUR_MS} ms)`);
    assert.match(op.steps.map((s) => s.what).join("\n"), /PDB cut-off on /);
    assert.ok(sim!.report().workloadPodsDeletedWithoutEviction >= 1, "the cut-off deletes without eviction");
    assert.equal((await nodes(core)).length, 3);
  });

  it("BLUE_GREEN: green created whole, every blue node cordoned, drained in batches with soaks, then blue deleted", async () => {
    const { core, old } = await start({ minAvailable: 2 });
    const r = await http(sim!.url, "POST", "/simulator/pools/app/upgrade", {
      strategy: "BLUE_GREEN",
      blueGreenSettings: { standardRolloutPolicy: { batchNodeCount: 2, batchSoakDuration: "100s" }, nodePoolSoakDuration: "200s" },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body.settings.nodePoolSoak, { gkeSeconds: 200, simMs: 20 });
    const op = await finished(r.body.id);
    assert.equal(op.status, "DONE", op.error);
    const what = op.steps.map((s) => s.what);
    assert.ok(index(op, /^create 3 node/) < index(op, /^cordoned the 3 blue/), "green whole before blue is cordoned");
    assert.deepEqual(what.filter((w) => /^drain batch/.test(w)), ["drain batch 1: 2 node(s)", "drain batch 2: 1 node(s)"]);
    assert.equal(what.filter((w) => w === "batch soak").length, 2);
    assert.ok(index(op, /^node pool soak/) < Math.min(...old.map((n) => index(op, new RegExp(`^delete ${n}`)))), "blue deleted after the pool soak");
    assert.ok(op.durationMs >= 2 * 10 + 20, `soaks waited (${op.durationMs} ms)`);
    assert.ok((await nodes(core)).every((n) => !old.includes(n.metadata!.name!)));
    assert.equal(sim!.report().workloads["default/Deployment/web"].msBelowFloor, 0);
  });

  it("AUTOSCALED_BLUE_GREEN: green starts empty and is scaled up by the autoscaler as pods leave blue; empty blue nodes are removed", async () => {
    const { core, old } = await start({ minAvailable: 2 });
    const r = await http(sim!.url, "POST", "/simulator/pools/app/upgrade", { strategy: "AUTOSCALED_BLUE_GREEN", blueGreenSettings: { autoscaledRolloutPolicy: { waitForDrainDuration: "0s" } } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const op = await finished(r.body.id);
    assert.equal(op.status, "DONE", op.error);
    assert.ok(op.nodesCreated >= 1 && op.steps.some((s) => /^autoscaler: scale up/.test(s.what)), JSON.stringify(op.steps));
    assert.ok(op.steps.some((s) => /^autoscaler: remove empty blue node/.test(s.what)));
    assert.ok((await nodes(core)).every((n) => !old.includes(n.metadata!.name!)), "no blue node left");
    await waitFor("web whole again", async () => (await pods(core)).filter((p) => p.metadata!.name!.startsWith("web") && isReady(p) && !p.metadata!.deletionTimestamp).length === 3);
  });

  it("pool deletion (?drain=true): pods deleted gracefully, PDBs ignored; with respectPdbDuringNodePoolDeletion they are evicted within the PDB", async () => {
    let { core } = await start({ minAvailable: 2 });
    let r = await http(sim!.url, "DELETE", "/simulator/pools/app?drain=true");
    assert.equal(r.status, 202, JSON.stringify(r.body));
    let op = await finished(r.body.id);
    assert.equal(op.status, "DONE", op.error);
    assert.equal((await nodes(core)).length, 0);
    let rep = sim!.report();
    assert.deepEqual([op.evictions, op.podsDeleted, rep.evictions, rep.workloadPodsDeletedWithoutEviction], [0, 3, 0, 3], "PDB ignored: three deletions, no eviction");
    await sim!.stop();

    ({ core } = await start({ minAvailable: 2 }));
    // a second pool to move to, so evictions can make progress
    await http(sim!.url, "POST", "/simulator/pools", { name: "app-2", nodes: 3, labels: { role: "app" }, cpu: "2" });
    r = await http(sim!.url, "DELETE", "/simulator/pools/app?drain=true&respectPdbDuringNodePoolDeletion=true");
    op = await finished(r.body.id);
    assert.equal(op.status, "DONE", op.error);
    rep = sim!.report();
    assert.deepEqual([op.evictions, op.pdbCutoffs, rep.workloadPodsDeletedWithoutEviction], [3, 0, 0], "evicted within the PDB, nothing deleted without eviction");
    assert.equal(rep.workloads["default/Deployment/web"].msBelowFloor, 0);
  });

  it("bad settings are refused with 400 naming the field (404 for an unknown pool), before anything changes", async () => {
    const { core, old } = await start();
    const bad: [string, string, object | undefined, RegExp, number?][] = [
      ["POST", "/simulator/pools/app/upgrade", { strategy: "ROLLING" }, /strategy must be SURGE, BLUE_GREEN or AUTOSCALED_BLUE_GREEN/],
      ["POST", "/simulator/pools/app/upgrade", { strategy: "SURGE", maxSurge: 0, maxUnavailable: 0 }, /maxSurge \+ maxUnavailable must be at least 1/],
      ["POST", "/simulator/pools/app/upgrade", { strategy: "BLUE_GREEN", blueGreenSettings: { standardRolloutPolicy: { batchPercentage: 50 } } }, /batchPercentage must be in \(0.0, 1.0\]/],
      ["POST", "/simulator/pools/app/upgrade", { strategy: "BLUE_GREEN", blueGreenSettings: { nodePoolSoakDuration: "1h" } }, /nodePoolSoakDuration must be a duration like "3600s"/],
      ["POST", "/simulator/pools/nope/upgrade", { strategy: "SURGE" }, /pool nope not found/, 404],
      ["DELETE", "/simulator/pools/app?drain=true&respectPdbDuringNodePoolDeletion=yes", undefined, /respectPdbDuringNodePoolDeletion must be true or false/],
    ];
    for (const [method, path, body, re, code = 400] of bad) {
      const r = await http(sim!.url, method, path, body);
      assert.equal(r.status, code, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.message, re);
    }
    assert.deepEqual((await nodes(core)).map((n) => n.metadata!.name!).sort(), [...old].sort());
    assert.ok((await nodes(core)).every((n) => !n.spec?.unschedulable), "nothing cordoned");
  });
});

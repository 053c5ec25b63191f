/**
 * The plan's topology fit check (components/rotation/fit.ts) on regional pools in the simulator,
 * over HTTP with the real client: a blocker names the constraint and the fix, and the simulator's
 * scheduler — which follows kube-scheduler's PodTopologySpread and InterPodAffinity filters, not
 * fit.ts — confirms it: with the old pool cordoned and its pods gone, exactly as many pods stay
 * Pending as the plan said cannot be placed.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { planPool } from "../../components/rotation";
import { startSimulator, Simulator } from "../simulator";
import { waitFor } from "./sim";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";
const ROLE = { "nodepool-rotation/role": "app" };
const [A, B, C] = ["us-central1-a", "us-central1-b", "us-central1-c"];
const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

const isReady = (o: any) => (o?.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
const unschedulable = (p: any) => !p.spec?.nodeName && (p.status?.conditions ?? []).some((c: any) => c.type === "PodScheduled" && c.status === "False");

/** Scenario: the old pool (`nodes` per zone over `zones`) and one Deployment with `podSpec`, PDB maxUnavailable 1. */
function scenarioText(oldPool: { nodes: number; zones: string[] }, app: string, replicas: number, podSpec: any): string {
  const docs = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "simulator", namespace: "kube-system" }, data: { podStartMs: "5", podReadyMs: "10", terminationGraceScale: "0.001", nodeBootMs: "5" } },
    { apiVersion: "simulator.nodepool-rotation.io/v1", kind: "NodePool", metadata: { name: "app-old" }, spec: { ...oldPool, labels: ROLE } },
    { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: app, namespace: "default" }, spec: { replicas, selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: { nodeSelector: ROLE, containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "10m" } } }], ...podSpec } } } },
    { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: app, namespace: "default" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app } } } },
  ];
  return docs.map((d) => stringify(d)).join("---\n");
}

const spread = (app: string, key: string, extra: any = {}) => ({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: key, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app } }, ...extra }] });

describe("rotation plan: topology fit on regional pools (simulator)", function () {
  this.timeout(30_000);
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  /** Starts the scenario, waits for the app to run, adds the new pool, returns the plan. */
  async function planFor(text: string, app: string, replicas: number, newPool: { nodes: number; zones: string[] }) {
    sim = await startSimulator({ scenario: text });
    const core = sim.kubeConfig().makeApiClient(k8s.CoreV1Api);
    await waitFor(`${app} ready`, async () => (await core.listNamespacedPod({ namespace: "default", labelSelector: `app=${app}` })).items.filter(isReady).length === replicas);
    await sim.addPool({ name: "app-new", ...newPool, labels: ROLE, bootMs: 1 });
    await waitFor("new pool Ready", async () => (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=app-new" })).items.filter(isReady).length === newPool.nodes * newPool.zones.length);
    return planPool(sim.kubeConfig(), { pool: "app-old" });
  }

  /**
   * Ground truth: cordon the old pool, then delete its pods one at a time in the plan's order (pool
   * node, then pod name), each replacement Ready or Unschedulable before the next; returns how many
   * the scheduler leaves Pending.
   */
  async function pendingAfterDrain(app: string, replicas: number): Promise<number> {
    const core = sim!.kubeConfig().makeApiClient(k8s.CoreV1Api);
    const old = (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=app-old" })).items.map((n) => n.metadata!.name!);
    for (const name of old) await core.patchNode({ name, body: { spec: { unschedulable: true } } }, MERGE);
    const list = async () => (await core.listNamespacedPod({ namespace: "default", labelSelector: `app=${app}` })).items.filter((p) => !p.metadata!.deletionTimestamp);
    const onOld = (await list()).filter((p) => old.includes(p.spec!.nodeName!))
      .sort((a, b) => a.spec!.nodeName!.localeCompare(b.spec!.nodeName!) || a.metadata!.name!.localeCompare(b.metadata!.name!));
    let pending = 0;
    for (const p of onOld) {
      await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: "default", gracePeriodSeconds: 0 });
      pending = await waitFor(`the replacement of ${p.metadata!.name} Ready or Unschedulable`, async () => {
        const ps = await list();
        const waiting = ps.filter(unschedulable).length;
        return ps.length === replicas && ps.filter(isReady).length + waiting === replicas ? { waiting } : undefined;
      }).then((r) => r!.waiting);
    }
    return pending;
  }

  it("a new pool in 2 zones for a workload spread over 3: blocker naming the constraint, the missing zone and the fix", async () => {
    const plan = await planFor(scenarioText({ nodes: 1, zones: [A, B, C] }, "web", 6, spread("web", ZONE)), "web", 6, { nodes: 2, zones: [A, B] });
    assert.equal(plan.fits, false);
    const b = plan.blockers.find((x) => x.includes("default/Deployment/web"));
    assert.ok(b, plan.blockers.join("\n"));
    assert.match(b!, /^[1-4] of 6 evicted pod\(s\) of default\/Deployment\/web cannot be placed on the replacement nodes during the drain: topologySpreadConstraint \{topologyKey: topology\.kubernetes\.io\/zone, maxSkew: 1, whenUnsatisfiable: DoNotSchedule\}/);
    assert.match(b!, /replacement nodes are in 2 topology\.kubernetes\.io\/zone value\(s\) \(us-central1-a, us-central1-b\) but the workload spreads over 3: us-central1-c only has cordoned old-pool nodes/);
    assert.match(b!, /fix: create the new pool in us-central1-c too \(GKE: node locations\), or set nodeTaintsPolicy: Honor/);
    // how many depends on the eviction order (zone c's old node early or late); the simulator replays the same order
    assert.equal(await pendingAfterDrain("web", 6), Number(/^(\d+) of/.exec(b!)![1]), "the simulator's scheduler leaves as many pods Pending");
  });

  it("the same workload and a new pool in the same 3 zones: no topology blocker, and every pod is placed", async () => {
    const plan = await planFor(scenarioText({ nodes: 1, zones: [A, B, C] }, "web", 6, spread("web", ZONE)), "web", 6, { nodes: 1, zones: [A, B, C] });
    assert.deepEqual(plan.blockers, []);
    assert.equal(plan.fits, true);
    assert.equal(await pendingAfterDrain("web", 6), 0);
  });

  it("required anti-affinity on the zone key: 3 replicas need 3 zones, the new pool has 2", async () => {
    const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: ZONE, labelSelector: { matchLabels: { app: "db" } } }] } } };
    const plan = await planFor(scenarioText({ nodes: 1, zones: [A, B, C] }, "db", 3, anti), "db", 3, { nodes: 2, zones: [A, B] });
    assert.equal(plan.fits, false);
    assert.ok(plan.blockers.some((b) => /^1 of 3 evicted pod\(s\) of default\/Deployment\/db .*required pod anti-affinity \{topologyKey: topology\.kubernetes\.io\/zone\} allows one matching pod per topology\.kubernetes\.io\/zone value; the replacement nodes offer 2 \(us-central1-a, us-central1-b\) for 3 pod\(s\); fix: create the new pool in more/.test(b)), plan.blockers.join("\n"));
    assert.equal(await pendingAfterDrain("db", 3), 1);
  });

  it("hostname spread: cordoned old nodes stay domains at 0, so each new node takes maxSkew pods; nodeTaintsPolicy Honor lifts it", async () => {
    const plan = await planFor(scenarioText({ nodes: 4, zones: [A] }, "api", 8, spread("api", HOST)), "api", 8, { nodes: 6, zones: [A] });
    const b = plan.blockers.find((x) => x.includes("default/Deployment/api"));
    assert.match(b ?? plan.blockers.join("\n"), /^2 of 8 .*topologyKey: kubernetes\.io\/hostname.*the 4 cordoned old-pool node\(s\) stay domains with 0 pods .* fix: set nodeTaintsPolicy: Honor on the constraint .*, or give the new pool at least 8 nodes/);
    assert.equal(await pendingAfterDrain("api", 8), 2);
    await sim!.stop();
    const honor = await planFor(scenarioText({ nodes: 4, zones: [A] }, "api", 8, spread("api", HOST, { nodeTaintsPolicy: "Honor" })), "api", 8, { nodes: 6, zones: [A] });
    assert.deepEqual(honor.blockers, []);
    assert.equal(await pendingAfterDrain("api", 8), 0);
  });

  it("minDomains larger than the new pool's zones: blocker with the count", async () => {
    const plan = await planFor(scenarioText({ nodes: 1, zones: [A, B, C] }, "q", 3, spread("q", ZONE, { minDomains: 3 })), "q", 3, { nodes: 1, zones: [A, B] });
    assert.ok(plan.blockers.some((b) => /^1 of 3 evicted pod\(s\) of default\/Deployment\/q .*minDomains: 3\}: minDomains 3 needs 3 topology\.kubernetes\.io\/zone values, the replacement nodes offer 2 \(us-central1-a, us-central1-b\); fix: create the new pool in at least 3/.test(b)), plan.blockers.join("\n"));
    assert.equal(await pendingAfterDrain("q", 3), 1);
  });
});

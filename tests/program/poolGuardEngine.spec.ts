/**
 * The paths on which the Pulumi engine deletes a node pool WITHOUT its drainer, replayed with the
 * engine's deletion order (tests/support/engine.ts, which cites the engine source) against the
 * simulator over HTTP: pools are created and deleted the way GKE does it (a deleted pool's pods
 * are killed, no eviction, no PDB), drainers drain with the rotation engine, and the pool's
 * `beforeDelete` hook is the real pool-guard callback (components/poolGuard.ts).
 *
 * Each scenario runs twice: with the hook bound to the pools (what VersionedNodePool registers)
 * and, as a control, without it — the control shows the harm the hook prevents, so these specs
 * fail if the hook stops protecting the pods.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { POOL_GUARD_HOOK, poolGuardCallback, registerPoolGuardCluster } from "../../components/poolGuard";
import { drainPool } from "../../components/rotation";
import { startSimulator, Simulator } from "../simulator";
import { EmulatedStack, Goal, RunOptions, makeUrn } from "../support/engine";
import { deployment, scenario, View, waitFor } from "../rotation/sim";
import { applyDeployment, repairNodes } from "./clusterActions";

const STACK = "staging";
const PROJECT_NAME = "nodepool-rotation";
const POOL_TYPE = "gcp:container/nodePool:NodePool";
const DRAINER_TYPE = "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer";
const COMPONENT_TYPE = "nodepool-rotation:index:VersionedNodePool";
const ROLE = "nodepool-rotation/role";
const CLUSTER = { project: "proj", location: "europe-west1", cluster: "staging" };
const CLUSTER_ID = `${CLUSTER.project}/${CLUSTER.location}/${CLUSTER.cluster}`;

const urn = (type: string, name: string, parent = true) => makeUrn(STACK, PROJECT_NAME, type, name, parent ? COMPONENT_TYPE : undefined);

/**
 * What VersionedNodePool registers for one role: the component, the pool (with the hook when
 * `guarded`) and the drainer, which depends on the pool through `dependsOn` only.
 */
function roleGoals(role: string, version: string, guarded: boolean): Goal[] {
  const comp = makeUrn(STACK, PROJECT_NAME, COMPONENT_TYPE, role);
  const pool = urn(POOL_TYPE, role);
  const name = `${role}-${version}`;
  return [
    { urn: comp, type: COMPONENT_TYPE, inputs: {}, custom: false },
    {
      urn: pool,
      type: POOL_TYPE,
      parent: comp,
      inputs: { name, ...CLUSTER, nodeConfig: { labels: { [ROLE]: role } } },
      hooks: { beforeDelete: guarded ? [POOL_GUARD_HOOK] : [] },
    },
    { urn: urn(DRAINER_TYPE, `${role}-drainer`), type: DRAINER_TYPE, parent: comp, dependencies: [pool], inputs: { poolName: name, role } },
  ];
}

/** Providers acting on the simulator: GKE's create/delete for pools, the rotation engine for drainers. */
function providers(sim: Simulator, log: string[]): RunOptions["providers"] {
  const kc = sim.kubeConfig();
  const view = new View(kc);
  return {
    [POOL_TYPE]: {
      replaceOn: ["name"],
      async create(goal) {
        const { name } = goal.inputs;
        // One node per zone of the simulated region (a regional pool: node counts are per zone).
        await sim.addPool({ name, nodes: 1, labels: { [ROLE]: goal.inputs.nodeConfig.labels[ROLE] }, cpu: "8", memory: "32Gi" });
        // GKE's create returns once the pool's nodes are up (addPool creates them all at once).
        await waitFor(`pool ${name} Ready`, async () => { const n = await view.nodes(name); return n.length > 0 && n.every((x) => x.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")); });
        return { id: `${CLUSTER_ID}/${name}`, outputs: { ...goal.inputs } };
      },
      async delete(state) {
        log.push(`GKE deletes pool ${state.outputs.name}`);
        await sim.deletePool(state.outputs.name);
      },
    },
    [DRAINER_TYPE]: {
      replaceOn: ["poolName"],
      create: (goal) => ({ id: `${CLUSTER_ID}/${goal.inputs.poolName}`, outputs: { ...goal.inputs } }),
      async delete(state) {
        log.push(`drainer drains ${state.outputs.poolName}`);
        await drainPool(kc, { pool: state.outputs.poolName, replacementSelector: `${ROLE}=${state.outputs.role}`, deadlineMs: 15_000 });
      },
    },
  };
}

/** The hooks the current program registers: the pool guard, with the simulator as the cluster. */
function programHooks(sim: Simulator, log: string[]): RunOptions["hooks"] {
  registerPoolGuardCluster({ clusterId: CLUSTER_ID, kubeconfig: sim.kubeconfig, drain: { deadlineMinutes: 1 } });
  return {
    [POOL_GUARD_HOOK]: async (args) => {
      log.push(`hook checks ${args.oldOutputs.name}`);
      await poolGuardCallback(args as any, (line) => log.push(`  guard: ${line}`));
    },
  };
}

/** Movable (non-DaemonSet, not terminating) pods on a pool's nodes. */
async function workloadPodsOnPool(view: View, pool: string): Promise<string[]> {
  const nodes = (await view.nodes(pool)).map((n) => n.metadata.name);
  return (await view.podsOn(nodes))
    .filter((p) => !p.metadata?.ownerReferences?.some((o: any) => o.kind === "DaemonSet") && !p.metadata?.deletionTimestamp)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}

const workloads = (...roles: [string, string, number, number][]) =>
  roles.flatMap(([role, name, replicas, minAvailable]) => deployment("shop", name, replicas, { minAvailable }, { spec: { nodeSelector: { [ROLE]: role } } }));

/** Fast simulator timing with a real readiness delay. */
const TIMING = { podStartMs: 5, podReadyMs: 20, terminationGraceScale: 0.001, nodeBootMs: 10 };

/** A simulator running `objects` (pools come from the emulated NodePool provider). */
const startCluster = (objects: any[]) => startSimulator({ scenario: scenario(objects, TIMING) });

/**
 * What the guard must achieve on every path: it ran before GKE's delete of each pool, no pod was
 * killed by a pool deletion, and no workload went below its PDB floor.
 */
function assertGuarded(log: string[], pools: string[], report: ReturnType<Simulator["report"]>): void {
  for (const pool of pools) {
    const checked = log.indexOf(`hook checks ${pool}`);
    assert.ok(checked >= 0 && checked < log.indexOf(`GKE deletes pool ${pool}`), `the hook checks ${pool} before GKE deletes it:\n${log.join("\n")}`);
  }
  assert.equal(report.workloadPodsDeletedWithoutEviction, 0, "no pod killed by a pool deletion");
  for (const [key, w] of Object.entries(report.workloads)) assert.equal(w.msBelowFloor, 0, `${key} never went below its PDB floor`);
}

describe("pool guard under the engine's deletion order (emulated engine, simulator cluster)", function () {
  this.timeout(120_000);
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  /**
   * Two roles rotated; app's drain is blocked (its PDB never allows a disruption), so the engine
   * cancels the batch of pools: web-v1 stays, drained but not deleted, its drainer gone. Meanwhile
   * auto-repair brings web-v1's nodes back and a team deploys: pods land on web-v1. The app team
   * fixes its PDB; the next `up` deletes app-v1 (after its drainer) and web-v1 (no drainer left).
   */
  async function partialRotation(guarded: boolean) {
    sim = await startCluster(workloads(["app", "api", 4, 4], ["web", "front", 4, 3]));
    const kc = sim.kubeConfig();
    const view = new View(kc);
    const log: string[] = [];
    const opts = (): RunOptions => ({ providers: providers(sim!, log), hooks: guarded ? programHooks(sim!, log) : {} });
    const stack = new EmulatedStack();

    const v1 = await stack.up([...roleGoals("app", "v1", guarded), ...roleGoals("web", "v1", guarded)], opts());
    assert.ok(v1.ok, v1.errors.join("\n"));
    await waitFor("workloads Ready on the v1 pools", () => view.allReady());

    const v2Goals = [...roleGoals("app", "v2", guarded), ...roleGoals("web", "v2", guarded)];
    const failed = await stack.up(v2Goals, opts());
    assert.equal(failed.ok, false);
    assert.match(failed.errors.join("\n"), /never allow a disruption/);
    assert.deepEqual(failed.batches.length, 2, "drainers first, pools in a later batch");
    assert.deepEqual(stack.pendingDeletes().map((r) => r.id).sort(), [`${CLUSTER_ID}/app-v1`, `${CLUSTER_ID}/app-v1`, `${CLUSTER_ID}/web-v1`].sort());
    assert.ok(!stack.resources.some((r) => r.type === DRAINER_TYPE && r.outputs.poolName === "web-v1"), "web-v1's drainer is gone from state");
    assert.deepEqual(await workloadPodsOnPool(view, "web-v1"), [], "web-v1 was drained");
    assert.ok(!log.some((l) => l.startsWith("GKE deletes")), "no pool deleted in the failed run");

    // Meanwhile: auto-repair recreates web-v1's nodes (schedulable), a team deploys to role web.
    await repairNodes(kc, (await view.nodes("web-v1")).map((n) => n.metadata.name));
    await applyDeployment(kc, workloads(["web", "late", 4, 3]));
    await waitFor("pods placed on web-v1 after its drain", async () => (await workloadPodsOnPool(view, "web-v1")).length > 0);
    const placed = await workloadPodsOnPool(view, "web-v1");
    // The app team relaxes its PDB.
    await kc.makeApiClient(k8s.PolicyV1Api).patchNamespacedPodDisruptionBudget(
      { namespace: "shop", name: "api-pdb", body: { spec: { minAvailable: 3 } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );

    log.length = 0;
    const evictionsBefore = sim.report().evictions;
    const next = await stack.up(v2Goals, opts());
    return { next, log, placed, report: sim.report(), evictionsBefore, stack };
  }

  it("one role's drain fails: the next up deletes the other role's drained-not-deleted pool only after the hook drained the pods put there meanwhile", async () => {
    const { next, log, placed, report, evictionsBefore, stack } = await partialRotation(true);
    assert.ok(next.ok, next.errors.join("\n"));
    assert.deepEqual(stack.pendingDeletes(), []);
    assertGuarded(log, ["app-v1", "web-v1"], report);
    assert.ok(log.some((l) => new RegExp(`guard: pool web-v1 still runs ${placed.length} pod\\(s\\)`).test(l)), log.join("\n"));
    assert.ok(report.evictions - evictionsBefore >= placed.length, "the pods on web-v1 left through the Eviction API");
  });

  it("control, without the hook: the same path kills the pods put on that pool (what the hook prevents)", async () => {
    const { next, placed, report } = await partialRotation(false);
    assert.ok(next.ok);
    assert.ok(placed.length > 0);
    assert.ok(report.workloadPodsDeletedWithoutEviction >= placed.length, `pods killed without eviction: ${report.workloadPodsDeletedWithoutEviction}`);
  });

  /** `pulumi up --target <app pool urn>` on a version bump: the old pool goes, its drainer stays. */
  async function targetedRotation(guarded: boolean) {
    sim = await startCluster(workloads(["app", "api", 4, 3]));
    const view = new View(sim.kubeConfig());
    const log: string[] = [];
    const opts = (targets?: string[]): RunOptions => ({ providers: providers(sim!, log), hooks: guarded ? programHooks(sim!, log) : {}, targets });
    const stack = new EmulatedStack();
    assert.ok((await stack.up(roleGoals("app", "v1", guarded), opts())).ok);
    await waitFor("workloads Ready on app-v1", () => view.allReady());
    const onOld = await workloadPodsOnPool(view, "app-v1");
    const r = await stack.up(roleGoals("app", "v2", guarded), opts([urn(POOL_TYPE, "app")]));
    return { r, log, onOld, report: sim.report(), stack };
  }

  it("--target <pool urn>: the old pool is deleted without its drainer, but not before the hook drained it", async () => {
    const { r, log, onOld, report, stack } = await targetedRotation(true);
    assert.ok(r.ok, r.errors.join("\n"));
    assert.ok(!log.some((l) => l.startsWith("drainer drains")), "the drainer did not run (untargeted)");
    assert.equal(stack.live(urn(DRAINER_TYPE, "app-drainer"))?.outputs.poolName, "app-v1", "the drainer keeps its old state");
    assertGuarded(log, ["app-v1"], report);
    assert.ok(report.evictions >= onOld.length);
  });

  it("control, --target without the hook: GKE kills the pool's pods", async () => {
    const { r, onOld, report } = await targetedRotation(false);
    assert.ok(r.ok);
    assert.ok(report.workloadPodsDeletedWithoutEviction >= onOld.length);
  });

  /**
   * An interrupted run (Ctrl-C / CI cancel after the drainers' batch): both old pools are drained,
   * their drainers gone, the pools' batch never starts. Auto-repair and a deploy put pods back on
   * both before the next `up`, which deletes both pools with no drainer left.
   */
  async function interruptedRotation(guarded: boolean) {
    sim = await startCluster(workloads(["app", "api", 4, 3], ["web", "front", 4, 3]));
    const kc = sim.kubeConfig();
    const view = new View(kc);
    const log: string[] = [];
    const stack = new EmulatedStack();
    const goals = (v: string) => [...roleGoals("app", v, guarded), ...roleGoals("web", v, guarded)];
    assert.ok((await stack.up(goals("v1"), { providers: providers(sim, log), hooks: guarded ? programHooks(sim, log) : {} })).ok);
    await waitFor("workloads Ready on the v1 pools", () => view.allReady());

    const ctrlC = new AbortController();
    const interrupted = await stack.up(goals("v2"), {
      providers: providers(sim, log),
      hooks: guarded ? programHooks(sim, log) : {},
      signal: ctrlC.signal,
      onBatch: (i) => { if (i === 0) ctrlC.abort(); }, // Ctrl-C while the drainers run: they finish, nothing later starts
    });
    assert.equal(interrupted.ok, false);
    assert.deepEqual(stack.pendingDeletes().map((r) => r.outputs.name ?? r.outputs.poolName).sort(), ["app-v1", "web-v1"]);
    assert.ok(!stack.resources.some((r) => r.type === DRAINER_TYPE && /-v1$/.test(r.outputs.poolName)), "both old drainers are gone from state");

    const oldNodes = [...(await view.nodes("app-v1")), ...(await view.nodes("web-v1"))].map((n) => n.metadata.name);
    await repairNodes(kc, oldNodes);
    await applyDeployment(kc, workloads(["app", "late-app", 6, 5], ["web", "late-web", 6, 5]));
    await waitFor("pods placed on both old pools", async () => (await workloadPodsOnPool(view, "app-v1")).length > 0 && (await workloadPodsOnPool(view, "web-v1")).length > 0);
    const placed = [...(await workloadPodsOnPool(view, "app-v1")), ...(await workloadPodsOnPool(view, "web-v1"))];
    log.length = 0;
    const next = await stack.up(goals("v2"), { providers: providers(sim, log), hooks: guarded ? programHooks(sim, log) : {} });
    return { next, log, placed, report: sim.report(), stack };
  }

  it("interrupted run: the next up deletes both drained-not-deleted pools only after the hook drained what came back", async () => {
    const { next, log, placed, report, stack } = await interruptedRotation(true);
    assert.ok(next.ok, next.errors.join("\n"));
    assert.deepEqual(stack.pendingDeletes(), []);
    assert.ok(!log.some((l) => l.startsWith("drainer drains")), "no drainer left to run");
    assert.ok(placed.length > 0);
    assertGuarded(log, ["app-v1", "web-v1"], report);
  });

  it("control, interrupted run without the hook: the pods that came back are killed", async () => {
    const { next, placed, report } = await interruptedRotation(false);
    assert.ok(next.ok);
    assert.ok(report.workloadPodsDeletedWithoutEviction >= placed.length);
  });

  /**
   * A pool imported under another URN (adopted from before this stack, declared at the top level
   * with the guard bound, no drainer of its own), later removed from the program: a plain Delete
   * step, no drainer on any path.
   */
  async function removedImportedPool(guarded: boolean) {
    sim = await startCluster(workloads(["app", "api", 4, 3]));
    const view = new View(sim.kubeConfig());
    const log: string[] = [];
    const stack = new EmulatedStack();
    const legacy: Goal = {
      urn: makeUrn(STACK, PROJECT_NAME, POOL_TYPE, "legacy-default-pool"),
      type: POOL_TYPE,
      inputs: { name: "legacy", ...CLUSTER, nodeConfig: { labels: { [ROLE]: "app" } } },
      hooks: { beforeDelete: guarded ? [POOL_GUARD_HOOK] : [] },
    };
    const opts = (): RunOptions => ({ providers: providers(sim!, log), hooks: guarded ? programHooks(sim!, log) : {} });
    // The legacy pool exists first and takes the workloads; then the role's pool is added.
    assert.ok((await stack.up([legacy], opts())).ok);
    await waitFor("workloads Ready on the legacy pool", () => view.allReady());
    assert.ok((await stack.up([legacy, ...roleGoals("app", "v1", guarded)], opts())).ok);
    const onLegacy = await workloadPodsOnPool(view, "legacy");
    assert.ok(onLegacy.length > 0);
    log.length = 0;
    const r = await stack.up(roleGoals("app", "v1", guarded), opts());
    return { r, log, onLegacy, report: sim.report() };
  }

  it("a pool imported under another URN, removed from the program: the hook drains it before GKE deletes it", async () => {
    const { r, log, report } = await removedImportedPool(true);
    assert.ok(r.ok, r.errors.join("\n"));
    assert.deepEqual(r.steps.filter((x) => x.op === "delete").map((x) => x.id), [`${CLUSTER_ID}/legacy`]);
    assertGuarded(log, ["legacy"], report);
  });

  it("control, imported pool without the hook: GKE kills its pods", async () => {
    const { r, onLegacy, report } = await removedImportedPool(false);
    assert.ok(r.ok);
    assert.ok(report.workloadPodsDeletedWithoutEviction >= onLegacy.length);
  });
});

/**
 * Workloads without a PodDisruptionBudget (issue 11): the implicit budget (default 25% of the
 * controller's spec.replicas, rounded up, at least 1) and the availability evidence the drain
 * records from its own pod watch. Against the simulator over HTTP with the real client; outcomes
 * are read from the simulator's report (Ready pods per workload over time, measured on the
 * server's side) and the API, and compared with the engine's own evidence.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { DrainError, drainPool, DrainSummary, formatAvailability, planPool, WorkloadAvailability } from "../../components/rotation";
import { main } from "../../components/rotation/cli";
import { deployment, PoolSim, podSpec, startPoolSim, waitFor } from "./sim";
import { rejects } from "../support/drain";

const SIM_READY = "simulator.nodepool-rotation.io/ready";
const MERGE = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

/** The issue's pool: three Deployments without a PDB, 6, 4 and 3 replicas. Implicit floors at 25%: 6-2, 4-1, 3-1. */
const ISSUE_FLOORS: Record<string, number> = { "shop/Deployment/web": 4, "shop/Deployment/api": 3, "shop/Deployment/worker": 2 };
const issueObjects = () => [...deployment("shop", "web", 6), ...deployment("shop", "api", 4), ...deployment("shop", "worker", 3)];

function statefulSet(ns: string, name: string, replicas: number): any {
  return { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace: ns, name },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec() } } };
}

function row(s: { availability: WorkloadAvailability[] }, workload: string): WorkloadAvailability {
  const r = s.availability.find((a) => a.workload === workload);
  assert.ok(r, `availability row for ${workload} in ${JSON.stringify(s.availability)}`);
  return r;
}

async function assertPoolEmpty(ps: PoolSim) {
  const left = (await ps.view.podsOn(ps.oldNodes)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  assert.deepEqual(left, [], "nothing left on the old pool");
  assert.equal(ps.sim.report().podsDeletedWithoutEviction, 0, "pods deleted without eviction");
}

/** Ready, non-terminating pods whose name starts with `prefix-`. */
async function readyPods(ps: PoolSim, prefix: string): Promise<any[]> {
  return (await ps.view.pods()).filter((p) => p.metadata.name.startsWith(`${prefix}-`) && !p.metadata.deletionTimestamp &&
    (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
}

describe("rotation drain: workloads without a PDB (implicit budget, availability evidence)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  afterEach(async () => { await ps?.sim.stop(); ps = undefined; });

  it("the issue's 6-node pool (6, 4, 3 replicas, no PDB): plan warns with replicas and floors; the default 25% drain spends 0 ms at zero and never goes below a floor, and its evidence matches the simulator's", async () => {
    ps = await startPoolSim({ oldNodes: 6, objects: issueObjects(), timing: { podReadyMs: 120 } });
    const plan = await planPool(ps.kc, { pool: "old" });
    assert.deepEqual(plan.implicitBudgets.map((b) => [b.workload, b.replicas, b.floor, b.budget]).sort(),
      [["shop/Deployment/api", 4, 3, "25%"], ["shop/Deployment/web", 6, 4, "25%"], ["shop/Deployment/worker", 3, 2, "25%"]]);
    for (const w of Object.keys(ISSUE_FLOORS)) {
      assert.ok(plan.warnings.some((l) => l.includes(`workload ${w} has no PodDisruptionBudget`) && /add a PodDisruptionBudget/.test(l)), `warning for ${w}: ${plan.warnings.join("\n")}`);
    }

    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    const r = ps.sim.report();
    assert.equal(s.availability.length, 3, JSON.stringify(s.availability));
    for (const [w, floor] of Object.entries(ISSUE_FLOORS)) {
      const a = row(s, w);
      assert.equal(a.floor, floor, w);
      assert.equal(a.floorSource, "implicit 25%");
      assert.equal(a.msAtZero, 0, `${w} at zero (engine)`);
      assert.equal(a.msBelowFloor, 0, `${w} below its implicit floor (engine)`);
      assert.equal(r.workloads[w].msAtZero, 0, `${w} at zero (simulator)`);
      assert.ok(r.workloads[w].minReady >= floor, `${w}: simulator saw ${r.workloads[w].minReady} Ready < floor ${floor}`);
      assert.equal(a.minReady, r.workloads[w].minReady, `${w}: the engine's min Ready agrees with the simulator's`);
      assert.ok(a.minReady < a.replicas, `${w} was actually disrupted (min Ready ${a.minReady})`);
    }
    await assertPoolEmpty(ps);
    assert.match(formatAvailability(s.availability).join("\n"), /availability shop\/Deployment\/web: 6 replica\(s\), floor 4 \(implicit 25%\), min Ready \d, 0 ms below floor, 0 ms at zero/);
  });

  it("defaultBudget none is today's behaviour (what kubectl does): every pod at once, and the outage shows in the engine's evidence as in the simulator's report", async () => {
    // Replacements take 1 s to turn Ready: every pod is evicted well within that even on a loaded
    // machine (at 120 ms a replacement could turn Ready before the last eviction and hide the outage).
    ps = await startPoolSim({ oldNodes: 6, objects: issueObjects(), timing: { podReadyMs: 1000 } });
    const plan = await planPool(ps.kc, { pool: "old", defaultBudget: "none" });
    assert.deepEqual(plan.implicitBudgets, []);
    assert.ok(plan.warnings.some((l) => /defaultBudget is "none": 3 workload\(s\) without a PodDisruptionBudget/.test(l)), plan.warnings.join("\n"));
    const s = await drainPool(ps.kc, { pool: "old", defaultBudget: "none", waitForReady: true });
    const r = ps.sim.report();
    for (const w of Object.keys(ISSUE_FLOORS)) {
      const a = row(s, w);
      assert.equal(a.floorSource, "none");
      assert.equal(a.minReady, 0, `${w} went to zero`);
      assert.ok(a.msAtZero > 0 && r.workloads[w].msAtZero > 0, `${w} outage: engine ${a.msAtZero} ms, simulator ${r.workloads[w].msAtZero} ms`);
      assert.ok(Math.abs(a.msAtZero - r.workloads[w].msAtZero) < 50, `${w}: engine ${a.msAtZero} ms vs simulator ${r.workloads[w].msAtZero} ms at zero`);
    }
    assert.match(formatAvailability(s.availability).join("\n"), /OUTAGE/);
    await assertPoolEmpty(ps);
  });

  it("a Deployment mid-rollout (two ReplicaSets) is one workload: a stuck rollout at its floor blocks the drain, naming the Deployment; once it rolls back the drain completes", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 8), timing: { podReadyMs: 40 } });
    const apps = ps.kc.makeApiClient(k8s.AppsV1Api);
    // A rollout whose new pods never get Ready: the Deployment controller stops at 8 - 25% = 6 Ready old pods.
    await apps.patchNamespacedDeployment({ name: "web", namespace: "shop", body: { spec: { template: { metadata: { annotations: { [SIM_READY]: "false" } } } } } }, MERGE);
    await waitFor("rollout stuck at 6 Ready pods over two ReplicaSets", async () => (await apps.listNamespacedReplicaSet({ namespace: "shop" })).items.length === 2 && (await readyPods(ps!, "web")).length === 6);
    const plan = await planPool(ps.kc, { pool: "old" });
    assert.deepEqual(plan.implicitBudgets.map((b) => [b.workload, b.replicas, b.floor]), [["shop/Deployment/web", 8, 6]]);

    // Per ReplicaSet, the old one (6 replicas) would allow 2 evictions; as one workload at its floor it allows none.
    const e = await rejects(drainPool(ps.kc, { pool: "old", deadlineMs: 1500 }));
    assert.equal(e.reason, "deadline");
    assert.match(e.message, /implicit budget \(25%\) of workload\(s\) without a PDB: shop\/Deployment\/web \(6 Ready, floor 6\)/);
    assert.deepEqual(e.summary.availability.map((a) => [a.workload, a.replicas, a.floor, a.minReady, a.msBelowFloor]), [["shop/Deployment/web", 8, 6, 6, 0]]);
    assert.ok(ps.sim.report().workloads["shop/Deployment/web"].minReady >= 6, "no Ready pod of the stuck Deployment was evicted");
    assert.ok((await ps.view.nodes("old")).every((n) => !n.spec?.unschedulable), "fail closed: uncordoned");

    // Roll back (the old template again): the drain runs during the rollback and finishes it whole.
    await apps.patchNamespacedDeployment({ name: "web", namespace: "shop", body: { spec: { template: { metadata: { annotations: { [SIM_READY]: "true" } } } } } }, MERGE);
    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    assert.deepEqual(s.availability.map((a) => a.workload), ["shop/Deployment/web"]);
    assert.equal(row(s, "shop/Deployment/web").msAtZero, 0);
    await waitFor("8 Ready again", async () => (await readyPods(ps!, "web")).length === 8);
    await assertPoolEmpty(ps);
  });

  it("a StatefulSet without a PDB moves one pod at a time (4 replicas: 25% = 1), never below 3 Ready", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [statefulSet("shop", "db", 4)], timing: { podReadyMs: 40 } });
    // OrderedReady: the StatefulSet creates its pods one after the other; start once all 4 are Ready on the old pool.
    await waitFor("4 db pods Ready on the old pool", async () => (await readyPods(ps!, "db")).filter((p) => ps!.oldNodes.includes(p.spec.nodeName)).length === 4);
    const plan = await planPool(ps.kc, { pool: "old" });
    assert.deepEqual(plan.implicitBudgets.map((b) => [b.workload, b.replicas, b.floor, b.maxUnavailable]), [["shop/StatefulSet/db", 4, 3, 1]]);
    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    const a = row(s, "shop/StatefulSet/db");
    assert.deepEqual([a.floor, a.floorSource, a.minReady, a.msBelowFloor, a.msAtZero], [3, "implicit 25%", 3, 0, 0]);
    assert.equal(ps.sim.report().workloads["shop/StatefulSet/db"].minReady, 3);
    await assertPoolEmpty(ps);
  });

  it("Ready pods anywhere count: a Deployment with half its pods already on the replacement moves 2 of its 3 old pods at once (6 replicas: floor 4)", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 3), timing: { podReadyMs: 80 } });
    const apps = ps.kc.makeApiClient(k8s.AppsV1Api);
    const setOld = (unschedulable: boolean) => Promise.all(ps!.oldNodes.map((name) => ps!.view.core.patchNode({ name, body: { spec: { unschedulable } } }, MERGE)));
    await setOld(true);
    await apps.patchNamespacedDeployment({ name: "web", namespace: "shop", body: { spec: { replicas: 6 } } }, MERGE);
    await waitFor("6 Ready, 3 of them on the new pool", async () => (await readyPods(ps!, "web")).length === 6);
    await setOld(false);
    const plan = await planPool(ps.kc, { pool: "old" });
    assert.deepEqual(plan.implicitBudgets.map((b) => [b.workload, b.replicas, b.floor, b.healthy, b.poolPods]), [["shop/Deployment/web", 6, 4, 6, 3]]);
    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    const a = row(s, "shop/Deployment/web");
    assert.equal(a.minReady, 4, "two pods moved at once (the 3 replacement pods count as healthy)");
    assert.equal(a.msBelowFloor, 0);
    // (the simulator's minReady also covers the scale-up from 3 to 6, so only its time at zero is compared)
    assert.equal(ps.sim.report().workloads["shop/Deployment/web"].msAtZero, 0);
    await assertPoolEmpty(ps);
  });

  it("unready pods at start count as disrupted (like the disruption controller): the unready pod may go (it serves nothing), no Ready pod while at the floor", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4), timing: { podReadyMs: 60 } });
    const victim = (await ps.view.podsOn(ps.oldNodes)).find((p) => p.metadata.name.startsWith("web-"))!;
    // Keep it unready: the simulated kubelet leaves pods annotated ready=false alone.
    await ps.view.core.patchNamespacedPod({ name: victim.metadata.name, namespace: "shop", body: { metadata: { annotations: { [SIM_READY]: "false" } } } }, MERGE);
    await ps.view.core.patchNamespacedPodStatus({ name: victim.metadata.name, namespace: "shop", body: { status: { conditions: [{ type: "Ready", status: "False" }] } } }, MERGE);
    await waitFor("3 of 4 Ready", async () => (await readyPods(ps!, "web")).length === 3);
    const plan = await planPool(ps.kc, { pool: "old" });
    assert.ok(plan.warnings.some((l) => l.includes("shop/Deployment/web") && /lets no Ready pod go right now \(3 Ready\)/.test(l)), plan.warnings.join("\n"));
    const s = await drainPool(ps.kc, { pool: "old", waitForReady: true });
    const a = row(s, "shop/Deployment/web");
    assert.deepEqual([a.floor, a.minReady, a.msBelowFloor], [3, 3, 0]);
    assert.equal(ps.sim.report().workloads["shop/Deployment/web"].minReady, 3, "never fewer than 3 Ready: a Ready pod was only evicted once the unready one was replaced");
    await assertPoolEmpty(ps);
  });

  it("a Deployment whose pods never get Ready (crash-looping) does not hold the rotation: its unready pods are evicted at once", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [...deployment("shop", "sick", 4, undefined, { annotations: { [SIM_READY]: "false" } }), ...deployment("shop", "web", 4)], timing: { podReadyMs: 40 } });
    await waitFor("4 sick pods running, never Ready", async () => (await ps!.view.podsOn(ps!.oldNodes)).filter((p) => p.metadata.name.startsWith("sick-") && p.status?.phase === "Running").length === 4);
    const s = await drainPool(ps.kc, { pool: "old", deadlineMs: 10_000 });
    assert.deepEqual([row(s, "shop/Deployment/sick").floor, row(s, "shop/Deployment/sick").minReady], [3, 0]);
    assert.equal(row(s, "shop/Deployment/web").msBelowFloor, 0);
    await assertPoolEmpty(ps);
  });

  /** web (8 replicas, no PDB) drains under the implicit budget until `bringPdb` puts PDB web-pdb (minAvailable 7) over it. */
  async function pdbTakesOver(extra: any[], bringPdb: (policy: k8s.PolicyV1Api) => Promise<unknown>): Promise<void> {
    ps = await startPoolSim({ oldNodes: 3, objects: [...deployment("shop", "web", 8), ...extra], timing: { podReadyMs: 150 } });
    const policy = ps.kc.makeApiClient(k8s.PolicyV1Api);
    const running = drainPool(ps.kc, { pool: "old", waitForReady: true });
    // The implicit budget's first wave (25% of 8 = 2 pods), then the PDB takes over.
    await waitFor("first evictions", () => ps!.sim.report().evictions >= 2);
    await bringPdb(policy);
    const s = await running;
    const a = row(s, "shop/Deployment/web");
    assert.equal(a.floorSource, "pdb shop/web-pdb");
    assert.equal(a.floor, 7);
    // Armed once the PDB saw all 8 healthy: from then on it allowed one disruption at a time, the implicit budget two.
    assert.equal(ps.sim.report().pdbs["shop/web-pdb"].maxConcurrentDisruptions, 1);
    await assertPoolEmpty(ps);
  }

  it("a PDB created mid-drain takes over from the implicit budget (its floor, one disruption at a time)", () =>
    pdbTakesOver([], (policy) => policy.createNamespacedPodDisruptionBudget({ namespace: "shop", body: { metadata: { name: "web-pdb" }, spec: { minAvailable: 7, selector: { matchLabels: { app: "web" } } } } })));

  it("a PDB whose selector is changed mid-drain to select the workload takes over too (the drain re-matches on a selector change, not on status updates)", () =>
    pdbTakesOver([{ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "web-pdb", namespace: "shop" }, spec: { minAvailable: 7, selector: { matchLabels: { app: "nothing-yet" } } } }], async (policy) => {
      const cur = await policy.readNamespacedPodDisruptionBudget({ namespace: "shop", name: "web-pdb" });
      await policy.replaceNamespacedPodDisruptionBudget({ namespace: "shop", name: "web-pdb", body: { ...cur, spec: { ...cur.spec, selector: { matchLabels: { app: "web" } } } } });
    }));

  it("a crash in the middle of an implicitly budgeted drain, then a re-run: the re-run counts the evicted pods still starting as disrupted and never goes below a floor", async () => {
    ps = await startPoolSim({ oldNodes: 3, objects: [...deployment("shop", "web", 8), ...deployment("shop", "api", 8)], timing: { podReadyMs: 200 } });
    const ctrl = new AbortController();
    // keepCordoned: the first run leaves the cluster as a killed process would.
    const first = drainPool(ps.kc, { pool: "old", signal: ctrl.signal, keepCordoned: true }).catch((e) => e);
    await waitFor("the first wave of evictions", () => ps!.sim.report().evictions >= 2);
    ctrl.abort(new Error("crash"));
    const e = await first;
    assert.ok(e instanceof DrainError && e.reason === "aborted", String(e));
    assert.ok(e.summary.availability.length >= 1, "a failed drain still reports its evidence");
    const logs: string[] = [];
    const s: DrainSummary = await drainPool(ps.kc, { pool: "old", waitForReady: true, log: (l) => logs.push(l) });
    assert.ok(logs.some((l) => /resuming: \d+ node\(s\) already cordoned by this tool/.test(l)), logs.join("\n"));
    const r = ps.sim.report();
    for (const w of ["shop/Deployment/web", "shop/Deployment/api"]) {
      assert.ok(r.workloads[w].minReady >= 6, `${w}: ${r.workloads[w].minReady} Ready < implicit floor 6 across the crash`);
      assert.equal(row(s, w).msBelowFloor, 0);
    }
    await assertPoolEmpty(ps);
  });

  it("CLI: --default-budget 0, 0%, 150%, abc, -1 are refused (exit 2, naming the flag) before any request; plan --json carries the implicit budgets; drain prints the availability lines", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4), timing: { podReadyMs: 30 } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-budget-"));
    try {
      const kcPath = path.join(dir, "kubeconfig");
      ps.sim.writeKubeconfig(kcPath);
      const io = () => { const out = { stdout: "", stderr: "" }; return { out, io: { stdout: (x: string) => { out.stdout += x; }, stderr: (x: string) => { out.stderr += x; } } }; };
      const before = ps.sim.report().totalRequests;
      for (const bad of ["0", "0%", "150%", "abc", "-1"]) {
        for (const cmd of ["drain", "plan"]) {
          const c = io();
          assert.equal(await main([cmd, "--kubeconfig", kcPath, "--pool", "old", "--default-budget", bad], c.io), 2, `${cmd} --default-budget ${bad}: ${c.out.stderr}`);
          assert.match(c.out.stderr, /--default-budget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none"/);
        }
      }
      assert.equal(ps.sim.report().totalRequests, before, "no request reached the cluster");
      assert.ok((await ps.view.nodes("old")).every((n) => !n.spec?.unschedulable));

      let c = io();
      assert.equal(await main(["plan", "--kubeconfig", kcPath, "--pool", "old", "--json", "--default-budget", "2"], c.io), 0, c.out.stderr);
      assert.deepEqual(JSON.parse(c.out.stdout).implicitBudgets.map((b: any) => [b.workload, b.replicas, b.floor, b.budget]), [["shop/Deployment/web", 4, 2, "2"]]);
      c = io();
      assert.equal(await main(["plan", "--kubeconfig", kcPath, "--pool", "old"], c.io), 0, c.out.stderr);
      assert.match(c.out.stdout, /Implicit budgets[^]*shop\/Deployment\/web: 4\/4 Ready, floor 3/);
      assert.match(c.out.stdout, /warning: workload shop\/Deployment\/web has no PodDisruptionBudget/);

      c = io();
      assert.equal(await main(["drain", "--kubeconfig", kcPath, "--pool", "old", "--wait-for-ready"], c.io), 0, c.out.stderr);
      assert.match(c.out.stdout, /availability shop\/Deployment\/web: 4 replica\(s\), floor 3 \(implicit 25%\), min Ready 3, 0 ms below floor, 0 ms at zero/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

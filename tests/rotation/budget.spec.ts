/**
 * The implicit budget's one definition (components/rotation/budget.ts): what the stack config,
 * the PoolDrainer's options and the CLI accept, and how a budget becomes a floor (percentages
 * rounded up like the disruption controller, at least one disruption), and the plan's view of it.
 */
import * as assert from "node:assert/strict";
import { ClusterSnapshot, DEFAULT_BUDGET, implicitBudget, parseDefaultBudget, planSnapshot } from "../../components/rotation";
import { node, pod, pdb } from "./fixtures";

describe("rotation implicit budget (defaultBudget)", () => {
  it("accepts an integer >= 1, \"N%\" with 1 <= N <= 100 and \"none\", normalised", () => {
    assert.equal(DEFAULT_BUDGET, "25%");
    assert.equal(parseDefaultBudget(2), 2);
    assert.equal(parseDefaultBudget("3"), 3);
    assert.equal(parseDefaultBudget(" 25% "), "25%");
    assert.equal(parseDefaultBudget("100%"), "100%");
    assert.equal(parseDefaultBudget("1%"), "1%");
    assert.equal(parseDefaultBudget("none"), "none");
  });

  it("refuses everything else in one line naming the field and the accepted forms", () => {
    for (const bad of [0, -1, 1.5, "0", "0%", "150%", "101%", "abc", "-1", "", "25 %", "2.5%", null, true, {}]) {
      assert.throws(() => parseDefaultBudget(bad, "drain.defaultBudget"),
        (e: Error) => /^drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got .*\)$/.test(e.message) && !e.message.includes("\n"),
        `refuses ${JSON.stringify(bad)}`);
    }
  });

  it("rounds percentages up, allows at least one disruption, and \"none\" means no budget", () => {
    const f = (b: string | number, replicas: number) => { const x = implicitBudget(b, replicas)!; return [x.maxUnavailable, x.floor]; };
    assert.deepEqual(f("25%", 6), [2, 4]);   // 1.5 -> 2
    assert.deepEqual(f("25%", 4), [1, 3]);
    assert.deepEqual(f("25%", 3), [1, 2]);   // 0.75 -> 1
    assert.deepEqual(f("25%", 10), [3, 7]);  // 2.5 -> 3
    assert.deepEqual(f("25%", 1), [1, 0]);   // a single replica can still move
    assert.deepEqual(f("1%", 2), [1, 1]);
    assert.deepEqual(f("100%", 5), [5, 0]);
    assert.deepEqual(f(2, 1), [2, 0]);
    assert.deepEqual(f("25%", 0), [1, 0]);
    assert.equal(implicitBudget("none", 5), undefined);
  });

  it("plan: workloads no PDB selects get implicit budgets from their controller's replicas; PDB-covered and controller-less ones do not", () => {
    const nodes = [node("old-0", "old"), node("new-0", "new")];
    const rs = (name: string, deploy?: string) => ({ metadata: { namespace: "shop", name, ...(deploy ? { ownerReferences: [{ kind: "Deployment", name: deploy, controller: true }] } : {}) }, spec: { replicas: 1 } });
    const pods = [
      pod("shop", "web-1", "old-0", { owner: { kind: "ReplicaSet", name: "web-abc12" }, labels: { app: "web" } }),
      pod("shop", "web-2", "old-0", { owner: { kind: "ReplicaSet", name: "web-def34" }, labels: { app: "web" }, templateHash: "def34" }),
      pod("shop", "web-3", "new-0", { owner: { kind: "ReplicaSet", name: "web-def34" }, labels: { app: "web" }, templateHash: "def34", ready: false }),
      pod("shop", "db-0", "old-0", { owner: { kind: "StatefulSet", name: "db" }, labels: { app: "db" } }),
      pod("shop", "solo-x", "old-0", { owner: { kind: "ReplicaSet", name: "solo" }, labels: { app: "solo" }, templateHash: "" }),
      pod("shop", "api-1", "old-0", { owner: { kind: "ReplicaSet", name: "api-abc12" }, labels: { app: "api" } }),
      pod("shop", "bare", "old-0", { owner: null }),
    ];
    const snap = {
      nodes, pods, pdbs: [pdb("shop", "api-pdb", { app: "api" }, { maxUnavailable: 1 })],
      deployments: [{ metadata: { namespace: "shop", name: "web" }, spec: { replicas: 4 } }, { metadata: { namespace: "shop", name: "api" }, spec: { replicas: 2 } }],
      replicaSets: [rs("web-abc12", "web"), rs("web-def34", "web"), rs("api-abc12", "api"), { ...rs("solo"), spec: { replicas: 2 } }],
      statefulSets: [{ metadata: { namespace: "shop", name: "db" }, spec: { replicas: 3 } }],
    } as unknown as ClusterSnapshot; // controllers reduced to what the plan reads (no selector, no template)
    const plan = planSnapshot(snap, { pool: "old", force: true });
    // The Deployment's two ReplicaSets are one workload: 2 Ready of 4 (web-3 is not Ready), floor 3.
    assert.deepEqual(plan.implicitBudgets.map((b) => [b.workload, b.replicas, b.floor, b.maxUnavailable, b.healthy, b.poolPods]), [
      ["shop/Deployment/web", 4, 3, 1, 2, 2],
      ["shop/ReplicaSet/solo", 2, 1, 1, 1, 1],
      ["shop/StatefulSet/db", 3, 2, 1, 1, 1],
    ]);
    assert.ok(plan.warnings.some((w) => /workload shop\/Deployment\/web has no PodDisruptionBudget: this drain keeps at least 3 of its 4 replica\(s\) Ready .*lets no Ready pod go right now \(2 Ready\).*add a PodDisruptionBudget: the implicit one protects only this drain/.test(w)), plan.warnings.join("\n"));
    assert.ok(!plan.warnings.some((w) => w.includes("shop/Deployment/api has no PodDisruptionBudget")));

    const none = planSnapshot(snap, { pool: "old", force: true, defaultBudget: "none" });
    assert.deepEqual(none.implicitBudgets, []);
    assert.ok(none.warnings.some((w) => w.includes(`defaultBudget is "none": 3 workload(s) without a PodDisruptionBudget have all their pool pods evicted at once: shop/Deployment/web, shop/ReplicaSet/solo, shop/StatefulSet/db`)), none.warnings.join("\n"));
    assert.throws(() => planSnapshot(snap, { pool: "old", defaultBudget: "0%" }), /defaultBudget: must be/);

    // Without controller lists (an offline snapshot), the workload's pods stand in for its replicas.
    const offline = planSnapshot({ nodes, pods, pdbs: snap.pdbs }, { pool: "old", force: true, defaultBudget: 1 });
    assert.deepEqual(offline.implicitBudgets.map((b) => [b.workload, b.replicas, b.floor]), [
      ["shop/Deployment/web", 3, 2], ["shop/ReplicaSet/solo", 1, 0], ["shop/StatefulSet/db", 1, 0],
    ]);
  });
});

/**
 * planSnapshot on in-memory objects: every filter verdict, fit on the replacement, PDB checks,
 * DaemonSet readiness, option validation. The same verdicts are checked over HTTP in drain specs.
 */
import * as assert from "node:assert/strict";
import { decidePod, planSnapshot, PdbIndex } from "../../components/rotation";
import { matchLabelSelector } from "../../components/rotation/selectors";
import { bigCluster, node, pdb, pod } from "./fixtures";

const base = () => ({
  nodes: [node("old-1", "old"), node("old-2", "old"), node("new-1", "new"), node("new-2", "new")],
  pods: [] as any[],
  pdbs: [] as any[],
});

function verdictOf(plan: any, name: string) {
  const p = plan.pods.find((x: any) => x.name === name);
  assert.ok(p, `pod ${name} not in plan`);
  return p;
}

describe("rotation plan (in-memory snapshot)", () => {
  it("gives each kind of pod its verdict and reason", () => {
    const s = base();
    s.pods.push(
      pod("default", "web-1", "old-1"),
      pod("default", "ds-1", "old-1", { owner: { kind: "DaemonSet", name: "fluentbit" } }),
      pod("kube-system", "kube-proxy-old-1", "old-1", { owner: { kind: "Node", name: "old-1" }, annotations: { "kubernetes.io/config.mirror": "abc" } }),
      pod("default", "done-1", "old-1", { owner: { kind: "Job", name: "j" }, phase: "Succeeded" }),
      pod("default", "bare", "old-2", { owner: null }),
      pod("default", "scratch-1", "old-2", { emptyDir: true }),
      pod("default", "job-1", "old-2", { owner: { kind: "Job", name: "nightly" } }),
      pod("default", "job-evict", "old-2", { owner: { kind: "Job", name: "batch" }, annotations: { "nodepool-rotation/drain": "evict" } }),
      pod("default", "skipme", "old-2", { annotations: { "nodepool-rotation/drain": "skip" } }),
      pod("default", "waitme", "old-2", { annotations: { "nodepool-rotation/drain": "wait-completed" } }),
      pod("default", "typo", "old-2", { annotations: { "nodepool-rotation/drain": "evic" } }),
      pod("default", "going", "old-2", { deleting: true }),
      pod("default", "elsewhere", "new-1"),
    );
    const plan = planSnapshot(s, { pool: "old" });
    const v = (n: string) => verdictOf(plan, n).verdict;
    assert.equal(v("web-1"), "evict");
    assert.match(verdictOf(plan, "web-1").reason, /ReplicaSet/);
    assert.equal(v("ds-1"), "stays");
    assert.match(verdictOf(plan, "ds-1").reason, /DaemonSet fluentbit/);
    assert.equal(v("kube-proxy-old-1"), "stays");
    assert.match(verdictOf(plan, "kube-proxy-old-1").reason, /mirror/);
    assert.equal(v("done-1"), "ignored");
    assert.equal(v("bare"), "blocks");
    assert.match(verdictOf(plan, "bare").reason, /no controller.*--force/);
    assert.equal(v("scratch-1"), "blocks");
    assert.match(verdictOf(plan, "scratch-1").reason, /emptyDir.*--delete-emptydir-data/);
    assert.equal(v("job-1"), "wait-completed");
    assert.equal(v("job-evict"), "evict");
    assert.equal(v("skipme"), "stays");
    assert.equal(v("waitme"), "wait-completed");
    assert.equal(v("typo"), "blocks");
    assert.match(verdictOf(plan, "typo").reason, /"evic" is not one of evict, wait-completed, skip/);
    assert.equal(v("going"), "terminating");
    assert.ok(!plan.pods.some((p: any) => p.name === "elsewhere"), "pods off the pool are not in the plan");
    assert.deepEqual(plan.nodes, ["old-1", "old-2"]);
    assert.deepEqual(plan.replacementNodes, ["new-1", "new-2"]);
    assert.equal(plan.replacementSelector, "nodepool-rotation/role=app");
    assert.equal(plan.blockers.length, 3, plan.blockers.join("\n"));
    assert.ok(plan.blockers.some((b) => b.includes("default/bare")));
    assert.equal(plan.counts.evict, 2);
  });

  it("--force and --delete-emptydir-data turn blockers into evictions with warnings (never deletion)", () => {
    const s = base();
    s.pods.push(pod("default", "bare", "old-2", { owner: null, emptyDir: true }));
    const plan = planSnapshot(s, { pool: "old", force: true, deleteEmptyDirData: true });
    assert.equal(verdictOf(plan, "bare").verdict, "evict");
    assert.equal(plan.blockers.length, 0);
    assert.ok(plan.warnings.some((w) => /no controller/.test(w) && w.includes("default/bare")), plan.warnings.join("\n"));
    assert.ok(plan.warnings.some((w) => /emptyDir/.test(w)), "both warnings kept (kubectl keeps only the last)");
    const only = decidePod(pod("d", "x", "n", { owner: null }), { force: true });
    assert.deepEqual([only.verdict, only.warnings?.length], ["evict", 1]);
  });

  it("blocks pods pinned to the old pool, untolerated taints and pods that do not fit", () => {
    const s = base();
    s.nodes[2] = node("new-1", "new", { cpu: "1", memory: "2Gi", taints: [{ key: "dedicated", value: "batch", effect: "NoSchedule" }] });
    s.nodes[3] = node("new-2", "new", { cpu: "1", memory: "2Gi" });
    s.pods.push(
      pod("default", "pinned-1", "old-1", { nodeSelector: { "cloud.google.com/gke-nodepool": "old" } }),
      pod("default", "batchy-1", "old-1", { nodeSelector: { dedicated: "batch" } }),
      pod("default", "big-1", "old-2", { cpu: "800m" }),
      pod("default", "big-2", "old-2", { cpu: "800m" }),
    );
    const plan = planSnapshot(s, { pool: "old" });
    assert.equal(plan.fits, false);
    assert.ok(plan.blockers.some((b) => /pinned to the old pool by nodeSelector cloud.google.com\/gke-nodepool=old/.test(b) && b.includes("pinned-1")), plan.blockers.join("\n"));
    assert.ok(plan.blockers.some((b) => /nodeSelector\/affinity\/tolerations/.test(b) && b.includes("batchy-1")));
    assert.ok(plan.blockers.some((b) => /1 pod\(s\) do not fit/.test(b)), plan.blockers.join("\n"));

    // With a toleration and a matching label, the batch pod fits on the tainted node; big pods fit on two nodes.
    s.nodes[2].metadata.labels.dedicated = "batch";
    s.nodes[3] = node("new-2", "new", { cpu: "2", memory: "2Gi" });
    s.pods.splice(0, 2, pod("default", "batchy-1", "old-1", { nodeSelector: { dedicated: "batch" }, tolerations: [{ key: "dedicated", operator: "Equal", value: "batch", effect: "NoSchedule" }] }));
    const ok = planSnapshot(s, { pool: "old" });
    assert.equal(ok.fits, true, ok.blockers.join("\n"));
    assert.deepEqual(ok.blockers, []);
  });

  it("places one-per-node (hostname anti-affinity) pods on distinct replacement nodes, counting pods already there", () => {
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "zk" } } }] } };
    const s = base(); // two replacement nodes
    for (let i = 0; i < 3; i++) s.pods.push(pod("data", `zk-${i}`, i < 2 ? "old-1" : "old-2", { owner: { kind: "StatefulSet", name: "zk" }, labels: { app: "zk" }, affinity: anti }));
    const plan = planSnapshot(s, { pool: "old" });
    assert.ok(plan.blockers.some((b) => /1 pod\(s\) cannot be placed: their required pod anti-affinity .* needs more Ready replacement nodes than the 2/.test(b)), plan.blockers.join("\n"));
    s.nodes.push(node("new-3", "new"));
    assert.deepEqual(planSnapshot(s, { pool: "old" }).blockers, [], "three nodes for three replicas");
    s.pods.push(pod("data", "zk-other", "new-3", { owner: { kind: "StatefulSet", name: "zk2" }, labels: { app: "zk" } }));
    assert.equal(planSnapshot(s, { pool: "old" }).fits, false, "a matching pod already on new-3 repels");
    s.pods[s.pods.length - 1].metadata.namespace = "elsewhere";
    assert.equal(planSnapshot(s, { pool: "old" }).fits, true, "anti-affinity is per namespace");
  });

  it("counts capacity used by pods already on the replacement, and only Ready schedulable nodes", () => {
    const s = base();
    s.nodes[2] = node("new-1", "new", { cpu: "1", ready: false });
    s.nodes[3] = node("new-2", "new", { cpu: "1" });
    s.pods.push(pod("default", "resident-1", "new-2", { cpu: "600m" }), pod("default", "mover-1", "old-1", { cpu: "500m" }));
    const plan = planSnapshot(s, { pool: "old" });
    assert.deepEqual(plan.replacementNodes, ["new-2"]);
    assert.ok(plan.blockers.some((b) => b.includes("mover-1")), plan.blockers.join("\n"));
    s.nodes[3].spec.unschedulable = true;
    const none = planSnapshot(s, { pool: "old" });
    assert.ok(none.blockers.some((b) => /no Ready, schedulable replacement nodes match "nodepool-rotation\/role=app"/.test(b)), none.blockers.join("\n"));
  });

  it("names PDBs that can never allow a disruption and pods under two PDBs", () => {
    const s = base();
    for (let i = 0; i < 3; i++) s.pods.push(pod("shop", `api-${i}`, i ? "new-1" : "old-1", { labels: { app: "api" } }));
    for (let i = 0; i < 2; i++) s.pods.push(pod("shop", `db-${i}`, i ? "new-1" : "old-2", { labels: { app: "db" } }));
    s.pods.push(pod("shop", "web-0", "old-2", { labels: { app: "web", tier: "front" } }), pod("shop", "web-1", "new-2", { labels: { app: "web", tier: "front" } }));
    s.pdbs.push(
      pdb("shop", "api-pdb", { app: "api" }, { maxUnavailable: 0 }),
      pdb("shop", "db-pdb", { app: "db" }, { minAvailable: 2 }),
      pdb("shop", "web-a", { app: "web" }, { maxUnavailable: 1 }),
      pdb("shop", "web-b", { tier: "front" }, { maxUnavailable: 1 }),
    );
    const plan = planSnapshot(s, { pool: "old" });
    const text = plan.blockers.join("\n");
    assert.match(text, /PodDisruptionBudget shop\/api-pdb can never allow a disruption \(maxUnavailable: 0\)/);
    assert.match(text, /PodDisruptionBudget shop\/db-pdb can never allow a disruption \(minAvailable: 2 >= 2 expected pods\)/);
    assert.match(text, /shop\/web-0 is selected by 2 PodDisruptionBudgets \(shop\/web-a, shop\/web-b\)/);
    const api = plan.pdbs.find((p) => p.name === "shop/api-pdb")!;
    assert.deepEqual([api.pods, api.healthy, api.floor, api.poolPods, api.neverAllows], [3, 3, 3, 1, true]);
    s.pdbs.splice(0, 4, pdb("shop", "api-pdb", { app: "api" }, { minAvailable: "50%" }));
    const ok = planSnapshot(s, { pool: "old" });
    assert.deepEqual(ok.blockers, []);
    const api2 = ok.pdbs.find((p) => p.name === "shop/api-pdb")!;
    assert.deepEqual([api2.floor, api2.allowed], [2, 1]);
  });

  it("warns about single-replica workloads and waits for DaemonSets on the replacement", () => {
    const s = base();
    s.pods.push(
      pod("default", "solo-x1", "old-1", { owner: { kind: "ReplicaSet", name: "solo-abc12" } }),
      pod("default", "agent-a", "old-1", { owner: { kind: "DaemonSet", name: "agent" }, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["old-1"] }] }] } } } }),
      pod("default", "agent-b", "new-1", { owner: { kind: "DaemonSet", name: "agent" } }),
    );
    const plan = planSnapshot(s, { pool: "old" });
    assert.ok(plan.warnings.some((w) => w.includes("default/Deployment/solo has a single replica")), plan.warnings.join("\n"));
    assert.deepEqual(plan.daemonSetsPending, ["default/agent"]);
    assert.ok(plan.warnings.some((w) => /DaemonSet default\/agent is not Ready yet on replacement node\(s\) new-2/.test(w)), plan.warnings.join("\n"));
    s.pods.push(pod("default", "agent-c", "new-2", { owner: { kind: "DaemonSet", name: "agent" } }));
    assert.deepEqual(planSnapshot(s, { pool: "old" }).daemonSetsPending, []);
  });

  it("rejects bad options naming the field, and reports an unknown pool as a blocker", () => {
    assert.throws(() => planSnapshot(base(), { pool: "" }), /^Error: pool: required/);
    assert.throws(() => planSnapshot(base(), { pool: "old", replacementSelector: "a===b" }), /invalid label selector part/);
    const plan = planSnapshot(base(), { pool: "nope" });
    assert.match(plan.blockers[0], /no nodes found with label cloud.google.com\/gke-nodepool=nope/);
    const custom = planSnapshot(base(), { pool: "old", replacementSelector: "kubernetes.io/hostname in (new-2)" });
    assert.deepEqual(custom.replacementNodes, ["new-2"]);
  });

  it("PdbIndex finds the same PDBs as a full scan (empty selectors gate nothing, like the Eviction API)", () => {
    const c = bigCluster({ nodes: 50, pods: 2000, pdbs: 150, namespaces: 7 });
    c.pdbs.push({ metadata: { namespace: "ns-1", name: "all" }, spec: { selector: {} } });
    c.pdbs.push({ metadata: { namespace: "ns-2", name: "expr" }, spec: { selector: { matchExpressions: [{ key: "app", operator: "In", values: ["app-2", "app-9"] }] } } });
    const idx = new PdbIndex(c.pdbs);
    let matchedExpr = 0;
    for (const p of c.pods) {
      const want = c.pdbs.filter((b) => b.metadata.name !== "all" && b.metadata.namespace === p.metadata.namespace && matchLabelSelector(b.spec.selector, p.metadata.labels)).map((b) => b.metadata.name).sort();
      assert.deepEqual(idx.match(p).map((b: any) => b.metadata.name).sort(), want);
      if (p.metadata.namespace === "ns-2" && ["app-2", "app-9"].includes(p.metadata.labels.app)) matchedExpr++;
    }
    assert.ok(matchedExpr > 0, "the matchExpressions PDB is exercised");
  });
});

/**
 * GKE-shaped nodes: the well-known labels on every node (written labels win), regional pools with
 * `nodes` per zone, GKE node names, `kind: NodePool` and the cluster's zones in a scenario —
 * observed through client-node and raw HTTP.
 */
import * as assert from "node:assert/strict";
import { CoreV1Api, V1Node } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { FAST, http, isReady, nodeYaml, scenario, waitFor } from "./helpers";

const ZONE = "topology.kubernetes.io/zone";
const REGION = "topology.kubernetes.io/region";
const POOL = "cloud.google.com/gke-nodepool";
const GKE_NAME = (cluster: string, pool: string) => new RegExp(`^gke-${cluster}-${pool}-([0-9a-f]{8})-[a-z0-9]{4}$`);

const byZone = (nodes: V1Node[]) => {
  const m: Record<string, string[]> = {};
  for (const n of nodes) (m[n.metadata!.labels![ZONE]] ??= []).push(n.metadata!.name!);
  return m;
};

describe("simulator: GKE-shaped nodes and regional pools", function () {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it("scenario nodes get the kubelet's and GKE's labels; labels written in the scenario win", async () => {
    sim = await startSimulator({
      timing: FAST,
      scenario: scenario(
        JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "plain" } }),
        nodeYaml("p-1", { pool: "app" }),
        nodeYaml("p-2", { pool: "app", labels: { [ZONE]: "us-central1-f", "kubernetes.io/arch": "arm64", "node.kubernetes.io/instance-type": "t2a-standard-4" } }),
      ),
    });
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    const labels = async (name: string) => (await core.readNode({ name })).metadata!.labels!;
    const plain = await labels("plain");
    assert.deepEqual([plain["kubernetes.io/hostname"], plain["kubernetes.io/os"], plain["kubernetes.io/arch"]], ["plain", "linux", "amd64"]);
    assert.equal(plain[ZONE], undefined, "a node outside any pool gets no zone");
    const p1 = await labels("p-1");
    assert.deepEqual([p1[ZONE], p1[REGION], p1["node.kubernetes.io/instance-type"], p1[POOL]], ["us-central1-a", "us-central1", "e2-standard-4", "app"]);
    const p2 = await labels("p-2");
    assert.deepEqual([p2[ZONE], p2[REGION], p2["kubernetes.io/arch"], p2["node.kubernetes.io/instance-type"]], ["us-central1-f", "us-central1", "arm64", "t2a-standard-4"]);
  });

  it("addPool with zones: `nodes` per zone, GKE node names (one instance-group hash per zone), zone and region labels", async () => {
    sim = await startSimulator({ timing: FAST, scenario: "" });
    await sim.addPool({ name: "app-v2", nodes: 2, zones: ["us-central1-a", "us-central1-b", "us-central1-c"], labels: { "nodepool-rotation/role": "app" }, machineType: "n2-standard-8" });
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    const nodes = await waitFor("6 Ready nodes", async () => {
      const ns = (await core.listNode({ labelSelector: `${POOL}=app-v2` })).items;
      return ns.length === 6 && ns.every(isReady) ? ns : undefined;
    });
    const zones = byZone(nodes);
    assert.deepEqual(Object.keys(zones).sort(), ["us-central1-a", "us-central1-b", "us-central1-c"]);
    assert.ok(Object.values(zones).every((ns) => ns.length === 2), JSON.stringify(zones));
    const hashes = new Map<string, Set<string>>();
    for (const n of nodes) {
      const m = GKE_NAME("sim", "app-v2").exec(n.metadata!.name!);
      assert.ok(m, `${n.metadata!.name} has GKE's node name shape`);
      const l = n.metadata!.labels!;
      assert.equal(l["kubernetes.io/hostname"], n.metadata!.name);
      assert.deepEqual([l[REGION], l["node.kubernetes.io/instance-type"], l["nodepool-rotation/role"]], ["us-central1", "n2-standard-8", "app"]);
      assert.equal(n.spec!.providerID, `gce://sim/${l[ZONE]}/${n.metadata!.name}`);
      (hashes.get(l[ZONE]) ?? hashes.set(l[ZONE], new Set()).get(l[ZONE])!).add(m[1]);
    }
    assert.ok([...hashes.values()].every((h) => h.size === 1), "one hash per zone");
    assert.equal(new Set([...hashes.values()].map((h) => [...h][0])).size, 3, "each zone its own instance group");
  });

  it("POST /simulator/pools takes zones; bad zones are refused naming the field, nothing created", async () => {
    sim = await startSimulator({ timing: FAST, scenario: "" });
    const ok = await http(sim.url, "POST", "/simulator/pools", { name: "batch", nodes: 1, zones: ["europe-west1-b", "europe-west1-c"] });
    assert.equal(ok.status, 400, "zones outside the cluster's region are refused");
    assert.match(ok.body.message, /pool\.zones .* not in the cluster's region us-central1/);
    const bad = [
      [{ name: "b", nodes: 1, zones: [] }, /pool\.zones must be a non-empty list of GCE zones/],
      [{ name: "b", nodes: 1, zones: ["us-central1"] }, /pool\.zones must be a non-empty list of GCE zones/],
      [{ name: "b", nodes: 1, zones: ["us-central1-a", "us-central1-a"] }, /pool\.zones lists a zone twice/],
      [{ name: "b", nodes: 1, zones: ["us-central1-a", "us-east1-b"] }, /pool\.zones spans regions us-central1, us-east1/],
    ] as const;
    for (const [body, re] of bad) {
      const r = await http(sim.url, "POST", "/simulator/pools", body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.message, re);
    }
    assert.deepEqual((await http(sim.url, "GET", "/simulator/pools")).body.pools, {});
    const add = await http(sim.url, "POST", "/simulator/pools", { name: "batch", nodes: 3, zones: ["us-central1-b", "us-central1-f"] });
    assert.equal(add.status, 201);
    assert.equal(add.body.nodes.length, 6);
    assert.ok(add.body.nodes.every((n: string) => GKE_NAME("sim", "batch").test(n)));
  });

  it("scenario: ConfigMap clusterName/zones make pools regional by default; kind NodePool declares a pool, Ready at load", async () => {
    sim = await startSimulator({
      timing: FAST,
      scenario: scenario(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: simulator, namespace: kube-system}\ndata: {clusterName: prod-eu, zones: 'europe-west4-a, europe-west4-b, europe-west4-c'}",
        "apiVersion: simulator.nodepool-rotation.io/v1\nkind: NodePool\nmetadata: {name: app-old}\nspec: {nodes: 2, labels: {nodepool-rotation/role: app}, cpu: '8'}",
        "apiVersion: simulator.nodepool-rotation.io/v1\nkind: NodePool\nmetadata: {name: edge}\nspec: {nodes: 1, zones: [europe-west4-b]}",
        nodeYaml("hand-1", { pool: "legacy" }), nodeYaml("hand-2", { pool: "legacy" }), nodeYaml("hand-3", { pool: "legacy" }), nodeYaml("hand-4", { pool: "legacy" }),
      ),
    });
    const core = sim.kubeConfig().makeApiClient(CoreV1Api);
    const nodes = (await core.listNode()).items;
    assert.ok(nodes.every(isReady), "scenario pools are Ready when the simulator starts");
    const pool = (p: string) => nodes.filter((n) => n.metadata!.labels![POOL] === p);
    const old = pool("app-old");
    assert.deepEqual(Object.values(byZone(old)).map((z) => z.length), [2, 2, 2], "2 per zone x the cluster's 3 zones");
    assert.ok(old.every((n) => GKE_NAME("prod-eu", "app-old").test(n.metadata!.name!) && n.status!.allocatable!.cpu === "8" && n.metadata!.labels![REGION] === "europe-west4"));
    assert.deepEqual(Object.keys(byZone(pool("edge"))), ["europe-west4-b"]);
    assert.deepEqual(["hand-1", "hand-2", "hand-3", "hand-4"].map((n) => nodes.find((x) => x.metadata!.name === n)!.metadata!.labels![ZONE]),
      ["europe-west4-a", "europe-west4-b", "europe-west4-c", "europe-west4-a"], "hand-written pool nodes without a zone: the cluster's zones round-robin");
    await sim.addPool({ name: "app-new", nodes: 1 });
    assert.equal((await core.listNode({ labelSelector: `${POOL}=app-new` })).items.length, 3, "addPool without zones uses the cluster's zones");
  });

  it("scenario errors name the document, the field and the fix", async () => {
    const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: simulator, namespace: kube-system}\ndata: ${data}`;
    await assert.rejects(startSimulator({ scenario: cm("{zones: 'us-central1-a,europe-west1-b'}") }), /data\.zones .* spans regions/);
    await assert.rejects(startSimulator({ scenario: cm("{clusterName: Prod}") }), /data\.clusterName must match/);
    await assert.rejects(startSimulator({ scenario: "apiVersion: simulator.nodepool-rotation.io/v1\nkind: NodePool\nmetadata: {name: p}\nspec: {nodes: 1, zone: [us-central1-a]}" }),
      /NodePool p: unknown field spec\.zone/);
    await assert.rejects(startSimulator({ scenario: "apiVersion: simulator.nodepool-rotation.io/v1\nkind: NodePool\nmetadata: {name: p}\nspec: {nodes: -1}" }),
      /NodePool p: pool\.nodes must be a non-negative integer/);
  });
});

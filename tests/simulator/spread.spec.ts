/**
 * The scheduler's topology spread and zone anti-affinity on GKE-shaped regional pools, observed
 * through client-node: where pods land and what the Pending ones say.
 */
import * as assert from "node:assert/strict";
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, V1Pod } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { deploymentYaml, FAST, isReady, waitFor } from "./helpers";
import { Obj } from "./util";

const MERGE = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";
const NS = "default";
const ZONES3 = ["us-central1-a", "us-central1-b", "us-central1-c"];

describe("simulator scheduler: topology spread and zone anti-affinity", function () {
  this.timeout(20_000);
  let sim: Simulator;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  beforeEach(async () => {
    sim = await startSimulator({ timing: FAST, scenario: "" });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    apps = sim.kubeConfig().makeApiClient(AppsV1Api);
  });
  afterEach(() => sim.stop());

  const pool = async (name: string, nodes: number, zones: string[], extra: { pods?: number } = {}) => {
    await sim.addPool({ name, nodes, zones, bootMs: 1, ...extra });
    await waitFor(`pool ${name} Ready`, async () => (await core.listNode({ labelSelector: `cloud.google.com/gke-nodepool=${name}` })).items.filter(isReady).length === nodes * zones.length);
  };
  const deploy = (name: string, replicas: number, podSpec: Obj) =>
    apps.createNamespacedDeployment({ namespace: NS, body: JSON.parse(deploymentYaml(name, NS, replicas, { cpu: "10m", podSpec })) });
  const spread = (app: string, key: string, extra: Obj = {}) => ({ maxSkew: 1, topologyKey: key, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app } }, ...extra });
  const pods = async (app: string) => (await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items.filter((p) => !p.metadata!.deletionTimestamp);
  const nodeLabel = new Map<string, Record<string, string>>();
  const perDomain = async (ps: V1Pod[], key: string) => {
    const out: Record<string, number> = {};
    for (const p of ps.filter((x) => x.spec!.nodeName)) {
      const n = p.spec!.nodeName!;
      if (!nodeLabel.has(n)) nodeLabel.set(n, (await core.readNode({ name: n })).metadata!.labels!);
      const v = nodeLabel.get(n)![key];
      out[v] = (out[v] ?? 0) + 1;
    }
    return out;
  };
  /** Waits until `ready` pods run and the rest report PodScheduled=False; returns the Pending pods' messages. */
  const settle = async (app: string, total: number, ready: number) => waitFor(`${app}: ${ready} ready, ${total - ready} unschedulable`, async () => {
    const ps = await pods(app);
    const unsched = ps.filter((p) => !p.spec!.nodeName && p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False"));
    return ps.length === total && ps.filter(isReady).length === ready && unsched.length === total - ready ? unsched.map((p) => p.status!.conditions!.find((c) => c.type === "PodScheduled")!.message!) : undefined;
  });

  it("a Deployment spread over kubernetes.io/hostname (DoNotSchedule) schedules on a regional pool, evenly", async () => {
    await pool("app", 2, ZONES3);
    await deploy("web", 12, { topologySpreadConstraints: [spread("web", HOST)] });
    await settle("web", 12, 12);
    assert.deepEqual(Object.values(await perDomain(await pods("web"), HOST)), [2, 2, 2, 2, 2, 2]);
  });

  it("zone spread with DoNotSchedule keeps maxSkew: a zone that is full holds the others back", async () => {
    await pool("app", 2, ["us-central1-a", "us-central1-b"]);
    await pool("small", 1, ["us-central1-c"], { pods: 1 }); // zone c takes one pod
    await deploy("api", 7, { topologySpreadConstraints: [spread("api", ZONE)] });
    const msgs = await settle("api", 7, 5);
    assert.deepEqual(await perDomain(await pods("api"), ZONE), { "us-central1-a": 2, "us-central1-b": 2, "us-central1-c": 1 });
    assert.match(msgs[0], /^0\/5 nodes are available: .*1 Too many pods, 4 node\(s\) didn't match pod topology spread constraints\./);
  });

  it("minDomains: fewer domains than required makes the global minimum 0 (at most maxSkew per domain)", async () => {
    await pool("app", 3, ["us-central1-a"]);
    await deploy("quorum", 5, { topologySpreadConstraints: [spread("quorum", HOST, { minDomains: 5 })] });
    await settle("quorum", 5, 3);
    assert.deepEqual(Object.values(await perDomain(await pods("quorum"), HOST)), [1, 1, 1]);
    await pool("more", 2, ["us-central1-b"]);
    await settle("quorum", 5, 5);
  });

  it("ScheduleAnyway is a preference: pods go to the emptiest zone, and still schedule when skew cannot be kept", async () => {
    await pool("big", 4, ["us-central1-a"]);
    await pool("b", 1, ["us-central1-b"]);
    await pool("c", 1, ["us-central1-c"]);
    await deploy("pref", 6, { topologySpreadConstraints: [spread("pref", ZONE, { whenUnsatisfiable: "ScheduleAnyway" })] });
    await settle("pref", 6, 6);
    assert.deepEqual(await perDomain(await pods("pref"), ZONE), { "us-central1-a": 2, "us-central1-b": 2, "us-central1-c": 2 }, "round-robin alone would put 4 in zone a");
    await deploy("pinned", 4, { nodeSelector: { [ZONE]: "us-central1-a" }, topologySpreadConstraints: [spread("pinned", ZONE, { whenUnsatisfiable: "ScheduleAnyway" })] });
    await settle("pinned", 4, 4);
  });

  it("required pod anti-affinity on the zone key: one pod per zone, the fourth waits for a fourth zone", async () => {
    await pool("app", 1, ZONES3);
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: ZONE, labelSelector: { matchLabels: { app: "db" } } }] } };
    await deploy("db", 4, { affinity: anti });
    const msgs = await settle("db", 4, 3);
    assert.deepEqual(await perDomain(await pods("db"), ZONE), { "us-central1-a": 1, "us-central1-b": 1, "us-central1-c": 1 });
    assert.match(msgs[0], /3 node\(s\) didn't match pod anti-affinity rules/);
    await pool("extra", 2, ["us-central1-a"]);
    // another node in a full zone does not help: the scheduler retried with 5 nodes and still refuses
    const retried = await waitFor("a retry over 5 nodes", async () => (await settle("db", 4, 3)).find((m) => m.startsWith("0/5 nodes")));
    assert.match(retried, /5 node\(s\) didn't match pod anti-affinity rules/);
    await pool("f", 1, ["us-central1-f"]);
    await settle("db", 4, 4);
  });

  it("cordoned nodes stay domains (nodeTaintsPolicy Ignore, the default): a drained node at 0 caps the others; Honor leaves it out", async () => {
    await pool("old", 2, ["us-central1-a"]);
    for (const [app, extra] of [["ign", {}], ["hon", { nodeTaintsPolicy: "Honor" }]] as const) {
      await deploy(app, 6, { topologySpreadConstraints: [spread(app, HOST, extra)] });
      await settle(app, 6, 6);
    }
    const old = (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=old" })).items.map((n) => n.metadata!.name!);
    await pool("new", 2, ["us-central1-b"]);
    for (const n of old) await core.patchNode({ name: n, body: { spec: { unschedulable: true } } }, MERGE);
    for (const app of ["ign", "hon"]) {
      for (const p of (await pods(app)).filter((x) => x.spec!.nodeName === old[0])) await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: NS });
    }
    // ign: domains old[0]=0 (cordoned), old[1]=3, new=1,1 -> global minimum 0, so 1 pod per new node and one waits
    const msgs = await settle("ign", 6, 5);
    assert.match(msgs[0], /node\(s\) didn't match pod topology spread constraints/);
    await settle("hon", 6, 6);
  });
});

/**
 * PersistentVolumes, claims and the scheduler's VolumeBinding plugin, through client-node over HTTP:
 * a local PV pins its pod to a node, a zonal PD to a zone; a StatefulSet's claim outlives its pod.
 */
import * as assert from "node:assert/strict";
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, V1Pod } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { FAST, isReady, nodeYaml, scenario, waitFor } from "./helpers";

const ZONE = "topology.kubernetes.io/zone";

function pv(name: string, affinity: { key: string; value: string }, claim?: string): string {
  return JSON.stringify({
    apiVersion: "v1", kind: "PersistentVolume",
    metadata: { name },
    spec: {
      capacity: { storage: "10Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", persistentVolumeReclaimPolicy: "Retain",
      ...(claim ? { claimRef: { namespace: "db", name: claim } } : {}),
      local: { path: "/mnt/disks/ssd0" },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: affinity.key, operator: "In", values: [affinity.value] }] }] } },
    },
  });
}

function pvc(name: string, volumeName?: string): string {
  return JSON.stringify({
    apiVersion: "v1", kind: "PersistentVolumeClaim",
    metadata: { name, namespace: "db" },
    spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", resources: { requests: { storage: "10Gi" } }, ...(volumeName ? { volumeName } : {}) },
  });
}

function podUsing(name: string, claim: string): object {
  return { metadata: { name, namespace: "db" }, spec: { containers: [{ name: "c", image: "x" }], volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }] } };
}

const SCENARIO = scenario(
  nodeYaml("old-1", { pool: "old", labels: { [ZONE]: "us-central1-a" } }),
  nodeYaml("new-1", { pool: "new", labels: { [ZONE]: "us-central1-b" } }),
  pv("local-old-1", { key: "kubernetes.io/hostname", value: "old-1" }),
  pvc("cache", "local-old-1"),
  pv("pd-b", { key: ZONE, value: "us-central1-b" }, "disk"),
  pvc("disk"),
);

describe("simulator volumes: PV/PVC binding and the VolumeBinding filter", function () {
  this.timeout(30_000);
  let sim: Simulator;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const pod = (name: string) => core.readNamespacedPod({ name, namespace: "db" });
  const unschedulable = (p: V1Pod) => p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False")?.message;

  beforeEach(async () => {
    sim = await startSimulator({ scenario: SCENARIO, timing: FAST });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    apps = sim.kubeConfig().makeApiClient(AppsV1Api);
  });
  afterEach(() => sim.stop());

  it("binds claims to their volumes (spec.volumeName, or a volume's claimRef)", async () => {
    const cache = await waitFor("cache bound", async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ name: "cache", namespace: "db" });
      return c.status?.phase === "Bound" ? c : undefined;
    });
    assert.deepEqual(cache.status!.capacity, { storage: "10Gi" });
    const vol = await core.readPersistentVolume({ name: "local-old-1" });
    assert.equal(vol.status!.phase, "Bound");
    assert.equal(vol.spec!.claimRef!.uid, cache.metadata!.uid);
    const disk = await waitFor("disk bound through pd-b's claimRef", async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ name: "disk", namespace: "db" });
      return c.status?.phase === "Bound" ? c : undefined;
    });
    assert.equal(disk.spec!.volumeName, "pd-b");
    assert.deepEqual((await core.listPersistentVolume()).items.map((v) => v.metadata!.name).sort(), ["local-old-1", "pd-b"]);
  });

  it("a pod whose claim is bound to a local PV runs only on that node; with the node cordoned it stays Pending: volume node affinity conflict", async () => {
    await core.createNamespacedPod({ namespace: "db", body: podUsing("reader", "cache") });
    await core.createNamespacedPod({ namespace: "db", body: podUsing("reader-2", "cache") });
    for (const name of ["reader", "reader-2"]) {
      const p = await waitFor(`${name} running`, async () => { const x = await pod(name); return isReady(x) ? x : undefined; });
      assert.equal(p.spec!.nodeName, "old-1", "round robin would have used new-1 for one of them");
    }
    await core.patchNode({ name: "old-1", body: { spec: { unschedulable: true } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await core.createNamespacedPod({ namespace: "db", body: podUsing("replacement", "cache") });
    const msg = await waitFor("replacement unschedulable", async () => unschedulable(await pod("replacement")));
    assert.equal(msg, "0/2 nodes are available: 1 node(s) had volume node affinity conflict, 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
    assert.equal((await pod("replacement")).spec!.nodeName, undefined);
  });

  it("a zonal disk pins its pod to nodes of its zone; a missing claim or volume is named", async () => {
    await core.createNamespacedPod({ namespace: "db", body: podUsing("zonal", "disk") });
    await core.createNamespacedPod({ namespace: "db", body: podUsing("zonal-2", "disk") });
    for (const name of ["zonal", "zonal-2"]) assert.equal((await waitFor(`${name} bound`, async () => (await pod(name)).spec!.nodeName)), "new-1");
    await core.createNamespacedPod({ namespace: "db", body: podUsing("orphan", "nope") });
    assert.match(await waitFor("orphan unschedulable", async () => unschedulable(await pod("orphan"))), /^0\/2 nodes are available: persistentvolumeclaim "nope" not found\. preemption/);
    await core.createNamespacedPersistentVolumeClaim({ namespace: "db", body: JSON.parse(pvc("lost", "no-such-pv")) });
    await core.createNamespacedPod({ namespace: "db", body: podUsing("lost-pod", "lost") });
    assert.match(await waitFor("lost-pod unschedulable", async () => unschedulable(await pod("lost-pod"))), /2 node\(s\) unavailable due to one or more pvc\(s\) bound to non-existent pv\(s\)/);
    // the missing claim arrives (with a class: provisioned for the node the pod gets): the pod is placed
    await core.createNamespacedPersistentVolumeClaim({ namespace: "db", body: { metadata: { name: "nope" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "standard-rwo", resources: { requests: { storage: "1Gi" } } } } });
    const placed = await waitFor("orphan placed", async () => (await pod("orphan")).spec!.nodeName);
    const claim = await waitFor("nope bound", async () => { const c = await core.readNamespacedPersistentVolumeClaim({ name: "nope", namespace: "db" }); return c.status?.phase === "Bound" ? c : undefined; });
    assert.equal(claim.metadata!.annotations!["volume.kubernetes.io/selected-node"], placed);
  });

  it("StatefulSet volumeClaimTemplates: a claim per pod, provisioned in the zone of its first node, reused by the recreated pod", async () => {
    await apps.createNamespacedStatefulSet({
      namespace: "db",
      body: {
        metadata: { name: "zk" },
        spec: {
          replicas: 2, serviceName: "zk", podManagementPolicy: "Parallel",
          selector: { matchLabels: { app: "zk" } },
          template: { metadata: { labels: { app: "zk" } }, spec: { containers: [{ name: "zk", image: "zookeeper" }] } },
          volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "standard-rwo", resources: { requests: { storage: "5Gi" } } } }],
        },
      },
    });
    await waitFor("zk ready", async () => (await core.listNamespacedPod({ namespace: "db", labelSelector: "app=zk" })).items.filter(isReady).length === 2);
    const before = new Map<string, { claimUid: string; zone: string }>();
    for (const i of [0, 1]) {
      const p = await pod(`zk-${i}`);
      assert.equal(p.spec!.volumes!.find((v) => v.name === "data")!.persistentVolumeClaim!.claimName, `data-zk-${i}`);
      const claim = await core.readNamespacedPersistentVolumeClaim({ name: `data-zk-${i}`, namespace: "db" });
      assert.equal(claim.status!.phase, "Bound");
      assert.equal(claim.metadata!.labels!.app, "zk");
      assert.equal(claim.metadata!.annotations!["volume.kubernetes.io/selected-node"], p.spec!.nodeName);
      const vol = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
      assert.equal(vol.metadata!.name, `pvc-${claim.metadata!.uid}`);
      const zone = (await core.readNode({ name: p.spec!.nodeName! })).metadata!.labels![ZONE];
      assert.deepEqual(JSON.parse(JSON.stringify(vol.spec!.nodeAffinity!.required!.nodeSelectorTerms[0].matchExpressions)), [{ key: ZONE, operator: "In", values: [zone] }]);
      before.set(`zk-${i}`, { claimUid: claim.metadata!.uid!, zone });
    }
    assert.notEqual(before.get("zk-0")!.zone, before.get("zk-1")!.zone, "round robin spread them over both zones");
    const old = await pod("zk-0");
    await core.deleteNamespacedPod({ name: "zk-0", namespace: "db" });
    const again = await waitFor("zk-0 recreated and ready", async () => {
      const p = await pod("zk-0").catch(() => undefined);
      return p && p.metadata!.uid !== old.metadata!.uid && isReady(p) ? p : undefined;
    });
    assert.equal((await core.readNamespacedPersistentVolumeClaim({ name: "data-zk-0", namespace: "db" })).metadata!.uid, before.get("zk-0")!.claimUid, "same claim");
    assert.equal(again.spec!.nodeName, old.spec!.nodeName, "the only node of its volume's zone");
  });
});

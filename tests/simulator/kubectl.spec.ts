/**
 * The real kubectl (/usr/bin/kubectl; it dispatches on the server's /version, v1.33 here) against
 * the simulator: get, wait, cordon, uncordon and drain behave as kubectl documents.
 * kubectl runs with a temporary KUBECONFIG, HOME and cache dir so nothing leaks into the user's.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { FAST, isReady, KUBECTL, KubectlRun, kubectlIn, nodeYaml, scenario, waitFor } from "./helpers";

const DRAIN_SCENARIO = scenario(
  nodeYaml("old-1", { pool: "old", labels: { "nodepool-rotation/role": "app" } }),
  nodeYaml("new-1", { pool: "new", labels: { "nodepool-rotation/role": "app" }, unschedulable: true }),
  nodeYaml("new-2", { pool: "new", labels: { "nodepool-rotation/role": "app" }, unschedulable: true }),
  // a PDB'd Deployment: 2 replicas, at most 1 down, so kubectl's second eviction is refused (429) until the first is replaced
  `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, resources: {requests: {cpu: 100m}}}]}`,
  `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}`,
  // a pod with an emptyDir (needs --delete-emptydir-data)
  `apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers: [{name: redis, image: redis, volumeMounts: [{name: scratch, mountPath: /data}]}]
      volumes: [{name: scratch, emptyDir: {}}]`,
  // a DaemonSet (left alone with --ignore-daemonsets)
  `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: fluent-bit}]}`,
  // a mirror (static) pod
  `apiVersion: v1
kind: Pod
metadata:
  name: kube-proxy-old-1
  namespace: kube-system
  annotations: {kubernetes.io/config.mirror: "0123456789abcdef", kubernetes.io/config.source: file}
spec: {nodeName: old-1, containers: [{name: kube-proxy, image: kube-proxy}]}`,
  // a controller-less pod (refused without --force)
  `apiVersion: v1
kind: Pod
metadata: {name: lonely, namespace: default}
spec: {nodeName: old-1, containers: [{name: c, image: busybox}]}`,
);

describe("real kubectl against the simulator", function () {
  this.timeout(90_000);
  let sim: Simulator;
  let core: CoreV1Api;
  let dir: string;

  const kubectl = (...args: string[]): Promise<KubectlRun> => kubectlIn(dir)(...args);

  before(async function () {
    if (!fs.existsSync(KUBECTL)) {
      console.log(`      skipped: ${KUBECTL} not found (set KUBECTL to a kubectl binary to run this spec)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-kubectl-"));
    sim = await startSimulator({ scenario: DRAIN_SCENARIO, timing: FAST });
    sim.writeKubeconfig(path.join(dir, "kubeconfig"));
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    // web x2, cache, agent x3 (cordoned nodes included), the mirror pod and the lonely pod
    await waitFor("8 pods ready", async () => (await core.listPodForAllNamespaces()).items.filter(isReady).length === 8);
  });
  after(async () => {
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("get nodes prints the server-side table", async () => {
    const r = await kubectl("get", "nodes");
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.match(lines[0], /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    assert.match(r.stdout, /old-1\s+Ready\s+<none>\s+\S+\s+v1\.33\./);
    assert.match(r.stdout, /new-1\s+Ready,SchedulingDisabled/);
    const pods = await kubectl("get", "pods", "-A", "-o", "wide");
    assert.match(pods.stdout, /kube-system\s+kube-proxy-old-1\s+1\/1\s+Running\s+0\s+\S+\s+\S+\s+old-1/);
  });

  it("wait --for=condition=Ready", async () => {
    const r = await kubectl("wait", "--for=condition=Ready", "node/old-1", "node/new-1", "--timeout=20s");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /node\/old-1 condition met/);
    assert.match(r.stdout, /node\/new-1 condition met/);
  });

  it("uncordon and cordon", async () => {
    const u = await kubectl("uncordon", "new-1", "new-2");
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /node\/new-1 uncordoned/);
    assert.equal((await core.readNode({ name: "new-2" })).spec!.unschedulable ?? false, false);
    const c = await kubectl("cordon", "old-1");
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /node\/old-1 cordoned/);
    assert.equal((await core.readNode({ name: "old-1" })).spec!.unschedulable, true);
    assert.match((await kubectl("get", "node", "old-1")).stdout, /old-1\s+Ready,SchedulingDisabled/);
  });

  it("drain refuses a controller-less pod without --force, naming it, and evicts nothing", async () => {
    const r = await kubectl("drain", "old-1", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot delete Pods that declare no controller \(use --force to override\): default\/lonely/);
    assert.equal(sim.report().evictions, 0);
  });

  it("drain --force evicts through the Eviction API, retries PDB-blocked pods until allowed, leaves DaemonSet and mirror pods", async () => {
    const before = (await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=old-1" })).items;
    const agent = before.find((p) => p.metadata!.labels?.app === "agent")!;
    const r = await kubectl("drain", "old-1", "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=60s");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /node\/old-1 drained/);
    assert.match(r.stderr, /ignoring DaemonSet-managed Pods: kube-system\/agent-/);
    assert.match(r.stderr, /deleting Pods that declare no controller: default\/lonely/);
    assert.match(r.stderr, /error when evicting pods\/"web-[^"]+" -n "shop" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);

    const left = (await core.listPodForAllNamespaces({ fieldSelector: "spec.nodeName=old-1" })).items.filter((p) => !p.metadata!.deletionTimestamp);
    assert.deepEqual(left.map((p) => p.metadata!.name).sort(), [agent.metadata!.name, "kube-proxy-old-1"].sort());

    const rep = sim.report();
    assert.ok(rep.pdbs["shop/web"].evictionsRejected >= 1, "a PDB-blocked eviction was retried");
    assert.equal(rep.pdbs["shop/web"].evictionsAllowed, 2);
    assert.equal(rep.evictions, 4, "web x2, cache, lonely");
    assert.equal(rep.podsDeletedWithoutEviction, 0);
    for (const [k, w] of Object.entries(rep.workloads)) {
      assert.equal(w.msBelowFloor, 0, `${k} below floor`);
      if (w.floor !== null) assert.ok(w.minReady >= w.floor, `${k} minReady ${w.minReady} < floor ${w.floor}`);
    }
    assert.ok(rep.requests["create pods/eviction"] >= 5);
    await waitFor("web back to 2 ready on new nodes", async () => (await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=web" })).items
      .filter((p) => isReady(p) && p.spec!.nodeName!.startsWith("new-")).length === 2);
  });

  it("deleting the drained pool kills only what drain leaves (DaemonSet and mirror pods)", async () => {
    await sim.deletePool("old");
    const rep = sim.report();
    assert.equal(rep.podsDeletedWithoutEviction, 2, "agent + kube-proxy mirror pod");
    assert.equal(rep.workloadPodsDeletedWithoutEviction, 0);
    assert.match((await kubectl("get", "nodes")).stdout, /new-1/);
    assert.doesNotMatch((await kubectl("get", "nodes")).stdout, /old-1/);
  });
});

/**
 * The real kubectl against the simulator's Kubernetes semantics: `apply`/`create` validating through
 * the OpenAPI v3 documents (no --validate=false), PVs, claims and Leases printed, and `drain` through
 * a Terminating namespace (403 NamespaceTerminating: kubectl waits for the namespace controller's
 * deletions), a local-PV pod whose replacement cannot be placed, and a dead kubelet's node
 * (pods stay Terminating: --skip-wait-for-delete-timeout).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { deploymentYaml, FAST, http, isReady, KUBECTL, kubectlIn, KubectlRun, nodeYaml, scenario, waitFor } from "./helpers";

const SCENARIO = scenario(
  nodeYaml("old-1", { pool: "old" }),
  nodeYaml("new-1", { pool: "new" }),
  // 2000 s x 0.001 = 2 s: the namespace controller's graceful deletions take that long
  deploymentYaml("web", "doomed", 2, { podSpec: { nodeSelector: { "cloud.google.com/gke-nodepool": "old" }, terminationGracePeriodSeconds: 2000 } }),
  `apiVersion: v1
kind: PersistentVolume
metadata: {name: local-old-1}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local-storage
  local: {path: /mnt/disks/ssd0}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [old-1]}]}]}}`,
  `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache, namespace: db}
spec: {accessModes: [ReadWriteOnce], storageClassName: local-storage, volumeName: local-old-1, resources: {requests: {storage: 10Gi}}}`,
  deploymentYaml("cache", "db", 1, { podSpec: { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "cache" } }] } }),
  deploymentYaml("api", "shop", 2, { podSpec: { nodeSelector: { "cloud.google.com/gke-nodepool": "new" } } }),
);

const LEASE = `apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: drain-budget, namespace: kube-system}
spec: {holderIdentity: drainer-a, leaseDurationSeconds: 30}
`;

describe("real kubectl against the simulator's Kubernetes semantics", function () {
  this.timeout(90_000);
  let sim: Simulator;
  let core: CoreV1Api;
  let dir: string;
  let kubectl: (...args: string[]) => Promise<KubectlRun>;

  before(async function () {
    if (!fs.existsSync(KUBECTL)) {
      console.log(`      skipped: ${KUBECTL} not found (set KUBECTL to a kubectl binary to run this spec)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-kubectl-sem-"));
    kubectl = kubectlIn(dir);
    sim = await startSimulator({ scenario: SCENARIO, timing: FAST });
    sim.writeKubeconfig(path.join(dir, "kubeconfig"));
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    await waitFor("5 pods ready", async () => (await core.listPodForAllNamespaces()).items.filter(isReady).length === 5);
  });
  after(async () => {
    await sim?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("apply and create validate through /openapi/v3 (fieldValidation=Strict), without --validate=false", async () => {
    fs.writeFileSync(path.join(dir, "lease.yaml"), LEASE);
    const applied = await kubectl("apply", "-f", path.join(dir, "lease.yaml"));
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /lease\.coordination\.k8s\.io\/drain-budget created/);
    const again = await kubectl("apply", "-f", path.join(dir, "lease.yaml"));
    assert.match(again.stdout, /drain-budget unchanged/);
    const created = await kubectl("create", "-f", path.join(dir, "lease.yaml"));
    assert.notEqual(created.code, 0);
    assert.match(created.stderr, /AlreadyExists.*leases\.coordination\.k8s\.io "drain-budget" already exists/);
    fs.writeFileSync(path.join(dir, "lease.yaml"), LEASE.replace("drainer-a", "drainer-b"));
    const configured = await kubectl("apply", "-f", path.join(dir, "lease.yaml"));
    assert.equal(configured.code, 0, configured.stderr);
    assert.match(configured.stdout, /drain-budget configured/);
    assert.match((await kubectl("get", "lease", "-n", "kube-system")).stdout, /drain-budget\s+drainer-b/);
    assert.ok(sim.report().requests["get openapi"] >= 2, "kubectl read the OpenAPI documents");
  });

  it("get pv,pvc prints the bound local volume and its claim", async () => {
    const r = await kubectl("get", "pv,pvc", "-A");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /persistentvolume\/local-old-1\s+10Gi\s+RWO\s+Retain\s+Bound\s+db\/cache\s+local-storage/);
    assert.match(r.stdout, /db\s+persistentvolumeclaim\/cache\s+Bound\s+local-old-1\s+10Gi\s+RWO\s+local-storage/);
  });

  it("drain waits for a Terminating namespace's pods (403 NamespaceTerminating) and leaves the local-PV pod's replacement Pending", async () => {
    const del = await kubectl("delete", "namespace", "doomed", "--wait=false");
    assert.equal(del.code, 0, del.stderr);
    const t0 = Date.now();
    const r = await kubectl("drain", "old-1", "--ignore-daemonsets", "--timeout=60s");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /node\/old-1 drained/);
    assert.ok(Date.now() - t0 >= 1500, "kubectl waited for the namespace controller's graceful deletions");
    assert.match((await kubectl("get", "namespace", "doomed")).stderr, /NotFound/);
    const cache = await waitFor("cache replacement unschedulable", async () => (await core.listNamespacedPod({ namespace: "db" })).items
      .find((p) => p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False")));
    assert.match(cache.status!.conditions!.find((c) => c.type === "PodScheduled")!.message!, /1 node\(s\) had volume node affinity conflict/);
  });

  it("drain of a node whose kubelet is dead: pods stay Terminating; --skip-wait-for-delete-timeout lets kubectl go on", async () => {
    assert.equal((await http(sim.url, "POST", "/simulator/nodes/new-1/kubelet", { dead: true })).status, 200);
    await waitFor("new-1 NotReady", async () => /new-1\s+NotReady/.test((await kubectl("get", "nodes")).stdout));
    const stuck = await kubectl("drain", "new-1", "--ignore-daemonsets", "--timeout=3s");
    assert.notEqual(stuck.code, 0, "waits for deletions no kubelet confirms");
    const r = await kubectl("drain", "new-1", "--ignore-daemonsets", "--timeout=20s", "--skip-wait-for-delete-timeout=1");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /node\/new-1 drained/);
    assert.ok((await core.listNamespacedPod({ namespace: "shop" })).items.filter((p) => p.spec!.nodeName === "new-1").every((p) => p.metadata!.deletionTimestamp));
  });
});

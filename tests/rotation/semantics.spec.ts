/**
 * The Kubernetes rules of issue 19 as pure functions: scenario in, verdict out. Each case is read
 * from the Kubernetes source cited in its module; these specs pin the verdicts. The same cases run
 * through HTTP against the simulator in the drain specs once the rules are wired into the engine.
 */
import * as assert from "node:assert/strict";
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1StatefulSet, V1Status } from "@kubernetes/client-node";
import { classifyEviction, classifyEvictionError } from "../../components/rotation/evictionAnswer";
import { expectedScale, neverAllows, serverDecides } from "../../components/rotation/pdbRules";
import { gracePeriodWarnings, stuckAt, terminatingState } from "../../components/rotation/terminating";
import { localDataOnPool, volumePins } from "../../components/rotation/volumes";
import { cordonTolerant, ReEvictionBound } from "../../components/rotation/cordonToleration";
import { notReadyAgain, readyTarget } from "../../components/rotation/readyTarget";
import { NodeBook } from "../../components/rotation/nodeIdentity";
import { budgetWaitLine, implicitLeft, ProcessBudget, processBudgetFor, Reservation, unreflected } from "../../components/rotation/sharedBudget";
import { Controllers } from "../../components/rotation/workloads";
import { node, pdb, pod } from "./fixtures";

const ZONE = "topology.kubernetes.io/zone";

function pvc(ns: string, name: string, volumeName?: string): V1PersistentVolumeClaim {
  return { metadata: { namespace: ns, name }, spec: { volumeName, accessModes: ["ReadWriteOnce"] }, status: { phase: volumeName ? "Bound" : "Pending" } };
}
function localPv(name: string, hostname: string): V1PersistentVolume {
  return { metadata: { name }, spec: { local: { path: "/mnt/disks/ssd0" }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [hostname] }] }] } } } };
}
function zonalPv(name: string, zone: string): V1PersistentVolume {
  return { metadata: { name }, spec: { csi: { driver: "pd.csi.storage.gke.io", volumeHandle: `projects/p/zones/${zone}/disks/${name}` }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: "In", values: [zone] }] }] } } } };
}
function withClaim(p: V1Pod, claim: string): V1Pod {
  return { ...p, spec: { ...p.spec!, volumes: [{ name: "data", persistentVolumeClaim: { claimName: claim } }] } };
}
const byKey = <T extends { metadata?: { namespace?: string; name?: string } }>(items: T[], ns = true) =>
  new Map(items.map((o) => [ns ? `${o.metadata!.namespace}/${o.metadata!.name}` : o.metadata!.name!, o]));

describe("issue 19 rules (pure)", () => {
  describe("case 1: volumes that pin a pod to the pool (VolumeBinding / VolumeZone)", () => {
    const replacement: V1Node[] = [node("new-1", "new", { labels: { [ZONE]: "europe-west1-b" } }), node("new-2", "new", { labels: { [ZONE]: "europe-west1-c" } })];

    it("blocks a pod on a local PV bound to an old node, naming the claim, the volume and the fix", () => {
      const p = withClaim(pod("db", "kafka-0", "old-1", { owner: { kind: "StatefulSet", name: "kafka" } }), "data-kafka-0");
      const pins = volumePins(p, byKey([pvc("db", "data-kafka-0", "local-pv-1")]), byKey([localPv("local-pv-1", "old-1")], false), replacement);
      assert.equal(pins.length, 1);
      assert.equal(pins[0].kind, "local");
      assert.equal(pins[0].claim, "db/data-kafka-0");
      assert.equal(pins[0].volume, "local-pv-1");
      assert.match(pins[0].message, /claim db\/data-kafka-0 bound to local volume local-pv-1 pinned to node old-1/);
      assert.match(pins[0].message, /delete claim db\/data-kafka-0 and volume local-pv-1/);
    });

    it("blocks a zonal PD in a zone the replacement nodes lack, and passes one in a zone they have", () => {
      const p = withClaim(pod("db", "pg-0", "old-1", { owner: { kind: "StatefulSet", name: "pg" } }), "data-pg-0");
      const claims = byKey([pvc("db", "data-pg-0", "pd-1")]);
      const pins = volumePins(p, claims, byKey([zonalPv("pd-1", "europe-west1-d")], false), replacement);
      assert.equal(pins.length, 1);
      assert.equal(pins[0].kind, "zonal");
      assert.match(pins[0].message, /zonal volume pd-1 pinned to zone europe-west1-d/);
      assert.match(pins[0].message, /add replacement nodes in zone europe-west1-d.*\(europe-west1-b, europe-west1-c\)/);
      assert.deepEqual(volumePins(p, claims, byKey([zonalPv("pd-1", "europe-west1-c")], false), replacement), []);
    });

    it("reads the VolumeZone labels (GA and beta, several zones joined by __) like the scheduler", () => {
      const p = withClaim(pod("db", "pg-0", "old-1"), "c");
      const labelled = (zones: string, key = ZONE): V1PersistentVolume => ({ metadata: { name: "pv", labels: { [key]: zones } }, spec: {} });
      assert.equal(volumePins(p, byKey([pvc("db", "c", "pv")]), byKey([labelled("europe-west1-d")], false), replacement).length, 1);
      assert.deepEqual(volumePins(p, byKey([pvc("db", "c", "pv")]), byKey([labelled("europe-west1-d__europe-west1-b")], false), replacement), []);
      assert.deepEqual(volumePins(p, byKey([pvc("db", "c", "pv")]), byKey([labelled("europe-west1-b", "failure-domain.beta.kubernetes.io/zone")], false), replacement), []);
    });

    it("does not pin unbound claims (WaitForFirstConsumer), missing claims or pods without claims", () => {
      const p = withClaim(pod("db", "pg-0", "old-1"), "c");
      assert.deepEqual(volumePins(p, byKey([pvc("db", "c")]), new Map(), replacement), []);
      assert.deepEqual(volumePins(p, new Map(), new Map(), replacement), []);
      assert.deepEqual(volumePins(pod("db", "x", "old-1"), new Map(), new Map(), replacement), []);
    });

    it("finds local data on the pool still claimed by a pod that already left it (the pool guard's re-check)", () => {
      const pending: V1Pod = { ...withClaim(pod("db", "kafka-0", "", { owner: { kind: "StatefulSet", name: "kafka" }, phase: "Pending" }), "data-kafka-0") };
      delete pending.spec!.nodeName;
      const claims = byKey([pvc("db", "data-kafka-0", "local-pv-1")]);
      const pool = [node("old-1", "old")];
      const found = localDataOnPool([pending], claims, byKey([localPv("local-pv-1", "old-1")], false), pool, replacement);
      assert.equal(found.length, 1);
      assert.match(found[0].message, /claim db\/data-kafka-0 \(used by pod db\/kafka-0, Pending\) is bound to local volume local-pv-1 on pool node old-1: deleting the pool deletes its data/);
      assert.deepEqual(localDataOnPool([pending], claims, byKey([zonalPv("local-pv-1", "europe-west1-d")], false), pool, replacement), [], "a zonal disk outlives the pool");
    });

    it("needs one node for all of a pod's volumes: two volumes each in another replacement zone pin it", () => {
      const p: V1Pod = { ...pod("db", "p", "old-1"), spec: { ...pod("db", "p", "old-1").spec, volumes: [{ name: "a", persistentVolumeClaim: { claimName: "a" } }, { name: "b", persistentVolumeClaim: { claimName: "b" } }] } };
      const pins = volumePins(p, byKey([pvc("db", "a", "pv-b"), pvc("db", "b", "pv-c")]), byKey([zonalPv("pv-b", "europe-west1-b"), zonalPv("pv-c", "europe-west1-c")], false), replacement);
      assert.deepEqual(pins.map((x) => x.claim), ["db/a", "db/b"]);
    });
  });

  describe("case 3: never-allows from the controller's spec.replicas, not status.expectedPods", () => {
    const sts: V1StatefulSet = { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { namespace: "zk", name: "zk" }, spec: { replicas: 3, selector: { matchLabels: { app: "zk" } }, template: {} } };
    const zkPods = ["zk-0", "zk-1"].map((n) => pod("zk", n, "old-1", { owner: { kind: "StatefulSet", name: "zk" }, labels: { app: "zk" } }));
    // the disruption controller's status while zk-2 is being recreated: expectedPods 2 (len(pods))
    const zkPdb: V1PodDisruptionBudget = pdb("zk", "zk-pdb", { app: "zk" }, { minAvailable: 2 }, { expectedPods: 2, currentHealthy: 2, desiredHealthy: 2, disruptionsAllowed: 0, observedGeneration: 1 });

    it("a StatefulSet of 3 under minAvailable 2 is not never-allows while the controller publishes expectedPods 2", () => {
      const scale = expectedScale(zkPdb, zkPods, Controllers.of({ statefulSets: [sts] }));
      assert.equal(scale, 3);
      assert.equal(neverAllows(zkPdb, scale), undefined);
    });

    it("still catches the real ones: minAvailable >= replicas, 100%, maxUnavailable 0", () => {
      const c = Controllers.of({ statefulSets: [{ ...sts, spec: { ...sts.spec!, replicas: 2 } }] });
      assert.match(neverAllows(zkPdb, expectedScale(zkPdb, zkPods, c)) ?? "", /minAvailable: 2 >= 2/);
      assert.match(neverAllows(pdb("zk", "a", { app: "zk" }, { maxUnavailable: 0 }), 3) ?? "", /maxUnavailable: 0/);
      assert.match(neverAllows(pdb("zk", "b", { app: "zk" }, { minAvailable: "100%" }), 3) ?? "", /100%/);
    });

    it("counts pods without a scalable controller one by one (a deleting one does not count)", () => {
      const bare = [pod("zk", "a", "old-1", { owner: null, labels: { app: "zk" } }), pod("zk", "b", "old-1", { owner: null, labels: { app: "zk" }, deleting: true })];
      assert.equal(expectedScale(zkPdb, bare, Controllers.of({})), 1);
    });
  });

  describe("case 4: unready and Pending pods are offered to the API server (eviction.go)", () => {
    const blocked = (extra: object = {}): V1PodDisruptionBudget => ({ ...pdb("web", "web", { app: "web" }, { minAvailable: 2 }, { currentHealthy: 1, desiredHealthy: 2, disruptionsAllowed: 0, expectedPods: 3 }), ...extra });

    it("offers a Pending pod: canIgnorePDB deletes it without a PDB check", () => {
      assert.equal(serverDecides(pod("web", "w-1", "old-1", { phase: "Pending" }), blocked())?.expect, "deleted without a PDB check");
    });
    it("offers an unready pod under AlwaysAllow, and under IfHealthyBudget while healthy >= desired", () => {
      const unready = pod("web", "w-1", "old-1", { ready: false });
      const always = blocked();
      always.spec!.unhealthyPodEvictionPolicy = "AlwaysAllow";
      assert.equal(serverDecides(unready, always)?.expect, "deleted without using the budget");
      const healthy = blocked();
      healthy.status = { ...healthy.status!, currentHealthy: 2, desiredHealthy: 2 };
      assert.equal(serverDecides(unready, healthy)?.expect, "deleted without using the budget");
      assert.equal(serverDecides(unready, blocked())?.expect, "the server decides");
    });
    it("leaves a Ready pod to the PDB's budget", () => {
      assert.equal(serverDecides(pod("web", "w-1", "old-1"), blocked()), undefined);
    });
  });

  describe("cases 5 and 7: eviction answers", () => {
    const status = (code: number, extra: Partial<V1Status>): V1Status => ({ kind: "Status", apiVersion: "v1", status: "Failure", code, ...extra });

    it("409 about the PDB (the body of kubernetes#37605) is a retry, not 'gone'", () => {
      const body = status(409, { reason: "Conflict", message: "Operation cannot be fulfilled on poddisruptionbudgets.policy \"my-db\": the object has been modified; please apply your changes to the latest version and try again", details: { name: "my-db", group: "policy", kind: "poddisruptionbudgets" } });
      assert.deepEqual(classifyEviction(409, body), { kind: "pdb-conflict-retry", message: body.message, pdb: "my-db" });
    });
    it("409 about the pod (UID precondition) and 404 are 'gone'", () => {
      const uid = status(409, { reason: "Conflict", message: "Operation cannot be fulfilled on Pod \"web-1\": the UID in the precondition (a) does not match the UID in record (b). The object might have been deleted and then recreated", details: { name: "web-1", kind: "Pod" } });
      assert.equal(classifyEviction(409, uid).kind, "gone");
      const store = status(409, { reason: "Conflict", message: "Operation cannot be fulfilled on pods \"web-1\": Precondition failed: UID in precondition: a, UID in object meta: b", details: { name: "web-1", kind: "pods" } });
      assert.equal(classifyEviction(409, store).kind, "gone");
      assert.equal(classifyEviction(404, status(404, { reason: "NotFound" })).kind, "gone");
    });
    it("403 with cause NamespaceTerminating waits for the pod's deletion; a plain 403 is an error", () => {
      const ns = status(403, { reason: "Forbidden", message: "pods \"web-1\" is forbidden: unable to create new content in namespace web because it is being terminated", details: { name: "web-1", kind: "pods", causes: [{ reason: "NamespaceTerminating", message: "namespace web is being terminated", field: "metadata.namespace" }] } });
      assert.equal(classifyEviction(403, ns).kind, "namespace-terminating");
      assert.deepEqual(classifyEviction(403, status(403, { reason: "Forbidden", message: "RBAC: denied" })), { kind: "other", code: 403, message: "RBAC: denied" });
    });
    it("429 names the PDB and Retry-After; 500 multiple PDBs; 504 and no answer are transient", () => {
      const tooMany = status(429, { reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.", details: { retryAfterSeconds: 10, causes: [{ reason: "DisruptionBudget", message: "The disruption budget web-pdb needs 2 healthy pods and has 2 currently" }] } });
      const o = classifyEviction(429, tooMany);
      assert.equal(o.kind, "budget-exhausted");
      assert.equal(o.kind === "budget-exhausted" && o.pdb, "web-pdb");
      assert.equal(o.kind === "budget-exhausted" && o.retryAfterMs, 10_000);
      assert.equal(classifyEviction(500, status(500, { message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." })).kind, "multiple-pdbs");
      assert.equal(classifyEviction(504, status(504, { reason: "Timeout", message: "couldn't update PodDisruptionBudget \"web-pdb\" due to conflicts" })).kind, "transient");
      assert.equal(classifyEvictionError(new Error("socket hang up")).kind, "transient");
      assert.equal(classifyEviction(201, undefined).kind, "evicted");
    });
  });

  describe("case 6: terminating and stuck pods", () => {
    const deleting = (at: string, o: { grace?: number; finalizers?: string[] } = {}): V1Pod => {
      const p: V1Pod = pod("web", "w-1", "old-1");
      p.metadata = { ...p.metadata, deletionTimestamp: new Date(at), deletionGracePeriodSeconds: o.grace ?? 30, ...(o.finalizers ? { finalizers: o.finalizers } : {}) };
      return p;
    };
    const t0 = Date.parse("2026-12-06T06:00:00Z");

    it("a pod already terminating at the start takes no slot and does not hold the drain", () => {
      const s = terminatingState(deleting("2026-12-06T06:00:00Z"), { terminatingAtStart: true, now: t0 });
      assert.deepEqual([s?.takesSlot, s?.holdsDrain], [false, false]);
      assert.match(s?.note ?? "", /already terminating when the drain started/);
    });
    it("a pod the drain evicted holds a slot until grace + margin, then is stuck and named with why", () => {
      const p = deleting("2026-12-06T06:00:00Z", { finalizers: ["example.com/backup"] });
      assert.equal(stuckAt(p, 60_000), t0 + 30_000 + 60_000);
      const before = terminatingState(p, { terminatingAtStart: false, now: t0 + 89_000, marginMs: 60_000 });
      assert.deepEqual([before?.takesSlot, before?.holdsDrain], [true, true]);
      const after = terminatingState(p, { terminatingAtStart: false, now: t0 + 91_000, marginMs: 60_000 });
      assert.deepEqual([after?.takesSlot, after?.holdsDrain], [false, false]);
      assert.match(after?.note ?? "", /stuck terminating .*held by finalizer\(s\) example\.com\/backup/);
      const notReady = node("old-1", "old", { ready: false });
      assert.match(terminatingState(deleting("2026-12-06T06:00:00Z"), { terminatingAtStart: false, now: t0 + 200_000, node: notReady })?.note ?? "", /node old-1 is NotReady/);
    });
    it("plan warns when a grace period exceeds the deadline", () => {
      const long = pod("db", "slow-0", "old-1");
      long.spec.terminationGracePeriodSeconds = 7200;
      assert.deepEqual(gracePeriodWarnings([pod("web", "w", "old-1"), long], 3_600_000).length, 1);
      assert.match(gracePeriodWarnings([long], 3_600_000)[0], /deadline of 3600s: db\/slow-0 \(7200s\)/);
      assert.deepEqual(gracePeriodWarnings([long], 7_300_000), []);
    });
  });

  describe("case 8: waitForReady target", () => {
    it("is min(before, current spec.replicas); a deleted workload drops out", () => {
      assert.equal(readyTarget(4, { state: "scaled", replicas: 2 }), 2);
      assert.equal(readyTarget(4, { state: "scaled", replicas: 6 }), 4);
      assert.equal(readyTarget(4, { state: "deleted" }), undefined);
      assert.equal(readyTarget(4, { state: "unknown" }), 4);
      const left = notReadyAgain(["web/Deployment/a", "web/Deployment/b", "web/Deployment/gone"], new Map([["web/Deployment/a", 4], ["web/Deployment/b", 3], ["web/Deployment/gone", 2]]),
        (w) => w.endsWith("gone") ? { state: "deleted" } : w.endsWith("/a") ? { state: "scaled", replicas: 2 } : { state: "scaled", replicas: 3 },
        (w) => (w.endsWith("/a") ? 2 : w.endsWith("/b") ? 1 : 0));
      assert.deepEqual(left.map((r) => [r.workload, r.ready, r.target]), [["web/Deployment/b", 1, 3]]);
    });
  });

  describe("case 9: pods tolerating node.kubernetes.io/unschedulable", () => {
    it("warns per workload, naming the toleration and the fix, for Exists and key-only tolerations", () => {
      const pods = [
        { pod: pod("web", "a-1", "old-1", { tolerations: [{ operator: "Exists" }] }), workload: "web/Deployment/a" },
        { pod: pod("web", "a-2", "old-2", { tolerations: [{ operator: "Exists" }] }), workload: "web/Deployment/a" },
        { pod: pod("web", "b-1", "old-1", { tolerations: [{ key: "node.kubernetes.io/unschedulable" }] }), workload: "web/Deployment/b" },
        { pod: pod("web", "c-1", "old-1", { tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }] }), workload: "web/Deployment/c" },
        { pod: pod("web", "d-1", "old-1", { tolerations: [{ key: "dedicated", operator: "Exists" }] }), workload: "web/Deployment/d" },
      ];
      const w = cordonTolerant(pods, "app");
      assert.deepEqual(w.map((x) => [x.workload, x.pods.length]), [["web/Deployment/a", 2], ["web/Deployment/b", 1]]);
      assert.match(w[0].warning, /workload web\/Deployment\/a tolerates the cordon \(toleration \{operator: Exists\}/);
      assert.match(w[0].warning, /remove that toleration, or add a required node affinity to nodepool-rotation\/role=app/);
    });
    it("bounds re-evictions of one workload", () => {
      const b = new ReEvictionBound();
      b.start("web/Deployment/a", 3);
      for (let i = 0; i < 6; i++) assert.equal(b.admit("web/Deployment/a"), undefined, `eviction ${i + 1}`);
      assert.match(b.admit("web/Deployment/a") ?? "", /evicted 6 times for 3 pod\(s\).*keep coming back/);
      b.refund("web/Deployment/a");
      assert.equal(b.admit("web/Deployment/a"), undefined);
    });
  });

  describe("case 10: nodes tracked by UID", () => {
    it("tells a re-created node (same name, new UID) from a known and a joining one", () => {
      const n1 = node("old-1", "old");
      const book = new NodeBook([n1]);
      assert.deepEqual(book.see(n1), { kind: "known" });
      assert.deepEqual(book.see({ ...n1, metadata: { ...n1.metadata, uid: "uid-new" } }), { kind: "recreated", previousUid: "uid-node-old-1" });
      assert.deepEqual(book.see(node("old-9", "old")), { kind: "joined" });
      assert.equal(book.uid("old-1"), "uid-new");
    });
  });

  describe("case 2: implicit budget shared by the drains of one process", () => {
    const r = (pod: string, holder: string, pool: string): Reservation => ({ pod: `web/${pod}`, uid: `uid-${pod}`, workload: "web/Deployment/web", holder, pool });
    /** The engine's admit: one disruption per workload while Ready - floor - unreflected others > 0 (2 replicas, floor 1, both Ready). */
    const admit = (ready: Set<string>) => (wanted: readonly Reservation[], others: (w: string) => Reservation[]) => {
      const out: Reservation[] = [];
      for (const x of wanted) {
        const left = implicitLeft({ ready: 2, floor: 1, ownUnreflected: out.length, othersUnreflected: unreflected(others(x.workload), (p) => ready.has(p)).length });
        if (left >= 1) out.push(x);
      }
      return out;
    };

    it("a second drain sees the first one's reservation and waits, with a line naming the other drain", () => {
      const b = new ProcessBudget();
      const ready = new Set(["web/web-a", "web/web-b"]);
      assert.equal(b.reserve("pool-a", [r("web-a", "pool-a", "pool-a")], admit(ready)).length, 1);
      assert.equal(b.reserve("pool-b", [r("web-b", "pool-b", "pool-b")], admit(ready)).length, 0, "the second drain must not take the last Ready pod");
      assert.match(budgetWaitLine("web/Deployment/web", b.others("pool-b", "web/Deployment/web"), { ready: 2, floor: 1 }), /1 disruption\(s\) in progress by another drain \(1 by the drain of pool pool-a/);
      // once the first eviction shows in the second drain's watch (web-a no longer Ready), the reservation is not counted twice
      ready.delete("web/web-a");
      assert.equal(implicitLeft({ ready: 1, floor: 1, ownUnreflected: 0, othersUnreflected: unreflected(b.others("pool-b", "web/Deployment/web"), (p) => ready.has(p)).length }), 0);
      // ... and the wait line then names no holder, but still says why (never an empty "()")
      const shown = budgetWaitLine("web/Deployment/web", unreflected(b.others("pool-b", "web/Deployment/web"), (p) => ready.has(p)), { ready: 1, floor: 1 });
      assert.doesNotMatch(shown, /\(\)/);
      assert.match(shown, /another drain's disruptions of it \(in the budget Lease\) leave none for this drain/);
      b.releaseAll("pool-a");
      assert.deepEqual(b.others("pool-b", "web/Deployment/web"), []);
    });

    it("the registry is per cluster and shared by every copy of the module (globalThis)", () => {
      assert.equal(processBudgetFor("https://a.example"), processBudgetFor("https://a.example"));
      assert.notEqual(processBudgetFor("https://a.example"), processBudgetFor("https://b.example"));
    });
  });
});

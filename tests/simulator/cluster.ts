/**
 * The control plane behind the API: Deployment, ReplicaSet, StatefulSet, DaemonSet and Job
 * controllers, a scheduler, a kubelet stand-in, the disruption (PDB status) controller, garbage
 * collection and pod GC, plus the GKE stand-in (node pools).
 *
 * Controllers are event driven: every store event enqueues the keys it affects; queues are drained
 * on the next turn of the event loop, so a burst of events costs one reconcile per object.
 * Indexes (namespace, node, owner uid, PDB membership) keep each reconcile proportional to the
 * objects it owns, not to the cluster.
 */
import { performance } from "node:perf_hooks";
import { Recorder } from "./report";
import { RESOURCES } from "./resources";
import { Store, StoreEvent } from "./store";
import {
  clone, controllerRef, isNodeReady, isPodReady, isTerminal, matchesLabelSelector, nodeMatchesPod, nowIso, Obj, objKey,
  parseQuantity, pinnedNodeName, podRequests, randSuffix, scaledValue, setCondition, shortHash, Timers, tolerates, toleratesNode,
} from "./util";

/** Timing knobs (milliseconds, and a factor applied to terminationGracePeriodSeconds). */
export interface Timing {
  podStartMs: number;
  podReadyMs: number;
  terminationGraceScale: number;
  nodeBootMs: number;
}

export const DEFAULT_TIMING: Timing = { podStartMs: 20, podReadyMs: 30, terminationGraceScale: 0.001, nodeBootMs: 100 };

/** Server version served on /version and reported by nodes' kubelets. */
export const KUBE_VERSION = "v1.33.5";

/** Annotations understood by the simulator's kubelet. */
export const ANN = {
  /** "false": the pod runs but never becomes Ready (an unhealthy pod). */
  ready: "simulator.nodepool-rotation.io/ready",
  /** milliseconds: the pod's containers exit 0 this long after start (Job pods). */
  runMs: "simulator.nodepool-rotation.io/run-ms",
  /** "true" on a PDB: the disruption controller stops updating its status (stale status tests). */
  freezeStatus: "simulator.nodepool-rotation.io/freeze-status",
  /** milliseconds until a node created through the API or a pool reports Ready. */
  bootMs: "simulator.nodepool-rotation.io/boot-ms",
  mirror: "kubernetes.io/config.mirror",
};

/** A node pool as POST /simulator/pools takes it (GKE stand-in). */
export interface PoolSpec {
  name: string;
  nodes: number;
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  pods?: number;
  bootMs?: number;
  taints?: any[];
}

export type DeleteCause = "api" | "eviction" | "controller" | "pool" | "gc";

const POOL_LABEL = "cloud.google.com/gke-nodepool";

/** DaemonSet pods get these tolerations added by the controller (pkg/controller/daemon/util). */
const DAEMON_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

type Queue = "deployments" | "replicasets" | "statefulsets" | "daemonsets" | "jobs" | "pdbs" | "schedule" | "kubelet" | "nodes";

interface NodeUsage { cpu: number; memory: number; pods: number }

export class Cluster {
  readonly store: Store;
  readonly recorder: Recorder;
  readonly timers = new Timers();
  timing: Timing;
  private queues = new Map<Queue, Set<string>>();
  private flushScheduled = false;
  // scheduler
  private usage = new Map<string, NodeUsage>();
  private podUsage = new Map<string, { node: string; cpu: number; memory: number }>();
  private unschedulable = new Set<string>();
  private antiAffinityPods = new Set<string>();
  private nodeOrder: string[] = [];
  private nodeCursor = 0;
  // kubelet
  private podTimers = new Map<string, { uid: string; phase: string; h?: NodeJS.Timeout; deadline?: number }>();
  // disruption controller
  private pdbPods = new Map<string, Set<string>>();
  private podPdbs = new Map<string, Set<string>>();
  // job controller: uids of pods counted as succeeded/failed
  private jobDone = new Map<string, { succeeded: Set<string>; failed: Set<string> }>();

  constructor(timing: Partial<Timing> = {}, watchCacheSize?: number) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.store = new Store(RESOURCES, watchCacheSize);
    this.recorder = new Recorder(this.store);
    this.store.onEvent((e) => this.route(e));
  }

  stop(): void {
    this.timers.clearAll();
  }

  // ------------------------------------------------------------------ event routing

  private enqueue(q: Queue, key: string): void {
    let s = this.queues.get(q);
    if (!s) this.queues.set(q, (s = new Set()));
    s.add(key);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.timers.soon(() => this.flush());
    }
  }

  /** Runs all queued reconciles (several passes, as reconciles enqueue more work), then yields. */
  flush(): void {
    this.flushScheduled = false;
    const order: Queue[] = ["nodes", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "schedule", "kubelet", "pdbs"];
    for (let pass = 0; pass < 10; pass++) {
      let did = false;
      for (const q of order) {
        const s = this.queues.get(q);
        if (!s || s.size === 0) continue;
        this.queues.set(q, new Set());
        did = true;
        if (q === "schedule") this.schedule(s);
        else for (const key of s) {
          try {
            this.reconcile(q, key);
          } catch (e) {
            // a controller error must not stop the others; real controllers requeue with backoff
            if (process.env.SIM_DEBUG) console.error(`simulator: ${q} ${key}: ${(e as Error).message}`);
          }
        }
      }
      if (!did) return;
    }
    if ([...this.queues.values()].some((s) => s.size > 0) && !this.flushScheduled) {
      this.flushScheduled = true;
      this.timers.soon(() => this.flush());
    }
  }

  private reconcile(q: Queue, key: string): void {
    switch (q) {
      case "deployments": return this.syncDeployment(key);
      case "replicasets": return this.syncReplicaSet(key);
      case "statefulsets": return this.syncStatefulSet(key);
      case "daemonsets": return this.syncDaemonSet(key);
      case "jobs": return this.syncJob(key);
      case "pdbs": return this.syncPdb(key);
      case "kubelet": return this.kubeletSyncPod(key);
      case "nodes": return this.kubeletSyncNode(key);
    }
  }

  private route(e: StoreEvent): void {
    const o = e.object;
    const key = objKey(o);
    const ns = o.metadata.namespace;
    switch (e.plural) {
      case "pods": {
        const pod = e.type === "DELETED" ? undefined : o;
        const ref = controllerRef(o);
        if (ref) {
          const q = ({ ReplicaSet: "replicasets", StatefulSet: "statefulsets", DaemonSet: "daemonsets", Job: "jobs" } as Record<string, Queue>)[ref.kind];
          if (q) this.enqueue(q, `${ns}/${ref.name}`);
        }
        this.accountPod(key, pod);
        if (pod?.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) this.antiAffinityPods.add(key);
        else this.antiAffinityPods.delete(key);
        if (pod && !pod.spec?.nodeName && !pod.metadata.deletionTimestamp) this.enqueue("schedule", key);
        if (!pod) this.unschedulable.delete(key);
        this.enqueue("kubelet", key);
        this.updatePdbMembership(key, pod);
        this.recorder.onPod(key, pod);
        if (e.type === "DELETED") this.collectDependents(o);
        break;
      }
      case "replicasets": {
        this.enqueue("replicasets", key);
        const ref = controllerRef(o);
        if (ref?.kind === "Deployment") this.enqueue("deployments", `${ns}/${ref.name}`);
        this.recorder.onWorkloadObject(e.plural, o, e.type === "DELETED");
        if (e.type === "DELETED") this.collectDependents(o);
        break;
      }
      case "deployments":
      case "statefulsets":
      case "daemonsets":
      case "jobs":
        this.enqueue(e.plural as Queue, key);
        this.recorder.onWorkloadObject(e.plural, o, e.type === "DELETED");
        if (e.type === "DELETED") this.collectDependents(o);
        if (e.plural === "deployments" || e.plural === "statefulsets") this.enqueuePdbsIn(ns);
        break;
      case "poddisruptionbudgets":
        if (e.type !== "MODIFIED" || JSON.stringify(e.old?.spec?.selector) !== JSON.stringify(o.spec?.selector)) {
          this.rebuildPdbMembership(key, e.type === "DELETED" ? undefined : o);
        }
        this.enqueue("pdbs", key);
        this.recorder.onPdb(ns);
        break;
      case "nodes": {
        this.enqueue("nodes", key);
        if (e.type === "ADDED") this.nodeOrder.push(key);
        if (e.type === "DELETED") {
          this.nodeOrder = this.nodeOrder.filter((n) => n !== key);
          this.usage.delete(key);
          // pod GC: pods bound to a node that no longer exists are deleted at once
          for (const p of this.store.podsOnNode(key)) this.deletePod(objKey(p), 0, "gc");
        } else {
          for (const p of this.store.podsOnNode(key)) this.enqueue("kubelet", objKey(p));
        }
        this.retryUnschedulable();
        for (const ds of this.store.list("daemonsets")) this.enqueue("daemonsets", objKey(ds));
        break;
      }
      case "namespaces":
        break;
    }
  }

  private enqueuePdbsIn(ns: string): void {
    for (const p of this.store.list("poddisruptionbudgets", ns)) this.enqueue("pdbs", objKey(p));
  }

  // ------------------------------------------------------------------ deletion & GC

  /**
   * Deletes a pod the way kube-apiserver does: graceful (deletionTimestamp, the kubelet removes it
   * after the grace period) unless the grace period is 0, the pod is unbound, or it is terminal.
   * `cause` feeds the report: "api" and "pool" count as deletions without eviction.
   */
  deletePod(key: string, graceSeconds: number | undefined, cause: DeleteCause): Obj | undefined {
    const pod = this.store.peek("pods", key);
    if (!pod) return undefined;
    if ((cause === "api" || cause === "pool" || cause === "gc") && !pod.metadata.deletionTimestamp) {
      this.recorder.podsDeletedWithoutEviction++;
      // DaemonSet and mirror pods go with their node (kubectl drain leaves them); finished pods serve nothing
      const leftByDrain = controllerRef(pod)?.kind === "DaemonSet" || !!pod.metadata.annotations?.[ANN.mirror] || isTerminal(pod);
      if (!leftByDrain) this.recorder.workloadPodsDeletedWithoutEviction++;
    }
    let grace = graceSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    if (!pod.spec?.nodeName || isTerminal(pod)) grace = 0; // pod strategy CheckGracefulDelete
    if (grace <= 0) return this.store.remove("pods", key);
    return this.store.markDeleting("pods", key, grace);
  }

  /** Deletes any object; pods go through deletePod, other kinds are removed (GC handles dependents). */
  deleteObject(plural: string, key: string, graceSeconds: number | undefined, cause: DeleteCause, orphan = false): Obj | undefined {
    if (plural === "pods") return this.deletePod(key, graceSeconds, cause);
    const o = this.store.peek(plural, key);
    if (!o) return undefined;
    if (orphan) {
      for (const d of this.store.dependents(o.metadata.uid)) {
        this.store.mutate(d.plural, objKey(d.obj), (x) => {
          x.metadata.ownerReferences = (x.metadata.ownerReferences ?? []).filter((r: Obj) => r.uid !== o.metadata.uid);
          if (x.metadata.ownerReferences.length === 0) delete x.metadata.ownerReferences;
        });
      }
    }
    if (plural === "namespaces") {
      for (const r of RESOURCES.filter((x) => x.namespaced)) {
        for (const child of this.store.list(r.plural, o.metadata.name)) this.deleteObject(r.plural, objKey(child), 0, "gc");
      }
    }
    return this.store.remove(plural, key);
  }

  /** Background cascading deletion (garbage collector). */
  private collectDependents(owner: Obj): void {
    for (const d of this.store.dependents(owner.metadata.uid)) {
      // only if every owner is gone (the GC keeps objects with a remaining owner)
      const remaining = (d.obj.metadata.ownerReferences ?? []).filter((r: Obj) => r.uid !== owner.metadata.uid);
      if (remaining.length > 0) continue;
      this.deleteObject(d.plural, objKey(d.obj), undefined, "controller");
    }
  }

  // ------------------------------------------------------------------ GKE stand-in

  /** Adds a pool's nodes (labelled cloud.google.com/gke-nodepool=<name>); they report Ready after bootMs. */
  addPool(spec: PoolSpec): string[] {
    if (!spec || typeof spec.name !== "string" || !/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(spec.name)) {
      throw new Error(`pool.name must match ^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$ (got ${JSON.stringify(spec?.name)})`);
    }
    if (!Number.isInteger(spec.nodes) || spec.nodes < 0) throw new Error(`pool.nodes must be a non-negative integer (got ${JSON.stringify(spec.nodes)})`);
    if (this.store.list("nodes").some((n) => n.metadata.labels?.[POOL_LABEL] === spec.name)) {
      throw new Error(`pool ${spec.name} already exists`);
    }
    const hash = shortHash(spec.name + Date.now()).slice(0, 8);
    const names: string[] = [];
    for (let i = 0; i < spec.nodes; i++) {
      const name = `gke-sim-${spec.name}-${hash}-${randSuffix(4)}`;
      names.push(name);
      this.store.create("nodes", {
        metadata: {
          name,
          labels: {
            [POOL_LABEL]: spec.name, "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "e2-standard-4", ...(spec.labels ?? {}),
          },
          annotations: { [ANN.bootMs]: String(spec.bootMs ?? this.timing.nodeBootMs) },
        },
        spec: { taints: (spec.taints ?? []).map(normalizeTaint), providerID: `gce://sim/zone-a/${name}` },
        status: {
          capacity: { cpu: spec.cpu ?? "4", memory: spec.memory ?? "16Gi", pods: String(spec.pods ?? 110) },
          allocatable: { cpu: spec.cpu ?? "4", memory: spec.memory ?? "16Gi", pods: String(spec.pods ?? 110) },
        },
      });
    }
    return names;
  }

  /** Deletes a pool's nodes and kills their pods at once, without eviction or PDBs (what GKE does). */
  deletePool(name: string): string[] {
    const nodes = this.store.list("nodes").filter((n) => n.metadata.labels?.[POOL_LABEL] === name);
    if (nodes.length === 0) throw new Error(`pool ${name} not found`);
    for (const n of nodes) {
      for (const p of this.store.podsOnNode(n.metadata.name)) this.deletePod(objKey(p), 0, "pool");
      this.store.remove("nodes", n.metadata.name);
    }
    return nodes.map((n) => n.metadata.name);
  }

  // ------------------------------------------------------------------ kubelet stand-in

  private kubeletSyncNode(name: string): void {
    const node = this.store.peek("nodes", name);
    if (!node) return;
    const hasReady = (node.status?.conditions ?? []).some((c: Obj) => c.type === "Ready");
    if (hasReady || this.podTimers.has(`node:${name}`)) return;
    const boot = Number(node.metadata.annotations?.[ANN.bootMs] ?? this.timing.nodeBootMs);
    const uid = node.metadata.uid;
    const h = this.timers.after(boot, () => {
      this.podTimers.delete(`node:${name}`);
      this.store.mutate("nodes", name, (n) => {
        if (n.metadata.uid !== uid) return false;
        fillNodeStatus(n);
      });
    });
    this.podTimers.set(`node:${name}`, { uid, phase: "boot", h });
  }

  /** Moves a pod through Pending -> Running -> Ready, and removes it when its grace period ends. */
  private kubeletSyncPod(key: string): void {
    const pod = this.store.peek("pods", key);
    const t = this.podTimers.get(key);
    if (!pod) {
      if (t) this.timers.cancel(t.h);
      this.podTimers.delete(key);
      return;
    }
    const uid = pod.metadata.uid;
    if (t && t.uid !== uid) {
      this.timers.cancel(t.h);
      this.podTimers.delete(key);
    }
    const cur = this.podTimers.get(key);
    if (pod.metadata.deletionTimestamp) {
      const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000 * this.timing.terminationGraceScale;
      const deadline = performance.now() + graceMs;
      if (cur?.phase === "terminating" && cur.deadline !== undefined && cur.deadline <= deadline) return;
      if (cur) this.timers.cancel(cur.h);
      const h = this.timers.after(graceMs, () => {
        this.podTimers.delete(key);
        const p = this.store.peek("pods", key);
        if (p && p.metadata.uid === uid) this.store.remove("pods", key);
      });
      this.podTimers.set(key, { uid, phase: "terminating", h, deadline });
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || cur) return;
    const node = this.store.peek("nodes", nodeName);
    if (!node || !isNodeReady(node)) return;
    const phase = pod.status?.phase ?? "Pending";
    if (phase === "Pending") {
      const h = this.timers.after(this.timing.podStartMs, () => {
        this.podTimers.delete(key);
        this.store.mutate("pods", key, (p) => {
          if (p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== "Pending") return false;
          startPod(p, node);
        });
      });
      this.podTimers.set(key, { uid, phase: "starting", h });
    } else if (phase === "Running") {
      const runMs = pod.metadata.annotations?.[ANN.runMs];
      const neverReady = pod.metadata.annotations?.[ANN.ready] === "false";
      if (!isPodReady(pod) && !neverReady) {
        const h = this.timers.after(this.timing.podReadyMs, () => {
          this.podTimers.delete(key);
          this.store.mutate("pods", key, (p) => {
            if (p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== "Running") return false;
            setPodReady(p, true);
          });
        });
        this.podTimers.set(key, { uid, phase: "readying", h });
      } else if (runMs !== undefined) {
        const startedAt = Date.parse(pod.status?.startTime ?? nowIso());
        const wait = Math.max(0, Number(runMs) - (Date.now() - startedAt));
        const h = this.timers.after(wait, () => {
          this.podTimers.delete(key);
          this.store.mutate("pods", key, (p) => {
            if (p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== "Running") return false;
            finishPod(p);
          });
        });
        this.podTimers.set(key, { uid, phase: "running", h });
      }
    }
  }

  // ------------------------------------------------------------------ scheduler

  private accountPod(key: string, pod: Obj | undefined): void {
    const prev = this.podUsage.get(key);
    if (prev) {
      const u = this.usage.get(prev.node);
      if (u) { u.cpu -= prev.cpu; u.memory -= prev.memory; u.pods -= 1; }
      this.podUsage.delete(key);
      this.retryUnschedulable();
    }
    if (pod && pod.spec?.nodeName && !isTerminal(pod)) {
      const r = podRequests(pod);
      const node = pod.spec.nodeName;
      let u = this.usage.get(node);
      if (!u) this.usage.set(node, (u = { cpu: 0, memory: 0, pods: 0 }));
      u.cpu += r.cpu; u.memory += r.memory; u.pods += 1;
      this.podUsage.set(key, { node, cpu: r.cpu, memory: r.memory });
    }
  }

  private retryUnschedulable(): void {
    for (const k of this.unschedulable) this.enqueue("schedule", k);
    this.unschedulable.clear();
  }

  /** Why `node` cannot run `pod`, or undefined if it fits (scheduler filter plugins, simplified). */
  private unfit(pod: Obj, req: { cpu: number; memory: number }, node: Obj): string | undefined {
    if (node.metadata.deletionTimestamp || !isNodeReady(node)) return "node(s) were not ready";
    if (node.spec?.unschedulable && !tolerates(pod.spec?.tolerations, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" })) {
      return "node(s) were unschedulable";
    }
    if (!nodeMatchesPod(pod.spec ?? {}, node)) return "node(s) didn't match Pod's node affinity/selector";
    if (!toleratesNode(pod.spec?.tolerations, node)) {
      const t = (node.spec?.taints ?? []).find((x: Obj) => x.effect !== "PreferNoSchedule" && !tolerates(pod.spec?.tolerations, x));
      return `node(s) had untolerated taint {${t.key}: ${t.value ?? ""}}`;
    }
    const anti = this.antiAffinityConflict(pod, node);
    if (anti) return anti;
    const alloc = node.status?.allocatable ?? {};
    const u = this.usage.get(node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
    if (u.pods + 1 > parseQuantity(alloc.pods ?? "110")) return "Too many pods";
    if (req.cpu > 0 && u.cpu + req.cpu > parseQuantity(alloc.cpu ?? "0") + 1e-9) return "Insufficient cpu";
    if (req.memory > 0 && u.memory + req.memory > parseQuantity(alloc.memory ?? "0")) return "Insufficient memory";
    return undefined;
  }

  /** Bound, unfinished pods on nodes whose label `key` equals `value` (a topology domain). */
  private podsInDomain(key: string, value: string): Obj[] {
    const out: Obj[] = [];
    for (const n of this.nodeOrder) {
      const node = this.store.peek("nodes", n);
      if (node?.metadata.labels?.[key] !== value) continue;
      for (const p of this.store.podsOnNode(n)) if (!isTerminal(p)) out.push(p);
    }
    return out;
  }

  /**
   * Required pod anti-affinity (InterPodAffinity filter), both ways: the incoming pod's terms against
   * pods already in the node's topology domain, and existing pods' terms against the incoming pod.
   * namespaceSelector is not supported (terms apply to `namespaces` or the pod's own namespace).
   */
  private antiAffinityConflict(pod: Obj, node: Obj): string | undefined {
    const labels = node.metadata.labels ?? {};
    const ns = pod.metadata.namespace;
    for (const t of pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const value = labels[t.topologyKey];
      if (value === undefined) continue;
      const namespaces: string[] = t.namespaces?.length ? t.namespaces : [ns];
      for (const other of this.podsInDomain(t.topologyKey, value)) {
        if (namespaces.includes(other.metadata.namespace) && matchesLabelSelector(t.labelSelector, other.metadata.labels)) {
          return "node(s) didn't match pod anti-affinity rules";
        }
      }
    }
    for (const k of this.antiAffinityPods) {
      const other = this.store.peek("pods", k);
      if (!other?.spec?.nodeName || isTerminal(other)) continue;
      const otherNode = this.store.peek("nodes", other.spec.nodeName);
      for (const t of other.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const value = labels[t.topologyKey];
        if (value === undefined || otherNode?.metadata.labels?.[t.topologyKey] !== value) continue;
        const namespaces: string[] = t.namespaces?.length ? t.namespaces : [other.metadata.namespace];
        if (namespaces.includes(ns) && matchesLabelSelector(t.labelSelector, pod.metadata.labels)) return "node(s) didn't satisfy existing pods anti-affinity rules";
      }
    }
    return undefined;
  }

  /**
   * PodTopologySpread with whenUnsatisfiable DoNotSchedule: matching pods (same namespace, not
   * terminating) per topology domain over the nodes the pod may land on (nodeAffinityPolicy Honor,
   * nodeTaintsPolicy Ignore, the defaults). minDomains and matchLabelKeys are not supported.
   */
  private spreadCounts(pod: Obj): { key: string; maxSkew: number; counts: Map<string, number>; min: number }[] {
    const out: { key: string; maxSkew: number; counts: Map<string, number>; min: number }[] = [];
    for (const c of pod.spec?.topologySpreadConstraints ?? []) {
      if (c.whenUnsatisfiable !== "DoNotSchedule") continue;
      const counts = new Map<string, number>();
      for (const n of this.nodeOrder) {
        const node = this.store.peek("nodes", n);
        const value = node?.metadata.labels?.[c.topologyKey];
        if (value === undefined || !nodeMatchesPod(pod.spec ?? {}, node!)) continue;
        let k = counts.get(value) ?? 0;
        for (const p of this.store.podsOnNode(n)) {
          if (p.metadata.deletionTimestamp || isTerminal(p) || p.metadata.namespace !== pod.metadata.namespace) continue;
          if (matchesLabelSelector(c.labelSelector, p.metadata.labels)) k++;
        }
        counts.set(value, k);
      }
      out.push({ key: c.topologyKey, maxSkew: c.maxSkew ?? 1, counts, min: counts.size ? Math.min(...counts.values()) : 0 });
    }
    return out;
  }

  private spreadViolation(spread: ReturnType<Cluster["spreadCounts"]>, node: Obj): string | undefined {
    for (const c of spread) {
      const value = node.metadata.labels?.[c.key];
      if (value === undefined) return "node(s) didn't match pod topology spread constraints (missing required label)";
      if ((c.counts.get(value) ?? 0) + 1 - c.min > c.maxSkew) return "node(s) didn't match pod topology spread constraints";
    }
    return undefined;
  }

  private schedule(keys: Set<string>): void {
    for (const key of keys) {
      const pod = this.store.peek("pods", key);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) continue;
      if (pod.spec?.schedulerName && pod.spec.schedulerName !== "default-scheduler") continue;
      const req = podRequests(pod);
      const spread = this.spreadCounts(pod);
      let chosen: string | undefined;
      const reasons = new Map<string, number>();
      const pinned = pinnedNodeName(pod.spec ?? {});
      const candidates = pinned ? [pinned] : this.nodeOrder;
      const n = candidates.length;
      for (let i = 0; i < n; i++) {
        const idx = pinned ? 0 : (this.nodeCursor + i) % n;
        const node = this.store.peek("nodes", candidates[idx]);
        if (!node) { reasons.set("node(s) not found", (reasons.get("node(s) not found") ?? 0) + 1); continue; }
        const why = this.unfit(pod, req, node) ?? this.spreadViolation(spread, node);
        if (!why) {
          chosen = node.metadata.name;
          if (!pinned) this.nodeCursor = (idx + 1) % n;
          break;
        }
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      if (chosen) {
        this.store.mutate("pods", key, (p) => {
          p.spec.nodeName = chosen;
          p.status = p.status ?? {};
          p.status.conditions = p.status.conditions ?? [];
          setCondition(p.status.conditions, { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowIso() });
        });
      } else {
        this.unschedulable.add(key);
        const total = this.nodeOrder.length;
        const detail = [...reasons].sort().map(([r, c]) => `${c} ${r}`).join(", ");
        const message = `0/${total} nodes are available${detail ? `: ${detail}` : ""}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
        this.store.mutate("pods", key, (p) => {
          p.status = p.status ?? {};
          p.status.conditions = p.status.conditions ?? [];
          return setCondition(p.status.conditions, { type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null, lastTransitionTime: nowIso() });
        });
      }
    }
  }

  // ------------------------------------------------------------------ workload controllers

  private ownedPods(owner: Obj): Obj[] {
    return this.store.dependents(owner.metadata.uid, "pods").map((d) => d.obj).filter((p) => controllerRef(p)?.uid === owner.metadata.uid);
  }

  private ownerRef(o: Obj): Obj {
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true };
  }

  private newPodFromTemplate(owner: Obj, name: string | undefined, generateName: string | undefined, extraLabels: Record<string, string> = {}): Obj {
    const t = clone(owner.spec.template ?? {});
    const pod: Obj = {
      metadata: {
        ...(name ? { name } : { name: `${generateName}${randSuffix()}`, generateName }),
        namespace: owner.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [this.ownerRef(owner)],
      },
      spec: t.spec ?? {},
    };
    return defaultPod(pod);
  }

  private syncReplicaSet(key: string): void {
    const rs = this.store.peek("replicasets", key);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = this.ownedPods(rs);
    const active = pods.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const want = rs.spec?.replicas ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) {
        this.store.create("pods", this.newPodFromTemplate(rs, undefined, `${rs.metadata.name}-`));
      }
    } else if (active.length > want) {
      // controller.ActivePods ordering: unassigned < assigned, pending < running, not ready < ready, newer first
      const rank = (p: Obj) => (p.spec?.nodeName ? 1 : 0) * 4 + (p.status?.phase === "Running" ? 1 : 0) * 2 + (isPodReady(p) ? 1 : 0);
      active.sort((a, b) => rank(a) - rank(b) || (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""));
      for (const p of active.slice(0, active.length - want)) this.deletePod(objKey(p), undefined, "controller");
    }
    const now = this.ownedPods(rs).filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const ready = now.filter(isPodReady).length;
    const status = {
      replicas: now.length, fullyLabeledReplicas: now.length, readyReplicas: ready, availableReplicas: ready,
      terminatingReplicas: pods.filter((p) => p.metadata.deletionTimestamp).length,
      observedGeneration: rs.metadata.generation,
    };
    this.writeStatus("replicasets", key, status);
  }

  /** Writes status if it changed (avoids event storms). */
  private writeStatus(plural: string, key: string, status: Obj): void {
    const o = this.store.peek(plural, key);
    if (!o) return;
    const merged = { ...(o.status ?? {}), ...status };
    if (JSON.stringify(merged) === JSON.stringify(o.status ?? {})) return;
    this.store.mutate(plural, key, (x) => { x.status = merged; });
  }

  private syncDeployment(key: string): void {
    const d = this.store.peek("deployments", key);
    if (!d) return;
    const desired = d.spec?.replicas ?? 1;
    const hash = shortHash(JSON.stringify(d.spec?.template ?? {}));
    const owned = this.store.dependents(d.metadata.uid, "replicasets").map((x) => x.obj).filter((r) => controllerRef(r)?.uid === d.metadata.uid);
    let newRs = owned.find((r) => r.metadata.labels?.["pod-template-hash"] === hash);
    const olds = owned.filter((r) => r !== newRs).sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
    const revision = Math.max(0, ...owned.map((r) => Number(r.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0)));
    if (!newRs) {
      const t = clone(d.spec.template ?? {});
      t.metadata = t.metadata ?? {};
      t.metadata.labels = { ...(t.metadata.labels ?? {}), "pod-template-hash": hash };
      const initial = olds.length === 0 ? desired : 0;
      newRs = this.store.create("replicasets", {
        metadata: {
          name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: t.metadata.labels,
          annotations: { "deployment.kubernetes.io/revision": String(revision + 1), "deployment.kubernetes.io/desired-replicas": String(desired) },
          ownerReferences: [this.ownerRef(d)],
        },
        spec: {
          replicas: initial,
          selector: { ...(d.spec.selector ?? {}), matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), "pod-template-hash": hash } },
          template: t,
        },
      });
    }
    const setReplicas = (rs: Obj, n: number) => {
      if ((rs.spec?.replicas ?? 1) === n) return;
      this.store.mutate("replicasets", objKey(rs), (x) => { x.spec.replicas = n; });
    };
    if (d.spec?.paused) {
      // paused: nothing rolls
    } else if (d.spec?.strategy?.type === "Recreate") {
      for (const o of olds) setReplicas(o, 0);
      const oldPods = olds.reduce((n, o) => n + this.ownedPods(o).length, 0);
      if (oldPods === 0) setReplicas(newRs, desired);
    } else if (olds.every((o) => (o.spec?.replicas ?? 0) === 0 && (o.status?.replicas ?? 0) === 0)) {
      setReplicas(newRs, desired);
    } else {
      const ru = d.spec?.strategy?.rollingUpdate ?? {};
      let surge = scaledValue(ru.maxSurge ?? "25%", desired, true);
      let unavail = scaledValue(ru.maxUnavailable ?? "25%", desired, false);
      if (surge === 0 && unavail === 0) unavail = 1;
      const all = [newRs, ...olds];
      const total = all.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0);
      const newWant = Math.min(desired, (newRs.spec?.replicas ?? 0) + Math.max(0, desired + surge - total));
      setReplicas(newRs, Math.max(newRs.spec?.replicas ?? 0, newWant));
      const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
      let canRemove = available - (desired - unavail);
      for (const o of olds) {
        const cur = o.spec?.replicas ?? 0;
        if (cur === 0) continue;
        const unhealthy = Math.max(0, cur - (o.status?.availableReplicas ?? 0));
        const r = Math.min(cur, unhealthy + Math.max(0, canRemove));
        canRemove -= Math.max(0, r - unhealthy);
        setReplicas(o, cur - r);
      }
    }
    const cur = this.store.peek("replicasets", objKey(newRs)) ?? newRs;
    const all = [cur, ...olds.map((o) => this.store.peek("replicasets", objKey(o)) ?? o)];
    const replicas = all.reduce((n, r) => n + (r.status?.replicas ?? 0), 0);
    const ready = all.reduce((n, r) => n + (r.status?.readyReplicas ?? 0), 0);
    const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
    const ru = d.spec?.strategy?.rollingUpdate ?? {};
    const minAvail = desired - scaledValue(ru.maxUnavailable ?? "25%", desired, false);
    const conds: Obj[] = clone(d.status?.conditions ?? []);
    setCondition(conds, available >= minAvail
      ? { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", lastUpdateTime: nowIso(), lastTransitionTime: nowIso() }
      : { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", lastUpdateTime: nowIso(), lastTransitionTime: nowIso() });
    const complete = (cur.status?.replicas ?? 0) === desired && replicas === desired && available === desired;
    setCondition(conds, { type: "Progressing", status: "True", reason: complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
      message: complete ? `ReplicaSet "${cur.metadata.name}" has successfully progressed.` : `ReplicaSet "${cur.metadata.name}" is progressing.`,
      lastUpdateTime: nowIso(), lastTransitionTime: nowIso() });
    this.writeStatus("deployments", key, {
      observedGeneration: d.metadata.generation, replicas, updatedReplicas: cur.status?.replicas ?? 0, readyReplicas: ready,
      availableReplicas: available, ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}), conditions: conds,
    });
  }

  private syncStatefulSet(key: string): void {
    const s = this.store.peek("statefulsets", key);
    if (!s) return;
    const want = s.spec?.replicas ?? 1;
    const revision = `${s.metadata.name}-${shortHash(JSON.stringify(s.spec?.template ?? {}))}`;
    const parallel = s.spec?.podManagementPolicy === "Parallel";
    const pods = this.ownedPods(s);
    const byOrdinal = new Map<number, Obj>();
    for (const p of pods) {
      const m = /-(\d+)$/.exec(p.metadata.name);
      if (m) byOrdinal.set(Number(m[1]), p);
    }
    const healthy = (p: Obj | undefined) => !!p && !p.metadata.deletionTimestamp && p.status?.phase === "Running" && isPodReady(p);
    // create missing ordinals (OrderedReady: one at a time, after all lower ordinals are Running and Ready)
    for (let i = 0; i < want; i++) {
      const p = byOrdinal.get(i);
      if (p) {
        if (isTerminal(p) && !p.metadata.deletionTimestamp) this.deletePod(objKey(p), 0, "controller");
        if (!parallel && !healthy(p)) break;
        continue;
      }
      const name = `${s.metadata.name}-${i}`;
      if (this.store.peek("pods", `${s.metadata.namespace}/${name}`)) { if (!parallel) break; continue; }
      const pod = this.newPodFromTemplate(s, name, undefined, { "statefulset.kubernetes.io/pod-name": name, "controller-revision-hash": revision, "apps.kubernetes.io/pod-index": String(i) });
      pod.spec.hostname = name;
      if (s.spec?.serviceName) pod.spec.subdomain = s.spec.serviceName;
      this.store.create("pods", pod);
      if (!parallel) break;
    }
    // scale down: highest ordinal first
    const extra = [...byOrdinal.entries()].filter(([i, p]) => i >= want && !p.metadata.deletionTimestamp).sort((a, b) => b[0] - a[0]);
    for (const [, p] of parallel ? extra : extra.slice(0, 1)) this.deletePod(objKey(p), undefined, "controller");
    // rolling update: replace the highest outdated pod once all are healthy
    const inRange = [...byOrdinal.entries()].filter(([i]) => i < want);
    if (inRange.length === want && inRange.every(([, p]) => healthy(p))) {
      const outdated = inRange.filter(([, p]) => p.metadata.labels?.["controller-revision-hash"] !== revision).sort((a, b) => b[0] - a[0]);
      if (outdated.length && s.spec?.updateStrategy?.type !== "OnDelete") this.deletePod(objKey(outdated[0][1]), undefined, "controller");
    }
    const live = this.ownedPods(s).filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const ready = live.filter(isPodReady).length;
    const updated = live.filter((p) => p.metadata.labels?.["controller-revision-hash"] === revision).length;
    this.writeStatus("statefulsets", key, {
      observedGeneration: s.metadata.generation, replicas: live.length, readyReplicas: ready, availableReplicas: ready,
      currentReplicas: updated, updatedReplicas: updated, currentRevision: revision, updateRevision: revision,
    });
  }

  private syncDaemonSet(key: string): void {
    const ds = this.store.peek("daemonsets", key);
    if (!ds) return;
    const tspec = ds.spec?.template?.spec ?? {};
    const tolerations = [...(tspec.tolerations ?? []), ...DAEMON_TOLERATIONS];
    const pods = this.ownedPods(ds);
    const byNode = new Map<string, Obj[]>();
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      const n = p.spec?.nodeName ?? pinnedNodeName(p.spec ?? {});
      if (!n) continue;
      if (!byNode.has(n)) byNode.set(n, []);
      byNode.get(n)!.push(p);
    }
    const hash = shortHash(JSON.stringify(ds.spec?.template ?? {}));
    let desired = 0;
    const wanted = new Set<string>();
    for (const node of this.store.list("nodes")) {
      const name = node.metadata.name;
      // a node "should run" the daemon pod if selector/affinity match and its taints are tolerated (cordoned included)
      if (!nodeMatchesPod(tspec, node) || !toleratesNode(tolerations, node)) continue;
      desired++;
      wanted.add(name);
      const existing = (byNode.get(name) ?? []).filter((p) => !isTerminal(p));
      for (const p of (byNode.get(name) ?? []).filter(isTerminal)) this.deletePod(objKey(p), 0, "controller");
      if (existing.length === 0) {
        const pod = this.newPodFromTemplate(ds, undefined, `${ds.metadata.name}-`, { "controller-revision-hash": hash, "pod-template-generation": String(ds.metadata.generation) });
        pod.spec.tolerations = tolerations;
        pod.spec.affinity = {
          ...(pod.spec.affinity ?? {}),
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [name] }] }] } },
        };
        this.store.create("pods", pod);
      } else if (existing.length > 1) {
        for (const p of existing.slice(1)) this.deletePod(objKey(p), undefined, "controller");
      } else if (existing[0].metadata.labels?.["controller-revision-hash"] !== hash && ds.spec?.updateStrategy?.type !== "OnDelete" && isPodReady(existing[0])) {
        this.deletePod(objKey(existing[0]), undefined, "controller");
      }
    }
    for (const [n, ps] of byNode) if (!wanted.has(n)) for (const p of ps) this.deletePod(objKey(p), undefined, "controller");
    const live = this.ownedPods(ds).filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p) && p.spec?.nodeName && wanted.has(p.spec.nodeName));
    const ready = live.filter(isPodReady).length;
    this.writeStatus("daemonsets", key, {
      observedGeneration: ds.metadata.generation, desiredNumberScheduled: desired, currentNumberScheduled: live.length, numberMisscheduled: 0,
      numberReady: ready, numberAvailable: ready, updatedNumberScheduled: live.filter((p) => p.metadata.labels?.["controller-revision-hash"] === hash).length,
      ...(desired - ready > 0 ? { numberUnavailable: desired - ready } : {}),
    });
    this.recorder.onWorkloadObject("daemonsets", this.store.peek("daemonsets", key)!, false);
  }

  private syncJob(key: string): void {
    const job = this.store.peek("jobs", key);
    if (!job) return;
    let done = this.jobDone.get(job.metadata.uid);
    if (!done) this.jobDone.set(job.metadata.uid, (done = { succeeded: new Set(), failed: new Set() }));
    const pods = this.ownedPods(job);
    for (const p of pods) {
      if (p.status?.phase === "Succeeded") done.succeeded.add(p.metadata.uid);
      if (p.status?.phase === "Failed") done.failed.add(p.metadata.uid);
    }
    const parallelism = job.spec?.parallelism ?? 1;
    const completions = job.spec?.completions ?? 1;
    const active = pods.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const finished = (job.status?.conditions ?? []).some((c: Obj) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
    if (!finished && !job.spec?.suspend) {
      const need = Math.min(parallelism, completions - done.succeeded.size) - active.length;
      for (let i = 0; i < need; i++) {
        const pod = this.newPodFromTemplate(job, undefined, `${job.metadata.name}-`, {
          "batch.kubernetes.io/controller-uid": job.metadata.uid, "batch.kubernetes.io/job-name": job.metadata.name,
          "controller-uid": job.metadata.uid, "job-name": job.metadata.name,
        });
        pod.spec.restartPolicy = pod.spec.restartPolicy === "Always" ? "Never" : pod.spec.restartPolicy;
        this.store.create("pods", pod);
      }
    }
    const conds: Obj[] = clone(job.status?.conditions ?? []);
    const status: Obj = {
      active: active.length, succeeded: done.succeeded.size, failed: done.failed.size,
      ready: active.filter(isPodReady).length, startTime: job.status?.startTime ?? nowIso(),
    };
    if (done.succeeded.size >= completions && !finished) {
      setCondition(conds, { type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastProbeTime: nowIso(), lastTransitionTime: nowIso() });
      setCondition(conds, { type: "Complete", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastProbeTime: nowIso(), lastTransitionTime: nowIso() });
      status.completionTime = nowIso();
    }
    if (conds.length) status.conditions = conds;
    this.writeStatus("jobs", key, status);
  }

  // ------------------------------------------------------------------ disruption controller

  /** policy/v1: an empty selector selects every pod of the namespace; a nil one selects none. */
  private pdbSelects(pdb: Obj, pod: Obj): boolean {
    return !!pdb.spec?.selector && matchesLabelSelector(pdb.spec.selector, pod.metadata.labels, true);
  }

  private updatePdbMembership(key: string, pod: Obj | undefined): void {
    const before = this.podPdbs.get(key) ?? new Set<string>();
    const after = new Set<string>();
    if (pod) for (const pdb of this.store.list("poddisruptionbudgets", pod.metadata.namespace)) if (this.pdbSelects(pdb, pod)) after.add(objKey(pdb));
    for (const k of before) if (!after.has(k)) this.pdbPods.get(k)?.delete(key);
    for (const k of after) {
      if (!this.pdbPods.has(k)) this.pdbPods.set(k, new Set());
      this.pdbPods.get(k)!.add(key);
    }
    if (after.size) this.podPdbs.set(key, after); else this.podPdbs.delete(key);
    for (const k of new Set([...before, ...after])) this.enqueue("pdbs", k);
  }

  private rebuildPdbMembership(pdbKey: string, pdb: Obj | undefined): void {
    for (const podKey of this.pdbPods.get(pdbKey) ?? []) this.podPdbs.get(podKey)?.delete(pdbKey);
    this.pdbPods.delete(pdbKey);
    if (!pdb) return;
    const set = new Set<string>();
    for (const pod of this.store.list("pods", pdb.metadata.namespace)) {
      if (!this.pdbSelects(pdb, pod)) continue;
      const k = objKey(pod);
      set.add(k);
      if (!this.podPdbs.has(k)) this.podPdbs.set(k, new Set());
      this.podPdbs.get(k)!.add(pdbKey);
    }
    this.pdbPods.set(pdbKey, set);
  }

  /** Pods a PDB selects (stored objects). */
  pdbPodList(pdbKey: string): Obj[] {
    return [...(this.pdbPods.get(pdbKey) ?? [])].map((k) => this.store.peek("pods", k)!).filter(Boolean);
  }

  /** PDBs (stored objects) that select a pod, per the disruption controller's view. */
  pdbsForPod(podKey: string): Obj[] {
    return [...(this.podPdbs.get(podKey) ?? [])].map((k) => this.store.peek("poddisruptionbudgets", k)!).filter(Boolean);
  }

  /** Expected scale from the pods' controllers (disruption controller getExpectedScale), or an error. */
  private expectedScale(pods: Obj[]): number | string {
    const seen = new Map<string, number>();
    const refsSeen = new Set<string>();
    for (const p of pods) {
      const ref = controllerRef(p);
      if (!ref) return `found no controller ref for pod "${p.metadata.name}"`;
      if (refsSeen.has(ref.uid)) continue;
      refsSeen.add(ref.uid);
      const ns = p.metadata.namespace;
      let owner: Obj | undefined;
      if (ref.kind === "ReplicaSet") {
        const rs = this.store.peek("replicasets", `${ns}/${ref.name}`);
        const dref = rs && controllerRef(rs);
        owner = dref?.kind === "Deployment" ? this.store.peek("deployments", `${ns}/${dref.name}`) : rs;
      } else if (ref.kind === "StatefulSet") {
        owner = this.store.peek("statefulsets", `${ns}/${ref.name}`);
      } else {
        return `${ref.kind} "${ref.name}" does not implement the scale subresource`;
      }
      if (!owner) return `controller ${ref.kind} "${ref.name}" not found`;
      seen.set(owner.metadata.uid, owner.spec?.replicas ?? 1);
    }
    let n = 0;
    for (const v of seen.values()) n += v;
    return n;
  }

  private syncPdb(key: string): void {
    const pdb = this.store.peek("poddisruptionbudgets", key);
    if (!pdb) return;
    if (pdb.metadata.annotations?.[ANN.freezeStatus] === "true") return;
    const pods = this.pdbPodList(key);
    let expected = 0;
    let desired = 0;
    let failure: string | undefined;
    const spec = pdb.spec ?? {};
    if (typeof spec.minAvailable === "number") {
      expected = pods.length;
      desired = spec.minAvailable;
    }
    const scale = pods.length === 0 ? 0 : this.expectedScale(pods);
    if (typeof spec.minAvailable !== "number") {
      if (typeof scale === "string") {
        failure = scale;
        expected = 0;
        desired = 0;
      } else {
        expected = scale;
        if (spec.minAvailable !== undefined && spec.minAvailable !== null) desired = scaledValue(spec.minAvailable, expected, true);
        else if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) desired = Math.max(0, expected - scaledValue(spec.maxUnavailable, expected, true));
        else desired = 0;
      }
    }
    // DisruptedPods entries are dropped once the pod is gone or terminating
    const disrupted: Record<string, string> = { ...(pdb.status?.disruptedPods ?? {}) };
    for (const name of Object.keys(disrupted)) {
      const p = this.store.peek("pods", `${pdb.metadata.namespace}/${name}`);
      if (!p || p.metadata.deletionTimestamp || Date.now() - Date.parse(disrupted[name]) > 120_000) delete disrupted[name];
    }
    const healthy = pods.filter((p) => isPodReady(p) && !p.metadata.deletionTimestamp && !disrupted[p.metadata.name]).length;
    const conds: Obj[] = clone(pdb.status?.conditions ?? []);
    let allowed: number;
    if (failure) {
      allowed = 0;
      setCondition(conds, { type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message: failure, observedGeneration: pdb.metadata.generation, lastTransitionTime: nowIso() });
    } else {
      allowed = expected <= 0 || healthy - desired <= 0 ? 0 : healthy - desired;
      setCondition(conds, allowed > 0
        ? { type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "", observedGeneration: pdb.metadata.generation, lastTransitionTime: nowIso() }
        : { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: pdb.metadata.generation, lastTransitionTime: nowIso() });
    }
    const status: Obj = {
      observedGeneration: failure ? pdb.status?.observedGeneration ?? 0 : pdb.metadata.generation,
      ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
      disruptionsAllowed: allowed, currentHealthy: healthy, desiredHealthy: desired, expectedPods: expected, conditions: conds,
    };
    if (JSON.stringify(status) !== JSON.stringify(pdb.status ?? {})) this.store.mutate("poddisruptionbudgets", key, (x) => { x.status = status; });
    // concurrent disruptions = the controllers' desired scale minus healthy pods (live pods without controllers)
    const live = pods.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p)).length;
    this.recorder.onPdbStatus(key, typeof scale === "number" ? scale : live, healthy);
  }
}

/** Pod defaults applied on create (the parts of SetDefaults_Pod the simulator relies on). */
export function defaultPod(pod: Obj): Obj {
  pod.spec = pod.spec ?? {};
  pod.spec.containers = pod.spec.containers ?? [];
  pod.spec.restartPolicy = pod.spec.restartPolicy ?? "Always";
  pod.spec.terminationGracePeriodSeconds = pod.spec.terminationGracePeriodSeconds ?? 30;
  pod.spec.dnsPolicy = pod.spec.dnsPolicy ?? "ClusterFirst";
  pod.spec.schedulerName = pod.spec.schedulerName ?? "default-scheduler";
  pod.spec.enableServiceLinks = pod.spec.enableServiceLinks ?? true;
  const qos = pod.spec.containers.some((c: Obj) => c.resources?.requests || c.resources?.limits) ? "Burstable" : "BestEffort";
  pod.status = { phase: "Pending", qosClass: qos, ...(pod.status ?? {}) };
  if (!pod.status.phase) pod.status.phase = "Pending";
  if (pod.spec.nodeName) {
    pod.status.conditions = pod.status.conditions ?? [];
    setCondition(pod.status.conditions, { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowIso() });
  }
  return pod;
}

let ipCounter = 1;

function startPod(p: Obj, node: Obj): void {
  const now = nowIso();
  p.status = p.status ?? {};
  p.status.phase = "Running";
  p.status.startTime = p.status.startTime ?? now;
  p.status.hostIP = node.status?.addresses?.[0]?.address ?? "10.0.0.1";
  p.status.hostIPs = [{ ip: p.status.hostIP }];
  const ip = `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
  ipCounter = (ipCounter + 1) % 16_000_000;
  p.status.podIP = ip;
  p.status.podIPs = [{ ip }];
  p.status.conditions = p.status.conditions ?? [];
  for (const t of ["PodReadyToStartContainers", "Initialized", "PodScheduled"]) setCondition(p.status.conditions, { type: t, status: "True", lastProbeTime: null, lastTransitionTime: now });
  setCondition(p.status.conditions, { type: "ContainersReady", status: "False", reason: "ContainersNotReady", lastProbeTime: null, lastTransitionTime: now });
  setCondition(p.status.conditions, { type: "Ready", status: "False", reason: "ContainersNotReady", lastProbeTime: null, lastTransitionTime: now });
  p.status.containerStatuses = (p.spec?.containers ?? []).map((c: Obj) => ({
    name: c.name, image: c.image ?? "", imageID: "", containerID: `containerd://${shortHash(p.metadata.uid + c.name)}`,
    ready: false, started: true, restartCount: 0, state: { running: { startedAt: now } },
  }));
}

function setPodReady(p: Obj, ready: boolean): void {
  const now = nowIso();
  const s = ready ? "True" : "False";
  setCondition(p.status.conditions, { type: "ContainersReady", status: s, lastProbeTime: null, lastTransitionTime: now });
  setCondition(p.status.conditions, { type: "Ready", status: s, lastProbeTime: null, lastTransitionTime: now });
  for (const c of p.status.containerStatuses ?? []) c.ready = ready;
}

function finishPod(p: Obj): void {
  const now = nowIso();
  p.status.phase = "Succeeded";
  setPodReady(p, false);
  for (const c of p.status.conditions) if (c.type === "Ready" || c.type === "ContainersReady") c.reason = "PodCompleted";
  for (const c of p.status.containerStatuses ?? []) {
    c.started = false;
    c.state = { terminated: { exitCode: 0, reason: "Completed", startedAt: c.state?.running?.startedAt ?? now, finishedAt: now } };
  }
}

/** Node status a kubelet reports once booted. */
export function fillNodeStatus(n: Obj): void {
  const now = nowIso();
  n.status = n.status ?? {};
  n.status.capacity = n.status.capacity ?? { cpu: "4", memory: "16Gi", pods: "110" };
  n.status.allocatable = n.status.allocatable ?? { ...n.status.capacity };
  n.status.nodeInfo = {
    kubeletVersion: KUBE_VERSION, kubeProxyVersion: KUBE_VERSION, containerRuntimeVersion: "containerd://1.7.27", operatingSystem: "linux",
    architecture: "amd64", osImage: "Container-Optimized OS from Google", kernelVersion: "6.6.72+", machineID: "", systemUUID: "", bootID: "",
    ...(n.status.nodeInfo ?? {}),
  };
  n.status.addresses = n.status.addresses ?? [{ type: "InternalIP", address: `10.128.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}` }, { type: "Hostname", address: n.metadata.name }];
  n.status.conditions = n.status.conditions ?? [];
  for (const [t, reason] of [["MemoryPressure", "KubeletHasSufficientMemory"], ["DiskPressure", "KubeletHasNoDiskPressure"], ["PIDPressure", "KubeletHasSufficientPID"]]) {
    if (!n.status.conditions.some((c: Obj) => c.type === t)) n.status.conditions.push({ type: t, status: "False", reason, message: "", lastHeartbeatTime: now, lastTransitionTime: now });
  }
  setCondition(n.status.conditions, { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now });
}

/** Accepts Kubernetes taints and GKE-style ones (effect NO_SCHEDULE). */
export function normalizeTaint(t: Obj): Obj {
  const effects: Record<string, string> = { NO_SCHEDULE: "NoSchedule", PREFER_NO_SCHEDULE: "PreferNoSchedule", NO_EXECUTE: "NoExecute" };
  return { key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: effects[t.effect] ?? t.effect };
}

/**
 * The control plane behind the API: routes every store event to the controllers that care
 * (workloads.ts, scheduler.ts, kubelet.ts, disruption.ts), runs garbage collection and pod GC,
 * decides how a pod is deleted (and whether the report counts it), and stands in for GKE's node
 * pools.
 *
 * Controllers are event driven: every store event enqueues the keys it affects; queues are drained
 * on the next turn of the event loop, so a burst of events costs one reconcile per object.
 * Indexes (namespace, node, owner uid, PDB membership) keep each reconcile proportional to the
 * objects it owns, not to the cluster.
 */
import { DisruptionController } from "./disruption";
import { ControllerLag } from "./lag";
import { NamespaceController } from "./namespaces";
import { VolumeController } from "./volumes";
import { Kubelet } from "./kubelet";
import { ANN, DEFAULT_TIMING, DeleteCause, PoolSpec, Timing } from "./model";
import { Recorder } from "./report";
import { RESOURCES } from "./resources";
import { Scheduler } from "./scheduler";
import { Store, StoreEvent } from "./store";
import { WorkloadControllers } from "./workloads";
import { addGkeLabels, checkZones, DEFAULT_LOCATION, gkeNodeName, groupHash, LABEL, Location, regionOf } from "./gke";
import { fillNodeStatus, stopContainers } from "./kubelet";
import {
  controllerRef, isTerminal, nowIso, Obj, objKey, Timers,
} from "./util";

export { ANN, DEFAULT_TIMING, KUBE_VERSION } from "./model";
export type { DeleteCause, PoolSpec, Timing } from "./model";
export { defaultPod, fillNodeStatus } from "./kubelet";

const POOL_LABEL = LABEL.pool;

export type Queue = "deployments" | "replicasets" | "statefulsets" | "daemonsets" | "jobs" | "pdbs" | "schedule" | "kubelet" | "nodes";

export class Cluster {
  readonly store: Store;
  readonly recorder: Recorder;
  readonly timers = new Timers();
  timing: Timing;
  /** Cluster name and default zones (GKE stand-in). */
  readonly location: Location;
  readonly scheduler: Scheduler;
  readonly kubelet: Kubelet;
  readonly workloads: WorkloadControllers;
  readonly disruption: DisruptionController;
  readonly namespaces: NamespaceController;
  readonly volumes: VolumeController;
  /** Seeded controller lag (timing knobs disruptionLagMs, workloadLagMs, lagSeed); off by default. */
  readonly lag: ControllerLag;
  private queues = new Map<Queue, Set<string>>();
  private flushScheduled = false;

  constructor(timing: Partial<Timing> = {}, watchCacheSize?: number, location: Partial<Location> = {}) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
    this.location = { ...DEFAULT_LOCATION, ...location };
    this.store = new Store(RESOURCES, watchCacheSize);
    this.recorder = new Recorder(this.store);
    this.scheduler = new Scheduler(this);
    this.kubelet = new Kubelet(this);
    this.workloads = new WorkloadControllers(this);
    this.disruption = new DisruptionController(this);
    this.namespaces = new NamespaceController(this);
    this.volumes = new VolumeController(this);
    this.lag = new ControllerLag(this);
    this.store.onEvent((e) => this.route(e));
  }

  stop(): void {
    this.timers.clearAll();
  }

  // ------------------------------------------------------------------ event routing

  /**
   * Queues a reconcile of `key` by controller `q` on the next turn of the event loop (or, with the
   * lag knobs set, once that controller's seeded delay has passed: lag.ts).
   */
  enqueue(q: Queue, key: string): void {
    if (this.lag.defer(q, key)) return;
    this.enqueueNow(q, key);
  }

  /** Queues a reconcile for the next turn of the event loop, whatever the lag. */
  enqueueNow(q: Queue, key: string): void {
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
        if (q === "schedule") this.scheduler.schedule(s);
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
      case "deployments": return this.workloads.syncDeployment(key);
      case "replicasets": return this.workloads.syncReplicaSet(key);
      case "statefulsets": return this.workloads.syncStatefulSet(key);
      case "daemonsets": return this.workloads.syncDaemonSet(key);
      case "jobs": return this.workloads.syncJob(key);
      case "pdbs": return this.disruption.syncPdb(key);
      case "kubelet": return this.kubelet.syncPod(key);
      case "nodes": return this.kubelet.syncNode(key);
    }
  }

  private route(e: StoreEvent): void {
    const o = e.object;
    const key = objKey(o);
    const ns = o.metadata.namespace;
    if (e.type === "DELETED" && ns) this.namespaces.maybeFinish(ns);
    // an object being deleted whose last finalizer was just removed goes (generic registry, Update)
    if (e.type === "MODIFIED" && o.metadata.deletionTimestamp && !o.metadata.finalizers?.length && e.old?.metadata.finalizers?.length) {
      this.timers.soon(() => this.finishDeletion(e.plural, key, o.metadata.uid));
    }
    switch (e.plural) {
      case "pods": {
        const pod = e.type === "DELETED" ? undefined : o;
        const ref = controllerRef(o);
        if (ref) {
          const q = ({ ReplicaSet: "replicasets", StatefulSet: "statefulsets", DaemonSet: "daemonsets", Job: "jobs" } as Record<string, Queue>)[ref.kind];
          if (q) this.enqueue(q, `${ns}/${ref.name}`);
        }
        this.scheduler.onPod(key, pod);
        this.enqueue("kubelet", key);
        this.disruption.updatePdbMembership(key, pod);
        this.recorder.onPod(key, pod);
        if (e.type === "DELETED") this.collectDependents(o);
        break;
      }
      case "persistentvolumes":
      case "persistentvolumeclaims":
        this.volumes.onVolumeObject(e.plural, o, e.type);
        break;
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
          this.disruption.rebuildPdbMembership(key, e.type === "DELETED" ? undefined : o);
        }
        this.enqueue("pdbs", key);
        this.recorder.onPdb(ns);
        break;
      case "nodes": {
        this.enqueue("nodes", key);
        if (e.type === "DELETED") {
          // pod GC: pods bound to a node that no longer exists are deleted at once
          for (const p of this.store.podsOnNode(key)) this.deletePod(objKey(p), 0, "gc");
        } else {
          for (const p of this.store.podsOnNode(key)) this.enqueue("kubelet", objKey(p));
        }
        this.scheduler.onNode(e.type, key);
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
    // finalizers keep the object (deletionTimestamp set) until they are removed (generic registry BeforeDelete)
    if (grace <= 0 && !pod.metadata.finalizers?.length) return this.store.remove("pods", key);
    return this.store.markDeleting("pods", key, grace);
  }

  /**
   * The kubelet's end of a graceful deletion: containers are stopped (pod phase terminal, not Ready)
   * and the kubelet deletes the pod with grace 0; with finalizers left the object stays until they
   * are removed (pkg/kubelet/status/status_manager.go canBeDeleted / syncPod).
   */
  finishPodTermination(key: string): void {
    const pod = this.store.peek("pods", key);
    if (!pod) return;
    if (!pod.metadata.finalizers?.length) {
      this.store.remove("pods", key);
      return;
    }
    this.store.mutate("pods", key, (p) => {
      if (p.metadata.deletionGracePeriodSeconds === 0 && isTerminal(p)) return false;
      stopContainers(p);
      p.metadata.deletionGracePeriodSeconds = 0;
    });
  }

  /** Removes an object being deleted once its finalizers are gone (pods: once the kubelet is done, grace 0). */
  private finishDeletion(plural: string, key: string, uid: string): void {
    const o = this.store.peek(plural, key);
    if (!o || o.metadata.uid !== uid || !o.metadata.deletionTimestamp || o.metadata.finalizers?.length) return;
    if (plural === "pods" && (o.metadata.deletionGracePeriodSeconds ?? 0) > 0) return; // the kubelet still runs it
    if (plural === "namespaces") return; // the namespace controller removes it once empty
    this.store.remove(plural, key);
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
    if (plural === "namespaces") return this.namespaces.delete(o.metadata.name);
    if (o.metadata.finalizers?.length) {
      // kept, with a deletionTimestamp, until the finalizers are removed
      return this.store.mutate(plural, key, (x) => {
        if (x.metadata.deletionTimestamp) return false;
        x.metadata.deletionTimestamp = nowIso();
        x.metadata.deletionGracePeriodSeconds = 0;
      });
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

  /**
   * Adds a pool's nodes the way GKE does (gke.ts): `nodes` per zone over `spec.zones` (default the
   * cluster's zones), named `gke-<cluster>-<pool>-<hash>-<suffix>`, with the well-known labels
   * (spec.labels win). They report Ready after bootMs (`ready`: at once, for scenario pools).
   */
  addPool(spec: PoolSpec, ready = false): string[] {
    if (!spec || typeof spec.name !== "string" || !/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(spec.name)) {
      throw new Error(`pool.name must match ^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$ (got ${JSON.stringify(spec?.name)})`);
    }
    if (!Number.isInteger(spec.nodes) || spec.nodes < 0) throw new Error(`pool.nodes must be a non-negative integer (got ${JSON.stringify(spec.nodes)}); with zones it is the count per zone`);
    const zones = spec.zones === undefined ? this.location.zones : checkZones(spec.zones, "pool.zones");
    const region = regionOf(this.location.zones[0]);
    if (regionOf(zones[0]) !== region) throw new Error(`pool.zones ${JSON.stringify(zones)} are not in the cluster's region ${region}: use zones of ${region}`);
    if (spec.machineType !== undefined && (typeof spec.machineType !== "string" || !spec.machineType)) throw new Error(`pool.machineType must be a non-empty string like "e2-standard-4" (got ${JSON.stringify(spec.machineType)})`);
    if (this.store.list("nodes").some((n) => n.metadata.labels?.[POOL_LABEL] === spec.name)) {
      throw new Error(`pool ${spec.name} already exists`);
    }
    const seed = String(Date.now() + Math.random());
    return zones.flatMap((zone) => this.addPoolNodes(spec, zone, spec.nodes, ready, seed));
  }

  /**
   * Adds `count` nodes of pool `spec.name` in `zone` (one instance group: one `<hash>` per
   * `seed`): what pool creation, a surge node and a cluster-autoscaler scale-up all do
   * (gkeUpgrade.ts). The spec is not validated here: addPool does that.
   */
  addPoolNodes(spec: PoolSpec, zone: string, count: number, ready = false, seed = String(Date.now() + Math.random())): string[] {
    const hash = groupHash(this.location.clusterName, spec.name, zone, seed);
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      let name = gkeNodeName(this.location.clusterName, spec.name, hash);
      while (this.store.peek("nodes", name)) name = gkeNodeName(this.location.clusterName, spec.name, hash);
      names.push(name);
      const node: Obj = {
        metadata: {
          name,
          labels: { ...(spec.labels ?? {}), [POOL_LABEL]: spec.name },
          annotations: ready ? {} : { [ANN.bootMs]: String(spec.bootMs ?? this.timing.nodeBootMs) },
        },
        spec: { taints: (spec.taints ?? []).map(normalizeTaint), providerID: `gce://sim/${zone}/${name}` },
        status: {
          capacity: { cpu: spec.cpu ?? "4", memory: spec.memory ?? "16Gi", pods: String(spec.pods ?? 110) },
          allocatable: { cpu: spec.cpu ?? "4", memory: spec.memory ?? "16Gi", pods: String(spec.pods ?? 110) },
        },
      };
      addGkeLabels(node, zone, spec.machineType);
      if (ready) fillNodeStatus(node);
      this.store.create("nodes", node);
    }
    return names;
  }

  /**
   * GKE node auto-repair (or any VM re-creation): the Node object is deleted (pod GC removes its pods
   * at once, as when the VM goes) and registered again under the same name by the new VM's kubelet:
   * a new uid, the pool's labels and taints, not cordoned, Ready after the node boot delay.
   */
  recreateNode(name: string): Obj {
    const old = this.store.peek("nodes", name);
    if (!old) throw new Error(`node ${name} not found`);
    const transient = ["node.kubernetes.io/unschedulable", "node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"];
    const annotations = { ...(old.metadata.annotations ?? {}) };
    delete annotations[ANN.kubelet];
    annotations[ANN.bootMs] = annotations[ANN.bootMs] ?? String(this.timing.nodeBootMs);
    const capacity = old.status?.capacity ?? { cpu: "4", memory: "16Gi", pods: "110" };
    const fresh: Obj = {
      metadata: { name, labels: { ...(old.metadata.labels ?? {}) }, annotations },
      spec: {
        ...(old.spec?.providerID ? { providerID: old.spec.providerID } : {}),
        ...((old.spec?.taints ?? []).some((t: Obj) => !transient.includes(t.key)) ? { taints: old.spec.taints.filter((t: Obj) => !transient.includes(t.key)) } : {}),
      },
      status: { capacity: { ...capacity }, allocatable: { ...(old.status?.allocatable ?? capacity) } },
    };
    this.store.remove("nodes", name);
    return this.store.create("nodes", fresh);
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
}

/** Accepts Kubernetes taints and GKE-style ones (effect NO_SCHEDULE). */
export function normalizeTaint(t: Obj): Obj {
  const effects: Record<string, string> = { NO_SCHEDULE: "NoSchedule", PREFER_NO_SCHEDULE: "PreferNoSchedule", NO_EXECUTE: "NoExecute" };
  return { key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: effects[t.effect] ?? t.effect };
}

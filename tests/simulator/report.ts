/**
 * Measurement: per workload the ready replicas over time, computed from state transitions (each
 * change of a workload's ready count or floor), never sampled, so the milliseconds below the PDB
 * floor and at zero are exact to the event loop's clock.
 *
 * A workload is "armed" the first time all its desired replicas are ready; before that (start-up,
 * scale-up) nothing is counted, so a cluster coming up is not reported as an outage.
 * Ready = Ready condition True and no deletionTimestamp (the endpoints controller stops routing to
 * terminating pods, and the disruption controller does not count them as healthy).
 */
import { performance } from "node:perf_hooks";
import { Store } from "./store";
import { controllerRef, isPodReady, matchesLabelSelector, Obj, objKey, scaledValue } from "./util";

/** The JSON served by GET /simulator/report (see docs/architecture.md). */
export interface SimulatorReport {
  workloads: Record<string, { replicas: number; floor: number | null; minReady: number; msBelowFloor: number; msAtZero: number; pdb?: string }>;
  pdbs: Record<string, { maxConcurrentDisruptions: number; evictionsAllowed: number; evictionsRejected: number }>;
  podsDeletedWithoutEviction: number;
  /** the same, leaving out DaemonSet pods, mirror pods and finished (Succeeded/Failed) pods, which go with their node */
  workloadPodsDeletedWithoutEviction: number;
  evictions: number;
  requests: Record<string, number>;
  totalRequests: number;
}

interface WorkloadState {
  key: string;
  ready: number;
  replicas: number;
  floor: number | null;
  pdb?: string;
  armed: boolean;
  minReady: number;
  msBelow: number;
  msZero: number;
  lastT: number;
  below: boolean;
  zero: boolean;
  gone: boolean;
}

interface PdbState { maxConcurrent: number; allowed: number; rejected: number; armed: boolean }

const WORKLOAD_KINDS: Record<string, string> = { deployments: "Deployment", statefulsets: "StatefulSet", daemonsets: "DaemonSet", replicasets: "ReplicaSet" };

export class Recorder {
  private workloads = new Map<string, WorkloadState>();
  private readyPods = new Map<string, string>(); // pod key -> workload key it is counted in
  private pdbStats = new Map<string, PdbState>();
  podsDeletedWithoutEviction = 0;
  workloadPodsDeletedWithoutEviction = 0;
  evictions = 0;
  requests: Record<string, number> = {};
  totalRequests = 0;

  constructor(private store: Store) {}

  countRequest(verb: string, resource: string): void {
    const k = `${verb} ${resource}`;
    this.requests[k] = (this.requests[k] ?? 0) + 1;
    this.totalRequests++;
  }

  /** Workload key ("<ns>/<Kind>/<name>") a pod belongs to, following ReplicaSet -> Deployment. */
  workloadOfPod(pod: Obj): string | undefined {
    const ref = controllerRef(pod);
    if (!ref) return undefined;
    const ns = pod.metadata.namespace;
    if (ref.kind === "ReplicaSet") {
      const rs = this.store.peek("replicasets", `${ns}/${ref.name}`);
      const dref = rs && controllerRef(rs);
      if (dref?.kind === "Deployment") return `${ns}/Deployment/${dref.name}`;
      return `${ns}/ReplicaSet/${ref.name}`;
    }
    if (ref.kind === "StatefulSet" || ref.kind === "DaemonSet") return `${ns}/${ref.kind}/${ref.name}`;
    return undefined;
  }

  private state(key: string): WorkloadState {
    let w = this.workloads.get(key);
    if (!w) {
      w = { key, ready: 0, replicas: 0, floor: null, armed: false, minReady: Infinity, msBelow: 0, msZero: 0, lastT: performance.now(), below: false, zero: false, gone: false };
      this.workloads.set(key, w);
    }
    return w;
  }

  /** Called for every pod event (pod undefined when deleted). */
  onPod(key: string, pod: Obj | undefined): void {
    const now = performance.now();
    const was = this.readyPods.get(key);
    const is = pod && isPodReady(pod) && !pod.metadata.deletionTimestamp ? this.workloadOfPod(pod) : undefined;
    if (was === is) return;
    if (was) {
      this.readyPods.delete(key);
      const w = this.state(was);
      w.ready--;
      this.transition(w, now);
    }
    if (is) {
      this.readyPods.set(key, is);
      const w = this.state(is);
      w.ready++;
      this.refresh(w, now);
    }
  }

  /** Called when a workload object or a PDB changes: the replicas or floor may have moved. */
  onWorkloadObject(plural: string, o: Obj, deleted: boolean): void {
    const kind = WORKLOAD_KINDS[plural];
    if (!kind) return;
    if (plural === "replicasets" && controllerRef(o)?.kind === "Deployment") return;
    const key = `${o.metadata.namespace}/${kind}/${o.metadata.name}`;
    const w = this.state(key);
    const now = performance.now();
    if (deleted) {
      this.transition(w, now);
      w.gone = true;
      w.below = w.zero = false;
      return;
    }
    w.gone = false;
    this.refresh(w, now);
  }

  onPdb(ns: string): void {
    const now = performance.now();
    for (const w of this.workloads.values()) if (w.key.startsWith(`${ns}/`)) this.refresh(w, now);
  }

  /** Re-reads replicas and floor for a workload, then records the transition. */
  private refresh(w: WorkloadState, now: number): void {
    const [ns, kind, name] = w.key.split("/");
    const plural = Object.keys(WORKLOAD_KINDS).find((p) => WORKLOAD_KINDS[p] === kind)!;
    const o = this.store.peek(plural, `${ns}/${name}`);
    if (o) {
      w.replicas = kind === "DaemonSet" ? (o.status?.desiredNumberScheduled ?? 0) : (o.spec?.replicas ?? 1);
      const labels = o.spec?.template?.metadata?.labels ?? {};
      const pdb = this.store.list("poddisruptionbudgets", ns).find((p) => p.spec?.selector && matchesLabelSelector(p.spec.selector, labels, true));
      w.pdb = pdb ? objKey(pdb) : undefined;
      w.floor = pdb ? floorOf(pdb, w.replicas) : null;
    }
    this.transition(w, now);
  }

  private transition(w: WorkloadState, now: number): void {
    if (w.below) w.msBelow += now - w.lastT;
    if (w.zero) w.msZero += now - w.lastT;
    w.lastT = now;
    if (w.gone) return;
    if (!w.armed && w.replicas > 0 && w.ready >= w.replicas) w.armed = true;
    if (!w.armed) return;
    w.minReady = Math.min(w.minReady, w.ready);
    w.below = w.floor !== null && w.ready < w.floor;
    w.zero = w.replicas > 0 && w.ready === 0;
  }

  /** Disruption controller hook: (expected - healthy) is the number of disrupted pods right now. */
  onPdbStatus(key: string, expected: number, healthy: number): void {
    const s = this.pdb(key);
    if (!s.armed && expected > 0 && healthy >= expected) s.armed = true;
    if (s.armed) s.maxConcurrent = Math.max(s.maxConcurrent, expected - healthy);
  }

  pdb(key: string): PdbState {
    let s = this.pdbStats.get(key);
    if (!s) this.pdbStats.set(key, (s = { maxConcurrent: 0, allowed: 0, rejected: 0, armed: false }));
    return s;
  }

  report(): SimulatorReport {
    const now = performance.now();
    const workloads: SimulatorReport["workloads"] = {};
    for (const w of [...this.workloads.values()].sort((a, b) => a.key.localeCompare(b.key))) {
      const extra = now - w.lastT;
      workloads[w.key] = {
        replicas: w.replicas,
        floor: w.floor,
        minReady: w.armed ? w.minReady : w.ready,
        msBelowFloor: Math.round((w.msBelow + (w.below ? extra : 0)) * 1000) / 1000,
        msAtZero: Math.round((w.msZero + (w.zero ? extra : 0)) * 1000) / 1000,
        ...(w.pdb ? { pdb: w.pdb } : {}),
      };
    }
    const pdbs: SimulatorReport["pdbs"] = {};
    for (const [k, s] of [...this.pdbStats].sort()) pdbs[k] = { maxConcurrentDisruptions: s.maxConcurrent, evictionsAllowed: s.allowed, evictionsRejected: s.rejected };
    return {
      workloads, pdbs,
      podsDeletedWithoutEviction: this.podsDeletedWithoutEviction,
      workloadPodsDeletedWithoutEviction: this.workloadPodsDeletedWithoutEviction,
      evictions: this.evictions,
      requests: { ...this.requests },
      totalRequests: this.totalRequests,
    };
  }
}

/** The minimum ready replicas a PDB promises for a workload of `replicas` (rounding as the disruption controller does). */
export function floorOf(pdb: Obj, replicas: number): number {
  if (pdb.spec?.minAvailable !== undefined && pdb.spec.minAvailable !== null) return scaledValue(pdb.spec.minAvailable, replicas, true);
  if (pdb.spec?.maxUnavailable !== undefined && pdb.spec.maxUnavailable !== null) return Math.max(0, replicas - scaledValue(pdb.spec.maxUnavailable, replicas, true));
  return 0;
}

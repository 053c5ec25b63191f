/**
 * Shared vocabulary of the simulator's control plane: timing knobs, the server version, the
 * annotations the simulator understands, pool specs and deletion causes.
 */

/** Timing knobs (milliseconds, and a factor applied to terminationGracePeriodSeconds). */
export interface Timing {
  podStartMs: number;
  podReadyMs: number;
  terminationGraceScale: number;
  nodeBootMs: number;
  /**
   * Seeded lag of the disruption controller (lag.ts): each PDB sync runs this long (jittered by
   * lagSeed between half and all of it) after the event that queued it, so PDB statuses trail the
   * pods as on a real cluster. 0 = off (the default).
   */
  disruptionLagMs: number;
  /** The same lag for the workload controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job). 0 = off. */
  workloadLagMs: number;
  /** Seed of the lag jitter (same seed, same sequence of delays). */
  lagSeed: number;
}

export const DEFAULT_TIMING: Timing = {
  podStartMs: 20, podReadyMs: 30, terminationGraceScale: 0.001, nodeBootMs: 100, disruptionLagMs: 0, workloadLagMs: 0, lagSeed: 1,
};

/** Server version served on /version and reported by nodes' kubelets. */
export const KUBE_VERSION = "v1.33.5";

/** Annotations understood by the simulator's kubelet. */
export const ANN = {
  /** "false": the pod runs but never becomes Ready (an unhealthy pod). */
  ready: "simulator.nodepool-rotation.io/ready",
  /**
   * "false" as a label or annotation on a NODE: pods started there run but never become Ready (a
   * node version whose runtime or kernel breaks the workloads' readiness probes; a rollback rehearsal).
   */
  podsReady: "simulator.nodepool-rotation.io/pods-ready",
  /** milliseconds: the pod's containers exit 0 this long after start (Job pods). */
  runMs: "simulator.nodepool-rotation.io/run-ms",
  /** "true" on a PDB: the disruption controller stops updating its status (stale status tests). */
  freezeStatus: "simulator.nodepool-rotation.io/freeze-status",
  /** milliseconds until a node created through the API or a pool reports Ready. */
  bootMs: "simulator.nodepool-rotation.io/boot-ms",
  /**
   * "dead" on a Node: its kubelet stopped (crashed VM, network partition). The node lifecycle
   * controller marks it Ready=Unknown, taints it unreachable and its pods not Ready; nothing on it
   * starts, and pods deleted there stay Terminating (no kubelet confirms the deletion).
   */
  kubelet: "simulator.nodepool-rotation.io/kubelet",
  mirror: "kubernetes.io/config.mirror",
};

/** A node pool as POST /simulator/pools takes it (GKE stand-in). */
export interface PoolSpec {
  /** Pool name (GKE's rule: ^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$). */
  name: string;
  /** Node count: per zone, GKE's meaning (the total is nodes x zones). */
  nodes: number;
  /** The pool's zones (GKE `locations`, one region); default: the cluster's zones (ConfigMap `zones`). */
  zones?: string[];
  /** Label `node.kubernetes.io/instance-type` (default e2-standard-4). */
  machineType?: string;
  /** Node labels; they win over the well-known defaults. */
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  pods?: number;
  bootMs?: number;
  taints?: any[];
}

export type DeleteCause = "api" | "eviction" | "controller" | "pool" | "gc";

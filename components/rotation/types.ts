/**
 * Public types of the rotation engine (see docs/architecture.md "Rotation engine").
 * Kubernetes objects are client-node's model types (V1Pod, V1Node, V1PodDisruptionBudget, ...):
 * plain-object shapes, every field optional, that the engine reads from the typed client, from raw
 * watch events and from JSON snapshots alike. Timestamps are only tested for presence (a watch event
 * carries them as strings where the typed client gives Dates).
 */
import type { V1Deployment, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1ReplicaSet, V1StatefulSet } from "@kubernetes/client-node";
import type { VolumePin } from "./volumes";
import type { WorkloadAvailability } from "./availability";
import type { DefaultBudget } from "./budget";
import type { KnobAudience } from "./filters";
import type { DrainFailureReason } from "./errors";
import type { Clock } from "./clock";

// Labels and annotations the engine reads and writes: one definition, in components/contracts.ts
// (imports nothing, so the drainer's stored engine bundle stays small).
export { CORDONED_ANNOTATION, DRAIN_ANNOTATION, GKE_POOL_LABEL, MIRROR_ANNOTATION, ROLE_LABEL } from "../contracts";

/** Which pool to act on. */
export interface PoolTarget {
  /** Old pool name (value of the pool label). */
  pool: string;
  /** Node label naming the pool; default "cloud.google.com/gke-nodepool". */
  poolLabel?: string;
  /** Label selector of replacement nodes; default "nodepool-rotation/role=<role of the pool's nodes>". */
  replacementSelector?: string;
}

/** Options of the read-only plan. */
export interface PlanOptions extends PoolTarget {
  /** Evict pods that declare no controller (they will not come back). Never force-deletes. */
  force?: boolean;
  /** Evict pods with emptyDir volumes (their data is lost). */
  deleteEmptyDirData?: boolean;
  /** Whose knobs the blockers' fix hints name: "cli" flags (default) or "stack" config (filters.ts KNOBS). */
  knobs?: KnobAudience;
  /**
   * Implicit budget of workloads no PDB selects (budget.ts): an integer >= 1, "N%" of the
   * controller's spec.replicas (rounded up), or "none" (evict them all at once, like kubectl).
   * Default DEFAULT_BUDGET ("25%").
   */
  defaultBudget?: DefaultBudget;
  /**
   * The drain's overall deadline in ms (default 60 min, the limit GKE uses for its own drains). The
   * plan warns about pods whose terminationGracePeriodSeconds exceeds it (terminating.ts).
   */
  deadlineMs?: number;
}

/** Options of the drain; everything optional except the pool. */
export interface DrainOptions extends PlanOptions {
  /** Max pods being disrupted at once: eviction requests in flight plus evicted pods still terminating (default 20). */
  concurrency?: number;
  /** Drain in batches of nodes: "2" (nodes) or "25%" (of the pool). Default: whole pool at once. */
  batch?: string;
  /** Soak between batches (ms): moved workloads must stay at or above their PDB floor. */
  batchSoakMs?: number;
  /** After the last eviction, wait until every moved workload has as many Ready pods as before. */
  waitForReady?: boolean;
  /** After the last eviction, every moved workload must stay at or above its PDB floor for this long (ms). */
  soakMs?: number;
  /** On failure leave nodes cordoned (default false: uncordon every node this tool cordoned). */
  keepCordoned?: boolean;
  /** Progress lines (the CLI and the provider send them to stderr). */
  log?: (line: string) => void;
  /** Aborting stops the drain like any failure (fail closed, unless keepCordoned). */
  signal?: AbortSignal;
  /** Time source of the drain's phases, backoffs and deadline (clock.ts). Default: real time. */
  clock?: Clock;
  /**
   * A pod this drain evicted that is still there this long past its deletionTimestamp plus its grace
   * period is "stuck" (a finalizer, a NotReady node): it stops holding the drain and a concurrency
   * slot, and is named in the summary's `notWaitedFor` (terminating.ts). Default 60 s.
   */
  stuckMarginMs?: number;
  /**
   * Where drains of one cluster share the implicit budget of workloads without a PDB: "cluster"
   * (default: within this process, and across processes through the Lease
   * kube-system/nodepool-rotation-budget, budgetLease.ts) or "process" (within this process only).
   */
  sharedBudget?: "cluster" | "process";
}

/** What happens to one pod. */
export type Verdict =
  | "evict"            // evicted through the Eviction API
  | "wait-completed"   // left running until it completes (Jobs, or annotated)
  | "terminating"      // already being deleted: waited for
  | "stays"            // DaemonSet, mirror or annotated skip: not moved
  | "ignored"          // Succeeded/Failed: nothing to move
  | "blocks";          // cannot be moved safely: the drain refuses

/** The plan's line for one pod. */
export interface PodPlan {
  namespace: string;
  name: string;
  node: string;
  verdict: Verdict;
  reason: string;
  /** "<ns>/<Kind>/<name>" of the owning workload (Deployment resolved from its ReplicaSet). */
  workload?: string;
  /** "<ns>/<name>" of the PDB covering it, if exactly one. */
  pdb?: string;
  uid?: string;
}

/** A PDB that covers pods of the pool. */
export interface PdbPlan {
  name: string;          // "<ns>/<name>"
  pods: number;          // matching pods, cluster-wide, not terminal
  healthy: number;       // of those, Ready and not terminating
  floor: number;         // minimum healthy pods it promises
  allowed: number;       // disruptions allowed now (healthy - floor, >= 0)
  poolPods: number;      // matching pods on the pool to evict
  neverAllows: boolean;  // can never allow a disruption
}

/** A workload on the pool that no PDB selects, drained under the implicit budget. */
export interface ImplicitBudgetPlan {
  /** "<ns>/<Kind>/<name>" (Deployment, StatefulSet, or ReplicaSet without a Deployment). */
  workload: string;
  /** Expected pods: the controller's spec.replicas. */
  replicas: number;
  /** Ready pods the drain keeps at least: replicas - maxUnavailable. */
  floor: number;
  /** The setting it comes from ("25%", "2"). */
  budget: string;
  /** Pods that may be unavailable at once (the budget scaled, rounded up, at least 1). */
  maxUnavailable: number;
  /** Ready, non-terminating pods now, anywhere in the cluster. */
  healthy: number;
  /** Its pods on the pool to evict. */
  poolPods: number;
}

/** Result of `plan`. */
export interface Plan {
  pool: string;
  nodes: string[];
  replacementSelector: string;
  replacementNodes: string[];
  pods: PodPlan[];
  pdbs: PdbPlan[];
  /** Workloads without a PDB covered by the implicit budget (empty with defaultBudget "none"). */
  implicitBudgets: ImplicitBudgetPlan[];
  /** DaemonSets with pods on the pool that are not yet Ready on every replacement node they target. */
  daemonSetsPending: string[];
  /**
   * Claims bound to volumes no replacement node can reach (volumes.ts): pods that would stay Pending
   * if moved, and local data on the pool that its deletion destroys. Each is also a blocker.
   */
  pinnedVolumes: VolumePin[];
  blockers: string[];
  warnings: string[];
  /** The evictable pods fit on Ready replacement nodes (resources, selectors, affinity, taints). */
  fits: boolean;
  counts: Record<Verdict, number>;
}

/** In-memory cluster state for planSnapshot (objects as the API returns them). */
export interface ClusterSnapshot {
  nodes: V1Node[];
  pods: V1Pod[];
  pdbs: V1PodDisruptionBudget[];
  /** Optional: lets the plan resolve ReplicaSet -> Deployment exactly (else by pod-template-hash). */
  replicaSets?: V1ReplicaSet[];
  /**
   * Optional: the scalable controllers, whose spec.replicas are the implicit budgets' expected pods.
   * When deployments, statefulSets and replicaSets are all absent, the plan counts a workload's
   * pods instead; when present, a workload whose controller is not among them has no implicit budget.
   */
  deployments?: V1Deployment[];
  statefulSets?: V1StatefulSet[];
  /** Optional: claims and volumes, so the plan finds pods their volumes pin to the pool (volumes.ts). */
  persistentVolumeClaims?: V1PersistentVolumeClaim[];
  persistentVolumes?: V1PersistentVolume[];
}

/** JSON-serialisable result of a drain (also attached to DrainError). */
export interface DrainSummary {
  pool: string;
  nodes: string[];
  outcome: "drained" | "failed";
  evicted: number;
  waitedCompleted: number;
  skipped: number;
  durationMs: number;
  /** Nodes this run (or an earlier crashed run) cordoned. */
  cordoned: string[];
  /** API requests this drain made (retries and watches included). */
  apiRequests?: number;
  requestsByKind?: Record<string, number>;
  /** Eviction attempts answered 429. */
  rejected429?: number;
  /**
   * When each phase ended, in ms since the start: prepared (lists + plan), cordoned,
   * daemonSetsReady, evicted (every moved pod deleted), completed (wait-completed pods done),
   * ready (with waitForReady), soaked (with soakMs).
   */
  phasesMs?: Record<string, number>;
  /**
   * Per moved workload, from the drain's own pod watch: replicas, floor (PDB or implicit), fewest
   * Ready pods seen, ms below the floor and at zero (formatAvailability renders it). Also on a
   * failed drain (DrainError.summary), covering the time until the failure.
   */
  availability: WorkloadAvailability[];
  /** Deleting pods the drain did not wait for, each with why (terminating before it started, or stuck past its grace period). */
  notWaitedFor?: string[];
  /** Why the drain failed (outcome "failed"). */
  reason?: DrainFailureReason;
}

// Failures: components/rotation/errors.ts (DrainError with structured fields, the reason union).
export { DrainError, isDrainError, AdvisedError, DrainHardStopError, DRAIN_FAILURE_REASONS } from "./errors";
export type { DrainFailureReason, DrainErrorFields } from "./errors";

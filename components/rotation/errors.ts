/**
 * The drain's failures as data. Every door (CLI, PoolDrainer, pool guard) formats its own message
 * from these fields; none edits another's text. Checks go by `name` (`isDrainError`), not
 * `instanceof`: the PoolDrainer runs its own copy of the engine (its stored bundle), so a
 * DrainError thrown there is not an instance of the class the program imported.
 */
import type { DrainSummary } from "./types";

/**
 * Why a drain stopped. `blocked`: pods that cannot be moved safely (plan blockers, or such pods
 * appearing mid-drain); `deadline`: the drain's deadline passed; `multiple-pdbs`: a pod is selected by
 * more than one PDB (the Eviction API refuses it); `never-allows`: a PDB that can never allow a
 * disruption covers pool pods; `soak`: a moved workload fell below its PDB floor during a soak;
 * `re-evictions`: a workload's pods kept coming back to the cordoned pool (they tolerate
 * node.kubernetes.io/unschedulable) past the bound on re-evictions (cordonToleration.ts);
 * `aborted`: the caller's signal (Ctrl-C, the provider host's SIGINT); `api-error`: the API server
 * failed or refused a request the drain needs.
 */
export type DrainFailureReason = "blocked" | "deadline" | "multiple-pdbs" | "never-allows" | "soak" | "re-evictions" | "aborted" | "api-error";

/** Every DrainFailureReason, in documentation order. */
export const DRAIN_FAILURE_REASONS: readonly DrainFailureReason[] = ["blocked", "deadline", "multiple-pdbs", "never-allows", "soak", "re-evictions", "aborted", "api-error"];

/** What a drain that reached its deadline was doing and waiting for (deadlineDetail words it). */
export interface DeadlineWait {
  /** The deadline, in seconds from the start. */
  seconds: number;
  /** What the drain was doing ("evicting", "waiting for Job pods to complete", ...). */
  what: string;
  /** PDBs the pods left are parked on. */
  pdbs: string[];
  /** The implicit budget's setting ("25%") and the workloads without a PDB parked on it. */
  implicit: { setting: string; workloads: { workload: string; ready: number; floor: number }[] };
  /** Pods (namespace/name) still on the pool. */
  pods: string[];
  /** Anything else it waited for (DaemonSets on the replacement, workloads not Ready again). */
  waitingFor: string[];
  /** Advice appended last (advice.ts, e.g. unready pods a PDB holds under IfHealthyBudget). */
  hint?: string;
}

/** The detail of a `deadline` failure (docs/troubleshooting.md quotes it). */
export function deadlineDetail(w: DeadlineWait): string {
  const { pdbs, pods, waitingFor } = w;
  const implicit = w.implicit.workloads;
  return `deadline of ${w.seconds}s reached while ${w.what}` +
    (pdbs.length ? `; blocked by PodDisruptionBudget(s) ${pdbs.join(", ")}` : "") +
    (implicit.length ? `; blocked by the implicit budget (${w.implicit.setting}) of workload(s) without a PDB: ${implicit.map((i) => `${i.workload} (${i.ready} Ready, floor ${i.floor})`).join(", ")}` : "") +
    (pods.length ? `; pods still on the pool: ${pods.slice(0, 20).join(", ")}${pods.length > 20 ? ` and ${pods.length - 20} more` : ""}` : "") +
    (waitingFor.length ? `; waiting for ${waitingFor.join(", ")}` : "") + (w.hint ? `; ${w.hint}` : "");
}

/** The structured fields of a DrainError. */
export interface DrainErrorFields {
  reason: DrainFailureReason;
  /** What stopped the drain, one sentence-ish, without anything about the nodes' state. */
  detail: string;
  /** PDBs (namespace/name) that blocked. */
  blockingPdbs?: string[];
  /** Pods (namespace/name) that blocked. */
  blockingPods?: string[];
  /** Each reason the drain refused (the plan's blockers, or pods that cannot move), one per entry; `detail` joins them with "; ". */
  blockers?: string[];
  /** Nodes the drain uncordoned while failing closed. */
  uncordoned?: string[];
  /** Nodes still cordoned when the drain gave up: left so on purpose (`keepCordoned`) or because the uncordon failed. */
  stillCordoned?: string[];
  /** True when the caller asked to keep the nodes cordoned (`DrainOptions.keepCordoned`). */
  keptCordoned?: boolean;
  summary: DrainSummary;
}

/**
 * Thrown by drainPool: why it stopped, what blocked it, which nodes it uncordoned and which are still
 * cordoned. `message` is derived from the fields (detail + the nodes' state), for callers that print
 * one line; doors that say more format from the fields.
 */
export class DrainError extends Error {
  readonly reason: DrainFailureReason;
  readonly detail: string;
  readonly blockingPdbs: string[];
  readonly blockingPods: string[];
  readonly blockers: string[];
  readonly uncordoned: string[];
  readonly stillCordoned: string[];
  readonly keptCordoned: boolean;
  readonly summary: DrainSummary;
  constructor(f: DrainErrorFields) {
    const uncordoned = f.uncordoned ?? [];
    const still = f.stillCordoned ?? [];
    const tail = f.keptCordoned ? ` Nodes left cordoned (keepCordoned): ${still.join(", ") || "none"}.`
      : uncordoned.length ? ` Uncordoned ${uncordoned.join(", ")}.` : "";
    super(tail ? `${sentence(f.detail)}${tail}` : f.detail);
    this.name = "DrainError";
    this.reason = f.reason;
    this.detail = f.detail;
    this.blockingPdbs = f.blockingPdbs ?? [];
    this.blockingPods = f.blockingPods ?? [];
    this.blockers = f.blockers ?? [];
    this.uncordoned = uncordoned;
    this.stillCordoned = still;
    this.keptCordoned = f.keptCordoned ?? false;
    this.summary = f.summary;
  }
}

/** `text` ending with a full stop (unless it ends with one already), so a following sentence reads as one. */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** True for a DrainError from any copy of the engine (see the module comment). */
export function isDrainError(e: unknown): e is DrainError {
  return e instanceof Error && e.name === "DrainError" && Array.isArray((e as DrainError).uncordoned) && typeof (e as DrainError).detail === "string";
}

/**
 * A failure before the drain started whose fix is known: `advice` replaces the doors' generic retry
 * advice (e.g. an invalid drain override: "Fix or remove the override ...").
 */
export class AdvisedError extends Error {
  constructor(message: string, readonly advice: string) {
    super(message);
    this.name = "AdvisedError";
  }
}

/**
 * The drain did not return at its deadline plus a margin (a backstop that should never fire): its
 * nodes may still be cordoned.
 */
export class DrainHardStopError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DrainHardStopError";
  }
}

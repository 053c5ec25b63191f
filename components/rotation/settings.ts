/**
 * The stack's drain settings (`nodepool-rotation:drain`: minutes, seconds) as the rotation
 * engine's DrainOptions (milliseconds). One mapping for both doors that drain before a pool is
 * deleted: the PoolDrainer's delete (components/poolDrainer.ts, which loads it from the engine
 * bundle its stored code carries) and the pool guard hook (components/poolGuard.ts).
 */
import type { DefaultBudget } from "./budget";
import { DrainOptions, ROLE_LABEL } from "./types";

/** Default of `deadlineMinutes`. */
export const DEFAULT_DEADLINE_MINUTES = 60;

/** Drain settings as stack config holds them (components/config.ts DrainConfig extends this). */
export interface DrainSettings {
  /** Whole-drain deadline in minutes, enforced by the drain itself (the provider host ignores customTimeouts). Default 60. */
  deadlineMinutes?: number;
  /** Maximum pods being disrupted at once (evictions in flight + evicted pods terminating). Default 20. */
  concurrency?: number;
  /** Drain the pool in batches: a node count (2 or "2") or a percentage ("25%"). Default: whole pool at once. */
  batch?: number | string;
  /** Seconds to wait between batches. */
  batchSoakSeconds?: number;
  /** After the last eviction, seconds during which every moved workload must stay at or above its PDB floor. */
  soakSeconds?: number;
  /** Wait for moved workloads to be Ready again before reporting success. */
  waitForReady?: boolean;
  /** Evict pods that use emptyDir volumes (their emptyDir data is lost), like `kubectl drain --delete-emptydir-data`. */
  deleteEmptyDirData?: boolean;
  /**
   * Implicit disruption budget of workloads no PodDisruptionBudget selects: an integer >= 1 (pods),
   * a percentage "N%" of the controller's replicas (1..100, rounded up, at least 1), or "none"
   * (evict them all at once, like kubectl drain). Default "25%". One definition: budget.ts.
   */
  defaultBudget?: DefaultBudget;
}

/**
 * DrainOptions for draining `pool` before its deletion: replacement nodes are those of the same
 * `role` (when known), and a failed drain always uncordons (`keepCordoned: false`): the deletion is
 * then refused and the pool must keep serving.
 */
export function drainOptionsFor(pool: string, role: string | undefined, s: DrainSettings): DrainOptions & { deadlineMs: number } {
  return {
    pool,
    ...(role ? { replacementSelector: `${ROLE_LABEL}=${role}` } : {}),
    deleteEmptyDirData: s.deleteEmptyDirData,
    defaultBudget: s.defaultBudget,
    deadlineMs: (s.deadlineMinutes ?? DEFAULT_DEADLINE_MINUTES) * 60_000,
    concurrency: s.concurrency,
    batch: s.batch !== undefined ? String(s.batch) : undefined,
    batchSoakMs: s.batchSoakSeconds !== undefined ? s.batchSoakSeconds * 1000 : undefined,
    soakMs: s.soakSeconds !== undefined ? s.soakSeconds * 1000 : undefined,
    waitForReady: s.waitForReady,
    keepCordoned: false,
    knobs: "stack", // blockers name stack config / the override, not CLI flags (filters.ts KNOBS)
  };
}

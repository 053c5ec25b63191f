/**
 * Availability evidence from the drain's own pod watch: for every workload the drain moves, its
 * Ready pods over time, recorded at each change (never sampled), so "ms below floor" and "ms at
 * zero" are exact to the event loop's clock, as seen through the watch. Ready = condition
 * Ready=True and not terminating (what the disruption controller counts as healthy and what
 * endpoints route to). On a real cluster this is the operator's proof the rotation kept service up.
 * The simulator's report (tests/simulator/report.ts) measures the same quantities on the server's
 * side with the same transition arithmetic; the two stay separate on purpose: one checks the other.
 */
import { performance } from "node:perf_hooks";

/** One workload's availability over a drain (DrainSummary.availability). */
export interface WorkloadAvailability {
  /** "<ns>/<Kind>/<name>" (Deployment resolved from its ReplicaSets). */
  workload: string;
  /** Expected pods: the controller's spec.replicas (or the PDB's expected pods). */
  replicas: number;
  /** Minimum Ready pods the drain promised to keep. */
  floor: number;
  /** Where the floor comes from: "pdb <ns>/<name>", "implicit 25%", or "none" (no budget). */
  floorSource: string;
  /** Fewest Ready pods seen while the drain ran. */
  minReady: number;
  /** Time spent with fewer Ready pods than the floor. */
  msBelowFloor: number;
  /** Time spent with no Ready pod at all. */
  msAtZero: number;
  /** Ready pods when the drain started recording this workload (a dip it did not cause shows here). */
  readyAtStart: number;
  /** Ready pods when the drain ended (a dip still going on shows here). */
  readyAtEnd: number;
}

/** The floor in force for a workload right now. */
export interface FloorInfo { replicas: number; floor: number; source: string }

interface Track {
  floor: FloorInfo;
  readyAtStart: number;
  minReady: number;
  msBelow: number;
  msZero: number;
  lastT: number;
  below: boolean;
  zero: boolean;
}

/**
 * Ready pods per workload (every workload, for the eviction gate) and, for the workloads the drain
 * tracks, the time-integrated evidence. Feed it every pod change with the pod's workload when the
 * pod counts as Ready (undefined otherwise).
 */
export class AvailabilityTracker {
  private readonly readyPods = new Map<string, string>(); // pod key -> workload it is counted in
  private readonly readyCount = new Map<string, number>();
  private readonly tracks = new Map<string, Track>();
  private stoppedAt?: number;

  /** `floorOf` says which floor applies to a tracked workload now (re-read by refresh()). */
  constructor(private readonly floorOf: (workload: string) => FloorInfo) {}

  /** Ready pods of a workload right now. */
  ready(workload: string): number {
    return this.readyCount.get(workload) ?? 0;
  }

  /** Whether a workload's evidence is being recorded. */
  isTracked(workload: string): boolean {
    return this.tracks.has(workload);
  }

  /** Starts recording a workload (from its current Ready count). */
  track(workload: string): void {
    if (this.tracks.has(workload) || this.stoppedAt !== undefined) return;
    const t: Track = { floor: this.floorOf(workload), readyAtStart: this.ready(workload), minReady: this.ready(workload), msBelow: 0, msZero: 0, lastT: performance.now(), below: false, zero: false };
    this.tracks.set(workload, t);
    this.transition(workload, t, t.lastT);
  }

  /**
   * A pod changed: `readyIn` is the workload it now counts for as Ready, or undefined (not Ready,
   * terminating, deleted, or no workload). Returns the workloads whose Ready count changed.
   */
  pod(key: string, readyIn: string | undefined): string[] {
    const was = this.readyPods.get(key);
    if (was === readyIn) return [];
    const now = performance.now();
    const changed: string[] = [];
    if (was !== undefined) {
      this.readyPods.delete(key);
      this.readyCount.set(was, this.ready(was) - 1);
      changed.push(was);
    }
    if (readyIn !== undefined) {
      this.readyPods.set(key, readyIn);
      this.readyCount.set(readyIn, this.ready(readyIn) + 1);
      changed.push(readyIn);
    }
    for (const w of changed) { const t = this.tracks.get(w); if (t) this.transition(w, t, now); }
    return changed;
  }

  /**
   * Replaces every pod (a list or re-list, or pods re-resolved to other workloads); evidence is
   * carried over, each tracked workload transitions once to its new count.
   */
  resetPods(entries: Iterable<[string, string | undefined]>): void {
    this.readyPods.clear();
    this.readyCount.clear();
    for (const [k, w] of entries) {
      if (w === undefined) continue;
      this.readyPods.set(k, w);
      this.readyCount.set(w, this.ready(w) + 1);
    }
    const now = performance.now();
    for (const [w, t] of this.tracks) this.transition(w, t, now);
  }

  /** Re-reads the floors of tracked workloads (a PDB or a controller changed); all when `only` is absent. */
  refresh(only?: (workload: string) => boolean): void {
    const now = performance.now();
    for (const [w, t] of this.tracks) {
      if (only && !only(w)) continue;
      t.floor = this.floorOf(w);
      this.transition(w, t, now);
    }
  }

  /** Tracked workloads whose Ready pods are below their floor now. */
  belowFloor(): { workload: string; ready: number; floor: FloorInfo }[] {
    return [...this.tracks].filter(([, t]) => t.below).map(([w, t]) => ({ workload: w, ready: this.ready(w), floor: t.floor }));
  }

  /** Stops the clock (the drain ended); later changes are not recorded. */
  stop(): void {
    if (this.stoppedAt !== undefined) return;
    const now = performance.now();
    for (const [w, t] of this.tracks) this.transition(w, t, now);
    this.stoppedAt = now;
  }

  /** The evidence so far, sorted by workload. */
  rows(): WorkloadAvailability[] {
    const now = this.stoppedAt ?? performance.now();
    const ms = (v: number) => Math.round(v * 1000) / 1000;
    return [...this.tracks].sort(([a], [b]) => a.localeCompare(b)).map(([w, t]) => {
      const extra = this.stoppedAt !== undefined ? 0 : now - t.lastT;
      return {
        workload: w,
        replicas: t.floor.replicas,
        floor: t.floor.floor,
        floorSource: t.floor.source,
        minReady: t.minReady,
        msBelowFloor: ms(t.msBelow + (t.below ? extra : 0)),
        msAtZero: ms(t.msZero + (t.zero ? extra : 0)),
        readyAtStart: t.readyAtStart,
        readyAtEnd: this.ready(w),
      };
    });
  }

  private transition(w: string, t: Track, now: number): void {
    if (this.stoppedAt !== undefined) return;
    if (t.below) t.msBelow += now - t.lastT;
    if (t.zero) t.msZero += now - t.lastT;
    t.lastT = now;
    const ready = this.ready(w);
    t.minReady = Math.min(t.minReady, ready);
    t.below = ready < t.floor.floor;
    t.zero = ready === 0 && t.floor.replicas > 0;
  }
}

/** Human lines for availability rows (CLI summary, the drainer's stderr, the rehearsal). */
export function formatAvailability(rows: WorkloadAvailability[]): string[] {
  if (!rows.length) return ["availability: no workload was moved"];
  return rows.map((r) =>
    `availability ${r.workload}: ${r.replicas} replica(s), floor ${r.floor} (${r.floorSource}), min Ready ${r.minReady}, ` +
    `${fmtMs(r.msBelowFloor)} below floor, ${fmtMs(r.msAtZero)} at zero, ${r.readyAtEnd} Ready at the end (${r.readyAtStart} at the start)` +
    (r.msAtZero > 0 ? (r.readyAtStart === 0 ? "  (already at zero when the drain started)" : "  OUTAGE")
      : r.msBelowFloor > 0 ? (r.readyAtStart < r.floor ? "  (already below its floor when the drain started)" : "  BELOW FLOOR") : ""));
}

function fmtMs(v: number): string {
  return `${v === 0 ? 0 : v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
}

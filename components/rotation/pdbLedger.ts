/**
 * The PDB ledger: how many disruptions each PodDisruptionBudget lets this drain start now, given its
 * last watched status and the evictions this drain sent that the status may not reflect yet.
 *
 * Invariant: for each PDB, `unsettled` holds exactly our evictions that were admitted (in flight:
 * time 0) or accepted (time of the answer) and that the PDB's status does not show yet; `available`
 * = status.disruptionsAllowed − |unsettled| (at least one probe after a 429's Retry-After). An
 * entry leaves when the status lists the pod in `status.disruptedPods` (the API server records an
 * eviction there in the same update that decrements disruptionsAllowed, eviction.go), when a newer
 * status arrives on a server that does not report disruptedPods, 10 s after acceptance (a status
 * that never reflects it), or when the eviction was refused or lost (no budget used).
 *
 * Admit-or-park: `admit` reserves one disruption for a pod or says no (the caller parks the pod on
 * the PDB). One ledger per drain today; the ledger is the place where drains of one cluster would
 * share their accounting.
 */
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { Clock } from "./clock";

/** After this long an accepted eviction stops counting against a PDB whose status never shows it. */
export const UNSETTLED_MAX_MS = 10_000;

/** See the module comment. */
export class PdbLedger {
  /** PDB -> pod name -> when our eviction was accepted (0 = still in flight). */
  private readonly unsettled = new Map<string, Map<string, number>>();
  /** PDB -> when its status was last seen. */
  private readonly seenAt = new Map<string, number>();
  /** Whether this API server reports status.disruptedPods (then it, not a newer status, settles an eviction). */
  private serverReportsDisruptedPods = false;
  /** PDB -> when a budget that answered 429 may be probed again (Retry-After). */
  private readonly probeAt = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** A PDB's status was seen (list or watch event): settles what it reflects. */
  seen(k: string, pdb: V1PodDisruptionBudget | undefined): void {
    this.seenAt.set(k, this.clock.now());
    if (Object.keys(pdb?.status?.disruptedPods ?? {}).length) this.serverReportsDisruptedPods = true;
    this.settle(k, pdb);
  }

  /** A PDB changed on the watch: news instead of waiting for a probe. */
  changed(k: string, pdb: V1PodDisruptionBudget | undefined): void {
    this.seen(k, pdb);
    this.probeAt.delete(k);
  }

  /** Drops our evictions that the PDB's status now reflects. */
  private settle(k: string, pdb: V1PodDisruptionBudget | undefined): void {
    const u = this.unsettled.get(k);
    if (!u) return;
    const disrupted = pdb?.status?.disruptedPods ?? {};
    const seenAt = this.seenAt.get(k) ?? 0;
    for (const [name, t] of u) {
      if (disrupted[name] !== undefined) u.delete(name);
      else if (t > 0 && (this.clock.now() - t > UNSETTLED_MAX_MS || (!this.serverReportsDisruptedPods && seenAt > t))) u.delete(name);
    }
  }

  /** Disruptions the PDB allows us to start now: its watched status minus our evictions it does not reflect yet. */
  available(k: string, pdb: V1PodDisruptionBudget): number {
    const st = pdb.status;
    // No status yet: probe one at a time, the server decides. Stale status (observedGeneration behind
    // generation): the server answers 429 until the controller catches up, and its next status is a
    // watch event, so wait for that.
    const stale = st?.observedGeneration !== undefined && pdb.metadata?.generation !== undefined && st.observedGeneration < pdb.metadata.generation;
    const allowed = typeof st?.disruptionsAllowed !== "number" ? 1 : stale ? 0 : st.disruptionsAllowed;
    this.settle(k, pdb);
    const left = allowed - (this.unsettled.get(k)?.size ?? 0);
    if (left > 0) return left;
    const probe = this.probeAt.get(k);
    return probe !== undefined && this.clock.now() >= probe ? 1 : 0; // Retry-After elapsed with no news: try once more
  }

  /** Admit-or-park: reserves one disruption of PDB `k` for `podName` and returns true, or returns false (park it). */
  admit(k: string, pdb: V1PodDisruptionBudget, podName: string): boolean {
    if (this.available(k, pdb) <= 0) return false;
    (this.unsettled.get(k) ?? this.unsettled.set(k, new Map()).get(k)!).set(podName, 0);
    this.probeAt.delete(k);
    return true;
  }

  /** The eviction admitted for `podName` was accepted at `at`: it counts until the status shows it. */
  accepted(k: string, podName: string, at: number): void {
    const u = this.unsettled.get(k);
    if (u?.has(podName)) u.set(podName, at);
  }

  /** The eviction was refused, found the pod gone, or was lost: it used no budget. */
  released(k: string, podName: string): void {
    this.unsettled.get(k)?.delete(podName);
  }

  /** The PDB answered 429: probe it again at `retryAt` unless its status changes first. */
  rejected(k: string, retryAt: number): void {
    this.probeAt.set(k, retryAt);
  }

  /** The earliest time after `now` at which a budget may open without an event (probe, unsettled expiry), or Infinity. */
  nextTimer(now: number): number {
    let t = Infinity;
    for (const p of this.probeAt.values()) if (p > now) t = Math.min(t, p);
    for (const u of this.unsettled.values()) for (const at of u.values()) if (at > 0 && at + UNSETTLED_MAX_MS > now) t = Math.min(t, at + UNSETTLED_MAX_MS + 1);
    return t;
  }
}

/**
 * The implicit budget of workloads no PodDisruptionBudget selects (budget.ts), enforced by the drain
 * since nothing on the server does: Ready pods of the workload anywhere, minus the evictions this
 * drain sent that its pod watch does not show yet, minus those other drains of the cluster reserved
 * (in this process, sharedBudget.ts; in other processes, through the Lease budgetLease.ts) that the
 * watch still shows Ready, must stay at or above the floor after this eviction. An unready pod
 * serves nothing, so evicting it costs nothing: it is always allowed, as with a PDB's
 * unhealthyPodEvictionPolicy AlwaysAllow, which Kubernetes recommends for drains (blog
 * "Kubernetes 1.26: Eviction policy for unhealthy pods guarded by PodDisruptionBudgets"); a
 * crash-looping workload does not block the rotation.
 *
 * Invariant: every pod admitted here is reserved under this drain's holder before its eviction goes
 * out, and released when its disruption shows (not Ready or deleted: `podChanged`), when the eviction
 * fails, or at the end (`close`); within a pass (`beginPass` ... `admit`) a workload's allowance only
 * goes down. Across processes an admitted pod waits in `pending` (counted in flight by the drain)
 * until the Lease write confirms it; one Lease read or write at a time (`busy`).
 */
import type { KubeConfig, V1Pod } from "@kubernetes/client-node";
import { DefaultBudget, ImplicitBudget, implicitBudget, implicitLabel } from "./budget";
import { BUDGET_LEASE, LeaseBudget, leaseBudgetFor } from "./budgetLease";
import { errorText } from "./client";
import { isHealthy, keyOf } from "./pdb";
import type { PodCache, PodState } from "./podCache";
import type { PodFacts } from "./podFacts";
import { budgetWaitLine, clusterKeyOf, ProcessBudget, processBudgetFor, Reservation, unreflected } from "./sharedBudget";
import type { Controllers } from "./workloads";

/** What the implicit budget answers for a healthy pod of a workload without a PDB. */
export type ImplicitAdmission =
  | { kind: "send" }
  | { kind: "park"; workload: string }
  /** Across processes: reserved here, sent once the Lease write confirms it (see `queue`, `flush`). */
  | { kind: "lease"; reservation: Reservation };

/** An admitted pod waiting for its Lease write. */
export interface LeaseWait { pod: V1Pod; s: PodState; r: Reservation }

/** What the implicit budgets read from the rest of the drain. */
export interface ImplicitSources {
  kc: KubeConfig;
  pool: string;
  facts: PodFacts;
  cache: PodCache;
  controllers: Controllers;
  /** Ready pods of a workload anywhere in the cluster (availability.ts tracker). */
  ready(workload: string): number;
  log(line: string): void;
  /** Counts a Lease request with the drain's other requests. */
  count(kind: string): void;
}

/** See the module comment. */
export class ImplicitBudgets {
  /** This drain's name in the accounting shared by the drains of its cluster. */
  private readonly holder: string;
  private readonly shared: ProcessBudget;
  /** Across processes; undefined: "process" sharing, no workload without a PDB, or the Lease is unusable. */
  private lease?: LeaseBudget;
  /** Admitted pods waiting for their Lease write. */
  private pending: LeaseWait[] = [];
  /** A Lease read or write is under way. */
  private busy = false;
  /** This drain published in the Lease (its entry is removed at the end). */
  private leaseUsed = false;
  private leaseReadAt = 0;
  /** Last wait line per workload (logged when it changes). */
  private readonly waitLines = new Map<string, string>();
  /** Per pass: evictions each workload may still start (undefined: no implicit budget). */
  private left = new Map<string, number | undefined>();
  /** Per pass, on first use: this drain's evictions per workload the pod watch does not show yet. */
  private ownUnreflected?: Map<string, number>;

  constructor(private readonly src: ImplicitSources, readonly setting: DefaultBudget, sharing: "cluster" | "process" | undefined) {
    this.holder = `${src.pool}#${Math.random().toString(36).slice(2, 8)}`;
    this.shared = processBudgetFor(clusterKeyOf(src.kc));
    if (setting !== "none" && sharing !== "process") this.lease = leaseBudgetFor(src.kc);
  }

  /** After the plan: without a workload to budget there is nothing to share; else read the Lease once. */
  async start(anyImplicit: boolean): Promise<void> {
    if (this.lease && !anyImplicit) this.lease = undefined;
    if (!this.lease) return;
    try {
      await this.lease.refresh((k) => this.src.count(k));
    } catch (e) {
      this.leaseFailed(e);
    }
  }

  /** The implicit budget of a workload no PDB selects, or undefined ("none", or no scalable controller). */
  budgetOf(w: string): ImplicitBudget | undefined {
    const replicas = this.src.controllers.replicas(w);
    return replicas === undefined ? undefined : implicitBudget(this.setting, replicas);
  }

  /** "implicit 25%": the source of an implicit floor, as the availability evidence names it. */
  get label(): string {
    return implicitLabel(this.setting);
  }

  /** Starts a pass of the pump; re-reads the Lease (at most once a second) while other processes hold reservations. */
  beginPass(now: number, wake: () => void): void {
    this.left = new Map();
    this.ownUnreflected = undefined;
    if (!this.lease || this.busy || now - this.leaseReadAt < 1000 || !this.lease.remoteAll().length) return;
    this.leaseReadAt = now;
    this.busy = true;
    this.lease.refresh((k) => this.src.count(k)).catch((e) => this.leaseFailed(e)).finally(() => { this.busy = false; wake(); });
  }

  /** Admit-or-park for a pod no PDB selects (see the module comment). */
  admit(pod: V1Pod): ImplicitAdmission {
    const w = isHealthy(pod) ? this.src.facts.workload(pod) : undefined;
    if (w && !this.left.has(w)) {
      const b = this.budgetOf(w);
      this.ownUnreflected ??= this.unreflectedEvictions();
      const others = b ? this.othersUnreflected(w, (x) => this.shared.others(this.holder, x)) : [];
      const mine = b ? this.src.ready(w) - (this.ownUnreflected.get(w) ?? 0) - b.floor : undefined;
      this.left.set(w, mine === undefined ? undefined : mine - others.length);
      if (b && others.length && mine! >= 1) this.waitLine(w, others, b.floor);
    }
    const left = w ? this.left.get(w) : undefined;
    if (!w || left === undefined) return { kind: "send" };
    if (left < 1) return { kind: "park", workload: w };
    this.left.set(w, left - 1);
    const r: Reservation = { pod: keyOf(pod), uid: pod.metadata?.uid ?? "", workload: w, holder: this.holder, pool: this.src.pool };
    this.shared.reserve(this.holder, [r], (x) => [...x]); // recorded before the eviction goes out
    return this.lease ? { kind: "lease", reservation: r } : { kind: "send" };
  }

  /** An admitted pod waits for its Lease write (the drain counts it in flight meanwhile). */
  queue(wait: LeaseWait): void {
    this.pending.push(wait);
  }

  /**
   * Publishes the pending admissions in the Lease, re-checked against the other processes'
   * reservations as the write reads them. `answered` is told each one's outcome ("granted",
   * "refused" by the re-check, or "failed": the Lease is unusable) and returns whether it sent the
   * eviction; those it did not send are released (a refused one parks on its workload). `wake` runs
   * when the write is over.
   */
  flush(answered: (wait: LeaseWait, outcome: "granted" | "refused" | "failed") => boolean, wake: () => void): void {
    if (!this.pending.length || this.busy) return;
    const batch = this.pending;
    this.pending = [];
    if (!this.lease) { // it became unusable since they were admitted: they go back to the next pass
      for (const wait of batch) { answered(wait, "failed"); this.shared.release(this.holder, [wait.r.pod]); }
      return;
    }
    this.busy = true;
    this.leaseUsed = true;
    const admit = (wanted: readonly Reservation[], others: (w: string) => Reservation[]): Reservation[] => {
      const out: Reservation[] = [];
      const own = this.unreflectedEvictions(); // counts `wanted` too (in flight): taken out below
      const left = new Map<string, number>();
      for (const r of wanted) {
        if (!this.readyHere(r.pod, r.uid)) { out.push(r); continue; }
        if (!left.has(r.workload)) {
          const b = this.budgetOf(r.workload);
          const mine = wanted.filter((x) => x.workload === r.workload && this.readyHere(x.pod, x.uid)).length;
          left.set(r.workload, b ? this.src.ready(r.workload) - ((own.get(r.workload) ?? 0) - mine) - this.othersUnreflected(r.workload, others).length - b.floor : Infinity);
        }
        const l = left.get(r.workload)!;
        if (l >= 1) { out.push(r); left.set(r.workload, l - 1); }
      }
      return out;
    };
    this.lease.reserve(this.holder, batch.map((b) => b.r), admit, (k) => this.src.count(k)).then((granted) => {
      const ok = new Set(granted.map((r) => r.pod));
      for (const wait of batch) {
        if (answered(wait, ok.has(wait.r.pod) ? "granted" : "refused")) continue;
        this.shared.release(this.holder, [wait.r.pod]);
        wait.s.parkedOnWorkload = wait.r.workload;
        this.waitLine(wait.r.workload, this.othersUnreflected(wait.r.workload, (x) => this.shared.others(this.holder, x)), this.budgetOf(wait.r.workload)?.floor ?? 0);
      }
    }, (e) => {
      this.leaseFailed(e);
      for (const wait of batch) { answered(wait, "failed"); this.shared.release(this.holder, [wait.r.pod]); }
    }).finally(() => { this.busy = false; wake(); });
  }

  /** A pod's disruption now shows in every drain's watch (deleted, or not Ready), or its eviction failed: its reservation goes. */
  release(podKey: string): void {
    this.shared.release(this.holder, [podKey]);
  }

  /** The earliest time to re-read the Lease to see other processes' reservations go, or Infinity. */
  nextTimer(now: number): number {
    return this.lease?.remoteAll().length ? Math.max(now, this.leaseReadAt + 1001) : Infinity;
  }

  /** Drops this drain's reservations, in this process and in the Lease (the end of the drain). */
  async close(): Promise<void> {
    this.shared.releaseAll(this.holder);
    if (!this.leaseUsed || !this.lease) return;
    try {
      await this.lease.close(this.holder, (k) => this.src.count(k));
    } catch (e) {
      this.src.log(`warning: could not update the Lease ${BUDGET_LEASE.namespace}/${BUDGET_LEASE.name}: ${errorText(e, this.src.kc)} (its entry expires on its own)`);
    }
  }

  /** Whether this drain's pod watch shows `key` (with this UID) Ready: a disruption it does not reflect yet. */
  private readyHere(key: string, uid: string): boolean {
    const p = this.src.cache.pods.get(key);
    return !!p && p.metadata?.uid === uid && isHealthy(p);
  }

  /** Other drains' reservations on a workload that this drain's watch still shows Ready. */
  private othersUnreflected(w: string, others: (workload: string) => Reservation[]): Reservation[] {
    return unreflected(others(w), (key, uid) => this.readyHere(key, uid));
  }

  /** The wait line when another drain holds a workload's budget (logged when it changes). */
  private waitLine(w: string, held: Reservation[], floor: number): void {
    const line = budgetWaitLine(w, held, { ready: this.src.ready(w), floor });
    if (this.waitLines.get(w) === line) return;
    this.waitLines.set(w, line);
    this.src.log(line);
  }

  /** The Lease cannot be used (RBAC, a server without coordination.k8s.io): share within this process only. */
  private leaseFailed(e: unknown): void {
    if (!this.lease) return;
    this.src.log(`warning: cannot use the Lease ${BUDGET_LEASE.namespace}/${BUDGET_LEASE.name} (${errorText(e, this.src.kc)}): the implicit budget is shared with the drains of this process only`);
    this.lease = undefined;
  }

  /** Per workload, pool pods this drain is evicting (in flight or accepted) that the pod watch still shows Ready. */
  private unreflectedEvictions(): Map<string, number> {
    const out = new Map<string, number>();
    for (const pod of this.src.cache.poolPods.values()) {
      const s = this.src.cache.stateOf(pod.metadata?.uid);
      if (!s || !(s.inflight || s.evictedAt) || !isHealthy(pod)) continue;
      const w = this.src.facts.workload(pod);
      if (w) out.set(w, (out.get(w) ?? 0) + 1);
    }
    return out;
  }
}

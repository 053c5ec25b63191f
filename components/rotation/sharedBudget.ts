/**
 * Implicit-budget accounting shared by every drain of one cluster (issue 19 case 2).
 *
 * Nothing on the API server enforces the implicit budget (budget.ts): only the drains do. Two drains
 * of one cluster at once — two roles in one `pulumi up` (all drainers run in one dynamic-provider
 * host), or two processes — each see a 2-replica workload with 2 Ready pods and floor 1, and each
 * evicts one pod: 0 Ready. So a drain records each eviction of a PDB-less workload's pod as a
 * reservation BEFORE sending it, and counts the other drains' reservations against the workload's
 * budget until its own pod watch shows their pods not Ready (then its Ready count already reflects
 * them; counting both would be double).
 *
 * In one process the reservations live in a registry keyed by cluster (its API server URL), kept on
 * `globalThis` so that every copy of this module the provider host may load shares it. Across
 * processes the registry's reservations are published in a coordination.k8s.io Lease (budgetLease.ts).
 */
import type { KubeConfig } from "@kubernetes/client-node";

/** One eviction of a PDB-less workload's pod that a drain has started (or is about to). */
export interface Reservation {
  /** "<ns>/<name>" of the pod. */
  pod: string;
  /** The pod's UID (a pod re-created under its name is another pod). */
  uid: string;
  /** "<ns>/<Kind>/<name>" of its workload. */
  workload: string;
  /** The drain holding it (its identity: pool and process). */
  holder: string;
  /** The pool that drain drains, for the wait line. */
  pool: string;
}

/**
 * Of other drains' reservations on a workload, those this drain's pod cache still shows Ready (with
 * the same UID): its Ready count does not reflect them yet, so they count against the budget.
 */
export function unreflected(others: readonly Reservation[], isReady: (pod: string, uid: string) => boolean): Reservation[] {
  return others.filter((r) => isReady(r.pod, r.uid));
}

/**
 * Disruptions a PDB-less workload still allows this drain: Ready pods it sees, minus its own
 * evictions its watch does not show yet, minus other drains' reservations it does not show yet, minus
 * the floor.
 */
export function implicitLeft(o: { ready: number; floor: number; ownUnreflected: number; othersUnreflected: number }): number {
  return o.ready - o.ownUnreflected - o.othersUnreflected - o.floor;
}

/** The progress line of a pod waiting because another drain holds the workload's budget. */
export function budgetWaitLine(workload: string, held: readonly Reservation[], o: { ready: number; floor: number }): string {
  const by = new Map<string, number>();
  for (const r of held) by.set(`${r.pool} (${r.holder})`, (by.get(`${r.pool} (${r.holder})`) ?? 0) + 1);
  const who = [...by].map(([h, n]) => `${n} by the drain of pool ${h}`).join(", ");
  // A Lease refusal whose cause already shows in this drain's watch (the other drain's evicted pods are
  // no longer Ready) leaves no unreflected reservation to name: say what the count is, not "()".
  if (!held.length) return `waiting for the implicit budget of ${workload}: ${o.ready} Ready, floor ${o.floor}; another drain's disruptions of it (in the budget Lease) leave none for this drain`;
  return `waiting for the implicit budget of ${workload}: ${o.ready} Ready, floor ${o.floor}, ${held.length} disruption(s) in progress by another drain (${who})`;
}

/** The key of a cluster: its API server URL. */
export function clusterKeyOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? "default";
}

/** Reservations from outside this process (budgetLease.ts), merged into `others`. */
export interface RemoteReservations {
  /** Live reservations of other processes on a workload, as last read. */
  remote(workload: string): Reservation[];
}

/**
 * The reservations of every drain in this process for one cluster. Invariant: a pod has at most one
 * reservation, owned by the drain that reserved it; `others(holder, w)` never returns the holder's own.
 * Synchronous: a check-and-reserve inside one call cannot interleave with another drain's.
 */
export class ProcessBudget {
  private readonly byPod = new Map<string, Reservation>();
  /** Set by budgetLease.ts when this cluster's reservations are shared across processes. */
  remote?: RemoteReservations;

  /** Other drains' reservations on a workload: this process's and, with a Lease, other processes'. */
  others(holder: string, workload: string): Reservation[] {
    const out: Reservation[] = [];
    for (const r of this.byPod.values()) if (r.workload === workload && r.holder !== holder) out.push(r);
    return this.remote ? out.concat(this.remote.remote(workload)) : out;
  }

  /**
   * Reserves what `admit` grants of `wanted`, given the other drains' reservations on their
   * workloads, in one synchronous step. Returns the granted ones (now recorded).
   */
  reserve(holder: string, wanted: readonly Reservation[], admit: (wanted: readonly Reservation[], others: (workload: string) => Reservation[]) => Reservation[]): Reservation[] {
    const granted = admit(wanted.filter((r) => !this.byPod.has(r.pod) || this.byPod.get(r.pod)!.holder === holder), (w) => this.others(holder, w));
    for (const r of granted) this.byPod.set(r.pod, { ...r, holder });
    return granted;
  }

  /** Drops reservations of `holder` for these pods (their disruption is visible, or the eviction was refused). */
  release(holder: string, pods: Iterable<string>): void {
    for (const p of pods) if (this.byPod.get(p)?.holder === holder) this.byPod.delete(p);
  }

  /** Drops every reservation of `holder` (its drain ended). */
  releaseAll(holder: string): void {
    for (const [p, r] of this.byPod) if (r.holder === holder) this.byPod.delete(p);
  }

  /** Every reservation held in this process (what budgetLease.ts publishes). */
  all(): Reservation[] {
    return [...this.byPod.values()];
  }

  /** A holder's own reservations. */
  held(holder: string): Reservation[] {
    return this.all().filter((r) => r.holder === holder);
  }
}

const REGISTRY = Symbol.for("nodepool-rotation.processBudgets");

/** The process-wide registry: one ProcessBudget per cluster (on globalThis, so module copies share it). */
export function processBudgetFor(cluster: string): ProcessBudget {
  const g = globalThis as typeof globalThis & { [REGISTRY]?: Map<string, ProcessBudget> };
  const m = (g[REGISTRY] ??= new Map());
  return m.get(cluster) ?? m.set(cluster, new ProcessBudget()).get(cluster)!;
}

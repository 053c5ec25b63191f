/**
 * Implicit-budget reservations shared across processes through a coordination.k8s.io/v1 Lease
 * (issue 19 case 2; sharedBudget.ts holds them within one process).
 *
 * The Lease `kube-system/nodepool-rotation-budget` carries, in its annotation
 * `nodepool-rotation/budget`, one entry per process holding reservations: its renewTime, its
 * leaseDurationSeconds and its reservations (pod, UID, workload, drain, pool). `spec.holderIdentity`,
 * `spec.renewTime` and `spec.leaseDurationSeconds` name the last writer, so `kubectl get lease -n
 * kube-system nodepool-rotation-budget` shows who is draining.
 *
 * - Optimistic concurrency: every write is a PUT (replace) carrying the resourceVersion read; a 409
 *   means another process wrote in between, so the Lease is read again, the reservations about to be
 *   published are re-checked against the fresh ones, and the write retried — what client-go's
 *   leaderelection does with its LeaseLock (k8s.io/client-go/tools/leaderelection/resourcelock).
 * - Expiry without trusting clocks: like leaderelection's `observedTime`, another process's entry is
 *   live while its renewTime changed less than its leaseDurationSeconds ago BY THIS PROCESS'S CLOCK
 *   (an entry first seen is live for one full duration). A crashed process stops renewing, and its
 *   reservations stop counting one duration later; any writer then drops the entry.
 * - A process renews its entry every third of its duration while it holds reservations, and removes
 *   it when it holds none.
 */
import * as os from "node:os";
import { randomBytes } from "node:crypto";
import { CoordinationV1Api, KubeConfig, V1Lease, V1MicroTime } from "@kubernetes/client-node";
import { statusOf } from "./client";
import { clusterKeyOf, ProcessBudget, processBudgetFor, RemoteReservations, Reservation } from "./sharedBudget";

/** Where the shared budget lives. */
export const BUDGET_LEASE = { namespace: "kube-system", name: "nodepool-rotation-budget" } as const;
/** The Lease annotation holding the per-process entries (JSON). */
export const BUDGET_ANNOTATION = "nodepool-rotation/budget";
/** Default lease duration: a crashed process's reservations stop counting this long after its last renewal. */
export const BUDGET_LEASE_SECONDS = 30;
/** Writes retried after a 409 before giving up. */
const MAX_CONFLICTS = 20;

/** One process's entry in the Lease. */
export interface ProcessEntry {
  /** When it last wrote its entry (ISO time, informative; expiry uses observation, see the module doc). */
  renewTime: string;
  leaseDurationSeconds: number;
  reservations: Reservation[];
}

/** The Lease's annotation: process id -> entry. */
export type BudgetRecord = Record<string, ProcessEntry>;

function isReservation(r: unknown): r is Reservation {
  const o = r as Partial<Reservation> | null;
  return !!o && typeof o.pod === "string" && typeof o.uid === "string" && typeof o.workload === "string" && typeof o.holder === "string" && typeof o.pool === "string";
}

/** The entries a Lease carries (a missing or unreadable annotation is an empty record). */
export function parseBudgetRecord(lease: V1Lease | undefined): BudgetRecord {
  const text = lease?.metadata?.annotations?.[BUDGET_ANNOTATION];
  if (!text) return {};
  let raw: unknown;
  try { raw = JSON.parse(text); } catch { return {}; }
  const out: BudgetRecord = {};
  if (!raw || typeof raw !== "object") return out;
  for (const [id, e] of Object.entries(raw as Record<string, Partial<ProcessEntry>>)) {
    if (!e || typeof e.renewTime !== "string" || typeof e.leaseDurationSeconds !== "number" || !Array.isArray(e.reservations)) continue;
    out[id] = { renewTime: e.renewTime, leaseDurationSeconds: e.leaseDurationSeconds, reservations: e.reservations.filter(isReservation) };
  }
  return out;
}

/**
 * Which entries are live, by this process's observations (leaderelection's observedTime). Invariant:
 * for each process id, `seen` holds the last renewTime read and the local time it was first read.
 */
export class ExpiryObserver {
  private readonly seen = new Map<string, { renewTime: string; at: number }>();

  /** Records what a read showed. */
  observe(record: BudgetRecord, now: number): void {
    for (const [id, e] of Object.entries(record)) {
      const s = this.seen.get(id);
      if (!s || s.renewTime !== e.renewTime) this.seen.set(id, { renewTime: e.renewTime, at: now });
    }
    for (const id of [...this.seen.keys()]) if (!(id in record)) this.seen.delete(id);
  }

  /** Whether an entry still counts: its renewTime changed within its duration (by our clock). */
  live(id: string, entry: ProcessEntry, now: number): boolean {
    const s = this.seen.get(id);
    return !s || now - s.at < entry.leaseDurationSeconds * 1000;
  }
}

/** Receives one request kind ("get leases", "update leases", "create leases") per Lease request, for a drain's request counts. */
export type RequestCounter = (kind: string) => void;

/** Options of a LeaseBudget. */
export interface LeaseBudgetOptions {
  /** This process's id in the Lease (default "<hostname>/<pid>/<random>"). */
  processId?: string;
  /** Default BUDGET_LEASE_SECONDS. */
  leaseDurationSeconds?: number;
  /** Default BUDGET_LEASE. */
  lease?: { namespace: string; name: string };
  /** Clock (default Date.now). */
  now?: () => number;
}

/**
 * This process's side of the Lease for one cluster: publishes the process's reservations (a
 * ProcessBudget) and reads other processes'. Attaches itself as the ProcessBudget's `remote`.
 */
export class LeaseBudget implements RemoteReservations {
  readonly processId: string;
  private readonly duration: number;
  private readonly where: { namespace: string; name: string };
  private readonly now: () => number;
  private readonly observer = new ExpiryObserver();
  /** Other processes' entries as last read (liveness is judged when asked). */
  private record: BudgetRecord = {};
  private renewTimer?: NodeJS.Timeout;
  private published = false;
  /** Writes are serialised: one read-modify-write at a time from this process. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Lease requests made by this process (reads and writes). */
  requests = 0;

  constructor(private readonly api: CoordinationV1Api, private readonly budget: ProcessBudget, o: LeaseBudgetOptions = {}) {
    this.processId = o.processId ?? `${os.hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`;
    this.duration = o.leaseDurationSeconds ?? BUDGET_LEASE_SECONDS;
    this.where = o.lease ?? BUDGET_LEASE;
    this.now = o.now ?? Date.now;
    budget.remote = this;
  }

  /** Other processes' live reservations on a workload, as last read. */
  remote(workload: string): Reservation[] {
    return this.remoteAll().filter((r) => r.workload === workload);
  }

  /** Every other process's live reservation, as last read. */
  remoteAll(): Reservation[] {
    const now = this.now();
    return Object.entries(this.record).filter(([id, e]) => this.observer.live(id, e, now)).flatMap(([, e]) => e.reservations);
  }

  /** Reads the Lease again (other processes' reservations). `count` receives each request ("get leases", ...). */
  async refresh(count?: RequestCounter): Promise<void> {
    await this.serial(async () => { await this.read(count); });
  }

  /**
   * Reserves, across processes, what `admit` grants of `wanted` for drain `holder`: first in this
   * process (synchronously, against the last read), then in the Lease, re-checked against a fresh read
   * on every conflict. Resolves with the reservations that are published; the rest were withdrawn.
   */
  async reserve(holder: string, wanted: readonly Reservation[], admit: (wanted: readonly Reservation[], others: (workload: string) => Reservation[]) => Reservation[], count?: RequestCounter): Promise<Reservation[]> {
    const granted = this.budget.reserve(holder, wanted, admit);
    if (!granted.length) return granted;
    return this.serial(async () => {
      let kept = granted;
      await this.write(count, () => {
        // Re-check against what the fresh read shows of other processes (and of this one's other drains).
        const again = new Set(admit(kept, (w) => this.budget.others(holder, w)).map((r) => r.pod));
        const dropped = kept.filter((r) => !again.has(r.pod));
        if (dropped.length) this.budget.release(holder, dropped.map((r) => r.pod));
        kept = kept.filter((r) => again.has(r.pod));
      });
      return kept;
    });
  }

  /** Releases reservations of `holder` (in this process at once; in the Lease with the next write). */
  async release(holder: string, pods: Iterable<string>, count?: RequestCounter): Promise<void> {
    this.budget.release(holder, pods);
    await this.serial(() => this.write(count));
  }

  /** Releases every reservation of `holder` (its drain ended) and publishes. */
  async close(holder: string, count?: RequestCounter): Promise<void> {
    this.budget.releaseAll(holder);
    await this.serial(() => this.write(count));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Reads the Lease (undefined when absent) and caches other processes' live reservations. */
  private async read(count?: RequestCounter): Promise<V1Lease | undefined> {
    let lease: V1Lease | undefined;
    this.requests++;
    count?.("get leases");
    try {
      lease = await this.api.readNamespacedLease({ ...this.where });
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    const record = parseBudgetRecord(lease);
    const now = this.now();
    this.observer.observe(record, now);
    this.record = Object.fromEntries(Object.entries(record).filter(([id]) => id !== this.processId));
    return lease;
  }

  /**
   * Read-modify-write of this process's entry: reads the Lease, runs `recheck` (which may withdraw
   * reservations), writes this process's reservations (and drops expired entries) with the
   * resourceVersion read; on 409 starts over.
   */
  private async write(count?: RequestCounter, recheck?: () => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const lease = await this.read(count);
      recheck?.();
      const mine = this.budget.all();
      if (!lease && !mine.length) { this.published = false; this.schedule(); return; }
      const record = parseBudgetRecord(lease);
      const now = this.now();
      const next: BudgetRecord = {};
      for (const [id, e] of Object.entries(record)) if (id !== this.processId && this.observer.live(id, e, now)) next[id] = e;
      if (mine.length) next[this.processId] = { renewTime: new Date(now).toISOString(), leaseDurationSeconds: this.duration, reservations: mine };
      else if (!(this.processId in record) && Object.keys(next).length === Object.keys(record).length) { this.published = false; this.schedule(); return; } // nothing of ours to publish or remove
      const body: V1Lease = {
        apiVersion: "coordination.k8s.io/v1", kind: "Lease",
        metadata: { ...(lease?.metadata ?? {}), name: this.where.name, namespace: this.where.namespace, annotations: { ...(lease?.metadata?.annotations ?? {}), [BUDGET_ANNOTATION]: JSON.stringify(next) } },
        spec: {
          ...(lease?.spec ?? {}),
          holderIdentity: mine.length ? this.processId : Object.keys(next)[0] ?? "",
          leaseDurationSeconds: this.duration,
          renewTime: new V1MicroTime(now),
        },
      };
      this.requests++;
      count?.(lease ? "update leases" : "create leases");
      try {
        if (lease) await this.api.replaceNamespacedLease({ ...this.where, body });
        else await this.api.createNamespacedLease({ namespace: this.where.namespace, body: { ...body, spec: { ...body.spec, acquireTime: new V1MicroTime(now) } } });
        this.published = mine.length > 0;
        this.schedule();
        return;
      } catch (e) {
        const code = statusOf(e);
        // 409: written in between (replace), or created in between (create answers AlreadyExists, also 409)
        if (code !== 409 || attempt + 1 >= MAX_CONFLICTS) throw e;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
      }
    }
  }

  /** Renews this process's entry every third of its duration while it holds reservations. */
  private schedule(): void {
    if (this.published && !this.renewTimer) {
      this.renewTimer = setInterval(() => { void this.serial(() => this.write()).catch(() => undefined); }, (this.duration * 1000) / 3);
      this.renewTimer.unref();
    } else if (!this.published && this.renewTimer) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
  }

  /** Stops renewing (the process is ending). Its entry expires one duration later. */
  stop(): void {
    this.published = false;
    this.schedule();
  }
}

const LEASES = Symbol.for("nodepool-rotation.leaseBudgets");

/** This process's LeaseBudget for the cluster of `kc` (one per cluster, shared like processBudgetFor). */
export function leaseBudgetFor(kc: KubeConfig, o: LeaseBudgetOptions = {}): LeaseBudget {
  const g = globalThis as typeof globalThis & { [LEASES]?: Map<string, LeaseBudget> };
  const m = (g[LEASES] ??= new Map());
  const key = clusterKeyOf(kc);
  return m.get(key) ?? m.set(key, new LeaseBudget(kc.makeApiClient(CoordinationV1Api), processBudgetFor(key), o)).get(key)!;
}

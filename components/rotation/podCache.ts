/**
 * The drain's pod cache: every pod the watch shows, the subset on pool nodes, a per-namespace index
 * (PDB counts), pool pods per verdict, the pool pods still to move in the order they came, and the
 * per-pod eviction state.
 *
 * Invariant: after every `set`/`reset`, `poolPods` is exactly the cached pods whose node is a pool
 * node (`onPool`); `verdicts` counts poolPods by verdict; `toMove` holds exactly the pool pods whose
 * verdict is `evict` or `terminating`, keyed by "<ns>/<name>", each entry updated in place by a new
 * version of the same pod (same UID: it keeps its place and its state) and replaced by a new pod
 * under the same name; `moveVersion` changes whenever an entry joins, leaves or changes workload or
 * group, so an ordering built from `toMove` can be kept until then. Eviction state (`stateOf`) is
 * keyed by UID and outlives the pod's entries. Per-event work is proportional to the pod that
 * changed (the memoised facts come from podFacts.ts).
 *
 * (Pods already Terminating when the drain starts, or stuck past their grace period, are the
 * `terminating` entries of `toMove`: the place to treat them apart.)
 */
import type { V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { isHealthy, isTerminal, keyOf, pdbSelects } from "./pdb";
import type { PodFacts } from "./podFacts";
import type { Verdict } from "./types";

/** Per-pod bookkeeping of the eviction pump, keyed by UID (a recreated pod with the same name is a different pod). */
export interface PodState {
  inflight?: boolean;      // eviction request on the wire
  evictedAt?: number;      // eviction accepted; waiting for deletion
  notBefore?: number;      // backoff after 429/5xx
  parkedOn?: string;       // PDB it waits for
  parkedOnWorkload?: string; // workload whose implicit budget it waits for
  /** The eviction got 403 NamespaceTerminating: the namespace controller deletes the pod; waited for, no slot. */
  namespaceTerminating?: boolean;
  attempts: number;
}

/** A pod to move, with what every pass of the pump reads of it (see PoolDrain.toMove). */
export interface ToMove {
  pod: V1Pod;
  verdict: Verdict;
  s: PodState;
  workload?: string;
  pdbKeys: readonly string[];
  /** Pods whose eligibility changes together (see PodCache's `groupOf`). */
  group: string;
  /** Place in the pass order (round-robin across workloads). */
  rank: number;
}

/** See the module comment. */
export class PodCache {
  /** "<ns>/<name>" -> current pod. */
  readonly pods = new Map<string, V1Pod>();
  /** The subset on pool nodes. */
  readonly poolPods = new Map<string, V1Pod>();
  private readonly byNs = new Map<string, Map<string, V1Pod>>();
  /** Pool pods per verdict. */
  private readonly verdicts = new Map<Verdict, number>();
  /** Pool pods to move (verdict evict or terminating), in the order they came to the pool. */
  readonly toMove = new Map<string, ToMove>();
  private version = 0;
  /** UIDs of wait-completed pods seen on the pool. */
  private readonly waitCompletedSeen = new Set<string>();
  private readonly state = new Map<string, PodState>();

  constructor(
    private readonly facts: PodFacts,
    /** Whether a node is a pool node. */
    private readonly onPool: (node: string | undefined) => boolean,
    /** The group whose pods' eligibility changes together (a PDB's, a workload's, or the pod alone). */
    private readonly groupOf: (pod: V1Pod) => string,
    /** Told the group of a pod whose entry changed in place (the pump revisits it). */
    private readonly touched: (group: string) => void,
  ) {}

  /** Changes whenever an entry of `toMove` joins, leaves, or changes workload or group. */
  get moveVersion(): number {
    return this.version;
  }

  /** Eviction state of the pod with this UID, if it was ever to move. */
  stateOf(uid: string | undefined): PodState | undefined {
    return uid === undefined ? undefined : this.state.get(uid);
  }

  /** Number of pool pods with verdict `v`. */
  count(v: Verdict): number {
    return this.verdicts.get(v) ?? 0;
  }

  /** Replaces the whole cache (a re-list). */
  reset(items: V1Pod[]): void {
    this.pods.clear();
    this.poolPods.clear();
    this.toMove.clear();
    this.verdicts.clear();
    this.version++;
    this.byNs.clear();
    for (const p of items) this.set(keyOf(p), p);
  }

  /** The pod `k` is now `pod` (undefined: deleted). */
  set(k: string, pod: V1Pod | undefined): void {
    const ns = k.slice(0, k.indexOf("/"));
    const byNs = this.byNs.get(ns) ?? this.byNs.set(ns, new Map()).get(ns)!;
    const before = this.poolPods.get(k);
    if (before) this.countVerdict(before, -1);
    if (pod) {
      this.pods.set(k, pod);
      byNs.set(k, pod);
      if (this.onPool(pod.spec?.nodeName)) {
        this.poolPods.set(k, pod);
        const v = this.countVerdict(pod, 1);
        if (v === "evict" || v === "terminating") this.setToMove(k, pod, v); else this.dropToMove(k);
      } else {
        this.poolPods.delete(k);
        this.dropToMove(k);
      }
    } else {
      this.pods.delete(k);
      byNs.delete(k);
      this.poolPods.delete(k);
      this.dropToMove(k);
    }
  }

  /** Adds a pool pod to move, or updates its entry to the pod's new version (keeping its place). */
  private setToMove(k: string, pod: V1Pod, verdict: Verdict): void {
    const uid = pod.metadata?.uid as string;
    const workload = this.facts.workload(pod);
    const pdbKeys = this.facts.pdbKeys(pod);
    const group = this.groupOf(pod);
    const it = this.toMove.get(k);
    if (it && it.pod.metadata?.uid === uid) {
      if (it.workload !== workload || it.group !== group) this.version++;
      Object.assign(it, { pod, verdict, workload, pdbKeys, group });
      this.touched(group);
      return;
    }
    const s = this.state.get(uid) ?? this.state.set(uid, { attempts: 0 }).get(uid)!;
    this.toMove.set(k, { pod, verdict, s, workload, pdbKeys, group, rank: -1 });
    this.version++;
  }

  private dropToMove(k: string): void {
    if (this.toMove.delete(k)) this.version++;
  }

  /** Keeps the verdict counts (and the wait-completed pods seen on the pool) as pool pods come and go. */
  private countVerdict(pod: V1Pod, delta: 1 | -1): Verdict {
    const v = this.facts.decision(pod).verdict;
    this.verdicts.set(v, (this.verdicts.get(v) ?? 0) + delta);
    if (delta > 0 && v === "wait-completed") this.waitCompletedSeen.add(pod.metadata?.uid as string);
    return v;
  }

  /** Pods on `nodes` (pool nodes) whose verdict is one of `verdicts`. */
  remaining(verdicts: Verdict[], nodes: ReadonlySet<string>): { pod: V1Pod; verdict: Verdict }[] {
    const out: { pod: V1Pod; verdict: Verdict }[] = [];
    for (const pod of this.poolPods.values()) {
      if (!nodes.has(pod.spec?.nodeName as string)) continue;
      const v = this.facts.decision(pod).verdict;
      if (v === "wait-completed") this.waitCompletedSeen.add(pod.metadata?.uid as string);
      if (verdicts.includes(v)) out.push({ pod, verdict: v });
    }
    return out;
  }

  /** The pods of one namespace (any node). */
  inNamespace(ns: string): Iterable<V1Pod> {
    return this.byNs.get(ns)?.values() ?? [];
  }

  /** Matching pods and healthy ones of a PDB, from the per-namespace index. */
  countMatching(pdb: V1PodDisruptionBudget): { pods: number; healthy: number } {
    let pods = 0, healthy = 0;
    for (const p of this.byNs.get(pdb.metadata?.namespace ?? "")?.values() ?? []) {
      if (isTerminal(p) || !pdbSelects(pdb, p.metadata?.labels)) continue;
      if (!p.metadata?.deletionTimestamp) pods++;
      if (isHealthy(p)) healthy++;
    }
    return { pods, healthy };
  }

  /** Wait-completed pods seen on the pool that have since completed or gone. */
  completedCount(): number {
    const running = new Set([...this.poolPods.values()].filter((p) => !isTerminal(p)).map((p) => p.metadata?.uid));
    return [...this.waitCompletedSeen].filter((uid) => !running.has(uid)).length;
  }
}

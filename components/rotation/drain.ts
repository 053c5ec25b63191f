/**
 * The drain: plan, cordon, pool-wide PDB-aware eviction, deletion wait, readiness wait and soak,
 * failing closed. Everything it knows comes from the cluster (lists + watches), so a re-run after
 * a crash picks up where the last one stopped: nodes it cordoned carry CORDONED_ANNOTATION, pods
 * already evicted are terminating (waited for), the rest are evicted under the PDBs, which the
 * API server enforces on every eviction (this tool never deletes a pod and never forces).
 *
 * Better than `kubectl drain` (staging/src/k8s.io/kubectl/pkg/drain/drain.go):
 * - evicts across the whole pool with bounded concurrency instead of node by node;
 * - gates each eviction on the PDB's disruptionsAllowed from a PDB watch, so it neither sleeps
 *   5 s after a 429 nor hammers the API; a 429 is still honoured (Retry-After + jitter);
 * - waits for deletions on one pod watch, UID-aware, instead of GETting each pod every second;
 * - retries 5xx/dropped connections, re-watches closed watches, re-lists on 410 Gone;
 * - stops at once on the 500 "more than one PodDisruptionBudget" and on PDBs that can never allow
 *   a disruption, naming them; uncordons what it cordoned on any failure.
 */
import type { KubeConfig, V1Node, V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { abortError, backoffMs, errorText, KubeClient, Listed, Reflector, thrownFields } from "./client";
import { decidePod } from "./filters";
import { expectedPods, isHealthy, keyOf, PdbIndex, pdbFloor } from "./pdb";
import { AvailabilityTracker, FloorInfo } from "./availability";
import { DEFAULT_BUDGET, parseDefaultBudget } from "./budget";
import { planSnapshot, validatePlanOptions } from "./plan";
import { unreadyPodsHint } from "./advice";
import { estimateDrain, estimateHeadline } from "./estimate";
import { deadlineDetail, sentence, type DrainFailureReason } from "./errors";
import { DrainError, DrainOptions, DrainSummary, GKE_POOL_LABEL, Plan, Verdict } from "./types";
import { Controllers, ScalableKind, ScalableObject } from "./workloads";
import { PodFacts } from "./podFacts";
import { batchProblem, drainOptionProblem } from "./settings";
import { Clock, realClock } from "./clock";
import { CordonBook } from "./cordonBook";
import { EvictionBudgets } from "./evictionBudgets";
import { ImplicitBudgets, LeaseWait } from "./implicitBudgets";
import { PodCache, PodState, ToMove } from "./podCache";
import { classifyEvictionError } from "./evictionAnswer";
import type { ScaleSource } from "./pdbRules";
import { STUCK_MARGIN_MS, terminatingState } from "./terminating";
import { ReEvictionBound } from "./cordonToleration";
import { ControllerNow, formatNotReady, notReadyAgain } from "./readyTarget";
import { volumesUnreadable } from "./volumes";

/** How long a failed drain waits for in-flight evictions before uncordoning. */
const FAILURE_SETTLE_MS = 5000;
/** How long an aborted drain waits for them, in parallel with the uncordon (see failClosed). */
const ABORT_SETTLE_MS = 1000;

/** Defaults of DrainOptions. */
export const DRAIN_DEFAULTS = { deadlineMs: 60 * 60 * 1000, concurrency: 20 };

/** Checks drain options before anything is changed; throws naming the field and the fix. */
export function validateDrainOptions(opts: DrainOptions): void {
  validatePlanOptions(opts);
  // The drain settings' one rule per setting (settings.ts), in the engine's units (ms).
  for (const field of ["deadlineMs", "concurrency", "batchSoakMs", "soakMs", "batch"] as const) {
    const problem = opts[field] === undefined ? undefined : drainOptionProblem(field, opts[field]);
    if (problem) throw new Error(`${field}: ${problem}`);
  }
  const margin = opts.stuckMarginMs;
  if (margin !== undefined && (typeof margin !== "number" || !Number.isFinite(margin) || margin < 0)) throw new Error(`stuckMarginMs: must be a number of milliseconds >= 0 (got ${JSON.stringify(margin)})`);
  if (opts.sharedBudget !== undefined && opts.sharedBudget !== "cluster" && opts.sharedBudget !== "process") throw new Error(`sharedBudget: must be "cluster" or "process" (got ${JSON.stringify(opts.sharedBudget)})`);
}

/** Nodes per batch for "N" or "P%" (at least 1). Throws a clear error on bad input. */
export function parseBatch(batch: string, poolSize: number): number {
  const problem = batchProblem(batch);
  if (problem) throw new Error(`batch: ${problem}`);
  const m = /^([1-9][0-9]*)(%?)$/.exec(String(batch))!; // batchProblem accepted it
  return m[2] ? Math.max(1, Math.ceil((poolSize * Number(m[1])) / 100)) : Number(m[1]);
}

// uncordonNodes: cordonBook.ts (re-exported for the pool guard and index.ts).
export { uncordonNodes } from "./cordonBook";

/** Drains a pool; resolves with the summary, rejects with DrainError (after failing closed). */
export async function drainPool(kc: KubeConfig, opts: DrainOptions): Promise<DrainSummary> {
  validateDrainOptions(opts);
  return new PoolDrain(kc, opts).run();
}

/** The pump's pass order, rebuilt only when what it is built from changed (see PoolDrain.toMove). */
interface MoveCache {
  moveVersion: number;
  workloadsVersion: number;
  pdbsVersion: number;
  nodes: ReadonlySet<string>;
  todo: ToMove[];
  ordered: ToMove[];
  groups: Map<string, ToMove[]>;
}

/**
 * The drain driver's phase, in order: preparing → cordoning → daemonsets → evicting (⇄ batch-soak
 * between batches) → jobs (wait-completed pods) → ready (waitForReady) → soak → finishing; failing
 * from anywhere. One value instead of flags: what a phase waits for decides which events wake it.
 */
export type DrainPhase = "preparing" | "cordoning" | "daemonsets" | "evicting" | "batch-soak" | "jobs" | "ready" | "soak" | "finishing" | "failing";

/** Phases that read pods off the pool (DaemonSets on the replacement, readiness, soaks): every pod event wakes them. */
const WAKES_ON_EVERY_POD_EVENT: ReadonlySet<DrainPhase> = new Set<DrainPhase>(["daemonsets", "batch-soak", "ready", "soak", "finishing", "failing"]);

/** A stop condition: why, and what blocked. */
class Failure extends Error {
  constructor(readonly reason: DrainFailureReason, message: string, readonly pdbs: string[] = [], readonly pods: string[] = [], readonly blockers: string[] = []) { super(message); }
}

/** A pod's name (always set on pods from the API). */
function podName(pod: V1Pod): string {
  return pod.metadata?.name ?? "";
}

/** Items reordered so each group's first item comes first, then each group's second, ... (stable within a group). */
function roundRobin<T>(items: T[], groupOf: (item: T) => string): T[] {
  const seen = new Map<string, number>();
  const rounds: T[][] = [];
  for (const item of items) {
    const g = groupOf(item);
    const r = seen.get(g) ?? 0;
    seen.set(g, r + 1);
    (rounds[r] ??= []).push(item);
  }
  return rounds.flat();
}

/** One drain run. Holds all mutable state (nothing lives at module level). */
export class PoolDrain {
  private readonly client: KubeClient;
  private readonly log: (line: string) => void;
  /** Time as this drain sees it (DrainOptions.clock; default real time). */
  private readonly clock: Clock;
  private readonly started: number;
  private readonly deadline: number;
  private readonly concurrency: number;
  /** The pool's nodes and the cordons this drain owns (cordonBook.ts). */
  private readonly book: CordonBook;
  /** Pods, pool pods, per-namespace index, verdict counts, pods to move and their eviction state (podCache.ts). */
  private readonly cache: PodCache;
  private readonly pdbs = new Map<string, V1PodDisruptionBudget>(); // "<ns>/<name>" -> PDB
  private readonly controllers = new Controllers();      // Deployments, StatefulSets, ReplicaSets
  /** Ready pods per workload, and the availability evidence of the workloads this drain moves. */
  private readonly tracker = new AvailabilityTracker((w) => this.floorOf(w));
  private readonly samples = new Map<string, V1Pod>();  // tracked workload -> one of its pods (for PDB matching)
  private pdbIndex = new PdbIndex();
  /** Verdict, workload and PDB match of each pod version, computed once (see podFacts.ts). */
  private readonly facts = new PodFacts({
    decide: (pod) => decidePod(pod, this.opts),
    workloadOf: (pod) => this.controllers.workloadOf(pod),
    matchPdbs: (pod) => this.pdbIndex.match(pod),
    pdb: (k) => this.pdbs.get(k),
  });
  private moveCache?: MoveCache;
  /**
   * What changed since the last pass of the pump: groups (a PDB, a workload without one, a pod)
   * whose pods may have become evictable. A pass visits only those groups' pods unless `dirtyAll`
   * (a timer — backoff, probe, settle expiry —, a reset, or the last pass stopped at `concurrency`).
   */
  private readonly dirty = new Set<string>();
  private dirtyAll = true;
  /** Pod states with a backoff (notBefore) set, for nextTimer. */
  private readonly backingOff = new Set<PodState>();
  /** Admit-or-park for each pod to evict: its PDB's budget (ledger) or its workload's implicit one (evictionBudgets.ts). */
  private readonly budgets: EvictionBudgets;
  private readonly moved = new Set<string>();            // workloads with an evicted pod
  private readonly movedPdbs = new Set<string>();
  private readonly readyBefore = new Map<string, number>();
  private readonly reflectors: Reflector[] = [];
  private initialNodes: V1Node[] = [];
  private inflight = 0;
  private evicted = 0;
  private rejected429 = 0;
  private failure?: Failure;
  private waiter?: () => void;
  /** A wake-up is scheduled (setImmediate): the loop runs once per event-loop turn, however many events arrived. */
  private wakePending = false;
  private lastProgress = 0;
  private lastProgressLine = "";
  /** Where the drain is (one value instead of flags); decides which pod events wake the loop. */
  private phase: DrainPhase = "preparing";
  private plan?: Plan;
  private readonly phases: Record<string, number> = {};
  /** The pool's Node objects as last seen (why a deleting pod is stuck: its node NotReady). */
  private readonly nodeObjs = new Map<string, V1Node>();
  /** Deleting pods the drain does not wait for (terminating before it started, or stuck), uid -> why (terminating.ts). */
  private readonly notWaited = new Map<string, string>();
  /** Earliest time a deleting pod the drain waits for becomes stuck (a timer wakes the loop then). */
  private nextStuck = Infinity;
  private readonly stuckMarginMs: number;
  /** Re-evictions of workloads whose pods come back to the cordoned pool (cordonToleration.ts). */
  private readonly reEvictions = new ReEvictionBound();
  /** Workloads with a scalable controller when the drain started: one gone later was deleted (readyTarget.ts). */
  private readonly knownAtStart = new Set<string>();
  /** What the drain's scale questions read (pdbRules.ts expectedScale). */
  private readonly scale: ScaleSource = { workloadOf: (p) => this.facts.workload(p), replicas: (w) => this.controllers.replicas(w) };

  /** Moves the driver to `phase`. */
  private enter(phase: DrainPhase): void {
    this.phase = phase;
  }

  /** Records when a phase ended (ms since start) for the summary. */
  private mark(phase: string): void {
    this.phases[phase] = this.clock.now() - this.started;
  }

  constructor(private readonly kc: KubeConfig, private readonly opts: DrainOptions) {
    this.client = new KubeClient(kc, opts.signal, undefined, (line) => this.log(`[${opts.pool}] ${line}`)); // retry progress lines
    // A progress line must never change the drain's course: a throwing sink (closed stderr) would
    // otherwise abort the drain, skip a late node's cordon (watch handlers swallow exceptions) or
    // replace the DrainError thrown after failing closed.
    const sink = opts.log;
    this.log = (line) => { try { sink?.(line); } catch { /* progress is best effort */ } };
    this.clock = opts.clock ?? realClock;
    this.started = this.clock.now();
    this.deadline = this.started + (opts.deadlineMs ?? DRAIN_DEFAULTS.deadlineMs);
    this.concurrency = opts.concurrency ?? DRAIN_DEFAULTS.concurrency;
    this.cache = new PodCache(this.facts, (node) => this.book.has(node), (pod) => this.groupOf(pod), (group) => this.dirty.add(group));
    this.book = new CordonBook(this.client, this.clock, this.deadline, (line) => this.log(`[${opts.pool}] ${line}`));
    this.stuckMarginMs = opts.stuckMarginMs ?? STUCK_MARGIN_MS;
    const implicit = new ImplicitBudgets({
      kc, pool: opts.pool, facts: this.facts, cache: this.cache, controllers: this.controllers, ready: (w) => this.tracker.ready(w),
      log: (line) => this.log(`[${opts.pool}] ${line}`), count: (kind) => this.client.count(kind),
    }, opts.defaultBudget === undefined ? DEFAULT_BUDGET : parseDefaultBudget(opts.defaultBudget), opts.sharedBudget);
    this.budgets = new EvictionBudgets({ facts: this.facts, cache: this.cache, clock: this.clock, scale: this.scale, pool: opts.pool }, implicit);
  }

  /** Runs the drain to success, or fails closed and throws DrainError. */
  async run(): Promise<DrainSummary> {
    try {
      await this.prepare();
      this.mark("prepared");
      this.enter("cordoning");
      await this.cordon();
      this.mark("cordoned");
      this.enter("daemonsets");
      await this.waitForDaemonSets();
      this.mark("daemonSetsReady");
      const nodes = this.book.nodes.slice(); // batches over the pool as planned; late joiners join every batch
      const size = this.opts.batch ? parseBatch(this.opts.batch, nodes.length) : nodes.length;
      for (let i = 0; i < nodes.length; i += size) {
        const batch = new Set(nodes.slice(i, i + size));
        if (size < nodes.length) this.log(`[${this.opts.pool}] batch ${i / size + 1}: ${[...batch].join(", ")}`);
        this.enter("evicting");
        await this.until(() => this.pump(new Set([...batch, ...this.book.late])), "evicting");
        const last = i + size >= nodes.length;
        if (!last && this.opts.batchSoakMs) {
          this.enter("batch-soak");
          await this.soak(this.opts.batchSoakMs, "batch soak");
        }
      }
      await this.book.lateSettled();
      this.enter("evicting");
      await this.until(() => this.pump(this.book.set), "evicting"); // nodes that joined during the last batch
      this.mark("evicted");
      this.enter("jobs");
      await this.until(() => this.remaining(["wait-completed"]).length === 0, "waiting for Job pods to complete");
      this.mark("completed");
      if (this.opts.waitForReady) {
        this.enter("ready");
        await this.until(() => this.notReadyAgain().length === 0, "waiting for moved workloads to be Ready");
        this.mark("ready");
      }
      if (this.opts.soakMs) {
        this.enter("soak");
        await this.soak(this.opts.soakMs, "soak");
        this.mark("soaked");
      }
      this.enter("finishing");
      await this.book.lateSettled();
      await this.until(() => this.pump(this.book.set), "evicting"); // a node re-created (or joined) during the waits
      this.failIfBlocked();
      this.progress(true);
      await this.budgets.implicit.close();
      this.stopWatches();
      this.tracker.stop();
      const summary = this.summary("drained");
      this.log(`[${this.opts.pool}] drained: ${summary.evicted} evicted, ${summary.waitedCompleted} completed, ${summary.skipped} left alone, ${summary.apiRequests} API requests, ${(summary.durationMs / 1000).toFixed(1)}s`);
      return summary;
    } catch (e) {
      throw await this.failClosed(e);
    }
  }

  // ---- setup ------------------------------------------------------------------------------------

  /** Lists nodes, pods and PDBs once, plans, and starts the watches from those lists. */
  private async prepare(): Promise<void> {
    const [nodes, pods, pdbs, deployments, replicaSets, statefulSets, vols] = await Promise.all([
      this.client.listNodes(this.deadline),
      this.client.listPods(this.deadline),
      this.client.listPdbs(this.deadline),
      this.client.listDeployments(this.deadline),
      this.client.listReplicaSets(this.deadline),
      this.client.listStatefulSets(this.deadline),
      this.client.listVolumes(this.deadline),
    ]);
    this.initialNodes = nodes.items;
    const snapshot = { nodes: nodes.items, pods: pods.items, pdbs: pdbs.items, deployments: deployments.items, replicaSets: replicaSets.items, statefulSets: statefulSets.items,
      ...("unreadable" in vols ? {} : { persistentVolumeClaims: vols.claims, persistentVolumes: vols.volumes }) };
    const plan = planSnapshot(snapshot, this.opts);
    if ("unreadable" in vols) plan.warnings.push(volumesUnreadable(vols.unreadable));
    this.plan = plan;
    this.book.start(plan.nodes, nodes.items);
    for (const w of plan.warnings) this.log(`[${this.opts.pool}] warning: ${w}`);
    if (plan.blockers.length) {
      throw new Failure("blocked", `drain of pool ${this.opts.pool} refused: ${plan.blockers.join("; ")}`,
        plan.pdbs.filter((p) => p.neverAllows).map((p) => p.name),
        plan.pods.filter((p) => p.verdict === "blocks").map((p) => `${p.namespace}/${p.name}`), plan.blockers);
    }
    // How long this should take (estimate.ts), so an operator watching `pulumi up` knows what to expect.
    const estimate = estimateDrain(snapshot, plan, { concurrency: this.concurrency, deadlineMs: this.deadline - this.started, listMs: this.clock.now() - this.started });
    this.log(`[${this.opts.pool}] ${estimateHeadline(estimate)}${this.opts.batch || this.opts.soakMs || this.opts.waitForReady ? " (batches, soaks and the readiness wait not included)" : ""}`);
    const podSink = { reset: (items: V1Pod[]) => this.resetPods(items), event: (t: string, o: V1Pod) => this.podEvent(t, o) };
    const pdbSink = { reset: (items: V1PodDisruptionBudget[]) => this.resetPdbs(items), event: (t: string, o: V1PodDisruptionBudget) => this.pdbEvent(t, o) };
    const pr = new Reflector(this.client, "pods", "/api/v1/pods", (d) => this.client.listPods(d), podSink, this.deadline);
    const br = new Reflector(this.client, "poddisruptionbudgets", "/apis/policy/v1/poddisruptionbudgets", (d) => this.client.listPdbs(d), pdbSink, this.deadline);
    // Nodes joining the pool mid-drain (e.g. the cluster autoscaler scaling the old pool up for
    // pods the drain made pending) are cordoned and drained too, or the pool's deletion would
    // kill their pods without honouring any PDB.
    const poolSelector = `${this.opts.poolLabel ?? GKE_POOL_LABEL}=${this.opts.pool}`;
    const nr = new Reflector(this.client, "nodes", "/api/v1/nodes", (d) => this.client.listNodes(d, poolSelector),
      { reset: (items: V1Node[]) => items.forEach((n) => this.nodeSeen(n)), event: (t: string, n: V1Node) => { if (t !== "DELETED") this.nodeSeen(n); } }, this.deadline, { labelSelector: poolSelector });
    // The scalable controllers: a workload's expected pods (implicit budget) and which ReplicaSet
    // belongs to which Deployment (a rollout's ReplicaSets are one workload).
    const apps: [ScalableKind, string, (d: number) => Promise<Listed<ScalableObject>>, Listed<ScalableObject>][] = [
      ["Deployment", "deployments", (d) => this.client.listDeployments(d), deployments],
      ["ReplicaSet", "replicasets", (d) => this.client.listReplicaSets(d), replicaSets],
      ["StatefulSet", "statefulsets", (d) => this.client.listStatefulSets(d), statefulSets],
    ];
    const cr = apps.map(([kind, plural, list]) => new Reflector(this.client, plural, `/apis/apps/v1/${plural}`, list,
      { reset: (items: ScalableObject[]) => this.resetControllers(kind, items), event: (t: string, o: ScalableObject) => this.controllerEvent(kind, t, o) }, this.deadline));
    this.reflectors.push(pr, br, nr, ...cr);
    for (let i = 0; i < cr.length; i++) await cr[i].start(apps[i][3]);
    await br.start(pdbs);
    await pr.start(pods);
    await nr.start({ items: [], resourceVersion: nodes.resourceVersion });
    for (const p of this.cache.pods.values()) {
      const w = this.readyIn(p);
      if (w) this.readyBefore.set(w, (this.readyBefore.get(w) ?? 0) + 1);
    }
    for (const { pod } of this.remaining(["evict", "terminating"])) this.trackPod(pod);
    for (const n of nodes.items) if (n.metadata?.name && this.book.has(n.metadata.name)) this.nodeObjs.set(n.metadata.name, n);
    // Re-evictions are bounded per workload from its pods on the pool now; a workload's controller
    // known now and gone later was deleted (waitForReady drops it).
    const poolCounts = new Map<string, number>();
    for (const { pod } of this.remaining(["evict"])) {
      const w = this.facts.workload(pod);
      if (!w) continue;
      poolCounts.set(w, (poolCounts.get(w) ?? 0) + 1);
      if (this.controllers.replicas(w) !== undefined) this.knownAtStart.add(w);
    }
    for (const [w, n] of poolCounts) this.reEvictions.start(w, n);
    await this.budgets.implicit.start(plan.implicitBudgets.length > 0); // no workload without a PDB: nothing to share
  }

  /** Cordons every pool node not yet unschedulable, marking it as ours in the same patch (cordonBook.ts). */
  private async cordon(): Promise<void> {
    await this.book.cordonAll(this.initialNodes, () => this.checkStop());
    this.log(`[${this.opts.pool}] cordoned ${this.book.nodes.length} node(s); ${this.remaining(["evict", "terminating"]).length} pod(s) to move, ${this.remaining(["wait-completed"]).length} to wait for`);
  }

  /** Waits until every DaemonSet of the pool is Ready on the replacement nodes it targets. */
  private async waitForDaemonSets(): Promise<void> {
    if (!this.plan?.daemonSetsPending.length) return;
    let checkedAt = 0, pending = this.plan.daemonSetsPending;
    await this.until(() => {
      if (this.clock.now() - checkedAt >= 200) {
        checkedAt = this.clock.now();
        pending = planSnapshot({ nodes: this.initialNodes, pods: [...this.cache.pods.values()], pdbs: [...this.pdbs.values()] }, { ...this.opts, defaultBudget: "none" }).daemonSetsPending;
      }
      return pending.length === 0;
    }, `waiting for DaemonSet(s) on the replacement`, () => pending.map((d) => `DaemonSet ${d}`));
  }

  // ---- caches -----------------------------------------------------------------------------------

  /** A pool node seen on the node watch: one that joined after the start is cordoned and drained. */
  private nodeSeen(node: V1Node): void {
    const name = node.metadata?.name;
    if (name) this.nodeObjs.set(name, node);
    let kind: "joined" | "recreated" | undefined = undefined;
    kind = this.book.joined(node,
      (e) => { this.failure ??= new Failure("api-error", `could not cordon ${name}, which ${kind === "recreated" ? "was re-created" : "joined the pool"}: ${errorText(e, this.kc)}`); },
      () => this.kick());
    if (!kind) return;
    for (const [k, p] of this.cache.pods) if (p.spec?.nodeName === name) this.cache.set(k, p);
    this.dirtyAll = true;
    this.kick();
  }

  private resetPods(items: V1Pod[]): void {
    this.cache.reset(items);
    this.recountReady();
    this.kick();
  }

  /** The workload a pod counts for as Ready (healthy), or undefined. */
  private readyIn(pod: V1Pod | undefined): string | undefined {
    return pod && isHealthy(pod) ? this.controllers.workloadOf(pod) : undefined; // not memoised: each event is a new version, seen once
  }

  /** Recounts every workload's Ready pods (a re-list, or ReplicaSets that now resolve differently). */
  private recountReady(): void {
    this.tracker.resetPods([...this.cache.pods].map(([k, p]) => [k, this.readyIn(p)] as [string, string | undefined]));
  }

  private resetControllers(kind: ScalableKind, items: ScalableObject[]): void {
    this.controllers.reset(kind, items);
    this.dirtyAll = true;
    if (kind === "ReplicaSet") {
      this.facts.workloadsChanged();
      this.recountReady();
    }
    this.tracker.refresh();
    this.kick();
  }

  /** A Deployment, StatefulSet or ReplicaSet changed: replicas (floors) or ReplicaSet ownership may have moved. */
  private controllerEvent(kind: ScalableKind, type: string, o: ScalableObject): void {
    if (this.controllers.set(kind, o, type === "DELETED")) {
      this.facts.workloadsChanged();
      this.recountReady();
    }
    const owner = kind === "ReplicaSet" ? this.controllers.rsOwner.get(keyOf(o)) : undefined;
    const w = owner ? `${o.metadata?.namespace}/Deployment/${owner}` : `${o.metadata?.namespace}/${kind}/${o.metadata?.name}`;
    this.dirty.add(`workload ${w}`); // replicas set its implicit budget
    if (this.tracker.isTracked(w)) {
      this.tracker.refresh((x) => x === w);
      this.kick();
    }
  }

  /** Starts recording the availability of a pod's workload (a workload this drain moves). */
  private trackPod(pod: V1Pod): void {
    const w = this.facts.workload(pod);
    if (!w || this.tracker.isTracked(w)) return;
    this.samples.set(w, pod);
    this.tracker.track(w);
  }

  /** The floor in force for a tracked workload: its PDB's, else the implicit one, else none. */
  private floorOf(w: string): FloorInfo {
    const sample = this.samples.get(w);
    const pdbs = sample ? this.facts.pdbs(sample) : [];
    if (pdbs.length === 1) {
      const pdb = pdbs[0];
      const reported = pdb.status?.expectedPods;
      const expected = typeof reported === "number" && reported > 0 ? reported : this.cache.countMatching(pdb).pods;
      // The floor is the PDB's, over the pods it expects (the disruption controller's count, which
      // for an integer minAvailable includes a surge pod started while an evicted one terminates);
      // "replicas" is what the operator scaled the workload to, when a scalable controller owns it.
      return { replicas: this.controllers.replicas(w) ?? expected, floor: pdbFloor(pdb, expected), source: `pdb ${keyOf(pdb)}` };
    }
    const replicas = this.controllers.replicas(w);
    const b = this.budgets.implicit.budgetOf(w);
    if (replicas !== undefined && b) return { replicas, floor: b.floor, source: this.budgets.implicit.label };
    return { replicas: replicas ?? this.tracker.ready(w), floor: 0, source: "none" };
  }

  /** The pods whose eligibility changes together: a PDB's, else a workload's (implicit budget), else the pod alone. */
  private groupOf(pod: V1Pod): string {
    const keys = this.facts.pdbKeys(pod);
    if (keys.length === 1) return `pdb ${keys[0]}`;
    const w = keys.length === 0 ? this.facts.workload(pod) : undefined;
    return w ? `workload ${w}` : `pod ${keyOf(pod)}`;
  }

  private podEvent(type: string, pod: V1Pod): void {
    const k = keyOf(pod);
    if (type === "DELETED" || !isHealthy(pod)) this.budgets.implicit.release(k); // its disruption now shows in every drain's watch
    const wasOnPool = this.cache.poolPods.has(k);
    if (type === "DELETED") {
      if (this.cache.pods.get(k)?.metadata?.uid === pod.metadata?.uid) this.cache.set(k, undefined);
    } else {
      this.cache.set(k, pod); // a new UID under the same name replaces the old pod: the old one is gone
    }
    const changed = this.tracker.pod(k, this.readyIn(this.cache.pods.get(k)));
    for (const w of changed) this.dirty.add(`workload ${w}`); // implicit budgets count Ready pods anywhere
    // Pool pods drive evictions; other pods matter for readiness, floors, implicit budgets and DaemonSets.
    if (wasOnPool || this.cache.poolPods.has(k) || WAKES_ON_EVERY_POD_EVENT.has(this.phase) || changed.some((w) => this.tracker.isTracked(w))) this.kick();
  }

  private resetPdbs(items: V1PodDisruptionBudget[]): void {
    this.pdbs.clear();
    for (const p of items) this.pdbs.set(keyOf(p), p);
    this.pdbIndex = new PdbIndex(this.pdbs.values());
    this.facts.pdbsChanged();
    for (const p of items) this.budgets.pdb.seen(keyOf(p), p);
    this.tracker.refresh();
    this.kick();
  }

  private pdbEvent(type: string, pdb: V1PodDisruptionBudget): void {
    const k = keyOf(pdb);
    const before = this.pdbs.get(k);
    // Only a new, removed or re-selected PDB changes which pods it matches (not a status update).
    if (type !== "MODIFIED" || !before || JSON.stringify(before.spec?.selector) !== JSON.stringify(pdb.spec?.selector)) this.facts.pdbsChanged();
    this.pdbIndex.remove(k);
    if (type === "DELETED") this.pdbs.delete(k);
    else { this.pdbs.set(k, pdb); this.pdbIndex.add(pdb); }
    this.budgets.pdb.changed(k, pdb);
    this.dirty.add(`pdb ${k}`);
    const ns = `${pdb.metadata?.namespace ?? ""}/`;
    this.tracker.refresh((w) => w.startsWith(ns)); // a PDB created (or deleted) mid-drain takes over (or hands back)
    this.kick();
  }

  // ---- the eviction pump ------------------------------------------------------------------------

  /** Pods on the pool (or a batch of it) whose verdict is one of `verdicts`. */
  private remaining(verdicts: Verdict[], nodes: ReadonlySet<string> = this.book.set): { pod: V1Pod; verdict: Verdict }[] {
    return this.cache.remaining(verdicts, nodes);
  }


  /**
   * Starts every eviction allowed right now on `nodes`; returns true when no pod to move remains there.
   * Bounded by `concurrency` (requests in flight + pods terminating) and by each PDB's budget.
   */
  private pump(nodes: ReadonlySet<string>): boolean {
    this.failIfBlocked();
    const { todo, ordered, groups, rebuilt } = this.toMove(nodes);
    if (todo.length === 0) return true;
    // Only pods whose eligibility may have changed since the last pass, in pass order: the others
    // are still parked on the same budgets (a full pass would skip them one by one).
    let pass = ordered;
    if (!rebuilt && !this.dirtyAll) {
      pass = [];
      for (const g of this.dirty) for (const it of groups.get(g) ?? []) pass.push(it);
      if (this.dirty.size > 1) pass.sort((a, b) => a.rank - b.rank);
    }
    const now = this.clock.now();
    let disrupting = 0, holding = 0;
    this.nextStuck = Infinity;
    for (const it of todo) {
      const w = this.waitOn(it, now);
      if (w.holds) holding++;
      if (w.slot) disrupting++;
    }
    if (holding === 0) return true; // what is left is not waited for (terminating before the drain, or stuck)
    this.dirty.clear();
    this.dirtyAll = false;
    this.budgets.beginPass(now, () => this.wake());
    // Round-robin across workloads (see toMove): every workload's longest chain starts first.
    for (const { pod, verdict, s, workload, pdbKeys } of pass) {
      if (workload === undefined || !this.tracker.isTracked(workload)) this.trackPod(pod); // late pods (new nodes, pods bound directly) are evidence too
      if (disrupting >= this.concurrency) { this.dirtyAll = true; break; } // the rest was not looked at: all of it next time
      if (verdict !== "evict") continue;
      if (s.inflight || s.evictedAt || s.namespaceTerminating || (s.notBefore && now < s.notBefore)) continue;
      s.parkedOnWorkload = undefined;
      // Admit-or-park on the pod's one budget (evictionBudgets.ts).
      const a = this.budgets.admit(pod, pdbKeys);
      if (a.kind === "stop") throw new Failure(a.reason, a.message, a.pdbs, a.pods ?? this.parkedOn(a.pdbs[0], todo));
      if (a.kind === "park") { s.parkedOn = a.pdbKey; s.parkedOnWorkload = a.workload; continue; }
      s.parkedOn = undefined;
      disrupting++;
      if (a.kind === "send") { this.send(pod, s, a.pdbKey, a.usesBudget); continue; }
      // Across processes: published in the Lease first, sent once the write confirms it (counted in flight meanwhile).
      s.inflight = true;
      this.inflight++;
      this.budgets.implicit.queue({ pod, s, r: a.reservation });
    }
    this.budgets.implicit.flush((wait, outcome) => this.leaseAnswered(wait, outcome), () => this.wake());
    this.progress(false);
    return false;
  }

  /** A Lease write answered for a pod waiting on it: sends the eviction when granted (and the drain goes on); returns whether it did. */
  private leaseAnswered({ pod, s }: LeaseWait, outcome: "granted" | "refused" | "failed"): boolean {
    s.inflight = false;
    this.inflight--;
    if (outcome !== "granted" || this.failure || this.phase === "failing") return false;
    this.send(pod, s, undefined);
    return true;
  }

  /** Time-driven or out-of-band news (a Lease read or write over): a full pass, soon. */
  private wake(): void {
    this.dirtyAll = true;
    this.kick();
  }

  /**
   * Whether a pod to move holds the drain and takes a concurrency slot now (terminating.ts): a
   * deleting pod this drain did not evict, or one stuck past its grace period plus the margin, does
   * neither (named in the summary); a pod its namespace's deletion removes holds it without a slot.
   */
  private waitOn(it: ToMove, now: number): { holds: boolean; slot: boolean } {
    const { pod, verdict, s } = it;
    if (verdict === "terminating") {
      const ours = !!(s.evictedAt || s.inflight || s.namespaceTerminating);
      const t = terminatingState(pod, { terminatingAtStart: !ours, now, marginMs: this.stuckMarginMs, node: this.nodeObjs.get(pod.spec?.nodeName ?? "") });
      if (!t) return { holds: true, slot: true };
      if (t.holdsDrain) this.nextStuck = Math.min(this.nextStuck, t.stuckAt);
      else if (t.note && !this.notWaited.has(pod.metadata?.uid ?? "")) {
        this.notWaited.set(pod.metadata?.uid ?? "", t.note);
        this.log(`[${this.opts.pool}] ${t.note}`);
      }
      return { holds: t.holdsDrain, slot: t.takesSlot && !s.namespaceTerminating };
    }
    if (s.namespaceTerminating) return { holds: true, slot: false };
    return { holds: true, slot: !!(s.inflight || s.evictedAt) };
  }

  /**
   * The pods to move on `nodes` (verdict evict or terminating), and the same pods round-robin across
   * workloads (each one's first pod, then each one's second, ...): budgets gate pod by pod, so every
   * workload's longest chain of evictions starts as early as it can. Rebuilt only when a pod
   * joined or left them, the workload map or the PDB selectors changed, or for other nodes (a new
   * batch); a pod's new version (evict -> terminating) updates its entry in place.
   */
  private toMove(nodes: ReadonlySet<string>): MoveCache & { rebuilt: boolean } {
    const c = this.moveCache;
    const workloadsVersion = this.facts.workloadsVersion, pdbsVersion = this.facts.pdbsVersion;
    if (c && c.moveVersion === this.cache.moveVersion && c.workloadsVersion === workloadsVersion && c.pdbsVersion === pdbsVersion &&
      c.nodes.size === nodes.size && [...nodes].every((n) => c.nodes.has(n))) return { ...c, rebuilt: false };
    const refresh = !c || c.workloadsVersion !== workloadsVersion || c.pdbsVersion !== pdbsVersion;
    const todo: ToMove[] = [];
    for (const it of this.cache.toMove.values()) {
      if (refresh) { it.workload = this.facts.workload(it.pod); it.pdbKeys = this.facts.pdbKeys(it.pod); it.group = this.groupOf(it.pod); } // every entry, not only this batch's
      if (nodes.has(it.pod.spec?.nodeName ?? "")) todo.push(it);
    }
    const ordered = roundRobin(todo, (t) => t.workload ?? keyOf(t.pod));
    const groups = new Map<string, ToMove[]>();
    ordered.forEach((it, i) => {
      it.rank = i;
      const g = groups.get(it.group);
      if (g) g.push(it); else groups.set(it.group, [it]);
    });
    this.moveCache = { moveVersion: this.cache.moveVersion, workloadsVersion, pdbsVersion, nodes: new Set(nodes), todo, ordered, groups };
    return { ...this.moveCache, rebuilt: true };
  }

  /**
   * The plan refused pods that cannot be moved safely; one that shows up on the pool later (bound
   * to a node directly, or on a node that joined the pool) fails the drain the same way, instead
   * of being left behind for the pool's deletion to kill while the drain reports success.
   */
  private failIfBlocked(): void {
    if (!this.cache.count("blocks")) return;
    const blocked = this.remaining(["blocks"]);
    if (!blocked.length) return;
    const lines = blocked.map(({ pod }) => `pod ${keyOf(pod)} on ${pod.spec?.nodeName}: ${this.facts.decision(pod).reason}`);
    throw new Failure("blocked", `drain of pool ${this.opts.pool} stopped: ${blocked.length} pod(s) that cannot be moved safely appeared on the pool: ${lines.slice(0, 20).join("; ")}${lines.length > 20 ? ` and ${lines.length - 20} more` : ""}`,
      [], blocked.map(({ pod }) => keyOf(pod)), lines);
  }

  /**
   * One eviction; its answer (evictionAnswer.ts) updates the pod's state and wakes the loop.
   * `usesBudget`: false for a pod offered although its PDB shows no budget (Pending or not Ready:
   * the API server decides, without decrementing it).
   */
  private send(pod: V1Pod, s: PodState, pdbKey: string | undefined, usesBudget = true): void {
    const name = keyOf(pod);
    const workload = this.facts.workload(pod);
    const bound = workload ? this.reEvictions.admit(workload) : undefined;
    if (bound) {
      this.failure ??= new Failure("re-evictions", bound, [], [name]);
      if (pdbKey && usesBudget) this.budgets.pdb.released(pdbKey, podName(pod));
      this.kick();
      return;
    }
    s.inflight = true;
    this.inflight++;
    const ledgerKey = usesBudget ? pdbKey : undefined;
    this.client.evict(pod.metadata?.namespace ?? "", podName(pod), pod.metadata?.uid).then(() => {
      s.evictedAt = this.clock.now();
      if (ledgerKey) this.budgets.pdb.accepted(ledgerKey, podName(pod), s.evictedAt);
      this.evicted++;
      if (workload) this.moved.add(workload);
      if (pdbKey) this.movedPdbs.add(pdbKey);
    }, (err) => {
      if (ledgerKey) this.budgets.pdb.released(ledgerKey, podName(pod)); // refused, gone or lost: no budget used (a lost one that did count only costs a 429)
      if (workload) this.reEvictions.refund(workload);
      this.budgets.implicit.release(name);
      const o = classifyEvictionError(err);
      switch (o.kind) {
        case "evicted":
        case "gone":
          s.evictedAt = this.clock.now(); // gone already, or replaced (409 about the pod: UID precondition): nothing left to evict
          break;
        case "budget-exhausted": {
          this.rejected429++;
          const wait = o.retryAfterMs ?? backoffMs(s.attempts, 500, 10_000);
          s.attempts++;
          s.notBefore = this.clock.now() + wait + Math.random() * Math.min(1000, wait / 4);
          this.backingOff.add(s);
          if (pdbKey) { s.parkedOn = pdbKey; if (ledgerKey) this.budgets.pdb.rejected(pdbKey, s.notBefore); }
          break;
        }
        case "pdb-conflict-retry":
          // 409 about the PDB: the server lost its status-update race after its own retries; the pod was NOT evicted.
          s.notBefore = this.clock.now() + backoffMs(s.attempts++, 200, 5000);
          this.backingOff.add(s);
          this.log(`[${this.opts.pool}] eviction of ${name} answered 409 on PodDisruptionBudget ${o.pdb ?? pdbKey ?? "?"} (the pod was not evicted): retrying`);
          break;
        case "namespace-terminating":
          // NamespaceLifecycle: the namespace controller deletes the pod; wait for it, as kubectl drain does.
          s.namespaceTerminating = true;
          this.log(`[${this.opts.pool}] namespace ${pod.metadata?.namespace} is being deleted: its controller deletes pod ${name}; waiting for it to go`);
          break;
        case "multiple-pdbs":
          this.failure ??= new Failure("multiple-pdbs", `eviction of ${name} refused: ${o.message} Make the PDB selectors disjoint.`, this.facts.pdbs(pod).map(keyOf), [name]);
          break;
        case "transient":
          s.notBefore = this.clock.now() + backoffMs(s.attempts++, 100, 5000);
          this.backingOff.add(s);
          break;
        case "other":
          this.failure ??= new Failure("api-error", `eviction of ${name} failed with HTTP ${o.code}: ${o.message}`, pdbKey ? [pdbKey] : [], [name]);
          break;
      }
    }).finally(() => {
      s.inflight = false;
      this.inflight--;
      this.dirty.add(this.groupOf(pod));
      this.kick();
    });
  }

  private parkedOn(pdbKey: string, todo: { pod: V1Pod }[]): string[] {
    return todo.filter(({ pod }) => this.facts.pdbs(pod).some((p) => keyOf(p) === pdbKey)).map(({ pod }) => keyOf(pod));
  }

  // ---- readiness and soak -----------------------------------------------------------------------

  /** Moved workloads with fewer Ready pods than before the drain (the tracker counts every workload's Ready pods). */
  private notReadyAgain(): string[] {
    return notReadyAgain(this.moved, this.readyBefore, (w) => this.controllerNow(w), (w) => this.tracker.ready(w)).map(formatNotReady);
  }

  /** A moved workload's controller now: its spec.replicas, deleted since the start, or never known (readyTarget.ts). */
  private controllerNow(w: string): ControllerNow {
    const replicas = this.controllers.replicas(w);
    if (replicas !== undefined) return { state: "scaled", replicas };
    return this.knownAtStart.has(w) ? { state: "deleted" } : { state: "unknown" };
  }

  /** PDBs of moved workloads currently below their floor, and moved workloads below their implicit floor. */
  private belowFloor(): { key: string; text: string }[] {
    const out: { key: string; text: string }[] = [];
    for (const b of this.tracker.belowFloor()) {
      if (this.moved.has(b.workload) && b.floor.source.startsWith("implicit")) out.push({ key: b.workload, text: `${b.workload} (${b.ready} Ready < implicit floor ${b.floor.floor})` });
    }
    for (const k of this.movedPdbs) {
      const pdb = this.pdbs.get(k);
      if (!pdb) continue;
      const c = this.cache.countMatching(pdb);
      const floor = pdbFloor(pdb, expectedPods(pdb, c.pods));
      if (c.healthy < floor) out.push({ key: k, text: `${k} (${c.healthy} healthy < floor ${floor})` });
    }
    return out;
  }

  /** For `ms`, every moved workload's PDB must stay at or above its floor. */
  private async soak(ms: number, what: string): Promise<void> {
    const end = this.clock.now() + ms;
    this.log(`[${this.opts.pool}] ${what}: ${ms} ms`);
    await this.until(() => {
      const low = this.belowFloor();
      if (low.length) throw new Failure("soak", `${what} failed: ${low.map((l) => l.text).join(", ")}`, low.map((l) => l.key));
      return this.clock.now() >= end;
    }, what, undefined, end);
  }

  // ---- the loop ---------------------------------------------------------------------------------

  /**
   * Wakes the loop. Coalesced: the first request in an event-loop turn schedules one wake-up
   * (setImmediate, after the I/O callbacks of this turn), so a burst of watch events — a chunk
   * of a watch stream carries many — costs one pass of the loop, not one per event.
   */
  private kick(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      const w = this.waiter;
      this.waiter = undefined;
      w?.();
    });
  }

  private checkStop(): void {
    if (this.failure) throw this.failure;
    if (this.opts.signal?.aborted) throw abortError(this.opts.signal);
  }

  /** Next backoff expiry, so a parked pod is retried without an event. */
  private nextTimer(): number {
    let t = Infinity;
    const now = this.clock.now();
    for (const s of this.backingOff) {
      if (!s.notBefore || s.notBefore <= now || s.evictedAt) this.backingOff.delete(s); // expired (a new backoff adds it again)
      else if (!s.inflight) t = Math.min(t, s.notBefore);
    }
    t = Math.min(t, this.budgets.pdb.nextTimer(now)); // probes after 429, unsettled evictions expiring
    if (this.nextStuck > now) t = Math.min(t, this.nextStuck + 1); // a deleting pod becomes stuck: it stops holding the drain
    t = Math.min(t, this.budgets.implicit.nextTimer(now)); // see other processes' reservations go
    return t;
  }

  /**
   * Re-evaluates `cond` after watch events, eviction outcomes and timers (at most once per
   * event-loop turn, see kick) until it holds; fails on
   * the deadline naming what still blocks.
   */
  private async until(cond: () => boolean, what: string, blocking?: () => string[], wakeAt?: number): Promise<void> {
    for (;;) {
      this.checkStop();
      if (cond()) return;
      this.checkStop();
      if (this.clock.now() >= this.deadline) throw this.deadlineFailure(what, blocking);
      const until = Math.min(this.deadline, this.nextTimer(), wakeAt ?? Infinity, this.clock.now() + 1000);
      await new Promise<void>((resolve) => {
        const done = () => { this.clock.clearTimeout(t); this.opts.signal?.removeEventListener("abort", done); if (this.waiter === done) this.waiter = undefined; resolve(); };
        const t = this.clock.setTimeout(() => { this.dirtyAll = true; done(); }, Math.max(0, until - this.clock.now())); // time-driven changes: a full pass
        this.waiter = done;
        this.opts.signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** The failure at the deadline: what the drain was doing and what held it (errors.ts deadlineDetail words it). */
  private deadlineFailure(what: string, blocking?: () => string[]): Failure {
    const pods = this.remaining(["evict", "terminating", "wait-completed"]);
    const states = pods.map(({ pod }) => this.cache.stateOf(pod.metadata?.uid));
    const pdbs = [...new Set(states.map((s) => s?.parkedOn).filter((x): x is string => !!x))];
    const implicit = [...new Set(states.map((s) => s?.parkedOnWorkload).filter((x): x is string => !!x))];
    const names = pods.map(({ pod }) => keyOf(pod));
    // Unready pool pods a PDB holds (IfHealthyBudget): AlwaysAllow would let them go (advice.ts).
    const unready = [...new Set(pods.filter(({ pod }) => !isHealthy(pod) && !pod.metadata?.deletionTimestamp).map(({ pod }) => this.cache.stateOf(pod.metadata?.uid)?.parkedOn)
      .filter((k): k is string => !!k && this.pdbs.get(k)?.spec?.unhealthyPodEvictionPolicy !== "AlwaysAllow"))];
    const detail = deadlineDetail({
      seconds: Math.round((this.deadline - this.started) / 1000), what, pdbs,
      implicit: {
        setting: String(this.budgets.implicit.setting),
        workloads: implicit.map((w) => ({ workload: w, ready: this.tracker.ready(w), floor: this.budgets.implicit.budgetOf(w)?.floor ?? 0 })),
      },
      pods: names, waitingFor: blocking?.() ?? (this.phase === "ready" ? this.notReadyAgain() : []),
      hint: unready.length ? unreadyPodsHint(unready) : undefined,
    });
    return new Failure("deadline", detail, pdbs, names);
  }

  /** A progress line at most once a second (and always at the end). */
  private progress(force: boolean): void {
    if (!force && this.clock.now() - this.lastProgress < 1000) return;
    this.lastProgress = this.clock.now();
    const left = this.remaining(["evict", "terminating", "wait-completed"]);
    const parked = new Map<string, number>();
    for (const { pod } of left) {
      const s = this.cache.stateOf(pod.metadata?.uid);
      const p = s?.parkedOn ?? (s?.parkedOnWorkload ? `implicit ${s.parkedOnWorkload}` : undefined);
      if (p) parked.set(p, (parked.get(p) ?? 0) + 1);
    }
    const line = `[${this.opts.pool}] evicted ${this.evicted}, remaining ${left.length}` +
      (this.inflight ? `, in flight ${this.inflight}` : "") +
      (parked.size ? `, waiting on budget ${[...parked].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${k} (${n})`).join(", ")}${parked.size > 5 ? ` and ${parked.size - 5} more` : ""}` : "");
    if (line !== this.lastProgressLine || force) this.log(line);
    this.lastProgressLine = line;
  }

  // ---- ending -----------------------------------------------------------------------------------

  private stopWatches(): void {
    for (const r of this.reflectors) r.stop();
  }



  private summary(outcome: DrainSummary["outcome"], reason?: DrainFailureReason): DrainSummary {
    const counts = this.plan?.counts;
    return {
      pool: this.opts.pool,
      nodes: this.book.nodes,
      outcome,
      evicted: this.evicted,
      waitedCompleted: this.cache.completedCount(),
      skipped: (counts?.stays ?? 0) + (counts?.ignored ?? 0),
      durationMs: this.clock.now() - this.started,
      cordoned: this.book.stillCordoned(),
      apiRequests: this.client.total,
      requestsByKind: { ...this.client.requests },
      rejected429: this.rejected429,
      phasesMs: { ...this.phases },
      availability: this.tracker.rows(),
      ...(this.notWaited.size ? { notWaitedFor: [...this.notWaited.values()] } : {}),
      ...(reason ? { reason } : {}),
    };
  }

  /**
   * Stops evicting, uncordons what this tool cordoned, builds the DrainError. In-flight evictions
   * (never tied to the abort signal) get a bounded wait so the summary counts them: up to 5 s
   * BEFORE the uncordon on a failure, but on an abort only ABORT_SETTLE_MS, IN PARALLEL with the
   * uncordon. An abort is usually the Pulumi engine's SIGINT to the provider host, and the engine
   * SIGKILLs the host's process group 5 s later (pulumi/pulumi sdk/go/common/resource/plugin/
   * plugin.go): a hanging eviction must not push the uncordon past that. An eviction that lands
   * after the uncordon is an ordinary PDB-checked eviction; nothing is ever force-deleted.
   */
  private async failClosed(e: unknown): Promise<DrainError> {
    this.enter("failing");
    this.stopWatches();
    this.tracker.stop(); // the evidence covers the drain up to the failure
    const f: Failure = e instanceof Failure ? e
      : thrownFields(e).name === "AbortError" ? new Failure("aborted", (e as Error).message)
      : new Failure("api-error", errorText(e, this.kc));
    // Real time on purpose (clock.ts): this bound races the provider host's SIGKILL.
    const settleEnd = Date.now() + (f.reason === "aborted" ? ABORT_SETTLE_MS : FAILURE_SETTLE_MS);
    const settled = (async () => { while (this.inflight > 0 && Date.now() < settleEnd) await new Promise((r) => setTimeout(r, 20)); })();
    if (f.reason !== "aborted") await settled;
    await this.book.lateSettled();
    const cleanup = new KubeClient(this.kc); // not tied to the (maybe aborted) signal
    await this.book.claimLost(cleanup);
    const uncordoned = this.opts.keepCordoned ? [] : await this.book.uncordonOurs(cleanup, this.concurrency);
    await settled;
    await this.budgets.implicit.close();
    for (const [k, n] of Object.entries(cleanup.requests)) { this.client.requests[k] = (this.client.requests[k] ?? 0) + n; this.client.total += n; }
    const summary = this.summary("failed", f.reason);
    const error = new DrainError({ reason: f.reason, detail: f.message, blockingPdbs: f.pdbs, blockingPods: f.pods, blockers: f.blockers, uncordoned,
      stillCordoned: summary.cordoned, keptCordoned: !!this.opts.keepCordoned, summary });
    this.log(`[${this.opts.pool}] drain failed (${f.reason}): ${sentence(error.message)}`);
    return error;
  }
}

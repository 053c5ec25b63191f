/**
 * How long a drain takes: an estimate, as a range with the assumptions it rests on, from what the
 * plan knows — each budget's size (a PDB, or the implicit budget of a workload without one) and
 * the start-to-Ready times its pods showed when they started. Pure: a snapshot and its plan in,
 * the estimate out; no I/O, no clock.
 *
 * The model is the drain's own (drain.ts): every pod of the pool is evictable at once, each
 * budget lets `atOnce` of its pods go, and its next eviction is allowed when the replacement of an
 * evicted pod is Ready (a PDB counts healthy pods: Ready and not terminating, pkg/controller/
 * disruption). So a budget with `n` pods on the pool moves them in `waves = ceil(n / atOnce)`,
 * each wave as long as a replacement's start-to-Ready; a StatefulSet recreates a pod under the
 * same name only once the evicted one is gone, so its waves also wait for the termination. The
 * drain ends when the last evicted pod is gone: the last wave costs a termination, not a start.
 * Budgets run side by side, so the drain lasts as long as the longest, and at least as long as
 * `concurrency` (pods being disrupted at once, terminating ones included) lets every pod through.
 *
 * Start-to-Ready is measured from the pod's `PodScheduled` condition (status True) to its `Ready`
 * condition (lastTransitionTime), falling back to `status.startTime`, then `creationTimestamp`,
 * for the start. From scheduling, not creation: a pod created while no node had room (the first
 * rollout, an autoscaler scale-up) waited Pending for capacity, which a drain does not (the plan
 * checks that the pods fit on Ready replacement nodes); from scheduling on, it covers what a
 * replacement goes through: image pull, init containers, start-up and readiness probes. Only Ready
 * pods whose containers never restarted count (a restart moves Ready's lastTransitionTime), and
 * none over MAX_STARTUP_MS (a readiness flap long after start-up). API timestamps have one-second
 * resolution (metav1.Time is RFC 3339 without fractions), so each bound is widened by a second.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { Controllers } from "./workloads";
import type { ClusterSnapshot, Plan } from "./types";

/** Assumed start-to-Ready of a budget whose pods report no usable times (no Ready pod that never restarted). */
export const DEFAULT_START_TO_READY_MS = { low: 10_000, high: 60_000 };
/** Resolution of the API's timestamps (creationTimestamp, conditions' lastTransitionTime). */
export const TIMESTAMP_RESOLUTION_MS = 1000;
/** Controller, scheduler and watch reaction per wave, counted in the high end only. */
export const WAVE_LAG_MS = 1000;
/** A Ready transition later than this after scheduling is not a start-up (a readiness flap later in the pod's life). */
export const MAX_STARTUP_MS = 60 * 60_000;
/** terminationGracePeriodSeconds when a pod does not set it (the API default). */
const DEFAULT_GRACE_S = 30;

/** A duration range in ms. */
export interface MsRange { low: number; high: number }

/** The pods one budget moves, and how long that takes. */
export interface EstimateGroup {
  /** What gates the group: "pdb <ns>/<name>", "implicit <budget> <workload>", "no budget" or "terminating". */
  budget: string;
  /** Workloads ("<ns>/<Kind>/<name>") with pods in the group. */
  workloads: string[];
  /** Pods of the group on the pool. */
  poolPods: number;
  /** Pods the budget lets go at once when every pod is Ready; null: no limit. */
  atOnce: number | null;
  /** ceil(poolPods / atOnce). */
  waves: number;
  /** A replacement's start-to-Ready. */
  startToReadyMs: MsRange;
  /** "observed" from `samples` pods, or the stated "default". */
  startToReadySource: "observed" | "default";
  /** Pods whose times were used. */
  samples: number;
  /** An evicted pod's exit: at once, up to its terminationGracePeriodSeconds. */
  terminationMs: MsRange;
  /** A StatefulSet's waves also wait for the evicted pod to be gone. */
  statefulSet: boolean;
  /** The group's duration. */
  ms: MsRange;
}

/** The estimate `plan` prints: a range, per budget what it rests on, and the assumptions. */
export interface DrainEstimate {
  /** The whole drain, from the first list to the last evicted pod gone. */
  ms: MsRange;
  /** The group whose high end is the longest (the one to relax or speed up), if any. */
  longest?: string;
  /** Lists and cordon (from the plan's own lists). */
  setupMs: MsRange;
  /** Waiting for the pool's DaemonSets to be Ready on the replacement (plan.daemonSetsPending). */
  daemonSetsMs: MsRange;
  /** The floor `concurrency` puts on the high end: ceil(pods / concurrency) terminations. */
  concurrencyMs: MsRange;
  /** Settings the estimate is for. */
  concurrency: number;
  deadlineMs: number;
  /** The high end is beyond the deadline (the drain may fail and uncordon). */
  exceedsDeadline: boolean;
  /** Per budget, longest first. */
  groups: EstimateGroup[];
  /** What the range assumes, one sentence each. */
  assumptions: string[];
}

/** Settings the estimate is computed for (the drain's). */
export interface EstimateOptions {
  /** Pods being disrupted at once (DrainOptions.concurrency). */
  concurrency: number;
  /** The drain's deadline (DrainOptions.deadlineMs). */
  deadlineMs: number;
  /** How long the plan's own lists took: the drain makes the same ones. Default 0. */
  listMs?: number;
  /** Overrides DEFAULT_START_TO_READY_MS. */
  defaultStartToReadyMs?: MsRange;
}

function ms(t: Date | string | undefined): number | undefined {
  if (t === undefined || t === null) return undefined;
  const v = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * A Ready pod's start-to-Ready in ms (scheduled -> Ready, see the module comment), or undefined
 * when it is not Ready, is terminating, restarted a container, or its times are missing or absurd.
 */
export function startToReadyMs(pod: V1Pod): number | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const conds = pod.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === "Ready");
  if (ready?.status !== "True") return undefined;
  if ((pod.status?.containerStatuses ?? []).some((c) => (c.restartCount ?? 0) > 0)) return undefined;
  const scheduled = conds.find((c) => c.type === "PodScheduled" && c.status === "True")?.lastTransitionTime;
  const t0 = ms(scheduled) ?? ms(pod.status?.startTime) ?? ms(pod.metadata?.creationTimestamp);
  const t1 = ms(ready.lastTransitionTime);
  if (t0 === undefined || t1 === undefined || t1 < t0 || t1 - t0 > MAX_STARTUP_MS) return undefined;
  return t1 - t0;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The 10th..90th percentile of observed times, widened by the timestamps' resolution; or the default. */
function startRange(samples: number[], fallback: MsRange): { range: MsRange; source: "observed" | "default" } {
  if (!samples.length) return { range: fallback, source: "default" };
  const s = [...samples].sort((a, b) => a - b);
  return { range: { low: Math.max(0, percentile(s, 10) - TIMESTAMP_RESOLUTION_MS), high: percentile(s, 90) + TIMESTAMP_RESOLUTION_MS }, source: "observed" };
}

/** A duration for people: "45s", "2m05s", "1h02m". */
export function formatMs(v: number): string {
  const s = Math.round(v / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

interface Building { budget: string; workloads: Set<string>; pods: V1Pod[]; atOnce: number | null; allowedNow?: number }

/**
 * Estimates the drain of the plan's pool over the snapshot the plan was made from. A plan with
 * blockers gets an estimate too (of the drain once they are fixed); a PDB that never allows a
 * disruption counts as allowing one.
 */
export function estimateDrain(snap: ClusterSnapshot, plan: Plan, opts: EstimateOptions): DrainEstimate {
  const fallback = opts.defaultStartToReadyMs ?? DEFAULT_START_TO_READY_MS;
  const pods: V1Pod[] = snap.pods ?? [];
  const byKey = new Map<string, V1Pod>();
  for (const p of pods) byKey.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
  const pdbs = new Map(plan.pdbs.map((p) => [p.name, p]));
  const implicit = new Map(plan.implicitBudgets.map((b) => [b.workload, b]));

  // Group the pool's pods by what gates them, as the drain does (drain.ts groupOf).
  const groups = new Map<string, Building>();
  let waitCompleted = 0;
  for (const pp of plan.pods) {
    const pod = byKey.get(`${pp.namespace}/${pp.name}`);
    if (!pod) continue;
    if (pp.verdict === "wait-completed") waitCompleted++;
    if (pp.verdict !== "evict" && pp.verdict !== "terminating") continue;
    let key: string, atOnce: number | null = null, allowedNow: number | undefined;
    if (pp.verdict === "terminating") key = "terminating";
    else if (pp.pdb && pdbs.has(pp.pdb)) {
      const b = pdbs.get(pp.pdb)!;
      key = `pdb ${pp.pdb}`;
      atOnce = Math.max(1, b.pods - b.floor);
      allowedNow = b.allowed;
    } else if (pp.workload && implicit.has(pp.workload)) {
      const b = implicit.get(pp.workload)!;
      key = `implicit ${b.budget} ${pp.workload}`;
      atOnce = b.maxUnavailable;
      allowedNow = Math.max(0, b.healthy - b.floor);
    } else key = "no budget";
    const g = groups.get(key) ?? groups.set(key, { budget: key, workloads: new Set(), pods: [], atOnce, allowedNow }).get(key)!;
    g.pods.push(pod);
    if (pp.workload) g.workloads.add(pp.workload);
  }

  // Observed start-to-Ready per workload, from every pod of it in the cluster (one pass).
  const wanted = new Set<string>();
  for (const g of groups.values()) for (const w of g.workloads) wanted.add(w);
  const dsKeys = new Set(plan.daemonSetsPending.map((k) => { const [ns, name] = k.split("/"); return `${ns}/DaemonSet/${name}`; }));
  for (const k of dsKeys) wanted.add(k);
  const samples = new Map<string, number[]>();
  const controllers = Controllers.of(snap);
  for (const p of pods) {
    const w = controllers.workloadOf(p);
    if (!w || !wanted.has(w)) continue;
    const t = startToReadyMs(p);
    if (t !== undefined) (samples.get(w) ?? samples.set(w, []).get(w)!).push(t);
  }

  const out: EstimateGroup[] = [];
  let defaults = 0, notReadyNow = 0, maxGraceMs = 0, moved = 0;
  for (const g of groups.values()) {
    const observed = [...g.workloads].flatMap((w) => samples.get(w) ?? []);
    const start = g.budget === "terminating" || g.budget === "no budget" ? { range: { low: 0, high: 0 }, source: "observed" as const } : startRange(observed, fallback);
    if (start.source === "default") defaults++;
    const graceMs = Math.max(...g.pods.map((p) => (p.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_S) * 1000));
    maxGraceMs = Math.max(maxGraceMs, graceMs);
    moved += g.pods.length;
    const termination = { low: 0, high: graceMs };
    const statefulSet = [...g.workloads].some((w) => w.split("/")[1] === "StatefulSet");
    const waves = g.atOnce === null ? 1 : Math.ceil(g.pods.length / g.atOnce);
    if (g.atOnce !== null && g.allowedNow !== undefined && g.allowedNow < Math.min(g.atOnce, g.pods.length)) notReadyNow++;
    const wave = {
      low: start.range.low + (statefulSet ? termination.low : 0),
      high: start.range.high + WAVE_LAG_MS + (statefulSet ? termination.high : 0),
    };
    out.push({
      budget: g.budget, workloads: [...g.workloads].sort(), poolPods: g.pods.length, atOnce: g.atOnce, waves,
      startToReadyMs: start.range, startToReadySource: start.source, samples: start.source === "observed" ? observed.length : 0,
      terminationMs: termination, statefulSet,
      ms: { low: (waves - 1) * wave.low + termination.low, high: (waves - 1) * wave.high + termination.high },
    });
  }
  out.sort((a, b) => b.ms.high - a.ms.high || a.budget.localeCompare(b.budget));

  const listMs = opts.listMs ?? 0;
  const setupMs = { low: listMs, high: 2 * listMs + WAVE_LAG_MS };
  const dsSamples = [...dsKeys].flatMap((k) => samples.get(k) ?? []);
  const daemonSetsMs = dsKeys.size ? { low: 0, high: startRange(dsSamples, fallback).range.high } : { low: 0, high: 0 };
  const concurrencyMs = { low: 0, high: Math.ceil(moved / opts.concurrency) * maxGraceMs };
  const longestGroup = Math.max(0, ...out.map((g) => g.ms.high));
  const total = {
    low: setupMs.low + daemonSetsMs.low + Math.max(0, ...out.map((g) => g.ms.low)),
    high: setupMs.high + daemonSetsMs.high + Math.max(longestGroup, concurrencyMs.high),
  };

  const r = (x: MsRange) => `${formatMs(x.low)}-${formatMs(x.high)}`;
  const assumptions = [
    `start-to-Ready is observed per workload: PodScheduled to Ready (lastTransitionTime) of its Ready pods that never restarted, which covers image pull, init containers, start-up and readiness probes; the range is their 10th to 90th percentile, widened by 1 s each way (API timestamps have 1 s resolution)`,
    `replacements start on the new nodes as fast as the observed pods did; a new node pulls each image once, so the first wave can be slower`,
    `each budget's next eviction waits for a replacement to be Ready (the high end adds ${WAVE_LAG_MS / 1000} s of controller and watch lag per wave); a StatefulSet's replacement starts only once the evicted pod is gone`,
    `evicted pods exit between at once and their terminationGracePeriodSeconds (up to ${formatMs(maxGraceMs)} here); the drain ends when the last one is gone`,
    `the whole pool at once with concurrency ${opts.concurrency} (pods disrupted at once); --batch, --batch-soak, --soak and --wait-for-ready add to it`,
  ];
  if (defaults) assumptions.push(`${defaults} budget(s) have no pod with usable times (no Ready pod that never restarted): assumed ${r(fallback)} start-to-Ready`);
  if (notReadyNow) assumptions.push(`${notReadyNow} budget(s) allow fewer disruptions now than when all their pods are Ready: assumed their pods become Ready`);
  if (dsKeys.size) assumptions.push(`the drain first waits for ${dsKeys.size} DaemonSet(s) to be Ready on the replacement (up to ${formatMs(daemonSetsMs.high)})`);
  if (waitCompleted) assumptions.push(`${waitCompleted} pod(s) run until they complete (Jobs): not counted; the drain lasts at least as long as the longest of them`);
  if (plan.blockers.length) assumptions.push(`the plan has ${plan.blockers.length} blocker(s): this is the drain once they are fixed`);
  if (opts.listMs !== undefined) assumptions.push(`lists and cordon take about as long as this plan's lists (${listMs < 1000 ? "under 1s" : formatMs(listMs)})`);
  const exceedsDeadline = total.high > opts.deadlineMs;
  if (exceedsDeadline) assumptions.push(`the high end is beyond the drain's deadline (${formatMs(opts.deadlineMs)}): raise it (--deadline, drain.deadlineMinutes) or let the longest budget move more pods at once`);
  return { ms: total, longest: out.find((g) => g.ms.high === longestGroup && longestGroup > 0)?.budget, setupMs, daemonSetsMs, concurrencyMs, concurrency: opts.concurrency, deadlineMs: opts.deadlineMs, exceedsDeadline, groups: out, assumptions };
}

/** The estimate in one line: "Estimated drain: 6m36s to 7m34s (longest: pdb shop/web-pdb)". */
export function estimateHeadline(e: DrainEstimate): string {
  return `Estimated drain: ${formatMs(e.ms.low)} to ${formatMs(e.ms.high)}${e.longest ? ` (longest: ${e.longest})` : ""}${e.exceedsDeadline ? `  BEYOND THE ${formatMs(e.deadlineMs)} DEADLINE` : ""}`;
}

/** The estimate as `plan` prints it: the range, one line per budget (the longest ten), the assumptions. */
export function formatEstimate(e: DrainEstimate, maxGroups = 10): string[] {
  const r = (x: MsRange) => `${formatMs(x.low)} to ${formatMs(x.high)}`;
  const lines = [estimateHeadline(e)];
  for (const g of e.groups.slice(0, maxGroups)) {
    const start = g.budget === "terminating" || g.budget === "no budget" ? ""
      : `; start-to-Ready ${formatMs(g.startToReadyMs.low)}-${formatMs(g.startToReadyMs.high)} (${g.startToReadySource === "observed" ? `observed on ${g.samples} pod(s)` : "default: no usable times"})${g.statefulSet ? " + termination (StatefulSet)" : ""}`;
    lines.push(`  ${g.budget}: ${g.poolPods} pod(s) on the pool, ${g.atOnce === null ? "all at once" : `${g.atOnce} at a time`}: ${g.waves} wave(s)${start}: ${r(g.ms)}`);
  }
  if (e.groups.length > maxGroups) lines.push(`  … and ${e.groups.length - maxGroups} more budget(s) (--json lists them all)`);
  if (e.concurrencyMs.high > Math.max(0, ...e.groups.map((g) => g.ms.high))) lines.push(`  concurrency ${e.concurrency}: up to ${formatMs(e.concurrencyMs.high)} for every pod to terminate`);
  for (const a of e.assumptions) lines.push(`  assumes: ${a}`);
  return lines;
}

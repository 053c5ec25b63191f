/**
 * The rehearsal itself: a version bump performed end to end with the real code, in the order
 * `pulumi up` runs it, while the prober watches every workload's ready endpoints.
 *
 *   1. the simulator starts from the scenario (the old pool and its workloads) and settles;
 *   2. `poolName()` (components/naming.ts) names the new pool from the bumped version;
 *   3. the simulator creates the new pool (the GKE NodePool create) and its nodes become Ready;
 *   4. the old PoolDrainer's serialized `delete()` drains the old pool   (skipped with noDrain);
 *   5. the simulator deletes the old pool the way GKE does (kills pods, ignores PDBs);
 *   6. the rehearsal waits until every serving workload is fully ready again.
 *
 * `noDrain` is GKE's own behaviour (pulumi-gcp#255: deleting a pool does not honour PDBs).
 */
import * as k8s from "@kubernetes/client-node";
import { performance } from "node:perf_hooks";
import * as path from "node:path";
import * as os from "node:os";
import { POOL_DEFAULTS } from "../../components/config";
import { NamedPool, poolName } from "../../components/naming";
import { startSimulator, Simulator } from "../simulator";
import { createOldDrainer, DrainResult, OldDrainer } from "./drainSeam";
import { writeSvg } from "./picture";
import { Prober } from "./prober";
import { loadScenario, RehearsalScenario } from "./scenario";
import { Marker, Timeline, workloadFigures, WorkloadFigures } from "./timeline";
import { discoverTargets, settled } from "./workloads";

/** Options of one rehearsal run. */
export interface RehearsalOptions {
  /** Scenario file; default tests/rehearsal/default-scenario.yaml. */
  scenarioFile?: string;
  /** Skip the drain: delete the old pool directly, as GKE does. */
  noDrain?: boolean;
  /** Directory for the picture; default `<tmp>/nodepool-rotation-rehearsal`. */
  outDir?: string;
  /** Progress lines (the CLI sends them to stderr). */
  log?: (line: string) => void;
  /** Deadline for each wait (settling, nodes Ready, recovery), ms. Default 30 s. */
  waitTimeoutMs?: number;
}

/** The figures the simulator measured itself (GET /simulator/report), kept next to the prober's. */
export interface SimulatorFigures {
  minReady: number;
  msAtZero: number;
  msBelowFloor: number;
  floor: number | null;
}

/** Per-PDB figures. */
export interface PdbFigures {
  /** Most pods of the budget disrupted at once, as the simulator counted it. */
  maxConcurrentDisruptions: number;
  /** The same from the prober's series: max over time of (desired − ready) of the covered workload. */
  maxConcurrentDisruptionsObserved: number;
  /** Disruptions the budget allowed at the start (desired − floor). */
  allowed: number | null;
  evictionsAllowed: number;
  evictionsRejected: number;
}

/** Everything a rehearsal found: what `--json` prints and what the spec asserts on. */
export interface RehearsalResult {
  scenario: string;
  mode: "drain" | "no-drain";
  oldPool: { name: string; version: string; nodes: number };
  newPool: { name: string; version: string; nodes: number };
  /** False when the drain failed: as Pulumi does, the old pool was kept (the next `pulumi up` retries). */
  completed: boolean;
  /** The drainer's error message when the drain failed. */
  failure?: string;
  /** Old-pool nodes still cordoned at the end: none, also after a failed drain (it must uncordon). */
  oldPoolCordoned: string[];
  /** From creating the new pool to the old pool being gone (or the drain failing), ms. */
  rotationMs: number;
  /** From creating the new pool until every serving workload is fully ready again, ms. */
  totalMs: number;
  /** Pods evicted through the Eviction API (simulator count). */
  evictions: number;
  /** Pods the simulator saw deleted without eviction (the pool delete kills DaemonSet pods too). */
  podsDeletedWithoutEviction: number;
  /** Workload pods still on the old pool when it was deleted (DaemonSet/mirror pods excluded): none after a drain. */
  podsLeftOnOldPool: string[];
  /** The simulator's count of workload pods deleted without eviction (DaemonSet, mirror and finished pods excluded). */
  workloadPodsDeletedWithoutEviction: number;
  pdbs: Record<string, PdbFigures>;
  workloads: Record<string, WorkloadFigures & { simulator?: SimulatorFigures }>;
  /** The claim, checked on both the prober's and the simulator's figures. */
  verdict: {
    /** Every multi-replica serving workload: 0 ms at zero ready and 0 ms below its PDB floor. */
    zeroDowntime: boolean;
    /** Multi-replica workloads that reached zero ready. */
    outages: string[];
    /** Workloads that went below their PDB floor. */
    belowFloor: string[];
    /** Single-replica workloads whose gap is unavoidable (reported, not hidden). */
    singleReplicaGaps: { key: string; msAtZero: number }[];
  };
  drain: DrainResult | null;
  /** Absolute path of the SVG timeline. */
  picture: string;
  /** API requests the simulator served (all clients, prober included). */
  apiRequests: number;
  /** Times the prober's watch failed and re-listed (0 in a sound run: the series are then exact). */
  proberWatchRestarts: number;
  timeline: Timeline;
}

/** Runs one rehearsal. Always stops the simulator and the prober, also on failure. */
export async function runRehearsal(opts: RehearsalOptions = {}): Promise<RehearsalResult> {
  const log = opts.log ?? (() => {});
  const wait = opts.waitTimeoutMs ?? 30_000;
  const scenario = loadScenario(opts.scenarioFile);
  const mode = opts.noDrain ? "no-drain" : "drain";
  const newName = newPoolName(scenario);
  log(`rehearsal (${mode}): scenario ${scenario.source}; old pool ${scenario.oldPool.name} (${scenario.oldPool.nodes} nodes, ${scenario.fromVersion})`);

  let sim: Simulator | undefined;
  let prober: Prober | undefined;
  let oldDrainer: OldDrainer | undefined;
  try {
    sim = await startSimulator({ scenario: scenario.text });
    const kc = sim.kubeConfig();
    await until("the scenario to settle", () => settled(kc), wait);
    const targets = await discoverTargets(kc);
    log(`rehearsal: settled; following ${targets.length} workloads`);
    const p = scenario.oldPool;
    if (!opts.noDrain) {
      // The old pool's drainer exists since the `pulumi up` that created the old pool.
      oldDrainer = await createOldDrainer({
        kubeconfig: sim.kubeconfig,
        pool: p.name,
        role: scenario.role,
        cluster: `rehearsal/local/${scenario.env ?? "sim"}`,
        options: scenario.drainOptions,
        log: (l) => log(`  drain: ${l}`),
      });
    }

    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    const markers: Marker[] = [];
    prober = new Prober(kc, targets, t0, log);
    await prober.start();
    const mark = (label: string) => {
      markers.push({ t: prober!.now(), label });
      log(`[${(prober!.now() / 1000).toFixed(2)} s] ${label}`);
    };

    // 2-3. Pulumi creates the replacement NodePool first (create-before-delete).
    mark(`create pool ${newName}`);
    await sim.addPool({ name: newName, nodes: p.nodes, labels: { ...p.labels }, cpu: p.cpu, memory: p.memory, pods: p.pods });
    await prober.waitFor(`pool ${newName} to have ${p.nodes} Ready nodes`, () => prober!.poolNodes(newName) >= p.nodes, wait);
    mark(`pool ${newName} Ready`);

    // 4. Pulumi deletes the old PoolDrainer: its serialized delete() drains the old pool.
    let drain: DrainResult | null = null;
    if (!opts.noDrain) {
      mark(`drain ${p.name}`);
      drain = await oldDrainer!.drain();
      mark(drain.ok ? "drain done" : "drain FAILED: Pulumi keeps the old pool");
      if (!drain.ok) log(`rehearsal: the drain failed, so (as Pulumi does) the old pool is not deleted:\n${drain.error}`);
    }

    // 5. Pulumi deletes the old NodePool (only after a successful drain); GKE kills whatever still runs there.
    const leftOnOldPool = prober.podsOnPool(p.name).map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`);
    if (!drain || drain.ok) {
      const oldNodes = prober.nodeNames(p.name);
      mark(`delete pool ${p.name}`);
      await sim.deletePool(p.name);
      // Gone = no node of the pool left and no pod bound to one of its nodes (as seen through the watch).
      await prober.waitFor(
        `pool ${p.name} and its pods to be gone`,
        () => prober!.poolNodes(p.name) === 0 && prober!.nodeNames(p.name).length === 0 && prober!.podsBoundTo(oldNodes).length === 0,
        wait,
      );
      mark(`pool ${p.name} gone`);
    }
    const rotationMs = prober.now();
    const oldPoolCordoned = prober.cordonedNodes(p.name);

    // 6. Recovery: every serving workload fully ready again.
    const serving = targets.filter((t) => !t.info.batch);
    await prober.waitFor(
      "every workload to be fully ready again",
      () => serving.every((t) => prober!.ready(t.info.key) >= t.info.replicas),
      wait,
    );
    const totalMs = prober.now();
    mark("all ready");

    const report = sim.report();
    await prober.stop();
    const timeline: Timeline = {
      startedAt,
      endMs: totalMs,
      workloads: prober.series.workloads,
      pools: prober.series.pools,
      markers,
    };
    if (prober.errors.length) throw new Error(`rehearsal: the prober failed while watching, its figures are incomplete:\n${prober.errors.join("\n")}`);
    const result = summarise(scenario, mode, newName, timeline, report, { rotationMs, totalMs, drain, leftOnOldPool, oldPoolCordoned, proberWatchRestarts: prober.watchRestarts });
    const outDir = opts.outDir ?? path.join(os.tmpdir(), "nodepool-rotation-rehearsal");
    result.picture = writeSvg(path.join(outDir, `rehearsal-${mode}.svg`), timeline, {
      title: `nodepool-rotation rehearsal — ${mode === "drain" ? "with the drain" : "without the drain (GKE's behaviour)"}`,
      subtitle:
        `${p.name} -> ${newName}: ${(totalMs / 1000).toFixed(1)} s, ${result.evictions} evictions, ` +
        (result.completed
          ? `${result.podsLeftOnOldPool.length} workload pods still on the old pool when it was deleted\n`
          : `DRAIN FAILED: the old pool was kept (as Pulumi keeps it), ${result.oldPoolCordoned.length} of its nodes left cordoned\n`) +
        (result.verdict.zeroDowntime
          ? "ZERO DOWNTIME: every multi-replica workload 0 ms at zero ready, 0 ms below its PDB floor"
          : `OUTAGE: ${result.verdict.outages.length} multi-replica workload(s) reached zero ready, ${result.verdict.belowFloor.length} went below their PDB floor`) +
        (result.verdict.singleReplicaGaps.length ? `; single-replica gap: ${result.verdict.singleReplicaGaps.map((g) => `${g.key} ${g.msAtZero} ms`).join(", ")}` : ""),
      figures: result.workloads,
    });
    log(`rehearsal: picture written to ${result.picture}`);
    return result;
  } finally {
    await prober?.stop().catch(() => {});
    await oldDrainer?.close().catch(() => {});
    await sim?.stop().catch(() => {});
  }
}

/**
 * The pool config the rehearsal bumps, as the program would see it after `validateStackConfig`:
 * the scenario's values over the program's own defaults (so the name matches the real program's).
 */
export function poolConfigOf(s: RehearsalScenario, which: "from" | "to"): NamedPool {
  const given = Object.fromEntries(Object.entries(s.pool).filter(([, v]) => v !== undefined));
  return {
    ...POOL_DEFAULTS,
    ...given,
    role: s.role,
    version: which === "from" ? s.fromVersion : s.toVersion,
    rotatedOn: which === "from" ? s.fromRotatedOn : s.toRotatedOn,
  } as unknown as NamedPool;
}

/** The new pool's name: the naming function applied to the bumped pool config. */
export function newPoolName(s: RehearsalScenario): string {
  return poolName(poolConfigOf(s, "to"), s.env);
}

/** Builds the result from the timeline and the simulator's report (pure). */
export function summarise(
  scenario: RehearsalScenario,
  mode: "drain" | "no-drain",
  newName: string,
  timeline: Timeline,
  report: any,
  extra: { rotationMs: number; totalMs: number; drain: DrainResult | null; leftOnOldPool: string[]; oldPoolCordoned: string[]; proberWatchRestarts: number },
): RehearsalResult {
  const workloads: RehearsalResult["workloads"] = {};
  const pdbs: RehearsalResult["pdbs"] = {};
  for (const [key, series] of Object.entries(timeline.workloads)) {
    const fig = workloadFigures(series, timeline.endMs);
    const sw = report?.workloads?.[key];
    workloads[key] = {
      ...fig,
      simulator: sw ? { minReady: sw.minReady, msAtZero: Math.ceil(sw.msAtZero), msBelowFloor: Math.ceil(sw.msBelowFloor), floor: sw.floor } : undefined,
    };
    if (series.info.pdb) {
      const sp = report?.pdbs?.[series.info.pdb];
      pdbs[series.info.pdb] = {
        maxConcurrentDisruptions: sp?.maxConcurrentDisruptions ?? NaN,
        maxConcurrentDisruptionsObserved: Math.max(0, series.info.replicas - fig.minReady),
        allowed: series.info.floor === null ? null : series.info.replicas - series.info.floor,
        evictionsAllowed: sp?.evictionsAllowed ?? 0,
        evictionsRejected: sp?.evictionsRejected ?? 0,
      };
    }
  }
  const guarded = Object.values(workloads).filter((w) => w.multiReplica && !w.batch);
  const outages = guarded.filter((w) => w.msAtZero > 0 || (w.simulator?.msAtZero ?? 0) > 0).map((w) => w.key);
  const belowFloor = Object.values(workloads)
    .filter((w) => !w.batch && (w.msBelowFloor > 0 || (w.simulator?.msBelowFloor ?? 0) > 0))
    .map((w) => w.key);
  const singleReplicaGaps = Object.values(workloads)
    .filter((w) => !w.multiReplica && !w.batch && w.msAtZero > 0)
    .map((w) => ({ key: w.key, msAtZero: w.msAtZero }));
  return {
    scenario: scenario.source,
    mode,
    oldPool: { name: scenario.oldPool.name, version: scenario.fromVersion, nodes: scenario.oldPool.nodes },
    newPool: { name: newName, version: scenario.toVersion, nodes: scenario.oldPool.nodes },
    completed: !extra.drain || extra.drain.ok,
    failure: extra.drain && !extra.drain.ok ? extra.drain.error : undefined,
    oldPoolCordoned: extra.oldPoolCordoned,
    rotationMs: Math.round(extra.rotationMs),
    totalMs: Math.round(extra.totalMs),
    evictions: report?.evictions ?? 0,
    podsDeletedWithoutEviction: report?.podsDeletedWithoutEviction ?? 0,
    podsLeftOnOldPool: extra.leftOnOldPool,
    workloadPodsDeletedWithoutEviction: report?.workloadPodsDeletedWithoutEviction ?? NaN,
    pdbs,
    workloads,
    verdict: { zeroDowntime: outages.length === 0 && belowFloor.length === 0, outages, belowFloor, singleReplicaGaps },
    drain: extra.drain,
    picture: "",
    apiRequests: report?.totalRequests ?? 0,
    proberWatchRestarts: extra.proberWatchRestarts,
    timeline,
  };
}

/** Polls an async condition until it holds or the deadline passes (used only before the prober runs). */
async function until(what: string, cond: () => Promise<{ ok: boolean; pending: string[] }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  for (;;) {
    const r = await cond();
    if (r.ok) return;
    last = r.pending;
    if (Date.now() > deadline) throw new Error(`rehearsal: timed out after ${timeoutMs} ms waiting for ${what}: ${last.join("; ")}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * The rehearsal itself: a version bump of every role in the scenario, performed end to end with the
 * real code, in the order the Pulumi engine runs it (tests/support/engine.ts emulates that order and
 * its bookkeeping), while the prober watches every workload's ready endpoints.
 *
 *   1. the simulator starts from the scenario (the old pools and their workloads) and settles;
 *   2. `poolName()` (components/naming.ts) names each role's new pool from the bumped version;
 *   3. the engine creates each new pool (the GKE NodePool create: same zones, nodes per zone,
 *      capacity, labels and taints) and its drainer, create-before-delete;
 *   4. the engine deletes every old PoolDrainer in ONE batch, concurrently: each one's serialized
 *      `delete()` drains its old pool in its own provider host            (skipped with noDrain);
 *   5. in a LATER batch it deletes every old pool the way GKE does (kills pods, ignores PDBs) —
 *      unless a drain failed: a failed delete cancels the later batches, so no old pool is deleted;
 *      the failed drainer and both old pools stay in state, pending delete;
 *   6. the rehearsal waits until every serving workload is fully ready again.
 *
 * `noDrain` is GKE's own behaviour (pulumi-gcp#255: deleting a pool does not honour PDBs).
 */
import * as k8s from "@kubernetes/client-node";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { POOL_DEFAULTS } from "../../components/config";
import { NamedPool, poolName } from "../../components/naming";
import { guardPoolDelete, POOL_GUARD_HOOK, PoolGuardResult } from "../../components/poolGuard";
import { DEFAULT_BUDGET, parseDefaultBudget } from "../../components/rotation/budget";
import type { WorkloadAvailability } from "../../components/rotation/availability";
import { startSimulator, Simulator, SimulatorReport, Timing } from "../simulator";
import { EmulatedStack, Goal, makeUrn, RunOptions, RunResult, StepRecord } from "../support/engine";
import { createOldDrainer, DrainResult, OldDrainer } from "./drainSeam";
import { deletePoolAsGke } from "./gkeClient";
import { compareEvidence, Evidence, parseAvailability } from "./evidence";
import { writeSvg } from "./picture";
import { POOL_LABEL, Prober } from "./prober";
import { DEFAULT_SCENARIO_FILE, loadScenario, RehearsalScenario, RoleRotation } from "./scenario";
import { Marker, Timeline, workloadFigures, WorkloadFigures } from "./timeline";
import { Blocker, blockRole, discoverTargets, scaleUpBlocked, settled } from "./workloads";
import { shapeText } from "./report";
import { scaleCaption, timeScale } from "./scale";

/** Options of one rehearsal run. */
export interface RehearsalOptions {
  /** Scenario file; default tests/rehearsal/default-scenario.yaml. */
  scenarioFile?: string;
  /** Skip the drain: delete the old pools directly, as GKE does. */
  noDrain?: boolean;
  /** Overrides every role's `drainOptions.defaultBudget` (e.g. "none" to show what it protects). */
  defaultBudget?: string;
  /** Roles whose drain is blocked by a PDB that allows no disruption (blockRole in workloads.ts). */
  block?: string[];
  /** After the update, apply the operator's fix (scale each blocked workload up by one, so its PDB allows a disruption) and run the next `pulumi up`, which retries the pending deletes. */
  retry?: boolean;
  /** Directory for the picture; default `<tmp>/nodepool-rotation-rehearsal`. */
  outDir?: string;
  /** File name of the picture in outDir; default derived from the mode, budget and blocked roles. */
  pictureName?: string;
  /** Progress lines (the CLI sends them to stderr). */
  log?: (line: string) => void;
  /** Deadline for each wait (settling, nodes Ready, recovery), ms. Default 30 s. */
  waitTimeoutMs?: number;
  /** Overrides the scenario's timing knobs (the comparison states its own node boot). */
  timing?: Partial<Timing>;
}

/** The figures the simulator measured itself (GET /simulator/report), kept next to the prober's. */
export interface SimulatorFigures {
  minReady: number;
  msAtZero: number;
  msBelowFloor: number;
  /** The simulator's floor: a PDB's only (it knows no implicit budget). */
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

/** A pool's shape, as GKE reports it (node count per zone). */
export interface PoolShape {
  name: string;
  version: string;
  /** Nodes in all zones. */
  nodes: number;
  /** Sorted; empty when the nodes carry no zone label. */
  zones: string[];
  nodesPerZone: number;
}

/** What became of one role's rotation. */
export interface RoleResult {
  role: string;
  oldPool: PoolShape;
  newPool: PoolShape;
  /** The drain (null with noDrain): ok, error, the provider's output. */
  drain: DrainResult | null;
  /** The engine's availability rows, read back from the drainer's output (empty when it printed none). */
  availability: WorkloadAvailability[];
  /** The engine deleted the old pool. */
  oldPoolDeleted: boolean;
  /** Why the old pool was kept, in the engine's terms (undefined when deleted). */
  keptBecause?: string;
  /** Old-pool nodes cordoned at the end: none after a failed drain (it uncordons); all of a drained pool the engine did not delete. */
  oldPoolCordoned: string[];
  /** Workload pods on the old pool when it was deleted, or at the end when it was kept (DaemonSet/mirror pods excluded). */
  podsOnOldPool: string[];
  /** The PDB `--block` put in the way of this role's drain. */
  blockedBy?: Blocker;
  /** What the pool guard hook found right before the old pool's delete (undefined: it did not run). */
  guard?: PoolGuardResult["outcome"];
  /** With `retry`: what the next `pulumi up` did for this role (its pending deletes retried). */
  retry?: {
    /** The retried drain (null: this role's drainer was not pending: it had already run). */
    drain: DrainResult | null;
    guard?: PoolGuardResult["outcome"];
    /** The old pool is gone after the next up (deleted by either update). */
    oldPoolDeleted: boolean;
    podsOnOldPool: string[];
  };
}

/** What the emulated Pulumi engine did (tests/support/engine.ts). */
export interface EngineOutcome {
  /** False when a step failed: `pulumi up` would exit non-zero. */
  ok: boolean;
  /** Delete batches in order, each as readable steps ("drainer of <pool>: ok"). */
  deleteBatches: string[][];
  /** What the stack keeps pending delete afterwards (retried at the end of the next `pulumi up`). */
  pendingDeletes: string[];
  errors: string[];
  /** With `retry`: the next `pulumi up`, after the operator's fix. */
  retry?: EngineOutcome;
}

/** Everything a rehearsal found: what `--json` prints and what the spec asserts on. */
export interface RehearsalResult {
  scenario: string;
  mode: "drain" | "no-drain";
  /** The drain's default budget for workloads without a PDB, per role (null with noDrain). */
  defaultBudget: Record<string, string> | null;
  roles: RoleResult[];
  engine: EngineOutcome;
  /** Every old pool was deleted (by the update, or with `retry` by the next one). */
  completed: boolean;
  /** From creating the new pools until the engine finished its deletions, ms. */
  rotationMs: number;
  /** From creating the new pools until every serving workload is fully ready again, ms. */
  totalMs: number;
  /** Pods evicted through the Eviction API (simulator count). */
  evictions: number;
  /** Pods the simulator saw deleted without eviction (the pool delete kills DaemonSet pods too). */
  podsDeletedWithoutEviction: number;
  /** The simulator's count of workload pods deleted without eviction (DaemonSet, mirror and finished pods excluded). */
  workloadPodsDeletedWithoutEviction: number;
  pdbs: Record<string, PdbFigures>;
  workloads: Record<string, WorkloadFigures & { simulator?: SimulatorFigures }>;
  /** The engine's availability rows next to the prober's and the simulator's (empty with noDrain). */
  evidence: Evidence;
  /** The claim, checked on both the prober's and the simulator's figures. */
  verdict: {
    /** Every multi-replica serving workload: 0 ms at zero ready and 0 ms below its floor. */
    zeroDowntime: boolean;
    /** Multi-replica workloads that reached zero ready. */
    outages: string[];
    /** Workloads that went below their floor (PDB or implicit budget). */
    belowFloor: string[];
    /** Single-replica workloads whose gap is unavoidable (reported, not hidden). */
    singleReplicaGaps: { key: string; msAtZero: number }[];
  };
  /** Absolute path of the SVG timeline. */
  picture: string;
  /** API requests the simulator served (all clients, prober included). */
  apiRequests: number;
  /** Times the prober's watch failed and re-listed (0 in a sound run: the series are then exact). */
  proberWatchRestarts: number;
  timeline: Timeline;
}

/** Pulumi type tokens, as the program registers them (components/versionedNodePool.ts, docs/architecture.md). */
const COMPONENT = "nodepool-rotation:index:VersionedNodePool";
const POOL = "gcp:container/nodePool:NodePool";
const DRAINER = "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer";

/**
 * The resources one role registers, as `VersionedNodePool` does: the component (named by role),
 * its NodePool (named by role, `name` input = the versioned pool name) and, with the product (not
 * with noDrain, which is GKE alone), the pool guard hook on the NodePool and a PoolDrainer
 * (`<role>-drainer`, depends on the pool).
 */
export function roleGoals(role: string, pool: string, withDrainer: boolean): Goal[] {
  const urn = (type: string, name: string, parent?: string) => makeUrn("rehearsal", "nodepool-rotation", type, name, parent);
  const comp = urn(COMPONENT, role);
  const poolUrn = urn(POOL, role, COMPONENT);
  // With the product, every NodePool carries the pool guard's beforeDelete hook (components/poolGuard.ts).
  const hooks = withDrainer ? { beforeDelete: [POOL_GUARD_HOOK] } : {};
  const goals: Goal[] = [
    { urn: comp, type: COMPONENT, inputs: {}, custom: false },
    { urn: poolUrn, type: POOL, inputs: { name: pool }, parent: comp, hooks },
  ];
  if (withDrainer) goals.push({ urn: urn(DRAINER, `${role}-drainer`, COMPONENT), type: DRAINER, inputs: { poolName: pool }, parent: comp, dependencies: [poolUrn] });
  return goals;
}

/** Runs one rehearsal. Always stops the simulator, the prober and the drainer hosts, also on failure. */
export async function runRehearsal(opts: RehearsalOptions = {}): Promise<RehearsalResult> {
  const log = opts.log ?? (() => {});
  const wait = opts.waitTimeoutMs ?? 30_000;
  const loaded = loadScenario(opts.scenarioFile);
  const scenario = withBudget(loaded, opts.defaultBudget);
  const mode = opts.noDrain ? "no-drain" : "drain";
  const block = [...new Set(opts.block ?? [])];
  for (const b of block) {
    if (!scenario.roles.some((r) => r.role === b)) {
      throw new Error(`rehearsal: --block ${b}: the scenario has no role ${b} (roles: ${scenario.roles.map((r) => r.role).join(", ")})`);
    }
  }
  if (block.length && opts.noDrain) throw new Error("rehearsal: --block needs the drain: there is no drain to block with --no-drain");
  if (opts.retry && !block.length) throw new Error("rehearsal: --retry needs --block ROLE: it fixes the blocked drain and runs the next pulumi up; without a blocked drain there is nothing to retry");
  const newNames = new Map(scenario.roles.map((r) => [r.role, newPoolName(r)]));
  const budgets = opts.noDrain ? null : Object.fromEntries(scenario.roles.map((r) => [r.role, String(r.drainOptions.defaultBudget ?? DEFAULT_BUDGET)]));
  log(`rehearsal (${mode}${budgets ? `, default budget ${Object.values(budgets).join("/")}` : ""}): scenario ${scenario.source}; roles ${scenario.roles.map((r) => `${r.role} (${r.oldPool} -> ${newNames.get(r.role)})`).join(", ")}`);

  let sim: Simulator | undefined;
  let prober: Prober | undefined;
  const drainers = new Map<string, OldDrainer>();
  try {
    sim = await startSimulator({ scenario: scenario.text, timing: opts.timing });
    const kc = sim.kubeConfig();
    await until("the scenario to settle", () => settled(kc), wait);
    const shapes = await readPoolShapes(kc, scenario.roles);
    const blockers = new Map<string, Blocker>();
    for (const role of block) {
      const b = await blockRole(kc, role, scenario.roles.find((r) => r.role === role)!.oldPool);
      blockers.set(role, b);
      log(`rehearsal: blocking role ${role}'s drain: PDB ${b.pdb} (minAvailable ${b.minAvailable}, all its replicas) over ${b.workload}`);
    }
    const budgetOfPool = (pool: string) => {
      const r = scenario.roles.find((x) => x.oldPool === pool);
      return r && budgets ? budgets[r.role] : undefined;
    };
    const targets = await discoverTargets(kc, budgetOfPool);
    log(`rehearsal: settled; following ${targets.length} workloads`);

    // The state the previous `pulumi up` left: every old pool and (with the drain) its drainer.
    const stack = new EmulatedStack();
    if (!opts.noDrain) {
      for (const r of scenario.roles) {
        drainers.set(
          r.oldPool,
          await createOldDrainer({
            kubeconfig: sim.kubeconfig,
            pool: r.oldPool,
            role: r.role,
            cluster: `rehearsal/local/${r.env ?? "sim"}`,
            options: r.drainOptions,
            log: (l) => log(`  drain ${r.role}: ${l}`),
          }),
        );
      }
    }
    const goals = (names: (r: RoleRotation) => string) => scenario.roles.flatMap((r) => roleGoals(r.role, names(r), !opts.noDrain));
    const existing: RunOptions["providers"] = { [DRAINER]: { create: (g) => ({ id: `drainer/${g.inputs.poolName}`, outputs: g.inputs }) } };
    const before = await stack.up(goals((r) => r.oldPool), { providers: existing });
    if (!before.ok) throw new Error(`rehearsal: emulated engine: registering the old state failed: ${before.errors.join("; ")}`);

    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    const markers: Marker[] = [];
    prober = new Prober(kc, targets, t0, log);
    await prober.start();
    const p = prober;
    const mark = (label: string) => {
      markers.push({ t: p.now(), label });
      log(`[${(p.now() / 1000).toFixed(2)} s] ${label}`);
    };

    const drains = new Map<string, DrainResult>();
    const podsOnOldPool = new Map<string, string[]>();
    const onPool = (pool: string) => p.podsOnPool(pool).map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`);
    const roleOfPool = (pool: string) => scenario.roles.find((r) => r.oldPool === pool || newNames.get(r.role) === pool)!;
    const providers: RunOptions["providers"] = {
      [POOL]: {
        replaceOn: ["name"],
        // GKE's NodePool create: the old pool's zones, nodes per zone, capacity, labels and taints.
        async create(goal) {
          const name = goal.inputs.name as string;
          const r = roleOfPool(name);
          const shape = shapes.get(r.role)!;
          mark(`create pool ${name}`);
          await sim!.addPool({ ...shape.spec, name });
          await p.waitFor(`pool ${name} to have ${shape.shape.nodes} Ready nodes`, () => p.poolNodes(name) >= shape.shape.nodes, wait);
          await waitForDaemonSets(p, r.oldPool, name, wait);
          mark(`pool ${name} Ready`);
          return { id: name, outputs: goal.inputs };
        },
        // GKE's NodePool delete: each node drained with the bounded grace (pods deleted, PDBs ignored), then gone.
        async delete(state) {
          const name = state.id;
          podsOnOldPool.set(name, onPool(name));
          const nodes = p.nodeNames(name);
          mark(`delete pool ${name}`);
          await deletePoolAsGke(sim!.url, name, wait);
          await p.waitFor(
            `pool ${name} and its pods to be gone`,
            () => p.poolNodes(name) === 0 && p.nodeNames(name).length === 0 && p.podsBoundTo(nodes).length === 0,
            wait,
          );
          mark(`pool ${name} gone`);
        },
      },
      [DRAINER]: {
        replaceOn: ["poolName"],
        create: (g) => ({ id: `drainer/${g.inputs.poolName}`, outputs: g.inputs }),
        // Pulumi deleting the old PoolDrainer: its serialized delete() drains the old pool.
        async delete(state) {
          const pool = state.outputs.poolName as string;
          mark(`drain ${pool}`);
          const d = await drainers.get(pool)!.drain();
          drains.set(pool, d);
          mark(d.ok ? `drain ${pool} done` : `drain ${pool} FAILED`);
          if (!d.ok) throw new Error(d.error ?? `drain of ${pool} failed`);
        },
      },
    };
    // The pool guard, as the program registers it: runs in the program's process right before
    // GKE's delete, with the stack's drain options now; a throw fails the pool's delete step.
    const guards = new Map<string, PoolGuardResult>();
    const hooks: RunOptions["hooks"] = {
      async [POOL_GUARD_HOOK](args) {
        const r = roleOfPool(args.id);
        const g = await guardPoolDelete(kc, { pool: args.id, role: r.role, clusterId: `rehearsal/local/${r.env ?? "sim"}` }, {
          drain: r.drainOptions as any,
          log: (l) => log(`  pool guard ${args.id}: ${l}`),
        });
        guards.set(args.id, g);
        mark(`pool guard ${args.id}: ${g.outcome}`);
      },
    };
    const describe = (s: { urn: string; id: string }) => (s.urn.includes(DRAINER) ? `drainer of ${s.id.replace(/^drainer\//, "")}` : `pool ${s.id}`);
    const outcome = (u: RunResult): EngineOutcome => ({
      ok: u.ok,
      deleteBatches: u.batches.map((_, i) => u.steps.filter((x) => x.batch === i).map((x) => `${describe(x)}: ${x.status}`)),
      pendingDeletes: stack.pendingDeletes().map((x) => describe(x)),
      errors: u.errors,
    });
    const finalGoals = goals((r) => newNames.get(r.role)!);
    const up = await stack.up(finalGoals, {
      providers,
      hooks,
      onBatch: (i, steps) => mark(`engine: delete batch ${i + 1}: ${steps.map(describe).join(", ")}`),
    });
    const engine = outcome(up);
    if (!up.ok) mark("engine: update failed, later delete batches cancelled");
    // What the first update left, per role (a retry changes it).
    const first = new Map(
      scenario.roles.map((r) => {
        const poolStep = up.steps.find((x) => x.urn.includes(POOL) && x.id === r.oldPool && x.op === "delete-replaced");
        const drainStep = up.steps.find((x) => x.urn.includes(DRAINER) && x.id === `drainer/${r.oldPool}`);
        return [r.role, {
          drain: drains.get(r.oldPool) ?? null,
          guard: guards.get(r.oldPool)?.outcome,
          oldPoolDeleted: poolStep?.status === "ok",
          keptBecause: poolStep?.status === "ok" ? undefined : keptBecause(poolStep, drainStep),
          oldPoolCordoned: p.cordonedNodes(r.oldPool),
          podsOnOldPool: podsOnOldPool.get(r.oldPool) ?? onPool(r.oldPool),
        }];
      }),
    );

    // The operator's fix and the next `pulumi up`: the pending deletes are retried.
    if (opts.retry) {
      for (const b of blockers.values()) {
        const replicas = await scaleUpBlocked(kc, b);
        mark(`the operator's fix: ${b.workload} scaled to ${replicas} replicas (PDB ${b.pdb} now allows 1 disruption)`);
        await p.waitFor(`${b.workload} to have ${replicas} ready`, () => p.ready(b.workload) >= replicas, wait);
      }
      mark("next pulumi up");
      drains.clear();
      guards.clear();
      const again = await stack.up(finalGoals, {
        providers,
        hooks,
        onBatch: (i, steps) => mark(`engine (next up): delete batch ${i + 1}: ${steps.map(describe).join(", ")}`),
      });
      engine.retry = outcome(again);
      if (!again.ok) mark("engine (next up): update failed");
    }
    const rotationMs = p.now();

    // Recovery: every serving workload fully ready again.
    const serving = targets.filter((t) => !t.info.batch);
    await p.waitFor("every workload to be fully ready again", () => serving.every((t) => p.ready(t.info.key) >= t.info.replicas), wait);
    const totalMs = p.now();
    mark("all ready");

    const report = sim.report();
    const roleResults: RoleResult[] = scenario.roles.map((r) => {
      const f = first.get(r.role)!;
      const shape = shapes.get(r.role)!.shape;
      // `drains` was cleared before the next up: only with `retry` does it hold a second drain.
      const retryDrain = opts.retry ? drains.get(r.oldPool) ?? null : null;
      return {
        role: r.role,
        oldPool: shape,
        newPool: { ...shape, name: newNames.get(r.role)!, version: r.toVersion },
        ...f,
        availability: [f.drain, retryDrain].flatMap((d) => (d ? parseAvailability(d.output) : [])),
        blockedBy: blockers.get(r.role),
        retry: opts.retry
          ? {
              drain: retryDrain,
              guard: guards.get(r.oldPool)?.outcome,
              oldPoolDeleted: f.oldPoolDeleted || !stack.pendingDeletes().some((x) => x.urn.includes(POOL) && x.id === r.oldPool),
              podsOnOldPool: f.oldPoolDeleted ? f.podsOnOldPool : podsOnOldPool.get(r.oldPool) ?? onPool(r.oldPool),
            }
          : undefined,
      };
    });
    await p.stop();
    const timeline: Timeline = { startedAt, endMs: totalMs, workloads: p.series.workloads, pools: p.series.pools, markers, cordons: p.series.cordons, disruptions: p.series.disruptions };
    if (p.errors.length) throw new Error(`rehearsal: the prober failed while watching, its figures are incomplete:\n${p.errors.join("\n")}`);
    const result = summarise(scenario, mode, budgets, timeline, report, { rotationMs, totalMs, roles: roleResults, engine, proberWatchRestarts: p.watchRestarts });
    const outDir = opts.outDir ?? path.join(os.tmpdir(), "nodepool-rotation-rehearsal");
    const name = opts.pictureName ?? defaultPictureName(result, block, scenario.source);
    result.picture = writeSvg(path.join(outDir, name), timeline, { title: pictureTitle(result), subtitle: pictureSubtitle(result), figures: result.workloads, caption: scaleCaption(timeScale(sim.cluster.timing)) });
    log(`rehearsal: picture written to ${result.picture}`);
    return result;
  } finally {
    await prober?.stop().catch(() => {});
    for (const d of drainers.values()) await d.close().catch(() => {});
    await sim?.stop().catch(() => {});
  }
}

/**
 * Waits until every node of `pool` runs as many Ready DaemonSet pods as the nodes of `like` do: a
 * new pool serves (logging, monitoring, networking agents) once its DaemonSets run, and GKE's own
 * strategies are measured from that point too.
 */
export async function waitForDaemonSets(p: Prober, like: string, pool: string, wait: number): Promise<void> {
  const want = Math.max(0, ...p.daemonPodsReady(p.nodeNames(like)).values());
  if (want === 0) return;
  await p.waitFor(`the DaemonSet pods of pool ${pool} to be Ready`, () => [...p.daemonPodsReady(p.nodeNames(pool)).values()].every((n) => n >= want), wait);
}

/** The scenario with every role's `drainOptions.defaultBudget` replaced (validated by the engine's own parser first). */
function withBudget(s: RehearsalScenario, budget: string | undefined): RehearsalScenario {
  if (budget === undefined) return s;
  const parsed = parseDefaultBudget(budget, "--default-budget");
  return { ...s, roles: s.roles.map((r) => ({ ...r, drainOptions: { ...r.drainOptions, defaultBudget: parsed } })) };
}

/** Why the engine kept an old pool, from its delete step and its drainer's. */
function keptBecause(poolStep: StepRecord | undefined, drainStep: StepRecord | undefined): string {
  if (drainStep?.status === "failed") return "its drain failed: the drainer and the pool stay pending delete, retried at the end of the next `pulumi up`";
  if (poolStep?.status === "cancelled") return "another role's drain failed, which cancelled the pool batch: it stays pending delete (drained), its drainer already gone";
  return `its delete step ${poolStep ? poolStep.status : "never ran"}`;
}

/**
 * Each role's old pool as GKE reports it, read from the live nodes once the simulator runs: zones,
 * nodes per zone (GKE's regional pools have the same count in every zone), capacity, taints and the
 * machine type; plus the PoolSpec that creates its replacement with the same shape.
 */
export async function readPoolShapes(kc: k8s.KubeConfig, roles: RoleRotation[]) {
  const nodes = (await kc.makeApiClient(k8s.CoreV1Api).listNode()).items;
  const out = new Map<string, { shape: PoolShape; spec: Parameters<Simulator["addPool"]>[0] }>();
  for (const r of roles) {
    const mine = nodes.filter((n) => n.metadata?.labels?.[POOL_LABEL] === r.oldPool);
    if (mine.length === 0) throw new Error(`rehearsal: pool ${r.oldPool} has no node in the simulator: check the scenario's NodePool/Node documents`);
    const perZone = new Map<string, number>();
    for (const n of mine) {
      const z = n.metadata?.labels?.["topology.kubernetes.io/zone"] ?? "";
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
    }
    const counts = [...perZone.values()];
    if (counts.some((c) => c !== counts[0])) {
      throw new Error(
        `rehearsal: pool ${r.oldPool} has uneven nodes per zone (${[...perZone].map(([z, c]) => `${z || "no zone"}: ${c}`).join(", ")}): ` +
          `a GKE pool has the same node count in every zone; give each zone the same number of nodes`,
      );
    }
    const zones = [...perZone.keys()].filter(Boolean).sort();
    const first = mine[0];
    const alloc = first.status?.allocatable ?? first.status?.capacity ?? {};
    const taints = (first.spec?.taints ?? []).filter((t) => t.key !== "node.kubernetes.io/unschedulable");
    out.set(r.role, {
      shape: { name: r.oldPool, version: r.fromVersion, nodes: mine.length, zones, nodesPerZone: counts[0] },
      spec: {
        name: "",
        nodes: counts[0],
        ...(zones.length ? { zones } : {}),
        machineType: first.metadata?.labels?.["node.kubernetes.io/instance-type"],
        labels: { ...r.labels },
        cpu: alloc.cpu !== undefined ? String(alloc.cpu) : undefined,
        memory: alloc.memory !== undefined ? String(alloc.memory) : undefined,
        pods: alloc.pods !== undefined ? Number(alloc.pods) : undefined,
        taints: taints.length ? taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })) : undefined,
      } as Parameters<Simulator["addPool"]>[0],
    });
  }
  return out;
}

/**
 * A role's pool config as the program would see it after `validateStackConfig`: the scenario's
 * values over the program's own defaults (so the name matches the real program's).
 */
export function poolConfigOf(r: RoleRotation, which: "from" | "to"): NamedPool {
  const given = Object.fromEntries(Object.entries(r.pool).filter(([, v]) => v !== undefined));
  return {
    ...POOL_DEFAULTS,
    ...given,
    role: r.role,
    version: which === "from" ? r.fromVersion : r.toVersion,
    rotatedOn: which === "from" ? r.fromRotatedOn : r.toRotatedOn,
  } as unknown as NamedPool;
}

/** A role's new pool name: the naming function applied to the bumped pool config. */
export function newPoolName(r: RoleRotation): string {
  return poolName(poolConfigOf(r, "to"), r.env);
}

/** Keys of the workloads whose outage is the expected demonstration (no drain, or no budget for PDB-less ones). */
export function expectedOutage(r: Pick<RehearsalResult, "mode">, w: WorkloadFigures): boolean {
  return r.mode === "no-drain" || w.floor === null;
}

/** Builds the result from the timeline and the simulator's report (pure). */
export function summarise(
  scenario: RehearsalScenario,
  mode: "drain" | "no-drain",
  budgets: Record<string, string> | null,
  timeline: Timeline,
  report: SimulatorReport | undefined,
  extra: { rotationMs: number; totalMs: number; roles: RoleResult[]; engine: EngineOutcome; proberWatchRestarts: number },
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
  // DaemonSets are not in the verdict: their pods go with their nodes by design (the drain leaves
  // them), so their count follows the node count; they are reported in rows of their own.
  const guarded = Object.values(workloads).filter((w) => w.multiReplica && !w.batch && w.kind !== "DaemonSet");
  const outages = guarded.filter((w) => w.msAtZero > 0 || (w.simulator?.msAtZero ?? 0) > 0).map((w) => w.key);
  // The simulator's floor is a PDB's: it checks those; the implicit floors are the prober's.
  const belowFloor = Object.values(workloads)
    .filter((w) => !w.batch && w.kind !== "DaemonSet" && (w.msBelowFloor > 0 || (w.simulator?.floor !== null && (w.simulator?.msBelowFloor ?? 0) > 0)))
    .map((w) => w.key);
  const singleReplicaGaps = Object.values(workloads)
    .filter((w) => !w.multiReplica && !w.batch && w.msAtZero > 0)
    .map((w) => ({ key: w.key, msAtZero: w.msAtZero }));
  return {
    scenario: scenario.source,
    mode,
    defaultBudget: budgets,
    roles: extra.roles,
    engine: extra.engine,
    completed: extra.roles.every((r) => r.retry?.oldPoolDeleted ?? r.oldPoolDeleted),
    rotationMs: Math.round(extra.rotationMs),
    totalMs: Math.round(extra.totalMs),
    evictions: report?.evictions ?? 0,
    podsDeletedWithoutEviction: report?.podsDeletedWithoutEviction ?? 0,
    workloadPodsDeletedWithoutEviction: report?.workloadPodsDeletedWithoutEviction ?? NaN,
    pdbs,
    workloads,
    evidence: compareEvidence(extra.roles.map((r) => ({ role: r.role, rows: r.availability })), workloads),
    verdict: { zeroDowntime: outages.length === 0 && belowFloor.length === 0, outages, belowFloor, singleReplicaGaps },
    picture: "",
    apiRequests: report?.totalRequests ?? 0,
    proberWatchRestarts: extra.proberWatchRestarts,
    timeline,
  };
}

/**
 * Did the run show what it should? With the drain and a budget: zero downtime and no failed drain
 * other than the blocked roles'. Demonstrations (`--no-drain`, `--default-budget none`) may show
 * the outage they exist to show — of workloads nothing protected — but never a broken PDB floor.
 */
export function claimHeld(r: RehearsalResult): boolean {
  if (r.mode === "no-drain") return true;
  const unexpectedOutage = r.verdict.outages.some((k) => !expectedOutage(r, r.workloads[k]));
  const drainsAsExpected = r.roles.every((x) => (x.drain?.ok ?? true) === !x.blockedBy && (x.retry?.drain?.ok ?? true));
  const retried = r.roles.every((x) => !x.retry || x.retry.oldPoolDeleted);
  return !unexpectedOutage && r.verdict.belowFloor.length === 0 && drainsAsExpected && retried;
}

/** `rehearsal-[<scenario>-]<mode>[-budget-none][-blocked-<roles>][-retry].svg` (no scenario part for the default one). */
function defaultPictureName(r: RehearsalResult, block: string[], source: string): string {
  const budgetNone = r.defaultBudget && Object.values(r.defaultBudget).every((b) => b === "none");
  const scenario = path.resolve(source) === DEFAULT_SCENARIO_FILE ? "" : `${path.basename(source).replace(/\.ya?ml$/, "").replace(/-scenario$/, "")}-`;
  const retry = r.engine.retry ? "-retry" : "";
  return `rehearsal-${scenario}${r.mode}${budgetNone ? "-budget-none" : ""}${block.length ? `-blocked-${block.join("-")}` : ""}${retry}.svg`;
}

function pictureTitle(r: RehearsalResult): string {
  const how =
    r.mode === "no-drain"
      ? "without the drain (GKE's behaviour)"
      : r.defaultBudget && Object.values(r.defaultBudget).every((b) => b === "none")
        ? "with the drain, defaultBudget none (kubectl's behaviour)"
        : `with the drain (default budget ${[...new Set(Object.values(r.defaultBudget ?? {}))].join("/")})`;
  return `nodepool-rotation rehearsal — ${how}`;
}

function pictureSubtitle(r: RehearsalResult): string {
  const roles = r.roles.map(
    (x) =>
      `${x.role} (${shapeText(x.oldPool)}): ${x.oldPool.name} -> ${x.newPool.name}: ` +
      (x.oldPoolDeleted ? "old pool deleted" : `old pool KEPT (${x.blockedBy ? "its drain was blocked" : x.drain?.ok ? "drained; pool batch cancelled" : "its drain failed"})`) +
      (x.retry && !x.oldPoolDeleted ? `, then ${x.retry.oldPoolDeleted ? "deleted" : "KEPT again"} by the next up` : ""),
  );
  const v = r.verdict;
  return [
    ...roles,
    `${(r.totalMs / 1000).toFixed(1)} s, ${r.evictions} evictions, ${r.workloadPodsDeletedWithoutEviction} workload pods killed without eviction` +
      (v.singleReplicaGaps.length ? `; single-replica gap: ${v.singleReplicaGaps.map((g) => `${g.key} ${g.msAtZero} ms`).join(", ")}` : ""),
    v.zeroDowntime
      ? "ZERO DOWNTIME: every multi-replica workload 0 ms at zero ready, 0 ms below its floor (PDB or implicit budget)"
      : `OUTAGE: ${v.outages.length} multi-replica workload(s) reached zero ready (red), ${v.belowFloor.length} went below their floor (amber)`,
  ].join("\n");
}

/** Polls an async condition until it holds or the deadline passes (used only before the prober runs). */
export async function until(what: string, cond: () => Promise<{ ok: boolean; pending: string[] }>, timeoutMs: number): Promise<void> {
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

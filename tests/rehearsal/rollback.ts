/**
 * The rollback runbook of docs/promotion.md ("A bad version in staging"), rehearsed on the
 * simulator with the real code, in the Pulumi engine's order (tests/support/engine.ts):
 *
 *   1. staging runs pool A (the good version). `npm run bump` (the real CLI code, on a copy of
 *      Pulumi.staging.yaml) raises the control plane and moves `app` to a bad version: pool B;
 *   2. `pulumi up`: B is created — its nodes break readiness (the simulator's `pods-ready: "false"`
 *      node label: pods start there and never become Ready) — and A's PoolDrainer drains A through
 *      the real dynamic-provider host. The drain moves what the budgets allow, the moved pods never
 *      become Ready on B, the budgets stay exhausted, and at the deadline the drain fails closed:
 *      A uncordoned and kept (pending delete), the update fails;
 *   3. the runbook: empty B with the engine's own drain, `npm run rotation -- drain --pool B` (the
 *      real CLI in its own process: B cordoned, its unready pods offered to the Eviction API, which
 *      lets an unready pod go while its PDB's healthy pods meet the floor — IfHealthyBudget — and
 *      back on A), or with the documented alternative `kubectl drain` (`emptyBadPoolWith:
 *      "kubectl"`, the real kubectl); then `npm run bump -- --version <good>` the same day, which
 *      sets `revision: 1` because the good version's name for that day is A's, still in use: pool C;
 *   4. `pulumi up`: C is created, then B's drainer (replaced) and A's (pending) drain both pools into
 *      C in one batch (B is empty), the pool guard re-checks each, and both are deleted.
 *
 * Kept out of run.ts (the rehearsal of a bump): it reuses its resource shapes (`roleGoals`), the one
 * drain seam (drainSeam.ts) and the engine emulation.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { POOL_DRAINER_TYPE } from "../../components/poolDrainer";
import { guardPoolDelete, POOL_GUARD_HOOK } from "../../components/poolGuard";
import { main as bumpCli } from "../../components/promotion/bump";
import { startSimulator, Simulator, SimulatorReport } from "../simulator";
import { ANN } from "../simulator/model";
import { EmulatedStack, RunOptions, RunResult } from "../support/engine";
import { ClusterView, deployment, scenario, waitFor } from "../drainer/cluster";
import { createOldDrainer, DrainResult, OldDrainer } from "./drainSeam";
import { roleGoals } from "./run";

const POOL = "gcp:container/nodePool:NodePool";
const ROOT = path.resolve(__dirname, "..", "..");
/** The bad version: a later build than the stack runs (the control plane is raised to it first, as bump requires). */
export const BAD_VERSION = "1.35.3-gke.1100000";

/** What the rollback rehearsal shows. */
export interface RollbackResult {
  /** Pool names: A (good, before), B (bad), C (the rollback, good version again). */
  pools: { good: string; bad: string; rollback: string };
  goodVersion: string;
  /** `revision` the rollback bump wrote (1: the good version's name for that day was taken). */
  rollbackRevision?: number;
  /** What `npm run bump` printed for the rollback (its stdout and notes). */
  bumpOutput: string[];
  /** The first `pulumi up` (to the bad version). */
  badUp: { ok: boolean; drain: DrainResult | undefined; goodPoolCordonedAfter: number; unreadyOnBadPool: number; unreadyPods: string[]; pendingDeletes: string[] };
  /** How the bad pool was emptied before the rollback bump, and what that command printed. */
  emptied: { with: "engine" | "kubectl"; command: string; code: number; output: string };
  /** The `pulumi up` after the rollback bump. */
  rollbackUp: { ok: boolean; drains: Record<string, DrainResult>; guards: Record<string, string>; errors: string[]; pendingDeletes: string[] };
  /** Pools left, and where every workload pod runs at the end. */
  poolsLeft: string[];
  podsByPool: Record<string, number>;
  /** Every workload fully Ready at the end. */
  allReady: boolean;
  report: SimulatorReport;
}

/** The real kubectl (KUBECTL or /usr/bin/kubectl) with the kubeconfig in `dir` and a private HOME. */
export const KUBECTL = process.env.KUBECTL ?? "/usr/bin/kubectl";
function kubectl(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, args, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, KUBECONFIG: path.join(dir, "kubeconfig"), KUBECACHEDIR: path.join(dir, "cache") }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `npm run rotation -- ARGS` (the engine's CLI, components/rotation/cli.ts) in its own process, as an operator does. */
function rotationCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, "node_modules/ts-node/dist/bin.js"), "components/rotation/cli.ts", ...args], { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as any).code === "number" ? (err as any).code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `npm run bump` (the CLI's own code) in `dir`; returns its exit code and output. */
async function bump(dir: string, args: string[], day: string, out: string[]): Promise<void> {
  const code = await bumpCli(["--dir", dir, "--stack", "staging", "--date", day, ...args], {
    out: (l) => out.push(l),
    err: (l) => out.push(l),
    now: () => new Date(`${day}T12:00:00Z`),
    cwd: dir,
  });
  if (code !== 0) throw new Error(`rollback rehearsal: npm run bump ${args.join(" ")} exited ${code}:\n${out.join("\n")}`);
}

/** The app pool of the stack file in `dir`, validated as the program does, and its name. */
function appPool(dir: string) {
  const config = validateStackConfig(parse(fs.readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8")).config, { stack: "staging" });
  const pool = config.pools.find((p) => p.role === "app")!;
  return { pool, name: poolName(pool, config.environment), environment: config.environment };
}

/** Runs the rollback rehearsal; always stops the simulator and the drainer hosts. */
export async function runRollbackRehearsal(opts: { log?: (line: string) => void; deadlineMinutes?: number; emptyBadPoolWith?: "engine" | "kubectl" } = {}): Promise<RollbackResult> {
  const log = opts.log ?? (() => {});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollback-rehearsal-"));
  let sim: Simulator | undefined;
  const drainers = new Map<string, OldDrainer>();
  try {
    for (const f of ["Pulumi.yaml", "Pulumi.staging.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    const a = appPool(dir);
    const day = a.pool.rotatedOn;
    const labels = { "nodepool-rotation/role": "app", env: a.environment };
    const options = { deadlineMinutes: opts.deadlineMinutes ?? 0.25, waitForReady: true };

    // The cluster as staging runs it: pool A (2 nodes), a PDB-protected and a PDB-less workload.
    sim = await startSimulator({ scenario: scenario(deployment("shop", "web", 4, { minAvailable: 3 }), deployment("shop", "api", 4)) });
    const s = sim;
    const kc = s.kubeConfig();
    const view = new ClusterView(kc);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const wait = (what: string, cond: () => Promise<boolean>) => waitFor(what, cond, 60_000);
    await s.addPool({ name: a.name, nodes: 2, labels });
    await wait("pool A Ready", () => view.nodesReady(a.name, 2));
    await wait("workloads Ready on pool A", () => view.allDeploymentsReady());

    // The rehearsal's GKE and Pulumi: pools are simulator pools, drainers run in the real host.
    const bad = new Set<string>();
    const drains: Record<string, DrainResult> = {};
    const guards: Record<string, string> = {};
    const drainer = async (pool: string) =>
      drainers.set(pool, await createOldDrainer({ kubeconfig: s.kubeconfig, pool, role: "app", cluster: "rehearsal/local/staging", options, log: (l) => log(`  drain ${pool}: ${l}`) }));
    const providers: RunOptions["providers"] = {
      [POOL]: {
        replaceOn: ["name"],
        async create(goal) {
          const name = goal.inputs.name as string;
          log(`create pool ${name}${bad.has(name) ? " (bad version: pods never become Ready on it)" : ""}`);
          await s.addPool({ name, nodes: 2, labels: bad.has(name) ? { ...labels, [ANN.podsReady]: "false" } : labels });
          await wait(`pool ${name} Ready`, () => view.nodesReady(name, 2));
          return { id: name, outputs: goal.inputs };
        },
        async delete(state) {
          log(`delete pool ${state.id}`);
          await s.deletePool(state.id);
        },
      },
      [POOL_DRAINER_TYPE]: {
        replaceOn: ["poolName"],
        async create(goal) {
          await drainer(goal.inputs.poolName);
          return { id: `drainer/${goal.inputs.poolName}`, outputs: goal.inputs };
        },
        async delete(state) {
          const pool = state.outputs.poolName as string;
          log(`drain ${pool}`);
          const d = await drainers.get(pool)!.drain();
          drains[pool] = d;
          log(d.ok ? `drain ${pool} done` : `drain ${pool} FAILED: ${d.error?.split("\n")[0]}`);
          if (!d.ok) throw new Error(d.error ?? `drain of ${pool} failed`);
        },
      },
    };
    const hooks: RunOptions["hooks"] = {
      async [POOL_GUARD_HOOK](args) {
        const g = await guardPoolDelete(kc, { pool: args.id, role: "app", clusterId: "rehearsal/local/staging" }, { drain: options as any, log: (l) => log(`  pool guard ${args.id}: ${l}`) });
        guards[args.id] = g.outcome;
      },
    };
    const stack = new EmulatedStack();
    const pending = () => stack.pendingDeletes().map((r) => `${r.type === POOL ? "pool" : "drainer of"} ${String(r.id).replace(/^drainer\//, "")}`);
    await drainer(a.name);
    const initial = await stack.up(roleGoals("app", a.name, true), { providers: { [POOL_DRAINER_TYPE]: { create: (g) => ({ id: `drainer/${g.inputs.poolName}`, outputs: g.inputs }) } } });
    if (!initial.ok) throw new Error(`rollback rehearsal: registering the old state failed: ${initial.errors.join("; ")}`);

    // 1-2. The bad bump and its `pulumi up`.
    const bumpOutput: string[] = [];
    await bump(dir, ["--control-plane", BAD_VERSION, "--role", "app", "--version", BAD_VERSION], day, []);
    const b = appPool(dir);
    bad.add(b.name);
    log(`bump: app ${a.pool.version} -> ${BAD_VERSION}: ${a.name} -> ${b.name}`);
    const up1: RunResult = await stack.up(roleGoals("app", b.name, true), { providers, hooks });
    delete drains[b.name];
    const badNodes = (await view.nodes(b.name)).map((n) => n.metadata!.name!);
    const pods = (await core.listPodForAllNamespaces()).items;
    const unreadyPods = pods
      .filter((p) => badNodes.includes(p.spec?.nodeName ?? "") && !p.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet") && !p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
    const unreadyOnBad = unreadyPods.length;
    const badUp = {
      ok: up1.ok,
      drain: drains[a.name],
      goodPoolCordonedAfter: (await view.nodes(a.name)).filter((n) => n.spec?.unschedulable).length,
      unreadyOnBadPool: unreadyOnBad,
      unreadyPods,
      pendingDeletes: pending(),
    };
    log(`pulumi up (bad version): ${up1.ok ? "succeeded" : "failed"}; pending deletes: ${badUp.pendingDeletes.join(", ")}; ${unreadyOnBad} pod(s) unready on ${b.name}`);

    // 3. The runbook: empty the bad pool (cordon, then the Eviction API, which lets unready pods go
    // while their PDB's healthy pods meet its floor); its pods come back on the good pool. With the
    // engine's drain (the default) or kubectl drain (the runbook's alternative). Then bump back to
    // the good version the same day.
    s.writeKubeconfig(path.join(dir, "kubeconfig"));
    const how = opts.emptyBadPoolWith ?? "engine";
    const args =
      how === "engine"
        ? ["drain", "--kubeconfig", path.join(dir, "kubeconfig"), "--pool", b.name, "--delete-emptydir-data", "--deadline", "60s"]
        : ["drain", "-l", `cloud.google.com/gke-nodepool=${b.name}`, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s"];
    const drained = how === "engine" ? await rotationCli(args) : await kubectl(dir, args);
    const command = `${how === "engine" ? "npm run rotation --" : "kubectl"} ${args.join(" ").replace(path.join(dir, "kubeconfig"), "<kubeconfig>")}`;
    log(`${command}: exit ${drained.code}`);
    if (drained.code !== 0) throw new Error(`rollback rehearsal: ${command} failed (exit ${drained.code}):\n${drained.stdout}${drained.stderr}`);
    const emptied = { with: how, command, code: drained.code, output: drained.stdout + drained.stderr };
    await wait("workloads Ready again on the good pool", () => view.allDeploymentsReady());
    await bump(dir, ["--role", "app", "--version", a.pool.version], day, bumpOutput);
    const c = appPool(dir);
    log(`rollback bump: app ${BAD_VERSION} -> ${a.pool.version}: ${b.name} -> ${c.name} (revision ${c.pool.revision ?? "none"})`);

    // 4. `pulumi up` after the rollback.
    for (const k of Object.keys(drains)) delete drains[k];
    const up2 = await stack.up(roleGoals("app", c.name, true), { providers, hooks });
    log(`pulumi up (rollback): ${up2.ok ? "succeeded" : "failed"}`);
    const allReady = await waitFor("every workload Ready again", () => view.allDeploymentsReady(), 60_000).then(() => true, () => false);

    const nodes = (await core.listNode()).items;
    const poolOf = new Map(nodes.map((n) => [n.metadata!.name!, n.metadata?.labels?.["cloud.google.com/gke-nodepool"] ?? "?"]));
    const podsByPool: Record<string, number> = {};
    for (const p of (await core.listPodForAllNamespaces()).items) {
      if (p.metadata?.ownerReferences?.some((o) => o.kind === "DaemonSet") || p.metadata?.deletionTimestamp) continue;
      const pool = poolOf.get(p.spec?.nodeName ?? "") ?? "unscheduled";
      podsByPool[pool] = (podsByPool[pool] ?? 0) + 1;
    }
    return {
      pools: { good: a.name, bad: b.name, rollback: c.name },
      goodVersion: a.pool.version,
      rollbackRevision: c.pool.revision,
      bumpOutput,
      badUp,
      emptied,
      rollbackUp: { ok: up2.ok, drains: { ...drains }, guards, errors: up2.errors, pendingDeletes: pending() },
      poolsLeft: [...new Set(nodes.map((n) => n.metadata?.labels?.["cloud.google.com/gke-nodepool"] ?? "?"))].sort(),
      podsByPool,
      allReady,
      report: s.report(),
    };
  } finally {
    for (const d of drainers.values()) await d.close().catch(() => {});
    await sim?.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Did the run show what the runbook promises (the bad drain stopped, the rollback moved everything, nothing broken)? */
export function rollbackHeld(r: RollbackResult): boolean {
  const web = r.report.workloads["shop/Deployment/web"];
  return !r.badUp.ok && r.badUp.goodPoolCordonedAfter === 0 && r.rollbackUp.ok && r.rollbackUp.pendingDeletes.length === 0 &&
    r.poolsLeft.length === 1 && r.poolsLeft[0] === r.pools.rollback && r.allReady &&
    r.report.workloadPodsDeletedWithoutEviction === 0 && web?.msAtZero === 0 && web?.msBelowFloor === 0;
}

/** The run in a few lines (what `npm run rehearse -- --rollback` prints). */
export function formatRollback(r: RollbackResult): string {
  const web = r.report.workloads["shop/Deployment/web"];
  return [
    `rollback rehearsal: ${rollbackHeld(r) ? "held" : "DID NOT HOLD"}`,
    `  good ${r.pools.good} (${r.goodVersion}) -> bad ${r.pools.bad} (${BAD_VERSION}, pods never Ready on its nodes)`,
    `  pulumi up to the bad version: ${r.badUp.ok ? "succeeded" : "failed"} — drain ${r.badUp.drain?.ok ? "done" : "stopped"}, good pool cordoned nodes ${r.badUp.goodPoolCordonedAfter}, ${r.badUp.unreadyOnBadPool} pod(s) unready on the bad pool; pending: ${r.badUp.pendingDeletes.join(", ")}`,
    `  bad pool emptied with \`${r.emptied.command}\` (exit ${r.emptied.code}); rollback bump -> ${r.pools.rollback} (revision ${r.rollbackRevision ?? "none"})`,
    `  pulumi up after the rollback: ${r.rollbackUp.ok ? "succeeded" : "failed"}; pools left: ${r.poolsLeft.join(", ")}; pods: ${Object.entries(r.podsByPool).map(([p, n]) => `${n} on ${p}`).join(", ")}`,
    `  shop/Deployment/web (PDB minAvailable 3 of 4): ${web?.msBelowFloor ?? "?"} ms below floor, ${web?.msAtZero ?? "?"} ms at zero; workload pods killed: ${r.report.workloadPodsDeletedWithoutEviction}`,
  ].join("\n");
}

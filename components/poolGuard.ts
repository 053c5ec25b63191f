/**
 * Pool guard: a named `beforeDelete` resource hook on every GKE NodePool of the program. Right
 * before Pulumi asks GKE to delete a pool, it re-checks the pool through the Kubernetes API with
 * the rotation engine: no nodes or nothing the drain would move → the delete goes ahead; workload
 * pods there (put back by auto-repair, the autoscaler or an uncordon after the pool's drain) → they
 * are drained, PodDisruptionBudgets honoured, then the delete goes ahead; pods that cannot move →
 * the hook fails, so the engine does not delete the pool, and the drain has uncordoned what it
 * cordoned (the pool keeps serving).
 *
 * Why a hook and not (only) the PoolDrainer: the drainer runs only when ITS delete runs, and the
 * engine deletes pools without it on several paths (docs/failure-paths.md): one role's drain fails
 * and the later batch holding every other role's pool is cancelled, leaving those pools
 * drained-not-deleted with their drainers gone from state, so the next `up` deletes them with no
 * drain; an interrupted run (same); `pulumi up --target <pool urn>` (the drainer, whose inputs do
 * not depend on the pool's outputs, gets an untargeted same step); a pool imported under another
 * URN. The hook belongs to the pool itself, so it runs on every one of these paths.
 *
 * Facts this relies on (pulumi/pulumi 1b5949891b3cefcb9974752b24a5ecef0acc86c8; SDK 3.270 in
 * node_modules/@pulumi/pulumi):
 *  - `DeleteStep.Apply` (pkg/resource/deploy/step.go) runs `RunHooks(s.old.ResourceHooks[BeforeDelete])`
 *    before the provider's Delete, with the OLD inputs and outputs; an error fails the step
 *    ("before hook %q failed: …", deployment.go `RunHooks`) and the pool stays in state.
 *  - The hook NAMES come from the OLD state and are resolved against the hooks the CURRENT program
 *    registered (`GetResourceHook`), so the callback is always today's code; a name nobody
 *    registered fails the delete ("hook %q was not registered"). Hence one fixed name for the
 *    whole program (names are unique per program: resource_hooks.go `RegisterResourceHook`).
 *  - The program stays connected until the deployment ends (resmon `SignalAndWaitForShutdown`;
 *    SDK runtime/settings.js), so hooks also run for the deletions at the end of the update.
 *  - A pool records the binding when it is created, updated or "same" (backend/snapshot.go
 *    `mustWrite`: ResourceHooks), not while it is pending deletion: pools created before this
 *    hook existed get it on the first `pulumi up` that leaves them in place.
 *  - Hooks do not run in previews unless `onDryRun` (deployment.go `RunHooks`); `pulumi destroy`
 *    refuses to delete a resource with delete hooks unless `--run-program` (engine/destroy.go).
 *  - The SDK passes `oldOutputs`/`oldInputs` deserialized, secrets as secret Outputs
 *    (runtime/callbacks.js `registerResourceHook` → `outputtifySecrets`).
 */
import * as k8s from "@kubernetes/client-node";
import * as pulumi from "@pulumi/pulumi";
import type { DrainConfig } from "./config";
import { CORDONED_ANNOTATION, GKE_POOL_LABEL } from "./contracts";
import { DRAIN_DEFAULTS, isDrainError, DrainOptions, DrainSummary, KubeClient, Plan, PlanOptions, PodPlan, ROLE_LABEL, drainOptionsFor, drainPool, errorText, planPool, uncordonNodes } from "./rotation";

/** The hook's name, stored in the state of every guarded pool. Never rename it (see above). */
export const POOL_GUARD_HOOK = "nodepool-rotation-pool-guard";

/** What the guard knows about one cluster of the program: how to reach it, and the drain options. */
export interface PoolGuardCluster {
  /** `project/location/name` of the cluster (what VersionedNodePoolArgs.clusterId carries). */
  clusterId: pulumi.Input<string>;
  /** Kubeconfig of the cluster (exec auth, components/kubeconfig.ts), as the program builds it now. */
  kubeconfig: pulumi.Input<string>;
  /** The stack's drain options now (`nodepool-rotation:drain`); `skip: true` lets deletes through unchecked. */
  drain?: DrainConfig;
}

/** The pool a delete is about, from its old state. */
export interface GuardedPool {
  /** GKE pool name (label `cloud.google.com/gke-nodepool`). */
  pool: string;
  /** Role of the pool's nodes (`nodepool-rotation/role`), when its node config carries one. */
  role?: string;
  /** `project/location/name` of its cluster. */
  clusterId: string;
}

/** How a guarded delete was let through. */
export interface PoolGuardResult {
  pool: string;
  /** `no-nodes`: the pool has no nodes; `nothing-to-move`: only pods the drain leaves (DaemonSet, mirror, finished);
   *  `drained`: workload pods were there and were drained first; `skipped`: drain.skip is set. */
  outcome: "no-nodes" | "nothing-to-move" | "drained" | "skipped";
  /** Pods the drain would have moved when the guard looked (`ns/name`). */
  found: string[];
  /** Pods evicted by the guard's drain. */
  evicted: number;
}

/**
 * Verdicts of pods that a drain moves (or waits for): any of them on the pool stops a blind delete.
 * A pod already being deleted is not one: it goes with or without the pool (a finalizer or a dead
 * kubelet may keep its object, not its containers), and the drain does not wait for such pods
 * either (components/rotation/terminating.ts).
 */
const MOVED_VERDICTS = new Set(["evict", "wait-completed", "blocks"]);

/** Pods of a plan that the drain would move, wait for or refuse on. */
export function podsToMove(plan: Plan): PodPlan[] {
  return plan.pods.filter((p) => MOVED_VERDICTS.has(p.verdict));
}

/** What the plan needs (pool, replacement nodes, pod filters, implicit budget) from the stack's drain options. */
export function guardPlanOptions(target: GuardedPool, drain: DrainConfig = {}): PlanOptions {
  const { pool, replacementSelector, deleteEmptyDirData, defaultBudget, knobs } = guardDrainOptions(target, drain);
  return { pool, ...(replacementSelector ? { replacementSelector } : {}), deleteEmptyDirData, defaultBudget, knobs };
}

/** The stack's drain options as rotation-engine DrainOptions for the pool: the drainer's own mapping (never keeps nodes cordoned on failure). */
export function guardDrainOptions(target: GuardedPool, drain: DrainConfig = {}): DrainOptions {
  return drainOptionsFor(target.pool, target.role, drain);
}

const list = (names: string[], max = 10) => (names.length > max ? `${names.slice(0, max).join(", ")} and ${names.length - max} more` : names.join(", "));

/**
 * The check itself, usable without Pulumi: plan the pool (read-only); nothing to move → done;
 * else drain it with the engine (PDB-aware, fail closed), then plan again to confirm. Throws an
 * Error whose message names the pods, what blocked them, the state of the nodes and the fix.
 */
export async function guardPoolDelete(
  kc: k8s.KubeConfig,
  target: GuardedPool,
  opts: {
    drain?: DrainConfig;
    log?: (line: string) => void;
    signal?: AbortSignal;
    /** Bound on each read-only check of the pool (lists, retried on errors). Default 2 min. */
    checkTimeoutMs?: number;
  } = {},
): Promise<PoolGuardResult> {
  const log = opts.log ?? (() => {});
  const { pool } = target;
  if (opts.drain?.skip === true) {
    log(`delete NOT checked: nodepool-rotation:drain.skip is true (GKE deletes the pool's pods without honouring PodDisruptionBudgets)`);
    return { pool, outcome: "skipped", found: [], evicted: 0 };
  }
  const planOpts = guardPlanOptions(target, opts.drain);
  const checkMs = opts.checkTimeoutMs ?? 120_000;
  let plan: Plan;
  try {
    plan = await planPool(kc, { ...planOpts, deadlineMs: checkMs, signal: opts.signal, log });
  } catch (e) {
    throw new Error(
      `pool guard: could not check node pool "${pool}" (cluster ${target.clusterId}) before deletion: ${errorText(e, kc)}. ` +
        `The pool was NOT deleted. Fix access from where \`pulumi up\` runs: credentials, gke-gcloud-auth-plugin on PATH, the network path to the control plane; ` +
        `on HTTP 403, the Kubernetes RBAC the guard needs (list nodes, pods, poddisruptionbudgets, deployments, replicasets, statefulsets; \`kubectl auth can-i --list\`). Then run \`pulumi up\` again.`,
    );
  }
  if (plan.nodes.length === 0) {
    log(`no nodes left in pool ${pool}: deleting it moves nothing`);
    return { pool, outcome: "no-nodes", found: [], evicted: 0 };
  }
  if (plan.pinnedVolumes.length) {
    // The pool's drainer usually drained and cordoned it already: giving up must not leave it
    // cordoned (a pod waiting for its local volume could not come back to the node that holds it).
    throw new Error(`${volumeRefusal(target, plan)} ${await uncordonOurCordons(kc, pool, log)} Move the data (or add replacement nodes that can reach it), then run \`pulumi up\` again.`);
  }
  const found = podsToMove(plan).map((p) => `${p.namespace}/${p.name}`);
  if (found.length === 0) {
    log(`pool ${pool} (${plan.nodes.length} node(s)) runs no pod a drain would move: deleting it`);
    return { pool, outcome: "nothing-to-move", found, evicted: 0 };
  }
  log(`pool ${pool} still runs ${found.length} pod(s) a drain would move (${list(found)}): draining them before GKE deletes the pool`);
  let summary: DrainSummary;
  try {
    summary = await drainPool(kc, { ...guardDrainOptions(target, opts.drain), log, signal: opts.signal });
  } catch (e) {
    throw new Error(guardFailureMessage(target, found, e));
  }
  const evicted = summary.evicted;
  // From here the drain has succeeded and left the pool cordoned (for the delete): any failure to
  // confirm refuses the delete, so it must uncordon first, like a failed drain (docs/failure-paths.md).
  let after: PodPlan[];
  let afterPlan: Plan;
  try {
    afterPlan = await planPool(kc, { ...planOpts, deadlineMs: checkMs, signal: opts.signal });
    after = podsToMove(afterPlan);
  } catch (e) {
    const why = `pool guard: could not re-check node pool "${pool}" (cluster ${target.clusterId}) after draining it: ${errorText(e, kc)}.`;
    log(`re-check of pool ${pool} failed: ${errorText(e, kc)}`);
    throw new Error(`${why} ${await uncordonAfterRefusal(kc, summary, log)} Fix access from where \`pulumi up\` runs, then run \`pulumi up\` again.`);
  }
  if (afterPlan.pinnedVolumes.length) {
    log(`re-check of pool ${pool} failed: ${afterPlan.pinnedVolumes.length} claim(s) bound to volumes only the pool can reach`);
    throw new Error(`${volumeRefusal(target, afterPlan)} ${await uncordonAfterRefusal(kc, summary, log)} Move the data (or add replacement nodes that can reach it), then run \`pulumi up\` again.`);
  }
  if (after.length > 0) {
    log(`re-check of pool ${pool} failed: ${after.length} pod(s) a drain would move are back`);
    throw new Error(
      `pool guard: node pool "${pool}" (cluster ${target.clusterId}) was drained but still runs ${after.length} pod(s) a drain would move: ` +
        `${list(after.map((p) => `${p.namespace}/${p.name}`))}. ${await uncordonAfterRefusal(kc, summary, log)} Find what keeps scheduling pods there, then run \`pulumi up\` again.`,
    );
  }
  log(`pool ${pool}: ${evicted} pod(s) evicted; deleting it`);
  return { pool, outcome: "drained", found, evicted };
}

/**
 * The refusal when claims are bound to volumes only the pool's nodes can reach (rotation/volumes.ts):
 * pods that would stay Pending if moved, or local data the pool's deletion would destroy.
 */
function volumeRefusal(target: GuardedPool, plan: Plan): string {
  return `pool guard: node pool "${target.pool}" (cluster ${target.clusterId}) holds volumes that no replacement node can reach: ${plan.pinnedVolumes.map((v) => v.message).join("; ")}.`;
}

/**
 * The delete is refused after a drain that succeeded (and so left the pool cordoned): uncordons the
 * nodes that drain cordoned, so the kept pool keeps serving. Returns the sentence for the error.
 */
async function uncordonAfterRefusal(kc: k8s.KubeConfig, summary: DrainSummary, log: (line: string) => void): Promise<string> {
  return uncordonSentence(await uncordonNodes(new KubeClient(kc), summary.cordoned, DRAIN_DEFAULTS.concurrency, log));
}

/**
 * The delete is refused before the guard drained anything: uncordons the pool's nodes this tool
 * cordoned (an earlier drain's, found by CORDONED_ANNOTATION), so the kept pool keeps serving.
 */
async function uncordonOurCordons(kc: k8s.KubeConfig, pool: string, log: (line: string) => void): Promise<string> {
  const client = new KubeClient(kc);
  let ours: string[];
  try {
    const nodes = await client.listNodes(Date.now() + 30_000, `${GKE_POOL_LABEL}=${pool}`);
    ours = nodes.items.filter((n) => n.spec?.unschedulable && n.metadata?.annotations?.[CORDONED_ANNOTATION]).map((n) => n.metadata?.name ?? "").filter(Boolean);
  } catch (e) {
    return `The pool was NOT deleted, but its nodes could not be listed to uncordon them (${errorText(e, kc)}): run \`kubectl uncordon\` on the nodes of pool ${pool} that carry ${CORDONED_ANNOTATION}.`;
  }
  return uncordonSentence(await uncordonNodes(client, ours, DRAIN_DEFAULTS.concurrency, log));
}

function uncordonSentence(done: { uncordoned: string[]; failed: string[] }): string {
  return done.failed.length
    ? `The pool was NOT deleted, but ${done.failed.length} node(s) could NOT be uncordoned: run \`kubectl uncordon ${done.failed.join(" ")}\`.`
    : `The pool was NOT deleted and keeps serving${done.uncordoned.length ? ` (uncordoned ${done.uncordoned.join(", ")})` : ""}; Pulumi keeps it pending deletion.`;
}

/** The hook's failure message: pods found, why the drain stopped, node state, the fix. */
function guardFailureMessage(target: GuardedPool, found: string[], e: unknown): string {
  const lines = [`pool guard: node pool "${target.pool}" (cluster ${target.clusterId}) still runs ${found.length} workload pod(s) that must move before GKE deletes it: ${list(found)}.`];
  if (isDrainError(e)) {
    lines.push(`Draining them failed [${e.reason}]: ${e.detail}`);
    if (e.blockingPods.length) lines.push(`Blocking pods: ${list(e.blockingPods)}.`);
    if (e.blockingPdbs.length) lines.push(`Blocking PodDisruptionBudget(s): ${list(e.blockingPdbs)}.`);
    const still = e.stillCordoned;
    lines.push(
      still.length
        ? `The pool was NOT deleted, but ${still.length} node(s) could NOT be uncordoned: run \`kubectl uncordon ${still.join(" ")}\`.`
        : `The pool was NOT deleted and keeps serving${e.uncordoned.length ? ` (uncordoned ${e.uncordoned.join(", ")})` : ""}; Pulumi keeps it pending deletion.`,
    );
  } else {
    lines.push(`Draining them failed: ${(e as Error)?.message ?? e}. The pool was NOT deleted; Pulumi keeps it pending deletion.`);
  }
  lines.push(
    `Fix: make room or relax what blocks (\`npm run rotation -- plan --kubeconfig PATH --pool ${target.pool}\` shows it), then run \`pulumi up\` again; ` +
      `to delete the pool without a drain (environment teardown only) set nodepool-rotation:drain.skip to true.`,
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Program side: the one named hook, the clusters it can check, and the callback the engine calls.
// ---------------------------------------------------------------------------------------------

/** Clusters registered by the program's pools (latest last). */
const clusters: PoolGuardCluster[] = [];
let hook: pulumi.ResourceHook | undefined;

/** Last path segment (`projects/p/locations/l/clusters/c` → `c`). */
const lastSegment = (v: unknown) => String(v ?? "").split("/").filter(Boolean).pop() ?? "";

/** Resolves a plain value or a (secret) Output from the hook's arguments. */
function plain<T>(v: pulumi.Input<T> | undefined): Promise<T | undefined> {
  if (v === undefined || !pulumi.Output.isInstance(v)) return Promise.resolve(v as T | undefined);
  return new Promise((resolve) => (v as pulumi.Output<T>).apply((x) => resolve(x)));
}

/** The pool a hook call is about, from the old outputs (falling back to the old inputs). */
export async function guardedPoolOf(args: Pick<pulumi.ResourceHookArgs, "oldOutputs" | "oldInputs" | "urn">): Promise<GuardedPool> {
  const src = { ...(args.oldInputs ?? {}), ...(args.oldOutputs ?? {}) };
  const pool = await plain<string>(src.name);
  if (!pool) throw new Error(`pool guard: the state of ${args.urn} has no pool name; cannot check the pool before deleting it.`);
  const nodeConfig = (await plain<{ labels?: pulumi.Input<Record<string, string>> }>(src.nodeConfig)) ?? {};
  const labels = (await plain<Record<string, string>>(nodeConfig.labels)) ?? {};
  const [project, location, cluster] = await Promise.all([plain(src.project), plain(src.location), plain(src.cluster)]);
  return { pool, role: labels[ROLE_LABEL], clusterId: `${project}/${lastSegment(location)}/${lastSegment(cluster)}` };
}

/**
 * The hook's callback: finds the pool's cluster among those the program registered, and runs
 * guardPoolDelete with the kubeconfig and drain options the program has NOW.
 */
export async function poolGuardCallback(args: pulumi.ResourceHookArgs, log?: (line: string) => void): Promise<void> {
  const target = await guardedPoolOf(args);
  let cluster: PoolGuardCluster | undefined;
  for (const c of [...clusters].reverse()) {
    if ((await plain(c.clusterId)) === target.clusterId) {
      cluster = c;
      break;
    }
  }
  if (!cluster) {
    throw new Error(
      `pool guard: node pool "${target.pool}" belongs to cluster ${target.clusterId}, which this program does not manage pools of, so it cannot check the pool before deletion. ` +
        `The pool was NOT deleted. Run \`pulumi up\` from the program that manages that cluster, or drain the pool (\`npm run rotation -- drain --kubeconfig PATH --pool ${target.pool}\`) and remove it from this stack's state.`,
    );
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kubeconfig = await Promise.race([
    plain(cluster.kubeconfig),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pool guard: the kubeconfig of cluster ${target.clusterId} did not resolve within 2 min; node pool "${target.pool}" was NOT deleted.`)), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfig ?? "");
  const write = log ?? ((line: string) => void pulumi.log.info(`[pool guard ${target.pool}] ${line}`));
  // SIGINT/SIGTERM while the guard drains (the engine's second Ctrl-C signals its plugins' process
  // groups, sdk/go/common/resource/plugin/plugin.go `InterruptChildren`, then SIGKILLs 5 s later):
  // stop and fail closed (uncordon) instead of dying mid-drain with the nodes cordoned.
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted (SIGINT/SIGTERM)"));
  // `on`, not `once`: a second signal while the guard uncordons must not fall through to Node's
  // default (exit with the nodes cordoned); the listeners go when the guard returns.
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    await guardPoolDelete(kc, target, { drain: cluster.drain, log: write, signal: controller.signal });
  } finally {
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
  }
}

/**
 * The SDK's MockMonitor (pulumi.runtime.setMocks, 3.270) advertises resource hooks but has no
 * `registerResourceHook`, so under mocks every resource bound to a hook would fail to register
 * (a known limitation: pulumi/docs#16461). Only for that class, answer the registration (the mock
 * engine never runs hooks anyway); a real engine's monitor is never touched.
 */
function answerHookRegistrationUnderMocks(): void {
  const monitor = pulumi.runtime.getMonitor();
  // What is read of the monitor's class: its name, and whether it answers hook registrations.
  const proto: { constructor?: { name?: string }; registerResourceHook?: (req: unknown, callback: (err: unknown, res: unknown) => void) => void } | undefined =
    monitor && Object.getPrototypeOf(monitor);
  if (proto?.constructor?.name === "MockMonitor" && typeof proto.registerResourceHook !== "function") {
    proto.registerResourceHook = (_req: unknown, callback: (err: unknown, res: unknown) => void) => callback(null, {});
  }
}

/** The first Pulumi CLI whose engine runs resource hooks (the pool guard is one). */
export const MIN_PULUMI_CLI = "3.182.0";

/**
 * The error a program run by an older Pulumi CLI fails with, instead of the SDK's own. The SDK
 * (@pulumi/pulumi runtime/resource.js `registerResourceHook`) rejects a hook's registration with
 * "The Pulumi CLI does not support resource hooks. Please update the Pulumi CLI" when the engine does
 * not advertise the feature; every pool bound to the hook awaits that registration, so the first
 * NodePool fails with it and a stack trace. This says what is needed and how to get it, as a
 * RunError (the language host prints its message alone). Any other error is returned unchanged.
 */
export function hookSupportError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  if (!message.includes("does not support resource hooks")) return err;
  return new pulumi.RunError(
    `nodepool-rotation needs Pulumi CLI ${MIN_PULUMI_CLI} or newer: every node pool carries the pool guard, a beforeDelete ` +
      `resource hook, and the Pulumi CLI running this program does not support resource hooks. ` +
      `Check with \`pulumi version\`; upgrade with \`curl -fsSL https://get.pulumi.com | sh\` (or \`brew upgrade pulumi\`; in ` +
      `GitHub Actions set pulumi/actions' pulumi-version to ${MIN_PULUMI_CLI} or newer), then run the command again.`,
  );
}

/** The hook, whose registration failure on a CLI without resource hooks reads as hookSupportError. */
function explainOldCli(h: pulumi.ResourceHook): pulumi.ResourceHook {
  // `__registered` is the SDK's registration promise (resource.js ResourceHook), awaited by every
  // resource bound to the hook (prepareHooks); internal, so guarded, and pinned by a spec.
  const internal = h as unknown as { __registered?: Promise<void> };
  if (internal.__registered instanceof Promise) {
    internal.__registered = internal.__registered.catch((err) => {
      throw hookSupportError(err);
    });
  }
  return h;
}

/** Records how the guard reaches a cluster (poolGuardHook does this; exported for engine-order specs that run the callback themselves). */
export function registerPoolGuardCluster(cluster: PoolGuardCluster): void {
  clusters.push(cluster);
}

/**
 * The program's pool-guard hook (created and registered once per program), after recording how to
 * reach `cluster`. Bind it to a NodePool with `hooks: { beforeDelete: [poolGuardHook(...)] }`.
 */
export function poolGuardHook(cluster: PoolGuardCluster): pulumi.ResourceHook {
  registerPoolGuardCluster(cluster);
  if (!hook) {
    answerHookRegistrationUnderMocks();
    hook = explainOldCli(new pulumi.ResourceHook(POOL_GUARD_HOOK, (args) => poolGuardCallback(args)));
  }
  return hook;
}

/**
 * GKE's own ways of replacing a node pool's nodes, run by the simulator's GKE stand-in so they can
 * be measured side by side with the rotation (tests/rehearsal/compare.ts): what a user would pick
 * instead of this tool. Each is modelled on GKE's documentation, with its documented numbers:
 *
 * - SURGE (the default; cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies,
 *   reference/rest/v1/UpgradeSettings): `maxSurge` extra nodes, `maxUnavailable` nodes down at once,
 *   `maxSurge + maxUnavailable` nodes upgraded at the same time, node by node in no set order. A
 *   surge node is created (in the old node's zone) and Ready first; then the old node is cordoned,
 *   drained — PodDisruptionBudgets respected for at most 1 hour, then its pods are deleted anyway —
 *   and deleted. Defaults maxSurge 1, maxUnavailable 0.
 * - BLUE_GREEN (same pages; BlueGreenSettings, StandardRolloutPolicy): the green nodes are created
 *   whole (same count per zone), every blue node is cordoned, blue is drained in batches of
 *   `batchNodeCount` nodes or `batchPercentage` (0, 1] of the pool, each followed by
 *   `batchSoakDuration` (default 0 s), then `nodePoolSoakDuration` (default 1 hour, at most 7 days)
 *   before the blue nodes are deleted. PDBs respected for at most 1 hour per node, as with surge.
 * - AUTOSCALED_BLUE_GREEN (BlueGreenSettings.AutoscaledRolloutPolicy; control plane
 *   1.34.0-gke.2201000+, cluster autoscaler on): blue is cordoned, then after `waitForDrainDuration`
 *   (default 3 days, 0–7 days) drained; green starts empty and the cluster autoscaler adds green
 *   nodes as pods leave blue and wait unschedulable (one scan every 10 s, the autoscaler's
 *   `--scan-interval` default; each node in the zone with the fewest green nodes, as with
 *   `--balance-similar-node-groups`), and removes blue nodes that no longer run a workload pod.
 * - pool deletion (cloud.google.com/kubernetes-engine/docs/concepts/node-pools, "Deleting node
 *   pools"): every node is drained by deleting its pods with a grace period of MAX_POD — the
 *   largest terminationGracePeriodSeconds of its pods, capped at 1 hour — PodDisruptionBudgets NOT
 *   respected; with `nodeDrainConfig.respectPdbDuringNodePoolDeletion` (NodePool.NodeDrainConfig)
 *   the pods are evicted through the Eviction API instead, PDBs respected for at most
 *   `pdbTimeoutDuration` (assumed 1 hour when unset: the field's default is not documented).
 *
 * Not documented, and chosen here (each stated where used): the interval between GKE's eviction
 * retries on 429 (5 s, as `kubectl drain`), the batch size of BLUE_GREEN when neither field is given
 * (1 node), that autoscaled blue-green drains every blue node at once, and how many nodes one
 * autoscaler scan adds (enough for the CPU requests of the unschedulable pods).
 *
 * Time scale: every documented duration is GKE time and runs here scaled by the simulator's
 * `terminationGraceScale` (simulated ms per real ms: 0.01 makes the 1-hour PDB cut-off 36 s), the
 * same factor the kubelet applies to terminationGracePeriodSeconds.
 *
 * Each run is an operation (GKE's long-running operation stand-in) kept per cluster: started by
 * `POST /simulator/pools/NAME/upgrade` or `DELETE /simulator/pools/NAME?drain=true`, read by
 * `GET /simulator/operations/ID` (docs/simulator.md).
 */
import { performance } from "node:perf_hooks";
import type { Cluster } from "./cluster";
import { evict } from "./eviction";
import { LABEL } from "./gke";
import { ANN, PoolSpec } from "./model";
import { controllerRef, isNodeReady, isTerminal, Obj, objKey, parseQuantity, podRequests } from "./util";

/** One hour, the documented PDB cut-off of surge and blue-green upgrades and the cap on a pod's grace when a pool is deleted. */
export const ONE_HOUR_S = 3600;
/** Interval between eviction retries after a 429 (not documented by GKE; `kubectl drain` waits 5 s). */
export const EVICTION_RETRY_S = 5;
/** Cluster autoscaler `--scan-interval` default. */
export const AUTOSCALER_SCAN_S = 10;

/** The strategies, as GKE's `NodePoolUpdateStrategy` names them, plus pool deletion. */
export type GkeStrategy = "SURGE" | "BLUE_GREEN" | "AUTOSCALED_BLUE_GREEN" | "DELETE";

/** The body of `POST /simulator/pools/NAME/upgrade`: GKE's `UpgradeSettings` JSON (durations as "3600s"). */
export interface UpgradeSettings {
  strategy: Exclude<GkeStrategy, "DELETE">;
  maxSurge?: number;
  maxUnavailable?: number;
  blueGreenSettings?: {
    standardRolloutPolicy?: { batchPercentage?: number; batchNodeCount?: number; batchSoakDuration?: string };
    autoscaledRolloutPolicy?: { waitForDrainDuration?: string };
    nodePoolSoakDuration?: string;
  };
}

/** `DELETE /simulator/pools/NAME?drain=true`'s options: GKE's `NodePool.NodeDrainConfig`. */
export interface NodeDrainConfig {
  respectPdbDuringNodePoolDeletion?: boolean;
  pdbTimeoutDuration?: string;
}

/** A step of an operation, at ms since it started. */
export interface OperationStep {
  t: number;
  what: string;
}

/** What `GET /simulator/operations/ID` returns. */
export interface Operation {
  id: string;
  pool: string;
  strategy: GkeStrategy;
  status: "RUNNING" | "DONE" | "FAILED";
  error?: string;
  /** The settings in force, with every duration as GKE seconds and as simulated ms. */
  settings: Record<string, unknown>;
  /** Simulated ms the operation ran (until now while RUNNING). */
  durationMs: number;
  steps: OperationStep[];
  nodesCreated: number;
  nodesDeleted: number;
  /** Pods evicted through the Eviction API. */
  evictions: number;
  /** Pods deleted without eviction (pool deletion without PDBs, or after a PDB cut-off). */
  podsDeleted: number;
  /** Nodes whose drain reached the PDB cut-off, and the pods deleted because of it. */
  pdbCutoffs: number;
  podsDeletedAfterCutoff: number;
}

/** A bad request: the field and the fix (the server answers 400; 404 for an unknown pool). */
export class UpgradeRequestError extends Error {
  constructor(message: string, readonly code = 400) {
    super(message);
  }
}

const ops = new WeakMap<Cluster, Map<string, Operation>>();

/** The operations of a cluster, by id. */
export function operationsOf(c: Cluster): Map<string, Operation> {
  let m = ops.get(c);
  if (!m) ops.set(c, (m = new Map()));
  return m;
}

/** Parses a protobuf Duration in JSON ("3600s", "0.5s") into seconds; `field` names it in the error. */
export function durationSeconds(v: unknown, field: string, max = 7 * 24 * ONE_HOUR_S): number {
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(v) : null;
  if (!m || Number(m[1]) > max) throw new UpgradeRequestError(`${field} must be a duration like "3600s" between 0s and ${max}s (got ${JSON.stringify(v)})`);
  return Number(m[1]);
}

/** Starts an upgrade of `pool` with GKE's `settings`; returns the operation (RUNNING). Throws UpgradeRequestError before anything changes. */
export function startUpgrade(c: Cluster, pool: string, settings: UpgradeSettings): Operation {
  const nodes = poolNodes(c, pool);
  if (!settings || typeof settings !== "object") throw new UpgradeRequestError(`the body must be GKE's UpgradeSettings, e.g. {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}`);
  const int = (v: unknown, field: string, dflt: number) => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || (v as number) < 0) throw new UpgradeRequestError(`${field} must be a non-negative integer (got ${JSON.stringify(v)})`);
    return v as number;
  };
  const bg = settings.blueGreenSettings ?? {};
  switch (settings.strategy) {
    case "SURGE": {
      // Defaults as for a new node pool: maxSurge 1, maxUnavailable 0.
      const maxSurge = int(settings.maxSurge, "maxSurge", 1);
      const maxUnavailable = int(settings.maxUnavailable, "maxUnavailable", 0);
      if (maxSurge + maxUnavailable === 0) throw new UpgradeRequestError("maxSurge + maxUnavailable must be at least 1: it is how many nodes are upgraded at the same time");
      return launch(c, pool, "SURGE", { maxSurge, maxUnavailable, pdbTimeout: scaled(c, ONE_HOUR_S) }, (op) => surge(c, op, pool, nodes, maxSurge, maxUnavailable));
    }
    case "BLUE_GREEN": {
      const std = bg.standardRolloutPolicy ?? {};
      if (std.batchNodeCount !== undefined && std.batchPercentage !== undefined) throw new UpgradeRequestError("standardRolloutPolicy takes batchNodeCount or batchPercentage, not both");
      if (std.batchPercentage !== undefined && !(typeof std.batchPercentage === "number" && std.batchPercentage > 0 && std.batchPercentage <= 1)) {
        throw new UpgradeRequestError(`standardRolloutPolicy.batchPercentage must be in (0.0, 1.0] (a fraction of the pool; got ${JSON.stringify(std.batchPercentage)})`);
      }
      const batch = std.batchPercentage !== undefined ? Math.max(1, Math.ceil(std.batchPercentage * nodes.length)) : Math.max(1, int(std.batchNodeCount, "standardRolloutPolicy.batchNodeCount", 1));
      const batchSoak = durationSeconds(std.batchSoakDuration ?? "0s", "standardRolloutPolicy.batchSoakDuration");
      const poolSoak = durationSeconds(bg.nodePoolSoakDuration ?? `${ONE_HOUR_S}s`, "blueGreenSettings.nodePoolSoakDuration");
      return launch(c, pool, "BLUE_GREEN", { batchNodes: batch, batchSoak: scaled(c, batchSoak), nodePoolSoak: scaled(c, poolSoak), pdbTimeout: scaled(c, ONE_HOUR_S) }, (op) =>
        blueGreen(c, op, pool, nodes, batch, ms(c, batchSoak), ms(c, poolSoak)),
      );
    }
    case "AUTOSCALED_BLUE_GREEN": {
      const wait = durationSeconds(bg.autoscaledRolloutPolicy?.waitForDrainDuration ?? `${3 * 24 * ONE_HOUR_S}s`, "autoscaledRolloutPolicy.waitForDrainDuration");
      return launch(c, pool, "AUTOSCALED_BLUE_GREEN", { waitForDrain: scaled(c, wait), autoscalerScan: scaled(c, AUTOSCALER_SCAN_S), pdbTimeout: scaled(c, ONE_HOUR_S) }, (op) =>
        autoscaledBlueGreen(c, op, pool, nodes, ms(c, wait)),
      );
    }
    default:
      throw new UpgradeRequestError(`strategy must be SURGE, BLUE_GREEN or AUTOSCALED_BLUE_GREEN (got ${JSON.stringify((settings as { strategy?: unknown }).strategy)}); pool deletion is DELETE /simulator/pools/NAME?drain=true`);
  }
}

/** Starts GKE's deletion of `pool`: each node drained with the bounded grace, PDBs ignored unless `respectPdbDuringNodePoolDeletion`. */
export function startPoolDeletion(c: Cluster, pool: string, cfg: NodeDrainConfig): Operation {
  const nodes = poolNodes(c, pool);
  const respectPdb = cfg.respectPdbDuringNodePoolDeletion === true;
  const timeout = durationSeconds(cfg.pdbTimeoutDuration ?? `${ONE_HOUR_S}s`, "nodeDrainConfig.pdbTimeoutDuration");
  return launch(c, pool, "DELETE", { respectPdbDuringNodePoolDeletion: respectPdb, ...(respectPdb ? { pdbTimeout: scaled(c, timeout) } : {}), graceCapS: ONE_HOUR_S }, async (op) => {
    for (const n of nodes) cordon(c, n);
    step(op, `cordoned ${nodes.length} node(s)`);
    await Promise.all(nodes.map(async (n) => {
      await drainNode(c, op, n, respectPdb ? ms(c, timeout) : 0);
      deleteNode(c, op, n);
    }));
  });
}

// ------------------------------------------------------------------ the strategies

async function surge(c: Cluster, op: Operation, pool: string, old: string[], maxSurge: number, maxUnavailable: number): Promise<void> {
  const queue = [...old];
  const pdbMs = ms(c, ONE_HOUR_S);
  // maxSurge + maxUnavailable nodes at a time: the surge slots create first, the others recreate after.
  const worker = async (surgeSlot: boolean) => {
    for (let n = queue.shift(); n; n = queue.shift()) {
      const spec = specOf(c, pool, n);
      if (surgeSlot) await createNodes(c, op, spec, zoneOf(c, n), 1);
      cordon(c, n);
      step(op, `cordon ${n}`);
      await drainNode(c, op, n, pdbMs);
      deleteNode(c, op, n);
      if (!surgeSlot) await createNodes(c, op, spec, zoneOf(c, n), 1);
    }
  };
  await Promise.all([...Array(maxSurge).fill(true), ...Array(maxUnavailable).fill(false)].map((s) => worker(s)));
}

async function blueGreen(c: Cluster, op: Operation, pool: string, blue: string[], batch: number, batchSoakMs: number, poolSoakMs: number): Promise<void> {
  const spec = specOf(c, pool, blue[0]);
  const perZone = countByZone(c, blue);
  await Promise.all([...perZone].map(([zone, n]) => createNodes(c, op, spec, zone, n)));
  for (const n of blue) cordon(c, n);
  step(op, `cordoned the ${blue.length} blue node(s)`);
  const pdbMs = ms(c, ONE_HOUR_S);
  for (let i = 0; i < blue.length; i += batch) {
    const nodes = blue.slice(i, i + batch);
    step(op, `drain batch ${i / batch + 1}: ${nodes.length} node(s)`);
    await Promise.all(nodes.map((n) => drainNode(c, op, n, pdbMs)));
    if (batchSoakMs > 0) {
      step(op, "batch soak");
      await sleep(c, batchSoakMs);
    }
  }
  if (poolSoakMs > 0) {
    step(op, "node pool soak");
    await sleep(c, poolSoakMs);
  }
  for (const n of blue) deleteNode(c, op, n);
}

async function autoscaledBlueGreen(c: Cluster, op: Operation, pool: string, blue: string[], waitMs: number): Promise<void> {
  const spec = specOf(c, pool, blue[0]);
  const blueSet = new Set(blue);
  for (const n of blue) cordon(c, n);
  step(op, `cordoned the ${blue.length} blue node(s); green starts empty, scaled by the cluster autoscaler`);
  let draining = true;
  const scanMs = ms(c, AUTOSCALER_SCAN_S);
  const zones = [...countByZone(c, blue).keys()];
  const autoscaler = (async () => {
    while (draining || [...blueSet].some((n) => c.store.peek("nodes", n))) {
      await sleep(c, scanMs);
      // scale up: enough green nodes for the CPU requests of the pods that cannot be scheduled
      const pending = c.store.list("pods").filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp && !isTerminal(p) && matchesPool(p, spec));
      const booting = c.store.list("nodes").filter((n) => n.metadata.labels?.[LABEL.pool] === pool && !blueSet.has(n.metadata.name) && !isNodeReady(n)).length;
      const cpu = pending.reduce((s, p) => s + podRequests(p).cpu, 0);
      const want = Math.ceil(cpu / parseQuantity(spec.cpu ?? "4")) - booting;
      const green = c.store.list("nodes").filter((n) => n.metadata.labels?.[LABEL.pool] === pool && !blueSet.has(n.metadata.name)).length;
      const add = Math.min(want, blue.length - green);
      for (let i = 0; i < add; i++) {
        // balancing similar node groups: each new node goes to the zone with the fewest green nodes
        const count = (z: string) => c.store.list("nodes").filter((n) => n.metadata.labels?.[LABEL.pool] === pool && !blueSet.has(n.metadata.name) && n.metadata.labels?.[LABEL.zone] === z).length;
        const zone = [...zones].sort((a, b) => count(a) - count(b))[0];
        void createNodes(c, op, spec, zone, 1, "autoscaler: scale up");
      }
      // scale down: blue nodes that no longer run a workload pod
      for (const n of [...blueSet]) {
        if (!c.store.peek("nodes", n)) blueSet.delete(n);
        else if (workloadPods(c, n, true).length === 0 && !draining) {
          deleteNode(c, op, n, "autoscaler: remove empty blue node");
          blueSet.delete(n);
        }
      }
    }
  })();
  if (waitMs > 0) {
    step(op, "wait for drain");
    await sleep(c, waitMs);
  }
  const pdbMs = ms(c, ONE_HOUR_S);
  await Promise.all(blue.map((n) => drainNode(c, op, n, pdbMs)));
  draining = false;
  await autoscaler;
}

// ------------------------------------------------------------------ node steps

/** Evicts (or, past `pdbMs`, deletes) every workload pod of `node` and waits until they are gone. pdbMs 0: delete at once, PDBs ignored. */
async function drainNode(c: Cluster, op: Operation, node: string, pdbMs: number): Promise<void> {
  const started = performance.now();
  const retryMs = Math.max(1, ms(c, EVICTION_RETRY_S));
  let cutoff = false;
  step(op, `drain ${node}`);
  for (;;) {
    const pods = workloadPods(c, node, false);
    if (pods.length === 0) return;
    const past = pdbMs === 0 || performance.now() - started >= pdbMs;
    if (past && pdbMs > 0 && !cutoff) {
      cutoff = true;
      op.pdbCutoffs++;
      step(op, `PDB cut-off on ${node}: deleting its ${pods.filter((p) => !p.metadata.deletionTimestamp).length} remaining pod(s)`);
    }
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      if (past) {
        deletePod(c, p);
        op.podsDeleted++;
        if (cutoff) op.podsDeletedAfterCutoff++;
        continue;
      }
      const r = evict(c, p.metadata.namespace, p.metadata.name, { kind: "Eviction", metadata: { name: p.metadata.name, namespace: p.metadata.namespace } }, false);
      if (r.code < 300) op.evictions++;
    }
    // refused evictions are retried every EVICTION_RETRY_S; terminating pods are polled for meanwhile
    const refused = workloadPods(c, node, true).length > 0;
    await sleep(c, refused ? retryMs : 5);
  }
}

/** Deletes a pod gracefully, its grace capped at 1 hour (GKE's MAX_POD cap). */
function deletePod(c: Cluster, p: Obj): void {
  const grace = Math.min(p.spec?.terminationGracePeriodSeconds ?? 30, ONE_HOUR_S);
  c.deletePod(objKey(p), grace, "pool");
}

/** Pods the drain moves: not DaemonSet or mirror pods, not finished; `live`: not terminating either. */
function workloadPods(c: Cluster, node: string, live: boolean): Obj[] {
  return c.store.podsOnNode(node).filter(
    (p) => controllerRef(p)?.kind !== "DaemonSet" && !p.metadata.annotations?.[ANN.mirror] && !isTerminal(p) && (!live || !p.metadata.deletionTimestamp),
  );
}

function cordon(c: Cluster, node: string): void {
  c.store.mutate("nodes", node, (n) => {
    if (n.spec?.unschedulable) return false;
    n.spec = { ...(n.spec ?? {}), unschedulable: true };
  });
}

function deleteNode(c: Cluster, op: Operation, node: string, why = "delete"): void {
  if (!c.store.peek("nodes", node)) return;
  // DaemonSet pods go with their node (pod GC in cluster.ts)
  c.store.remove("nodes", node);
  op.nodesDeleted++;
  step(op, `${why} ${node}`);
}

/** Creates `count` nodes of the pool in `zone` and resolves once they are Ready. */
async function createNodes(c: Cluster, op: Operation, spec: PoolSpec, zone: string, count: number, why = "create"): Promise<string[]> {
  const names = c.addPoolNodes(spec, zone, count);
  op.nodesCreated += names.length;
  step(op, `${why} ${names.length} node(s) in ${zone}`);
  while (!names.every((n) => { const x = c.store.peek("nodes", n); return !x || isNodeReady(x); })) await sleep(c, 5);
  return names;
}

// ------------------------------------------------------------------ helpers

function poolNodes(c: Cluster, pool: string): string[] {
  const nodes = c.store.list("nodes").filter((n) => n.metadata.labels?.[LABEL.pool] === pool).map((n) => n.metadata.name as string).sort();
  if (nodes.length === 0) throw new UpgradeRequestError(`pool ${pool} not found: it has no node (GET /simulator/pools lists the pools)`, 404);
  if (operationsOf(c).size && [...operationsOf(c).values()].some((o) => o.pool === pool && o.status === "RUNNING")) {
    throw new UpgradeRequestError(`pool ${pool} has an operation running: wait for it (GET /simulator/operations)`);
  }
  return nodes;
}

/** The PoolSpec that creates nodes like `node` (its labels, taints, capacity, machine type). */
function specOf(c: Cluster, pool: string, node: string): PoolSpec {
  const n = c.store.peek("nodes", node)!;
  const labels: Record<string, string> = { ...(n.metadata.labels ?? {}) };
  for (const k of [LABEL.hostname, LABEL.zone, LABEL.region, LABEL.pool]) delete labels[k];
  const alloc = n.status?.allocatable ?? {};
  return {
    name: pool,
    nodes: 1,
    labels,
    machineType: n.metadata.labels?.[LABEL.instanceType],
    cpu: alloc.cpu,
    memory: alloc.memory,
    pods: alloc.pods !== undefined ? Number(alloc.pods) : undefined,
    taints: (n.spec?.taints ?? []).filter((t: Obj) => t.key !== "node.kubernetes.io/unschedulable"),
  };
}

function zoneOf(c: Cluster, node: string): string {
  return c.store.peek("nodes", node)?.metadata.labels?.[LABEL.zone] ?? c.location.zones[0];
}

function countByZone(c: Cluster, nodes: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of nodes) m.set(zoneOf(c, n), (m.get(zoneOf(c, n)) ?? 0) + 1);
  return m;
}

/** Would the pod go to this pool's nodes (its nodeSelector matches their labels)? */
function matchesPool(p: Obj, spec: PoolSpec): boolean {
  const labels: Record<string, string> = { ...(spec.labels ?? {}), [LABEL.pool]: spec.name };
  return Object.entries(p.spec?.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
}


/** GKE seconds -> simulated ms. */
function ms(c: Cluster, seconds: number): number {
  return seconds * 1000 * c.timing.terminationGraceScale;
}

function scaled(c: Cluster, seconds: number): { gkeSeconds: number; simMs: number } {
  return { gkeSeconds: seconds, simMs: Math.round(ms(c, seconds) * 1000) / 1000 };
}

function sleep(c: Cluster, delay: number): Promise<void> {
  return new Promise((resolve) => c.timers.after(delay, resolve));
}

/** When each operation started and ended (performance.now()), kept off the JSON. */
const clock = new WeakMap<Operation, { t0: number; t1?: number }>();

function step(op: Operation, what: string): void {
  op.steps.push({ t: Math.round(performance.now() - clock.get(op)!.t0), what });
}

let seq = 0;

function launch(c: Cluster, pool: string, strategy: GkeStrategy, settings: Record<string, unknown>, run: (op: Operation) => Promise<void>): Operation {
  const t0 = performance.now();
  const op: Operation = {
    id: `operation-${Date.now()}-${++seq}`, pool, strategy, status: "RUNNING", settings, durationMs: 0, steps: [],
    nodesCreated: 0, nodesDeleted: 0, evictions: 0, podsDeleted: 0, pdbCutoffs: 0, podsDeletedAfterCutoff: 0,
  };
  const times = { t0, t1: undefined as number | undefined };
  clock.set(op, times);
  Object.defineProperty(op, "durationMs", { enumerable: true, get: () => Math.round((times.t1 ?? performance.now()) - t0) });
  operationsOf(c).set(op.id, op);
  step(op, `${strategy} of pool ${pool} started`);
  run(op).then(
    () => {
      times.t1 = performance.now();
      op.status = "DONE";
      step(op, "done");
    },
    (e) => {
      times.t1 = performance.now();
      op.status = "FAILED";
      op.error = (e as Error)?.message ?? String(e);
    },
  );
  return op;
}

/**
 * The simulator's GKE operation endpoints (server.ts routes /simulator/pools/NAME/upgrade,
 * DELETE /simulator/pools/NAME?drain=true and /simulator/operations here). Returns undefined for
 * paths it does not serve.
 */
export async function handleGkeRequest(c: Cluster, method: string, path: string, query: URLSearchParams, body: () => Promise<unknown>): Promise<{ code: number; body: unknown } | undefined> {
  try {
    const up = /^\/simulator\/pools\/([^/]+)\/upgrade$/.exec(path);
    if (up && method === "POST") return { code: 202, body: startUpgrade(c, decodeURIComponent(up[1]), (await body()) as UpgradeSettings) };
    const del = /^\/simulator\/pools\/([^/]+)$/.exec(path);
    if (del && method === "DELETE" && query.get("drain") === "true") {
      const respect = query.get("respectPdbDuringNodePoolDeletion");
      if (respect !== null && respect !== "true" && respect !== "false") throw new UpgradeRequestError(`respectPdbDuringNodePoolDeletion must be true or false (got ${JSON.stringify(respect)})`);
      return { code: 202, body: startPoolDeletion(c, decodeURIComponent(del[1]), { respectPdbDuringNodePoolDeletion: respect === "true", pdbTimeoutDuration: query.get("pdbTimeoutDuration") ?? undefined }) };
    }
    if (path === "/simulator/operations" && method === "GET") return { code: 200, body: { operations: [...operationsOf(c).values()] } };
    const get = /^\/simulator\/operations\/([^/]+)$/.exec(path);
    if (get && method === "GET") {
      const op = operationsOf(c).get(decodeURIComponent(get[1]));
      return op ? { code: 200, body: op } : { code: 404, body: { message: `no operation ${get[1]} (GET /simulator/operations lists them)` } };
    }
    return undefined;
  } catch (e) {
    if (e instanceof UpgradeRequestError) return { code: e.code, body: { message: e.message } };
    throw e;
  }
}

/**
 * Reading a rehearsal scenario: which pool is the old pool, what its nodes look like (so the
 * replacement gets the same role label and capacity), and which version bump to rehearse.
 *
 * A scenario is the simulator's multi-document YAML of ordinary manifests. The old pool is the
 * pool of its Node manifests (label `cloud.google.com/gke-nodepool`), whatever its name. An
 * optional ConfigMap `rehearsal` in `kube-system` says what is bumped (keys below); without it
 * the versions come from the nodes' kubelet version and the new version is the next patch.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { POOL_LABEL } from "./prober";

/** Label carrying a pool's stable role (set by VersionedNodePool, used by the engine to find replacement nodes). */
export const ROLE_LABEL = "nodepool-rotation/role";

/** The scenario shipped with the rehearsal. */
export const DEFAULT_SCENARIO_FILE = path.join(__dirname, "default-scenario.yaml");

/** What a scenario says about the rotation to rehearse. */
export interface RehearsalScenario {
  /** Where it came from (path), for the report. */
  source: string;
  /** The YAML text handed to the simulator. */
  text: string;
  /** Old pool: name, node count, the labels its nodes share, their capacity. */
  oldPool: { name: string; nodes: number; labels: Record<string, string>; cpu?: string; memory?: string; pods?: number };
  role: string;
  env?: string;
  fromVersion: string;
  fromRotatedOn: string;
  toVersion: string;
  toRotatedOn: string;
  /**
   * The drainer's options (stack config `nodepool-rotation:drain`), from the `drainOptions` key (JSON).
   * Default `{ deadlineMinutes: 1 }`: a rehearsal must not hang for the production default of 60 min.
   */
  drainOptions: Record<string, unknown>;
  /** Immutable pool properties (they feed the naming hash); unset ones are left undefined. */
  pool: {
    machineType?: string;
    diskType?: string;
    diskSizeGb?: number;
    imageType?: string;
    serviceAccount?: string;
    oauthScopes?: string[];
    spot?: boolean;
  };
}

/** Reads and interprets a scenario file. Throws a clear error naming the file and the fix. */
export function loadScenario(file: string = DEFAULT_SCENARIO_FILE, today: Date = new Date()): RehearsalScenario {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e: any) {
    throw new Error(`rehearsal: cannot read scenario ${file}: ${e.message}`);
  }
  return parseScenario(text, file, today);
}

/** Interprets scenario text (see {@link loadScenario}). */
export function parseScenario(text: string, source: string, today: Date = new Date()): RehearsalScenario {
  const docs = parseAllDocuments(text);
  const objs: any[] = [];
  docs.forEach((d, i) => {
    if (d.errors.length) throw new Error(`rehearsal: scenario ${source}: YAML document ${i + 1}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o) objs.push(o);
  });
  const nodes = objs.filter((o) => o.kind === "Node");
  const pools = new Map<string, any[]>();
  for (const n of nodes) {
    const pool = n.metadata?.labels?.[POOL_LABEL];
    if (!pool) continue;
    pools.set(pool, [...(pools.get(pool) ?? []), n]);
  }
  if (pools.size === 0) {
    throw new Error(
      `rehearsal: scenario ${source} has no Node labelled ${POOL_LABEL}=<pool>: add the old pool's nodes with that label`,
    );
  }
  if (pools.size > 1) {
    throw new Error(
      `rehearsal: scenario ${source} has nodes in ${pools.size} pools (${[...pools.keys()].join(", ")}): ` +
        `the rehearsal rotates one pool; keep only the old pool's nodes in the scenario`,
    );
  }
  const [poolName, poolNodes] = [...pools.entries()][0];
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata?.name === "rehearsal" && o.metadata?.namespace === "kube-system");
  const data: Record<string, string> = cm?.data ?? {};
  const first = poolNodes[0];
  const labels: Record<string, string> = { ...(first.metadata?.labels ?? {}) };
  // Per-node and per-pool identity labels are not copied to the replacement.
  delete labels[POOL_LABEL];
  delete labels["kubernetes.io/hostname"];
  for (const n of poolNodes.slice(1)) {
    for (const [k, v] of Object.entries(labels)) if (n.metadata?.labels?.[k] !== v) delete labels[k];
  }
  const role = data.role ?? labels[ROLE_LABEL];
  if (!role) {
    throw new Error(
      `rehearsal: scenario ${source}: the nodes of pool ${poolName} carry no ${ROLE_LABEL} label ` +
        `(the engine finds replacement nodes by it): add ${ROLE_LABEL}: <role> to their labels`,
    );
  }
  labels[ROLE_LABEL] = role;
  const kubelet = String(first.status?.nodeInfo?.kubeletVersion ?? "").replace(/^v/, "");
  const fromVersion = data.fromVersion ?? (kubelet || "1.31.4-gke.1100");
  const toVersion = data.toVersion ?? nextPatch(fromVersion);
  const alloc = first.status?.allocatable ?? first.status?.capacity ?? {};
  let drainOptions: Record<string, unknown> = { deadlineMinutes: 1 };
  if (data.drainOptions !== undefined) {
    try {
      drainOptions = JSON.parse(data.drainOptions);
    } catch (e: any) {
      throw new Error(
        `rehearsal: scenario ${source}: ConfigMap kube-system/rehearsal key drainOptions is not JSON (${e.message}); ` +
          `write it like '{"deadlineMinutes": 1, "concurrency": 20}'`,
      );
    }
  }
  const todayStr = today.toISOString().slice(0, 10);
  return {
    source,
    text,
    oldPool: {
      name: poolName,
      nodes: poolNodes.length,
      labels,
      cpu: alloc.cpu !== undefined ? String(alloc.cpu) : undefined,
      memory: alloc.memory !== undefined ? String(alloc.memory) : undefined,
      pods: alloc.pods !== undefined ? Number(alloc.pods) : undefined,
    },
    role,
    env: data.env ?? labels.env,
    fromVersion,
    fromRotatedOn: data.fromRotatedOn ?? todayStr,
    toVersion,
    toRotatedOn: data.toRotatedOn ?? todayStr,
    drainOptions,
    pool: {
      machineType: data.machineType ?? labels["node.kubernetes.io/instance-type"],
      diskType: data.diskType,
      diskSizeGb: data.diskSizeGb !== undefined ? Number(data.diskSizeGb) : undefined,
      imageType: data.imageType,
      serviceAccount: data.serviceAccount,
      oauthScopes: data.oauthScopes ? data.oauthScopes.split(",").map((s) => s.trim()) : undefined,
      spot: data.spot !== undefined ? data.spot === "true" : undefined,
    },
  };
}

/** `1.31.4-gke.1100` → `1.31.5-gke.1100`; any other string gets `-next` (the naming function will reject it clearly). */
function nextPatch(v: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)(-gke\.\d+)$/.exec(v);
  return m ? `${m[1]}.${m[2]}.${+m[3] + 1}${m[4]}` : `${v}-next`;
}

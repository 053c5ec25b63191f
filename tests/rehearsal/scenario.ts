/**
 * Reading a rehearsal scenario: which pools are the old pools (one per role), which version bump to
 * rehearse for each, and with which drain options.
 *
 * A scenario is the simulator's multi-document YAML of ordinary manifests. Its old pools are the
 * pools of its `kind: NodePool` documents (the simulator's GKE pool stand-in: `nodes` per zone over
 * `zones`) and of its Node manifests (label `cloud.google.com/gke-nodepool`), whatever their names:
 * one pool per role (label `nodepool-rotation/role`). Every pool is rotated in the same update, as
 * `pulumi up` rotates every bumped role. An optional ConfigMap `rehearsal` in `kube-system` says
 * what is bumped (keys below; `<role>.<key>` overrides a key for one role); without it the versions
 * come from the nodes' kubelet version and the new version is the next patch.
 *
 * The pools' live shape (zones, nodes per zone, capacity, taints) is read from the cluster once the
 * simulator runs (run.ts), as GKE would report it; this module only reads the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { POOL_LABEL } from "./prober";

/** Label carrying a pool's stable role (set by VersionedNodePool, used by the engine to find replacement nodes). */
export const ROLE_LABEL = "nodepool-rotation/role";

/** The simulator's scenario-only kind declaring a GKE node pool (tests/simulator/scenario.ts). */
const NODE_POOL_KIND = "NodePool";

/** The scenario shipped with the rehearsal: one regional pool (role app) with the seeds' cases and spread workloads. */
export const DEFAULT_SCENARIO_FILE = path.join(__dirname, "default-scenario.yaml");

/** Two roles (app, batch) rotated in one update, their drains in parallel (`npm run rehearse -- --scenario …`). */
export const TWO_ROLES_SCENARIO_FILE = path.join(__dirname, "two-roles-scenario.yaml");

/** The two-role scenario's workload with a pod on each role's old pool and no PDB: only the implicit budget shared by the two drains protects it. */
export const SPANNING_WORKLOAD = "shop/Deployment/web-cache";

/** The keys of ConfigMap kube-system/rehearsal (each may be given per role as `<role>.<key>`). */
export const REHEARSAL_KEYS = [
  "env", "fromVersion", "fromRotatedOn", "toVersion", "toRotatedOn",
  "machineType", "diskType", "diskSizeGb", "imageType", "serviceAccount", "oauthScopes", "spot", "drainOptions",
] as const;

/** One role's rotation: its old pool and the bump. */
export interface RoleRotation {
  role: string;
  /** The old pool's name (the pool the scenario's nodes are in). */
  oldPool: string;
  /** Labels the scenario gives every node of the old pool (the replacement gets them too, except the pool's own name). */
  labels: Record<string, string>;
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

/** What a scenario says about the rotation to rehearse. */
export interface RehearsalScenario {
  /** Where it came from (path), for the report. */
  source: string;
  /** The YAML text handed to the simulator. */
  text: string;
  /** One rotation per role, sorted by role. */
  roles: RoleRotation[];
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

/** A pool as declared in the file: its name and the labels all its nodes are declared with. */
interface DeclaredPool {
  name: string;
  labels: Record<string, string>;
  machineType?: string;
  kubelet?: string;
}

/** Interprets scenario text (see {@link loadScenario}). */
export function parseScenario(text: string, source: string, today: Date = new Date()): RehearsalScenario {
  const objs: any[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    if (d.errors.length) throw new Error(`rehearsal: scenario ${source}: YAML document ${i + 1}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o) objs.push(o);
  });
  const pools = declaredPools(objs);
  if (pools.length === 0) {
    throw new Error(
      `rehearsal: scenario ${source} has no node pool: add a NodePool document (apiVersion simulator.nodepool-rotation.io/v1) ` +
        `or Node manifests labelled ${POOL_LABEL}=<pool>`,
    );
  }
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata?.name === "rehearsal" && o.metadata?.namespace === "kube-system");
  const data: Record<string, string> = Object.fromEntries(Object.entries(cm?.data ?? {}).map(([k, v]) => [k, String(v)]));
  if (data.role !== undefined && pools.length > 1) {
    throw new Error(
      `rehearsal: scenario ${source}: ConfigMap kube-system/rehearsal key role names one role but the scenario has ${pools.length} pools ` +
        `(${pools.map((p) => p.name).join(", ")}): remove it, each pool's role comes from its ${ROLE_LABEL} label`,
    );
  }
  const roles = pools.map((p) => roleRotation(p, data, source, today));
  const seen = new Map<string, string>();
  for (const r of roles) {
    const other = seen.get(r.role);
    if (other) {
      throw new Error(
        `rehearsal: scenario ${source}: pools ${other} and ${r.oldPool} both have role ${r.role}: ` +
          `a stack has one pool per role; give each pool its own ${ROLE_LABEL} label`,
      );
    }
    seen.set(r.role, r.oldPool);
  }
  return { source, text, roles: roles.sort((a, b) => a.role.localeCompare(b.role)) };
}

/** The pools the file declares: NodePool documents, and Node manifests grouped by their pool label. */
function declaredPools(objs: any[]): DeclaredPool[] {
  const out = new Map<string, DeclaredPool>();
  for (const o of objs.filter((o) => o.kind === NODE_POOL_KIND && o.metadata?.name)) {
    out.set(o.metadata.name, { name: o.metadata.name, labels: { ...(o.spec?.labels ?? {}) }, machineType: o.spec?.machineType });
  }
  const byPool = new Map<string, any[]>();
  for (const n of objs.filter((o) => o.kind === "Node")) {
    const pool = n.metadata?.labels?.[POOL_LABEL];
    if (pool) byPool.set(pool, [...(byPool.get(pool) ?? []), n]);
  }
  for (const [name, nodes] of byPool) {
    // The labels every node of the pool shares; per-node identity labels are not copied to the replacement.
    const labels: Record<string, string> = { ...(nodes[0].metadata?.labels ?? {}) };
    for (const n of nodes.slice(1)) for (const [k, v] of Object.entries(labels)) if (n.metadata?.labels?.[k] !== v) delete labels[k];
    const kubelet = String(nodes[0].status?.nodeInfo?.kubeletVersion ?? "").replace(/^v/, "") || undefined;
    out.set(name, { name, labels, machineType: labels["node.kubernetes.io/instance-type"], kubelet });
  }
  for (const p of out.values()) {
    for (const k of [POOL_LABEL, "kubernetes.io/hostname", "topology.kubernetes.io/zone"]) delete p.labels[k];
  }
  return [...out.values()];
}

/** One pool's rotation from its declaration and the ConfigMap's keys (`<role>.<key>` first). */
function roleRotation(p: DeclaredPool, data: Record<string, string>, source: string, today: Date): RoleRotation {
  const role = data.role ?? p.labels[ROLE_LABEL];
  if (!role) {
    throw new Error(
      `rehearsal: scenario ${source}: the nodes of pool ${p.name} carry no ${ROLE_LABEL} label ` +
        `(the engine finds replacement nodes by it): add ${ROLE_LABEL}: <role> to their labels`,
    );
  }
  const get = (key: (typeof REHEARSAL_KEYS)[number]): string | undefined => data[`${role}.${key}`] ?? data[key];
  const fromVersion = get("fromVersion") ?? p.kubelet ?? "1.34.4-gke.1047000";
  let drainOptions: Record<string, unknown> = { deadlineMinutes: 1 };
  const rawOptions = get("drainOptions");
  if (rawOptions !== undefined) {
    try {
      drainOptions = JSON.parse(rawOptions);
    } catch (e: any) {
      throw new Error(
        `rehearsal: scenario ${source}: ConfigMap kube-system/rehearsal key drainOptions is not JSON (${e.message}); ` +
          `write it like '{"deadlineMinutes": 1, "concurrency": 20}'`,
      );
    }
  }
  const todayStr = today.toISOString().slice(0, 10);
  const diskSizeGb = get("diskSizeGb");
  const oauthScopes = get("oauthScopes");
  const spot = get("spot");
  return {
    role,
    oldPool: p.name,
    labels: { ...p.labels, [ROLE_LABEL]: role },
    env: get("env") ?? p.labels.env,
    fromVersion,
    fromRotatedOn: get("fromRotatedOn") ?? todayStr,
    toVersion: get("toVersion") ?? nextPatch(fromVersion),
    toRotatedOn: get("toRotatedOn") ?? todayStr,
    drainOptions,
    pool: {
      machineType: get("machineType") ?? p.machineType,
      diskType: get("diskType"),
      diskSizeGb: diskSizeGb !== undefined ? Number(diskSizeGb) : undefined,
      imageType: get("imageType"),
      serviceAccount: get("serviceAccount"),
      oauthScopes: oauthScopes ? oauthScopes.split(",").map((s) => s.trim()) : undefined,
      spot: spot !== undefined ? spot === "true" : undefined,
    },
  };
}

/** `1.34.4-gke.1047000` → `1.34.5-gke.1047000`; any other string gets `-next` (the naming function will reject it clearly). */
function nextPatch(v: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)(-gke\.\d+)$/.exec(v);
  return m ? `${m[1]}.${m[2]}.${+m[3] + 1}${m[4]}` : `${v}-next`;
}

/**
 * Typed, validated stack configuration (`Pulumi.<stack>.yaml`).
 *
 * `validateStackConfig(raw)` is pure (no Pulumi needed): it takes the stack file's `config:` map
 * (values as parsed YAML, or as the JSON strings the Pulumi runtime hands out), checks the shape with
 * an ajv schema plus the semantic rules a schema cannot express, and either returns a typed
 * `StackConfig` with defaults applied or throws ONE `StackConfigError` listing every problem, each
 * naming the stack-file key, the bad value and the fix. `loadStackConfig()` does the same with the
 * running stack's config; index.ts calls it before registering any resource.
 */
import Ajv, { type ErrorObject } from "ajv";
import { DRAIN_SETTING_KEYS, checkDrainSettings, type DrainSettings } from "./rotation/settings";
import * as pulumi from "@pulumi/pulumi";
import { ENV_LABEL, GKE_POOL_NAME_REGEX, GKE_VERSION_REGEX, NS, ROLE_LABEL, ROLE_REGEX, ROLE_RULE, DATE_REGEX, isRealDate } from "./contracts";
import { checkVersionSkew, poolName, tryParseGkeVersion } from "./naming";

// Re-exported: older importers read these from config (one definition: contracts.ts).
export { ENV_LABEL, NS, ROLE_LABEL, isRealDate };


/** Kubernetes taint effects as GKE's API spells them. */
export type TaintEffect = "NO_SCHEDULE" | "PREFER_NO_SCHEDULE" | "NO_EXECUTE";

/** A Kubernetes taint on every node of the pool. */
export interface TaintConfig {
  key: string;
  value: string;
  effect: TaintEffect;
}

/** Release channels a cluster can be enrolled in (GKE API `ReleaseChannel.Channel`). */
export const RELEASE_CHANNELS = ["STABLE", "REGULAR", "RAPID", "EXTENDED"] as const;
/** A release channel, or `UNSPECIFIED` ("no channel": existing customers only, removed by GKE on 2027-06-14). */
export type ReleaseChannel = (typeof RELEASE_CHANNELS)[number] | "UNSPECIFIED";

/** The GKE cluster the pools belong to. */
export interface ClusterConfig {
  /** GKE cluster name. */
  name: string;
  /** Region (`asia-northeast1`, regional cluster) or zone (`asia-northeast1-a`). */
  location: string;
  /** Control-plane version (`minMasterVersion` when the cluster is created); pool versions are checked against it. */
  controlPlaneVersion: string;
  /** true: this stack creates the cluster; false: adopt an existing cluster by name (only pools are managed). */
  create: boolean;
  /**
   * Release channel. Created clusters: default REGULAR; UNSPECIFIED only as an explicit choice for an
   * existing no-channel cluster. Adopted clusters: leave unset (pools follow the live channel) or
   * name the live channel. The mode is decided in components/gke.ts (`preflight`).
   */
  releaseChannel?: ReleaseChannel;
  /** Warn in previews when a pool's version is this many days or fewer from its end of standard support. Default 30. */
  warnEndOfSupportDays?: number;
}

/** One node pool, identified by its stable `role`; its GKE name is derived (see naming.ts). */
export interface PoolConfig {
  /** Stable identity (`app`, `batch`): `[a-z][a-z0-9-]*`, <= 20 chars. Workloads select on the role label. */
  role: string;
  /** Exact GKE node version, e.g. `1.35.2-gke.1269000`. */
  version: string;
  /** Day of the rotation, `YYYY-MM-DD`; part of the pool name. */
  rotatedOn: string;
  /** Optional integer >= 1 in the name hash; `npm run bump` sets it to make a same-day rollback name unique. */
  revision?: number;
  machineType: string;
  diskType: string;
  diskSizeGb: number;
  imageType: string;
  /** Autoscaling bounds (per zone for regional clusters, as GKE defines them). */
  minNodes: number;
  maxNodes: number;
  /**
   * Floor of the size a new pool is created with (per zone), minNodes..maxNodes; default
   * max(minNodes, 1). A rotation creates the new pool with at least the LIVE per-zone size of the
   * pool it replaces (read from GKE at preview/up, clamped to maxNodes), so this only matters
   * when it is larger, or on the first `up` (nothing to read). See components/gke.ts `newPoolSize`.
   */
  initialNodes?: number;
  spot: boolean;
  /** Node service account email; undefined = the project's default compute service account. */
  serviceAccount?: string;
  oauthScopes: string[];
  /** Extra Kubernetes node labels (the role and env labels are added by VersionedNodePool). */
  labels: Record<string, string>;
  taints: TaintConfig[];
  /** Surge nodes during GKE-driven node updates (maxUnavailable is always 0). */
  maxSurge: number;
}

/**
 * Drain options (stack config `nodepool-rotation:drain`), handed to each pool's PoolDrainer: the
 * engine's drain settings (components/rotation/settings.ts, which documents each) plus `skip` and
 * `gkeRespectPdbOnDelete`. All optional; defaults are the engine's. Changing them updates the
 * drainers in place (never replaces them), so the next delete uses them.
 */
export interface DrainConfig extends DrainSettings {
  /**
   * Delete pools WITHOUT draining them: only for tearing an environment down (`pulumi up` with it
   * set updates the drainers in place, then `pulumi destroy --run-program` deletes pools as GKE
   * does, PDBs ignored; `pulumi preview` shows every drainer update). `--run-program` because each
   * pool carries the pool guard's beforeDelete hook (components/poolGuard.ts), and the engine
   * refuses a destroy of resources with delete hooks without it (pulumi/pulumi
   * pkg/engine/destroy.go). Never leave it on.
   */
  skip?: boolean;
  /**
   * Also ask GKE to honour PodDisruptionBudgets when it deletes the pool
   * (`nodeDrainConfig.respectPdbDuringNodePoolDeletion`, opt-in since 2026): a backstop behind this
   * tool's own drain, which normally leaves nothing for GKE to evict. Default false (not set).
   */
  gkeRespectPdbOnDelete?: boolean;
}

/** Promotion gate (behaviour: issue 7). */
export interface PromotionConfig {
  /** Name of the stack whose verified versions this stack may use (e.g. `staging`). */
  requireVerifiedIn: string;
}

/** The validated, defaulted stack configuration. */
export interface StackConfig {
  project: string;
  region: string;
  environment: string;
  cluster: ClusterConfig;
  pools: PoolConfig[];
  drain: DrainConfig;
  promotion?: PromotionConfig;
  /** role -> pool names this stack used before (maintained by `npm run bump`; informative only). */
  poolNameHistory: Record<string, string[]>;
}

/** Defaults applied to optional pool fields (part of the name hash after defaulting, so writing a default explicitly never renames). */
export const POOL_DEFAULTS = {
  diskType: "pd-balanced",
  diskSizeGb: 100,
  imageType: "COS_CONTAINERD",
  spot: false,
  oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
  labels: {} as Record<string, string>,
  taints: [] as TaintConfig[],
  maxSurge: 1,
} as const;

/**
 * Thrown by validateStackConfig: `problems` holds one line per problem; `message` lists them all.
 * A `pulumi.RunError`, so `pulumi up` prints the message without a stack trace.
 */
export class StackConfigError extends pulumi.RunError {
  constructor(public readonly problems: string[], stack?: string) {
    super(
      `Invalid stack configuration${stack ? ` (Pulumi.${stack}.yaml)` : ""}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "StackConfigError";
  }
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

const K = {
  project: "gcp:project",
  region: "gcp:region",
  environment: `${NS}:environment`,
  cluster: `${NS}:cluster`,
  pools: `${NS}:pools`,
  drain: `${NS}:drain`,
  promotion: `${NS}:promotion`,
  poolNameHistory: `${NS}:poolNameHistory`,
} as const;

const ROLE_PATTERN = ROLE_REGEX.source;
const DATE_PATTERN = DATE_REGEX.source;
const LOCATION_PATTERN = "^[a-z]+-[a-z]+[0-9]+(-[a-z])?$";

const taintSchema = {
  type: "object",
  additionalProperties: false,
  required: ["key", "value", "effect"],
  properties: {
    key: { type: "string", pattern: "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" },
    value: { type: "string", pattern: "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$" },
    effect: { enum: ["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"] },
  },
};

const poolSchema = {
  type: "object",
  additionalProperties: false,
  required: ["role", "version", "rotatedOn", "machineType", "minNodes", "maxNodes"],
  properties: {
    role: { type: "string", pattern: ROLE_PATTERN },
    version: { type: "string", pattern: GKE_VERSION_REGEX.source },
    rotatedOn: { type: "string", pattern: DATE_PATTERN },
    revision: { type: "integer", minimum: 1 },
    machineType: { type: "string", pattern: "^[a-z][a-z0-9]*(-[a-z0-9]+)+$" },
    diskType: { enum: ["pd-standard", "pd-balanced", "pd-ssd", "hyperdisk-balanced"] },
    diskSizeGb: { type: "integer", minimum: 10, maximum: 65536 },
    imageType: { enum: ["COS_CONTAINERD", "UBUNTU_CONTAINERD"] },
    minNodes: { type: "integer", minimum: 0, maximum: 1000 },
    maxNodes: { type: "integer", minimum: 1, maximum: 1000 },
    initialNodes: { type: "integer", minimum: 1, maximum: 1000 },
    spot: { type: "boolean" },
    serviceAccount: { type: "string", pattern: "^(default|[a-z0-9][a-z0-9-]*@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.gserviceaccount\\.com)$" },
    oauthScopes: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", pattern: "^https://www\\.googleapis\\.com/auth/[a-z0-9._-]+$" },
    },
    labels: {
      type: "object",
      propertyNames: { pattern: "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" },
      additionalProperties: { type: "string", pattern: "^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$" },
    },
    taints: { type: "array", items: taintSchema },
    maxSurge: { type: "integer", minimum: 1, maximum: 100 },
  },
};

const stackSchema = {
  type: "object",
  required: [K.project, K.region, K.environment, K.cluster, K.pools],
  properties: {
    [K.project]: { type: "string", pattern: "^[a-z][a-z0-9-]{4,28}[a-z0-9]$" },
    [K.region]: { type: "string", pattern: "^[a-z]+-[a-z]+[0-9]+$" },
    [K.environment]: { type: "string", pattern: "^[a-z][a-z0-9-]{0,29}$" },
    [K.cluster]: {
      type: "object",
      additionalProperties: false,
      required: ["name", "location", "controlPlaneVersion"],
      properties: {
        name: { type: "string", pattern: GKE_POOL_NAME_REGEX.source }, // GKE cluster names follow the pool-name rule
        location: { type: "string", pattern: LOCATION_PATTERN },
        controlPlaneVersion: { type: "string", pattern: GKE_VERSION_REGEX.source },
        create: { type: "boolean" },
        releaseChannel: { enum: [...RELEASE_CHANNELS, "UNSPECIFIED"] },
        warnEndOfSupportDays: { type: "integer", minimum: 0, maximum: 365 },
      },
    },
    [K.pools]: { type: "array", minItems: 1, items: poolSchema },
    [K.drain]: {
      type: "object",
      additionalProperties: false,
      // The drain settings' rules live in one place (rotation/settings.ts checkDrainSettings, below in
      // validateStackConfig); the schema only names the keys, for "not a known key — did you mean".
      properties: {
        ...Object.fromEntries(DRAIN_SETTING_KEYS.map((k) => [k, {}])),
        gkeRespectPdbOnDelete: { type: "boolean" },
      },
    },
    [K.promotion]: {
      type: "object",
      additionalProperties: false,
      required: ["requireVerifiedIn"],
      properties: { requireVerifiedIn: { type: "string", pattern: "^[A-Za-z0-9_.-]+$" } },
    },
    [K.poolNameHistory]: {
      type: "object",
      propertyNames: { pattern: ROLE_PATTERN },
      additionalProperties: { type: "array", items: { type: "string", pattern: GKE_POOL_NAME_REGEX.source } },
    },
  },
};

/** What each field should look like, used in "fix" hints (keyed by the last path segment). */
const HINTS: Record<string, string> = {
  [K.project]: "a GCP project id, e.g. acme-game-staging",
  [K.region]: "a GCP region, e.g. asia-northeast1",
  [K.environment]: "lowercase letters, digits and dashes, starting with a letter, <= 30 chars, e.g. staging",
  [K.cluster]: "an object with name, location, controlPlaneVersion, create, releaseChannel and warnEndOfSupportDays",
  [K.pools]: "a non-empty list of pools (role, version, rotatedOn, machineType, minNodes, maxNodes, ...)",
  [K.drain]: "an object with optional deadlineMinutes, concurrency, batch, batchSoakSeconds, soakSeconds, waitForReady, deleteEmptyDirData, skip, gkeRespectPdbOnDelete, defaultBudget",
  [K.promotion]: "an object like { requireVerifiedIn: staging }",
  [K.poolNameHistory]: "a map role -> list of pool names (maintained by npm run bump)",
  name: "a GKE cluster name: lowercase letters, digits and dashes, starting with a letter, <= 40 chars, e.g. game-staging",
  location: "a region (asia-northeast1) or zone (asia-northeast1-a)",
  controlPlaneVersion: "an exact GKE version, e.g. 1.35.2-gke.1269000",
  create: "true (this stack creates the cluster) or false (adopt an existing one by name)",
  releaseChannel: "STABLE, REGULAR, RAPID or EXTENDED (UNSPECIFIED only for an existing no-channel cluster)",
  warnEndOfSupportDays: "an integer number of days 0..365, e.g. 30",
  role: ROLE_RULE,
  version: "an exact GKE version MAJOR.MINOR.PATCH-gke.BUILD, e.g. 1.35.2-gke.1269000 (quote it if YAML mangles it)",
  rotatedOn: 'a quoted date "YYYY-MM-DD", e.g. "2026-11-20"',
  revision: "an integer >= 1 (set by npm run bump for a same-day rollback), or remove the key",
  machineType: "a GCE machine type, e.g. e2-standard-4",
  diskType: "one of pd-standard, pd-balanced, pd-ssd, hyperdisk-balanced",
  diskSizeGb: "an integer number of GB, 10..65536, e.g. 100",
  imageType: "COS_CONTAINERD or UBUNTU_CONTAINERD",
  minNodes: "an integer 0..1000, <= maxNodes",
  maxNodes: "an integer 1..1000, >= minNodes",
  initialNodes: "an integer 1..1000 between minNodes and maxNodes (the least a new pool is created with), or remove the key",
  spot: "true or false",
  serviceAccount: "a service account email, e.g. gke-nodes@my-project.iam.gserviceaccount.com",
  oauthScopes: "a non-empty list of scope URLs, e.g. [https://www.googleapis.com/auth/cloud-platform]",
  labels: "a map of Kubernetes label keys to string values, e.g. { team: game }",
  taints: "a list of { key, value, effect } with effect NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE",
  key: "a Kubernetes label-style key, e.g. dedicated",
  value: "a Kubernetes label-style value (letters, digits, - _ .; <= 63 chars), e.g. batch",
  effect: "NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE",
  maxSurge: "an integer >= 1, e.g. 1",
  gkeRespectPdbOnDelete: "true or false",
  requireVerifiedIn: "a stack name, e.g. staging",
};

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
const validateShape = ajv.compile(stackSchema);

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/** JSON pointer `/nodepool-rotation:pools/1/version` → stack-file key `nodepool-rotation:pools[1].version`. */
function keyOf(instancePath: string, child?: string): string {
  const segs = instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (child !== undefined) segs.push(child);
  let out = "";
  for (const s of segs) {
    if (out === "") out = s;
    else if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += `.${s}`;
    else out += `["${s}"]`;
  }
  return out;
}

function lastField(key: string): string {
  if (!key.includes(".") && !key.includes("[")) return key;
  const m = /(?:\.([A-Za-z_][A-Za-z0-9_]*)|\["([^"]*)"\]|\[(\d+)\])$/.exec(key);
  if (!m) return key;
  if (m[3] !== undefined) return lastField(key.slice(0, key.length - m[0].length)); // list item: hint of the list
  return m[1] ?? m[2];
}

function show(v: unknown): string {
  if (v === undefined) return "(missing)";
  const s = JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function hintFor(key: string): string {
  return HINTS[lastField(key)] ?? "see the config reference in docs/program.md";
}

/** Closest candidate by edit distance (for "did you mean"), or undefined if nothing is close. */
function closest(word: string, candidates: string[]): string | undefined {
  const d = (a: string, b: string): number => {
    const m = a.length, n = b.length;
    const row = Array.from({ length: n + 1 }, (_, j) => j);
    for (let i = 1; i <= m; i++) {
      let prev = row[0]++;
      for (let j = 1; j <= n; j++) {
        const cur = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        prev = cur;
      }
    }
    return row[n];
  };
  const prefix = candidates.find((c) => c.toLowerCase().startsWith(word.toLowerCase()) || word.toLowerCase().startsWith(c.toLowerCase()));
  if (prefix) return prefix;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = d(word, c);
    if (dist < bestD) [best, bestD] = [c, dist];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function valueAt(root: unknown, instancePath: string): unknown {
  let cur: unknown = root;
  for (const seg of instancePath.split("/").slice(1)) {
    if (cur == null) return undefined;
    cur = (cur as Record<string, unknown>)[seg.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return cur;
}

/** Turn one ajv error into "key = value: what is wrong — fix". Returns undefined for errors subsumed by others. */
function describe(e: ErrorObject, root: unknown): string | undefined {
  const key = keyOf(e.instancePath);
  const value = valueAt(root, e.instancePath);
  switch (e.keyword) {
    case "required": {
      const missing = keyOf(e.instancePath, (e.params as { missingProperty: string }).missingProperty);
      return `${missing} is missing — add it: ${hintFor(missing)}`;
    }
    case "additionalProperties": {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys(e.parentSchema?.properties ?? {});
      const guess = closest(extra, allowed);
      return `${keyOf(e.instancePath, extra)} is not a known key — ${guess ? `did you mean ${guess}? ` : ""}remove it or use one of: ${allowed.join(", ")}`;
    }
    case "type": {
      const t = (e.params as { type: string }).type;
      const what = t === "integer" ? "a whole number" : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
      return `${key} = ${show(value)}: must be ${what} — use ${hintFor(key)}`;
    }
    case "enum":
      return `${key} = ${show(value)}: not allowed — use ${hintFor(key)}`;
    case "propertyNames":
      return undefined; // reported by the nested "pattern" error on the name itself
    case "pattern":
      if (e.propertyName !== undefined) {
        const bad = e.propertyName;
        return `${keyOf(e.instancePath)} has an invalid key ${show(bad)} — use ${hintFor(key)}`;
      }
      return `${key} = ${show(value)}: wrong format — use ${hintFor(key)}`;
    case "minimum":
    case "maximum":
      return `${key} = ${show(value)}: must be ${e.keyword === "minimum" ? ">=" : "<="} ${(e.params as { limit: number }).limit} — use ${hintFor(key)}`;
    case "minItems":
      return `${key} is empty — use ${hintFor(key)}`;
    case "uniqueItems":
      return `${key} = ${show(value)}: has duplicates — list each entry once`;
    case "anyOf":
      return `${key} = ${show(value)}: wrong type or format — use ${hintFor(key)}`;
    default:
      return `${key} = ${show(value)}: ${e.message ?? "invalid"} — use ${hintFor(key)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** Keys whose values are objects/lists: the Pulumi runtime hands them out as JSON strings. */
const STRUCTURED_KEYS = new Set<string>([K.cluster, K.pools, K.drain, K.promotion, K.poolNameHistory]);

/**
 * Bring raw values to plain JSON: parse JSON strings of structured keys, and turn YAML/Go
 * timestamps of `rotatedOn` (`2026-11-20T00:00:00Z`, Date objects) back into `YYYY-MM-DD`.
 */
function normalize(raw: Record<string, unknown>, problems: string[], reported: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (STRUCTURED_KEYS.has(k) && typeof v === "string") {
      try {
        out[k] = JSON.parse(v);
      } catch {
        problems.push(`${k} = ${show(v)}: must be ${hintFor(k)} — write it as a YAML mapping/list, not a string`);
        reported.add(k);
        continue;
      }
    } else {
      out[k] = v instanceof Date ? v.toISOString().slice(0, 10) : v;
    }
  }
  const pools = out[K.pools];
  if (Array.isArray(pools)) {
    out[K.pools] = pools.map((p) => {
      if (!p || typeof p !== "object" || Array.isArray(p)) return p;
      const r = (p as Record<string, unknown>).rotatedOn;
      if (r instanceof Date) return { ...p, rotatedOn: r.toISOString().slice(0, 10) };
      if (typeof r === "string" && /^\d{4}-\d{2}-\d{2}T00:00:00(\.0+)?Z$/.test(r)) return { ...p, rotatedOn: r.slice(0, 10) };
      return p;
    });
  }
  return out;
}

/** Options for validateStackConfig. */
export interface ValidateOptions {
  /** Stack name (for messages, and to reject `promotion.requireVerifiedIn` naming the stack itself). */
  stack?: string;
}

/**
 * Validate a stack's raw config map (keys like `nodepool-rotation:pools`) and return the typed
 * config with defaults applied. Throws ONE `StackConfigError` listing every problem. Keys of other
 * namespaces (`gcp:zone`, `kubernetes:*`, ...) are ignored; unknown `nodepool-rotation:*` keys are errors.
 * Pure: no Pulumi runtime, no clock, no network.
 */
export function validateStackConfig(raw: Record<string, unknown>, opts: ValidateOptions = {}): StackConfig {
  const problems: string[] = [];
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new StackConfigError([`the config map must be an object of "namespace:key" entries, got ${show(raw)}`], opts.stack);
  }
  const reported = new Set<string>(); // top-level keys already explained (no schema noise about them)
  const cfg = normalize(raw, problems, reported);

  // Unknown keys in our namespace are typos until proven otherwise.
  const ours = Object.values(K).filter((k) => k.startsWith(`${NS}:`));
  for (const k of Object.keys(cfg)) {
    if (k.startsWith(`${NS}:`) && !(ours as string[]).includes(k)) {
      const guess = closest(k, ours);
      problems.push(`${k} is not a known key — ${guess ? `did you mean ${guess}? ` : ""}remove it or use one of: ${ours.join(", ")}`);
    }
  }

  if (!validateShape(cfg)) {
    const seen = new Set<string>();
    for (const e of validateShape.errors ?? []) {
      // anyOf branches each report their own failure; the anyOf error itself says it once.
      if (/\/anyOf\/\d+\//.test(e.schemaPath)) continue;
      const top = e.keyword === "required" && e.instancePath === "" ? (e.params as { missingProperty: string }).missingProperty : keyOf(e.instancePath).split(/[.[]/)[0];
      if (reported.has(top)) continue;
      const msg = describe(e, cfg);
      if (msg && !seen.has(msg)) {
        seen.add(msg);
        problems.push(msg);
      }
    }
  }

  // Semantic checks, on whatever parts have the right shape.
  const cluster = cfg[K.cluster] as Partial<ClusterConfig> | undefined;
  const cpVersion = tryParseGkeVersion(cluster?.controlPlaneVersion);
  const pools = Array.isArray(cfg[K.pools]) ? (cfg[K.pools] as Record<string, unknown>[]) : [];
  const rolesSeen = new Map<string, number>();
  pools.forEach((p, i) => {
    if (!p || typeof p !== "object") return;
    const at = `${K.pools}[${i}]`;
    if (typeof p.rotatedOn === "string" && new RegExp(DATE_PATTERN).test(p.rotatedOn) && !isRealDate(p.rotatedOn)) {
      problems.push(`${at}.rotatedOn = ${show(p.rotatedOn)}: no such day — use a real date "YYYY-MM-DD", e.g. "2026-11-20"`);
    }
    if (Number.isInteger(p.minNodes) && Number.isInteger(p.maxNodes) && (p.minNodes as number) > (p.maxNodes as number)) {
      problems.push(`${at}.minNodes = ${p.minNodes} is greater than maxNodes = ${p.maxNodes} — make minNodes <= maxNodes`);
    }
    if (Number.isInteger(p.initialNodes) && (p.initialNodes as number) >= 1 && Number.isInteger(p.minNodes) && Number.isInteger(p.maxNodes)
        && ((p.initialNodes as number) < (p.minNodes as number) || (p.initialNodes as number) > (p.maxNodes as number))) {
      problems.push(`${at}.initialNodes = ${p.initialNodes} is outside minNodes..maxNodes (${p.minNodes}..${p.maxNodes}) — pick a size in that range`);
    }
    if (typeof p.role === "string") {
      const first = rolesSeen.get(p.role);
      if (first !== undefined) {
        problems.push(`${at}.role = ${show(p.role)}: duplicate of ${K.pools}[${first}].role — each pool needs its own role`);
      } else rolesSeen.set(p.role, i);
    }
    const nodeVersion = tryParseGkeVersion(p.version);
    if (nodeVersion && cpVersion) {
      const skew = checkVersionSkew(cpVersion, nodeVersion);
      if (skew) problems.push(`${at}.version = ${show(p.version)}: ${skew} — use a version between ${cpVersion.major}.${Math.max(cpVersion.minor - 2, 0)}.x and ${cpVersion.raw}, or upgrade ${K.cluster}.controlPlaneVersion first`);
    }
    if (p.labels && typeof p.labels === "object" && !Array.isArray(p.labels)) {
      for (const reserved of [ROLE_LABEL, ENV_LABEL]) {
        if (reserved in (p.labels as object)) {
          problems.push(`${at}.labels["${reserved}"] is set by nodepool-rotation itself — remove it (the role and environment come from role and ${K.environment})`);
        }
      }
    }
  });

  const promotion = cfg[K.promotion] as Partial<PromotionConfig> | undefined;
  if (opts.stack && promotion?.requireVerifiedIn === opts.stack) {
    problems.push(`${K.promotion}.requireVerifiedIn = ${show(opts.stack)}: a stack cannot gate on itself — name the stack that is rotated first, e.g. staging`);
  }

  const drainCfg = cfg[K.drain];
  if (drainCfg && typeof drainCfg === "object" && !Array.isArray(drainCfg)) {
    // The same rules and words as the PoolDrainer and its override (rotation/settings.ts); unknown keys are the schema's.
    for (const p of checkDrainSettings(drainCfg, { reportUnknown: false })) problems.push(`${K.drain}.${p.field}: ${p.reason}`);
  }

  if (problems.length > 0) throw new StackConfigError(problems, opts.stack);

  // Shape is valid: build the typed config with defaults.
  const environment = cfg[K.environment] as string;
  const typedPools: PoolConfig[] = pools.map((p) => {
    const pool = { ...POOL_DEFAULTS, ...p } as unknown as PoolConfig;
    return {
      ...pool,
      oauthScopes: [...pool.oauthScopes],
      labels: { ...pool.labels },
      taints: pool.taints.map((t) => ({ ...t })),
    };
  });

  // Names: must be computable and distinct (a hash collision or truncation clash would make GKE reject the second pool).
  const names = new Map<string, number>();
  typedPools.forEach((p, i) => {
    try {
      const n = poolName(p, environment);
      const first = names.get(n);
      if (first !== undefined) problems.push(`${K.pools}[${i}]: pool name ${n} collides with ${K.pools}[${first}] — change the role or set revision`);
      else names.set(n, i);
    } catch (err) {
      problems.push(`${K.pools}[${i}]: ${(err as Error).message} — check that ${K.pools}[${i}].version is a real GKE version`);
    }
  });
  if (problems.length > 0) throw new StackConfigError(problems, opts.stack);

  return {
    project: cfg[K.project] as string,
    region: cfg[K.region] as string,
    environment,
    cluster: { ...(cluster as ClusterConfig), create: cluster?.create ?? true },
    pools: typedPools,
    drain: { ...((cfg[K.drain] as DrainConfig | undefined) ?? {}) },
    promotion: promotion ? { requireVerifiedIn: promotion.requireVerifiedIn as string } : undefined,
    poolNameHistory: (cfg[K.poolNameHistory] as Record<string, string[]> | undefined) ?? {},
  };
}

/**
 * Read and validate the running stack's configuration (all `namespace:key` entries of
 * `pulumi.runtime.allConfig()`). Throws `StackConfigError` before anything is registered.
 */
export function loadStackConfig(): StackConfig {
  return validateStackConfig(pulumi.runtime.allConfig(), { stack: pulumi.getStack() });
}

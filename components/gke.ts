/**
 * What GKE says right now, read at program time (preview and up) through @pulumi/gcp invokes, and
 * the decisions that depend on it. One place decides:
 *  - the release-channel mode of the pools and how node versions are held (`upgradePolicy`);
 *  - the size a new pool is created with (`newPoolSize`);
 *  - the preview checks that must pass before anything changes (`preflight`).
 *
 * Reads: `gcp.container.getCluster` (live control-plane version, channel, node pools with their
 * version, per-zone node count and end-of-support exclusion) and `gcp.container.getEngineVersions`
 * (versions GKE offers for nodes in the cluster's location). The pure functions take those results
 * and the validated config; nothing here reads the clock except `preflight`'s end-of-support warning,
 * which is a message, never a resource input.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ENV_LABEL, NS, PoolConfig, ROLE_LABEL, ReleaseChannel, StackConfig } from "./config";
import { checkVersionSkew, compareGkeVersions, poolName, tryParseGkeVersion } from "./naming";

export { RELEASE_CHANNELS } from "./config";
export type { ReleaseChannel } from "./config";
/** Channel a cluster created by this program is enrolled in when the stack does not say. */
export const DEFAULT_RELEASE_CHANNEL: ReleaseChannel = "REGULAR";
/**
 * Day GKE removes "no channel": remaining clusters are enrolled in Stable (GKE release notes for
 * no-channel clusters; https://cloud.google.com/kubernetes-engine/docs/concepts/release-channels).
 */
export const NO_CHANNEL_REMOVAL_DATE = "2027-06-14";
/** Default of `cluster.warnEndOfSupportDays`. */
export const DEFAULT_WARN_END_OF_SUPPORT_DAYS = 30;
/** Name of the cluster maintenance exclusion this program owns. */
export const EXCLUSION_NAME = "nodepool-rotation-hold-versions";
/**
 * Start of that exclusion: a constant, so the cluster's inputs never depend on the clock (a preview
 * right after an up shows no diff). Its end is GKE's: `endTimeBehavior: UNTIL_END_OF_SUPPORT`.
 */
export const EXCLUSION_START = "2026-01-01T00:00:00Z";

/** A node pool as GKE reports it (subset of `getCluster().nodePools[]`). */
export interface LivePool {
  name: string;
  version: string;
  /** Per-zone node count: terraform-provider-google `flattenNodePool` averages the target size of the pool's instance groups (one per zone). */
  nodeCount: number;
  /** The count the pool was created with, as GKE reports it (per zone). */
  initialNodeCount: number;
  /** `nodepool-rotation/role` node label, when the pool was made by this program. */
  role?: string;
  /** `env` node label. */
  env?: string;
  /** End of the pool's `exclusionUntilEndOfSupport` = its version's end of support (RFC 3339), when GKE reports one. */
  endOfSupport?: string;
}

/** A GKE cluster as it is now. */
export interface LiveCluster {
  /** Current control-plane version. */
  masterVersion?: string;
  /** Control-plane endpoint and CA (what an adopted cluster's kubeconfig is built from). */
  endpoint?: string;
  caCertificate?: string;
  channel: ReleaseChannel;
  pools: LivePool[];
}

/** Raw `getCluster` result fields this module reads (all optional: GKE omits empty blocks). */
type RawCluster = Partial<Pick<gcp.container.GetClusterResult, "masterVersion" | "releaseChannels" | "nodePools" | "endpoint" | "masterAuths">>;

/** The subset of a `getCluster` result the program uses. Absent blocks mean what the provider means by them: no channel block = UNSPECIFIED, no pools. */
export function toLiveCluster(raw: RawCluster): LiveCluster {
  const channel = (raw.releaseChannels?.[0]?.channel || "UNSPECIFIED") as ReleaseChannel;
  return {
    masterVersion: raw.masterVersion || undefined,
    endpoint: raw.endpoint || undefined,
    caCertificate: raw.masterAuths?.[0]?.clusterCaCertificate || undefined,
    channel,
    pools: (raw.nodePools ?? []).map((p) => {
      const labels = p.nodeConfigs?.[0]?.labels ?? {};
      const eos = p.maintenancePolicies?.[0]?.exclusionUntilEndOfSupports?.find((e) => e.enabled);
      return {
        name: p.name,
        version: p.version,
        nodeCount: p.nodeCount ?? 0,
        initialNodeCount: p.initialNodeCount ?? 0,
        role: labels[ROLE_LABEL],
        env: labels[ENV_LABEL],
        endOfSupport: eos?.endTime || undefined,
      };
    }),
  };
}

/**
 * Read the cluster. `undefined` when it does not exist yet — only allowed for a cluster this stack
 * creates (the first `up` of a new stack); an adopted cluster must exist. Any other failure
 * (permissions, network) is thrown: sizing a new pool from nothing would be a silent downgrade.
 * terraform-provider-google `data_source_google_container_cluster.go` answers a missing cluster
 * with "<projects/P/locations/L/clusters/N> not found".
 */
export async function readLiveCluster(args: { project: string; location: string; name: string }, mustExist: boolean): Promise<LiveCluster | undefined> {
  try {
    return toLiveCluster(await gcp.container.getCluster(args));
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (!/clusters\/[^ ]+ not found/i.test(message)) throw err;
    if (!mustExist) return undefined;
    throw new pulumi.RunError(
      `${NS}:cluster: cluster "${args.name}" does not exist in ${args.project}/${args.location} (create: false adopts an existing cluster) — ` +
        `fix ${NS}:cluster.name/location, or set ${NS}:cluster.create: true to create it`,
    );
  }
}

/** Node versions GKE offers in `location` now (`getEngineVersions().validNodeVersions`). undefined when GKE answered without a list. */
export async function readOfferedNodeVersions(args: { project: string; location: string }): Promise<string[] | undefined> {
  const r = await gcp.container.getEngineVersions(args);
  return Array.isArray(r.validNodeVersions) ? r.validNodeVersions : undefined;
}

/**
 * How node versions are held where Pulumi put them, per channel mode.
 * - No channel: node auto-upgrade off.
 * - In a channel auto-upgrade cannot be off (the API answers "Auto_upgrade cannot be false when
 *   release_channel REGULAR is set"): auto-upgrade on, held by the cluster exclusion
 *   NO_MINOR_OR_NODE_UPGRADES until end of support plus the pool's own `exclusionUntilEndOfSupport`
 *   (https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions).
 *   At end of support GKE upgrades the nodes anyway: `preflight` reports that drift.
 */
export interface UpgradePolicy {
  cluster: {
    releaseChannel: { channel: ReleaseChannel };
    maintenancePolicy?: {
      maintenanceExclusions: { exclusionName: string; startTime: string; exclusionOptions: { scope: string; endTimeBehavior: string } }[];
    };
  };
  pool: {
    management: { autoUpgrade: boolean; autoRepair: boolean };
    maintenancePolicies?: { exclusionUntilEndOfSupports: { enabled: boolean }[] }[];
  };
}

/** The cluster and pool settings for `channel` (deterministic: no clock). */
export function upgradePolicy(channel: ReleaseChannel): UpgradePolicy {
  if (channel === "UNSPECIFIED") {
    return {
      cluster: { releaseChannel: { channel } },
      pool: { management: { autoUpgrade: false, autoRepair: true } },
    };
  }
  return {
    cluster: {
      releaseChannel: { channel },
      maintenancePolicy: {
        maintenanceExclusions: [
          {
            exclusionName: EXCLUSION_NAME,
            startTime: EXCLUSION_START,
            exclusionOptions: { scope: "NO_MINOR_OR_NODE_UPGRADES", endTimeBehavior: "UNTIL_END_OF_SUPPORT" },
          },
        ],
      },
    },
    pool: {
      management: { autoUpgrade: true, autoRepair: true },
      maintenancePolicies: [{ exclusionUntilEndOfSupports: [{ enabled: true }] }],
    },
  };
}

/** The pools this stack made for `role` that GKE runs now (matched on the role and env node labels). */
export function livePoolsOfRole(live: LiveCluster | undefined, role: string, environment: string): LivePool[] {
  return (live?.pools ?? []).filter((p) => p.role === role && (p.env === undefined || p.env === environment));
}

/** A new pool's size and why. */
export interface PoolSize {
  /** `initialNodeCount` to send to GKE (per zone). */
  count: number;
  /** One line for the preview when the size is not simply the floor. */
  note?: string;
}

/**
 * `initialNodeCount` of the pool named `name` for `pool`.
 *
 * - The pool exists under that name: the count GKE reports it was created with. Equal to the input
 *   in the stack's state, so nothing changes (initialNodeCount is ForceNew: a different value would
 *   be a same-name replace, which GKE answers with 409).
 * - Otherwise (a rotation): at least the LIVE per-zone size of the role's current pool, so what the
 *   drain moves fits at once, as GKE blue-green, EKS, Cluster API and AKS size the new pool; never
 *   below `initialNodes` (default max(minNodes, 1)), clamped to `maxNodes`.
 *
 * The count is NOT in `ignoreChanges`: the engine replaces an ignored input with the OLD input of the
 * same URN also when it replaces the resource (pulumi/pulumi pkg/resource/deploy/step_generator.go,
 * `processIgnoreChanges`; pulumi/pulumi#2657), so every new pool would start at the first pool's size.
 */
export function newPoolSize(pool: PoolConfig, name: string, environment: string, live: LiveCluster | undefined): PoolSize {
  const same = live?.pools.find((p) => p.name === name);
  if (same) return { count: same.initialNodeCount };
  const floor = pool.initialNodes ?? Math.max(pool.minNodes, 1);
  const current = livePoolsOfRole(live, pool.role, environment);
  if (current.length === 0) return { count: floor };
  const liveSize = Math.max(...current.map((p) => p.nodeCount));
  const count = Math.min(Math.max(liveSize, floor), pool.maxNodes);
  const from = current.map((p) => `${p.name} (${p.nodeCount}/zone)`).join(", ");
  if (liveSize <= floor) return { count };
  const note =
    liveSize > pool.maxNodes
      ? `pool "${pool.role}": new pool ${name} created with ${count} nodes per zone (maxNodes), below the ${liveSize} of ${from} — raise maxNodes if the drain must move more`
      : `pool "${pool.role}": new pool ${name} created with ${count} nodes per zone, sized from ${from}`;
  return { count, note };
}

/** Everything the checks look at. */
export interface PreflightInput {
  config: StackConfig;
  /** The cluster now; undefined before the first `up` of a stack that creates it. */
  live: LiveCluster | undefined;
  /** `validNodeVersions` of the cluster's location; undefined when GKE gave no list (the check is skipped with a warning). */
  offered: string[] | undefined;
  /** Stack name, for the suggested commands. */
  stack: string;
  /** Clock for the end-of-support warning only. */
  now?: Date;
}

/** Result of the checks. `errors` non-empty = nothing may change. */
export interface Preflight {
  /** The cluster as read (undefined before the first `up` of a stack that creates it). */
  live: LiveCluster | undefined;
  /** Channel mode of the pools (config for a created cluster, the live cluster's for an adopted one). */
  channel: ReleaseChannel;
  errors: string[];
  warnings: string[];
  /** initialNodeCount per role. */
  sizes: Record<string, PoolSize>;
}

/** Thrown when a preview check fails: one line per problem, each naming the pool, the version and the fix. */
export class PreflightError extends pulumi.RunError {
  constructor(public readonly problems: string[]) {
    super(`GKE preflight refused (nothing was changed): ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "PreflightError";
  }
}

const DAY_MS = 24 * 3600 * 1000;

/** The channel mode of the pools, or an error line when config and the live cluster disagree. */
function channelOf(config: StackConfig, live: LiveCluster | undefined): { channel: ReleaseChannel; error?: string } {
  const configured = config.cluster.releaseChannel;
  if (!config.cluster.create) {
    const actual = live?.channel ?? "UNSPECIFIED";
    if (configured !== undefined && configured !== actual) {
      return {
        channel: actual,
        error: `${NS}:cluster.releaseChannel = ${configured}, but the adopted cluster "${config.cluster.name}" is in ${actual} — remove the key (pools follow the adopted cluster's channel) or set it to ${actual}`,
      };
    }
    return { channel: actual };
  }
  const channel = configured ?? DEFAULT_RELEASE_CHANNEL;
  if (channel === "UNSPECIFIED" && live && live.channel !== "UNSPECIFIED") {
    return {
      channel,
      error: `${NS}:cluster.releaseChannel = UNSPECIFIED, but cluster "${config.cluster.name}" is in ${live.channel} now (GKE cannot move a cluster back to no channel) — set releaseChannel: ${live.channel}`,
    };
  }
  return { channel };
}

/**
 * The checks `pulumi preview` runs before anything changes, from config and what GKE reports:
 * the pool's version is offered in the location (pools about to be created); not newer than the
 * live control plane (created clusters: whichever is newer, live or `controlPlaneVersion`, as the
 * cluster is updated before its pools); a pool whose live version differs from its config is
 * reported with the command that adopts the live version instead of letting `up` try a downgrade.
 * Warnings: no channel (removal date), end of standard support within `warnEndOfSupportDays`
 * (from the pool's end-of-support exclusion, the only place @pulumi/gcp reports that date).
 */
export function preflight(input: PreflightInput): Preflight {
  const { config, live, offered, stack } = input;
  const errors: string[] = [];
  const warnings: string[] = [];
  const { channel, error } = channelOf(config, live);
  if (error) errors.push(error);
  if (channel === "UNSPECIFIED") {
    warnings.push(
      `cluster "${config.cluster.name}" has no release channel: GKE removes "no channel" on ${NO_CHANNEL_REMOVAL_DATE} and enrolls remaining clusters in STABLE — ` +
        `set ${NS}:cluster.releaseChannel to STABLE, REGULAR, RAPID or EXTENDED before then (pools then keep their versions through end-of-support exclusions)`,
    );
  }

  const cpCandidates = [live?.masterVersion, config.cluster.create ? config.cluster.controlPlaneVersion : undefined]
    .map(tryParseGkeVersion)
    .filter((v): v is NonNullable<typeof v> => v !== undefined)
    .sort(compareGkeVersions);
  const controlPlane = cpCandidates[cpCandidates.length - 1];
  const location = config.cluster.location;
  const warnDays = config.cluster.warnEndOfSupportDays ?? DEFAULT_WARN_END_OF_SUPPORT_DAYS;
  const now = input.now ?? new Date();
  const sizes: Record<string, PoolSize> = {};
  if (offered === undefined) {
    warnings.push(`GKE returned no validNodeVersions for ${location}: could not check that the pool versions are offered there`);
  }

  for (const pool of config.pools) {
    const name = poolName(pool, config.environment);
    const at = `pool "${pool.role}" (${name})`;
    const existing = live?.pools.find((p) => p.name === name);
    sizes[pool.role] = newPoolSize(pool, name, config.environment, live);
    if (sizes[pool.role].note) warnings.push(sizes[pool.role].note!);

    if (existing && existing.version !== pool.version) {
      const cpFirst =
        config.cluster.create && tryParseGkeVersion(existing.version) && compareGkeVersions(existing.version, config.cluster.controlPlaneVersion) > 0
          ? `npm run bump -- --stack ${stack} --control-plane ${live?.masterVersion ?? existing.version}, then `
          : "";
      errors.push(
        `${at} runs ${existing.version} in GKE but ${NS}:pools says ${pool.version} (GKE upgraded it at end of support, or someone did by hand); ` +
          `pulumi up would try to change it back — adopt the live version: ${cpFirst}npm run bump -- --stack ${stack} --role ${pool.role} --version ${existing.version}`,
      );
    }
    if (!existing && offered && !offered.includes(pool.version)) {
      const sameMinor = offered.filter((v) => v.startsWith(pool.version.split(".").slice(0, 2).join(".") + "."));
      const suggestion = (sameMinor.length ? sameMinor : offered).slice(0, 3).join(", ");
      errors.push(
        `${at}: version ${pool.version} is not offered for nodes in ${location} (getEngineVersions validNodeVersions) — ` +
          `pick an offered version${suggestion ? `, e.g. ${suggestion}` : ""}: npm run bump -- --stack ${stack} --role ${pool.role} --version <version>`,
      );
    }
    if (existing && offered && !offered.includes(pool.version)) {
      warnings.push(`${at}: version ${pool.version} is no longer offered in ${location}; it keeps running, but the next rotation must pick an offered version`);
    }
    if (controlPlane && live?.masterVersion) {
      const skew = checkVersionSkew(controlPlane, pool.version);
      if (skew) {
        errors.push(
          `${at}: ${skew} (live control plane ${live.masterVersion}) — ` +
            (config.cluster.create
              ? `raise ${NS}:cluster.controlPlaneVersion first (npm run bump -- --stack ${stack} --control-plane <version>)`
              : `upgrade the adopted cluster's control plane first, or pick a version <= ${controlPlane.raw}`),
        );
      }
    }
    const eos = existing?.endOfSupport;
    if (eos && Number.isFinite(Date.parse(eos))) {
      const days = Math.floor((Date.parse(eos) - now.getTime()) / DAY_MS);
      if (days <= warnDays) {
        warnings.push(
          `${at}: version ${existing!.version} reaches end of standard support on ${eos.slice(0, 10)} (${days < 0 ? "passed" : `in ${days} days`}); GKE then upgrades the pool itself, without this tool's drain — ` +
            `rotate it first: npm run bump -- --stack ${stack} --role ${pool.role} --version <newer offered version>`,
        );
      }
    }
  }
  return { live, channel, errors, warnings, sizes };
}

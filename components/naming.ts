/**
 * Versioned node pool names and GKE version helpers.
 *
 * One place decides:
 *  - what a pool is called (`poolName`): role + version slug + date + short hash of the pool
 *    properties GKE cannot change in place, so that any change GKE would answer with
 *    "replace the pool" also changes the name, and Pulumi creates the new pool BEFORE the old one
 *    is deleted (a same-name replacement would be rejected by GKE with 409 Already exists);
 *  - how GKE versions are parsed and compared, and which control-plane/node skew is allowed
 *    (`parseGkeVersion`, `compareGkeVersions`, `checkVersionSkew`).
 *
 * Nothing here reads the clock or the environment: the same config gives the same name on every run.
 */
import { createHash } from "node:crypto";
import type { PoolConfig } from "./config";
import { GKE_POOL_NAME_REGEX, GKE_VERSION_REGEX, MAX_POOL_NAME_LENGTH } from "./contracts";

// Re-exported for importers of naming (one definition: contracts.ts).
export { GKE_POOL_NAME_REGEX, GKE_VERSION_REGEX, MAX_POOL_NAME_LENGTH };
/** Number of hex characters of the immutable-properties hash kept in the name. */
export const NAME_HASH_LENGTH = 5;

/**
 * Bump this when VersionedNodePool changes a fixed setting that GKE cannot change in place
 * (shielded instance config, metadata, workload metadata mode, ...). It is part of the name hash,
 * so such a code change renames every pool instead of attempting a same-name replacement.
 */
export const POOL_TEMPLATE_REVISION = 1;

/**
 * Pool properties GKE cannot change without recreating every node, in `PoolConfig` terms, with the
 * `gcp.container.NodePool` input each maps to. All of them are part of the name hash.
 *
 * Source: terraform-provider-google `google/services/container/node_config.go` (which pulumi-gcp
 * wraps): `oauth_scopes`, `service_account`, `spot` (and `preemptible`) are `ForceNew: true`, i.e.
 * the provider replaces the pool. `machine_type`, `disk_type`, `disk_size_gb` and `image_type` were
 * ForceNew up to provider 4.x; since 5.x the provider updates them through `nodePools.update`, which
 * makes GKE recreate every node with its own surge upgrade — GKE's upgrade honours PDBs only for up to
 * one hour before deleting nodes anyway (https://cloud.google.com/kubernetes-engine/docs/concepts/node-pool-upgrade-strategies).
 * We treat them as immutable on purpose: every node is replaced either way, and the rename makes that
 * replacement go through this tool's create-first / drain-with-PDBs path instead.
 * Settings VersionedNodePool fixes in code (shielded_instance_config, metadata — both ForceNew) are
 * covered by `POOL_TEMPLATE_REVISION`. Mutable in place (NOT hashed): node counts/autoscaling,
 * labels, taints, resource labels, upgrade settings, management.
 */
export const IMMUTABLE_POOL_FIELDS = [
  "machineType",
  "diskType",
  "diskSizeGb",
  "imageType",
  "serviceAccount",
  "oauthScopes",
  "spot",
] as const satisfies readonly (keyof PoolConfig)[];

/** A pool field GKE cannot change in place (see `IMMUTABLE_POOL_FIELDS`). */
export type ImmutablePoolField = (typeof IMMUTABLE_POOL_FIELDS)[number];

/** `gcp.container.NodePool` input path for each immutable `PoolConfig` field (for policies and diffs). */
export const IMMUTABLE_NODEPOOL_INPUTS: Readonly<Record<ImmutablePoolField, string>> = {
  machineType: "nodeConfig.machineType",
  diskType: "nodeConfig.diskType",
  diskSizeGb: "nodeConfig.diskSizeGb",
  imageType: "nodeConfig.imageType",
  serviceAccount: "nodeConfig.serviceAccount",
  oauthScopes: "nodeConfig.oauthScopes",
  spot: "nodeConfig.spot",
};

/** A parsed GKE version such as `1.31.4-gke.1100`. */
export interface GkeVersion {
  major: number;
  minor: number;
  patch: number;
  /** The GKE build number after `-gke.`. */
  gke: number;
  /** The original string. */
  raw: string;
}


/** Parse an exact GKE version; returns undefined when `v` is not one (e.g. `1.31`, `latest`, `v1.31.4`). */
export function tryParseGkeVersion(v: unknown): GkeVersion | undefined {
  if (typeof v !== "string") return undefined;
  const m = GKE_VERSION_REGEX.exec(v);
  if (!m) return undefined;
  return { major: +m[1], minor: +m[2], patch: +m[3], gke: +m[4], raw: v };
}

/** Parse an exact GKE version; throws with the expected format when `v` is not one. */
export function parseGkeVersion(v: string): GkeVersion {
  const parsed = tryParseGkeVersion(v);
  if (!parsed) {
    throw new Error(`"${v}" is not an exact GKE version: expected MAJOR.MINOR.PATCH-gke.BUILD, e.g. 1.31.4-gke.1100`);
  }
  return parsed;
}

/** Compare two GKE versions: negative if a < b, 0 if equal, positive if a > b. Accepts strings or parsed versions. */
export function compareGkeVersions(a: string | GkeVersion, b: string | GkeVersion): number {
  const x = typeof a === "string" ? parseGkeVersion(a) : a;
  const y = typeof b === "string" ? parseGkeVersion(b) : b;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch || x.gke - y.gke;
}

/** GKE supports nodes at most this many minor versions older than the control plane. */
export const MAX_NODE_MINOR_SKEW = 2;

/**
 * The version skew rule for nodes (https://kubernetes.io/releases/version-skew-policy/ and GKE's
 * "nodes can be up to two minor versions older than the control plane"): a node version must not be
 * newer than the control plane and at most `MAX_NODE_MINOR_SKEW` minors older, same major.
 * Returns a human sentence describing the violation, or undefined when the pair is allowed.
 */
export function checkVersionSkew(controlPlane: string | GkeVersion, node: string | GkeVersion): string | undefined {
  const cp = typeof controlPlane === "string" ? parseGkeVersion(controlPlane) : controlPlane;
  const n = typeof node === "string" ? parseGkeVersion(node) : node;
  if (compareGkeVersions(n, cp) > 0) {
    return `node version ${n.raw} is newer than the control plane ${cp.raw} (nodes may never be newer than the control plane)`;
  }
  if (n.major !== cp.major) {
    return `node version ${n.raw} has a different major version than the control plane ${cp.raw}`;
  }
  if (cp.minor - n.minor > MAX_NODE_MINOR_SKEW) {
    return `node version ${n.raw} is ${cp.minor - n.minor} minor versions older than the control plane ${cp.raw} (GKE allows at most ${MAX_NODE_MINOR_SKEW})`;
  }
  return undefined;
}

/**
 * Version slug used in pool names: dots become dashes and `-gke.` becomes `-gke`, so
 * `1.31.4-gke.1100` → `1-31-4-gke1100`. Lossless and readable; throws on a non-GKE version.
 */
export function versionSlug(version: string): string {
  const v = parseGkeVersion(version);
  return `${v.major}-${v.minor}-${v.patch}-gke${v.gke}`;
}

/** `YYYY-MM-DD` → `YYYYMMDD` (the date part of a pool name). Throws on another format. */
export function dateSlug(date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`"${date}" is not a YYYY-MM-DD date`);
  return date.replace(/-/g, "");
}

/** The fields of a pool that decide its name. `PoolConfig` satisfies this. */
export type NamedPool = Pick<PoolConfig, "role" | "version" | "rotatedOn" | "revision" | ImmutablePoolField>;

/**
 * Short hash of the inputs GKE cannot change in place, plus the role, environment, revision and
 * `POOL_TEMPLATE_REVISION`. Canonical JSON (fixed key order, OAuth scopes sorted) so YAML key order
 * or scope order never renames a pool.
 */
export function immutableHash(pool: NamedPool, env?: string): string {
  const input: Record<string, unknown> = {
    template: POOL_TEMPLATE_REVISION,
    role: pool.role,
    env: env ?? null,
    revision: pool.revision ?? null,
  };
  for (const field of IMMUTABLE_POOL_FIELDS) {
    const value = pool[field];
    input[field] = Array.isArray(value) ? [...value].sort() : value ?? null;
  }
  return createHash("sha256").update(JSON.stringify(input)).digest("hex").slice(0, NAME_HASH_LENGTH);
}

/**
 * The versioned GKE node pool name: `<role>-<versionSlug>-<YYYYMMDD>-<hash>`,
 * e.g. `app-1-31-4-gke1100-20261120-3fa9c`.
 *
 * When longer than 40 characters the role is shortened (truncated, trailing dashes removed); the
 * version, date and hash are never dropped, and the hash covers the full role, so two roles with the
 * same prefix still get different names. `env` (the stack's environment) is part of the hash only.
 * Throws when even a one-letter role cannot fit (an absurdly long GKE build number).
 */
export function poolName(pool: NamedPool, env?: string): string {
  const suffix = `-${versionSlug(pool.version)}-${dateSlug(pool.rotatedOn)}-${immutableHash(pool, env)}`;
  const room = MAX_POOL_NAME_LENGTH - suffix.length;
  const role = pool.role.slice(0, Math.max(room, 0)).replace(/-+$/, "");
  if (role.length === 0) {
    throw new Error(`pool "${pool.role}": version ${pool.version} leaves no room for the role in a ${MAX_POOL_NAME_LENGTH}-character GKE pool name`);
  }
  const name = role + suffix;
  if (!GKE_POOL_NAME_REGEX.test(name)) {
    // Unreachable for a validated role; kept so a bad name can never reach GKE.
    throw new Error(`pool name "${name}" does not match GKE's ${GKE_POOL_NAME_REGEX}`);
  }
  return name;
}

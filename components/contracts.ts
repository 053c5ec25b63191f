/**
 * The names and patterns other code, the cluster and the policy pack agree on: node labels, pod and
 * node annotations, the drainer's Pulumi type token, the pool-name / role / version / date rules.
 *
 * One definition each, and nothing heavy: this module imports nothing, so the policy pack, the
 * promotion commands, the stack config, pool naming, the PoolDrainer and the rotation engine (whose
 * bundle the drainer stores in state, components/poolDrainer.ts engineBundle) can all import it
 * without pulling in ajv, @pulumi/* or node built-ins. docs/CONTRACTS.md "Where things are" lists it.
 */

/** Config namespace of this project (the Pulumi project name). */
export const NS = "nodepool-rotation";

/** Label GKE puts on every node of a node pool (its value is the pool name). */
export const GKE_POOL_LABEL = "cloud.google.com/gke-nodepool";
/** Role label VersionedNodePool sets on its nodes; the default replacement selector is `<ROLE_LABEL>=<role>`. */
export const ROLE_LABEL = "nodepool-rotation/role";
/** Environment label VersionedNodePool sets on its nodes. */
export const ENV_LABEL = "env";

/** Per-pod drain override annotation: `evict`, `wait-completed` or `skip`. */
export const DRAIN_ANNOTATION = "nodepool-rotation/drain";
/**
 * Set (with a timestamp) on every node this tool cordons, in the same patch as `unschedulable`.
 * It is the only state the drain keeps: a re-run reads it to know which cordons are its own.
 */
export const CORDONED_ANNOTATION = "nodepool-rotation/cordoned-at";
/** Mirror (static) pods carry this annotation (corev1.MirrorPodAnnotationKey). */
export const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

/** Pulumi type token of the PoolDrainer (`dynamic.Resource(..., "nodepool-rotation", "PoolDrainer")`). */
export const POOL_DRAINER_TYPE = "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer";

/** GKE's node pool name rule: lowercase letter first, then letters/digits/dashes, no trailing dash, <= 40 chars. */
export const GKE_POOL_NAME_REGEX = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;
/** How a pool name is described in messages. */
export const POOL_NAME_RULE = "a GKE node pool name (lowercase letters, digits, dashes; starts with a letter, no trailing dash; <= 40 chars)";
/** Maximum length of a GKE node pool name. */
export const MAX_POOL_NAME_LENGTH = 40;

/** A pool role: lowercase letter first, letters/digits/dashes, no trailing dash, <= 20 chars (it is part of the pool name). */
export const ROLE_REGEX = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
/** How a role is described in messages. */
export const ROLE_RULE = "lowercase letters, digits and dashes, starting with a letter, not ending with a dash, <= 20 chars, e.g. app";

/** Exact GKE version: `MAJOR.MINOR.PATCH-gke.BUILD` (e.g. `1.35.2-gke.1269000`). */
export const GKE_VERSION_REGEX = /^(0|[1-9][0-9]?)\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})-gke\.(0|[1-9][0-9]{0,9})$/;

/** A calendar date as the stack file writes it: `YYYY-MM-DD`. */
export const DATE_REGEX = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/** True when `YYYY-MM-DD` names a day that exists, in 2000 or later (rejects 2026-02-30, 2026-13-01). */
export function isRealDate(d: string): boolean {
  const m = DATE_REGEX.exec(d);
  if (!m) return false;
  const [y, mo, da] = [+m[1], +m[2], +m[3]];
  const t = new Date(Date.UTC(y, mo - 1, da));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === da && y >= 2000;
}

/**
 * What promotion needs from the SOURCE stack's state: has it converged, and which versions has it
 * verified. Read from `pulumi stack export` (run by `npm run promote`, or a file of its output for
 * offline use), never from the stack's outputs alone:
 *
 *  - `pulumi preview --expect-no-changes` does not fail while an old pool awaits deletion: pending
 *    deletes become DeleteReplacement steps, which are not logical steps and are not counted by
 *    HasChanges (pulumi/pulumi pkg/engine/update.go; lifecycletest TestPendingDeleteOrder);
 *  - `verifiedVersions` already names the new version after a failed drain, because Pulumi keeps the
 *    outputs a failed update produced (pulumi/pulumi#15754).
 *
 * `pulumi stack export` writes the stored deployment as is (secrets stay ciphertext unless
 * --show-secrets, so no passphrase is needed; pulumi/pulumi pkg/cmd/pulumi/stack/stack_export.go).
 * The export is an `apitype.UntypedDeployment` (`{version, deployment}`) whose `deployment` is a
 * `DeploymentV3` (pulumi/pulumi sdk/go/common/apitype/core.go):
 *  - `resources[]` are `ResourceV3`: `delete: true` = "the resource should be deleted during the next
 *    update" (a replaced or removed resource whose delete failed or never ran — e.g. the old pool
 *    and its PoolDrainer after a failed drain); `pendingReplacement: true` = deleted for a
 *    delete-before-replace but not yet recreated;
 *  - `pending_operations[]` are `OperationV2 {resource, type}` with type `creating | updating |
 *    deleting | reading`: operations the engine started and never saw finish (the CLI was killed).
 *    The engine's own advice for them is `pulumi refresh` (pkg/resource/deploy/deployment_executor.go,
 *    lifecycletest TestUpdateShowsWarningWithPendingOperations).
 * Any of these means the source's last rotation has not finished, so its versions are not proven.
 *
 * When the last rotation finished (the start of a fleet wave's soak) is read from the same export:
 * `ResourceV3.modified` ("when the resource state was last altered", with `created`; written by
 * every CLI since early 2023). A rotation's last act, deleting the old pool, leaves no record: a
 * deleted resource leaves the state. So `rotatedAt` is the newest `modified` (else `created`) of the
 * stack's live node pools and PoolDrainers — when the new pool and its drainer were written, right
 * before the old pool's drain — and it counts only once the stack has converged (no pending delete),
 * which proves that drain and delete finished after it. The soak therefore starts at most one drain
 * (bounded by drain.deadlineMinutes) before the old pool was gone. The stack resource's own
 * timestamp is not used: its outputs are rewritten by every `up`, rotation or not.
 */
import { POOL_DRAINER_TYPE } from "../contracts";
import { StackFileError } from "./stackFile";
import type { VerifiedVersions } from "./gate";

/** The parts of an apitype.ResourceV3 this module reads. */
export interface ExportedResource {
  urn: string;
  type: string;
  id?: string;
  delete?: boolean;
  pendingReplacement?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  /** RFC 3339 time the resource was first added to state (apitype.ResourceV3 `created`). */
  created?: string;
  /** RFC 3339 time its state was last altered (apitype.ResourceV3 `modified`). */
  modified?: string;
}

/** An apitype.OperationV2. */
export interface PendingOperation {
  resource: ExportedResource;
  type: "creating" | "updating" | "deleting" | "reading" | string;
}

/** `pulumi stack export` output (apitype.UntypedDeployment holding a DeploymentV3), the parts read here. */
export interface StackExport {
  version: number;
  deployment: {
    resources?: ExportedResource[];
    pending_operations?: PendingOperation[];
  };
}

/** What promotion learns from the source stack's state. */
export interface SourceState {
  /** One sentence per resource that keeps the stack from having converged (empty = converged). */
  unconverged: string[];
  /** The stack resource's `verifiedVersions` output (undefined when it has none). */
  verifiedVersions: unknown;
  /** The stack resource's `verifiedControlPlane` output (undefined when it has none, e.g. an adopted cluster). */
  verifiedControlPlane?: unknown;
  /** When its last rotation's resources were written (see the module comment); undefined without timestamps. */
  rotatedAt?: Date;
}

const STACK_TYPE = "pulumi:pulumi:Stack";
const NODE_POOL_TYPE = "gcp:container/nodePool:NodePool";

/** Parse `pulumi stack export` JSON; `what` names the source in errors. */
export function parseStackExport(json: string, what: string): StackExport {
  // The export's JSON, checked field by field below before it is returned as a StackExport.
  let value: { version?: unknown; deployment?: { resources?: unknown; pending_operations?: unknown } } | null;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new StackFileError(`${what} is not JSON: ${(e as Error).message}`);
  }
  const d = value?.deployment;
  if (!value || typeof value !== "object" || typeof value.version !== "number" || !d || typeof d !== "object" || Array.isArray(d)) {
    throw new StackFileError(`${what} is not the output of \`pulumi stack export\` (expected {"version": 3, "deployment": {...}})`);
  }
  if (value.version < 3) {
    throw new StackFileError(`${what} has deployment schema version ${value.version}; export it with a current Pulumi CLI (schema 3 or later)`);
  }
  if (d.resources !== undefined && !Array.isArray(d.resources)) throw new StackFileError(`${what}: deployment.resources is not a list`);
  if (d.pending_operations !== undefined && !Array.isArray(d.pending_operations)) throw new StackFileError(`${what}: deployment.pending_operations is not a list`);
  return value as StackExport;
}

/** `<type> "<logical name>"` plus what the resource is in GKE terms (pool name, drained pool). */
function describe(r: ExportedResource): string {
  const logical = r.urn.split("::").pop() ?? r.urn;
  const props = { ...(r.inputs ?? {}), ...(r.outputs ?? {}) };
  if (r.type === NODE_POOL_TYPE) return `node pool ${typeof props.name === "string" ? props.name : r.id ?? "?"} (${logical})`;
  if (r.type === POOL_DRAINER_TYPE) return `PoolDrainer of ${typeof props.poolName === "string" ? props.poolName : "?"} (${logical})`;
  return `${r.type} "${logical}"${r.id ? ` (id ${r.id})` : ""}`;
}

/** Why `stack` has not converged: one sentence per pending delete, pending replacement or interrupted operation. */
export function unconvergedResources(exp: StackExport, stack: string): string[] {
  const problems: string[] = [];
  for (const r of exp.deployment.resources ?? []) {
    if (r.delete === true) {
      const why = r.type === POOL_DRAINER_TYPE ? "its drain failed or was interrupted" : "it was replaced or removed and its delete failed or never ran";
      problems.push(`${describe(r)} is pending deletion (${why}) — run pulumi up -s ${stack} until it succeeds (see docs/drainer.md for a stuck drain)`);
    } else if (r.pendingReplacement === true) {
      problems.push(`${describe(r)} was deleted for a replacement that was never created (pendingReplacement) — run pulumi up -s ${stack}`);
    }
  }
  for (const op of exp.deployment.pending_operations ?? []) {
    problems.push(
      `${describe(op.resource)} has a pending operation "${op.type}" (pulumi was interrupted while ${op.type} it) — ` +
        `check it in GCP, then pulumi refresh -s ${stack} and pulumi up -s ${stack}`,
    );
  }
  return problems;
}

/** Everything promotion needs from an export of `stack`. */
export function sourceState(exp: StackExport, stack: string): SourceState {
  const root = (exp.deployment.resources ?? []).find((r) => r.type === STACK_TYPE && r.delete !== true);
  return {
    unconverged: unconvergedResources(exp, stack),
    verifiedVersions: root?.outputs?.verifiedVersions,
    verifiedControlPlane: root?.outputs?.verifiedControlPlane,
    rotatedAt: lastRotationAt(exp),
  };
}

/** Newest `modified` (else `created`) of the live node pools and PoolDrainers; undefined when none carries one. */
export function lastRotationAt(exp: StackExport): Date | undefined {
  let last: number | undefined;
  for (const r of exp.deployment.resources ?? []) {
    if (r.delete === true || (r.type !== NODE_POOL_TYPE && r.type !== POOL_DRAINER_TYPE)) continue;
    const t = Date.parse(r.modified ?? r.created ?? "");
    if (!Number.isNaN(t) && (last === undefined || t > last)) last = t;
  }
  return last === undefined ? undefined : new Date(last);
}

/** A `VerifiedVersions` map, or a sentence saying why `value` is not one. */
export function asVerified(value: unknown, what: string): VerifiedVersions {
  if (!value || typeof value !== "object" || Array.isArray(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw new StackFileError(`${what} must be an object of role -> version (the program's verifiedVersions output), e.g. {"app":"1.35.2-gke.1269000"}`);
  }
  return value as VerifiedVersions;
}

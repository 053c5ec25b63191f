/**
 * The prod gate: a stack with `nodepool-rotation:promotion.requireVerifiedIn: staging` may only run
 * pool versions that staging has rotated to successfully.
 *
 * Every stack exports `verifiedVersions` (role -> version, see `verifiedVersionsOutput`). The gated
 * stack reads the other stack's outputs through a `pulumi.StackReference` and, when one of its pools
 * names a version the other stack never verified, fails the preview/update with a message naming the
 * pool, the version and the stack. `checkVerified` is the pure rule (also used by `npm run promote`);
 * `requireVerifiedIn` is the Pulumi door into it.
 */
import * as pulumi from "@pulumi/pulumi";

/** role -> the GKE version that stack has rotated the role's pool to (the `verifiedVersions` stack output). */
export type VerifiedVersions = Record<string, string>;

/** Name of the stack output holding `VerifiedVersions`. */
export const VERIFIED_OUTPUT = "verifiedVersions";

/** A pool as the gate sees it. */
export interface GatedPool {
  role: string;
  version: string;
}

/**
 * The gate refused: a pool's version was not verified in the reference stack. A `pulumi.RunError`,
 * so Pulumi prints just the message (no program stack trace).
 */
export class PromotionGateError extends pulumi.RunError {
  constructor(message: string, readonly problems: string[]) {
    super(message);
    this.name = "PromotionGateError";
  }
}

/**
 * Which `pools` run a version `fromStack` has not verified. `verified` is the raw output value read
 * from that stack (undefined when it has no such output); `thisStack` names the gated stack in the
 * suggested fix. Returns one human sentence per problem (empty = all verified).
 */
export function unverifiedPools(pools: GatedPool[], verified: unknown, fromStack: string, thisStack = "<this stack>"): string[] {
  if (verified === undefined || verified === null) {
    return [
      `stack "${fromStack}" has no ${VERIFIED_OUTPUT} output: run pulumi up on ${fromStack} with this program first ` +
        `(or remove nodepool-rotation:promotion.requireVerifiedIn to run without the gate)`,
    ];
  }
  if (typeof verified !== "object" || Array.isArray(verified)) {
    return [`stack "${fromStack}" output ${VERIFIED_OUTPUT} is not a map of role -> version (got ${JSON.stringify(verified)})`];
  }
  const v = verified as Record<string, unknown>;
  return pools
    .filter((p) => v[p.role] !== p.version)
    .map(
      (p) =>
        `pool "${p.role}" is set to version ${p.version}, which stack "${fromStack}" has not verified ` +
        `(${fromStack} has verified ${typeof v[p.role] === "string" ? v[p.role] : "no version"} for "${p.role}") — ` +
        `rotate ${fromStack} to ${p.version} first (npm run bump -- --stack ${fromStack} --role ${p.role} --version ${p.version}; pulumi up -s ${fromStack}), ` +
        `then npm run promote -- --from ${fromStack} --to ${thisStack}`,
    );
}

/** Throw `PromotionGateError` listing every pool whose version `fromStack` has not verified. */
export function checkVerified(pools: GatedPool[], verified: unknown, fromStack: string, thisStack?: string): void {
  const problems = unverifiedPools(pools, verified, fromStack, thisStack);
  if (problems.length > 0) {
    throw new PromotionGateError(
      `promotion gate (nodepool-rotation:promotion.requireVerifiedIn: ${fromStack}) refused:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
      problems,
    );
  }
}

/** The organization every self-managed (DIY) backend reports (pulumi/pulumi pkg/backend/diy/state.go, backend.go). */
export const DIY_ORGANIZATION = "organization";

/**
 * The StackReference name for `stack` of this project.
 *
 * - Pulumi Cloud: `<org>/<project>/<stack>`, fully qualified (a bare name would resolve in the
 *   user's default org, which need not be this stack's).
 * - Self-managed (DIY: file://, gs://, s3://...) backends always report the organization
 *   `organization`. There the bare `<stack>` is used, because it resolves correctly in BOTH state
 *   layouts, while the qualified name fails in one (pulumi/pulumi pkg/backend/diy/store.go):
 *   the project layout (`.pulumi/meta.yaml` version 1) reads `<stack>` as
 *   `organization/<current project>/<stack>`, and the current project is this program's; the
 *   legacy layout (no meta.yaml, or version 0) has no projects: its `ParseReference` is
 *   `tokens.ParseStackName`, which rejects `organization/nodepool-rotation/staging` ("a stack
 *   name may only contain alphanumeric, hyphens, underscores, or periods"). Recent CLIs refuse a
 *   legacy-layout backend altogether unless PULUMI_DIY_BACKEND_IGNORE_DEPRECATION_ERROR=1, and
 *   name the fix: `pulumi state upgrade` (pkg/backend/diy/backend.go).
 * - An engine too old to report the organization: the bare name (resolved by the backend).
 */
export function stackReferenceName(stack: string, organization: () => string = pulumi.getOrganization): string {
  let org: string;
  try {
    org = organization();
  } catch {
    return stack;
  }
  if (!org || org === DIY_ORGANIZATION) return stack;
  return `${org}/${pulumi.getProject()}/${stack}`;
}

/**
 * Read `fromStack`'s `verifiedVersions` through a StackReference and check `pools` against it.
 * Returns an Output of the reference stack's verified versions that REJECTS with
 * `PromotionGateError` when a pool is not verified. Give it to the pools as `dependsOn` (via
 * `gateDependency`) so no pool is registered before the gate passed, and export it so the failure
 * is reported even if nothing else depends on it. Known in previews (outputs are read from the
 * backend), so a PR preview of prod already fails.
 */
export function requireVerifiedIn(
  pools: GatedPool[],
  fromStack: string,
  opts?: pulumi.CustomResourceOptions,
): { reference: pulumi.StackReference; verified: pulumi.Output<VerifiedVersions> } {
  const reference = new pulumi.StackReference(`promotion-gate-${fromStack}`, { name: stackReferenceName(fromStack) }, opts);
  const verified = reference.getOutput(VERIFIED_OUTPUT).apply((value: unknown) => {
    checkVerified(pools, value, fromStack, pulumi.getStack());
    return value as VerifiedVersions;
  });
  return { reference, verified };
}

/**
 * `dependsOn` value that resolves to the StackReference once the gate passed and rejects (failing
 * the dependent's registration, so it is never created or replaced) when it refused.
 */
export function gateDependency(gate: { reference: pulumi.StackReference; verified: pulumi.Output<VerifiedVersions> }): pulumi.Output<pulumi.Resource[]> {
  return gate.verified.apply(() => [gate.reference as pulumi.Resource]);
}

/**
 * The `verifiedVersions` stack output: role -> version of the pool the program has rotated to.
 * A role's entry resolves only when `proof` (the new pool and the PoolDrainer guarding it) has been
 * created, i.e. the pool exists and is drain-protected; in a preview of a change it is unknown.
 *
 * Known gap: Pulumi deletes the replaced old pool (after its drain) at the END of the update, after
 * the program's outputs were recorded, and keeps changed outputs of a failed update
 * (pulumi/pulumi#15754). So if the old pool's drain fails, this output already names the new version,
 * and `pulumi preview --expect-no-changes` does not fail either (pending deletes are not logical
 * steps). `npm run promote` therefore also reads the source's state and refuses while anything is
 * pending deletion or has a pending operation (stackState.ts). This gate, inside `pulumi up` of the
 * target, only sees the source's outputs.
 */
export function verifiedVersionsOutput(
  pools: { role: string; version: pulumi.Input<string>; proof?: pulumi.Input<unknown>[] }[],
): pulumi.Output<VerifiedVersions> {
  return pulumi
    .all(pools.map((p) => pulumi.all([p.role, p.version, pulumi.all(p.proof ?? [])])))
    .apply((entries) => Object.fromEntries(entries.map(([role, version]) => [role, version])));
}

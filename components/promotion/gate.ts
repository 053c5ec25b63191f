/**
 * The promotion gate: a stack may only run pool versions (and, where it creates its cluster, a
 * control-plane version) that the stacks it takes its versions from have rotated to successfully —
 * and, in a fleet, only once their wave's soak has passed.
 *
 * Where a stack takes its versions from is decided once, by `gateRuleFor`: with a wave plan
 * (fleet.yaml, fleetPlan.ts) a stack of wave N is gated on EVERY stack of wave N-1 and that wave's
 * soak; without one (or for a stack the plan does not list), on the one stack named by
 * `nodepool-rotation:promotion.requireVerifiedIn`, without soak.
 *
 * Every stack exports `verifiedVersions` (role -> version, see `verifiedVersionsOutput`),
 * `verifiedControlPlane` (the control-plane version its cluster runs) and `verifiedAt` (when its
 * pools last changed, see rotationMark.ts). The gated stack reads them through one
 * `pulumi.StackReference` per source and, when a pool names a version a source never verified, the
 * control plane differs from what a source runs, or the soak has not elapsed, fails the
 * preview/update with one line per problem naming the stack. `gateProblems` is the pure rule;
 * `requireVerifiedBy` is the Pulumi door into it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { compareGkeVersions } from "../naming";
import { findFleetPlan, formatDuration, loadFleetPlan, waveOf } from "./fleetPlan";

/** role -> the GKE version that stack has rotated the role's pool to (the `verifiedVersions` stack output). */
export type VerifiedVersions = Record<string, string>;

/** Name of the stack output holding `VerifiedVersions`. */
export const VERIFIED_OUTPUT = "verifiedVersions";
/** Name of the stack output holding the control-plane version the stack's cluster runs. */
export const VERIFIED_CONTROL_PLANE_OUTPUT = "verifiedControlPlane";
/** Name of the stack output holding when the stack's pools last changed (RFC 3339). */
export const VERIFIED_AT_OUTPUT = "verifiedAt";

/** A pool as the gate sees it. */
export interface GatedPool {
  role: string;
  version: string;
}

/** Which stacks a stack takes its versions from, and how long they must have soaked. */
export interface GateRule {
  /** Stacks whose verified versions this stack may run (every one must have verified them). */
  sources: string[];
  /** Soak after the sources' last rotation, ms (0 = none) and as written. */
  soakMs: number;
  soak: string;
  /** Where the rule comes from, for messages. */
  origin: string;
}

/** The gated stack: its pools and, when it creates its cluster, its control-plane version. */
export interface GatedStack {
  stack: string;
  pools: GatedPool[];
  /** `cluster.controlPlaneVersion` when `cluster.create` (an adopted cluster's control plane is not managed here). */
  controlPlane?: string;
  /** role -> the newest version the cluster's pools of that role run now (GKE, read by the preflight); undefined = unknown. */
  running?: Record<string, string>;
}

/** role -> the newest version among `pools` of that role (live pools as the preflight read them; unlabelled pools skipped). */
export function runningVersions(pools: { role?: string; version: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pools) {
    if (!p.role) continue;
    if (out[p.role] === undefined || compareGkeVersions(p.version, out[p.role]) > 0) out[p.role] = p.version;
  }
  return out;
}

/**
 * A rollback: at least one pool changes and every pool that changes goes DOWN from what the cluster
 * runs now. A rollback does not wait for the soak — the version it goes back to soaked before, and
 * a bad version must not be kept for a day — but it must still be verified by every source.
 */
export function isRollback(pools: GatedPool[], running: Record<string, string> | undefined): boolean {
  if (!running) return false;
  const changed = pools.filter((p) => running[p.role] !== p.version);
  return changed.length > 0 && changed.every((p) => running[p.role] !== undefined && compareGkeVersions(p.version, running[p.role]) < 0);
}

/**
 * The gate's rule for `stack` with config `config`, from the wave plan in `dir` when it lists the
 * stack, else from `promotion.requireVerifiedIn`; undefined = not gated (first wave, or no gate).
 */
export function gateRuleFor(config: Pick<StackConfig, "promotion">, stack: string, dir: string): GateRule | undefined {
  const planFile = findFleetPlan(dir);
  const plan = planFile ? loadFleetPlan(planFile) : undefined;
  const wave = plan && waveOf(plan, stack);
  if (plan && wave) {
    if (wave.index === 0) return undefined;
    const prev = plan.waves[wave.index - 1];
    return { sources: prev.stacks, soakMs: prev.soakMs, soak: prev.soak, origin: `fleet.yaml: wave "${wave.name}" takes the versions of wave "${prev.name}"` };
  }
  if (!config.promotion) return undefined;
  return { sources: [config.promotion.requireVerifiedIn], soakMs: 0, soak: "0", origin: `nodepool-rotation:promotion.requireVerifiedIn: ${config.promotion.requireVerifiedIn}` };
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

/** What one source stack exports, as read through its StackReference. */
export interface SourceOutputs {
  stack: string;
  verifiedVersions: unknown;
  verifiedControlPlane?: unknown;
  verifiedAt?: unknown;
}

/**
 * Everything `target` may not run under `rule`, given its sources' outputs, at `now`: one
 * sentence per problem, each naming the source stack (empty = the gate passes).
 */
export function gateProblems(target: GatedStack, rule: GateRule, sources: SourceOutputs[], now: Date): string[] {
  const problems: string[] = [];
  for (const src of sources) {
    problems.push(...unverifiedPools(target.pools, src.verifiedVersions, src.stack, target.stack));
    if (target.controlPlane !== undefined) {
      const cp = src.verifiedControlPlane;
      if (typeof cp !== "string") {
        problems.push(`stack "${src.stack}" has no ${VERIFIED_CONTROL_PLANE_OUTPUT} output: run pulumi up on ${src.stack} with this program first`);
      } else if (cp !== target.controlPlane) {
        problems.push(
          `the control plane is set to ${target.controlPlane} (nodepool-rotation:cluster.controlPlaneVersion), but stack "${src.stack}" runs ${cp} — ` +
            `promotion carries the control-plane version with the pools: npm run promote -- --from ${src.stack} --to ${target.stack}`,
        );
      }
    }
  }
  if (rule.soakMs > 0 && !isRollback(target.pools, target.running)) {
    const times = sources.map((s) => ({ stack: s.stack, at: typeof s.verifiedAt === "string" ? Date.parse(s.verifiedAt) : NaN }));
    const missing = times.filter((t) => Number.isNaN(t.at));
    for (const t of missing) problems.push(`stack "${t.stack}" has no ${VERIFIED_AT_OUTPUT} output, so its soak (${rule.soak}) cannot be judged: run pulumi up on ${t.stack} with this program first`);
    if (missing.length === 0 && times.length > 0) {
      const last = times.reduce((a, b) => (b.at > a.at ? b : a));
      const ends = last.at + rule.soakMs;
      if (now.getTime() < ends) {
        problems.push(
          `soak not over: ${last.stack} (the last of ${sources.map((s) => s.stack).join(", ")}) rotated at ${new Date(last.at).toISOString()}; ` +
            `the ${rule.soak} soak ends at ${new Date(ends).toISOString()} (in ${formatDuration(ends - now.getTime())}) — run again after that`,
        );
      }
    }
  }
  return problems;
}

/** Throw `PromotionGateError` listing every pool whose version `fromStack` has not verified. */
export function checkVerified(pools: GatedPool[], verified: unknown, fromStack: string, thisStack?: string): void {
  const problems = unverifiedPools(pools, verified, fromStack, thisStack);
  if (problems.length > 0) throw gateError(`nodepool-rotation:promotion.requireVerifiedIn: ${fromStack}`, problems);
}

function gateError(origin: string, problems: string[]): PromotionGateError {
  return new PromotionGateError(`promotion gate (${origin}) refused:\n${problems.map((p) => `  - ${p}`).join("\n")}`, problems);
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

/** A gate in the program: the sources' StackReferences and what they verified (rejects when the gate refused). */
export interface ProgramGate {
  references: pulumi.StackReference[];
  /** role -> version every source verified, for this stack's pools; REJECTS with `PromotionGateError` when the gate refused. */
  verified: pulumi.Output<VerifiedVersions>;
}

/**
 * Read every source's outputs through a StackReference and check `target` against `rule` (at the
 * time of the preview/update). Returns an Output that REJECTS with `PromotionGateError` when the
 * gate refused. Give it to the pools as `dependsOn` (via `gateDependency`) so no pool is registered
 * before the gate passed, and export it so the failure is reported even if nothing else depends on
 * it. Known in previews (outputs are read from the backend), so a PR preview already fails.
 */
export function requireVerifiedBy(
  target: GatedStack,
  rule: GateRule,
  opts?: pulumi.CustomResourceOptions,
  now: () => Date = () => new Date(),
  running?: pulumi.Input<Record<string, string> | undefined>,
): ProgramGate {
  const references = rule.sources.map((s) => new pulumi.StackReference(`promotion-gate-${s}`, { name: stackReferenceName(s) }, opts));
  const read = (name: string) => pulumi.all(references.map((r) => r.getOutput(name)));
  const verified = pulumi
    .all([read(VERIFIED_OUTPUT), read(VERIFIED_CONTROL_PLANE_OUTPUT), read(VERIFIED_AT_OUTPUT), pulumi.output(running)])
    .apply(([versions, cps, ats, live]) => {
      const outputs = rule.sources.map((stack, i) => ({ stack, verifiedVersions: versions[i], verifiedControlPlane: cps[i], verifiedAt: ats[i] }));
      const problems = gateProblems({ ...target, running: target.running ?? (live as Record<string, string> | undefined) }, rule, outputs, now());
      if (problems.length > 0) throw gateError(rule.origin, problems);
      return Object.fromEntries(target.pools.map((p) => [p.role, p.version])) as VerifiedVersions;
    });
  return { references, verified };
}

/**
 * The single-source gate of `nodepool-rotation:promotion.requireVerifiedIn` on pools alone (no
 * control plane, no soak): `requireVerifiedBy` with one source.
 */
export function requireVerifiedIn(pools: GatedPool[], fromStack: string, opts?: pulumi.CustomResourceOptions): ProgramGate & { reference: pulumi.StackReference } {
  const gate = requireVerifiedBy(
    { stack: pulumi.getStack(), pools },
    { sources: [fromStack], soakMs: 0, soak: "0", origin: `nodepool-rotation:promotion.requireVerifiedIn: ${fromStack}` },
    opts,
  );
  return { ...gate, reference: gate.references[0] };
}

/**
 * `dependsOn` value that resolves to the StackReference once the gate passed and rejects (failing
 * the dependent's registration, so it is never created or replaced) when it refused.
 */
export function gateDependency(gate: ProgramGate): pulumi.Output<pulumi.Resource[]> {
  return gate.verified.apply(() => gate.references as pulumi.Resource[]);
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

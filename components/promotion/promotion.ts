/**
 * The one promotion rule behind `npm run promote -- --from S --to T` and `npm run fleet -- promote
 * --wave N`: write the target stacks' files from what EVERY source stack has verified.
 *
 * Refused (nothing written, every problem named with its stack) unless each source
 *  - has converged: no resource pending deletion or replacement, no interrupted operation
 *    (stackState.ts: read from `pulumi stack export`, since neither outputs nor previews show a
 *    failed drain);
 *  - has verified what its file says: its `verifiedVersions` output equals its file's version for
 *    every role being promoted, and it exports `verifiedControlPlane` when a target creates its
 *    cluster;
 *  - agrees with the other sources: one version per role, one control-plane version;
 *  - has soaked: the soak (the sources' wave in fleet.yaml) has elapsed since the LAST of them
 *    finished its rotation (`rotatedAt`, stackState.ts says which field and why). The refusal
 *    says when the soak ends. A rollback (every changed pool goes down) does not wait for it.
 * What is written per target: the control-plane version the sources run, where the target creates
 * its cluster (controlPlane.ts: never lowered, one minor at a time), then each shared role's
 * version (rotatePool.ts: new `rotatedOn`, unique name). Targets are edited in memory first and
 * saved only when every one of them was edited without error.
 */
import * as path from "node:path";
import { compareGkeVersions } from "../naming";
import { ControlPlaneResult, raiseControlPlane } from "./controlPlane";
import { RefusedError } from "./cliSupport";
import { formatDuration } from "./fleetPlan";
import { unifiedDiff } from "./diff";
import { RotateResult, rotatePool, validateFile } from "./rotatePool";
import { StackFile, StackFileError, stackFilePath } from "./stackFile";
import { asVerified, SourceState } from "./stackState";
import type { StackConfig } from "../config";
import type { VerifiedVersions } from "./gate";

/** Options of one promotion. */
export interface PromotionOptions {
  /** Stacks whose verified versions are promoted (every one must have verified them). */
  sources: string[];
  /** Stacks whose files are written. */
  targets: string[];
  /** Roles to promote (default: each target's roles that the sources have). */
  roles?: string[];
  /** Soak after the sources' last rotation (0 = none), and its label for messages (`24h (wave staging)`). */
  soakMs?: number;
  soakLabel?: string;
  /** Rotation day written to promoted pools' `rotatedOn`. */
  date: string;
  /** Directory of the stack files. */
  dir: string;
  /** Promote even when checks fail (each overridden problem is returned in `forced`). */
  force?: boolean;
  /** Compute and diff, write nothing. */
  dryRun?: boolean;
  /** Reads a source stack's state (`pulumi stack export`). */
  readState: (stack: string) => SourceState;
  /** The clock (soak). */
  now: Date;
  /** Added to the refusal (how to override, what else still guards). */
  refusalHint?: string;
  /** Read and judge the sources even when the target files already match them (CI's check before an update). */
  alwaysCheck?: boolean;
}

/** What happened to one target stack. */
export interface TargetResult {
  stack: string;
  file: string;
  /** The control plane's change (absent when the target adopts its cluster or already runs the sources' version). */
  controlPlane?: ControlPlaneResult;
  /** One entry per promoted (changed) pool. */
  promoted: RotateResult[];
  /** Roles already at the sources' version. */
  unchanged: string[];
  /** Roles of the target no source has (not promoted; pool definitions are per environment). */
  skipped: string[];
  diff: string;
  written: boolean;
}

/** Outcome of a promotion. */
export interface PromotionResult {
  targets: TargetResult[];
  /** role -> version promoted (what every source verified). */
  versions: VerifiedVersions;
  /** Control-plane version the sources run (undefined when no source exports one). */
  controlPlane?: string;
  /** Verification problems overridden by force (empty otherwise). */
  forced: string[];
  /** When the sources' soak ended (undefined without soak or timestamps). */
  soakEndedAt?: Date;
  /** A soak applied but was not waited for: every changed pool goes down (a rollback). */
  soakWaived?: boolean;
}

interface Source {
  stack: string;
  file: StackFile;
  cfg: StackConfig;
  state?: SourceState;
}

/** Promote per `opts`. Throws `RefusedError`/`StackFileError` (nothing written) on refusal or bad input. */
export function promoteStacks(opts: PromotionOptions): PromotionResult {
  const sources: Source[] = opts.sources.map((stack) => {
    const file = StackFile.load(stackFilePath(opts.dir, stack));
    return { stack, file, cfg: validateFile(file, stack, "is invalid (fix it first)") };
  });
  const targets = opts.targets.map((stack) => {
    const file = StackFile.load(stackFilePath(opts.dir, stack));
    return { stack, file, cfg: validateFile(file, stack, "is invalid before any change (fix it first)") };
  });
  const problems: string[] = [];
  const wantedRoles = new Set(opts.roles ?? targets.flatMap((t) => t.cfg.pools.map((p) => p.role)));

  // Judged by the files alone, would anything change? If not, no state needs reading.
  const differs = targets.some((t) =>
    sources.some(
      (s) =>
        (t.cfg.cluster.create && s.cfg.cluster.controlPlaneVersion !== t.cfg.cluster.controlPlaneVersion) ||
        s.cfg.pools.some((p) => wantedRoles.has(p.role) && t.cfg.pools.some((q) => q.role === p.role && q.version !== p.version)),
    ),
  );
  if (!differs && !opts.alwaysCheck) {
    const unchangedTarget = (t: (typeof targets)[number]): TargetResult => {
      const roles = t.cfg.pools.map((p) => p.role).filter((r) => wantedRoles.has(r));
      const have = new Set(sources.flatMap((s) => s.cfg.pools.map((p) => p.role)));
      return { stack: t.stack, file: t.file.file, promoted: [], unchanged: roles.filter((r) => have.has(r)), skipped: roles.filter((r) => !have.has(r)), diff: "", written: false };
    };
    return { targets: targets.map(unchangedTarget), versions: {}, forced: [] };
  }

  // Each source's state: converged, and verified what its file says.
  for (const src of sources) {
    try {
      src.state = opts.readState(src.stack);
    } catch (e) {
      if (!opts.force) throw e;
      problems.push(`could not read ${src.stack}'s state: ${(e as Error).message}`);
    }
  }
  const versions: VerifiedVersions = {};
  const versionFrom: Record<string, string> = {};
  for (const src of sources) {
    const state = src.state;
    if (!state) continue;
    for (const p of state.unconverged) problems.push(`${src.stack} has not converged: ${p}`);
    if (state.verifiedVersions === undefined) {
      problems.push(`${src.stack} has no verifiedVersions output: run pulumi up on ${src.stack} with this program first`);
      continue;
    }
    const verified = asVerified(state.verifiedVersions, `${src.stack}'s verifiedVersions output`);
    for (const pool of src.cfg.pools.filter((p) => wantedRoles.has(p.role))) {
      if (verified[pool.role] !== pool.version) {
        problems.push(
          `pool "${pool.role}": ${src.stack} has ${pool.version} in ${path.basename(src.file.file)} but has verified ${verified[pool.role] ?? "no version"} for it — ` +
            `run pulumi up on ${src.stack} until it succeeds (the old pool drained and deleted), then promote again`,
        );
        continue;
      }
      const seen = versions[pool.role];
      if (seen !== undefined && seen !== pool.version) {
        problems.push(`pool "${pool.role}": ${versionFrom[pool.role]} runs ${seen} but ${src.stack} runs ${pool.version} — a wave promotes one version per role: bring its stacks to one version first`);
      } else if (seen === undefined) {
        versions[pool.role] = pool.version;
        versionFrom[pool.role] = src.stack;
      }
    }
  }

  // The control plane, where a target creates its cluster.
  let controlPlane: string | undefined;
  let cpFrom: string | undefined;
  const cpNeeded = targets.some((t) => t.cfg.cluster.create);
  for (const src of sources) {
    if (!src.state) continue;
    const cp = src.state.verifiedControlPlane;
    if (typeof cp !== "string") {
      if (cpNeeded && src.state.verifiedVersions !== undefined) {
        problems.push(`${src.stack} has no verifiedControlPlane output (the control-plane version its cluster runs): run pulumi up on ${src.stack} with this program first`);
      }
      continue;
    }
    if (controlPlane !== undefined && cp !== controlPlane) {
      problems.push(`control plane: ${cpFrom} runs ${controlPlane} but ${src.stack} runs ${cp} — a wave promotes one control-plane version: bring its clusters to one version first`);
    } else if (controlPlane === undefined) {
      [controlPlane, cpFrom] = [cp, src.stack];
    }
  }

  // The soak, from the last of the sources' rotations — not for a rollback: when every pool that
  // changes goes DOWN from what its target runs, the version soaked before and a bad one must not
  // stay for the length of a soak (the gate makes the same exception, gate.ts isRollback).
  const moves = targets.flatMap((t) => t.cfg.pools.filter((p) => versions[p.role] !== undefined && versions[p.role] !== p.version).map((p) => compareGkeVersions(versions[p.role], p.version)));
  const rollback = moves.length > 0 && moves.every((m) => m < 0);
  let soakEndedAt: Date | undefined;
  if ((opts.soakMs ?? 0) > 0 && !rollback) {
    const times = sources.filter((s) => s.state).map((s) => ({ stack: s.stack, at: s.state!.rotatedAt }));
    for (const t of times.filter((x) => !x.at)) {
      problems.push(`${t.stack}: its state has no created/modified timestamps for its node pools, so its soak cannot be judged — export it with a Pulumi CLI from 2023 or later`);
    }
    const dated = times.filter((x) => x.at) as { stack: string; at: Date }[];
    if (dated.length === times.length && dated.length > 0) {
      const last = dated.reduce((a, b) => (b.at > a.at ? b : a));
      soakEndedAt = new Date(last.at.getTime() + opts.soakMs!);
      if (opts.now < soakEndedAt) {
        problems.push(
          `soak not over: ${last.stack} (the last of ${sources.map((s) => s.stack).join(", ")}) finished its rotation at ${last.at.toISOString()}; ` +
            `the ${opts.soakLabel ?? formatDuration(opts.soakMs!)} soak ends at ${soakEndedAt.toISOString()} (in ${formatDuration(soakEndedAt.getTime() - opts.now.getTime())}) — promote again after that`,
        );
      }
    }
  }

  if (problems.length > 0 && !opts.force) {
    throw new RefusedError(`not promoting to ${opts.targets.join(", ")}:\n${problems.map((p) => `  - ${p}`).join("\n")}${opts.refusalHint ? `\n  ${opts.refusalHint}` : ""}`);
  }
  // Under --force, a source that could not be verified still has its file's versions.
  if (opts.force) {
    for (const src of sources) for (const p of src.cfg.pools) if (wantedRoles.has(p.role) && versions[p.role] === undefined) versions[p.role] = p.version;
  }

  // Edit every target in memory; save only when all succeeded.
  const results: TargetResult[] = targets.map((t) => {
    let cp: ControlPlaneResult | undefined;
    if (t.cfg.cluster.create && controlPlane !== undefined && controlPlane !== t.cfg.cluster.controlPlaneVersion) {
      try {
        cp = raiseControlPlane(t.file, t.stack, controlPlane);
      } catch (e) {
        if (!(e instanceof StackFileError)) throw e;
        throw new StackFileError(`${t.stack}: cannot take control plane ${controlPlane} from ${cpFrom}: ${e.message} (nothing written)`);
      }
    }
    const roles = t.cfg.pools.map((p) => p.role).filter((r) => !opts.roles || opts.roles.includes(r));
    const promoted: RotateResult[] = [];
    const unchanged: string[] = [];
    const skipped: string[] = [];
    for (const role of roles) {
      const version = versions[role];
      if (version === undefined) {
        skipped.push(role);
        continue;
      }
      const r = rotatePool(t.file, t.stack, { role, version, date: opts.date, source: `${versionFrom[role] ?? opts.sources.join("/")}'s version` });
      if (r.changed) promoted.push(r);
      else unchanged.push(role);
    }
    const name = path.basename(t.file.file);
    return { stack: t.stack, file: t.file.file, controlPlane: cp, promoted, unchanged, skipped, diff: unifiedDiff(t.file.original, t.file.text, `a/${name}`, `b/${name}`), written: false };
  });
  if (!opts.dryRun) targets.forEach((t, i) => (results[i].written = t.file.save()));
  return { targets: results, versions, controlPlane, forced: opts.force ? problems : [], soakEndedAt, soakWaived: rollback && (opts.soakMs ?? 0) > 0 };
}

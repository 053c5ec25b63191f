/**
 * `npm run promote -- --from staging --to prod [--role R] [--date YYYY-MM-DD] [--state-file F] [--force] [--dry-run]`
 *
 * Copies the promotable fields of each pool — its GKE `version`, nothing else — from one stack file
 * to another, with the control-plane version the source's cluster runs where the target creates its
 * cluster (raised first), keeping the target's comments and formatting, and prints a reviewable diff.
 * The rule is promotion.ts's (`promoteStacks`, one source, one target); with a fleet.yaml the
 * source's wave must come before the target's and its soak applies.
 * Environment-specific fields (machine types, sizes, node counts, labels, taints, service accounts,
 * `revision`, the name history) are never copied. A promoted pool rotates in the target: its
 * `rotatedOn` becomes the promotion day (today UTC unless --date), and its name stays unique within
 * the target stack (same rule as bump).
 *
 * Refuses (nothing written) unless the source stack has converged — no resource pending deletion,
 * pending replacement or with an interrupted operation (a failed or interrupted drain) — and every
 * version being promoted is what it has verified: its `verifiedVersions` stack output (role ->
 * version the program rotated to). Both come from one read of the source's state: `pulumi stack
 * export --stack <from>`, or --state-file with that command's output (stackState.ts says why the
 * outputs and `preview --expect-no-changes` alone cannot tell). `--force` skips the checks and says so.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, Option } from "commander";
import { CliIo, processIo, RefusedError, runCommand } from "./cliSupport";
import { compareGkeVersions } from "../naming";
import type { ControlPlaneResult } from "./controlPlane";
import { findFleetPlan, loadFleetPlan, waveOf } from "./fleetPlan";
import { promoteStacks } from "./promotion";
import { RotateResult, utcDate, validateFile } from "./rotatePool";
import { StackFile, StackFileError, stackFilePath } from "./stackFile";
import { parseStackExport, SourceState, sourceState } from "./stackState";

import type { VerifiedVersions } from "./gate";
export type { VerifiedVersions };

/** Options of one promotion. */
export interface PromoteOptions {
  from: string;
  to: string;
  /** Roles to promote (default: every role present in both stacks). */
  roles?: string[];
  /** Rotation day written to promoted pools' `rotatedOn`; default today (UTC). */
  date?: string;
  /** Directory of the stack files. */
  dir: string;
  /** Promote even when the source has not verified the versions. */
  force?: boolean;
  /** Print the diff, write nothing. */
  dryRun?: boolean;
  /** Reads the source stack's state (`pulumi stack export`); only called when something would be promoted. */
  readState: (stack: string) => SourceState;
}

/** Outcome of a promotion. */
export interface PromoteResult {
  file: string;
  /** The control plane's change (the source's version, where the target creates its cluster). */
  controlPlane?: ControlPlaneResult;
  /** One entry per promoted (changed) pool. */
  promoted: RotateResult[];
  /** Roles already at the source's version. */
  unchanged: string[];
  /** Roles present in only one of the stacks (not promoted; pool definitions are per environment). */
  skipped: string[];
  /** Verification problems overridden by --force (empty otherwise). */
  forced: string[];
  /** The source wave's soak was not waited for: a rollback (every changed pool goes down). */
  soakWaived?: boolean;
  diff: string;
  written: boolean;
}

/** Promote versions from `opts.from` to `opts.to`. Throws (nothing written) on bad input or refusal. */
export function promote(opts: PromoteOptions, now: () => Date = () => new Date()): PromoteResult {
  if (opts.from === opts.to) throw new StackFileError(`--from and --to are both "${opts.from}"; promote from one stack to another`);
  const src = StackFile.load(stackFilePath(opts.dir, opts.from));
  const dst = StackFile.load(stackFilePath(opts.dir, opts.to));
  const srcCfg = validateFile(src, opts.from, "is invalid (fix it first)");
  const dstCfg = validateFile(dst, opts.to, "is invalid before any change (fix it first)");

  const gate = dstCfg.promotion?.requireVerifiedIn;
  if (gate !== undefined && gate !== opts.from && !opts.force) {
    throw new RefusedError(
      `${dst.file} requires versions verified in "${gate}" (nodepool-rotation:promotion.requireVerifiedIn), but --from is "${opts.from}": ` +
        `promote from ${gate}, or --force (the prod gate in the program would still refuse at pulumi up)`,
    );
  }
  // With a wave plan: the source's wave must come before the target's, and its soak applies.
  const planFile = findFleetPlan(opts.dir);
  const plan = planFile ? loadFleetPlan(planFile) : undefined;
  const fromWave = plan && waveOf(plan, opts.from);
  const toWave = plan && waveOf(plan, opts.to);
  if (fromWave && toWave && fromWave.index >= toWave.index && !opts.force) {
    throw new RefusedError(`fleet.yaml puts ${opts.to} in wave "${toWave.name}" (${toWave.index}) and ${opts.from} in wave "${fromWave.name}" (${fromWave.index}): versions move from an earlier wave to a later one`);
  }

  const srcRoles = srcCfg.pools.map((p) => p.role);
  const dstRoles = dstCfg.pools.map((p) => p.role);
  let roles: string[];
  if (opts.roles && opts.roles.length > 0) {
    for (const role of opts.roles) {
      if (!srcRoles.includes(role)) throw new StackFileError(`--role ${role}: ${src.file} has no such pool (roles: ${srcRoles.join(", ")})`);
      if (!dstRoles.includes(role)) {
        throw new StackFileError(`--role ${role}: ${dst.file} has no such pool (roles: ${dstRoles.join(", ")}); promote copies versions, not pool definitions — add the pool to ${opts.to} by hand`);
      }
    }
    roles = [...new Set(opts.roles)];
  } else {
    roles = srcRoles.filter((r) => dstRoles.includes(r));
  }
  const skipped = opts.roles?.length ? [] : [...srcRoles.filter((r) => !dstRoles.includes(r)), ...dstRoles.filter((r) => !srcRoles.includes(r))];

  const r = promoteStacks({
    sources: [opts.from],
    targets: [opts.to],
    roles,
    soakMs: fromWave?.soakMs,
    soakLabel: fromWave ? `${fromWave.soak} (fleet.yaml, wave "${fromWave.name}")` : undefined,
    date: opts.date ?? utcDate(now()),
    dir: opts.dir,
    force: opts.force,
    dryRun: opts.dryRun,
    readState: opts.readState,
    now: now(),
    refusalHint: "(--force promotes anyway; the prod gate would still refuse unverified versions at pulumi up)",
  });
  const [t] = r.targets;
  return { file: t.file, controlPlane: t.controlPlane, promoted: t.promoted, unchanged: t.unchanged, skipped, forced: r.forced, diff: t.diff, written: t.written, soakWaived: r.soakWaived };
}

/**
 * Read a stack's state with the Pulumi CLI (`pulumi stack export --stack <stack>`, run in the
 * project directory; the backend must be logged in). No pulumi on PATH or a failing command is a
 * refusal naming --state-file, the offline way.
 */
export function readStateWithPulumi(dir: string): (stack: string) => SourceState {
  return (stack) => {
    const args = ["stack", "export", "--stack", stack];
    let out: string;
    try {
      out = execFileSync("pulumi", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string };
      const why = err.code === "ENOENT" ? "the pulumi CLI is not on PATH" : (err.stderr || err.message).trim();
      throw new RefusedError(
        `cannot read ${stack}'s state (pulumi ${args.join(" ")}): ${why} — ` +
          `log in to the backend first, or pass --state-file with the output of that command`,
      );
    }
    return sourceState(parseStackExport(out, `pulumi ${args.join(" ")}`), stack);
  };
}

/** Read a `pulumi stack export` file (for offline use) as the state of `stack`. */
export function readStateFile(file: string, label: string): (stack: string) => SourceState {
  return (stack) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new StackFileError(`--state-file: cannot read ${file}: ${(e as Error).message}`);
    }
    return sourceState(parseStackExport(text, `--state-file ${label}`), stack);
  };
}

/** The commander program for `npm run promote`. */
export function promoteCommand(io: CliIo): Command {
  return new Command("promote")
    .description("Copy pool versions (only) from one stack file to another, keeping comments; refuses unverified versions and an unconverged source")
    .requiredOption("--from <stack>", "source stack (e.g. staging)")
    .requiredOption("--to <stack>", "target stack (e.g. prod)")
    .addOption(new Option("--role <role...>", "only these roles (default: every role in both stacks)"))
    .option("--date <YYYY-MM-DD>", "rotation day for promoted pools (default: today, UTC)")
    .option("--state-file <path>", "the source's state as written by `pulumi stack export --stack <from>`; default: run that command")
    .option("--force", "promote even if the source has not converged or not verified the versions")
    .option("--dir <path>", "directory holding the stack files", ".")
    .option("--dry-run", "print the diff; write nothing")
    .action((o: { from: string; to: string; role?: string[]; date?: string; stateFile?: string; force?: boolean; dir: string; dryRun?: boolean }) => {
      const dir = path.resolve(io.cwd, o.dir);
      const readState = o.stateFile ? readStateFile(path.resolve(io.cwd, o.stateFile), o.stateFile) : readStateWithPulumi(dir);
      const r = promote({ from: o.from, to: o.to, roles: o.role, date: o.date, dir, force: o.force, dryRun: o.dryRun, readState }, io.now);
      for (const p of r.forced) io.err(`warning (--force): ${p}`);
      if (r.soakWaived) io.err(`note: a rollback (every pool that changes goes down): ${o.from}'s soak in fleet.yaml is not waited for`);
      for (const role of r.skipped) io.err(`note: pool "${role}" exists in only one of ${o.from}/${o.to}; not promoted`);
      for (const role of r.unchanged) io.err(`pool "${role}": ${o.to} already runs ${o.from}'s version`);
      if (r.promoted.length === 0 && !r.controlPlane) {
        io.err(`nothing to promote from ${o.from} to ${o.to}`);
        return;
      }
      io.out(r.diff.trimEnd());
      if (r.controlPlane) io.out(`control plane: ${r.controlPlane.oldVersion} -> ${r.controlPlane.newVersion}`);
      for (const p of r.promoted) {
        io.out(`${p.role}: ${p.oldVersion} -> ${p.newVersion}: ${p.oldName} -> ${p.newName}`);
        if (compareGkeVersions(p.newVersion, p.oldVersion) < 0) io.err(`note: pool "${p.role}" goes DOWN to ${p.newVersion} (${o.from} runs an older version than ${o.to})`);
      }
      io.err(r.written ? `wrote ${r.file}; review, commit, and pulumi up -s ${o.to}` : `dry run: ${r.file} not written`);
    });
}

/** Run the promote CLI with `argv` (user arguments); returns the exit code. */
export function main(argv: string[], io: CliIo = processIo): Promise<number> {
  return runCommand(promoteCommand(io), argv, io);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

/**
 * `npm run bump -- --stack staging --role app --version 1.35.2-gke.1269000 [--date YYYY-MM-DD]`
 * `npm run bump -- --stack staging --role app --rotate`
 * `npm run bump -- --stack staging --control-plane 1.35.3-gke.1100000 [--role app --version 1.35.3-gke.1100000]`
 *
 * Edits `Pulumi.<stack>.yaml` in place (comments, order and formatting kept): sets the pool's
 * `version` and `rotatedOn` (today in UTC unless --date), keeps the pool name unique within the
 * stack (`revision` + `poolNameHistory`, see rotatePool.ts) and prints `old-name -> new-name`.
 * With --control-plane it raises `cluster.controlPlaneVersion` first (controlPlane.ts), so one command
 * can move the control plane and a pool to a newer `-gke.N` build together.
 * Nothing is written when anything is wrong, or with --dry-run (which prints the diff instead).
 */
import * as path from "node:path";
import { Command, Option } from "commander";
import { CliIo, processIo, runCommand } from "./cliSupport";
import { ControlPlaneResult, raiseControlPlane } from "./controlPlane";
import { unifiedDiff } from "./diff";
import { RotateResult, rotatePool, utcDate } from "./rotatePool";
import { PROJECT, StackFile, StackFileError, stackFilePath } from "./stackFile";

/** Options of one bump. */
export interface BumpOptions {
  stack: string;
  /** New control-plane version, applied before the pool change (if any). */
  controlPlane?: string;
  /** The pool to change; omit for a control-plane-only bump. */
  role?: string;
  /** New GKE version; omit with `rotate`. */
  version?: string;
  /** Fresh pool without a version change. */
  rotate?: boolean;
  /** Rotation day `YYYY-MM-DD`; default today (UTC) from `now`. */
  date?: string;
  /** Directory of the stack files (default: cwd). */
  dir: string;
  /** Print the diff, write nothing. */
  dryRun?: boolean;
}

/** Outcome of a bump: the pool's change, the file diff, and whether the file was written. */
export interface BumpResult {
  file: string;
  /** The pool's change (absent for a control-plane-only bump). */
  pool?: RotateResult;
  /** The control plane's change (absent without --control-plane). */
  controlPlane?: ControlPlaneResult;
  /** `promotion.requireVerifiedIn` of the stack, when it is gated (its versions should come from there). */
  gatedOn?: string;
  diff: string;
  written: boolean;
}

/** Bump the control plane and/or one pool of one stack file. Throws `StackFileError` (nothing written) on bad input. */
export function bump(opts: BumpOptions, now: () => Date = () => new Date()): BumpResult {
  const file = StackFile.load(stackFilePath(opts.dir, opts.stack));
  const controlPlane = opts.controlPlane !== undefined ? raiseControlPlane(file, opts.stack, opts.controlPlane) : undefined;
  const pool =
    opts.role !== undefined
      ? rotatePool(file, opts.stack, { role: opts.role, version: opts.version, rotate: opts.rotate, date: opts.date ?? utcDate(now()) })
      : undefined;
  const name = path.basename(file.file);
  const diff = unifiedDiff(file.original, file.text, `a/${name}`, `b/${name}`);
  const written = !opts.dryRun && file.save();
  const promotion = file.config()[`${PROJECT}:promotion`] as { requireVerifiedIn?: string } | undefined;
  return { pool, controlPlane, file: file.file, diff, written, gatedOn: promotion?.requireVerifiedIn };
}

/** The commander program for `npm run bump`. */
export function bumpCommand(io: CliIo): Command {
  const cmd: Command = new Command("bump")
    .description("Set a pool's GKE version (or rotate it) and/or the control-plane version in Pulumi.<stack>.yaml, keeping comments and formatting")
    .requiredOption("--stack <name>", "stack whose Pulumi.<stack>.yaml is edited (e.g. staging)")
    .option("--role <role>", "pool role (e.g. app)")
    .addOption(new Option("--version <gke-version>", "new exact GKE version, e.g. 1.35.2-gke.1269000").conflicts("rotate"))
    .option("--rotate", "fresh pool at the same version (new name, drain of the old pool)")
    .option("--control-plane <gke-version>", "raise nodepool-rotation:cluster.controlPlaneVersion (applied before the pool change)")
    .option("--date <YYYY-MM-DD>", "rotation day written to rotatedOn (default: today, UTC)")
    .option("--dir <path>", "directory holding the stack files", ".")
    .option("--dry-run", "print the change as a diff; write nothing")
    .action((o: { stack: string; role?: string; version?: string; rotate?: boolean; controlPlane?: string; date?: string; dir: string; dryRun?: boolean }) => {
      const poolChange = o.version !== undefined || o.rotate;
      if (o.role === undefined && (poolChange || o.controlPlane === undefined)) {
        cmd.error(`error: give --role <role> with --version <gke-version> or --rotate, and/or --control-plane <gke-version>`, { exitCode: 2, code: "nodepool-rotation.usage" });
      }
      if (o.role !== undefined && !poolChange) {
        throw new StackFileError(`--role ${o.role}: give --version <gke-version> (e.g. 1.35.2-gke.1269000) or --rotate`);
      }
      const r = bump({ ...o, dir: path.resolve(io.cwd, o.dir) }, io.now);
      const cp = r.controlPlane;
      if (cp && !cp.changed) io.err(`control plane in ${r.file} is already at ${cp.newVersion}; nothing to do for it`);
      if (r.pool && !r.pool.changed) io.err(`pool "${r.pool.role}" in ${r.file} is already at ${r.pool.newVersion} (${r.pool.newName}); nothing to do (use --rotate for a fresh pool)`);
      if (!cp?.changed && !r.pool?.changed) return;
      if (o.dryRun) io.out(r.diff.trimEnd());
      if (cp?.changed) {
        io.out(`control plane: ${cp.oldVersion} -> ${cp.newVersion}`);
        if (cp.adopted) io.err(`note: cluster.create is false: pulumi up does not upgrade an adopted cluster's control plane (upgrade it in GKE, e.g. gcloud container clusters upgrade --master --cluster-version ${cp.newVersion}); the program checks pools against the live version`);
      }
      const p = r.pool;
      if (p?.changed) {
        io.out(`${p.oldName} -> ${p.newName}`);
        if (p.revision !== undefined) io.err(`note: revision ${p.revision} set: without it the new name would repeat one this stack already used (same-day rollback or re-rotation)`);
        if (r.gatedOn && p.newVersion !== p.oldVersion) {
          io.err(`note: ${o.stack} only runs versions verified in ${r.gatedOn} (promotion.requireVerifiedIn); pulumi up will refuse ${p.newVersion} unless ${r.gatedOn} has verified it — the usual path is npm run promote -- --from ${r.gatedOn} --to ${o.stack}`);
        }
      }
      if (o.dryRun) io.err(`dry run: ${r.file} not written`);
    });
  return cmd;
}

/** Run the bump CLI with `argv` (user arguments); returns the exit code. */
export function main(argv: string[], io: CliIo = processIo): Promise<number> {
  return runCommand(bumpCommand(io), argv, io);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

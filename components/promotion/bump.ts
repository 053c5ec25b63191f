/**
 * `npm run bump -- --stack staging --role app --version 1.31.4-gke.1100 [--date YYYY-MM-DD]`
 * `npm run bump -- --stack staging --role app --rotate`
 *
 * Edits `Pulumi.<stack>.yaml` in place (comments, order and formatting kept): sets the pool's
 * `version` and `rotatedOn` (today in UTC unless --date), keeps the pool name unique within the
 * stack (`revision` + `poolNameHistory`, see rotatePool.ts) and prints `old-name -> new-name`.
 * Nothing is written when anything is wrong, or with --dry-run (which prints the diff instead).
 */
import * as path from "node:path";
import { Command, Option } from "commander";
import { CliIo, processIo, runCommand } from "./cliSupport";
import { unifiedDiff } from "./diff";
import { RotateResult, rotatePool, utcDate } from "./rotatePool";
import { PROJECT, StackFile, StackFileError, stackFilePath } from "./stackFile";

/** Options of one bump. */
export interface BumpOptions {
  stack: string;
  role: string;
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
export interface BumpResult extends RotateResult {
  file: string;
  /** `promotion.requireVerifiedIn` of the stack, when it is gated (its versions should come from there). */
  gatedOn?: string;
  diff: string;
  written: boolean;
}

/** Bump one pool of one stack file. Throws `StackFileError` (nothing written) on bad input. */
export function bump(opts: BumpOptions, now: () => Date = () => new Date()): BumpResult {
  const file = StackFile.load(stackFilePath(opts.dir, opts.stack));
  const result = rotatePool(file, opts.stack, {
    role: opts.role,
    version: opts.version,
    rotate: opts.rotate,
    date: opts.date ?? utcDate(now()),
  });
  const name = path.basename(file.file);
  const diff = unifiedDiff(file.original, file.text, `a/${name}`, `b/${name}`);
  const written = !opts.dryRun && file.save();
  const promotion = file.config()[`${PROJECT}:promotion`] as { requireVerifiedIn?: string } | undefined;
  return { ...result, file: file.file, diff, written, gatedOn: promotion?.requireVerifiedIn };
}

/** The commander program for `npm run bump`. */
export function bumpCommand(io: CliIo): Command {
  return new Command("bump")
    .description("Set a pool's GKE version (or rotate it) in Pulumi.<stack>.yaml, keeping comments and formatting")
    .requiredOption("--stack <name>", "stack whose Pulumi.<stack>.yaml is edited (e.g. staging)")
    .requiredOption("--role <role>", "pool role (e.g. app)")
    .addOption(new Option("--version <gke-version>", "new exact GKE version, e.g. 1.31.4-gke.1100").conflicts("rotate"))
    .option("--rotate", "fresh pool at the same version (new name, drain of the old pool)")
    .option("--date <YYYY-MM-DD>", "rotation day written to rotatedOn (default: today, UTC)")
    .option("--dir <path>", "directory holding the stack files", ".")
    .option("--dry-run", "print the change as a diff; write nothing")
    .action((o: { stack: string; role: string; version?: string; rotate?: boolean; date?: string; dir: string; dryRun?: boolean }) => {
      if (o.version === undefined && !o.rotate) {
        throw new StackFileError("give --version <gke-version> (e.g. 1.31.4-gke.1100) or --rotate");
      }
      const r = bump({ ...o, dir: path.resolve(io.cwd, o.dir) }, io.now);
      if (!r.changed) {
        io.err(`pool "${r.role}" in ${r.file} is already at ${r.newVersion} (${r.newName}); nothing to do (use --rotate for a fresh pool)`);
        return;
      }
      if (o.dryRun) io.out(r.diff.trimEnd());
      io.out(`${r.oldName} -> ${r.newName}`);
      if (r.revision !== undefined) io.err(`note: revision ${r.revision} set: without it the new name would repeat one this stack already used (same-day rollback or re-rotation)`);
      if (r.gatedOn && r.newVersion !== r.oldVersion) {
        io.err(`note: ${o.stack} only runs versions verified in ${r.gatedOn} (promotion.requireVerifiedIn); pulumi up will refuse ${r.newVersion} unless ${r.gatedOn} has verified it — the usual path is npm run promote -- --from ${r.gatedOn} --to ${o.stack}`);
      }
      if (o.dryRun) io.err(`dry run: ${r.file} not written`);
    });
}

/** Run the bump CLI with `argv` (user arguments); returns the exit code. */
export function main(argv: string[], io: CliIo = processIo): Promise<number> {
  return runCommand(bumpCommand(io), argv, io);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

/**
 * What bump/promote share as command-line tools: where output goes, the clock, and how an error
 * becomes an exit code. Injected so tests run the real CLI in-process without the real date.
 */
import { Command, CommanderError } from "commander";
import { StackFileError } from "./stackFile";

/** The CLI's outside world. */
export interface CliIo {
  /** Normal output (stdout). */
  out(line: string): void;
  /** Errors and notes (stderr). */
  err(line: string): void;
  /** The clock; only used for "today (UTC)" when --date is not given. */
  now(): Date;
  /** Working directory: stack files are looked up here unless --dir. */
  cwd: string;
}

/** The process's stdout/stderr, real clock and cwd. */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(line.endsWith("\n") ? line : line + "\n"),
  err: (line) => process.stderr.write(line.endsWith("\n") ? line : line + "\n"),
  now: () => new Date(),
  cwd: process.cwd(),
};

/**
 * Parse `argv` (user arguments only, no node/script) with `program` and run its action.
 * Returns the exit code: 0 ok, 1 refused/bad input (message on err), 2 usage error.
 */
export async function runCommand(program: Command, argv: string[], io: CliIo): Promise<number> {
  program.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof StackFileError || e instanceof RefusedError) {
      io.err(`error: ${e.message}`);
      return 1;
    }
    io.err(`error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

/** A deliberate refusal (e.g. promoting an unverified version without --force). */
export class RefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}

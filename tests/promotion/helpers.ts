/** Shared test helpers for the promotion specs: temp copies of stack files, in-process CLI runs. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CliIo } from "../../components/promotion/cliSupport";

export const FIXTURES = path.join(__dirname, "fixtures");
export const REPO = path.resolve(__dirname, "../..");

/** A fresh temp dir holding copies of the fixture stack files (or `from`'s Pulumi.*.yaml). */
export function tempStacks(from = FIXTURES): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-spec-"));
  for (const f of fs.readdirSync(from)) {
    if (/^Pulumi\.[^.]+\.yaml$/.test(f)) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  }
  return dir;
}

/**
 * Every stack file in `dir` (and any temp file the writer could leave: `.Pulumi.*.tmp`) with its
 * bytes: compare before/after to prove nothing was written or left behind.
 */
export function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((f) => /^\.?Pulumi\./.test(f))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
  );
}

export function read(dir: string, stack: string): string {
  return fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8");
}

/** Run a CLI `main` in-process with a fixed clock; returns exit code and captured output. */
export async function runCli(
  main: (argv: string[], io: CliIo) => Promise<number>,
  argv: string[],
  opts: { cwd: string; now?: string },
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    now: () => new Date(opts.now ?? "2026-11-22T10:00:00Z"),
    cwd: opts.cwd,
  };
  const code = await main(argv, io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/**
 * `npm run rehearse [-- --scenario FILE] [--no-drain] [--json] [--out DIR]`
 *
 * Rehearses a node pool version bump end to end on the Kubernetes API simulator with the real
 * code (naming, the PoolDrainer's serialized delete(), the engine) and proves — or disproves —
 * zero downtime: a timeline, a summary and an SVG picture. Progress goes to stderr; with --json
 * stdout carries exactly one JSON document.
 *
 * Exit code: 0 when the run completed and, with the drain, showed zero downtime; 1 when the drain
 * run showed an outage (the claim failed) or the drain failed (the old pool is then kept, as Pulumi
 * keeps it); 2 on an error. A --no-drain run that shows the outage
 * exits 0: the outage is the expected demonstration.
 */
import { Command } from "commander";
import * as path from "node:path";
import { formatSummary } from "./report";
import { runRehearsal } from "./run";
import { DEFAULT_SCENARIO_FILE } from "./scenario";

/** Parses argv and runs; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("rehearse")
    .description("Rehearse a node pool version bump on the simulator and measure availability throughout.")
    .option("--scenario <file>", "scenario YAML; its single pool is the old pool (default: tests/rehearsal/default-scenario.yaml)")
    .option("--no-drain", "skip the drain: delete the old pool directly, as GKE does (shows the outage)")
    .option("--json", "print the result as one JSON document on stdout (progress stays on stderr)")
    .option("--out <dir>", "directory for the SVG timeline (default: <tmp>/nodepool-rotation-rehearsal)")
    .exitOverride();
  try {
    program.parse(argv, { from: "user" });
  } catch (e: any) {
    // --help exits 0; a usage error (unknown flag, missing value) is an error: 2.
    return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
  }
  const o = program.opts<{ scenario?: string; drain: boolean; json: boolean; out?: string }>();
  const log = (line: string) => process.stderr.write(line + "\n");
  // With --json, stdout carries exactly one document: anything a library prints goes to stderr.
  const consoleLog = console.log;
  if (o.json) console.log = (...args: unknown[]) => console.error(...args);
  try {
    // `npm run` changes to the package directory; relative paths mean the caller's directory.
    const base = process.env.INIT_CWD ?? process.cwd();
    const result = await runRehearsal({
      scenarioFile: o.scenario === undefined ? DEFAULT_SCENARIO_FILE : path.resolve(base, o.scenario),
      noDrain: !o.drain,
      outDir: o.out === undefined ? undefined : path.resolve(base, o.out),
      log,
    });
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    else process.stdout.write(formatSummary(result) + "\n");
    return result.mode === "drain" && (!result.verdict.zeroDowntime || !result.completed) ? 1 : 0;
  } catch (e: any) {
    process.stderr.write(`rehearse: ${e?.message ?? e}\n`);
    return 2;
  } finally {
    console.log = consoleLog;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

/**
 * `npm run rehearse [-- --scenario FILE] [--no-drain] [--default-budget B] [--block ROLE [--retry]] [--json] [--out DIR]`
 * `npm run rehearse -- --compare [--scenario FILE] [--json] [--out DIR]`
 * `npm run rehearse -- --write-docs`
 * `npm run rehearse -- --rollback [--json]` (docs/promotion.md's rollback runbook; tests/rehearsal/rollback.ts)
 *
 * Rehearses a node pool version bump of every role in a scenario end to end on the Kubernetes API
 * simulator with the real code (naming, the PoolDrainer's serialized delete(), the engine, in the
 * Pulumi engine's order) and proves — or disproves — zero downtime: a timeline, a summary and an
 * SVG picture. Progress goes to stderr; with --json stdout carries exactly one JSON document.
 * `--write-docs` runs the documented set of rehearsals and regenerates docs/proof/ (pictures and
 * figures.json) and the generated block of docs/proof.md: the one place the figures come from.
 * `--compare` runs the same rotation through this tool, GKE's surge, blue-green and autoscaled
 * blue-green upgrades, its pool deletion and `kubectl drain` node by node (tests/rehearsal/compare.ts)
 * and prints one table; it exits 0 when this tool's row shows no outage and no broken floor.
 *
 * Exit code: 0 when the run showed what it should (with the drain: zero downtime and every drain
 * done except the `--block`ed ones; a `--no-drain` or `--default-budget none` run may show the
 * outage of what nothing protected, which is the demonstration); 1 when it did not (an outage of a
 * protected workload, a broken floor, an unexpected drain failure); 2 on an error.
 */
import { Command } from "commander";
import * as path from "node:path";
import { formatCompare, runCompare } from "./compare";
import { writeDocs } from "./figures";
import { formatSummary } from "./report";
import { claimHeld, runRehearsal } from "./run";
import { formatRollback, rollbackHeld, runRollbackRehearsal } from "./rollback";
import { DEFAULT_SCENARIO_FILE } from "./scenario";

/** Parses argv and runs; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("rehearse")
    .description("Rehearse a node pool version bump on the simulator and measure availability throughout.")
    .option("--scenario <file>", "scenario YAML; each of its pools (one per role) is rotated (default: tests/rehearsal/default-scenario.yaml)")
    .option("--no-drain", "skip the drain: delete the old pools directly, as GKE does (shows the outage)")
    .option("--default-budget <budget>", 'override every role\'s drain.defaultBudget (N, "N%" or "none": shows what the implicit budget protects)')
    .option("--block <role>", "block that role's drain with a PDB allowing no disruption (repeatable): shows what the engine deletes and keeps", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--retry", "with --block: then apply the operator's fix (scale the blocked workload up by one) and run the next pulumi up, which retries the pending deletes")
    .option("--rollback", "rehearse docs/promotion.md's rollback runbook instead: a bad version whose nodes break readiness, then the engine's drain of the bad pool + the rollback bump")
    .option("--json", "print the result as one JSON document on stdout (progress stays on stderr)")
    .option("--out <dir>", "directory for the SVG timeline (default: <tmp>/nodepool-rotation-rehearsal)")
    .option("--compare", "run the same rotation through this tool, GKE's surge / blue-green / autoscaled blue-green upgrades, GKE's pool deletion and kubectl drain node by node, and print one table")
    .option("--write-docs", "run the documented rehearsals and the comparison, and regenerate docs/proof/ (pictures, figures.json), docs/proof.md's figures and the README headline")
    .exitOverride();
  try {
    program.parse(argv, { from: "user" });
  } catch (e: any) {
    // --help exits 0; a usage error (unknown flag, missing value) is an error: 2.
    return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
  }
  const o = program.opts<{ scenario?: string; drain: boolean; defaultBudget?: string; block: string[]; retry?: boolean; rollback?: boolean; compare?: boolean; json: boolean; out?: string; writeDocs?: boolean }>();
  const log = (line: string) => process.stderr.write(line + "\n");
  // With --json, stdout carries exactly one document: anything a library prints goes to stderr.
  const consoleLog = console.log;
  if (o.json) console.log = (...args: unknown[]) => console.error(...args);
  try {
    if (o.writeDocs) {
      const others = [o.compare && "--compare", o.scenario && "--scenario", !o.drain && "--no-drain", o.defaultBudget && "--default-budget", o.block.length && "--block", o.retry && "--retry", o.json && "--json", o.out && "--out"].filter(Boolean);
      if (others.length) throw new Error(`--write-docs runs the documented set of rehearsals and takes no other option (got ${others.join(", ")}): run it alone`);
      const written = await writeDocs({ log });
      process.stdout.write(written.map((f) => `wrote ${f}`).join("\n") + "\n");
      return 0;
    }
    if (o.rollback) {
      const r = await runRollbackRehearsal({ log });
      process.stdout.write((o.json ? JSON.stringify(r, null, 2) : formatRollback(r)) + "\n");
      return rollbackHeld(r) ? 0 : 1;
    }
    // `npm run` changes to the package directory; relative paths mean the caller's directory.
    const base = process.env.INIT_CWD ?? process.cwd();
    if (o.compare) {
      const others = [!o.drain && "--no-drain", o.defaultBudget && "--default-budget", o.block.length && "--block", o.retry && "--retry"].filter(Boolean);
      if (others.length) throw new Error(`--compare runs every contender with its own settings and takes only --scenario, --json and --out (got ${others.join(", ")})`);
      const r = await runCompare({
        scenarioFile: o.scenario === undefined ? DEFAULT_SCENARIO_FILE : path.resolve(base, o.scenario),
        outDir: o.out === undefined ? undefined : path.resolve(base, o.out),
        log,
      });
      process.stdout.write((o.json ? JSON.stringify(r, null, 2) : formatCompare(r)) + "\n");
      const ours = r.rows.find((x) => x.id === "rotation");
      return ours && ours.outages.length === 0 && ours.belowFloor.length === 0 ? 0 : 1;
    }
    const result = await runRehearsal({
      scenarioFile: o.scenario === undefined ? DEFAULT_SCENARIO_FILE : path.resolve(base, o.scenario),
      noDrain: !o.drain,
      defaultBudget: o.defaultBudget,
      block: o.block,
      retry: o.retry,
      outDir: o.out === undefined ? undefined : path.resolve(base, o.out),
      log,
    });
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    else process.stdout.write(formatSummary(result) + "\n");
    return claimHeld(result) ? 0 : 1;
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

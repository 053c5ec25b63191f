/**
 * `npm run rotation -- plan|drain --kubeconfig PATH --pool NAME [--json] ...`
 * A thin door into the engine: parses flags, prints the plan or the drain summary.
 * Exit codes: 0 ok; 1 drain failed (nodes uncordoned unless --keep-cordoned); 2 bad usage or
 * unreadable kubeconfig; 3 plan has blockers.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import * as k8s from "@kubernetes/client-node";
import { DrainError, DrainOptions, DrainSummary, GKE_POOL_LABEL, isDrainError, Plan, PlanOptions } from "./types";
import { drainPool } from "./drain";
import { planPool } from "./index";
import { formatAvailability } from "./availability";
import { DrainEstimate, formatEstimate } from "./estimate";
import { DEFAULT_BUDGET, parseDefaultBudget } from "./budget";
import { errorText, missingExecCommand, statusOf } from "./client";
import { drainOptionProblem } from "./settings";

/** Parses "90s", "15m", "1h", "500ms" or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError(`expected a duration like 500ms, 90s, 15m or 1h (got "${text}")`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * mult);
}

/**
 * A flag parser checking the engine option it sets against the drain settings' one rule
 * (settings.ts drainOptionProblem): the same bounds as stack config and the PoolDrainer.
 */
function checked(option: "deadlineMs" | "concurrency" | "batchSoakMs" | "soakMs", parse: (text: string) => number): (text: string) => number {
  return (text) => {
    const v = parse(text);
    const problem = drainOptionProblem(option, v);
    if (problem) throw new InvalidArgumentError(`${problem} (from "${text}")`);
    return v;
  };
}

/** --batch: the drain settings' batch rule (settings.ts). */
function parseBatchFlag(text: string): string {
  const problem = drainOptionProblem("batch", text);
  if (problem) throw new InvalidArgumentError(problem);
  return text;
}

/** Loads a kubeconfig file (and context) or exits 2 with a clear message. */
function loadKubeConfig(path: string, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (e) {
    throw new UsageError(`--kubeconfig ${path}: cannot read it (${(e as Error)?.message ?? e}); pass the path of a kubeconfig file`);
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) throw new UsageError(`--context ${context}: not in ${path} (has: ${kc.getContexts().map((c) => c.name).join(", ")})`);
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) throw new UsageError(`--kubeconfig ${path}: no current context/cluster; pass --context NAME`);
  return kc;
}

class UsageError extends Error {}

/** --default-budget: the engine's one definition (budget.ts), as a commander usage error (exit 2, nothing changed). */
function parseBudgetFlag(text: string) {
  try {
    return parseDefaultBudget(text, "--default-budget");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The drain's text summary: one line of counts, then one line per moved workload's availability. */
export function formatDrainSummary(s: DrainSummary): string {
  return [`pool ${s.pool}: ${s.outcome}: ${s.evicted} evicted, ${s.waitedCompleted} completed, ${s.skipped} left alone, ${s.apiRequests ?? 0} API requests, ${(s.durationMs / 1000).toFixed(1)}s`,
    ...formatAvailability(s.availability ?? [])].join("\n");
}

/**
 * The first lines of a failed drain's report: `error: <what happened>`; a refusal lists its
 * blockers one per line, as `plan` does (the engine's detail joins them with "; " for one-line
 * doors), and the nodes' state (`Uncordoned …`) follows on its own line.
 */
export function formatDrainFailure(e: DrainError): string {
  const at = e.blockers.length ? e.detail.indexOf(e.blockers[0]) : -1;
  if (at <= 0) return `error: ${e.message}`;
  const head = e.detail.slice(0, at).replace(/[:;\s]+$/, "");
  const state = e.message.startsWith(e.detail) ? e.message.slice(e.detail.length).replace(/^\./, "").trim() : "";
  return [`error: ${head} (${e.blockers.length} blocker(s)):`, ...e.blockers.map((b) => `BLOCKER: ${b}`), ...(state ? [state] : [])].join("\n");
}

/** Human-readable plan (with the drain's estimated duration when the plan carries one). */
export function formatPlan(plan: Plan & { estimate?: DrainEstimate }): string {
  const lines: string[] = [];
  lines.push(`pool ${plan.pool}: ${plan.nodes.length} node(s); replacement (${plan.replacementSelector || "any other node"}): ${plan.replacementNodes.length} Ready node(s)`);
  const c = plan.counts;
  lines.push(`pods: ${c.evict} evict, ${c["wait-completed"]} wait for completion, ${c.terminating} terminating, ${c.stays} stay, ${c.ignored} completed, ${c.blocks} blocking`);
  let node = "";
  for (const p of plan.pods) {
    if (p.node !== node) { node = p.node; lines.push(`  node ${node}`); }
    lines.push(`    ${p.verdict.padEnd(14)} ${p.namespace}/${p.name}  ${p.reason}${p.pdb ? `  [pdb ${p.pdb}]` : ""}`);
  }
  if (plan.pdbs.length) {
    lines.push("PodDisruptionBudgets:");
    for (const b of plan.pdbs) lines.push(`  ${b.name}: ${b.healthy}/${b.pods} healthy, floor ${b.floor}, allows ${b.allowed} now, ${b.poolPods} pod(s) on the pool${b.neverAllows ? "  NEVER ALLOWS A DISRUPTION" : ""}`);
  }
  if (plan.implicitBudgets.length) {
    lines.push("Implicit budgets (workloads without a PodDisruptionBudget):");
    for (const b of plan.implicitBudgets) lines.push(`  ${b.workload}: ${b.healthy}/${b.replicas} Ready, floor ${b.floor} (maxUnavailable ${b.budget} = ${b.maxUnavailable}), ${b.poolPods} pod(s) on the pool`);
  }
  if (plan.estimate) lines.push(...formatEstimate(plan.estimate));
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  for (const b of plan.blockers) lines.push(`BLOCKER: ${b}`);
  lines.push(plan.blockers.length ? `result: the drain would refuse (${plan.blockers.length} blocker(s))` : `result: ready to drain${plan.fits ? "" : " (fit unknown)"}`);
  return lines.join("\n");
}

/** Builds the commander program (exported for tests of --help). */
export function buildProgram(out: { stdout: (s: string) => void; stderr: (s: string) => void; exit: (code: number) => void }): Command {
  const program = new Command("rotation")
    .description("Plan and drain a Kubernetes node pool with the Eviction API, honouring PodDisruptionBudgets.\nExit codes: 0 ok, 1 drain failed (nodes uncordoned unless --keep-cordoned), 2 bad usage, 3 plan has blockers.")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr });

  const common = (cmd: Command) => cmd
    .requiredOption("--kubeconfig <path>", "kubeconfig file to use (exec-auth ones work: gke-gcloud-auth-plugin)")
    .option("--context <name>", "kubeconfig context (default: the file's current-context)")
    .requiredOption("--pool <name>", "name of the old node pool (value of the pool label)")
    .option("--pool-label <key>", "node label holding the pool name", GKE_POOL_LABEL)
    .option("--replacement-selector <selector>", "label selector of replacement nodes (default: nodepool-rotation/role=<role of the pool's nodes>)")
    .option("--force", "evict pods that declare no controller (they are not recreated); never force-deletes")
    .option("--delete-emptydir-data", "evict pods with emptyDir volumes (their data is lost)")
    .option("--json", "print JSON on stdout (plan, or the drain summary) instead of text")
    .addOption(new Option("--default-budget <n|p%|none>", "implicit budget of workloads no PodDisruptionBudget selects: pods (\"2\"), a percentage of replicas (\"25%\", rounded up, at least 1), or \"none\" (evict them all at once, like kubectl)").default(DEFAULT_BUDGET).argParser(parseBudgetFlag));

  /** The options `common` declares, as commander parses them (camel-cased flag names). */
  interface CommonFlags { pool: string; poolLabel?: string; replacementSelector?: string; force?: boolean; deleteEmptydirData?: boolean; defaultBudget?: PlanOptions["defaultBudget"] }
  const planOpts = (o: CommonFlags): PlanOptions => ({
    pool: o.pool, poolLabel: o.poolLabel, replacementSelector: o.replacementSelector, force: o.force, deleteEmptyDirData: o.deleteEmptydirData,
    defaultBudget: o.defaultBudget,
  });

  common(program.command("plan").description("Read-only: per pod a verdict and reason, fit on the replacement, PDB and DaemonSet checks, and how long the drain would take (a range, with its assumptions)."))
    .addOption(new Option("--concurrency <n>", "the drain's --concurrency the estimate is for, 1..500").default(20).argParser(checked("concurrency", Number)))
    .addOption(new Option("--deadline <duration>", "the drain's --deadline the estimate is checked against, e.g. 90s, 15m, 1h").default(60 * 60 * 1000, "60m").argParser(checked("deadlineMs", parseDuration)))
    .action(async (o) => {
      const kc = loadKubeConfig(o.kubeconfig, o.context);
      // API answers and a missing auth plugin in the engine's one-line wording (client.ts errorText).
      const plan = await planPool(kc, { ...planOpts(o), estimate: { concurrency: o.concurrency, deadlineMs: o.deadline }, log: (line) => out.stderr(line + "\n") }).catch((e) => { throw statusOf(e) !== undefined || missingExecCommand(e) ? new Error(errorText(e, kc)) : e; });
      out.stdout((o.json ? JSON.stringify(plan, null, 2) : formatPlan(plan)) + "\n");
      out.exit(plan.blockers.length ? 3 : 0);
    });

  common(program.command("drain").description("Cordon the pool and evict its pods pool-wide under the PDBs; fail closed (uncordon) on any failure.\nRe-running after a crash finishes the job (nodes cordoned by this tool carry the annotation nodepool-rotation/cordoned-at)."))
    .addOption(new Option("--deadline <duration>", "overall deadline, e.g. 90s, 15m, 1h (at most 24h)").default(60 * 60 * 1000, "60m").argParser(checked("deadlineMs", parseDuration)))
    .addOption(new Option("--concurrency <n>", "max pods being disrupted at once (evictions in flight + evicted pods terminating), 1..500").default(20).argParser(checked("concurrency", Number)))
    .addOption(new Option("--batch <n|p%>", "drain in batches of nodes: a count (\"2\") or a percentage of the pool (\"25%\"); default: whole pool at once").argParser(parseBatchFlag))
    .addOption(new Option("--batch-soak <duration>", "between batches, moved workloads must stay at or above their PDB floor this long").default(0).argParser(checked("batchSoakMs", parseDuration)))
    .option("--wait-for-ready", "after the last eviction, wait until moved workloads have as many Ready pods as before")
    .addOption(new Option("--soak <duration>", "after the last eviction, moved workloads must stay at or above their PDB floor this long").default(0).argParser(checked("soakMs", parseDuration)))
    .option("--keep-cordoned", "on failure, leave the nodes cordoned (default: uncordon every node this tool cordoned)")
    .action(async (o) => {
      const kc = loadKubeConfig(o.kubeconfig, o.context);
      // The first SIGINT/SIGTERM stops the drain, which then fails closed (uncordons). Operators
      // press Ctrl-C again while that runs: the second one must not kill the process with the pool
      // cordoned, so it only says what is happening; a third exits at once.
      const ctrl = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          out.stderr(`received ${sig}: stopping the drain and uncordoning the nodes it cordoned${o.keepCordoned ? " (--keep-cordoned: they stay cordoned)" : ""}; send it twice more to exit at once\n`);
          ctrl.abort(new Error(`received ${sig}`));
        } else if (signals === 2) {
          out.stderr(`received ${sig} again: still failing closed; once more exits at once, leaving nodes cordoned\n`);
        } else {
          out.stderr(`received ${sig}: exiting without cleaning up; check the pool's nodes and \`kubectl uncordon\` them\n`);
          process.exit(130);
        }
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const opts: DrainOptions = {
        ...planOpts(o), deadlineMs: o.deadline, concurrency: o.concurrency, batch: o.batch, batchSoakMs: o.batchSoak,
        waitForReady: o.waitForReady, soakMs: o.soak, keepCordoned: o.keepCordoned, signal: ctrl.signal,
        // The engine's own "drain failed" progress line is left out: the CLI prints the failure itself, once (formatDrainFailure).
        log: (line) => { if (!line.startsWith(`[${o.pool}] drain failed (`)) out.stderr(line + "\n"); },
      };
      try {
        const summary = await drainPool(kc, opts);
        out.stdout((o.json ? JSON.stringify(summary, null, 2) : formatDrainSummary(summary)) + "\n");
        out.exit(0);
      } catch (e) {
        if (!isDrainError(e)) throw e;
        out.stderr(formatDrainFailure(e) + "\n");
        // Nodes this tool cordoned and could not uncordon (the API refused or did not answer; each
        // was reported above as "could not uncordon …"): take no new pods until someone uncordons them.
        const still = e.stillCordoned;
        if (still.length && !e.keptCordoned) out.stderr(`${still.length} node(s) are STILL CORDONED (the uncordon failed): ${still.join(", ")}; uncordon them now: kubectl uncordon ${still.join(" ")}\n`);
        if (e.blockingPdbs.length) out.stderr(`blocking PodDisruptionBudgets: ${e.blockingPdbs.join(", ")}\n`);
        if (e.blockingPods.length) out.stderr(`blocking pods: ${e.blockingPods.slice(0, 50).join(", ")}${e.blockingPods.length > 50 ? ` and ${e.blockingPods.length - 50} more` : ""}\n`);
        if (e.summary.availability?.length) for (const line of formatAvailability(e.summary.availability)) out.stderr(`${line}\n`);
        if (o.json) out.stdout(JSON.stringify({ ...e.summary, error: e.message, blockingPdbs: e.blockingPdbs, blockingPods: e.blockingPods, uncordoned: e.uncordoned }, null, 2) + "\n");
        out.exit(1);
      } finally {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
      }
    });
  return program;
}

/** Runs the CLI with argv (without node and script); resolves with the exit code. */
/** Where the CLI writes. */
export interface CliOutput { stdout: (s: string) => void; stderr: (s: string) => void }

export async function main(argv: string[], out: CliOutput = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) }): Promise<number> {
  let code = 0;
  const program = buildProgram({ ...out, exit: (c) => { code = c; } });
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (caught) {
    // What commander (CommanderError: code "commander.*") or the engine threw, read as an open object.
    const e = caught as { code?: string; message?: string } | undefined;
    if (e?.code === "commander.helpDisplayed" || e?.code === "commander.version" || e?.code === "commander.help") return 0;
    if (e?.code?.startsWith?.("commander.")) return 2; // commander already printed the message and help
    out.stderr(`error: ${e?.message ?? e}\n`);
    return e instanceof UsageError || /^(pool|poolLabel|deadlineMs|concurrency|batch|batchSoakMs|soakMs|defaultBudget):|invalid label selector/.test(e?.message ?? "") ? 2 : 1;
  }
}

if (require.main === module) {
  // Exit explicitly once the work is done: a watch request the server never answered holds an
  // open socket that client-node cannot abort, and must not keep the process alive. Exit only
  // after stdout/stderr flushed (pipes are asynchronous on macOS), so nothing printed is lost.
  main(process.argv.slice(2)).then((code) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code))));
}

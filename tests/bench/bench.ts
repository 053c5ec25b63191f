/**
 * `npm run bench [-- --json] [--only TEXT] [--write-docs]`
 *
 * Gathers the engine's benchmarks (tests/bench/engine.ts, written with the engine: drain time vs
 * the PDB-bound lower limit, vs a sequential kubectl-style drain, API requests per evicted pod,
 * plan scale) into one run. This file measures nothing itself: it finds the benchmark functions,
 * runs them one after the other (they share 2 cores with everything else: never in parallel),
 * and reports their results together, with whether each stated target was met.
 *
 * Convention for tests/bench/engine.ts (whichever it exports, in this order of preference):
 *   - `benchmarks: { name: string; run: () => Promise<object> }[]`, or
 *   - exported async functions named `bench…` (run in export order).
 * A result is any JSON-serialisable object; if it carries `targets: { name, met: boolean, … }[]`
 * or a boolean `met`, the summary counts them. A target's `figure` (text) says what was measured;
 * `reported: { name, figure }[]` are figures without a target (tests/bench/figures.ts).
 *
 * `--write-docs` runs every benchmark and writes the run to docs/proof/bench.json and the bench
 * block of docs/proof.md (tests/bench/figures.ts); nothing is written when a benchmark failed.
 *
 * Exit code: 0 when every reported target was met, 1 when one was missed, 2 on an error.
 */
import { Command } from "commander";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import { reportedOf, writeBenchDocs } from "./figures";

/** One benchmark as the aggregator runs it. */
export interface Benchmark {
  name: string;
  run: () => Promise<unknown>;
}

/** One benchmark's outcome in the combined run. */
export interface BenchOutcome {
  name: string;
  ok: boolean;
  durationMs: number;
  result?: unknown;
  error?: string;
  /** Targets the result reported, with whether each was met. */
  targets: { name: string; met: boolean; [k: string]: unknown }[];
}

/** The combined run (what `--json` prints). */
export interface BenchRun {
  startedAt: string;
  /** Load averages (1, 5, 15 min) when the first benchmark started and when the last one ended. */
  machine: { node: string; cpus: number; cpuModel: string; loadavgStart: number[]; loadavgEnd: number[] };
  durationMs: number;
  benchmarks: BenchOutcome[];
  targetsMet: number;
  targetsMissed: number;
}

/** Finds the benchmarks a module exports (see the convention above). */
export function collectBenchmarks(mod: Record<string, unknown>): Benchmark[] {
  const list = mod.benchmarks;
  if (Array.isArray(list)) {
    return list.map((b: any, i) => {
      if (!b || typeof b.run !== "function") throw new Error(`tests/bench/engine.ts: benchmarks[${i}] has no run() function`);
      return { name: String(b.name ?? `benchmark ${i + 1}`), run: () => Promise.resolve(b.run()) };
    });
  }
  return Object.entries(mod)
    .filter(([k, v]) => /^bench/i.test(k) && typeof v === "function")
    .map(([k, v]) => ({ name: k, run: () => Promise.resolve((v as () => unknown)()) }));
}

/** Reads the targets out of a result: `targets: [{name, met}]`, or a top-level boolean `met`. */
export function targetsOf(name: string, result: unknown): BenchOutcome["targets"] {
  if (!result || typeof result !== "object") return [];
  const r = result as any;
  if (Array.isArray(r.targets)) {
    return r.targets
      .filter((t: any) => t && typeof t.met === "boolean")
      .map((t: any) => ({ ...t, name: String(t.name ?? name), met: t.met }));
  }
  if (typeof r.met === "boolean") return [{ name: String(r.target ?? name), met: r.met }];
  return [];
}

/** Runs the benchmarks one after another; a failing one is reported, the others still run. */
export async function runBenchmarks(benches: Benchmark[], log: (line: string) => void = () => {}): Promise<BenchRun> {
  const startedAt = new Date().toISOString();
  const loadavg = () => os.loadavg().map((l) => +l.toFixed(2));
  const loadavgStart = loadavg();
  const t0 = performance.now();
  const outcomes: BenchOutcome[] = [];
  for (const b of benches) {
    log(`bench: ${b.name} ...`);
    const start = performance.now();
    try {
      const result = await b.run();
      const durationMs = Math.round(performance.now() - start);
      outcomes.push({ name: b.name, ok: true, durationMs, result, targets: targetsOf(b.name, result) });
      log(`bench: ${b.name} done in ${(durationMs / 1000).toFixed(1)} s`);
    } catch (e: any) {
      const durationMs = Math.round(performance.now() - start);
      outcomes.push({ name: b.name, ok: false, durationMs, error: e?.stack ?? String(e), targets: [] });
      log(`bench: ${b.name} FAILED: ${e?.message ?? e}`);
    }
  }
  const all = outcomes.flatMap((o) => o.targets);
  return {
    startedAt,
    machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "?", loadavgStart, loadavgEnd: loadavg() },
    durationMs: Math.round(performance.now() - t0),
    benchmarks: outcomes,
    targetsMet: all.filter((t) => t.met).length,
    targetsMissed: all.filter((t) => !t.met).length,
  };
}

/** Text rendering of a run. */
export function formatBench(run: BenchRun): string {
  const out: string[] = [];
  out.push(`Benchmarks (${run.machine.cpus} CPUs, load ${run.machine.loadavgStart.join(" ")} at the start, ${run.machine.loadavgEnd.join(" ")} at the end, node ${run.machine.node}), ${(run.durationMs / 1000).toFixed(1)} s`);
  for (const b of run.benchmarks) {
    out.push("");
    out.push(`${b.name}: ${b.ok ? "ok" : "FAILED"} (${(b.durationMs / 1000).toFixed(1)} s)`);
    if (!b.ok) out.push(`  ${String(b.error).split("\n")[0]}`);
    const r: any = b.result;
    if (r && typeof r === "object") {
      for (const [k, v] of Object.entries(r)) {
        if (k === "targets" || k === "reported") continue;
        out.push(`  ${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
      }
    }
    for (const x of reportedOf(r)) out.push(`  reported ${x.name}: ${x.figure}`);
    for (const t of b.targets) {
      const { name, met, figure, ...rest } = t;
      out.push(`  target ${name}: ${met ? "MET" : "MISSED"}${figure ? ` (${figure})` : ""}${Object.keys(rest).length ? " " + JSON.stringify(rest) : ""}`);
    }
  }
  out.push("");
  out.push(`targets met: ${run.targetsMet}, missed: ${run.targetsMissed}`);
  return out.join("\n");
}

/** Every benchmark `npm run bench` runs, in order: tests/bench/engine.ts's, tests/bench/noPdb.ts's, then tests/bench/gkeCompare.ts's. */
export async function allBenchmarks(): Promise<Benchmark[]> {
  return [
    ...collectBenchmarks((await import("./engine")) as Record<string, unknown>),
    ...collectBenchmarks((await import("./noPdb")) as Record<string, unknown>),
    ...collectBenchmarks((await import("./gkeCompare")) as Record<string, unknown>),
  ];
}

/** Parses argv, runs, prints; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("bench")
    .description("Run the engine's benchmarks in one run and report them together.")
    .option("--json", "print the run as one JSON document on stdout (progress on stderr)")
    .option("--only <text>", "run only the benchmarks whose name contains this text (case-insensitive)")
    .option("--write-docs", "run every benchmark and write docs/proof/bench.json and the bench block of docs/proof.md")
    .exitOverride();
  try {
    program.parse(argv, { from: "user" });
  } catch (e: any) {
    // --help exits 0; a usage error (unknown flag, missing value) is an error: 2.
    return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
  }
  const o = program.opts<{ json: boolean; only?: string; writeDocs?: boolean }>();
  const log = (line: string) => process.stderr.write(line + "\n");
  try {
    if (o.writeDocs && o.only) throw new Error("--write-docs documents every benchmark: drop --only");
    let benches = await allBenchmarks();
    if (o.only) {
      const want = o.only.toLowerCase();
      const picked = benches.filter((b) => b.name.toLowerCase().includes(want));
      if (!picked.length) throw new Error(`--only "${o.only}" matches no benchmark; known: ${benches.map((b) => b.name).join("; ")}`);
      benches = picked;
    }
    if (benches.length === 0) throw new Error("tests/bench/engine.ts exports no benchmarks (expected `benchmarks` or functions named bench…)");
    const run = await runBenchmarks(benches, log);
    process.stdout.write((o.json ? JSON.stringify(run, null, 2) : formatBench(run)) + "\n");
    if (o.writeDocs) for (const f of writeBenchDocs(run)) log(`bench: wrote ${f}`);
    return run.benchmarks.some((b) => !b.ok) ? 2 : run.targetsMissed > 0 ? 1 : 0;
  } catch (e: any) {
    process.stderr.write(`bench: ${e?.message ?? e}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

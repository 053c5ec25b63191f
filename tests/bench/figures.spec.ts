/**
 * Bench figures in one place: the committed docs/proof.md bench block is exactly what the committed
 * docs/proof/bench.json renders to (so nobody edited a figure by hand), the JSON holds one run of
 * every benchmark `npm run bench` runs, and every target in it has a figure. The timing values
 * themselves are not asserted (they depend on the machine); `--write-docs` is exercised on a
 * synthetic run in a temporary docs directory.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readBlock } from "../rehearsal/figures";
import { allBenchmarks, main, runBenchmarks } from "./bench";
import { BENCH_BEGIN, BENCH_END, BENCH_FILE, BenchDoc, DOCS_DIR, GENERATED_BY, PROOF_PAGE, renderBench, writeBenchDocs } from "./figures";

describe("bench figures (docs/proof/bench.json -> docs/proof.md)", () => {
  let doc: BenchDoc;
  before(() => {
    assert.ok(fs.existsSync(BENCH_FILE), `${BENCH_FILE} missing: generate it with \`npm run bench -- --write-docs\``);
    doc = JSON.parse(fs.readFileSync(BENCH_FILE, "utf8"));
  });

  it("holds one successful run of every benchmark `npm run bench` runs, with the machine and load it ran on", async () => {
    assert.equal(doc.generatedBy, GENERATED_BY);
    assert.deepEqual(doc.benchmarks.map((b) => b.name), (await allBenchmarks()).map((b) => b.name), "benchmarks changed: regenerate with `npm run bench -- --write-docs`");
    for (const b of doc.benchmarks) assert.equal(b.ok, true, `${b.name}: ${b.error}`);
    assert.ok(!Number.isNaN(Date.parse(doc.startedAt)), "startedAt is a date");
    assert.ok(doc.machine.cpus > 0 && doc.machine.node.startsWith("v") && doc.machine.cpuModel);
    for (const l of [doc.machine.loadavgStart, doc.machine.loadavgEnd]) assert.ok(l.length === 3 && l.every((x) => Number.isFinite(x) && x >= 0), `load averages: ${l}`);
  });

  it("every target has a figure, a value, a threshold and a verdict, and the counts add up", () => {
    const targets = doc.benchmarks.flatMap((b) => b.targets.map((t) => ({ bench: b.name, ...t })));
    assert.ok(targets.length > 0);
    for (const t of targets) {
      assert.ok(typeof t.figure === "string" && t.figure.trim(), `${t.bench}: target "${t.name}" has no figure`);
      assert.ok(Number.isFinite(t.value) && Number.isFinite(t.target), `${t.bench}: target "${t.name}" value ${t.value} / target ${t.target}`);
      assert.equal(typeof t.met, "boolean");
    }
    assert.equal(doc.targetsMet, targets.filter((t) => t.met).length);
    assert.equal(doc.targetsMissed, targets.filter((t) => !t.met).length);
  });

  it("docs/proof.md's bench block is exactly what bench.json renders to", () => {
    const block = readBlock(fs.readFileSync(PROOF_PAGE, "utf8"), BENCH_BEGIN, BENCH_END);
    assert.ok(block !== undefined, `docs/proof.md lacks the markers ${BENCH_BEGIN} ... ${BENCH_END}`);
    assert.equal(block, renderBench(doc), "regenerate with `npm run bench -- --write-docs`; never edit the block by hand");
  });

  it("no page outside the block quotes a ratio of the run", () => {
    const ratios = doc.benchmarks.flatMap((b) => b.targets).map((t) => t.value as number).filter((v) => !Number.isInteger(v));
    for (const page of ["README.md", ...fs.readdirSync(DOCS_DIR).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]) {
      let text = fs.readFileSync(path.join(DOCS_DIR, "..", page), "utf8");
      const block = readBlock(text, BENCH_BEGIN, BENCH_END);
      if (block !== undefined) text = text.replace(block, "");
      for (const v of ratios) assert.ok(!new RegExp(`\\b${String(v).replace(".", "\\.")}\\s*[x×]`).test(text), `${page} quotes ${v}×: link to docs/proof.md's bench section instead`);
    }
  });
});

describe("npm run bench -- --write-docs", () => {
  const target = (name: string, met: boolean, figure?: string) => ({ name, met, value: met ? 1.1 : 1.3, target: 1.2, ...(figure === undefined ? {} : { figure }) });
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-docs-"));
    fs.writeFileSync(path.join(dir, "proof.md"), `# Proof\n\nother text\n\n${BENCH_BEGIN}\nold | figures\n${BENCH_END}\n\nafter\n`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes bench.json and replaces only the block, with one row per target and reported figure, MET and MISSED", async () => {
    const run = await runBenchmarks([
      { name: "drain | small", run: async () => ({ targets: [target("<= 1.2x lower limit", true, "4.4 s = **1.100×**"), target("<= 1.2x again", false, "1.300×")], reported: [{ name: "CPU", figure: "3.1 s" }] }) },
      { name: "plan", run: async () => ({ targets: [target("< 3 s", true, "0.48 s")] }) },
    ]);
    const written = writeBenchDocs(run, dir);
    assert.deepEqual(written, [path.join(dir, "proof", "bench.json"), path.join(dir, "proof.md")]);
    const doc: BenchDoc = JSON.parse(fs.readFileSync(path.join(dir, "proof", "bench.json"), "utf8"));
    assert.equal(doc.generatedBy, GENERATED_BY);
    const page = fs.readFileSync(path.join(dir, "proof.md"), "utf8");
    assert.ok(page.startsWith("# Proof\n\nother text\n\n") && page.endsWith(`${BENCH_END}\n\nafter\n`), "text outside the markers kept");
    const block = readBlock(page, BENCH_BEGIN, BENCH_END)!;
    assert.equal(block, renderBench(doc));
    const rows = block.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| benchmark"));
    assert.deepEqual(rows.map((r) => r.split(" | ").slice(-1)[0]), ["MET |", "**MISSED** |", " |", "MET |"]);
    assert.match(rows[0], /^\| drain \\\| small \(\d+\.\d s\) \| 4\.4 s = \*\*1\.100×\*\* \| <= 1\.2x lower limit \| MET \|$/);
    assert.match(rows[2], /\| CPU: 3\.1 s \| \(reported only\) \|/);
    assert.match(block, /Targets met: \*\*2\*\*, missed: \*\*1\*\*/);
    assert.match(block, new RegExp(`load average \\(1, 5, 15 min\\) [\\d. ]+ at the start, [\\d. ]+ at the end`));
  });

  it("writes nothing when a benchmark failed, a target has no figure, or the page has no markers", async () => {
    const before = fs.readFileSync(path.join(dir, "proof.md"), "utf8");
    const failed = await runBenchmarks([{ name: "boom", run: async () => { throw new Error("simulator did not start"); } }]);
    assert.throws(() => writeBenchDocs(failed, dir), /boom failed: docs not written/);
    const noFigure = await runBenchmarks([{ name: "drain", run: async () => ({ targets: [target("<= 1.2x", true)] }) }]);
    assert.throws(() => writeBenchDocs(noFigure, dir), /drain: target "<= 1.2x" has no figure/);
    assert.equal(fs.readFileSync(path.join(dir, "proof.md"), "utf8"), before);
    fs.writeFileSync(path.join(dir, "proof.md"), "no markers\n");
    const ok = await runBenchmarks([{ name: "plan", run: async () => ({ targets: [target("< 3 s", true, "0.5 s")] }) }]);
    assert.throws(() => writeBenchDocs(ok, dir), /has no bench markers/);
    assert.equal(fs.existsSync(path.join(dir, "proof", "bench.json")), false);
  });

  it("refuses --only with --write-docs (exit 2) before running anything", async () => {
    const write = process.stderr.write;
    let err = "";
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      assert.equal(await main(["--write-docs", "--only", "scale"]), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.match(err, /--write-docs documents every benchmark: drop --only/);
  });
});

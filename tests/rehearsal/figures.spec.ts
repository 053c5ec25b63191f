/**
 * Figures in one place: the committed docs/proof.md block is exactly what the committed
 * docs/proof/figures.json renders to (so nobody edited a figure by hand), every picture it shows
 * exists, and a page carrying the headline markers carries the generated headline.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONTENDERS } from "./compare";
import { BEGIN, DOC_RUNS, DOCS_DIR, END, FIGURES_FILE, FiguresDoc, HEADLINE_BEGIN, HEADLINE_END, PROOF_PAGE, readBlock, renderFigures, renderHeadline, replaceBlock } from "./figures";

describe("rehearsal figures (docs/proof/figures.json -> docs/proof.md)", () => {
  const doc: FiguresDoc = JSON.parse(fs.readFileSync(FIGURES_FILE, "utf8"));

  it("holds one run per documented command, each of which showed what it should", () => {
    assert.deepEqual(Object.keys(doc.runs).sort(), DOC_RUNS.map((r) => r.id).sort());
    for (const run of DOC_RUNS) {
      assert.equal(doc.runs[run.id].command, run.command);
      assert.equal(doc.runs[run.id].claimHeld, true, run.command);
    }
    assert.equal(doc.generatedBy, "npm run rehearse -- --write-docs");
  });

  it("docs/proof.md's figures block is exactly what figures.json renders to", () => {
    const block = readBlock(fs.readFileSync(PROOF_PAGE, "utf8"), BEGIN, END);
    assert.ok(block !== undefined, `docs/proof.md lacks the markers ${BEGIN} ... ${END}`);
    assert.equal(block, renderFigures(doc), "regenerate with `npm run rehearse -- --write-docs`; never edit the block by hand");
  });

  it("every picture it shows exists and is the run's SVG", () => {
    for (const picture of [...Object.values(doc.runs).map((r) => r.picture), ...doc.compare.rows.map((r) => `proof/${r.picture}`)]) {
      const file = path.join(DOCS_DIR, picture);
      assert.ok(fs.existsSync(file), `${picture} missing`);
      assert.match(fs.readFileSync(file, "utf8").slice(0, 300), /<svg /);
    }
  });

  it("the comparison holds every contender, this tool without an outage, DaemonSets apart, pictures on one axis", () => {
    const ids = doc.compare.rows.map((r) => r.id);
    assert.deepEqual(ids, CONTENDERS.map((c) => c.id).filter((id) => ids.includes(id)), "in the documented order");
    assert.ok(["rotation", "surge", "blueGreen", "autoscaledBlueGreen", "poolDeletion"].every((id) => ids.includes(id as never)));
    const ours = doc.compare.rows.find((r) => r.id === "rotation")!;
    assert.deepEqual([ours.outages, ours.belowFloor, ours.podsKilled], [[], [], 0]);
    for (const r of doc.compare.rows) {
      assert.ok(!Object.keys(r.workloads).some((k) => k.includes("/DaemonSet/")), `${r.id}: a DaemonSet among the workloads`);
      const svg = fs.readFileSync(path.join(DOCS_DIR, "proof", r.picture), "utf8");
      assert.equal(Number(/data-axis-end-ms="(\d+)"/.exec(svg)?.[1]), Math.round(doc.compare.axisEndMs), `${r.picture}: not on the shared axis`);
    }
  });

  it("the headline is 4-6 lines, and any page carrying its markers carries it as generated", () => {
    const lines = renderHeadline(doc);
    assert.ok(lines.length >= 4 && lines.length <= 6);
    for (const page of ["README.md", ...fs.readdirSync(DOCS_DIR).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]) {
      const text = fs.readFileSync(path.join(DOCS_DIR, "..", page), "utf8");
      const block = readBlock(text, HEADLINE_BEGIN, HEADLINE_END);
      if (block !== undefined) assert.equal(block, lines.join("\n"), `${page}: regenerate with \`npm run rehearse -- --write-docs\``);
    }
  });

  it("blocks are replaced between their markers only", () => {
    const text = `a\n${BEGIN}\nold\n${END}\nb\n`;
    const next = replaceBlock(text, BEGIN, END, "new\nlines")!;
    assert.equal(next, `a\n${BEGIN}\nnew\nlines\n${END}\nb\n`);
    assert.equal(readBlock(next, BEGIN, END), "new\nlines");
    assert.equal(replaceBlock("no markers", BEGIN, END, "x"), undefined);
  });
});

/**
 * The comparison (`npm run rehearse -- --compare`) on a reduced scenario: every contender runs on
 * its own simulator, the table says what each did, DaemonSets stay out of the workload verdict,
 * and the pictures share one time axis.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser } from "fast-xml-parser";
import { CompareResult, CONTENDERS, formatCompare, KUBECTL, runCompare } from "./compare";
import { main } from "./rehearse";

const SCENARIO = path.join(__dirname, "compare-scenario.yaml");

describe("rehearsal: --compare (this tool, GKE's strategies, kubectl drain) on a reduced scenario", function () {
  this.timeout(240_000);
  let r: CompareResult;
  let out: string;
  before(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-compare-"));
    r = await runCompare({ scenarioFile: SCENARIO, outDir: out, timing: { nodeBootMs: 150 } });
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));
  const row = (id: string) => r.rows.find((x) => x.id === id)!;

  it("runs every contender once, in order (kubectl drain where kubectl is installed), on the stated scale", () => {
    const want = CONTENDERS.map((c) => c.id).filter((id) => id !== "kubectlDrain" || fs.existsSync(KUBECTL));
    assert.deepEqual(r.rows.map((x) => x.id), want);
    assert.deepEqual([r.scale.f, r.scale.nodeBootMs, r.scale.podStartupMs], [0.005, 150, 130]);
    for (const x of r.rows) {
      assert.ok(x.rotationMs > 0 && x.totalMs >= x.rotationMs, `${x.id}: ${x.rotationMs} / ${x.totalMs}`);
      assert.equal(x.gkeRotationS, Math.round(x.rotationMs / 0.005 / 1000));
    }
  });

  it("this tool: no workload at zero or below its floor, nothing deleted without eviction", () => {
    const ours = row("rotation");
    assert.deepEqual([ours.outages, ours.belowFloor, ours.podsKilled, ours.pdbCutoffs], [[], [], 0, 0]);
    assert.equal(ours.workloads["shop/Deployment/web"].floorSource, "implicit 25%");
  });

  it("GKE's pool deletion ignores the PDB: everything deleted at once, nothing evicted", () => {
    const del = row("poolDeletion");
    assert.ok(del.outages.includes("shop/Deployment/nginx"), JSON.stringify(del.workloads));
    assert.equal(del.evictions, 0);
    assert.ok(del.podsKilled >= 7, `${del.podsKilled} pods deleted without eviction`);
  });

  it("surge and blue-green respect the PDB (never below its floor) and evict through the API", () => {
    for (const id of ["surge", "blueGreen"]) {
      const x = row(id);
      assert.equal(x.workloads["shop/Deployment/nginx"].msBelowFloor, 0, `${id}: nginx below its PDB floor`);
      assert.ok(x.evictions >= 7 && x.pdbCutoffs === 0, `${id}: ${x.evictions} evictions, ${x.pdbCutoffs} cut-offs`);
    }
  });

  it("DaemonSets are rows of their own, never in the workload verdict", () => {
    for (const x of r.rows) {
      assert.ok(x.daemonSets["shop/DaemonSet/node-exporter"], `${x.id}: no DaemonSet row`);
      assert.ok(!Object.keys(x.workloads).some((k) => k.includes("/DaemonSet/")));
      assert.ok(![...x.outages, ...x.belowFloor].some((k) => k.includes("/DaemonSet/")));
    }
    assert.match(formatCompare(r), /DaemonSets \(their pods go with their nodes; not in the verdict\)/);
  });

  it("the pictures share one time axis and show cordons and evictions", () => {
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" });
    for (const x of r.rows) {
      const svg = fs.readFileSync(path.join(out, x.picture), "utf8");
      assert.equal(Number(parser.parse(svg).svg["data-axis-end-ms"]), Math.round(r.axisEndMs), x.picture);
      assert.match(svg, /class="cordoned"/, `${x.id}: no cordoned period drawn`);
      assert.match(svg, new RegExp(`class="${x.id === "poolDeletion" ? "deletion" : "eviction"}"`), `${x.id}: no disruption tick`);
      assert.match(svg, /GKE scale: 1 s here/);
    }
  });

  it("the CLI refuses options --compare does not take, before running anything", async () => {
    const err = process.stderr.write;
    let said = "";
    process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
    try {
      assert.equal(await main(["--compare", "--block", "app"]), 2);
    } finally {
      process.stderr.write = err;
    }
    assert.match(said, /--compare .* takes only --scenario, --json and --out \(got --block\)/);
  });
});

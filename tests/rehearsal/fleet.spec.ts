/**
 * The fleet rehearsal (tests/rehearsal/fleet.ts), run once: five clusters on five simulators,
 * promoted wave by wave by the real CLIs. Asserts what the story claims from the run's own figures,
 * and that docs/proof.md's fleet block is exactly what docs/proof/fleet.json renders to.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FLEET_BEGIN, FLEET_END, FLEET_FIGURES_FILE, FleetDoc, fleetBlock, renderFleet, runFleetRehearsal, writeFleetDocs } from "./fleet";

describe("rehearsal/fleet: staging -> canary -> two production clusters, one simulator each", function () {
  this.timeout(240_000); // ~30 s alone; the machine is shared
  let doc: FleetDoc;
  const cluster = (stack: string) => doc.clusters.find((c) => c.stack === stack)!;

  before(async () => {
    doc = await runFleetRehearsal();
  });

  it("every cluster rotated with zero downtime, its own evidence agreeing with the prober, no workload pod killed", () => {
    assert.deepEqual(doc.clusters.map((c) => [c.wave, c.stack]), [["staging", "staging"], ["canary", "canary-tokyo"], ["canary", "canary-osaka"], ["prod", "prod-tokyo"], ["prod", "prod-osaka"]]);
    for (const c of doc.clusters) {
      assert.ok(c.run.zeroDowntime, `${c.stack}: zero downtime`);
      assert.ok(c.run.evidence.agree && c.run.evidence.rows.length > 0, `${c.stack}: the drain's evidence agrees with the prober`);
      assert.equal(c.run.workloadPodsKilled, 0, c.stack);
      assert.ok(c.run.completed, `${c.stack}: every old pool deleted (by its up, or the next one)`);
      assert.equal(c.version, doc.toVersion, `${c.stack}: its file named the promoted version when it was updated`);
    }
  });

  it("the canary wave's promotion waited for staging's soak; wave prod's was refused while canary-osaka's drain had failed, nothing written", () => {
    const [soak, stuck] = doc.refusals;
    assert.match(soak.command, /promote --wave 1/);
    assert.match(soak.message.join("\n"), /soak not over: staging \(the last of staging\) finished its rotation at .*; the 2s \(wave "staging"\) soak ends at/);
    assert.match(stuck.command, /promote --wave 2/);
    assert.match(stuck.message.join("\n"), /canary-osaka has not converged: node pool app-\S+ \(app\) is pending deletion/);
    assert.match(stuck.message.join("\n"), /canary-osaka has not converged: PoolDrainer of app-\S+ \(app-drainer\) is pending deletion \(its drain failed or was interrupted\)/);
    assert.ok(!/canary-tokyo/.test(stuck.message.join("\n")), "the converged canary is not blamed");
    assert.ok(soak.nothingWritten && stuck.nothingWritten, "the next wave's files were not written");
    // canary-osaka's old app pool was kept serving (nothing left cordoned) until its next up deleted it.
    const app = cluster("canary-osaka").run.roles.find((r) => r.role === "app")!;
    assert.equal(app.drain, "failed");
    assert.equal(app.oldPoolDeleted, false);
    assert.equal(app.oldPoolCordoned, 0);
    assert.ok(app.podsOnOldPool > 0, "its pods kept serving on the old pool");
    assert.equal(app.retry?.drain, "ok");
    assert.equal(app.retry?.oldPoolDeleted, true);
    // ...and prod was updated only after that.
    assert.ok(cluster("prod-tokyo").startMs > cluster("canary-osaka").endMs);
    assert.equal(doc.finalNext, "nothing to do: every wave runs what it verified");
  });

  it("the two production clusters rotated in parallel (their ups overlap)", () => {
    const [a, b] = [cluster("prod-tokyo"), cluster("prod-osaka")];
    assert.ok(a.startMs < b.endMs && b.startMs < a.endMs, `prod-tokyo ${a.startMs}-${a.endMs} ms, prod-osaka ${b.startMs}-${b.endMs} ms`);
  });

  it("writeFleetDocs writes fleet.json and the block; docs/proof.md's block is what the committed fleet.json renders to", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-docs-"));
    try {
      const page = path.join(tmp, "proof.md");
      fs.writeFileSync(page, `before\n${FLEET_BEGIN}\nstale\n${FLEET_END}\nafter\n`);
      writeFleetDocs(doc, page, path.join(tmp, "fleet.json"));
      assert.equal(fleetBlock(page), renderFleet(JSON.parse(fs.readFileSync(path.join(tmp, "fleet.json"), "utf8"))));
      assert.match(fs.readFileSync(page, "utf8"), /^before\n[\s\S]*\nafter\n$/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    const committed: FleetDoc = JSON.parse(fs.readFileSync(FLEET_FIGURES_FILE, "utf8"));
    assert.equal(fleetBlock(), renderFleet(committed), "regenerate with npm run rehearse:fleet -- --write-docs");
  });
});

/**
 * docs/promotion.md's rollback runbook, played by tests/rehearsal/rollback.ts: a bad version whose
 * nodes break readiness stops the drain (the good pool kept serving, uncordoned), then the runbook's
 * engine's drain of the bad pool (`npm run rotation -- drain`) + same-day rollback bump + `pulumi up` moves everything onto a pool of the good version and
 * deletes both others, without a workload pod killed or a PDB floor broken. Plus the prod order:
 * the prod gate accepts a rollback only once staging has verified it.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkVerified } from "../../components/promotion/gate";
import { BAD_VERSION, RollbackResult, runRollbackRehearsal } from "./rollback";

describe("rehearsal: rollback of a bad version (docs/promotion.md runbook)", function () {
  this.timeout(240_000);
  let r: RollbackResult;
  const lines: string[] = [];

  before(async () => {
    r = await runRollbackRehearsal({ log: (l) => lines.push(l) });
  });

  it("the bad version's pods never become Ready, so the drain stops: the update fails, the good pool is kept and uncordoned", () => {
    assert.equal(r.badUp.ok, false, lines.join("\n"));
    assert.ok(r.badUp.drain && !r.badUp.drain.ok, "the good pool's drain failed");
    assert.match(r.badUp.drain!.error!, /could not drain node pool/);
    assert.ok(r.badUp.unreadyOnBadPool >= 1, "pods moved to the bad pool and stayed unready there");
    assert.equal(r.badUp.goodPoolCordonedAfter, 0, "the good pool serves again (uncordoned)");
    assert.deepEqual(r.badUp.pendingDeletes.sort(), [`drainer of ${r.pools.good}`, `pool ${r.pools.good}`].sort());
  });

  it("the engine's own drain empties the bad pool: its unready pods, the PDB-covered one included, are offered to the Eviction API, which lets them go (IfHealthyBudget)", () => {
    assert.ok(r.badUp.unreadyPods.some((p) => p.startsWith("shop/web-")), `a pod of shop/web (PDB minAvailable 3, at its floor) sat unready on the bad pool: ${r.badUp.unreadyPods}`);
    assert.equal(r.emptied.with, "engine");
    assert.match(r.emptied.command, /^npm run rotation -- drain --kubeconfig <kubeconfig> --pool /);
    assert.equal(r.emptied.code, 0, r.emptied.output);
    // Each pod that sat unready on the bad pool was evicted (none waited for a budget the workload at its floor never had).
    const evicted = Number(/drained: (\d+) evicted/.exec(r.emptied.output)?.[1]);
    assert.equal(evicted, r.badUp.unreadyOnBadPool, r.emptied.output);
    assert.doesNotMatch(r.emptied.output, /deadline/);
  });

  it("the same-day rollback bump gets a new name through revision 1 (the good version's name for that day is taken)", () => {
    assert.equal(r.rollbackRevision, 1);
    assert.notEqual(r.pools.rollback, r.pools.good);
    assert.notEqual(r.pools.rollback, r.pools.bad);
    assert.match(r.bumpOutput.join("\n"), /revision 1/);
  });

  it("the rollback's pulumi up drains the bad and the kept pool into the new one and deletes both; nothing killed, no floor broken", () => {
    assert.equal(r.rollbackUp.ok, true, `${r.rollbackUp.errors.join("\n")}\n${lines.join("\n")}`);
    assert.deepEqual(Object.keys(r.rollbackUp.drains).sort(), [r.pools.bad, r.pools.good].sort());
    for (const d of Object.values(r.rollbackUp.drains)) assert.ok(d.ok, d.error);
    assert.deepEqual(r.rollbackUp.pendingDeletes, []);
    assert.deepEqual(r.poolsLeft, [r.pools.rollback]);
    assert.deepEqual(Object.keys(r.podsByPool), [r.pools.rollback], JSON.stringify(r.podsByPool));
    assert.equal(r.allReady, true);
    assert.equal(r.report.workloadPodsDeletedWithoutEviction, 0);
    const web = r.report.workloads["shop/Deployment/web"];
    assert.equal(web.msAtZero, 0);
    assert.equal(web.msBelowFloor, 0, "the PDB floor held throughout, the failed drain included");
    assert.equal(r.report.workloads["shop/Deployment/api"].msAtZero, 0);
  });

  it("prod: the gate refuses the rollback version until staging has verified it, then accepts it", () => {
    const good = r.goodVersion;
    const pools = [{ role: "app", version: good }];
    // Staging still on the bad version: a direct prod bump to the good version is refused.
    assert.throws(() => checkVerified(pools, { app: BAD_VERSION }, "staging"), new RegExp(`has not verified.*${BAD_VERSION.replace(/\./g, "\\.")}`));
    // After staging's rollback up, staging verified the good version again: the gate accepts it.
    assert.doesNotThrow(() => checkVerified(pools, { app: good }, "staging"));
  });

  it("docs/promotion.md's runbook names these steps in this order", () => {
    const page = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "promotion.md"), "utf8");
    const runbook = page.slice(page.indexOf("## Rolling back a bad version"));
    const order = ["npm run rotation -- drain --kubeconfig", "npm run bump -- --stack staging --role app --version", "pulumi up -s staging", "npm run promote -- --from staging --to prod", "pulumi up -s prod"];
    let at = 0;
    for (const step of order) {
      const i = runbook.indexOf(step, at);
      assert.ok(i >= 0, `the runbook has "${step}" after the previous step`);
      at = i;
    }
  });
});

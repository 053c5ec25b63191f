/**
 * The `defaultBudget` drain option through the REAL dynamic-provider host (tests/drainer/host.ts):
 * Check names a bad value before anything changes, and a successful Delete prints the drain's
 * availability evidence (formatAvailability, components/rotation/availability.ts) on stderr —
 * where `pulumi up` shows it — for a PDB-protected workload and one under the implicit budget.
 */
import * as assert from "node:assert/strict";
import { deployment, OLD_POOL } from "./cluster";
import { cleanupAfterEach, clusterWithPools, createdDrainer } from "./harness";

describe("PoolDrainer defaultBudget and availability lines in the real host", function () {
  this.timeout(60_000);
  const cleanups = cleanupAfterEach();

  it("Check rejects a bad defaultBudget naming the field; Delete prints one availability line per moved workload", async () => {
    const { sim, view } = await clusterWithPools(
      [deployment("shop", "web", 4, { minAvailable: 3 }), deployment("shop", "cache", 4)],
      { old: 2, new: 2 },
      cleanups,
    );
    const { host, id, outs } = await createdDrainer(sim.kubeconfig, { deadlineMinutes: 1, defaultBudget: "50%" });

    const requests = sim.report().totalRequests;
    for (const bad of ["150%", 0, "half"]) {
      const r = await host.call("check", outs, { ...outs, options: { deadlineMinutes: 1, defaultBudget: bad } });
      assert.ok(r.ok, !r.ok ? r.message : "");
      const failures = (r as any).result.failures as { property: string; reason: string }[];
      assert.deepEqual(failures.map((f) => f.property), ["options.defaultBudget"], `${JSON.stringify(bad)}: ${JSON.stringify(failures)}`);
      assert.match(failures[0].reason, /an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none"/);
      assert.ok(failures[0].reason.includes(`got ${JSON.stringify(bad)}`), failures[0].reason);
    }
    assert.equal(sim.report().totalRequests, requests, "Check sends nothing to the cluster");

    const r = await host.call("delete", id, outs);
    assert.ok(r.ok, !r.ok ? r.message : "");
    assert.deepEqual(await view.movablePodsOn(OLD_POOL), []);
    const lines = host.stderr().split("\n").filter((l) => /\] availability /.test(l));
    assert.equal(lines.length, 2, host.stderr());
    const line = (w: string) => lines.find((l) => l.includes(`availability shop/Deployment/${w}:`)) ?? assert.fail(`no line for ${w}:\n${lines.join("\n")}`);
    // A PDB's row counts the PDB's expected pods: for an integer minAvailable that is every matching
    // pod (kubernetes pkg/controller/disruption/disruption.go getExpectedPodCount), so a replacement
    // started while an evicted pod terminates can make it 5.
    assert.match(line("web"), /4 replica\(s\), floor 3 \(pdb shop\/web-pdb\), min Ready [34], 0 ms below floor, 0 ms at zero, 4 Ready at the end \(4 at the start\)$/);
    assert.match(line("cache"), /4 replica\(s\), floor 2 \(implicit 50%\), min Ready [234], 0 ms below floor, 0 ms at zero, 4 Ready at the end \(4 at the start\)$/);
    const report = sim.report();
    assert.equal(report.podsDeletedWithoutEviction, 0);
    const cache = report.workloads["shop/Deployment/cache"];
    assert.ok(cache.minReady >= 2, `the simulator agrees the implicit floor held: min Ready ${cache.minReady} (it has no floor of its own for a PDB-less workload)`);
  });
});

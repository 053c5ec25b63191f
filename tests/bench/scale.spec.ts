/**
 * The scale bench (tests/bench/scale.ts) at a small size, so its machinery — GKE-shaped regional
 * pools, the drain in a process of its own, the served-request and memory accounting — is tested
 * with every `npm test`. The full size (1,000 nodes / 30,000 pods) runs in `npm run bench`.
 * Wall-clock ratios are printed, not asserted (a loaded CI machine would make them flaky); the
 * counts are asserted.
 */
import * as assert from "node:assert/strict";
import { benchScaleDrain } from "./scale";

describe("scale bench, small size (24 nodes / ~300 pods; full size in npm run bench)", function () {
  this.timeout(120_000);

  it("drains the pool's 80 pods through the Eviction API from a separate process, within the request budget", async () => {
    const r = await benchScaleDrain({ nodesPerPool: 8, otherPools: 1, poolPods: 80, totalPods: 300, replicas: 10 }, 300);
    console.log(`      scale (small): ${r.targets.map((t) => t.figure).join("; ")}`);
    assert.equal(r.drain.ok, true, r.drain.error);
    assert.equal(r.served.evictions, 80);
    assert.equal(r.drain.evicted, 80);
    assert.ok(r.ratios.requestsPerEvictedPod <= 1.5, `requests per evicted pod ${r.ratios.requestsPerEvictedPod}`);
    assert.ok(r.memory.maxRssMiB > 0 && r.memory.maxRssMiB < 500, `peak RSS ${r.memory.maxRssMiB} MiB`);
    assert.deepEqual(r.floors, { workloadsBelowFloor: 0, workloadPodsDeletedWithoutEviction: 0 });
    assert.equal(r.podWatch.clusterWideList.pods, r.setup.pods, "the list saw every pod of the cluster");
    assert.ok(r.podWatch.poolNamespacesList.pods < r.podWatch.clusterWideList.pods);
    // What `npm run bench -- --write-docs` documents: every target states its figure.
    assert.equal(r.targets.length, 4);
    for (const t of r.targets) assert.ok(t.figure.trim() && Number.isFinite(t.value), `target "${t.name}": figure "${t.figure}", value ${t.value}`);
    assert.match(r.targets[1].figure, new RegExp(`^\\*\\*${r.ratios.requestsPerEvictedPod.toFixed(3)}\\*\\* \\(80 pods evicted; ${r.served.requests} requests: `));
    assert.deepEqual(r.reported.map((x) => x.name), ["cluster loaded and Ready", "CPU used during the drain", "the engine's cluster-wide pod list", "pod events the watch delivered during the drain"]);
    assert.ok(r.clusterReadyMs > 0);
  });
});

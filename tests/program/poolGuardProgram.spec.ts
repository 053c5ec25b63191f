/**
 * The real index.ts under pulumi.runtime.setMocks: every NodePool is registered with the pool
 * guard as a named `beforeDelete` hook, and the guard the program set up reaches the program's
 * own cluster with the program's current drain config.
 *
 * What mocks cannot show (and where it is shown instead):
 *  - the mock monitor never runs hooks, never deletes, never orders deletions: the engine order
 *    and the hook running before GKE's delete are in poolGuardEngine.spec.ts (emulated engine,
 *    citing its source), the check itself in poolGuard.spec.ts (simulator over HTTP);
 *  - the SDK's MockMonitor (3.270) has no `registerResourceHook` at all (pulumi/docs#16461), so the
 *    hook's registration is answered by components/poolGuard.ts for that class only: this spec
 *    sees the binding the program SENDS, not what a real engine stores in state;
 *  - whether the hook name is stored in state (it is, backend/snapshot.go mustWrite) and resolved
 *    at delete time against the current program is engine behaviour, emulated in tests/support/engine.ts.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { POOL_GUARD_HOOK, guardDrainOptions, guardedPoolOf } from "../../components/poolGuard";
import { validateStackConfig } from "../../components/config";
import { clone, runProgram, stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");

const NODEPOOL = "gcp:container/nodePool:NodePool";

/** Records the hook bindings of every RegisterResourceRequest the program sends to the mock monitor. */
function recordHookBindings(): { bindings: Map<string, { type: string; beforeDelete: string[] }>; restore(): void } {
  const bindings = new Map<string, { type: string; beforeDelete: string[] }>();
  const original = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (req: any, callback: any) {
    bindings.set(`${req.getType()}::${req.getName()}`, { type: req.getType(), beforeDelete: req.getHooks()?.getBeforeDeleteList() ?? [] });
    return original.call(this, req, callback);
  };
  return { bindings, restore: () => void (MockMonitor.prototype.registerResource = original) };
}

describe("pool guard in the program (index.ts under mocks)", function () {
  this.timeout(60_000);

  it("registers every pool of every stack with the named beforeDelete hook, and nothing else with it", async () => {
    for (const stack of ["staging", "prod"]) {
      const file = stackFileConfig(stack);
      const cfg = validateStackConfig(file, { stack });
      const rec = recordHookBindings();
      try {
        const run = await runProgram(stack, file);
        await run.waitFor(NODEPOOL, cfg.pools.length); // the wrapper records each request before the mock sees it
        const pools = [...rec.bindings.entries()].filter(([, b]) => b.type === NODEPOOL);
        assert.deepEqual(pools.map(([k]) => k.split("::")[1]).sort(), cfg.pools.map((p) => p.role).sort());
        for (const [key, b] of pools) assert.deepEqual(b.beforeDelete, [POOL_GUARD_HOOK], key);
        const others = [...rec.bindings.entries()].filter(([, b]) => b.type !== NODEPOOL && b.beforeDelete.length > 0);
        assert.deepEqual(others, [], "only NodePools carry the guard");
      } finally {
        rec.restore();
      }
    }
  });

  it("the hook checks pools of the program's cluster with the program's current drain config, and refuses pools of a cluster it does not manage", async () => {
    const file = clone(stackFileConfig("staging"));
    file["nodepool-rotation:drain"] = { ...(file["nodepool-rotation:drain"] ?? {}), skip: true };
    const run = await runProgram("staging", file);
    const [pool] = await run.waitFor(NODEPOOL, 1);
    // The callback of the module instance THIS program run loaded: other harnesses (tests/policy)
    // drop project modules from require's cache between runs, so the instance imported at the top
    // of this file may hold another run's registrations.
    const { poolGuardCallback } = require("../../components/poolGuard") as typeof import("../../components/poolGuard");
    // What the engine hands the hook on delete: the pool's OLD outputs (GCP echoes its inputs).
    const args = { urn: `urn:pulumi:staging::nodepool-rotation::${NODEPOOL}::${pool.name}`, id: "id", name: pool.name, type: NODEPOOL, oldInputs: pool.inputs, oldOutputs: pool.inputs };
    const logs: string[] = [];
    await poolGuardCallback(args, (l) => logs.push(l));
    assert.match(logs.join("\n"), /NOT checked: nodepool-rotation:drain.skip is true/, "drain.skip of the CURRENT config reached the hook");

    const foreign = { ...args, oldOutputs: { ...pool.inputs, cluster: "someone-elses-cluster" } };
    await assert.rejects(poolGuardCallback(foreign, () => {}), (e: Error) => {
      assert.match(e.message, new RegExp(`node pool "${pool.inputs.name}" belongs to cluster ${file["gcp:project"]}/[^/]+/someone-elses-cluster, which this program does not manage pools of`));
      assert.match(e.message, /The pool was NOT deleted/);
      return true;
    });
  });
  it("reads the pool from its old outputs: full resource paths, secret fields, and a clear error without a name", async () => {
    const target = await guardedPoolOf({
      urn: "urn:pulumi:staging::nodepool-rotation::gcp:container/nodePool:NodePool::app",
      oldInputs: { name: "from-inputs" },
      oldOutputs: {
        name: "app-1-35-2-gke1269000-20261201-ab12c",
        project: "proj",
        location: "europe-west1",
        cluster: "projects/proj/locations/europe-west1/clusters/staging",
        nodeConfig: pulumi.secret({ labels: { "nodepool-rotation/role": "app" } }),
      },
    });
    assert.deepEqual(target, { pool: "app-1-35-2-gke1269000-20261201-ab12c", role: "app", clusterId: "proj/europe-west1/staging" });
    await assert.rejects(guardedPoolOf({ urn: "urn:x", oldOutputs: {} }), /the state of urn:x has no pool name/);
  });
  it("drains with the stack's drain options (units converted, never keeps nodes cordoned)", () => {
    const options = guardDrainOptions(
      { pool: "old", role: "app", clusterId: "p/l/c" },
      { deadlineMinutes: 5, concurrency: 4, batch: 2, batchSoakSeconds: 30, soakSeconds: 60, waitForReady: true, deleteEmptyDirData: true, defaultBudget: "none" },
    );
    assert.deepEqual(options, {
      pool: "old",
      replacementSelector: "nodepool-rotation/role=app",
      deleteEmptyDirData: true,
      defaultBudget: "none",
      deadlineMs: 300_000,
      concurrency: 4,
      batch: "2",
      batchSoakMs: 30_000,
      soakMs: 60_000,
      waitForReady: true,
      keepCordoned: false,
      knobs: "stack",
    });
  });
});

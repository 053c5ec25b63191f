/**
 * The engine emulation (tests/support/engine.ts) itself: the deletion order and bookkeeping a
 * two-role rotation relies on, with providers that only record what they are asked to do.
 */
import * as assert from "node:assert/strict";
import { EmulatedStack, Goal, RunOptions, makeUrn } from "./engine";

const POOL = "gcp:container/nodePool:NodePool";
const DRAINER = "pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer";
const COMPONENT = "nodepool-rotation:index:VersionedNodePool";

/** The resources one role registers (component, pool, drainer), as VersionedNodePool does. */
function role(role: string, version: string, hooks: string[] = []): Goal[] {
  const comp = makeUrn("staging", "nodepool-rotation", COMPONENT, role);
  const pool = makeUrn("staging", "nodepool-rotation", POOL, role, COMPONENT);
  return [
    { urn: comp, type: COMPONENT, inputs: {}, custom: false },
    { urn: pool, type: POOL, inputs: { name: `${role}-${version}` }, parent: comp, hooks: { beforeDelete: hooks } },
    { urn: makeUrn("staging", "nodepool-rotation", DRAINER, `${role}-drainer`, COMPONENT), type: DRAINER, inputs: { poolName: `${role}-${version}` }, parent: comp, dependencies: [pool] },
  ];
}

function providers(log: string[], failDrain = new Set<string>()): RunOptions["providers"] {
  return {
    [POOL]: { replaceOn: ["name"], delete: (s) => void log.push(`delete pool ${s.id}`) },
    [DRAINER]: {
      replaceOn: ["poolName"],
      create: (g) => ({ id: `drainer/${g.inputs.poolName}`, outputs: g.inputs }),
      delete: (s) => {
        if (failDrain.has(s.outputs.poolName)) throw new Error(`drain of ${s.outputs.poolName} blocked`);
        log.push(`drain ${s.outputs.poolName}`);
      },
    },
  };
}

describe("engine emulation (tests/support/engine.ts)", () => {
  it("rotation: creates first, then every old drainer in one batch, every old pool in a later one", async () => {
    const stack = new EmulatedStack();
    const log: string[] = [];
    assert.ok((await stack.up([...role("app", "v1"), ...role("web", "v1")], { providers: providers(log) })).ok);
    const r = await stack.up([...role("app", "v2"), ...role("web", "v2")], { providers: providers(log) });
    assert.ok(r.ok);
    assert.deepEqual(r.batches.length, 2);
    assert.deepEqual(r.batches[0].map((k) => k.split("#")[1]).sort(), ["drainer/app-v1", "drainer/web-v1"]);
    assert.deepEqual(r.batches[1].map((k) => k.split("#")[1]).sort(), ["app-v1", "web-v1"]);
    assert.deepEqual(stack.pendingDeletes(), []);
  });

  it("one role's drain fails: the other role's pool is left drained-not-deleted, its drainer gone; the next up deletes both pools", async () => {
    const stack = new EmulatedStack();
    const log: string[] = [];
    await stack.up([...role("app", "v1"), ...role("web", "v1")], { providers: providers(log) });
    const r = await stack.up([...role("app", "v2"), ...role("web", "v2")], { providers: providers(log, new Set(["app-v1"])) });
    assert.equal(r.ok, false);
    assert.deepEqual(log, ["drain web-v1"]);
    assert.deepEqual(stack.pendingDeletes().map((s) => s.id).sort(), ["app-v1", "drainer/app-v1", "web-v1"]);
    assert.deepEqual(r.steps.filter((s) => s.status === "cancelled").map((s) => s.id).sort(), ["app-v1", "web-v1"]);

    log.length = 0;
    const again = await stack.up([...role("app", "v2"), ...role("web", "v2")], { providers: providers(log) });
    assert.ok(again.ok);
    // Antichains are peeled from the dependency side (resources with no condemned dependency
    // first) and reversed: web-v1, whose drainer is gone, lands in the LAST batch with app-v1.
    assert.deepEqual(again.batches.map((b) => b.map((k) => k.split("#")[1]).sort()), [["drainer/app-v1"], ["app-v1", "web-v1"]]);
    assert.deepEqual(log.sort(), ["delete pool app-v1", "delete pool web-v1", "drain app-v1"]);
  });

  it("--continue-on-error skips only the failed drainer's dependencies", async () => {
    const stack = new EmulatedStack();
    const log: string[] = [];
    await stack.up([...role("app", "v1"), ...role("web", "v1")], { providers: providers(log) });
    const r = await stack.up([...role("app", "v2"), ...role("web", "v2")], { providers: providers(log, new Set(["app-v1"])), continueOnError: true });
    assert.equal(r.ok, false);
    assert.deepEqual(stack.pendingDeletes().map((s) => s.id).sort(), ["app-v1", "drainer/app-v1"]);
    assert.ok(log.includes("delete pool web-v1"));
  });

  it("--target <pool urn>: the old pool is deleted, the drainer keeps its old state (no drain)", async () => {
    const stack = new EmulatedStack();
    const log: string[] = [];
    const v1 = role("app", "v1");
    await stack.up(v1, { providers: providers(log) });
    const v2 = role("app", "v2");
    const r = await stack.up(v2, { providers: providers(log), targets: [v2[1].urn] });
    assert.ok(r.ok);
    assert.deepEqual(log, ["delete pool app-v1"]);
    assert.equal(stack.live(v2[2].urn)?.outputs.poolName, "app-v1");
  });

  it("beforeDelete hooks: looked up by the name in the OLD state; unregistered or failing hooks keep the resource pending", async () => {
    const stack = new EmulatedStack();
    const log: string[] = [];
    await stack.up(role("app", "v1", ["guard"]), { providers: providers(log), hooks: { guard: () => {} } });
    const missing = await stack.up(role("app", "v2", []), { providers: providers(log) });
    assert.equal(missing.ok, false);
    assert.match(missing.errors[0], /hook "guard" was not registered/);
    const failing = await stack.up(role("app", "v2", []), { providers: providers(log), hooks: { guard: () => { throw new Error("pods left"); } } });
    assert.match(failing.errors[0], /before hook "guard" failed: pods left/);
    assert.deepEqual(stack.pendingDeletes().map((s) => s.id), ["app-v1"]);
    const destroy = await new EmulatedStack().destroy({ providers: providers(log), runProgram: false });
    assert.ok(destroy.ok);
    const refused = await stack.destroy({ providers: providers(log), runProgram: false });
    assert.match(refused.errors[0], /--run-program/);
  });
  it("hook bindings: a same step records the program's new bindings; a pool replaced in the very run that adds the hook keeps none", async () => {
    const log: string[] = [];
    const hooks = { guard: () => void log.push("guard ran") };
    // Upgrade, then a rotation: the same step of the upgrade run records the binding.
    const upgraded = new EmulatedStack();
    await upgraded.up(role("app", "v1", []), { providers: providers(log) });
    await upgraded.up(role("app", "v1", ["guard"]), { providers: providers(log), hooks });
    assert.deepEqual(upgraded.live(role("app", "v1")[1].urn)?.hooks.beforeDelete, ["guard"]);
    await upgraded.up(role("app", "v2", ["guard"]), { providers: providers(log), hooks });
    assert.deepEqual(log, ["drain app-v1", "guard ran", "delete pool app-v1"]);
    // Upgrade and rotation in one run: the old pool's state has no binding, its delete runs no hook.
    log.length = 0;
    const direct = new EmulatedStack();
    await direct.up(role("app", "v1", []), { providers: providers(log) });
    await direct.up(role("app", "v2", ["guard"]), { providers: providers(log), hooks });
    assert.deepEqual(log, ["drain app-v1", "delete pool app-v1"]);
  });
});

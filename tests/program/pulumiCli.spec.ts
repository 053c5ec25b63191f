/**
 * A Pulumi CLI older than 3.182.0 has no resource hooks. The SDK then rejects the pool guard's
 * registration with its own "does not support resource hooks" (@pulumi/pulumi runtime/resource.js
 * `registerResourceHook`, which reads the engine's advertised features from the runtime store), and
 * every NodePool bound to the hook awaits that registration (`prepareHooks`). The program must
 * instead fail with one line naming the minimum CLI and how to upgrade.
 *
 * Under pulumi.runtime.setMocks the store says hooks are supported (mocks.js); these specs flip that
 * one flag, as an old engine's feature list would, and drive the SDK's own code paths.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as guard from "../../components/poolGuard";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const sdkState = require("@pulumi/pulumi/runtime/state");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const sdkResource = require("@pulumi/pulumi/runtime/resource");

/** A fresh copy of components/poolGuard (its hook is created once per program, i.e. per module instance). */
function freshPoolGuard(): typeof guard {
  const id = require.resolve("../../components/poolGuard");
  delete require.cache[id];
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(id);
}

const CLUSTER = { clusterId: "proj/europe-west1/staging", kubeconfig: "apiVersion: v1" };

describe("program: a Pulumi CLI without resource hooks (older than 3.182.0)", () => {
  before(() => {
    pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs }, "nodepool-rotation", "staging", false);
  });
  afterEach(() => {
    sdkState.getStore().supportsResourceHooks = true;
  });

  it("the SDK's own rejection is turned into a RunError naming 3.182.0, pulumi version and the upgrade", async () => {
    sdkState.getStore().supportsResourceHooks = false;
    const sdkError = await sdkResource.registerResourceHook({ name: "probe" }).then(
      () => assert.fail("the SDK registered a hook on an engine without hooks"),
      (e: Error) => e,
    );
    assert.match(sdkError.message, /does not support resource hooks/, "the SDK's wording this wrapper keys on");
    const ours = guard.hookSupportError(sdkError);
    assert.ok(pulumi.RunError.isInstance(ours as Error), "a RunError: the language host prints its message without a stack");
    const text = (ours as Error).message;
    assert.match(text, /needs Pulumi CLI 3\.182\.0 or newer/);
    assert.match(text, /pulumi version/);
    assert.match(text, /get\.pulumi\.com/);
    assert.match(text, /pulumi-version/);
    assert.equal(guard.MIN_PULUMI_CLI, "3.182.0");
    const other = new Error("Callback server could not initialize");
    assert.equal(guard.hookSupportError(other), other, "other errors pass through unchanged");
  });

  it("a NodePool bound to the pool guard fails its registration with that message (what the first pool of pulumi up shows)", async () => {
    sdkState.getStore().supportsResourceHooks = false;
    const fresh = freshPoolGuard();
    const hook = fresh.poolGuardHook(CLUSTER);
    // prepareHooks is what registerResource awaits for a resource's `hooks` option.
    await assert.rejects(sdkResource.prepareHooks({ beforeDelete: [hook] }, "pool"), (e: Error) => {
      assert.ok(pulumi.RunError.isInstance(e), `RunError expected, got ${e}`);
      assert.match(e.message, /^nodepool-rotation needs Pulumi CLI 3\.182\.0 or newer: every node pool carries the pool guard/);
      return true;
    });
  });

  it("with resource hooks supported, the same binding registers the hook by name", async () => {
    const fresh = freshPoolGuard();
    const hook = fresh.poolGuardHook(CLUSTER);
    const binding = await sdkResource.prepareHooks({ beforeDelete: [hook] }, "pool");
    assert.deepEqual(binding.getBeforeDeleteList(), [guard.POOL_GUARD_HOOK]);
  });
});

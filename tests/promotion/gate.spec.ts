import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import {
  checkVerified,
  gateDependency,
  PromotionGateError,
  requireVerifiedIn,
  stackReferenceName,
  unverifiedPools,
  verifiedVersionsOutput,
} from "../../components/promotion/gate";

const NEW = "1.35.2-gke.1269000";
const OLD = "1.34.6-gke.1125000";
const STACK_REF = "pulumi:pulumi:StackReference";
const NODEPOOL = "gcp:container/nodePool:NodePool";

/** Internal promise of an Output (rejections included), to await outcomes without sleeping. */
const settle = <T>(o: pulumi.Output<T>): Promise<T> => (o as any).promise();

/**
 * Mocks in which a StackReference read returns `outputs` as the referenced stack's outputs, the
 * way the engine does (state.outputs). Records every registered resource.
 */
async function mockWithStaging(outputs: Record<string, unknown> | undefined, preview = false, organization = "organization") {
  const registered: { type: string; name: string; inputs: any }[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === STACK_REF) return { id: args.inputs.name, state: { name: args.inputs.name, outputs } };
        return { id: `${args.name}_id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "nodepool-rotation",
    "prod",
    preview,
    organization,
  );
  return registered;
}

describe("promotion/gate: prod refuses versions staging has not verified", () => {
  const prodPools = [
    { role: "app", version: NEW },
    { role: "batch", version: OLD },
  ];

  describe("the rule (pure)", () => {
    it("passes when every pool's version is staging's verified one", () => {
      assert.deepEqual(unverifiedPools(prodPools, { app: NEW, batch: OLD, extra: "1.33.1-gke.1000000" }, "staging"), []);
      checkVerified(prodPools, { app: NEW, batch: OLD }, "staging");
    });

    it("fails naming each unverified pool, its version, the staging stack and what staging verified", () => {
      assert.throws(
        () => checkVerified(prodPools, { app: OLD, batch: OLD }, "staging", "prod"),
        (e: unknown) =>
          e instanceof PromotionGateError &&
          e.problems.length === 1 &&
          /promotion gate \(nodepool-rotation:promotion\.requireVerifiedIn: staging\) refused/.test(e.message) &&
          e.message.includes(`pool "app" is set to version ${NEW}, which stack "staging" has not verified (staging has verified ${OLD} for "app")`) &&
          e.message.includes(`npm run bump -- --stack staging --role app --version ${NEW}`) &&
          e.message.includes("npm run promote -- --from staging --to prod"),
      );
      assert.equal(unverifiedPools(prodPools, {}, "staging").length, 2);
      assert.match(unverifiedPools(prodPools, undefined, "staging")[0], /stack "staging" has no verifiedVersions output/);
      assert.match(unverifiedPools(prodPools, ["x"], "staging")[0], /is not a map of role -> version/);
    });

    it("is a pulumi.RunError, so pulumi up prints the message without a program stack trace", () => {
      assert.ok(pulumi.RunError.isInstance(new PromotionGateError("x", ["x"])));
    });
  });

  describe("through a mocked StackReference", () => {
    it("pass: on a self-managed backend reads the bare stack name, resolves, and lets the gated pool register", async () => {
      const registered = await mockWithStaging({ verifiedVersions: { app: NEW, batch: OLD } });
      const gate = requireVerifiedIn(prodPools, "staging");
      const pool = new gcp.container.NodePool("app", { cluster: "game-prod", name: "app-x", version: NEW }, { dependsOn: gateDependency(gate) });
      assert.deepEqual(await settle(gate.verified), { app: NEW, batch: OLD });
      assert.equal(await settle(pool.urn), "urn:pulumi:prod::nodepool-rotation::gcp:container/nodePool:NodePool::app");
      const ref = registered.find((r) => r.type === STACK_REF)!;
      // Not organization/nodepool-rotation/staging: a DIY backend in the legacy layout rejects it
      // (tokens.ParseStackName), and the project layout resolves the bare name to exactly that.
      assert.equal(ref.inputs.name, "staging");
      assert.ok(registered.some((r) => r.type === NODEPOOL));
    });

    it("on Pulumi Cloud reads the fully qualified <org>/<project>/staging", async () => {
      const registered = await mockWithStaging({ verifiedVersions: { app: NEW, batch: OLD } }, false, "acme-sre");
      const gate = requireVerifiedIn(prodPools, "staging");
      assert.deepEqual(await settle(gate.verified), { app: NEW, batch: OLD });
      assert.equal(registered.find((r) => r.type === STACK_REF)!.inputs.name, "acme-sre/nodepool-rotation/staging");
    });

    it("fail: rejects with the pool, version and stack, and the gated pool is never registered", async () => {
      const registered = await mockWithStaging({ verifiedVersions: { app: OLD, batch: OLD } });
      const gate = requireVerifiedIn(prodPools, "staging");
      const pool = new gcp.container.NodePool("app", { cluster: "game-prod", name: "app-x", version: NEW }, { dependsOn: gateDependency(gate) });
      await assert.rejects(settle(gate.verified), (e: unknown) => e instanceof PromotionGateError && e.message.includes(`pool "app" is set to version ${NEW}, which stack "staging" has not verified`) && e.message.includes("npm run promote -- --from staging --to prod"));
      await assert.rejects(settle(pool.urn), /pool "app" is set to version 1\.35\.2-gke\.1269000/);
      assert.ok(registered.some((r) => r.type === STACK_REF));
      assert.ok(!registered.some((r) => r.type === NODEPOOL), "no NodePool reached the engine");
    });

    it("fail in a preview too (a PR's prod preview already refuses)", async () => {
      const registered = await mockWithStaging({ verifiedVersions: { app: OLD, batch: OLD } }, true);
      const gate = requireVerifiedIn(prodPools, "staging");
      const pool = new gcp.container.NodePool("app", { cluster: "game-prod", name: "app-x", version: NEW }, { dependsOn: gateDependency(gate) });
      await assert.rejects(settle(gate.verified), /pool "app" is set to version 1\.35\.2-gke\.1269000, which stack "staging" has not verified/);
      await assert.rejects(settle(pool.urn));
      assert.ok(!registered.some((r) => r.type === NODEPOOL));
    });

    it("fail: a staging stack without the verifiedVersions output (never deployed with this program)", async () => {
      await mockWithStaging({ pools: {} });
      const gate = requireVerifiedIn(prodPools, "staging");
      await assert.rejects(settle(gate.verified), /stack "staging" has no verifiedVersions output/);
    });
  });

  /**
   * How a self-managed backend resolves a StackReference name, per layout (pulumi/pulumi
   * pkg/backend/diy/store.go ParseReference; sdk/go/common/tokens/stack_name.go): the legacy layout
   * takes the whole string as a stack name; the project layout splits org/project/stack, requires
   * org "organization" and fills the project from the current one. Returns the stack it finds.
   */
  function diyResolve(layout: "legacy" | "project", ref: string, currentProject: string): string {
    if (layout === "legacy") {
      if (!/^[A-Za-z0-9_.-]+$/.test(ref)) throw new Error(`a stack name may only contain alphanumeric, hyphens, underscores, or periods: ${ref}`);
      return ref;
    }
    const parts = ref.split("/");
    const [org, project, name] = parts.length === 3 ? parts : parts.length === 2 ? [parts[0], currentProject, parts[1]] : ["organization", currentProject, parts[0]];
    if (org !== "organization") throw new Error("organization name must be 'organization'");
    return `organization/${project}/${name}`;
  }

  it("on a self-managed backend the gate's name resolves to this project's staging in both state layouts", async () => {
    await mockWithStaging(undefined);
    const name = stackReferenceName("staging");
    assert.equal(diyResolve("legacy", name, "nodepool-rotation"), "staging");
    assert.equal(diyResolve("project", name, "nodepool-rotation"), "organization/nodepool-rotation/staging");
    // what the gate used to send fails in the legacy layout
    assert.throws(() => diyResolve("legacy", "organization/nodepool-rotation/staging", "nodepool-rotation"), /may only contain/);
  });

  it("stackReferenceName: bare on DIY backends (both layouts) and old engines, qualified on Pulumi Cloud", async () => {
    await mockWithStaging(undefined);
    assert.equal(stackReferenceName("staging", () => "organization"), "staging");
    assert.equal(stackReferenceName("staging", () => { throw new Error("organization is not available"); }), "staging");
    assert.equal(stackReferenceName("staging", () => ""), "staging");
    assert.equal(stackReferenceName("staging", () => "acme-sre"), "acme-sre/nodepool-rotation/staging");
  });

  it("verifiedVersionsOutput maps role -> version once each pool's proof resolved", async () => {
    await mockWithStaging(undefined);
    const app = new gcp.container.NodePool("app", { cluster: "c", name: "app-1", version: NEW });
    const batch = new gcp.container.NodePool("batch", { cluster: "c", name: "batch-1", version: OLD });
    const out = verifiedVersionsOutput([
      { role: "app", version: app.version.apply((v) => v!), proof: [app.name] },
      { role: "batch", version: OLD, proof: [batch.id] },
    ]);
    assert.deepEqual(await settle(out), { app: NEW, batch: OLD });
  });
});

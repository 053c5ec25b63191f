/**
 * The real index.ts with the promotion gate, under Pulumi mocks in which staging's outputs come from
 * a mocked StackReference: prod's pools (wave "prod" of fleet.yaml) register only when staging
 * verified their versions and the control-plane version, and staging's 24h soak has passed; every
 * stack exports verifiedVersions, verifiedControlPlane and verifiedAt.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { validateStackConfig } from "../../components/config";
import { ROTATION_MARK_TYPE } from "../../components/promotion/rotationMark";
import { REPO } from "./helpers";

const NODEPOOL = "gcp:container/nodePool:NodePool";
/** What the RotationMark's provider stamps at create (mocked: the engine never runs providers here). */
const MARKED_AT = "2026-11-20T03:12:44.000Z";
const HOUR = 3600_000;
const STACK_REF = "pulumi:pulumi:StackReference";

function stackConfig(stack: string): Record<string, any> {
  return parse(fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8")).config;
}

/** Load index.ts freshly for `stack`, with staging's outputs = `stagingOutputs`. */
async function runProgram(stack: string, stagingOutputs: Record<string, unknown> | undefined) {
  const registered: { type: string; name: string; inputs: any }[] = [];
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(stackConfig(stack))) flat[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(flat);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === STACK_REF) return { id: args.inputs.name, state: { name: args.inputs.name, outputs: stagingOutputs } };
        if (args.type === ROTATION_MARK_TYPE) return { id: "rotation-mark", state: { ...args.inputs, at: MARKED_AT } };
        const state: Record<string, any> = { ...args.inputs };
        if (args.type === "gcp:container/cluster:Cluster") {
          state.endpoint = "34.85.1.2";
          state.masterAuth = { clusterCaCertificate: Buffer.from("CA").toString("base64") };
        }
        return { id: `${args.name}_id`, state };
      },
      call: (args) => args.inputs,
    },
    "nodepool-rotation",
    stack,
    false,
    "organization",
  );
  const entry = require.resolve(path.join(REPO, "index.ts"));
  delete require.cache[entry];
  const outputs = require(entry);
  return { registered, outputs };
}

const settle = <T>(o: pulumi.Output<T>): Promise<T> => (o as any).promise();

describe("promotion/program: index.ts exports what it verified and gates each wave on the previous one", () => {
  const prod = validateStackConfig(stackConfig("prod"), { stack: "prod" });
  const prodVersions = Object.fromEntries(prod.pools.map((p) => [p.role, p.version]));
  const soaked = new Date(Date.now() - 25 * HOUR).toISOString(); // staging's wave soaks 24h (fleet.yaml)
  const stagingOk = (extra: Record<string, unknown> = {}) => ({
    verifiedVersions: { ...prodVersions },
    verifiedControlPlane: prod.cluster.controlPlaneVersion,
    verifiedAt: soaked,
    ...extra,
  });

  it("staging (first wave, no gate): exports verifiedVersions, verifiedControlPlane and verifiedAt, reads no other stack", async () => {
    const staging = validateStackConfig(stackConfig("staging"), { stack: "staging" });
    const run = await runProgram("staging", undefined);
    assert.deepEqual(await settle(run.outputs.verifiedVersions), Object.fromEntries(staging.pools.map((p) => [p.role, p.version])));
    assert.equal(await settle(run.outputs.verifiedControlPlane), staging.cluster.controlPlaneVersion);
    assert.equal(await settle(run.outputs.verifiedAt), MARKED_AT);
    const mark = run.registered.find((r) => r.type === ROTATION_MARK_TYPE)!;
    assert.deepEqual(Object.keys(await mark.inputs.pools).sort(), staging.pools.map((p) => p.role).sort(), "the mark is keyed by role -> pool name");
    assert.ok(!run.registered.some((r) => r.type === STACK_REF));
    assert.equal(run.outputs.promotionGateVerified, undefined);
  });

  for (const stack of ["prod", "prod-osaka"]) {
    it(`${stack}, pass: staging verified every version and the control plane, soak over -> reference to staging, pools registered`, async () => {
      const run = await runProgram(stack, stagingOk());
      assert.deepEqual(await settle(run.outputs.promotionGateVerified), prodVersions);
      assert.deepEqual(await settle(run.outputs.verifiedVersions), prodVersions);
      assert.equal(run.registered.filter((r) => r.type === NODEPOOL).length, prod.pools.length);
      assert.deepEqual(run.registered.filter((r) => r.type === STACK_REF).map((r) => r.inputs.name), ["staging"]);
    });
  }

  it("prod, fail: a prod pool at a version staging never verified -> clear error, no prod pool registered", async () => {
    const [first] = prod.pools;
    const run = await runProgram("prod", stagingOk({ verifiedVersions: { ...prodVersions, [first.role]: "1.33.9-gke.1000000" } }));
    await assert.rejects(settle(run.outputs.promotionGateVerified), (e: Error) =>
      e.message.includes(`pool "${first.role}" is set to version ${first.version}, which stack "staging" has not verified (staging has verified 1.33.9-gke.1000000`),
    );
    await assert.rejects(settle(run.outputs.verifiedVersions));
    assert.ok(run.registered.some((r) => r.type === STACK_REF));
    assert.equal(run.registered.filter((r) => r.type === NODEPOOL).length, 0, "no prod pool reached the engine");
  });

  it("prod, fail: the control plane is not the one staging runs -> refused naming both versions and the promote that carries it", async () => {
    const run = await runProgram("prod", stagingOk({ verifiedControlPlane: "1.35.3-gke.1100000" }));
    await assert.rejects(settle(run.outputs.promotionGateVerified), (e: Error) =>
      e.message.includes(`the control plane is set to ${prod.cluster.controlPlaneVersion} (nodepool-rotation:cluster.controlPlaneVersion), but stack "staging" runs 1.35.3-gke.1100000`) &&
      e.message.includes("npm run promote -- --from staging --to prod"),
    );
    assert.equal(run.registered.filter((r) => r.type === NODEPOOL).length, 0);
  });

  it("prod, fail: staging's 24h soak has not passed -> refused with when it ends; no pool registered", async () => {
    const at = new Date(Date.now() - 2 * HOUR);
    const run = await runProgram("prod", stagingOk({ verifiedAt: at.toISOString() }));
    const ends = new Date(at.getTime() + 24 * HOUR).toISOString();
    await assert.rejects(settle(run.outputs.promotionGateVerified), (e: Error) =>
      e.message.includes(`fleet.yaml: wave "prod" takes the versions of wave "staging"`) && e.message.includes(`the 24h soak ends at ${ends} (in 22h`),
    );
    assert.equal(run.registered.filter((r) => r.type === NODEPOOL).length, 0);
  });
});

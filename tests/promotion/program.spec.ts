/**
 * The real index.ts with the prod gate, under Pulumi mocks in which staging's outputs come from a
 * mocked StackReference: prod's pools register only when staging verified their versions, and every
 * stack exports verifiedVersions.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { validateStackConfig } from "../../components/config";
import { REPO } from "./helpers";

const NODEPOOL = "gcp:container/nodePool:NodePool";
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

describe("promotion/program: index.ts exports verifiedVersions and gates prod on staging", () => {
  const prod = validateStackConfig(stackConfig("prod"), { stack: "prod" });
  const prodVersions = Object.fromEntries(prod.pools.map((p) => [p.role, p.version]));

  it("staging (no gate): exports verifiedVersions = role -> version of its pools, reads no other stack", async () => {
    const staging = validateStackConfig(stackConfig("staging"), { stack: "staging" });
    const run = await runProgram("staging", undefined);
    assert.deepEqual(await settle(run.outputs.verifiedVersions), Object.fromEntries(staging.pools.map((p) => [p.role, p.version])));
    assert.ok(!run.registered.some((r) => r.type === STACK_REF));
    assert.equal(run.outputs.promotionGateVerified, undefined);
  });

  it("prod, pass: staging verified every prod version -> reference to staging (self-managed backend), pools registered", async () => {
    const run = await runProgram("prod", { verifiedVersions: { ...prodVersions } });
    assert.deepEqual(await settle(run.outputs.verifiedVersions), prodVersions);
    assert.deepEqual(await settle(run.outputs.promotionGateVerified), prodVersions);
    assert.equal(run.registered.filter((r) => r.type === NODEPOOL).length, prod.pools.length);
    assert.equal(run.registered.find((r) => r.type === STACK_REF)!.inputs.name, "staging");
  });

  it("prod, fail: a prod pool at a version staging never verified -> clear error, no prod pool registered", async () => {
    const [first] = prod.pools;
    const run = await runProgram("prod", { verifiedVersions: { ...prodVersions, [first.role]: "1.33.9-gke.1000000" } });
    await assert.rejects(settle(run.outputs.promotionGateVerified), (e: Error) =>
      e.message.includes(`pool "${first.role}" is set to version ${first.version}, which stack "staging" has not verified (staging has verified 1.33.9-gke.1000000`),
    );
    await assert.rejects(settle(run.outputs.verifiedVersions));
    assert.ok(run.registered.some((r) => r.type === STACK_REF));
    assert.equal(run.registered.filter((r) => r.type === NODEPOOL).length, 0, "no prod pool reached the engine");
  });
});

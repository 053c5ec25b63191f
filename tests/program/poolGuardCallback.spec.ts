/**
 * The pool guard called the way the engine calls a `before_delete` hook: a `Callbacks.Invoke` gRPC
 * request to the program's callback server (the SDK's own, runtime/callbacks.js) carrying a
 * protobuf `ResourceHookRequest` with the pool's OLD outputs (a secret field included), answered
 * with a `ResourceHookResponse` whose `error` the engine turns into "before hook … failed"
 * (pkg/resource/deploy/deployment.go `RunHooks`). The guard then works on the simulator over HTTP.
 *
 * The hook is registered through the SDK under setMocks; the mock monitor has no
 * `registerResourceHook` (pulumi/docs#16461), so this spec answers that registration itself and
 * keeps the callback's address and token — exactly what a real engine keeps.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { poolGuardCallback, registerPoolGuardCluster } from "../../components/poolGuard";
import { drainPool } from "../../components/rotation";
import { deployment, PoolSim, startPoolSim, waitFor } from "../rotation/sim";
import { applyDeployment, repairNodes } from "./clusterActions";

/* eslint-disable @typescript-eslint/no-var-requires */
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks");
const callrpc = require("@pulumi/pulumi/proto/callback_grpc_pb");
const callpb = require("@pulumi/pulumi/proto/callback_pb");
const respb = require("@pulumi/pulumi/proto/resource_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const grpc = require("@grpc/grpc-js");
/* eslint-enable @typescript-eslint/no-var-requires */

const CLUSTER = { project: "proj", location: "europe-west1", cluster: "staging" };
const NODEPOOL = "gcp:container/nodePool:NodePool";

/** Registers a hook with the guard's callback through the SDK and returns how the engine would call it. */
async function registerGuardHook(name: string, log: string[]): Promise<(oldOutputs: Record<string, any>) => Promise<string>> {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}_id`, state: a.inputs }), call: (a) => a.inputs }, "nodepool-rotation", "staging", false);
  const saved = Object.getOwnPropertyDescriptor(MockMonitor.prototype, "registerResourceHook");
  let callback: { target: string; token: string } | undefined;
  MockMonitor.prototype.registerResourceHook = (req: any, cb: (e: unknown, r: unknown) => void) => {
    if (req.getName() === name) callback = { target: req.getCallback().getTarget(), token: req.getCallback().getToken() };
    cb(null, {});
  };
  try {
    const hook = new pulumi.ResourceHook(name, (args) => poolGuardCallback(args, (l) => log.push(l)));
    await (hook as any).__registered;
  } finally {
    if (saved) Object.defineProperty(MockMonitor.prototype, "registerResourceHook", saved);
    else delete MockMonitor.prototype.registerResourceHook;
  }
  assert.ok(callback, "the SDK registered the hook's callback");
  const { target, token } = callback!;
  const client = new callrpc.CallbacksClient(target, grpc.credentials.createInsecure());
  return async (oldOutputs) => {
    const req = new respb.ResourceHookRequest();
    req.setUrn(`urn:pulumi:staging::nodepool-rotation::nodepool-rotation:index:VersionedNodePool$${NODEPOOL}::app`);
    req.setId(`projects/proj/locations/europe-west1/clusters/staging/nodePools/${oldOutputs.name}`);
    req.setName("app");
    req.setType(NODEPOOL);
    const props = Struct.fromJavaScript(await pulumi.runtime.serializeProperties("test", oldOutputs));
    req.setOldOutputs(props);
    req.setOldInputs(props);
    const invoke = new callpb.CallbackInvokeRequest();
    invoke.setToken(token);
    invoke.setRequest(req.serializeBinary());
    const res: any = await new Promise((resolve, reject) => client.invoke(invoke, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
    return respb.ResourceHookResponse.deserializeBinary(res.getResponse_asU8()).getError();
  };
}

describe("pool guard through the SDK's hook callback server (as the engine invokes it)", function () {
  this.timeout(60_000);
  let s: PoolSim | undefined;
  afterEach(async () => {
    await s?.sim.stop();
    s = undefined;
  });

  const oldPool = () => ({ name: "old", ...CLUSTER, nodeConfig: pulumi.secret({ labels: { "nodepool-rotation/role": "app" } }) });

  it("pods put on a drained pool: the callback drains them and answers with no error", async () => {
    const log: string[] = [];
    const invoke = await registerGuardHook("pool-guard-callback-spec-ok", log);
    s = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { minAvailable: 3 }) });
    registerPoolGuardCluster({ clusterId: `${CLUSTER.project}/${CLUSTER.location}/${CLUSTER.cluster}`, kubeconfig: pulumi.secret(s.sim.kubeconfig) });
    await drainPool(s.kc, { pool: "old" });
    await repairNodes(s.kc, s.oldNodes);
    await applyDeployment(s.kc, deployment("shop", "late", 4, { minAvailable: 3 }));
    const sim = s;
    await waitFor("pods on the repaired old nodes", async () => (await sim.view.podsOn(sim.oldNodes)).length > 0);

    assert.equal(await invoke(oldPool()), "");
    assert.deepEqual(await s.view.podsOn(s.oldNodes), []);
    assert.match(log.join("\n"), /draining them before GKE deletes the pool/);
    await s.sim.deletePool("old");
    assert.equal(s.sim.report().workloadPodsDeletedWithoutEviction, 0);
  });

  it("pods that cannot move: the callback answers with the guard's error (the engine fails the delete with it)", async () => {
    const invoke = await registerGuardHook("pool-guard-callback-spec-refuse", []);
    s = await startPoolSim({ oldNodes: 1, objects: deployment("shop", "web", 2, { minAvailable: 2 }) });
    registerPoolGuardCluster({ clusterId: `${CLUSTER.project}/${CLUSTER.location}/${CLUSTER.cluster}`, kubeconfig: pulumi.secret(s.sim.kubeconfig) });
    const error = await invoke(oldPool());
    assert.match(error, /^pool guard: node pool "old" \(cluster proj\/europe-west1\/staging\) still runs 2 workload pod\(s\)/);
    assert.match(error, /The pool was NOT deleted/);
    assert.equal((await s.view.podsOn(s.oldNodes)).length, 2);
  });
});

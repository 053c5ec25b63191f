/**
 * VersionedNodePool on its own: children parented to the component, resource options that keep
 * replacement create-before-delete, the public seam the drainer builds on.
 */
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { VersionedNodePool } from "../../components/versionedNodePool";
import { resolve, stackFileConfig } from "./harness";

describe("VersionedNodePool component", () => {
  const cfg = validateStackConfig(stackFileConfig("staging"), { stack: "staging" });
  const pool = cfg.pools[1];
  const captured: pulumi.ResourceTransformationArgs[] = [];
  let component: VersionedNodePool;

  before(async () => {
    await pulumi.runtime.setMocks(
      { newResource: (a) => ({ id: `${a.name}_id`, state: a.inputs }), call: (a) => a.inputs },
      "nodepool-rotation",
      "staging",
      false,
    );
    component = new VersionedNodePool(
      pool.role,
      { pool, environment: "staging", project: "p", location: "asia-northeast1", cluster: "game-staging", clusterId: "p/asia-northeast1/game-staging", kubeconfig: pulumi.secret("kc") },
      { transformations: [(args) => (captured.push(args), undefined)] },
    );
  });

  it("exposes the GKE pool, its versioned name, role and version", async () => {
    assert.equal(component.name, poolName(pool, "staging"));
    assert.equal(component.role, "batch");
    assert.equal(component.version, pool.version);
    assert.equal(await resolve(component.nodePool.name), component.name);
    assert.equal(await resolve(component.poolName), component.name);
  });

  it("parents the NodePool to the component (URN nests under VersionedNodePool)", async () => {
    const urn = await resolve(component.nodePool.urn);
    assert.equal(urn, "urn:pulumi:staging::nodepool-rotation::nodepool-rotation:index:VersionedNodePool$gcp:container/nodePool:NodePool::batch");
    const np = captured.find((c) => c.type === "gcp:container/nodePool:NodePool")!;
    assert.equal(np.opts.parent, component);
  });

  it("never asks for delete-before-replace, and ignores no input (an ignored initialNodeCount would be the OLD pool's on replacement)", () => {
    const np = captured.find((c) => c.type === "gcp:container/nodePool:NodePool")!;
    assert.ok(!(np.opts as pulumi.CustomResourceOptions).deleteBeforeReplace);
    assert.ok(!(np.opts as any).deletedWith, "deletedWith would skip the drain");
    assert.deepEqual(np.opts.ignoreChanges ?? [], []);
    assert.equal(np.props.initialNodeCount, Math.max(pool.minNodes, 1), "no live data given: the floor");
    assert.equal(np.props.name, component.name, "explicit name, no autonaming");
  });

  it("creates the pool with initialNodes when set (a floor), without renaming it", async () => {
    const sized = { ...pool, initialNodes: 4 };
    assert.equal(poolName(sized, "staging"), poolName(pool, "staging"), "initialNodes is mutable: never part of the name");
    const before = captured.length;
    new VersionedNodePool(
      `${pool.role}-sized`,
      { pool: sized, environment: "staging", project: "p", location: "asia-northeast1", cluster: "game-staging", clusterId: "p/asia-northeast1/game-staging", kubeconfig: pulumi.secret("kc") },
      { transformations: [(args) => (captured.push(args), undefined)] },
    );
    const np = captured.slice(before).find((c) => c.type === "gcp:container/nodePool:NodePool")!;
    assert.equal(np.props.initialNodeCount, 4);
  });

  it("turns taints into GKE taints", () => {
    const np = captured.find((c) => c.type === "gcp:container/nodePool:NodePool")!;
    assert.deepEqual(np.props.nodeConfig.taints, [{ key: "dedicated", value: "batch", effect: "NO_SCHEDULE" }]);
  });
});

describe("VersionedNodePool: channel mode and GKE's PDB-respecting deletion", () => {
  const cfg = validateStackConfig(stackFileConfig("staging"), { stack: "staging" });
  const pool = cfg.pools[0];

  async function registered(args: Partial<ConstructorParameters<typeof VersionedNodePool>[1]>): Promise<Record<string, any>> {
    const seen: Record<string, any>[] = [];
    await pulumi.runtime.setMocks(
      { newResource: (a) => (a.type === "gcp:container/nodePool:NodePool" && seen.push(a.inputs), { id: `${a.name}_id`, state: a.inputs }), call: (a) => a.inputs },
      "nodepool-rotation",
      "staging",
      false,
    );
    const c = new VersionedNodePool(pool.role, {
      pool, environment: "staging", project: "p", location: "asia-northeast1", cluster: "game-staging", clusterId: "p/asia-northeast1/game-staging", kubeconfig: pulumi.secret("kc"), ...args,
    });
    await resolve(c.nodePool.urn);
    return seen[0];
  }

  it("no channel: auto-upgrade off, no exclusion", async () => {
    const r = await registered({ releaseChannel: "UNSPECIFIED" });
    assert.deepEqual(r.management, { autoUpgrade: false, autoRepair: true });
    assert.equal(r.maintenancePolicies, undefined);
  });

  it("a channel: auto-upgrade on (GKE refuses off) with the pool's exclusion until end of support", async () => {
    const r = await registered({ releaseChannel: "STABLE" });
    assert.deepEqual(r.management, { autoUpgrade: true, autoRepair: true });
    assert.deepEqual(r.maintenancePolicies, [{ exclusionUntilEndOfSupports: [{ enabled: true }] }]);
  });

  it("drain.gkeRespectPdbOnDelete sets nodeDrainConfigs.respectPdbDuringNodePoolDeletion; off leaves it unset", async () => {
    assert.deepEqual((await registered({ drain: { gkeRespectPdbOnDelete: true } })).nodeDrainConfigs, [{ respectPdbDuringNodePoolDeletion: true }]);
    assert.equal((await registered({ drain: { gkeRespectPdbOnDelete: false } })).nodeDrainConfigs, undefined);
  });

  it("takes the initialNodeCount the program computed", async () => {
    assert.equal((await registered({ initialNodeCount: Promise.resolve(5) })).initialNodeCount, 5);
  });
});

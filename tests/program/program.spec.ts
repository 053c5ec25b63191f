/**
 * The real index.ts, run per stack under Pulumi mocks with the config of the real
 * Pulumi.<stack>.yaml: what it registers, with which inputs, and what it exports.
 */
import * as assert from "node:assert/strict";
import * as YAML from "yaml";
import { validateStackConfig } from "../../components/config";
import { GKE_POOL_NAME_REGEX, poolName } from "../../components/naming";
import { MOCK_CA, MOCK_ENDPOINT, Registered, clone, resolve, runProgram, stackFileConfig } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

const NODEPOOL = "gcp:container/nodePool:NodePool";
const CLUSTER = "gcp:container/cluster:Cluster";

for (const stack of ["staging", "prod"]) {
  describe(`program: stack ${stack} (Pulumi.${stack}.yaml)`, () => {
    const file = stackFileConfig(stack);
    const cfg = validateStackConfig(file, { stack });
    let nodePools: Registered[];
    let cluster: Registered[];
    let outputs: Record<string, any>;
    let run: Awaited<ReturnType<typeof runProgram>>;

    before(async () => {
      run = await runProgram(stack, file);
      outputs = run.outputs;
      nodePools = await run.waitFor(NODEPOOL, cfg.pools.length);
      cluster = await run.waitFor(CLUSTER, 1);
    });

    it("creates one cluster in the REGULAR channel with the NO_MINOR_OR_NODE_UPGRADES exclusion until end of support, pinned control plane, Workload Identity, default pool removed", () => {
      assert.equal(cluster.length, 1);
      const c = cluster[0].inputs;
      assert.equal(c.name, file["nodepool-rotation:cluster"].name);
      assert.equal(c.location, file["nodepool-rotation:cluster"].location);
      assert.equal(c.project, file["gcp:project"]);
      assert.equal(c.minMasterVersion, file["nodepool-rotation:cluster"].controlPlaneVersion);
      assert.equal(file["nodepool-rotation:cluster"].releaseChannel, "REGULAR");
      assert.deepEqual(c.releaseChannel, { channel: "REGULAR" });
      assert.deepEqual(c.maintenancePolicy, {
        maintenanceExclusions: [
          {
            exclusionName: "nodepool-rotation-hold-versions",
            startTime: "2026-01-01T00:00:00Z",
            exclusionOptions: { scope: "NO_MINOR_OR_NODE_UPGRADES", endTimeBehavior: "UNTIL_END_OF_SUPPORT" },
          },
        ],
      });
      assert.equal(c.removeDefaultNodePool, true);
      assert.deepEqual(c.workloadIdentityConfig, { workloadPool: `${file["gcp:project"]}.svc.id.goog` });
    });

    it("registers one NodePool per configured pool, under the stable role as Pulumi name, with the versioned GKE name", () => {
      assert.deepEqual(nodePools.map((r) => r.name).sort(), file["nodepool-rotation:pools"].map((p: any) => p.role).sort());
      for (const p of cfg.pools) {
        const r = nodePools.find((n) => n.name === p.role)!;
        assert.equal(r.inputs.name, poolName(p, cfg.environment));
        assert.match(r.inputs.name, GKE_POOL_NAME_REGEX);
        assert.ok(r.inputs.name.length <= 40);
        assert.equal(r.inputs.cluster, cfg.cluster.name);
        assert.equal(r.inputs.location, cfg.cluster.location);
        assert.equal(r.inputs.project, cfg.project);
      }
      assert.equal(new Set(nodePools.map((r) => r.inputs.name)).size, nodePools.length, "pool names distinct");
    });

    it("pins the version, held by the pool's end-of-support exclusion (auto-upgrade cannot be off in a channel), auto-repair on, surge upgrades with maxUnavailable 0", () => {
      for (const raw of file["nodepool-rotation:pools"]) {
        const r = nodePools.find((n) => n.name === raw.role)!.inputs;
        assert.equal(r.version, raw.version);
        assert.deepEqual(r.management, { autoUpgrade: true, autoRepair: true });
        assert.deepEqual(r.maintenancePolicies, [{ exclusionUntilEndOfSupports: [{ enabled: true }] }]);
        assert.equal(r.nodeDrainConfigs, undefined, "GKE's PDB-respecting deletion is opt-in");
        assert.equal(r.upgradeSettings.maxUnavailable, 0);
        assert.equal(r.upgradeSettings.maxSurge, raw.maxSurge ?? 1);
        assert.ok(r.upgradeSettings.maxSurge >= 1);
        assert.deepEqual(r.autoscaling, { minNodeCount: raw.minNodes, maxNodeCount: raw.maxNodes });
      }
    });

    it("passes the stack file's node settings through and adds role/env labels, Workload Identity, shielded nodes, no legacy metadata", () => {
      for (const raw of file["nodepool-rotation:pools"]) {
        const nc = nodePools.find((n) => n.name === raw.role)!.inputs.nodeConfig;
        assert.equal(nc.machineType, raw.machineType);
        assert.equal(nc.diskType, raw.diskType);
        assert.equal(nc.diskSizeGb, raw.diskSizeGb);
        assert.equal(nc.imageType, raw.imageType);
        assert.equal(nc.spot, raw.spot);
        assert.equal(nc.serviceAccount, raw.serviceAccount);
        assert.deepEqual(nc.oauthScopes, raw.oauthScopes);
        assert.deepEqual(nc.labels, { ...raw.labels, "nodepool-rotation/role": raw.role, env: file["nodepool-rotation:environment"] });
        assert.deepEqual(nc.resourceLabels, { "nodepool-rotation-role": raw.role, env: file["nodepool-rotation:environment"] });
        assert.deepEqual(nc.taints ?? [], raw.taints ?? []);
        assert.deepEqual(nc.workloadMetadataConfig, { mode: "GKE_METADATA" });
        assert.equal(nc.shieldedInstanceConfig.enableSecureBoot, true);
        assert.equal(nc.metadata["disable-legacy-endpoints"], "true");
      }
    });

    it("exports pools as { [role]: { name, version } }", async () => {
      const pools = await resolve(outputs.pools);
      const expected = Object.fromEntries(cfg.pools.map((p) => [p.role, { name: poolName(p, cfg.environment), version: p.version }]));
      assert.deepEqual(pools, expected);
    });

    it("exports a secret exec-auth kubeconfig (gke-gcloud-auth-plugin, no token) that the drainers use; no kubernetes Provider", async () => {
      assert.equal(await outputs.kubeconfig.isSecret, true);
      const text: string = await resolve(outputs.kubeconfig);
      const kc = YAML.parse(text);
      const ctx = `gke_${cfg.project}_${cfg.cluster.location}_${cfg.cluster.name}`;
      assert.equal(kc["current-context"], ctx);
      assert.equal(kc.clusters[0].cluster.server, `https://${MOCK_ENDPOINT}`);
      assert.equal(kc.clusters[0].cluster["certificate-authority-data"], MOCK_CA);
      assert.equal(kc.users[0].user.exec.command, "gke-gcloud-auth-plugin");
      assert.equal(kc.users[0].user.exec.apiVersion, "client.authentication.k8s.io/v1beta1");
      assert.doesNotMatch(text, /token|password|client-key/i);
      const drainers = await run.waitFor("pulumi-nodejs:dynamic/nodepool-rotation:PoolDrainer", cfg.pools.length);
      for (const d of drainers) {
        // a secret input reaches the mock monitor wrapped as { <sig>: <secret sig>, value }
        assert.equal(typeof d.inputs.kubeconfig, "object", "kubeconfig input is marked secret");
        assert.equal(d.inputs.kubeconfig.value, text);
      }
      // issue 12.7: a Provider nothing used ran discovery through the exec plugin on every preview
      assert.equal(run.resources.filter((r) => r.type === "pulumi:providers:kubernetes").length, 0);
    });
  });
}

describe("program: behaviours across runs", () => {
  it("staging and prod pools of the same role never share a name", async () => {
    const names = (stack: string) => {
      const c = validateStackConfig(stackFileConfig(stack), { stack });
      return c.pools.map((p) => poolName(p, c.environment));
    };
    const staging = new Set(names("staging"));
    for (const n of names("prod")) assert.ok(!staging.has(n), n);
  });

  it("a version bump in the stack file renames the pool but keeps its Pulumi name (a create-before-delete replace)", async () => {
    const before = stackFileConfig("staging");
    const after = clone(before);
    after["nodepool-rotation:pools"][0].version = "1.34.4-gke.1047000";
    const role = before["nodepool-rotation:pools"][0].role;
    const a = await runProgram("staging", before);
    const [poolA] = (await a.waitFor(NODEPOOL, 2)).filter((r) => r.name === role);
    const b = await runProgram("staging", after);
    const poolsB = await b.waitFor(NODEPOOL, 2);
    const poolB = poolsB.find((r) => r.name === role)!;
    assert.notEqual(poolB.inputs.name, poolA.inputs.name);
    assert.equal(poolB.inputs.version, "1.34.4-gke.1047000");
    assert.match(poolB.inputs.name, /-1-34-4-gke1047000-/);
    // the other pool is untouched
    const other = before["nodepool-rotation:pools"][1].role;
    assert.equal(poolsB.find((r) => r.name === other)!.inputs.name, (await a.waitFor(NODEPOOL, 2)).find((r) => r.name === other)!.inputs.name);
  });

  it("adopting an existing cluster (create: false) registers no Cluster, looks it up by name and attaches the pools to it", async () => {
    const file = clone(stackFileConfig("prod"));
    file["nodepool-rotation:cluster"].create = false;
    const run = await runProgram("prod", file);
    const pools = await run.waitFor(NODEPOOL, 2);
    assert.equal(run.resources.filter((r) => r.type === CLUSTER).length, 0);
    const lookup = run.calls.find((c) => c.token === "gcp:container/getCluster:getCluster");
    assert.ok(lookup, "getCluster invoked");
    assert.equal(lookup!.inputs.name, "game-prod");
    assert.equal(lookup!.inputs.location, "asia-northeast1");
    for (const p of pools) assert.equal(p.inputs.cluster, "game-prod");
    const kc = YAML.parse(await resolve<string>(run.outputs.kubeconfig));
    assert.equal(kc.clusters[0].cluster.server, `https://${MOCK_ENDPOINT}`);
  });

  it("invalid config fails the program before any resource is registered, naming every bad key", async () => {
    const file = clone(stackFileConfig("staging"));
    file["nodepool-rotation:pools"][1].version = "1.31";
    file["nodepool-rotation:pools"][0].minNodes = 9;
    const registered: Registered[] = [];
    await assert.rejects(runProgram("staging", file, registered), (err: Error) => {
      assert.equal(err.name, "StackConfigError");
      assert.match(err.message, /nodepool-rotation:pools\[1\]\.version = "1\.31"/);
      assert.match(err.message, /nodepool-rotation:pools\[0\]\.minNodes = 9 is greater than maxNodes = 6/);
      return true;
    });
    // Registration is asynchronous (a resource constructed before the throw reaches the mock
    // monitor only later): let every pending RPC land, or this check could never fail.
    await waitForRPCs();
    assert.deepEqual(registered, []);
  });
});

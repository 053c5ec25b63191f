/**
 * nodepool-rotation: the Pulumi program.
 *
 * stack config → validated config → what GKE reports now (cluster, pools, offered versions) →
 * preview checks → GKE cluster (created or adopted) → one VersionedNodePool per configured pool.
 * Config is validated before any resource is registered; the cluster and every pool take inputs
 * from the checks, so a failed check registers nothing that could change.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig, loadStackConfig } from "./components/config";
import { PreflightError, preflight, readLiveCluster, readOfferedNodeVersions, upgradePolicy } from "./components/gke";
import { gkeKubeconfigOutput } from "./components/kubeconfig";
import { VersionedNodePool } from "./components/versionedNodePool";
import { gateDependency, gateRuleFor, requireVerifiedBy, runningVersions, verifiedVersionsOutput } from "./components/promotion/gate";
import { RotationMark } from "./components/promotion/rotationMark";

const config = loadStackConfig();
const { project, environment } = config;
const { name: clusterName, location } = config.cluster;

/** What the pools need to know about the cluster, whether created here or adopted. */
interface ClusterRef {
  /** Cluster name as an Output (carries the dependency on a created cluster). */
  name: pulumi.Output<string>;
  endpoint: pulumi.Output<string>;
  caCertificate: pulumi.Output<string>;
  /** Control-plane version the cluster runs: the configured one once the created cluster exists, else the live one. */
  controlPlane: pulumi.Output<string | undefined>;
}

/**
 * What GKE reports before anything changes: the cluster (undefined before the first `up` of a stack
 * that creates it), the node versions offered in its location, and the checks on both. Rejects with
 * PreflightError (one line per problem) — then the cluster and the pools, whose inputs wait on it,
 * are never registered. Warnings go to the preview's diagnostics.
 */
const checked = (async () => {
  const [live, offered] = await Promise.all([
    readLiveCluster({ project, location, name: clusterName }, !config.cluster.create),
    readOfferedNodeVersions({ project, location }),
  ]);
  const result = preflight({ config, live, offered, stack: pulumi.getStack() });
  if (result.errors.length > 0) throw new PreflightError(result.errors);
  for (const w of result.warnings) void pulumi.log.warn(w);
  return result;
})();

/**
 * A new cluster for pinned pools: in the configured release channel (default REGULAR) with the
 * maintenance exclusion that holds node versions until end of support (components/gke.ts
 * `upgradePolicy`), pinned control-plane version, Workload Identity, and the default node pool
 * removed (pools are VersionedNodePools).
 */
function createCluster(cfg: StackConfig): ClusterRef {
  const held = checked.then((c) => upgradePolicy(c.channel).cluster);
  const cluster = new gcp.container.Cluster("cluster", {
    name: clusterName,
    project,
    location,
    minMasterVersion: cfg.cluster.controlPlaneVersion,
    releaseChannel: held.then((h) => h.releaseChannel),
    maintenancePolicy: held.then((h) => h.maintenancePolicy),
    removeDefaultNodePool: true,
    initialNodeCount: 1,
    workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },
    resourceLabels: { env: environment },
  });
  return {
    name: cluster.name,
    endpoint: cluster.endpoint,
    caCertificate: cluster.masterAuth.clusterCaCertificate.apply((ca) => ca ?? ""),
    controlPlane: cluster.name.apply(() => cfg.cluster.controlPlaneVersion as string | undefined),
  };
}

/** An existing cluster, as the preflight read it (getCluster): only its pools are managed by this stack. */
function adoptCluster(): ClusterRef {
  return {
    name: pulumi.output(checked.then(() => clusterName)),
    endpoint: pulumi.output(checked.then((c) => c.live?.endpoint ?? "")),
    caCertificate: pulumi.output(checked.then((c) => c.live?.caCertificate ?? "")),
    controlPlane: pulumi.output(checked.then((c) => c.live?.masterVersion)),
  };
}

const cluster = config.cluster.create ? createCluster(config) : adoptCluster();

const clusterKubeconfig = gkeKubeconfigOutput({
  project,
  location,
  name: cluster.name,
  endpoint: cluster.endpoint,
  caCertificate: cluster.caCertificate,
});

/**
 * Promotion gate: the stacks this one takes its versions from — every stack of the previous wave of
 * fleet.yaml, else `nodepool-rotation:promotion.requireVerifiedIn` (components/promotion/gate.ts
 * `gateRuleFor`). Their outputs are read through StackReferences; the pools depend on the check, so
 * none is created or replaced unless every pool's version (and, where this stack creates its
 * cluster, the control-plane version) was verified by every source and the wave's soak has passed.
 */
const gateRule = gateRuleFor(config, pulumi.getStack(), __dirname);
const promotionGate = gateRule
  ? requireVerifiedBy(
      { stack: pulumi.getStack(), pools: config.pools, controlPlane: config.cluster.create ? config.cluster.controlPlaneVersion : undefined },
      gateRule,
      undefined,
      undefined,
      checked.then((c) => runningVersions(c.live?.pools ?? [])), // a rollback (every change goes down) skips the soak
    )
  : undefined;

const nodePools = config.pools.map(
  (pool) =>
    new VersionedNodePool(
      pool.role,
      {
        pool,
        environment,
        project,
        location,
        cluster: cluster.name,
        clusterId: `${project}/${location}/${clusterName}`,
        kubeconfig: clusterKubeconfig,
        drain: config.drain,
        initialNodeCount: checked.then((c) => c.sizes[pool.role].count),
        releaseChannel: checked.then((c) => c.channel),
      },
      promotionGate ? { dependsOn: gateDependency(promotionGate) } : undefined,
    ),
);

/** Stack output: `{ [role]: { name, version } }` — the pool each role runs on now. */
export const pools = pulumi
  .all(nodePools.map((p) => p.poolName))
  .apply((names) => Object.fromEntries(nodePools.map((p, i) => [p.role, { name: names[i], version: p.version }])));

/** Stack output: exec-auth kubeconfig of the cluster (secret). */
export const kubeconfig = clusterKubeconfig;

/**
 * Stack output: `{ [role]: version }` — the version each role's pool has been rotated to (an entry
 * resolves once that pool and its PoolDrainer exist; read by other stacks' promotion gate and by `npm run promote`).
 */
export const verifiedVersions = verifiedVersionsOutput(
  nodePools.map((p) => ({ role: p.role, version: p.version, proof: [p.poolName, p.drainer.id] })),
);

/** Stack output (gated stacks only): role -> version, as every source stack of the gate verified it. */
export const promotionGateVerified = promotionGate?.verified;

/** Stack output: the control-plane version the cluster runs (read by the next stacks' gate and by promotion). */
export const verifiedControlPlane = cluster.controlPlane;

/**
 * Stack output: when this stack's pools last rotated (RFC 3339; a RotationMark created after every
 * new pool and drainer, replaced only when a pool name changes). The next wave's gate judges the soak by it.
 */
export const verifiedAt = new RotationMark(
  "rotation-mark",
  { pools: pulumi.all(nodePools.map((p) => pulumi.all([p.poolName, p.drainer.id]))).apply((xs) => Object.fromEntries(nodePools.map((p, i) => [p.role, xs[i][0]]))) },
  { dependsOn: nodePools.map((p) => p.drainer) },
).at;

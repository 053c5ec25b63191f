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
import { gateDependency, requireVerifiedIn, verifiedVersionsOutput } from "./components/promotion/gate";

const config = loadStackConfig();
const { project, environment } = config;
const { name: clusterName, location } = config.cluster;

/** What the pools need to know about the cluster, whether created here or adopted. */
interface ClusterRef {
  /** Cluster name as an Output (carries the dependency on a created cluster). */
  name: pulumi.Output<string>;
  endpoint: pulumi.Output<string>;
  caCertificate: pulumi.Output<string>;
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
  };
}

/** An existing cluster, as the preflight read it (getCluster): only its pools are managed by this stack. */
function adoptCluster(): ClusterRef {
  return {
    name: pulumi.output(checked.then(() => clusterName)),
    endpoint: pulumi.output(checked.then((c) => c.live?.endpoint ?? "")),
    caCertificate: pulumi.output(checked.then((c) => c.live?.caCertificate ?? "")),
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
 * Prod gate (`nodepool-rotation:promotion.requireVerifiedIn`): read that stack's `verifiedVersions`
 * through a StackReference; the pools depend on it, so none is created or replaced unless every
 * pool's version was verified there (otherwise preview/up fail with the pool, version and stack).
 */
const promotionGate = config.promotion ? requireVerifiedIn(config.pools, config.promotion.requireVerifiedIn) : undefined;

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

/** Stack output (gated stacks only): the reference stack's verified versions the gate checked against. */
export const promotionGateVerified = promotionGate?.verified;

/**
 * nodepool-rotation: the Pulumi program.
 *
 * stack config → validated config → GKE cluster (created or adopted) → one VersionedNodePool per
 * configured pool. Config is validated before any resource is registered.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig, loadStackConfig } from "./components/config";
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
 * A new cluster for pinned pools: no release channel (node auto-upgrade cannot be disabled inside
 * one, and GKE enrolls new clusters in REGULAR unless told UNSPECIFIED), pinned control-plane
 * version, Workload Identity, and the default node pool removed (pools are VersionedNodePools).
 */
function createCluster(cfg: StackConfig): ClusterRef {
  const cluster = new gcp.container.Cluster("cluster", {
    name: clusterName,
    project,
    location,
    minMasterVersion: cfg.cluster.controlPlaneVersion,
    releaseChannel: { channel: "UNSPECIFIED" },
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

/** An existing cluster, looked up by name: only its pools are managed by this stack. */
function adoptCluster(): ClusterRef {
  const existing = gcp.container.getClusterOutput({ name: clusterName, location, project });
  return {
    name: existing.name.apply((n) => n ?? clusterName),
    endpoint: existing.endpoint,
    caCertificate: existing.masterAuths.apply((auths) => auths[0]?.clusterCaCertificate ?? ""),
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

/** Kubernetes provider for in-cluster resources of this stack (exec auth, no token in state). */
const k8sProvider = new k8s.Provider("gke", { kubeconfig: clusterKubeconfig });

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

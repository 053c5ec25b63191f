/**
 * VersionedNodePool: one GKE node pool whose name carries its version, date and a hash of its
 * immutable properties (see naming.ts). Bumping the version (or changing an immutable property)
 * renames the pool; the name is ForceNew, so Pulumi replaces the pool create-before-delete: the new
 * pool is created first, and the old one is deleted at the end of the update.
 *
 * Style model: pulumi-eks `nodegroup.ts` — one component per concept, children parented to it,
 * `registerOutputs` at the end.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { DrainConfig, ENV_LABEL, PoolConfig, ROLE_LABEL } from "./config";
import { poolName } from "./naming";
import { PoolDrainer } from "./poolDrainer";

/** GCE resource label keys cannot contain "/": the role is exported to billing/monitoring under this key. */
export const ROLE_RESOURCE_LABEL = "nodepool-rotation-role";

/** Arguments of a VersionedNodePool. */
export interface VersionedNodePoolArgs {
  /** The validated pool config (components/config.ts). */
  pool: PoolConfig;
  /** Stack environment (`nodepool-rotation:environment`): the `env` label, and part of the name hash. */
  environment: string;
  /** GCP project of the cluster. */
  project: pulumi.Input<string>;
  /** Cluster location (region or zone). */
  location: pulumi.Input<string>;
  /** Cluster name; pass the Cluster's `name` output so the pool depends on the cluster. */
  cluster: pulumi.Input<string>;
  /** `project/location/name` of the cluster: identifies it to the pool's drainer. */
  clusterId: pulumi.Input<string>;
  /** Exec-auth kubeconfig of the cluster (secret): what the pool's drainer talks to the cluster with. */
  kubeconfig: pulumi.Input<string>;
  /** Drain options of the stack (`nodepool-rotation:drain`), for the pool's drainer. */
  drain?: DrainConfig;
}

/** A GKE node pool with a versioned name, pinned version and no auto-upgrade. */
export class VersionedNodePool extends pulumi.ComponentResource {
  /** The GKE node pool. Public so that the drainer (and policies/tests) can depend on it. */
  public readonly nodePool: gcp.container.NodePool;
  /** The versioned GKE pool name (computed from config at program time, never from the clock). */
  public readonly name: string;
  /** Stable role of the pool. */
  public readonly role: string;
  /** GKE node version of the pool. */
  public readonly version: string;
  /** The pool name as GKE reports it (resolves once the pool exists). */
  public readonly poolName: pulumi.Output<string>;
  /** Drains this pool (cordon + Eviction API, PDBs honoured) when Pulumi deletes or replaces it. */
  public readonly drainer: PoolDrainer;

  constructor(name: string, args: VersionedNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("nodepool-rotation:index:VersionedNodePool", name, {}, opts);
    const { pool, environment } = args;
    this.role = pool.role;
    this.version = pool.version;
    this.name = poolName(pool, environment);

    const k8sLabels = { ...pool.labels, [ROLE_LABEL]: pool.role, [ENV_LABEL]: environment };

    this.nodePool = new gcp.container.NodePool(
      pool.role,
      {
        // Explicit name (no autonaming): it changes exactly when GKE needs a new pool.
        name: this.name,
        project: args.project,
        location: args.location,
        cluster: args.cluster,
        // Pinned version; auto-upgrade off, or GKE would move the nodes under us (they fight).
        version: pool.version,
        management: { autoUpgrade: false, autoRepair: true },
        // ForceNew in the provider: set once at creation and ignored afterwards (see opts), so
        // changing it never attempts a same-name replacement. The new pool must hold what the old
        // pool's drain moves onto it (the drain refuses until it fits): see PoolConfig.initialNodes.
        initialNodeCount: pool.initialNodes ?? Math.max(pool.minNodes, 1),
        autoscaling: { minNodeCount: pool.minNodes, maxNodeCount: pool.maxNodes },
        // For GKE-driven node updates (e.g. a label change): surge, never take a node away first.
        upgradeSettings: { strategy: "SURGE", maxSurge: pool.maxSurge, maxUnavailable: 0 },
        nodeConfig: {
          machineType: pool.machineType,
          diskType: pool.diskType,
          diskSizeGb: pool.diskSizeGb,
          imageType: pool.imageType,
          spot: pool.spot,
          serviceAccount: pool.serviceAccount,
          oauthScopes: pool.oauthScopes,
          labels: k8sLabels,
          resourceLabels: { [ROLE_RESOURCE_LABEL]: pool.role, [ENV_LABEL]: environment },
          taints: pool.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
          workloadMetadataConfig: { mode: "GKE_METADATA" },
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          metadata: { "disable-legacy-endpoints": "true" },
        },
      },
      // Never deleteBeforeReplace: the default create-before-delete is the whole point.
      { parent: this, ignoreChanges: ["initialNodeCount"] },
    );

    this.poolName = this.nodePool.name;

    // The drainer depends on the pool, so Pulumi deletes it — i.e. drains the pool — before the
    // pool. Its resource name is per role (stable), so a rename REPLACES it: create new drainer,
    // delete old drainer (drain old pool), delete old pool. Never deletedWith (would skip the drain),
    // never deleteBeforeReplace (would drain before the new pool exists).
    this.drainer = new PoolDrainer(
      `${pool.role}-drainer`,
      { poolName: this.name, role: pool.role, cluster: args.clusterId, kubeconfig: args.kubeconfig, options: args.drain ?? {} },
      { parent: this, dependsOn: [this.nodePool] },
    );

    this.registerOutputs({ poolName: this.poolName, role: this.role, version: this.version });
  }
}

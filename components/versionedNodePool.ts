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
import { DrainConfig, ENV_LABEL, PoolConfig, ROLE_LABEL, ReleaseChannel } from "./config";
import { DEFAULT_RELEASE_CHANNEL, newPoolSize, upgradePolicy } from "./gke";
import { poolName } from "./naming";
import { PoolDrainer } from "./poolDrainer";
import { poolGuardHook } from "./poolGuard";

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
  /** Drain options of the stack (`nodepool-rotation:drain`), for the pool's drainer (and `gkeRespectPdbOnDelete` for the pool). */
  drain?: DrainConfig;
  /**
   * Nodes per zone the pool is created with. index.ts passes `preflight().sizes[role].count`
   * (components/gke.ts `newPoolSize`: the live size of the pool being replaced, or the value GKE
   * reports for this very pool, so an unchanged pool never diffs). Default without live data:
   * `initialNodes ?? max(minNodes, 1)`.
   */
  initialNodeCount?: pulumi.Input<number>;
  /** Release-channel mode of the cluster, deciding how the version is held (components/gke.ts `upgradePolicy`). Default REGULAR. */
  releaseChannel?: pulumi.Input<ReleaseChannel>;
}

/** A GKE node pool with a versioned name and a pinned version, held there by the channel mode's upgrade policy. */
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
    // gkeRespectPdbOnDelete is GKE's (the pool's), not the drainer's: changing it never touches the drainer.
    const { gkeRespectPdbOnDelete, ...drainerOptions } = args.drain ?? {};
    const held = pulumi.output(args.releaseChannel ?? DEFAULT_RELEASE_CHANNEL).apply((c) => upgradePolicy(c).pool);

    this.nodePool = new gcp.container.NodePool(
      pool.role,
      {
        // Explicit name (no autonaming): it changes exactly when GKE needs a new pool.
        name: this.name,
        project: args.project,
        location: args.location,
        cluster: args.cluster,
        // Pinned version, held there: no channel = auto-upgrade off; in a channel auto-upgrade must
        // be on and the pool's end-of-support exclusion (plus the cluster's) holds it (gke.ts).
        version: pool.version,
        management: held.management,
        maintenancePolicies: held.maintenancePolicies,
        // ForceNew, and deliberately NOT in ignoreChanges (the engine would copy the old pool's value
        // into the replacement): sized from the live pool it replaces, stable while the name stays.
        initialNodeCount: args.initialNodeCount ?? newPoolSize(pool, this.name, environment, undefined).count,
        autoscaling: { minNodeCount: pool.minNodes, maxNodeCount: pool.maxNodes },
        // For GKE-driven node updates (e.g. a label change): surge, never take a node away first.
        upgradeSettings: { strategy: "SURGE", maxSurge: pool.maxSurge, maxUnavailable: 0 },
        // Opt-in backstop: GKE honours PDBs when it deletes the pool (not ForceNew: updated in place;
        // terraform-provider-google resource_container_node_pool.go `node_drain_config`).
        nodeDrainConfigs: gkeRespectPdbOnDelete ? [{ respectPdbDuringNodePoolDeletion: true }] : undefined,
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
      {
        parent: this,
        // Right before GKE deletes this pool (on any path: rotation, failed/interrupted run, --target,
        // destroy --run-program) the pool guard re-checks it and drains pods put there since its drain;
        // it fails the delete if they cannot move (components/poolGuard.ts, docs/failure-paths.md).
        hooks: { beforeDelete: [poolGuardHook({ clusterId: args.clusterId, kubeconfig: args.kubeconfig, drain: args.drain })] },
      },
    );

    this.poolName = this.nodePool.name;

    // The drainer depends on the pool, so Pulumi deletes it — i.e. drains the pool — before the
    // pool. Its resource name is per role (stable), so a rename REPLACES it: create new drainer,
    // delete old drainer (drain old pool), delete old pool. Never deletedWith (would skip the drain),
    // never deleteBeforeReplace (would drain before the new pool exists).
    this.drainer = new PoolDrainer(
      `${pool.role}-drainer`,
      { poolName: this.name, role: pool.role, cluster: args.clusterId, kubeconfig: args.kubeconfig, options: drainerOptions },
      { parent: this, dependsOn: [this.nodePool] },
    );

    this.registerOutputs({ poolName: this.poolName, role: this.role, version: this.version });
  }
}

/**
 * nodepool-rotation as a library (`import … from "nodepool-rotation/components"`): the Pulumi
 * components a program of one's own needs to rotate GKE node pools with a drain before each delete.
 * The rotation engine itself is `nodepool-rotation/rotation` (no @pulumi/* inside).
 *
 * A minimal program: docs/use-as-a-package.md. This file only re-exports; each module documents its own.
 */
export { VersionedNodePool, ROLE_RESOURCE_LABEL } from "./versionedNodePool";
export type { VersionedNodePoolArgs } from "./versionedNodePool";
export { PoolDrainer, POOL_DRAINER_TYPE } from "./poolDrainer";
export type { PoolDrainerArgs, DrainerOptions } from "./poolDrainer";
export { POOL_GUARD_HOOK, MIN_PULUMI_CLI, poolGuardHook, guardPoolDelete } from "./poolGuard";
export { gkeKubeconfig, gkeKubeconfigOutput } from "./kubeconfig";
export type { GkeClusterEndpoint, GkeClusterEndpointInputs } from "./kubeconfig";
export { POOL_DEFAULTS, ROLE_LABEL, ENV_LABEL, RELEASE_CHANNELS, StackConfigError, validateStackConfig, loadStackConfig } from "./config";
export type { PoolConfig, DrainConfig, ClusterConfig, StackConfig, ReleaseChannel, TaintConfig } from "./config";
export { poolName, versionSlug, GKE_POOL_NAME_REGEX, IMMUTABLE_POOL_FIELDS } from "./naming";

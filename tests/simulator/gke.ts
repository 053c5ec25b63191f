/**
 * What makes a simulator node look like a GKE node: the labels the kubelet and GKE put on every
 * node, zones and regions, and GKE's node names. Pure functions; cluster.ts creates the nodes.
 *
 * Labels (kubernetes.io/docs/reference/labels-annotations-taints): the kubelet registers every node
 * with `kubernetes.io/hostname` (= node name unless --hostname-override), `kubernetes.io/os`,
 * `kubernetes.io/arch`; the cloud provider adds `topology.kubernetes.io/zone`,
 * `topology.kubernetes.io/region` and `node.kubernetes.io/instance-type`; GKE adds
 * `cloud.google.com/gke-nodepool`. Labels written by the caller (scenario, `labels`) always win.
 *
 * Zones (GKE NodePool `locations`, cloud.google.com/kubernetes-engine/docs/reference/rest/v1/
 * projects.locations.clusters.nodePools): a pool's nodes are spread over its locations and its node
 * count is per zone; without locations the cluster's locations are used. Each zone is a managed
 * instance group of its own, so the `<hash>` part of the node name differs per zone.
 */
import { Obj, randSuffix, shortHash } from "./util";

export const LABEL = {
  hostname: "kubernetes.io/hostname",
  os: "kubernetes.io/os",
  arch: "kubernetes.io/arch",
  zone: "topology.kubernetes.io/zone",
  region: "topology.kubernetes.io/region",
  instanceType: "node.kubernetes.io/instance-type",
  pool: "cloud.google.com/gke-nodepool",
} as const;

/** Where the simulated cluster lives (ConfigMap kube-system/simulator keys `clusterName`, `zones`). */
export interface Location {
  /** GKE cluster name, the `<cluster>` part of node names. Default "sim". */
  clusterName: string;
  /** The cluster's node locations: pools without `zones` use them. Default one zone, us-central1-a. */
  zones: string[];
}

export const DEFAULT_LOCATION: Location = { clusterName: "sim", zones: ["us-central1-a"] };
export const DEFAULT_MACHINE_TYPE = "e2-standard-4";

const ZONE_RE = /^[a-z]+-[a-z]+[0-9]+-[a-z]$/;
const CLUSTER_RE = /^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** The region of a GCE zone: `us-central1-a` -> `us-central1`. */
export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, "");
}

/**
 * Validates a zone list (`field` names it in the error): non-empty, GCE zone names, no duplicates,
 * one region (a GKE cluster's node locations are in the cluster's region).
 */
export function checkZones(zones: unknown, field: string): string[] {
  if (!Array.isArray(zones) || zones.length === 0 || zones.some((z) => typeof z !== "string" || !ZONE_RE.test(z))) {
    throw new Error(`${field} must be a non-empty list of GCE zones like ["us-central1-a", "us-central1-b"] (got ${JSON.stringify(zones)})`);
  }
  if (new Set(zones).size !== zones.length) throw new Error(`${field} lists a zone twice (got ${JSON.stringify(zones)}): list each zone once`);
  const regions = new Set(zones.map(regionOf));
  if (regions.size > 1) throw new Error(`${field} spans regions ${[...regions].join(", ")}: a GKE cluster's zones are in one region`);
  return zones as string[];
}

/** Validates the cluster name (GKE: lowercase letters, digits, hyphens, ≤ 40). */
export function checkClusterName(name: unknown, field: string): string {
  if (typeof name !== "string" || !CLUSTER_RE.test(name)) throw new Error(`${field} must match ${CLUSTER_RE.source} (got ${JSON.stringify(name)})`);
  return name;
}

/**
 * The name GKE gives a node: `gke-<cluster>-<pool>-<hash>-<suffix>` — `<hash>` (8 hex) names the
 * zone's instance group, `<suffix>` (4 chars) the instance. GKE shortens long cluster/pool names so
 * the name stays a DNS label (≤ 63); the exact cut is not documented, so this cuts the
 * `gke-<cluster>-<pool>` prefix to fit and keeps the hash and suffix whole.
 */
export function gkeNodeName(clusterName: string, pool: string, groupHash: string): string {
  const prefix = `gke-${clusterName}-${pool}`.slice(0, 63 - 14).replace(/-+$/, "");
  return `${prefix}-${groupHash}-${randSuffix(4)}`;
}

/** The 8-hex instance-group hash of one zone of a pool (differs per zone and per pool creation). */
export function groupHash(clusterName: string, pool: string, zone: string, seed: string): string {
  const a = parseInt(shortHash(`${clusterName}/${pool}/${zone}/${seed}`), 36) >>> 0;
  return a.toString(16).padStart(8, "0").slice(-8);
}

/** The labels the kubelet registers every node with (missing ones only: written labels win). */
export function addKubeletLabels(node: Obj): void {
  const labels = (node.metadata.labels = node.metadata.labels ?? {});
  labels[LABEL.hostname] ??= node.metadata.name;
  labels[LABEL.os] ??= "linux";
  labels[LABEL.arch] ??= "amd64";
}

/** The labels GKE adds to a pool's node in `zone` (missing ones only: written labels win). */
export function addGkeLabels(node: Obj, zone: string, machineType = DEFAULT_MACHINE_TYPE): void {
  addKubeletLabels(node);
  const labels = node.metadata.labels;
  labels[LABEL.zone] ??= zone;
  labels[LABEL.region] ??= regionOf(labels[LABEL.zone]);
  labels[LABEL.instanceType] ??= machineType;
}

/**
 * Fills the well-known labels of scenario Node manifests: the kubelet's on every node and, on nodes
 * of a pool (label cloud.google.com/gke-nodepool), GKE's; a pool node without a zone label gets the
 * cluster's zones round-robin in file order (as GKE spreads a pool over its locations).
 */
export function labelScenarioNodes(nodes: Obj[], loc: Location): void {
  const seen = new Map<string, number>();
  for (const n of nodes) {
    addKubeletLabels(n);
    const pool = n.metadata.labels[LABEL.pool];
    if (!pool) continue;
    const i = seen.get(pool) ?? 0;
    seen.set(pool, i + 1);
    addGkeLabels(n, loc.zones[i % loc.zones.length]);
  }
}

/**
 * The control-plane edit of `npm run bump -- --stack S --control-plane V`: raise
 * `nodepool-rotation:cluster.controlPlaneVersion` (the created cluster's `minMasterVersion`) in a
 * stack file, so pools can then move to builds up to V (nodes are never newer than the control
 * plane, not even by a `-gke.N` build).
 *
 * Refused before anything is written (messages name the flag, the file and the fix):
 *  - V is not an exact GKE version;
 *  - V is older than the current value (bump never lowers a control plane; GKE cannot roll one back
 *    across minor versions);
 *  - V skips a minor version (GKE upgrades a control plane one minor version at a time:
 *    cloud.google.com/kubernetes-engine/docs/concepts/cluster-upgrades, "control plane upgrades");
 *  - a pool would end up more than 2 minor versions older than V (checkVersionSkew, naming.ts).
 * The whole stack config is validated with the program's rules before and after the edit.
 */
import { checkVersionSkew, compareGkeVersions, tryParseGkeVersion } from "../naming";
import { validateFile } from "./rotatePool";
import { CLUSTER_KEY, StackFile, StackFileError } from "./stackFile";

/** What happened to the control plane. */
export interface ControlPlaneResult {
  /** false when the file already had this version. */
  changed: boolean;
  oldVersion: string;
  newVersion: string;
  /** `cluster.create` is false: the program does not upgrade an adopted cluster (the value only feeds checks). */
  adopted: boolean;
}

/** Set the control-plane version of `file` (in memory; the caller saves). Throws `StackFileError` on bad input. */
export function raiseControlPlane(file: StackFile, stack: string, version: string): ControlPlaneResult {
  const next = tryParseGkeVersion(version);
  if (!next) {
    throw new StackFileError(`--control-plane "${version}" is not an exact GKE version: expected MAJOR.MINOR.PATCH-gke.BUILD, e.g. 1.35.2-gke.1269000 (see gcloud container get-server-config)`);
  }
  const before = validateFile(file, stack, "is invalid before any change (fix it first)");
  const current = before.cluster.controlPlaneVersion;
  const result = { oldVersion: current, newVersion: version, adopted: !before.cluster.create };
  if (version === current) return { ...result, changed: false };
  const cur = tryParseGkeVersion(current)!;
  const at = `${CLUSTER_KEY}.controlPlaneVersion in ${file.file}`;
  if (compareGkeVersions(next, cur) < 0) {
    throw new StackFileError(`--control-plane ${version} is older than ${at} (${current}): bump never lowers a control plane (GKE cannot roll one back across minor versions); give a version at or above ${current}`);
  }
  if (next.major !== cur.major || next.minor > cur.minor + 1) {
    throw new StackFileError(
      `--control-plane ${version} skips a minor version from ${current} (${at}): GKE upgrades a control plane one minor version at a time — ` +
        `raise it to a ${cur.major}.${cur.minor + 1}.x build first and pulumi up -s ${stack}, then to ${version}`,
    );
  }
  const problems = before.pools
    .map((p) => ({ p, skew: checkVersionSkew(next, p.version) }))
    .filter((x) => x.skew !== undefined)
    .map(({ p, skew }) => `pool "${p.role}" (${p.version}): ${skew} — bump it first (npm run bump -- --stack ${stack} --role ${p.role} --version <${next.major}.${next.minor - 2}.x or newer>)`);
  if (problems.length > 0) {
    throw new StackFileError(`--control-plane ${version} for ${file.file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  file.setClusterField("controlPlaneVersion", version);
  const after = validateFile(file, stack, "would be invalid after the change (nothing written)");
  if (after.cluster.controlPlaneVersion !== version) {
    throw new StackFileError(`${file.file}: internal error: controlPlaneVersion reads ${after.cluster.controlPlaneVersion} after the edit, expected ${version} (nothing written)`);
  }
  return { ...result, changed: true };
}

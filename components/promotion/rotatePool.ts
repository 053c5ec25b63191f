/**
 * The one edit bump and promote both make: give a pool a new version and/or a fresh rotation date
 * in a stack file, keep its name unique within the stack, and record the name it had.
 *
 * Validity and names are decided elsewhere, once: `validateStackConfig` (components/config.ts)
 * judges the whole stack before and after the edit, `poolName`/`checkVersionSkew`
 * (components/naming.ts) name the pool and judge the version. This module only decides WHICH edit.
 *
 * Same-day rollback: a pool's name is `<role>-<version>-<date>-<hash>`, so rolling back to a version
 * the stack ran earlier the same day would reuse a name — and GKE rejects creating a pool whose name
 * still exists (the old one is deleted only after the new one is up). The stack file keeps
 * `nodepool-rotation:poolNameHistory` (role -> names used); when the new name is in it (or equals the
 * current name, e.g. `--rotate` twice a day), the pool gets the smallest `revision` (>= 1, part of
 * the name hash) that makes the name new. Without a collision `revision` is removed again.
 */
import { isRealDate } from "../contracts";
import { StackConfig, StackConfigError, validateStackConfig, PoolConfig } from "../config";
import { checkVersionSkew, compareGkeVersions, poolName, tryParseGkeVersion } from "../naming";
import { StackFile, StackFileError } from "./stackFile";

/** What to do to one pool. */
export interface RotateRequest {
  /** The pool's role. */
  role: string;
  /** New exact GKE version; undefined keeps the current one (then `rotate` must be true). */
  version?: string;
  /** Rotation day `YYYY-MM-DD` (UTC) written to `rotatedOn` when the pool rotates. */
  date: string;
  /** Rotate (fresh pool) even when the version does not change. */
  rotate?: boolean;
  /** Label of where `version` came from, for messages (`--version`, `staging`). */
  source?: string;
}

/** What happened to one pool. */
export interface RotateResult {
  role: string;
  /** false when the pool already had the requested version (and no `rotate`). */
  changed: boolean;
  oldName: string;
  newName: string;
  oldVersion: string;
  newVersion: string;
  /** The `revision` the pool ends up with (undefined = none). */
  revision?: number;
}

/** Upper bound on revisions tried; reaching it means the history is corrupt, not a real need. */
const MAX_REVISION = 1000;

/** Validate a stack file's whole config with the program's own rules; errors name the file. */
export function validateFile(file: StackFile, stack: string, when: string): StackConfig {
  try {
    return validateStackConfig(file.config(), { stack });
  } catch (e) {
    if (e instanceof StackConfigError) {
      throw new StackFileError(`${file.file} ${when}:\n${e.problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    throw e;
  }
}

/**
 * Apply `req` to `file` in memory (nothing is written): sets `version`, `rotatedOn`, `revision`
 * and appends the old name to the history. Throws `StackFileError` with the fix on bad input,
 * leaving the caller to not save. `stack` is the stack name (for the program's validation).
 */
export function rotatePool(file: StackFile, stack: string, req: RotateRequest): RotateResult {
  const source = req.source ?? "--version";
  if (!isRealDate(req.date)) {
    throw new StackFileError(`--date "${req.date}" is not a real day in YYYY-MM-DD form (e.g. 2026-11-20)`);
  }
  const before = validateFile(file, stack, "is invalid before any change (fix it first)");
  const pool = before.pools.find((p) => p.role === req.role);
  if (!pool) {
    throw new StackFileError(`${file.file}: no pool with role "${req.role}" (roles: ${before.pools.map((p) => p.role).join(", ") || "none"})`);
  }
  if (req.version === undefined && !req.rotate) {
    throw new StackFileError(`give a new version (--version 1.35.2-gke.1269000) or --rotate for a fresh pool at the same version`);
  }
  const version = req.version ?? pool.version;
  if (!tryParseGkeVersion(version)) {
    throw new StackFileError(`${source} "${version}" is not an exact GKE version: expected MAJOR.MINOR.PATCH-gke.BUILD, e.g. 1.35.2-gke.1269000 (see gcloud container get-server-config)`);
  }
  const skew = checkVersionSkew(before.cluster.controlPlaneVersion, version);
  if (skew) {
    const raise = compareGkeVersions(version, before.cluster.controlPlaneVersion) > 0
      ? `raise the control plane first (npm run bump -- --stack ${stack} --control-plane ${version}${source === "--version" ? "; it may go with this bump in one command" : ""})`
      : `bump the older pools or pick a newer version`;
    throw new StackFileError(`${source} ${version} for pool "${req.role}" in ${file.file}: ${skew} — ${raise}, or pick another version`);
  }
  const oldName = poolName(pool, before.environment);
  if (version === pool.version && !req.rotate) {
    return { role: req.role, changed: false, oldName, newName: oldName, oldVersion: pool.version, newVersion: version, revision: pool.revision };
  }

  const used = new Set([...file.history(req.role), oldName]);
  const nameWith = (revision: number | undefined): string =>
    poolName({ ...pool, version, rotatedOn: req.date, revision } as PoolConfig, before.environment);
  let revision: number | undefined;
  let newName = nameWith(undefined);
  for (let r = 1; used.has(newName); r++) {
    if (r > MAX_REVISION) throw new StackFileError(`${file.file}: no unused name for pool "${req.role}" within ${MAX_REVISION} revisions; check nodepool-rotation:poolNameHistory`);
    revision = r;
    newName = nameWith(r);
  }

  if (version !== pool.version) file.setPoolField(req.role, "version", version);
  file.setPoolField(req.role, "rotatedOn", req.date);
  if (revision === undefined) file.deletePoolField(req.role, "revision");
  else file.setPoolField(req.role, "revision", revision);
  file.appendHistory(req.role, oldName);

  // Check the edited text the way the program will read it: valid, and naming the pool as planned.
  const after = validateFile(file, stack, `would be invalid after the change (nothing written)`);
  const edited = after.pools.find((p) => p.role === req.role)!;
  const actual = poolName(edited, after.environment);
  if (actual !== newName) {
    throw new StackFileError(`${file.file}: internal error: the edited pool "${req.role}" is named ${actual}, expected ${newName} (nothing written)`);
  }
  return { role: req.role, changed: true, oldName, newName, oldVersion: pool.version, newVersion: version, revision };
}

/** Today's date in UTC as `YYYY-MM-DD`. */
export function utcDate(now: Date): string {
  return now.toISOString().slice(0, 10);
}

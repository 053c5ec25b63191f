/**
 * The drain settings: one definition of each setting's rule, and one mapping to the engine's
 * DrainOptions. Every door validates through `checkDrainSettings` / `drainOptionProblem`, so the same
 * value is accepted or refused with the same words everywhere:
 *  - stack config `nodepool-rotation:drain` (components/config.ts validateStackConfig),
 *  - the PoolDrainer's inputs (program side and the provider's check(), which loads this module from
 *    the engine bundle its stored code carries) and its retry override (env / ConfigMap),
 *  - the pool guard (components/poolGuard.ts, through drainOptionsFor),
 *  - the rotation CLI's flags and drainPool's own options (engine units: ms), components/rotation/cli.ts
 *    and drain.ts validateDrainOptions.
 * The rules are stated for users in docs/program.md ("Drain settings: one rule each").
 * This module imports only engine modules without side effects (bundle-friendly, no client-node at load).
 */
import { parseDefaultBudget, type DefaultBudget } from "./budget";
import { ROLE_LABEL } from "../contracts";
import type { DrainOptions } from "./types";

/** Default of `deadlineMinutes`. */
export const DEFAULT_DEADLINE_MINUTES = 60;

/** Drain settings as stack config holds them (components/config.ts DrainConfig extends this). */
export interface DrainSettings {
  /** Whole-drain deadline in minutes, enforced by the drain itself (the provider host ignores customTimeouts). Default 60. */
  deadlineMinutes?: number;
  /** Maximum pods being disrupted at once (evictions in flight + evicted pods terminating). Default 20. */
  concurrency?: number;
  /** Drain the pool in batches: a node count (2 or "2") or a percentage ("25%"). Default: whole pool at once. */
  batch?: number | string;
  /** Seconds to wait between batches. */
  batchSoakSeconds?: number;
  /** After the last eviction, seconds during which every moved workload must stay at or above its PDB floor. */
  soakSeconds?: number;
  /** Wait for moved workloads to be Ready again before reporting success. */
  waitForReady?: boolean;
  /** Evict pods that use emptyDir volumes (their emptyDir data is lost), like `kubectl drain --delete-emptydir-data`. */
  deleteEmptyDirData?: boolean;
  /**
   * Implicit disruption budget of workloads no PodDisruptionBudget selects: an integer >= 1 (pods),
   * a percentage "N%" of the controller's replicas (1..100, rounded up, at least 1), or "none"
   * (evict them all at once, like kubectl drain). Default "25%". One definition: budget.ts.
   */
  defaultBudget?: DefaultBudget;
}

/** A drain setting's key, plus `skip` (PoolDrainer only: delete the pool without draining). */
export type DrainSettingKey = keyof DrainSettings | "skip";

/**
 * A numeric rule. Durations are stated in ms (`scale` converts a setting's unit to ms), so the
 * stack's minutes/seconds and the engine's/CLI's milliseconds are checked against the same bounds.
 */
interface NumberRule {
  kind: "number";
  /** Whole numbers only. */
  integer: boolean;
  /** Lower bound (in ms for durations); `exclusiveMin`: the value must be greater than it. */
  min: number;
  exclusiveMin?: boolean;
  /** Upper bound (in ms for durations). */
  max: number;
  /** Duration rules: the setting's unit. */
  unit?: "minutes" | "seconds";
}
type SettingRule = NumberRule | { kind: "boolean" } | { kind: "batch" } | { kind: "budget" };

const DAY_MS = 24 * 3600_000;
const UNIT_MS = { ms: 1, seconds: 1000, minutes: 60_000 } as const;
type Unit = keyof typeof UNIT_MS;

/**
 * The one rule of each drain setting:
 *  - deadlineMinutes: a number of minutes > 0 and <= 1440 (24 h); fractions allowed (0.5 = 30 s);
 *  - concurrency: an integer 1..500;
 *  - batch: a node count >= 1 (2 or "2") or a percentage "1%".."100%";
 *  - batchSoakSeconds, soakSeconds: a number of seconds 0..86400; fractions allowed;
 *  - waitForReady, deleteEmptyDirData, skip: true or false;
 *  - defaultBudget: budget.ts parseDefaultBudget (an integer >= 1, "N%" with 1..100, or "none").
 */
export const DRAIN_SETTING_RULES: Readonly<Record<DrainSettingKey, SettingRule>> = {
  deadlineMinutes: { kind: "number", integer: false, min: 0, exclusiveMin: true, max: DAY_MS, unit: "minutes" },
  concurrency: { kind: "number", integer: true, min: 1, max: 500 },
  batch: { kind: "batch" },
  batchSoakSeconds: { kind: "number", integer: false, min: 0, max: DAY_MS, unit: "seconds" },
  soakSeconds: { kind: "number", integer: false, min: 0, max: DAY_MS, unit: "seconds" },
  waitForReady: { kind: "boolean" },
  deleteEmptyDirData: { kind: "boolean" },
  skip: { kind: "boolean" },
  defaultBudget: { kind: "budget" },
};

/** The setting keys, in documentation order. */
export const DRAIN_SETTING_KEYS = Object.keys(DRAIN_SETTING_RULES) as DrainSettingKey[];

/** One bad setting: its key, and why (ending with the value got). */
export interface SettingProblem {
  field: DrainSettingKey;
  reason: string;
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** "must be a number of minutes > 0 and <= 1440, got 0" — the rule in `unit`, for value `v` (in that unit). */
function numberProblem(rule: NumberRule, v: unknown, unit: Unit): string | undefined {
  const scale = rule.unit ? UNIT_MS[unit] : 1;
  const min = rule.min / scale;
  const max = rule.max / scale;
  const ok = typeof v === "number" && Number.isFinite(v) && (rule.exclusiveMin ? v > min : v >= min) && v <= max && (!rule.integer || Number.isInteger(v));
  if (ok) return undefined;
  const what = rule.integer ? "an integer" : rule.unit ? `a number of ${unit === "ms" ? "milliseconds" : unit}` : "a number";
  const range = rule.exclusiveMin ? `> ${min} and <= ${max}` : `from ${min} to ${max}`;
  return `must be ${what} ${range}${rule.unit && !rule.integer ? " (fractions allowed)" : ""}, got ${show(v)}`;
}

/** Why `v` breaks the batch rule, or undefined. */
export function batchProblem(v: unknown): string | undefined {
  const m = (typeof v === "string" || typeof v === "number") ? /^([1-9][0-9]*)(%?)$/.exec(String(v)) : null;
  if (m && !(m[2] === "%" && Number(m[1]) > 100)) return undefined;
  return `must be a node count like "2" or a percentage like "25%", got ${show(v)}`;
}

/** Why `value` breaks `key`'s rule (in the setting's own unit), or undefined. */
export function settingProblem(key: DrainSettingKey, value: unknown): string | undefined {
  const rule = DRAIN_SETTING_RULES[key];
  switch (rule.kind) {
    case "number":
      return numberProblem(rule, value, rule.unit ?? "ms");
    case "boolean":
      return typeof value === "boolean" ? undefined : `must be true or false, got ${show(value)}`;
    case "batch":
      return batchProblem(value);
    case "budget":
      try {
        parseDefaultBudget(value, key);
        return undefined;
      } catch (e) {
        // parseDefaultBudget's message names the field first ("defaultBudget: must be ..."); keep the rule.
        return (e as Error).message.replace(/^defaultBudget: /, "");
      }
  }
}

/**
 * Every problem of a drain settings object: unknown keys (`extraKeys` adds allowed ones; off with
 * `reportUnknown: false` when the caller reports them itself), then each set key against its rule. `isUnknown` skips values not
 * known yet (Pulumi preview). A non-object gives one problem with field "options".
 */
export function checkDrainSettings(
  settings: unknown,
  opts: { extraKeys?: readonly string[]; reportUnknown?: boolean; isUnknown?: (v: unknown) => boolean } = {},
): { field: string; reason: string }[] {
  if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
    return [{ field: "", reason: `must be a mapping of drain settings (${DRAIN_SETTING_KEYS.join(", ")}), got ${show(settings)}` }];
  }
  const out: { field: string; reason: string }[] = [];
  const known = [...DRAIN_SETTING_KEYS, ...(opts.extraKeys ?? [])];
  const values = settings as Record<string, unknown>;
  for (const key of Object.keys(values)) {
    if (opts.reportUnknown !== false && !known.includes(key)) out.push({ field: key, reason: `unknown drain option; known: ${known.join(", ")}` });
  }
  for (const key of DRAIN_SETTING_KEYS) {
    const v = values[key];
    if (v === undefined || opts.isUnknown?.(v)) continue;
    const reason = settingProblem(key, v);
    if (reason) out.push({ field: key, reason });
  }
  return out;
}

/**
 * The same rules for the engine's DrainOptions (ms): `deadlineMs`, `concurrency`, `batch`,
 * `batchSoakMs`, `soakMs`. Returns why `value` is refused, or undefined. Used by drainPool's own
 * validation and by the CLI's flags (durations parsed to ms first).
 */
export function drainOptionProblem(option: "deadlineMs" | "concurrency" | "batch" | "batchSoakMs" | "soakMs", value: unknown): string | undefined {
  switch (option) {
    case "deadlineMs":
      return numberProblem(DRAIN_SETTING_RULES.deadlineMinutes as NumberRule, value, "ms");
    case "batchSoakMs":
      return numberProblem(DRAIN_SETTING_RULES.batchSoakSeconds as NumberRule, value, "ms");
    case "soakMs":
      return numberProblem(DRAIN_SETTING_RULES.soakSeconds as NumberRule, value, "ms");
    case "concurrency":
      return numberProblem(DRAIN_SETTING_RULES.concurrency as NumberRule, value, "ms");
    case "batch":
      return batchProblem(value);
  }
}

/**
 * DrainOptions for draining `pool` before its deletion: replacement nodes are those of the same
 * `role` (when known), and a failed drain always uncordons (`keepCordoned: false`): the deletion is
 * then refused and the pool must keep serving.
 */
export function drainOptionsFor(pool: string, role: string | undefined, s: DrainSettings): DrainOptions & { deadlineMs: number } {
  return {
    pool,
    ...(role ? { replacementSelector: `${ROLE_LABEL}=${role}` } : {}),
    deleteEmptyDirData: s.deleteEmptyDirData,
    defaultBudget: s.defaultBudget,
    deadlineMs: (s.deadlineMinutes ?? DEFAULT_DEADLINE_MINUTES) * 60_000,
    concurrency: s.concurrency,
    batch: s.batch !== undefined ? String(s.batch) : undefined,
    batchSoakMs: s.batchSoakSeconds !== undefined ? s.batchSoakSeconds * 1000 : undefined,
    soakMs: s.soakSeconds !== undefined ? s.soakSeconds * 1000 : undefined,
    waitForReady: s.waitForReady,
    keepCordoned: false,
    knobs: "stack", // blockers name stack config / the override, not CLI flags (filters.ts KNOBS)
  };
}

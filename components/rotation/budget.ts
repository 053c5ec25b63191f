/**
 * The implicit disruption budget: every workload on the pool that no PodDisruptionBudget selects
 * is drained as if it had a PDB with `maxUnavailable: <defaultBudget>`. One definition of the
 * setting (parsed here for the stack config, the PoolDrainer's options and the CLI's
 * --default-budget) and one place that turns it into a floor.
 *
 * Rounding mirrors the disruption controller (kubernetes pkg/controller/disruption/disruption.go,
 * getExpectedScale + intstr.GetScaledValueFromIntOrPercent(maxUnavailable, expectedCount, true)):
 * a percentage of maxUnavailable is rounded UP, desiredHealthy = expected - maxUnavailable. Unlike a
 * real PDB the implicit one allows at least one disruption, so a single replica can still move.
 */

/**
 * Validated forms: an integer >= 1 (pods), a percentage "N%" with 1 <= N <= 100 (of the
 * controller's spec.replicas, rounded up), or "none" (no implicit budget: every pod of a workload
 * without a PDB is evicted at once, what `kubectl drain` does).
 */
export type DefaultBudget = number | string;

/** The default: a quarter of each PDB-less workload may be unavailable at once (a Deployment's default maxUnavailable). */
export const DEFAULT_BUDGET = "25%";

/**
 * Parses and normalises a default budget: a number or digit string becomes a number, "N%" stays a
 * string, "none" stays "none". Throws one line naming `field` and the accepted forms.
 */
export function parseDefaultBudget(value: unknown, field = "defaultBudget"): DefaultBudget {
  const bad = () => new Error(`${field}: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" (got ${JSON.stringify(value) ?? String(value)})`);
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 1) throw bad();
    return value;
  }
  if (typeof value !== "string") throw bad();
  const s = value.trim();
  if (s === "none") return "none";
  let m = /^(\d+)$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    if (n < 1 || !Number.isSafeInteger(n)) throw bad();
    return n;
  }
  m = /^(\d+)%$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    if (n < 1 || n > 100) throw bad();
    return `${n}%`;
  }
  throw bad();
}

/** An implicit budget applied to one workload. */
export interface ImplicitBudget {
  /** Pods that may be unavailable at once (>= 1). */
  maxUnavailable: number;
  /** Minimum Ready pods the drain keeps: max(0, replicas - maxUnavailable). */
  floor: number;
}

/**
 * The implicit budget of a workload with `replicas` expected pods, or undefined for "none".
 * `budget` must already be parsed (parseDefaultBudget).
 */
export function implicitBudget(budget: DefaultBudget, replicas: number): ImplicitBudget | undefined {
  if (budget === "none") return undefined;
  const expected = Math.max(0, replicas);
  const scaled = typeof budget === "number" ? budget : Math.ceil((parseInt(budget, 10) * expected) / 100);
  const maxUnavailable = Math.max(1, scaled);
  return { maxUnavailable, floor: Math.max(0, expected - maxUnavailable) };
}

/** How an availability row or a plan line names the implicit budget: "implicit 25%". */
export function implicitLabel(budget: DefaultBudget): string {
  return `implicit ${budget}`;
}

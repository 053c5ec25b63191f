/**
 * What `waitForReady` waits for (issue 19 case 8). After its last eviction the drain waits until
 * every moved workload has as many Ready pods as before the drain — but a workload may be scaled
 * down meanwhile (a HorizontalPodAutoscaler, KEDA, an operator) or deleted. Its controller then wants
 * fewer pods, or none: the Deployment/StatefulSet controllers reconcile towards the current
 * spec.replicas (kubernetes pkg/controller/deployment, pkg/controller/statefulset), never towards the
 * count before the drain. So the target is min(Ready before the drain, current spec.replicas), and a
 * workload whose controller was deleted drops out of the wait.
 */

/** A moved workload's controller as the drain sees it now. */
export type ControllerNow =
  /** Its current spec.replicas. */
  | { state: "scaled"; replicas: number }
  /** It had a scalable controller when the drain started and has none now. */
  | { state: "deleted" }
  /** It never had a scalable controller the drain knows (bare ReplicaSet owner unknown, custom kinds). */
  | { state: "unknown" };

/** The Ready pods to wait for, or undefined when the workload drops out of the wait (deleted). */
export function readyTarget(readyBefore: number, controller: ControllerNow): number | undefined {
  if (controller.state === "deleted") return undefined;
  if (controller.state === "scaled") return Math.max(0, Math.min(readyBefore, controller.replicas));
  return readyBefore;
}

/** One workload still below its target, for the wait line and a deadline message. */
export interface NotReadyAgain { workload: string; ready: number; target: number; readyBefore: number }

/**
 * The moved workloads still below their target. `controllerOf` says what the controller looks like
 * now; `ready` gives the workload's Ready pods now.
 */
export function notReadyAgain(moved: Iterable<string>, readyBefore: ReadonlyMap<string, number>, controllerOf: (workload: string) => ControllerNow, ready: (workload: string) => number): NotReadyAgain[] {
  const out: NotReadyAgain[] = [];
  for (const w of moved) {
    const before = readyBefore.get(w) ?? 0;
    const target = readyTarget(before, controllerOf(w));
    if (target === undefined) continue;
    const now = ready(w);
    if (now < target) out.push({ workload: w, ready: now, target, readyBefore: before });
  }
  return out;
}

/** "<workload> (<ready>/<target> Ready[, scaled down from <before>])" for wait and deadline lines. */
export function formatNotReady(r: NotReadyAgain): string {
  return `${r.workload} (${r.ready}/${r.target} Ready${r.target < r.readyBefore ? `, target lowered from ${r.readyBefore}: its controller now wants ${r.target}` : ""})`;
}

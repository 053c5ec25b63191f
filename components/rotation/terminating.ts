/**
 * Pods that are being deleted (issue 19 case 6): which of them the drain waits for, which take a
 * concurrency slot, and which are "stuck".
 *
 * Kubernetes facts it rests on:
 * - A graceful delete sets metadata.deletionTimestamp and deletionGracePeriodSeconds
 *   (pkg/registry/rest/delete.go BeforeDelete: the timestamp is the request time PLUS the grace period,
 *   "the time at which this resource will be deleted"). The kubelet stops the containers within the
 *   grace period and then removes the object — unless `metadata.finalizers` hold it (the object stays,
 *   Terminating, until every finalizer is removed) or no kubelet answers (a NotReady node: the object
 *   stays until the node comes back or the node lifecycle controller deletes it).
 * - kubectl drain skips such pods after `--skip-wait-for-delete-timeout` seconds past their
 *   deletionTimestamp (staging/src/k8s.io/kubectl/pkg/drain/filters.go skipDeletedFilter /
 *   shouldSkipPod; drain.go waitForDelete).
 *
 * The drain's rules:
 * - a pod already Terminating when the drain starts was not evicted by it: it takes no concurrency
 *   slot and does not hold the drain (its disruption happened before; its controller already made
 *   its replacement); it is named in the summary;
 * - a pod the drain evicted takes a slot until it is gone, or until it is stuck: past its
 *   deletionTimestamp + grace period + a margin (the grace period is added once more so a server that
 *   stamps the request time rather than its end is not declared stuck early; on a real API server this
 *   only waits one grace period longer). A stuck pod takes no slot, does not hold the drain, and is
 *   named with why (finalizers, its node NotReady, or only past its grace);
 * - `plan` warns when a pod's terminationGracePeriodSeconds exceeds the drain's deadline.
 */
import type { V1Node, V1Pod } from "@kubernetes/client-node";

/** Default margin past a pod's grace period before it counts as stuck (kubectl's flag has no default; 60 s is a common choice). */
export const STUCK_MARGIN_MS = 60_000;
/** The grace period Kubernetes applies when a pod declares none (corev1.DefaultTerminationGracePeriodSeconds). */
export const DEFAULT_GRACE_SECONDS = 30;

/** How the drain treats a pod being deleted. */
export interface TerminatingState {
  /** Counts against `concurrency`. */
  takesSlot: boolean;
  /** The drain waits for it to go. */
  holdsDrain: boolean;
  /** Set when the drain gave up waiting: why it is named in the summary. */
  note?: string;
  /** Epoch ms after which the pod counts as stuck (the drain re-checks then). */
  stuckAt: number;
}

/** The pod's grace period in seconds: the one its deletion set, else its spec's, else 30. */
export function graceSeconds(pod: V1Pod): number {
  return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
}

/** Epoch ms after which a deleting pod counts as stuck; undefined when it is not being deleted. */
export function stuckAt(pod: V1Pod, marginMs = STUCK_MARGIN_MS): number | undefined {
  const ts = pod.metadata?.deletionTimestamp;
  if (!ts) return undefined;
  const t = ts instanceof Date ? ts.getTime() : Date.parse(String(ts));
  return (Number.isNaN(t) ? 0 : t) + graceSeconds(pod) * 1000 + marginMs;
}

/** Why a deleting pod is not gone: its finalizers, its node NotReady, or only time. */
export function whyStillThere(pod: V1Pod, node?: V1Node): string {
  const fins = pod.metadata?.finalizers ?? [];
  if (fins.length) return `held by finalizer(s) ${fins.join(", ")}`;
  const ready = node?.status?.conditions?.find((c) => c.type === "Ready");
  if (node && ready?.status !== "True") return `its node ${node.metadata?.name} is NotReady: no kubelet confirms the deletion`;
  return "still there past its grace period";
}

/**
 * How the drain treats a deleting pod now. `terminatingAtStart`: it was already being deleted when
 * the drain listed the pods (not evicted by this drain). `node`: the pod's node, for the reason.
 * Returns undefined for a pod that is not being deleted.
 */
export function terminatingState(pod: V1Pod, o: { terminatingAtStart: boolean; now: number; marginMs?: number; node?: V1Node }): TerminatingState | undefined {
  const at = stuckAt(pod, o.marginMs);
  if (at === undefined) return undefined;
  const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  if (o.terminatingAtStart) {
    return { takesSlot: false, holdsDrain: false, stuckAt: at, note: `${name} was already terminating when the drain started (not waited for; ${whyStillThere(pod, o.node)})` };
  }
  if (o.now < at) return { takesSlot: true, holdsDrain: true, stuckAt: at };
  return { takesSlot: false, holdsDrain: false, stuckAt: at, note: `${name} is stuck terminating ${Math.round((o.now - at) / 1000 + (o.marginMs ?? STUCK_MARGIN_MS) / 1000)}s past its grace period of ${graceSeconds(pod)}s: ${whyStillThere(pod, o.node)} (not waited for)` };
}

/**
 * Plan warnings: pods whose terminationGracePeriodSeconds exceeds the drain's deadline (an evicted
 * one may still be stopping when the deadline ends the drain). One line per pod, at most `max` named.
 */
export function gracePeriodWarnings(pods: Iterable<V1Pod>, deadlineMs: number, max = 10): string[] {
  const long: string[] = [];
  for (const p of pods) {
    const g = p.spec?.terminationGracePeriodSeconds;
    if (typeof g === "number" && g * 1000 > deadlineMs) long.push(`${p.metadata?.namespace}/${p.metadata?.name} (${g}s)`);
  }
  if (!long.length) return [];
  return [`${long.length} pod(s) have a terminationGracePeriodSeconds longer than the drain deadline of ${Math.round(deadlineMs / 1000)}s: ${long.slice(0, max).join(", ")}${long.length > max ? ` and ${long.length - max} more` : ""}; an evicted one may still be stopping at the deadline (raise the deadline or lower the grace period)`];
}

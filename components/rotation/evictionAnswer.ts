/**
 * What an answer of the Eviction API means, as one typed outcome (issue 19 cases 5 and 7). The one
 * place that reads an eviction's HTTP code and Status body; the drain acts on the outcome's kind.
 *
 * Read from kubernetes pkg/registry/core/pod/storage/eviction.go (EvictionREST.Create) and the
 * admission chain in front of it:
 * - 200/201: evicted (or a Pending/terminal/deleting pod deleted without a PDB check, canIgnorePDB).
 * - 404: the pod is gone.
 * - 409 about the POD: the UID precondition the drain sends failed (the pod was deleted and re-created
 *   under its name; `addConditionAndDeletePod` answers NewConflict(Resource "Pod") "the UID in the
 *   precondition ... does not match", the store's delete answers Conflict on "pods" with "Precondition
 *   failed: UID in precondition"). Nothing left to evict: gone.
 * - 409 about the PDB: `retry.RetryOnConflict(EvictionsRetry, checkAndDecrement)` gave up after its 20
 *   tries and returned the last conflict of the PDB status update — Status `details.kind:
 *   "poddisruptionbudgets"`, `details.group: "policy"` (the body in kubernetes#37605). The pod was NOT
 *   evicted: retry with backoff.
 * - 429: the PDB allows no disruption now (checkAndDecrement), its status is stale (observedGeneration
 *   behind), or an unready pod's resourceVersion changed; `details.retryAfterSeconds` may say when.
 * - 500 "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
 * - 403 with a cause of type `NamespaceTerminating`: NamespaceLifecycle admission
 *   (staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go) refuses every
 *   create — an eviction is a create of pods/eviction — in a namespace being deleted. The namespace
 *   controller deletes the pod itself; kubectl drain (staging/src/k8s.io/kubectl/pkg/drain/drain.go
 *   evictPods) retries until the pod is marked deleted and then waits for its deletion. So does the drain.
 * - 504 "couldn't update PodDisruptionBudget ... due to conflicts" (NewTimeoutError) and other 5xx, or no
 *   answer at all: transient, retry with backoff.
 */
import type { V1Status } from "@kubernetes/client-node";
import { retryAfterMs, statusBody, statusOf } from "./client";

/** The text of the 500 the Eviction API answers for a pod selected by more than one PDB. */
export const MULTIPLE_PDBS_TEXT = "more than one PodDisruptionBudget";
/**
 * metav1.StatusCause type NamespaceLifecycle admission adds (corev1.NamespaceTerminatingCause). A
 * cause's type travels as the JSON field `reason` (metav1.StatusCause `Type CauseType json:"reason"`).
 */
export const NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating";
/** metav1.StatusCause type of a 429 from a PDB (policyv1.DisruptionBudgetCause). */
export const DISRUPTION_BUDGET_CAUSE = "DisruptionBudget";

/** What the drain does after one eviction request. */
export type EvictionOutcome =
  /** Accepted: the pod is being deleted. */
  | { kind: "evicted" }
  /** Nothing left to evict (404, or a 409 about the pod: it was replaced under its name). */
  | { kind: "gone"; message: string }
  /** 429: park the pod on its budget; retry after `retryAfterMs` when the server said. */
  | { kind: "budget-exhausted"; message: string; retryAfterMs?: number; pdb?: string }
  /** 409 about the PDB: the server's own retries lost the status-update race; the pod was not evicted. Retry with backoff. */
  | { kind: "pdb-conflict-retry"; message: string; pdb?: string }
  /** 403 NamespaceTerminating: the namespace controller deletes the pod; wait for its deletion. */
  | { kind: "namespace-terminating"; message: string }
  /** 500: more than one PDB selects the pod; the Eviction API never evicts it. */
  | { kind: "multiple-pdbs"; message: string }
  /** No answer, 5xx, 504 PDB-conflict timeout: retry with backoff. */
  | { kind: "transient"; message: string; code?: number }
  /** Anything else (401, 403 RBAC, 422 ...): the drain stops and names it. */
  | { kind: "other"; message: string; code: number };

/** The kinds of EvictionOutcome. */
export type EvictionOutcomeKind = EvictionOutcome["kind"];

function isPodKind(kind: string | undefined): boolean {
  const k = (kind ?? "").toLowerCase();
  return k === "pod" || k === "pods";
}

/**
 * Classifies one eviction answer from its HTTP code (undefined: no answer) and its Status body.
 * Pure: the same code and body always give the same outcome.
 */
export function classifyEviction(code: number | undefined, body: V1Status | undefined): EvictionOutcome {
  const message = typeof body?.message === "string" && body.message ? body.message : code === undefined ? "no answer" : `HTTP ${code}`;
  if (code === undefined) return { kind: "transient", message };
  if (code >= 200 && code < 300) return { kind: "evicted" };
  const details = body?.details;
  const causes = details?.causes ?? [];
  if (code === 404) return { kind: "gone", message };
  if (code === 409) {
    if (isPodKind(details?.kind) || /UID in (the )?precondition/i.test(message)) return { kind: "gone", message };
    // The PDB's status update lost every retry (details.kind "poddisruptionbudgets"), or a conflict we
    // cannot attribute: either way the pod was not evicted, and retrying is what is safe (a pod that
    // went meanwhile answers 404 next time).
    return { kind: "pdb-conflict-retry", message, ...(details?.name && !isPodKind(details?.kind) ? { pdb: details.name } : {}) };
  }
  if (code === 429) {
    const after = details?.retryAfterSeconds;
    const pdbCause = causes.find((c) => c.reason === DISRUPTION_BUDGET_CAUSE)?.message;
    const pdb = pdbCause ? /disruption budget (\S+)/.exec(pdbCause)?.[1] : undefined;
    return { kind: "budget-exhausted", message: pdbCause ? `${message} ${pdbCause}` : message, ...(typeof after === "number" && after > 0 ? { retryAfterMs: after * 1000 } : {}), ...(pdb ? { pdb } : {}) };
  }
  if (code === 403 && causes.some((c) => c.reason === NAMESPACE_TERMINATING_CAUSE)) return { kind: "namespace-terminating", message };
  if (code === 500 && message.includes(MULTIPLE_PDBS_TEXT)) return { kind: "multiple-pdbs", message };
  if (code >= 500 || code === 408) return { kind: "transient", message, code };
  return { kind: "other", message, code };
}

/** Classifies the error a client-node eviction call rejected with (ApiException: code + body; network errors: no code). */
export function classifyEvictionError(err: unknown): EvictionOutcome {
  const code = statusOf(err);
  const body = code === undefined ? { message: err instanceof Error ? err.message : String(err) } : statusBody(err);
  const outcome = classifyEviction(code, body as V1Status);
  if (outcome.kind !== "budget-exhausted") return outcome;
  const header = retryAfterMs(err); // the Retry-After header, else details.retryAfterSeconds
  return header !== undefined && header > 0 ? { ...outcome, retryAfterMs: header } : outcome;
}

/**
 * Pod filters: the one place that decides a pod's fate. Modelled on kubectl
 * staging/src/k8s.io/kubectl/pkg/drain/filters.go (skipDeletedFilter, daemonSetFilter,
 * mirrorPodFilter, localStorageFilter, unreplicatedFilter): small functions, each returning a
 * verdict with a reason, composed in a fixed order.
 *
 * Differences from kubectl, on purpose:
 * - a filter may return no opinion (undefined); an "evict" verdict with a warning does not stop
 *   later filters, so warnings are all kept (kubectl keeps only the last one, see its TODO);
 * - `--force` never deletes: unmanaged pods are still evicted through the Eviction API;
 * - Job pods (and pods annotated `nodepool-rotation/drain: wait-completed`) are waited for instead of
 *   evicted, because evicting them makes their work run twice;
 * - DaemonSet pods always stay (they die with the pool), no flag needed.
 */
import type { V1ObjectMeta, V1OwnerReference, V1Pod } from "@kubernetes/client-node";
import { DRAIN_ANNOTATION, MIRROR_ANNOTATION, Verdict } from "./types";

/**
 * Who reads a blocker's fix hint: `cli` (`npm run rotation`: flags) or `stack` (the PoolDrainer and
 * the pool guard: stack config and the drain override; they have no force option).
 */
export type KnobAudience = "cli" | "stack";

/** Flags that change filter outcomes, and whose knobs the reasons name. */
export interface FilterOptions { force?: boolean; deleteEmptyDirData?: boolean; knobs?: KnobAudience }

/**
 * The one place that words the knobs behind a blocker, per audience: the CLI's flags, or stack
 * config `nodepool-rotation:drain.deleteEmptyDirData` and the override env var
 * NODEPOOL_ROTATION_DRAIN_OVERRIDE (components/poolDrainer.ts) where the drainer or guard prints it.
 */
export const KNOBS: Record<KnobAudience, { force: string; forced: string; emptyDir: string; emptyDirAllowed: string }> = {
  cli: {
    force: "use --force to evict it anyway",
    forced: "--force",
    emptyDir: "use --delete-emptydir-data to allow",
    emptyDirAllowed: "--delete-emptydir-data",
  },
  stack: {
    force: "the drainer and pool guard have no option to evict it: put it under a controller, delete it, annotate it nodepool-rotation/drain=skip, or drain once with npm run rotation -- drain --force",
    forced: "force",
    emptyDir: "to allow: stack config nodepool-rotation:drain.deleteEmptyDirData: true, or for a pending delete NODEPOOL_ROTATION_DRAIN_OVERRIDE='{\"deleteEmptyDirData\":true}'",
    emptyDirAllowed: "deleteEmptyDirData",
  },
};

/** A filter's answer: a verdict, why, and an optional warning for the plan. */
export interface PodDecision { verdict: Verdict; reason: string; warnings?: string[] }

/** A filter: returns a decision, or undefined when it has no opinion on this pod. */
export type PodFilter = (pod: V1Pod, opts: FilterOptions) => PodDecision | undefined;

/** The controller ownerReference of an object (metav1.GetControllerOf), if any: pods, ReplicaSets. */
export function controllerOf(obj: { metadata?: V1ObjectMeta } | undefined): V1OwnerReference | undefined {
  return (obj?.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
}

function drainAnnotation(pod: V1Pod): string | undefined {
  return pod?.metadata?.annotations?.[DRAIN_ANNOTATION];
}

/** Succeeded/Failed pods hold no work to move. */
export const terminalFilter: PodFilter = (pod) => {
  const phase = pod?.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return { verdict: "ignored", reason: `pod has completed (phase ${phase})` };
  return undefined;
};

/** Static pods are managed by the kubelet, not the API: they stay (kubectl mirrorPodFilter). */
export const mirrorFilter: PodFilter = (pod) =>
  pod?.metadata?.annotations?.[MIRROR_ANNOTATION] !== undefined
    ? { verdict: "stays", reason: "mirror (static) pod managed by the kubelet" } : undefined;

/** DaemonSet pods stay: the DaemonSet runs them on the replacement nodes itself. */
export const daemonSetFilter: PodFilter = (pod) => {
  const c = controllerOf(pod);
  return c?.kind === "DaemonSet" ? { verdict: "stays", reason: `managed by DaemonSet ${c.name}` } : undefined;
};

/** The per-pod annotation: an unknown value blocks (a typo must not silently evict), `skip` stays. */
export const annotationFilter: PodFilter = (pod) => {
  const a = drainAnnotation(pod);
  if (a === undefined || a === "evict" || a === "wait-completed") return undefined;
  if (a === "skip") return { verdict: "stays", reason: `annotation ${DRAIN_ANNOTATION}=skip` };
  return { verdict: "blocks", reason: `annotation ${DRAIN_ANNOTATION}="${a}" is not one of evict, wait-completed, skip` };
};

/** Pods already being deleted are waited for, not evicted again. */
export const terminatingFilter: PodFilter = (pod) =>
  pod?.metadata?.deletionTimestamp ? { verdict: "terminating", reason: "already terminating: waiting for it to go" } : undefined;

/** Job pods (unless annotated evict) and pods annotated wait-completed run to completion. */
export const waitCompletedFilter: PodFilter = (pod) => {
  const a = drainAnnotation(pod);
  if (a === "wait-completed") return { verdict: "wait-completed", reason: `annotation ${DRAIN_ANNOTATION}=wait-completed` };
  const c = controllerOf(pod);
  if (c?.kind === "Job" && a !== "evict") {
    return { verdict: "wait-completed", reason: `managed by Job ${c.name}: waiting for completion (evicting would run its work twice; annotate ${DRAIN_ANNOTATION}=evict to override)` };
  }
  return undefined;
};

/** Pods without a controller never come back once evicted: block unless forced (kubectl unreplicatedFilter). */
export const unreplicatedFilter: PodFilter = (pod, opts) => {
  if (controllerOf(pod)) return undefined;
  const knobs = KNOBS[opts.knobs ?? "cli"];
  if (opts.force) return { verdict: "evict", reason: "no controller", warnings: [`evicting a pod that declares no controller (${knobs.forced}): it will not be recreated`] };
  return { verdict: "blocks", reason: `declares no controller: it would not be recreated (${knobs.force})` };
};

/** emptyDir data is lost on eviction: block unless allowed (kubectl localStorageFilter). */
export const localStorageFilter: PodFilter = (pod, opts) => {
  const vols = pod?.spec?.volumes ?? [];
  if (!vols.some((v) => v.emptyDir)) return undefined;
  const knobs = KNOBS[opts.knobs ?? "cli"];
  if (opts.deleteEmptyDirData) return { verdict: "evict", reason: "has emptyDir", warnings: [`evicting a pod with emptyDir data (${knobs.emptyDirAllowed}): the data is lost`] };
  return { verdict: "blocks", reason: `uses emptyDir: its data would be lost (${knobs.emptyDir})` };
};

/** The filters, in the order they are applied. */
export const POD_FILTERS: readonly PodFilter[] = [
  terminalFilter,
  mirrorFilter,
  daemonSetFilter,
  annotationFilter,
  terminatingFilter,
  waitCompletedFilter,
  unreplicatedFilter,
  localStorageFilter,
];

/**
 * Decides one pod's fate: the first filter with a verdict other than "evict" wins; "evict"
 * verdicts (with warnings) let the remaining filters run. No opinion from any filter = evict.
 */
export function decidePod(pod: V1Pod, opts: FilterOptions = {}, filters: readonly PodFilter[] = POD_FILTERS): PodDecision {
  const warnings: string[] = [];
  const reasons: string[] = [];
  for (const f of filters) {
    const d = f(pod, opts);
    if (!d) continue;
    if (d.verdict !== "evict") return warnings.length ? { ...d, warnings: [...warnings, ...(d.warnings ?? [])] } : d;
    reasons.push(d.reason);
    warnings.push(...(d.warnings ?? []));
  }
  const c = controllerOf(pod);
  const base = c ? `managed by ${c.kind} ${c.name}` : "evictable";
  return { verdict: "evict", reason: reasons.length ? `${base} (${reasons.join(", ")})` : base, ...(warnings.length ? { warnings } : {}) };
}

/**
 * Workloads as the disruption controller sees them (kubernetes pkg/controller/disruption,
 * getExpectedScale / finders): a pod's workload is its top scalable controller — a Deployment
 * (through its ReplicaSet, so every ReplicaSet of a rollout in progress counts as one workload), a
 * StatefulSet, or a ReplicaSet without a Deployment — and its expected pods are that controller's
 * spec.replicas. Holds the controller objects (from lists or watches) and answers both questions.
 */
import type { V1Deployment, V1Pod, V1ReplicaSet, V1StatefulSet } from "@kubernetes/client-node";
import { controllerOf } from "./filters";
import { keyOf } from "./pdb";

/** Kinds whose spec.replicas says how many pods a workload expects. */
export const SCALABLE_KINDS = ["Deployment", "StatefulSet", "ReplicaSet"] as const;
export type ScalableKind = typeof SCALABLE_KINDS[number];
/** A scalable controller object (its spec.replicas is what the disruption controller expects). */
export type ScalableObject = V1Deployment | V1StatefulSet | V1ReplicaSet;

/**
 * "<ns>/<Kind>/<name>" of a pod's workload; ReplicaSets resolve to their Deployment. `rsOwner`
 * maps a known ReplicaSet "<ns>/<name>" to its Deployment's name, or to "" when it has none. A
 * ReplicaSet not in the map is resolved by its pod-template-hash suffix (what Deployments name
 * their ReplicaSets), so a pod seen before its new ReplicaSet still lands on its Deployment.
 */
export function workloadOf(pod: V1Pod, rsOwner?: Map<string, string>): string | undefined {
  const c = controllerOf(pod);
  if (!c) return undefined;
  const ns = pod.metadata?.namespace ?? "";
  if (c.kind === "ReplicaSet") {
    const owner = rsOwner?.get(`${ns}/${c.name}`);
    if (owner) return `${ns}/Deployment/${owner}`;
    if (owner === "") return `${ns}/ReplicaSet/${c.name}`;
    const h = pod.metadata?.labels?.["pod-template-hash"];
    if (h && c.name.endsWith(`-${h}`)) return `${ns}/Deployment/${c.name.slice(0, -h.length - 1)}`;
  }
  return `${ns}/${c.kind}/${c.name}`;
}

/** The scalable controllers of a cluster, keyed "<ns>/<name>" per kind. */
export class Controllers {
  private readonly byKind: Record<ScalableKind, Map<string, ScalableObject>> = { Deployment: new Map(), StatefulSet: new Map(), ReplicaSet: new Map() };
  /** ReplicaSet "<ns>/<name>" -> its Deployment's name, or "" (see workloadOf). */
  readonly rsOwner = new Map<string, string>();

  /** From lists (a snapshot); a kind left undefined stays empty. */
  static of(lists: { deployments?: V1Deployment[]; statefulSets?: V1StatefulSet[]; replicaSets?: V1ReplicaSet[] }): Controllers {
    const c = new Controllers();
    c.reset("Deployment", lists.deployments ?? []);
    c.reset("StatefulSet", lists.statefulSets ?? []);
    c.reset("ReplicaSet", lists.replicaSets ?? []);
    return c;
  }

  /** Replaces every object of a kind (a list or re-list). */
  reset(kind: ScalableKind, items: ScalableObject[]): void {
    this.byKind[kind].clear();
    if (kind === "ReplicaSet") this.rsOwner.clear();
    for (const o of items) this.set(kind, o);
  }

  /**
   * Adds or replaces one object (`deleted`: removes it). Returns true when pods may now resolve to
   * a different workload (a ReplicaSet appeared, went, or changed its Deployment).
   */
  set(kind: ScalableKind, o: ScalableObject, deleted = false): boolean {
    const k = keyOf(o);
    if (deleted) this.byKind[kind].delete(k); else this.byKind[kind].set(k, o);
    if (kind !== "ReplicaSet") return false;
    const before = this.rsOwner.get(k);
    const c = controllerOf(o);
    const after = deleted ? undefined : c?.kind === "Deployment" ? c.name : "";
    if (after === undefined) this.rsOwner.delete(k); else this.rsOwner.set(k, after);
    return before !== after;
  }

  /** The pod's workload (see workloadOf). */
  workloadOf(pod: V1Pod): string | undefined {
    return workloadOf(pod, this.rsOwner);
  }

  /**
   * Expected pods of a workload: its controller's spec.replicas (1 when unset, the API default), or
   * undefined when the workload is not a known scalable controller (today's rules apply to it).
   */
  replicas(workload: string): number | undefined {
    const [ns, kind, name] = workload.split("/");
    const map = this.byKind[kind as ScalableKind];
    const o = map?.get(`${ns}/${name}`);
    if (!o) return undefined;
    const r = o.spec?.replicas;
    return typeof r === "number" ? r : 1;
  }
}

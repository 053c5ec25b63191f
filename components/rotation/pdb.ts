/**
 * PodDisruptionBudgets: an index that finds a pod's PDBs without scanning every PDB, and the
 * floor arithmetic of the disruption controller (pkg/controller/disruption: getExpectedScale /
 * GetScaledValueFromIntOrPercent with roundUp=true).
 */
import type { V1ObjectMeta, V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import { matchLabelSelector } from "./selectors";

/** "<ns>/<name>" of an object. */
export function keyOf(o: { metadata?: V1ObjectMeta } | undefined): string {
  return `${o?.metadata?.namespace ?? ""}/${o?.metadata?.name ?? ""}`;
}

/** Pod has condition Ready=True and is not being deleted (what the PDB controller counts as healthy). */
export function isHealthy(pod: V1Pod | undefined): boolean {
  if (pod?.metadata?.deletionTimestamp) return false;
  return (pod?.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** Pod is Succeeded or Failed. */
export function isTerminal(pod: V1Pod | undefined): boolean {
  const p = pod?.status?.phase;
  return p === "Succeeded" || p === "Failed";
}

function scaled(v: number | string, expected: number): number {
  if (typeof v === "number") return v;
  const s = String(v);
  if (s.endsWith("%")) return Math.ceil((parseInt(s, 10) * expected) / 100);
  return parseInt(s, 10);
}

/**
 * Minimum healthy pods a PDB promises for `expected` pods (minAvailable, or expected - maxUnavailable).
 * Returns 0 when neither field is set.
 */
export function pdbFloor(pdb: V1PodDisruptionBudget | undefined, expected: number): number {
  const spec = pdb?.spec ?? {};
  if (spec.minAvailable !== undefined && spec.minAvailable !== null) return scaled(spec.minAvailable, expected);
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) return Math.max(0, expected - scaled(spec.maxUnavailable, expected));
  return 0;
}

/** Why a PDB can never allow a disruption (maxUnavailable 0, minAvailable 100% or >= expected), or undefined. */
export function neverAllowsReason(pdb: V1PodDisruptionBudget | undefined, expected: number): string | undefined {
  const spec = pdb?.spec ?? {};
  const mu = spec.maxUnavailable;
  if (mu !== undefined && mu !== null && (mu === 0 || mu === "0" || mu === "0%")) return `maxUnavailable: ${mu}`;
  const ma = spec.minAvailable;
  if (ma !== undefined && ma !== null) {
    if (ma === "100%") return "minAvailable: 100%";
    if (expected > 0 && scaled(ma, expected) >= expected) return `minAvailable: ${ma} >= ${expected} expected pods`;
  }
  return undefined;
}

/** Expected pod count of a PDB: status.expectedPods when the controller reported one, else the matching pods. */
export function expectedPods(pdb: V1PodDisruptionBudget | undefined, matching: number): number {
  const e = pdb?.status?.expectedPods;
  return typeof e === "number" && e > 0 ? e : matching;
}

/**
 * Does this PDB gate evictions of a pod with these labels? Like the Eviction API
 * (pkg/registry/core/pod/storage/eviction.go getPodDisruptionBudgets), a nil or empty selector
 * matches nothing ("should match nothing, not everything").
 */
export function pdbSelects(pdb: V1PodDisruptionBudget | undefined, labels: Record<string, string> | undefined): boolean {
  const sel = pdb?.spec?.selector;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && !(sel.matchExpressions ?? []).length)) return false;
  return matchLabelSelector(sel, labels);
}

interface NsIndex { byLabel: Map<string, V1PodDisruptionBudget[]>; scan: V1PodDisruptionBudget[] }

/**
 * Finds the PDBs selecting a pod. PDBs with matchLabels are indexed by one "key=value" pair, so a
 * pod only checks the PDBs sharing one of its labels (plus those with only matchExpressions).
 */
export class PdbIndex {
  private readonly byNs = new Map<string, NsIndex>();

  constructor(pdbs: Iterable<V1PodDisruptionBudget> = []) {
    for (const p of pdbs) this.add(p);
  }

  /** Adds a PDB (call remove first when replacing one). */
  add(pdb: V1PodDisruptionBudget): void {
    const ns = pdb?.metadata?.namespace ?? "";
    let idx = this.byNs.get(ns);
    if (!idx) { idx = { byLabel: new Map(), scan: [] }; this.byNs.set(ns, idx); }
    const ml = pdb?.spec?.selector?.matchLabels ?? {};
    const first = Object.keys(ml).sort()[0];
    if (first === undefined) { idx.scan.push(pdb); return; }
    const k = `${first}=${ml[first]}`;
    const list = idx.byLabel.get(k);
    if (list) list.push(pdb); else idx.byLabel.set(k, [pdb]);
  }

  /** Removes a PDB by namespace/name. */
  remove(key: string): void {
    const [ns] = key.split("/", 1);
    const idx = this.byNs.get(ns);
    if (!idx) return;
    idx.scan = idx.scan.filter((p) => keyOf(p) !== key);
    for (const [k, list] of idx.byLabel) {
      const f = list.filter((p) => keyOf(p) !== key);
      if (f.length) idx.byLabel.set(k, f); else idx.byLabel.delete(k);
    }
  }

  /** The PDBs whose selector matches this pod. */
  match(pod: V1Pod): V1PodDisruptionBudget[] {
    const idx = this.byNs.get(pod?.metadata?.namespace ?? "");
    if (!idx) return [];
    const labels = pod?.metadata?.labels ?? {};
    const out: V1PodDisruptionBudget[] = [];
    for (const [k, v] of Object.entries(labels)) {
      const list = idx.byLabel.get(`${k}=${v}`);
      if (list) for (const p of list) if (pdbSelects(p, labels)) out.push(p);
    }
    for (const p of idx.scan) if (pdbSelects(p, labels)) out.push(p);
    return out;
  }
}

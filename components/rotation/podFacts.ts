/**
 * What the drain asks about a pod on every wake-up — its verdict, its workload, the PDBs that
 * select it — answered once per version of the pod instead of once per wake-up. On a 3,000-pod
 * pool a drain wakes ~24,000 times (every watch event), and re-deciding every pool pod each time
 * was most of the draining process's CPU (measure with tests/bench/scale.ts, BENCH_SCALE_CPU_PROF).
 *
 * This only remembers answers; it decides nothing: the verdict is filters.ts decidePod's (still
 * the one place that decides a pod's fate), the workload workloads.ts's, the PDBs pdb.ts PdbIndex's.
 *
 * Keyed on the pod object itself: a watch or list delivers each resourceVersion of a pod as a new
 * object, so the key is uid + resourceVersion without any bookkeeping, and an entry goes with its
 * object (a WeakMap). What else an answer depends on has an epoch the drain bumps when it changes:
 * the ReplicaSet -> Deployment map (the workload) and the set of PDB selectors (the match). A PDB's
 * status changes on every eviction but not its selector, so the match survives those.
 */
import type { V1Pod, V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { PodDecision } from "./filters";

interface Facts {
  decision?: PodDecision;
  workloadEpoch: number;
  workload?: string;
  pdbEpoch: number;
  pdbKeys?: string[];
}

/** How the facts are computed (the drain's own decidePod, Controllers and PdbIndex). */
export interface PodFactSources {
  /** The pod's fate (filters.ts decidePod with the drain's options). */
  decide: (pod: V1Pod) => PodDecision;
  /** "<ns>/<Kind>/<name>" of the pod's workload, or undefined. */
  workloadOf: (pod: V1Pod) => string | undefined;
  /** The PDBs selecting the pod. */
  matchPdbs: (pod: V1Pod) => V1PodDisruptionBudget[];
  /** The current object of a PDB "<ns>/<name>" (its status changes without a new match). */
  pdb: (key: string) => V1PodDisruptionBudget | undefined;
}

/** Memoised per-pod answers for one drain run. */
export class PodFacts {
  private readonly memo = new WeakMap<object, Facts>();
  private workloadEpoch = 0;
  private pdbEpoch = 0;

  constructor(private readonly sources: PodFactSources) {}

  /** decidePod's answer for this version of the pod. */
  decision(pod: V1Pod): PodDecision {
    const f = this.facts(pod);
    return (f.decision ??= this.sources.decide(pod));
  }

  /** The pod's workload (see workloads.ts workloadOf). */
  workload(pod: V1Pod): string | undefined {
    const f = this.facts(pod);
    if (f.workloadEpoch !== this.workloadEpoch) {
      f.workload = this.sources.workloadOf(pod);
      f.workloadEpoch = this.workloadEpoch;
    }
    return f.workload;
  }

  /** "<ns>/<name>" of the PDBs selecting the pod. */
  pdbKeys(pod: V1Pod): readonly string[] {
    const f = this.facts(pod);
    if (f.pdbEpoch !== this.pdbEpoch || !f.pdbKeys) {
      f.pdbKeys = this.sources.matchPdbs(pod).map((p) => `${p.metadata?.namespace ?? ""}/${p.metadata?.name ?? ""}`);
      f.pdbEpoch = this.pdbEpoch;
    }
    return f.pdbKeys;
  }

  /** The PDBs selecting the pod, as currently watched (fresh status). */
  pdbs(pod: V1Pod): V1PodDisruptionBudget[] {
    const out: V1PodDisruptionBudget[] = [];
    for (const k of this.pdbKeys(pod)) {
      const p = this.sources.pdb(k);
      if (p) out.push(p);
    }
    return out;
  }

  /** Changes whenever workloads may resolve differently (for caches built from workload()). */
  get workloadsVersion(): number {
    return this.workloadEpoch;
  }

  /** Changes whenever PDB matches may differ (for caches built from pdbKeys()). */
  get pdbsVersion(): number {
    return this.pdbEpoch;
  }

  /** ReplicaSets now resolve to other Deployments (or appeared, or went): workloads are re-read. */
  workloadsChanged(): void {
    this.workloadEpoch++;
  }

  /** A PDB appeared, went, or changed its selector (or all were re-listed): matches are re-read. */
  pdbsChanged(): void {
    this.pdbEpoch++;
  }

  private facts(pod: V1Pod): Facts {
    let f = this.memo.get(pod);
    if (!f) {
      f = { workloadEpoch: -1, pdbEpoch: -1 }; // each answer computed when first asked (most pods are never decided: not on the pool)
      this.memo.set(pod, f);
    }
    return f;
  }
}

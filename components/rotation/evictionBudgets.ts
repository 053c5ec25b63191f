/**
 * The eviction budgets of one drain: the one place that decides whether a pod to move may be evicted
 * now (`admit`). A pod is gated by exactly one budget:
 * - the PodDisruptionBudget selecting it, through the PDB ledger (pdbLedger.ts: its watched status
 *   minus our evictions the status does not reflect yet, probes after a 429). A Pending or unready
 *   pod is offered to the API server even when the PDB shows no budget: the server decides without
 *   using it (pdbRules.ts serverDecides; eviction.go canIgnorePDB, unhealthyPodEvictionPolicy);
 * - no PDB: its workload's implicit budget, shared with the cluster's other drains (implicitBudgets.ts).
 * Some pods stop the drain instead: one selected by more than one PDB (the Eviction API answers 500,
 * pkg/registry/core/pod/storage/eviction.go), and one under a PDB that can never allow a disruption,
 * decided from the controllers' spec.replicas, never from status.expectedPods, which for an integer
 * minAvailable is the pods the disruption controller sees at that moment (pdbRules.ts).
 *
 * Invariant: within one pass (`beginPass`, then `admit` per pod in pass order), a PDB found without
 * budget stays so, and a workload's implicit allowance only goes down (each admitted pod takes one):
 * budgets come back between passes only (watch events, eviction answers, timers).
 */
import type { V1Pod } from "@kubernetes/client-node";
import { neverAllowsFix } from "./advice";
import { isHealthy, keyOf } from "./pdb";
import { PdbLedger } from "./pdbLedger";
import { expectedScale, neverAllows, ScaleSource, serverDecides } from "./pdbRules";
import type { PodCache } from "./podCache";
import type { PodFacts } from "./podFacts";
import type { Clock } from "./clock";
import { ImplicitBudgets } from "./implicitBudgets";
import type { Reservation } from "./sharedBudget";

/** The answer for one pod: send its eviction, wait for the Lease, park it, or stop the drain. */
export type Admission =
  /** Send it; `pdbKey`: its PDB; `usesBudget` false: offered although the PDB shows no budget (the server decides). */
  | { kind: "send"; pdbKey?: string; usesBudget: boolean }
  /** Implicit budget across processes: reserved, sent once the Lease write confirms it (ImplicitBudgets.queue). */
  | { kind: "lease"; reservation: Reservation }
  /** No budget now: parked on its PDB or on its workload's implicit budget. */
  | { kind: "park"; pdbKey?: string; workload?: string }
  /** The drain must stop; `pods` unset: the pods to move under `pdbs[0]`. */
  | { kind: "stop"; reason: "multiple-pdbs" | "never-allows"; message: string; pdbs: string[]; pods?: string[] };

/** What the budgets read from the rest of the drain. */
export interface BudgetSources {
  facts: PodFacts;
  cache: PodCache;
  clock: Clock;
  /** A workload's declared size (pdbRules.ts expectedScale). */
  scale: ScaleSource;
  /** The pool's name, for messages. */
  pool: string;
}

/** See the module comment. */
export class EvictionBudgets {
  /** PDB budgets: our evictions their status does not reflect yet, probes after 429 (pdbLedger.ts). */
  readonly pdb: PdbLedger;
  /** Per pass: why each PDB can never allow a disruption, and the fix for its form (undefined: it can allow one). */
  private never = new Map<string, { why: string; fix: string } | undefined>();
  /** Per pass: PDBs with no budget left (none comes back within the pass). */
  private exhausted = new Set<string>();

  constructor(private readonly src: BudgetSources, readonly implicit: ImplicitBudgets) {
    this.pdb = new PdbLedger(src.clock);
  }

  /** Starts a pass of the pump: what was learnt in the last one is forgotten. */
  beginPass(now: number, wake: () => void): void {
    this.never = new Map();
    this.exhausted = new Set();
    this.implicit.beginPass(now, wake);
  }

  /** Admit-or-park (or stop) for one pod to evict; `pdbKeys` are its memoised PDB keys. An admitted pod has taken its share of the budget. */
  admit(pod: V1Pod, pdbKeys: readonly string[]): Admission {
    const ready = isHealthy(pod) && pod.status?.phase !== "Pending";
    if (pdbKeys.length === 1 && this.exhausted.has(pdbKeys[0]) && ready) return { kind: "park", pdbKey: pdbKeys[0] }; // known already: no budget left
    const pdbs = this.src.facts.pdbs(pod);
    if (pdbs.length > 1) {
      return {
        kind: "stop", reason: "multiple-pdbs", pdbs: pdbs.map(keyOf), pods: [keyOf(pod)],
        message: `pod ${keyOf(pod)} is selected by ${pdbs.length} PodDisruptionBudgets (${pdbs.map(keyOf).join(", ")}); the Eviction API refuses such pods: make the PDB selectors disjoint`,
      };
    }
    if (pdbs.length === 0) {
      const a = this.implicit.admit(pod);
      return a.kind === "send" ? { kind: "send", usesBudget: true } : a;
    }
    const pdb = pdbs[0];
    const pdbKey = keyOf(pdb);
    if (!this.never.has(pdbKey)) {
      const scale = expectedScale(pdb, this.src.cache.inNamespace(pdb.metadata?.namespace ?? ""), this.src.scale);
      const why = neverAllows(pdb, scale);
      this.never.set(pdbKey, why ? { why, fix: neverAllowsFix(pdb, scale) } : undefined); // the verdict and its fix from one count (advice.ts)
    }
    const never = this.never.get(pdbKey);
    if (never) {
      return { kind: "stop", reason: "never-allows", pdbs: [pdbKey], message: `PodDisruptionBudget ${pdbKey} can never allow a disruption (${never.why}) and still covers pod(s) on pool ${this.src.pool}: ${never.fix}` };
    }
    if (!ready && serverDecides(pod, pdb)) return { kind: "send", pdbKey, usesBudget: false };
    if (this.exhausted.has(pdbKey) || !this.pdb.admit(pdbKey, pdb, pod.metadata?.name ?? "")) {
      this.exhausted.add(pdbKey);
      return { kind: "park", pdbKey };
    }
    return { kind: "send", pdbKey, usesBudget: true };
  }
}

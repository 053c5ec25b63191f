/**
 * The engine's own availability evidence, checked against two independent observers.
 *
 * The drain records, from its own pod watch, per workload it moves: replicas, floor (PDB or
 * implicit budget), min Ready, ms below floor and ms at zero (components/rotation/availability.ts).
 * The PoolDrainer prints those rows on stderr after the drain (what `pulumi up` shows the operator);
 * the rehearsal reads them back from the provider's output and puts them next to its prober's
 * figures (a second watch) and the simulator's (`GET /simulator/report`, from its state
 * transitions). On a real cluster the engine's rows are all the operator has: this is where they
 * are shown to be right.
 */
import { formatAvailability, WorkloadAvailability } from "../../components/rotation/availability";
import type { WorkloadFigures } from "./timeline";

/**
 * How far apart the three observers may be, per figure, before the rehearsal calls it a
 * disagreement. They see the same transitions through different channels (the engine's watch in
 * another process, the prober's watch, the simulator's own state), so each interval's two ends are
 * each late by some event-loop delay: a few ms on an idle box, tens of ms on a loaded 2-core one.
 * What the check must catch is a transition the engine missed or invented, which is off by about a
 * pod start-up (hundreds of ms in the scenarios): 100 ms separates the two. The figures measured
 * are reported as they are (docs/proof.md states them).
 */
export const AGREEMENT_TOLERANCE_MS = 100;

const LINE =
  /availability (\S+): (\d+) replica\(s\), floor (\d+) \(([^)]*)\), min Ready (\d+), ([\d.]+) ms below floor, ([\d.]+) ms at zero, (\d+) Ready at the end(?: \((\d+) at the start\))?/;

/** Reads the engine's availability rows back from the drainer's output lines (any prefix). */
export function parseAvailability(lines: string[]): WorkloadAvailability[] {
  const rows: WorkloadAvailability[] = [];
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) continue;
    rows.push({
      workload: m[1],
      replicas: Number(m[2]),
      floor: Number(m[3]),
      floorSource: m[4],
      minReady: Number(m[5]),
      msBelowFloor: Number(m[6]),
      msAtZero: Number(m[7]),
      readyAtEnd: Number(m[8]),
      readyAtStart: m[9] === undefined ? NaN : Number(m[9]),
    });
  }
  return rows;
}

/** The engine's lines for `rows`, as the drainer prints them (re-exported so the report uses the engine's wording). */
export const engineLines = formatAvailability;

/** One observer's figures for a workload. */
export interface ObservedFigures {
  floor: number | null;
  minReady: number;
  msBelowFloor: number;
  msAtZero: number;
}

/** One workload the engine moved, as the three observers saw it. */
export interface EvidenceRow {
  workload: string;
  /** The role whose drain reported it. */
  role: string;
  engine: WorkloadAvailability;
  prober?: ObservedFigures;
  /** The simulator's report; its floor is a PDB's only (it knows no implicit budget). */
  simulator?: ObservedFigures;
  /** Largest |engine − prober| over ms at zero and ms below floor. */
  deltaProberMs: number;
  /** Largest |engine − simulator| over ms at zero, and ms below floor where both know the same floor. */
  deltaSimulatorMs: number;
  /** The engine's floor equals the one the rehearsal computed itself (PDB or implicit budget). */
  floorsAgree: boolean;
  /** The engine's min Ready equals the prober's. */
  minReadyAgrees: boolean;
}

/** The comparison over every workload the drains moved. */
export interface Evidence {
  rows: EvidenceRow[];
  /** Largest difference in ms between the engine and the prober, and the engine and the simulator. */
  maxDeltaProberMs: number;
  maxDeltaSimulatorMs: number;
  toleranceMs: number;
  /** Every floor and min Ready agree, and every difference is within the tolerance. */
  agree: boolean;
}

/** Puts the engine's rows (per role) next to the prober's and the simulator's figures. */
export function compareEvidence(
  engineRows: { role: string; rows: WorkloadAvailability[] }[],
  workloads: Record<string, WorkloadFigures & { simulator?: ObservedFigures }>,
): Evidence {
  const rows: EvidenceRow[] = [];
  for (const { role, rows: engine } of engineRows) {
    for (const e of engine) {
      const w = workloads[e.workload];
      const prober: ObservedFigures | undefined = w && { floor: w.floor, minReady: w.minReady, msBelowFloor: w.msBelowFloor, msAtZero: w.msAtZero };
      const sim = w?.simulator;
      const dp = prober ? Math.max(Math.abs(e.msAtZero - prober.msAtZero), Math.abs(e.msBelowFloor - prober.msBelowFloor)) : NaN;
      const ds = sim
        ? Math.max(Math.abs(e.msAtZero - sim.msAtZero), sim.floor === e.floor ? Math.abs(e.msBelowFloor - sim.msBelowFloor) : 0)
        : NaN;
      rows.push({
        workload: e.workload,
        role,
        engine: e,
        prober,
        simulator: sim,
        deltaProberMs: round1(dp),
        deltaSimulatorMs: round1(ds),
        // No promise ("none") is floor 0 for the engine and no floor for the rehearsal.
        floorsAgree: !!prober && e.floor === (prober.floor ?? 0),
        minReadyAgrees: !!prober && e.minReady === prober.minReady,
      });
    }
  }
  const max = (xs: number[]) => round1(Math.max(0, ...xs.filter((x) => !Number.isNaN(x))));
  const maxDeltaProberMs = max(rows.map((r) => r.deltaProberMs));
  const maxDeltaSimulatorMs = max(rows.map((r) => r.deltaSimulatorMs));
  return {
    rows,
    maxDeltaProberMs,
    maxDeltaSimulatorMs,
    toleranceMs: AGREEMENT_TOLERANCE_MS,
    agree:
      rows.every((r) => r.floorsAgree && r.minReadyAgrees && !Number.isNaN(r.deltaProberMs)) &&
      Math.max(maxDeltaProberMs, maxDeltaSimulatorMs) <= AGREEMENT_TOLERANCE_MS,
  };
}

function round1(v: number): number {
  return Number.isNaN(v) ? v : Math.round(v * 10) / 10;
}

/**
 * The rehearsal's record of what happened: per workload the number of ready endpoints over time,
 * per node pool the number of nodes over time, and the phase markers of the rotation. Everything
 * here is plain data (JSON-serialisable) plus pure functions over it, so the summary and the
 * picture are computed from exactly the same numbers.
 *
 * Times are milliseconds since the rehearsal started (`startedAt`). A series is a step function:
 * each point holds its value until the next point, the last one until `endMs`.
 */

/** One step of a series: from `t` (ms since start) the value is `v`. */
export interface Point {
  t: number;
  v: number;
}

/** What the rehearsal knows about a workload before it starts (from the cluster, not the prober). */
export interface WorkloadInfo {
  /** `<namespace>/<Kind>/<name>`, the same key the simulator's report uses. */
  key: string;
  namespace: string;
  kind: string;
  name: string;
  /** Desired ready replicas (for a DaemonSet: the number of pods it ran when the rehearsal began). */
  replicas: number;
  /** Minimum ready replicas promised: by its PodDisruptionBudget, else by the drain's implicit budget; null: no promise. */
  floor: number | null;
  /** Where the floor comes from, worded as the engine words it: `pdb <ns>/<name>` or `implicit 25%`. */
  floorSource?: string;
  /** `<namespace>/<name>` of the PDB covering it, if any. */
  pdb?: string;
  /** Batch workloads (Jobs) run to completion: "ready" says little about their availability. */
  batch?: boolean;
}

/** A workload's ready-endpoint series. */
export interface WorkloadSeries {
  info: WorkloadInfo;
  points: Point[];
  /** Distinct pods of the workload seen during the record (a Job with 2 ran its work twice). */
  podsSeen?: number;
  /** A pod of the workload finished successfully (Jobs). */
  completed?: boolean;
}

/** A labelled moment of the rotation (new pool created, drain started, old pool deleted, ...). */
export interface Marker {
  t: number;
  label: string;
}

/** A node's cordoned period (ms since start; no `to`: still cordoned at the end). */
export interface Cordon {
  node: string;
  pool: string;
  from: number;
  to?: number;
}

/** A pod seen terminating for the first time: by an eviction (Eviction API) or a plain delete. */
export interface Disruption {
  t: number;
  /** `<namespace>/<name>` of the pod. */
  pod: string;
  /** Key of the followed workload it belongs to ("" when none). */
  workload: string;
  evicted: boolean;
}

/** The whole record. */
export interface Timeline {
  /** Wall-clock start, ISO 8601. */
  startedAt: string;
  /** Length of the record in ms; every series holds its last value until here. */
  endMs: number;
  workloads: Record<string, WorkloadSeries>;
  /** Node count per pool name. */
  pools: Record<string, Point[]>;
  markers: Marker[];
  /** Cordoned periods of nodes (absent in records made before they were kept). */
  cordons?: Cordon[];
  /** Pods seen terminating, evicted or deleted. */
  disruptions?: Disruption[];
}

/** Appends `v` at `t` unless the series already holds that value (series stay minimal). */
export function record(points: Point[], t: number, v: number): void {
  const last = points[points.length - 1];
  if (last && last.v === v) return;
  if (last && last.t === t) {
    last.v = v;
    // Collapsing may have made the previous step redundant.
    const prev = points[points.length - 2];
    if (prev && prev.v === v) points.pop();
    return;
  }
  points.push({ t, v });
}

/** Milliseconds in [0, endMs) during which `pred(value)` held. Before the first point nothing is known: not counted. */
export function msWhere(points: Point[], endMs: number, pred: (v: number) => boolean): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    const from = points[i].t;
    const to = i + 1 < points.length ? points[i + 1].t : endMs;
    if (to > from && pred(points[i].v)) total += to - from;
  }
  return total;
}

/** Smallest value the series took (NaN for an empty series). */
export function minValue(points: Point[]): number {
  return points.length ? Math.min(...points.map((p) => p.v)) : NaN;
}

/** Per-workload availability figures computed from the prober's series. */
export interface WorkloadFigures {
  key: string;
  kind: string;
  replicas: number;
  floor: number | null;
  /** `pdb <ns>/<name>` or `implicit <budget>` (see WorkloadInfo). */
  floorSource?: string;
  pdb?: string;
  /** Lowest number of ready endpoints seen. */
  minReady: number;
  /** Time with no ready endpoint at all: an outage for anything that serves. */
  msAtZero: number;
  /** Time below the floor (0 without one). */
  msBelowFloor: number;
  /** More than one desired replica: these must never reach zero or go below their floor. */
  multiReplica: boolean;
  batch: boolean;
  /** Distinct pods seen during the rehearsal. */
  podsSeen?: number;
  /** Jobs: a pod completed successfully. */
  completed?: boolean;
  /** Why a non-zero figure is expected, when it is (e.g. the single-replica worker). */
  note?: string;
}

/** Computes the figures of one workload series. */
export function workloadFigures(series: WorkloadSeries, endMs: number): WorkloadFigures {
  const { info, points } = series;
  const floor = info.floor;
  const multiReplica = info.replicas > 1;
  const batch = !!info.batch;
  const msAtZero = msWhere(points, endMs, (v) => v === 0);
  const msBelowFloor = floor === null ? 0 : msWhere(points, endMs, (v) => v < floor);
  let note: string | undefined;
  if (batch) {
    const ran = series.podsSeen ?? 0;
    note =
      `batch: ${ran} pod(s) ran` +
      (ran > info.replicas ? " (a pod was killed mid-run and restarted: its work ran twice)" : "") +
      (series.completed ? "; completed" : "; not completed yet");
  }
  else if (!multiReplica && msAtZero > 0)
    note = "single replica: its only pod cannot move without a gap (stopped on the old pool, then started on the new one)";
  return {
    key: info.key,
    kind: info.kind,
    replicas: info.replicas,
    floor,
    floorSource: info.floorSource,
    pdb: info.pdb,
    minReady: minValue(points),
    // Rounded up, never down: a dip of a fraction of a millisecond is still a dip.
    msAtZero: Math.ceil(msAtZero),
    msBelowFloor: Math.ceil(msBelowFloor),
    multiReplica,
    batch,
    podsSeen: series.podsSeen,
    completed: series.completed,
    note,
  };
}

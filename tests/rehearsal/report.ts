/**
 * Human-readable rendering of a rehearsal result: the timeline of phases, then the summary
 * (total time, evictions, most concurrent disruptions per PDB, per workload the time at zero ready
 * and below its PDB floor), then the verdict and the picture's path. Same numbers as `--json`.
 */
import type { RehearsalResult } from "./run";

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const last = rows[0].length - 1;
  // First column left-aligned (names), numbers right-aligned, a trailing "note" column left as is.
  const isNote = rows[0][last].trim() === "note";
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : isNote && i === last ? c : c.padStart(widths[i]))).join("  ").trimEnd());
}

/** The summary as text lines for a terminal. */
export function formatSummary(r: RehearsalResult): string {
  const out: string[] = [];
  out.push(`Rehearsal ${r.mode === "drain" ? "WITH the drain" : "WITHOUT the drain (GKE's behaviour)"}: ${r.oldPool.name} (${r.oldPool.version}) -> ${r.newPool.name} (${r.newPool.version}), ${r.oldPool.nodes} nodes`);
  out.push(`scenario: ${r.scenario}`);
  out.push("");
  out.push("Timeline");
  for (const m of r.timeline.markers) out.push(`  ${s(m.t).padStart(8)}  ${m.label}`);
  out.push("");
  out.push("Summary");
  out.push(`  total time (new pool created -> all ready again): ${s(r.totalMs)}; old pool gone after ${s(r.rotationMs)}`);
  out.push(`  evictions: ${r.evictions}; workload pods killed without eviction: ${r.workloadPodsDeletedWithoutEviction} (all pods: ${r.podsDeletedWithoutEviction}, DaemonSet and finished pods go with their nodes)`);
  out.push(`  workload pods still on the old pool when it was deleted: ${r.podsLeftOnOldPool.length}${r.podsLeftOnOldPool.length ? ` (${r.podsLeftOnOldPool.slice(0, 8).join(", ")}${r.podsLeftOnOldPool.length > 8 ? ", ..." : ""})` : ""}`);
  if (r.drain) out.push(`  drain ran via: ${r.drain.via} (${s(r.drain.deleteMs)})`);
  out.push("");
  out.push("  most concurrent disruptions per PDB");
  const pdbRows = [["  PDB", "allowed", "max (simulator)", "max (prober)", "evictions allowed", "rejected (429)"]];
  for (const [k, p] of Object.entries(r.pdbs)) {
    pdbRows.push([`  ${k}`, String(p.allowed ?? "-"), String(p.maxConcurrentDisruptions), String(p.maxConcurrentDisruptionsObserved), String(p.evictionsAllowed), String(p.evictionsRejected)]);
  }
  out.push(...table(pdbRows).map((l) => "  " + l));
  out.push("");
  out.push(`  per workload (ready endpoints, from the prober's watch${r.proberWatchRestarts ? `, which re-listed ${r.proberWatchRestarts} time(s) after errors` : ""}; simulator's own figures in brackets)`);
  const wRows = [["  workload", "replicas", "floor", "min ready", "ms at zero", "ms below floor", "note"]];
  for (const w of Object.values(r.workloads)) {
    const sim = w.simulator;
    wRows.push([
      `  ${w.key}`,
      String(w.replicas),
      w.floor === null ? "-" : String(w.floor),
      `${w.minReady}${sim ? ` [${sim.minReady}]` : ""}`,
      w.batch ? "-" : `${w.msAtZero}${sim ? ` [${sim.msAtZero}]` : ""}`,
      w.batch ? "-" : `${w.msBelowFloor}${sim ? ` [${sim.msBelowFloor}]` : ""}`,
      w.note ?? "",
    ]);
  }
  out.push(...table(wRows).map((l) => "  " + l));
  out.push("");
  if (!r.completed) {
    out.push("Rotation NOT completed: the drain failed, so (as Pulumi does) the old pool was kept; the next `pulumi up` retries.");
    out.push(`  old-pool nodes left cordoned: ${r.oldPoolCordoned.length}`);
    for (const line of (r.failure ?? "").split("\n")) out.push(`  | ${line}`);
    out.push("");
  }
  const v = r.verdict;
  if (v.zeroDowntime) out.push("Verdict: ZERO DOWNTIME — every multi-replica workload: 0 ms at zero ready, 0 ms below its PDB floor.");
  else {
    out.push("Verdict: OUTAGE");
    if (v.outages.length) out.push(`  reached zero ready: ${v.outages.join(", ")}`);
    if (v.belowFloor.length) out.push(`  went below their PDB floor: ${v.belowFloor.join(", ")}`);
  }
  for (const g of v.singleReplicaGaps) out.push(`  unavoidable single-replica gap: ${g.key} at zero ready for ${g.msAtZero} ms (one pod cannot move without a gap; run 2 replicas + a PDB to avoid it)`);
  out.push("");
  out.push(`Picture: ${r.picture}`);
  return out.join("\n");
}

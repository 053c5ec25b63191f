/**
 * Human-readable rendering of a rehearsal result: the timeline of phases, what the engine did with
 * each role's pools, the summary (total time, evictions, most concurrent disruptions per PDB, per
 * workload the time at zero ready and below its floor), the engine's own availability evidence next
 * to the prober's and the simulator's, then the verdict and the picture's path. Same numbers as `--json`.
 */
import type { RehearsalResult } from "./run";

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A pool's shape in GKE's terms: "3 zones x 2 nodes" (count per zone), or "2 nodes" without zone labels. */
export function shapeText(p: { zones: string[]; nodesPerZone: number }, times = "x"): string {
  const n = `${p.nodesPerZone} node${p.nodesPerZone === 1 ? "" : "s"}`;
  return p.zones.length ? `${p.zones.length} zone${p.zones.length === 1 ? "" : "s"} ${times} ${n}` : n;
}

/** Pads a table: first column left-aligned (names), numbers right-aligned, a trailing "note" column as is. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const last = rows[0].length - 1;
  const isNote = rows[0][last].trim() === "note";
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : isNote && i === last ? c : c.padStart(widths[i]))).join("  ").trimEnd());
}

/** How the run drained, in words. */
export function modeLabel(r: Pick<RehearsalResult, "mode" | "defaultBudget">): string {
  if (r.mode === "no-drain") return "WITHOUT the drain (GKE's behaviour)";
  const budgets = [...new Set(Object.values(r.defaultBudget ?? {}))];
  return budgets.length === 1 && budgets[0] === "none"
    ? "WITH the drain, defaultBudget none (workloads without a PDB evicted at once, as kubectl does)"
    : `WITH the drain (default budget ${budgets.join("/")} for workloads without a PDB)`;
}

/** The summary as text lines for a terminal. */
export function formatSummary(r: RehearsalResult): string {
  const out: string[] = [];
  out.push(`Rehearsal ${modeLabel(r)}`);
  for (const x of r.roles) {
    out.push(`  role ${x.role}: ${x.oldPool.name} (${x.oldPool.version}) -> ${x.newPool.name} (${x.newPool.version}), ${shapeText(x.oldPool)}`);
  }
  out.push(`scenario: ${r.scenario}`);
  out.push("");
  out.push("Timeline");
  for (const m of r.timeline.markers) out.push(`  ${s(m.t).padStart(8)}  ${m.label}`);
  out.push("");
  out.push(`What the engine did (pulumi up ${r.engine.ok ? "succeeded" : "FAILED"}; deletions in batches, each batch concurrently)`);
  r.engine.deleteBatches.forEach((b, i) => out.push(`  batch ${i + 1}: ${b.join("; ")}`));
  for (const x of r.roles) {
    out.push(`  role ${x.role}: old pool ${x.oldPool.name} ${x.oldPoolDeleted ? "DELETED" : `KEPT: ${x.keptBecause}`}${x.guard ? ` (pool guard before the delete: ${x.guard})` : ""}`);
    if (x.blockedBy) out.push(`    drain blocked on purpose (--block ${x.role}): PDB ${x.blockedBy.pdb} (minAvailable ${x.blockedBy.minAvailable}, all its replicas) over ${x.blockedBy.workload}`);
    if (!x.oldPoolDeleted) {
      out.push(`    after the update: its nodes cordoned: ${x.oldPoolCordoned.length}; workload pods on it: ${x.podsOnOldPool.length}`);
    }
    if (x.drain && !x.drain.ok) for (const line of (x.drain.error ?? "").split("\n").slice(0, 6)) out.push(`    | ${line}`);
  }
  if (r.engine.pendingDeletes.length) out.push(`  pending delete in the stack (the next pulumi up retries them): ${r.engine.pendingDeletes.join(", ")}`);
  const retry = r.engine.retry;
  if (retry) {
    out.push(`  then the operator's fix (the blocked workload scaled up by one) and the next pulumi up: ${retry.ok ? "succeeded" : "FAILED"}`);
    retry.deleteBatches.forEach((b, i) => out.push(`    batch ${i + 1}: ${b.join("; ")}`));
    for (const x of r.roles.filter((y) => y.retry && !y.oldPoolDeleted)) {
      out.push(`    role ${x.role}: old pool ${x.oldPool.name} ${x.retry!.oldPoolDeleted ? "DELETED" : "KEPT again"}${x.retry!.guard ? ` (pool guard: ${x.retry!.guard})` : ""}`);
    }
    if (retry.pendingDeletes.length) out.push(`    still pending delete: ${retry.pendingDeletes.join(", ")}`);
  }
  out.push("");
  out.push("Summary");
  out.push(`  total time (new pools created -> all ready again): ${s(r.totalMs)}; engine done after ${s(r.rotationMs)}`);
  out.push(`  evictions: ${r.evictions}; workload pods killed without eviction: ${r.workloadPodsDeletedWithoutEviction} (all pods: ${r.podsDeletedWithoutEviction}, DaemonSet and finished pods go with their nodes)`);
  for (const x of r.roles.filter((y) => y.oldPoolDeleted)) {
    out.push(`  workload pods still on ${x.oldPool.name} when it was deleted: ${x.podsOnOldPool.length}${x.podsOnOldPool.length ? ` (${x.podsOnOldPool.slice(0, 8).join(", ")}${x.podsOnOldPool.length > 8 ? ", ..." : ""})` : ""}`);
  }
  const via = [...new Set(r.roles.map((x) => x.drain?.via).filter(Boolean))];
  if (via.length) out.push(`  drains ran via: ${via.join("; ")} (${r.roles.filter((x) => x.drain).map((x) => `${x.role} ${s(x.drain!.deleteMs)}`).join(", ")})`);
  out.push("");
  out.push("  most concurrent disruptions per PDB");
  const pdbRows = [["  PDB", "allowed", "max (simulator)", "max (prober)", "evictions allowed", "rejected (429)"]];
  for (const [k, p] of Object.entries(r.pdbs)) {
    pdbRows.push([`  ${k}`, String(p.allowed ?? "-"), String(p.maxConcurrentDisruptions), String(p.maxConcurrentDisruptionsObserved), String(p.evictionsAllowed), String(p.evictionsRejected)]);
  }
  out.push(...table(pdbRows).map((l) => "  " + l));
  out.push("");
  out.push(`  per workload (ready endpoints, from the prober's watch${r.proberWatchRestarts ? `, which re-listed ${r.proberWatchRestarts} time(s) after errors` : ""}; simulator's own figures in brackets, PDB floors only)`);
  const wRows = [["  workload", "replicas", "floor", "min ready", "ms at zero", "ms below floor", "note"]];
  for (const w of Object.values(r.workloads)) {
    const sim = w.simulator;
    wRows.push([
      `  ${w.key}`,
      String(w.replicas),
      w.floor === null ? "-" : `${w.floor}${w.floorSource?.startsWith("implicit") ? " (implicit)" : ""}`,
      `${w.minReady}${sim ? ` [${sim.minReady}]` : ""}`,
      w.batch ? "-" : `${w.msAtZero}${sim ? ` [${sim.msAtZero}]` : ""}`,
      w.batch ? "-" : `${w.msBelowFloor}${sim && sim.floor !== null ? ` [${sim.msBelowFloor}]` : ""}`,
      w.note ?? "",
    ]);
  }
  out.push(...table(wRows).map((l) => "  " + l));
  if (r.evidence.rows.length) {
    out.push("");
    out.push("  the engine's own evidence (the drainer's availability lines) vs the prober and the simulator");
    const eRows = [["  workload", "floor (engine)", "min ready", "ms at zero eng/prober/sim", "ms below floor eng/prober", "max diff prober", "max diff sim"]];
    for (const e of r.evidence.rows) {
      eRows.push([
        `  ${e.workload}`,
        `${e.engine.floor} (${e.engine.floorSource})${e.floorsAgree ? "" : " MISMATCH"}`,
        `${e.engine.minReady}/${e.prober?.minReady ?? "?"}${e.minReadyAgrees ? "" : " MISMATCH"}`,
        `${e.engine.msAtZero}/${e.prober?.msAtZero ?? "?"}/${e.simulator?.msAtZero ?? "?"}`,
        `${e.engine.msBelowFloor}/${e.prober?.msBelowFloor ?? "?"}`,
        `${e.deltaProberMs} ms`,
        `${e.deltaSimulatorMs} ms`,
      ]);
    }
    out.push(...table(eRows).map((l) => "  " + l));
    out.push(
      `  agreement: engine vs prober within ${r.evidence.maxDeltaProberMs} ms, engine vs simulator within ${r.evidence.maxDeltaSimulatorMs} ms ` +
        `(tolerance ${r.evidence.toleranceMs} ms): ${r.evidence.agree ? "AGREE" : "DISAGREE"}`,
    );
  }
  out.push("");
  const v = r.verdict;
  if (v.zeroDowntime) out.push("Verdict: ZERO DOWNTIME — every multi-replica workload: 0 ms at zero ready, 0 ms below its floor (PDB or implicit budget).");
  else {
    out.push("Verdict: OUTAGE");
    if (v.outages.length) out.push(`  reached zero ready: ${v.outages.join(", ")}`);
    if (v.belowFloor.length) out.push(`  went below their floor: ${v.belowFloor.join(", ")}`);
  }
  for (const g of v.singleReplicaGaps) out.push(`  unavoidable single-replica gap: ${g.key} at zero ready for ${g.msAtZero} ms (one pod cannot move without a gap; run 2 replicas + a PDB to avoid it)`);
  if (!r.completed) {
    out.push(
      `Rotation NOT completed: the engine kept ${r.roles.filter((x) => !x.oldPoolDeleted).length} old pool(s) (see above); ` +
        `${r.workloadPodsDeletedWithoutEviction} workload pod(s) killed without eviction.`,
    );
  }
  out.push("");
  out.push(`Picture: ${r.picture}`);
  return out.join("\n");
}

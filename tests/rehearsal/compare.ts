/**
 * `npm run rehearse -- --compare`: the same rotation of the same scenario done by this tool and by
 * what a user would pick instead — GKE's surge, blue-green and autoscaled blue-green upgrades and
 * its pool deletion (tests/simulator/gkeUpgrade.ts, modelled on GKE's documentation), and real
 * `kubectl drain` node by node where kubectl is installed — one fresh simulator each, one prober
 * each, one table.
 *
 * Fair to GKE: every contender starts from the same settled cluster and timing; the new nodes of
 * every contender must be Ready with their DaemonSet pods before anything is drained where the
 * contender waits for them at all; GKE's strategies run with their documented defaults except the
 * soaks, which are 0 s like this tool's (`soakSeconds`/`batchSoakSeconds` unset), and
 * `waitForDrainDuration` (3 days by default). Every workload is measured against the same floor:
 * its PDB's, else the 25% implicit budget this tool applies (GKE promises nothing there: the column
 * says what a reader would call "below floor", not what GKE broke). DaemonSets are reported in
 * rows of their own: their pods go with their nodes by design.
 *
 * Time: the simulator runs GKE time scaled by its `terminationGraceScale` f (simulated ms per real
 * ms), with the stated node boot and pod start-up; a simulated duration d stands for d / f on GKE.
 * kubectl's own waits (1 s between polls, 5 s after a 429) run on the wall clock, unscaled, so its
 * GKE figure is an upper bound (said in its row).
 */
import * as k8s from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { DEFAULT_BUDGET } from "../../components/rotation/budget";
import { startSimulator, Simulator, SimulatorReport, Timing } from "../simulator";
import { deletePoolAsGke, Operation, upgradePool, UpgradeSettings } from "./gkeClient";
import { writeSvg } from "./picture";
import { scaleCaption, TimeScale, timeScale } from "./scale";
import { Prober } from "./prober";
import { newPoolName, readPoolShapes, runRehearsal, until, waitForDaemonSets } from "./run";
import { DEFAULT_SCENARIO_FILE, loadScenario } from "./scenario";
import { Marker, Timeline, workloadFigures, WorkloadFigures } from "./timeline";
import { discoverTargets, settled } from "./workloads";

export const KUBECTL = "/usr/bin/kubectl";

/** The contenders, in the order they run and appear. */
export type ContenderId = "rotation" | "surge" | "blueGreen" | "autoscaledBlueGreen" | "poolDeletion" | "kubectlDrain";

/** One way of rotating the pool. */
export interface Contender {
  id: ContenderId;
  label: string;
  /** Its settings, in words (what a reader needs to reproduce it on GKE). */
  how: string;
  /** GKE's UpgradeSettings for the upgrade strategies. */
  settings?: UpgradeSettings;
}

export const CONTENDERS: Contender[] = [
  {
    id: "rotation",
    label: "nodepool-rotation",
    how: "new pool, then the PDB-aware drain of the whole old pool (implicit budget 25% for workloads without a PDB; Job pods waited for, not evicted; done once every moved workload is Ready), then delete",
  },
  { id: "surge", label: "GKE surge upgrade", how: "maxSurge 1, maxUnavailable 0 (GKE's defaults)", settings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 } },
  {
    id: "blueGreen",
    label: "GKE blue-green upgrade",
    how: "batchPercentage 0.5, batchSoakDuration 0s, nodePoolSoakDuration 0s (default 1 h; 0 s like this tool's soak)",
    settings: { strategy: "BLUE_GREEN", blueGreenSettings: { standardRolloutPolicy: { batchPercentage: 0.5, batchSoakDuration: "0s" }, nodePoolSoakDuration: "0s" } },
  },
  {
    id: "autoscaledBlueGreen",
    label: "GKE autoscaled blue-green",
    how: "waitForDrainDuration 0s (default 3 days); green scaled by the cluster autoscaler",
    settings: { strategy: "AUTOSCALED_BLUE_GREEN", blueGreenSettings: { autoscaledRolloutPolicy: { waitForDrainDuration: "0s" } } },
  },
  { id: "poolDeletion", label: "GKE pool deletion", how: "new pool, then delete the old one: each node drained, pods deleted with their grace (at most 1 h), PDBs ignored" },
  { id: "kubectlDrain", label: "kubectl drain, node by node", how: "new pool, then `kubectl drain --ignore-daemonsets --delete-emptydir-data` on each old node in turn, then delete the old pool" },
];

/** The timing the comparison runs with: the scenario's, with a node boot that stands for 60 s on GKE. */
export const COMPARE_TIMING: Partial<Timing> = { nodeBootMs: 600 };

/** A workload's figures in one contender's run. */
export interface CompareWorkload {
  kind: string;
  replicas: number;
  floor: number | null;
  floorSource: string | null;
  minReady: number;
  msBelowFloor: number;
  msAtZero: number;
  batch: boolean;
  podsSeen: number | null;
  /** Ready pods when the rotation began (a Job: 1 while it runs). */
  readyAtStart: number;
}

/** One contender's run. */
export interface CompareRow {
  id: ContenderId;
  label: string;
  how: string;
  /** From the first action (new pool or upgrade) until the old nodes are gone, simulated ms. */
  rotationMs: number;
  /** Until every serving workload is whole again. */
  totalMs: number;
  /** rotationMs on GKE's clock (rotationMs / f), seconds. */
  gkeRotationS: number;
  evictions: number;
  /** Workload pods deleted without eviction (DaemonSet and finished pods excluded). */
  podsKilled: number;
  /** Nodes whose drain hit GKE's PDB cut-off, and the pods it deleted. */
  pdbCutoffs: number;
  podsDeletedAfterCutoff: number;
  /** Serving multi-replica workloads (DaemonSets excluded) that reached zero / went below their floor. */
  outages: string[];
  belowFloor: string[];
  workloads: Record<string, CompareWorkload>;
  daemonSets: Record<string, CompareWorkload>;
  note: string | null;
  /** Picture file name (in the output directory). */
  picture: string;
}

/** The whole comparison (what `--compare --json` prints and docs/proof/figures.json keeps). */
export interface CompareResult {
  scenario: string;
  /** How simulated time maps to GKE's. */
  scale: TimeScale;
  /** The common end of every picture's time axis, ms. */
  axisEndMs: number;
  rows: CompareRow[];
  /** Contenders left out, and why (e.g. kubectl not installed). */
  skipped: { id: ContenderId; why: string }[];
}

/** Options of a comparison run. */
export interface CompareOptions {
  scenarioFile?: string;
  /** Only these contenders (default all). */
  only?: ContenderId[];
  outDir?: string;
  log?: (line: string) => void;
  waitTimeoutMs?: number;
  timing?: Partial<Timing>;
}

/** Runs every contender one after the other on a fresh simulator each; writes one picture each on a shared time axis. */
export async function runCompare(opts: CompareOptions = {}): Promise<CompareResult> {
  const log = opts.log ?? (() => {});
  const scenarioFile = opts.scenarioFile ?? DEFAULT_SCENARIO_FILE;
  const timing = { ...COMPARE_TIMING, ...(opts.timing ?? {}) };
  const scenario = loadScenario(scenarioFile);
  if (scenario.roles.length !== 1) throw new Error(`rehearse --compare: the scenario must have one role (has ${scenario.roles.length}: ${scenario.roles.map((r) => r.role).join(", ")}): GKE upgrades one pool at a time`);
  const outDir = opts.outDir ?? path.join(os.tmpdir(), "nodepool-rotation-rehearsal");
  const skipped: CompareResult["skipped"] = [];
  const runs: { row: CompareRow; timeline: Timeline }[] = [];
  let scale: CompareResult["scale"] | undefined;
  for (const c of CONTENDERS) {
    if (opts.only && !opts.only.includes(c.id)) continue;
    if (c.id === "kubectlDrain" && !fs.existsSync(KUBECTL)) {
      skipped.push({ id: c.id, why: `${KUBECTL} is not installed` });
      continue;
    }
    log(`--- compare: ${c.label} (${c.how})`);
    const run = c.id === "rotation" ? await rotationRun(c, scenarioFile, timing, outDir, log, opts.waitTimeoutMs) : await otherRun(c, scenarioFile, timing, log, opts.waitTimeoutMs ?? 60_000);
    scale ??= run.scale;
    runs.push({ row: run.row, timeline: run.timeline });
  }
  if (!scale) throw new Error("rehearse --compare: no contender ran");
  const axisEndMs = Math.max(...runs.map((r) => r.timeline.endMs));
  const s = scale;
  for (const { row, timeline } of runs) {
    row.gkeRotationS = Math.round(row.rotationMs / s.f / 1000);
    writeSvg(path.join(outDir, row.picture), timeline, {
      title: `${row.label}: ${row.how}`,
      subtitle:
        `rotation ${secs(row.rotationMs)} (about ${minutes(row.gkeRotationS)} on GKE), all ready again after ${secs(row.totalMs)}; ${row.evictions} evictions, ` +
        `${row.podsKilled} workload pods deleted without eviction, ${row.pdbCutoffs} PDB cut-off(s)` +
        `\n${row.outages.length || row.belowFloor.length ? `multi-replica workloads at zero: ${row.outages.join(", ") || "none"}; below their floor: ${row.belowFloor.join(", ") || "none"}` : "every multi-replica workload: 0 ms at zero ready, 0 ms below its floor"}` +
        (row.note ? `\n${row.note}` : ""),
      figures: Object.fromEntries(Object.entries({ ...row.workloads, ...row.daemonSets }).map(([k, w]) => [k, { ...w, key: k, multiReplica: w.replicas > 1 } as WorkloadFigures])),
      axisEndMs,
      caption: scaleCaption(s),
    });
  }
  return { scenario: scenario.source, scale: s, axisEndMs, rows: runs.map((r) => r.row), skipped };
}

type Run = { row: CompareRow; timeline: Timeline; scale: CompareResult["scale"] };

/** This tool: the rehearsal itself (the real drainer in a provider host, the emulated Pulumi engine). */
async function rotationRun(c: Contender, scenarioFile: string, timing: Partial<Timing>, outDir: string, log: (l: string) => void, waitTimeoutMs?: number): Promise<Run> {
  const r = await runRehearsal({ scenarioFile, timing, outDir, pictureName: `.compare-${c.id}-own.svg`, log, waitTimeoutMs });
  fs.rmSync(r.picture, { force: true });
  const t = { ...scaleTimingFromScenario(scenarioFile), ...timing } as Timing;
  return {
    row: rowOf(c, r.timeline, r.rotationMs, r.totalMs, { evictions: r.evictions, workloadPodsDeletedWithoutEviction: r.workloadPodsDeletedWithoutEviction }, undefined),
    timeline: r.timeline,
    scale: timeScale(t),
  };
}

/** The scenario's own timing knobs (its kube-system/simulator ConfigMap), for the scale. */
function scaleTimingFromScenario(file: string): Partial<Timing> {
  const text = fs.readFileSync(file, "utf8");
  const num = (k: string) => {
    const m = new RegExp(`^\\s*${k}:\\s*"?([\\d.]+)"?`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const out: Partial<Timing> = {};
  for (const k of ["podStartMs", "podReadyMs", "terminationGraceScale", "nodeBootMs"] as const) {
    const v = num(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A GKE strategy or kubectl drain, on a fresh simulator, watched by a prober from the first action. */
async function otherRun(c: Contender, scenarioFile: string, timing: Partial<Timing>, log: (l: string) => void, wait: number): Promise<Run> {
  const scenario = loadScenario(scenarioFile);
  const role = scenario.roles[0];
  let sim: Simulator | undefined;
  let prober: Prober | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-compare-"));
  try {
    sim = await startSimulator({ scenario: scenario.text, timing });
    const kc = sim.kubeConfig();
    await until("the scenario to settle", () => settled(kc), wait);
    const shape = (await readPoolShapes(kc, [role])).get(role.role)!;
    const budget = String(role.drainOptions.defaultBudget ?? DEFAULT_BUDGET);
    const targets = await discoverTargets(kc, (pool) => (pool === role.oldPool ? budget : undefined));
    const t0 = performance.now();
    const markers: Marker[] = [];
    const p = (prober = new Prober(kc, targets, t0, log));
    await p.start();
    const mark = (label: string) => {
      markers.push({ t: p.now(), label });
      log(`[${(p.now() / 1000).toFixed(2)} s] ${label}`);
    };
    let op: Operation | undefined;
    if (c.settings) {
      mark(`${c.settings.strategy} upgrade of ${role.oldPool}`);
      op = await upgradePool(sim.url, role.oldPool, c.settings, wait);
    } else {
      const name = newPoolName(role);
      const oldNodes = p.nodeNames(role.oldPool).sort();
      mark(`create pool ${name}`);
      await sim.addPool({ ...shape.spec, name });
      await p.waitFor(`pool ${name} to have ${shape.shape.nodes} Ready nodes`, () => p.poolNodes(name) >= shape.shape.nodes, wait);
      await waitForDaemonSets(p, role.oldPool, name, wait);
      mark(`pool ${name} Ready`);
      if (c.id === "kubectlDrain") {
        const file = path.join(tmp, "kubeconfig");
        sim.writeKubeconfig(file);
        for (const node of oldNodes) {
          mark(`kubectl drain ${node}`);
          await kubectl(["--kubeconfig", file, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", `--timeout=${Math.ceil(wait / 1000)}s`]);
        }
      }
      mark(`delete pool ${role.oldPool}`);
      op = await deletePoolAsGke(sim.url, role.oldPool, wait);
    }
    const rotationMs = p.now();
    mark(`old nodes gone (${op.strategy === "DELETE" ? "pool deleted" : "upgrade done"})`);
    const serving = targets.filter((t) => !t.info.batch && t.info.kind !== "DaemonSet");
    await p.waitFor("every workload to be fully ready again", () => serving.every((t) => p.ready(t.info.key) >= t.info.replicas), wait);
    const totalMs = p.now();
    mark("all ready");
    const report = sim.report();
    const t = sim.cluster.timing;
    await p.stop();
    if (p.errors.length) throw new Error(`rehearsal: the prober failed while watching:\n${p.errors.join("\n")}`);
    const timeline: Timeline = { startedAt: new Date(Date.now() - totalMs).toISOString(), endMs: totalMs, workloads: p.series.workloads, pools: p.series.pools, markers, cordons: p.series.cordons, disruptions: p.series.disruptions };
    const row = rowOf(c, timeline, rotationMs, totalMs, report, op);
    if (c.id === "kubectlDrain") row.note = "kubectl's own waits (1 s between polls, 5 s after a 429) run on the wall clock, not scaled: its GKE time is an upper bound";
    return { row, timeline, scale: timeScale(t) };
  } finally {
    await prober?.stop().catch(() => {});
    await sim?.stop().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function kubectl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(KUBECTL, args, { env: { ...process.env, KUBECONFIG: "" }, timeout: 300_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.slice(2).join(" ")} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

/** A contender's row from its record (pure). */
export function rowOf(c: Contender, tl: Timeline, rotationMs: number, totalMs: number, report: Pick<SimulatorReport, "evictions" | "workloadPodsDeletedWithoutEviction">, op: Operation | undefined): CompareRow {
  const workloads: Record<string, CompareWorkload> = {};
  const daemonSets: Record<string, CompareWorkload> = {};
  for (const [key, series] of Object.entries(tl.workloads)) {
    const f = workloadFigures(series, tl.endMs);
    const w: CompareWorkload = {
      kind: f.kind, replicas: f.replicas, floor: f.floor, floorSource: f.floorSource ?? null, minReady: f.minReady, msBelowFloor: f.msBelowFloor, msAtZero: f.msAtZero, batch: f.batch, podsSeen: f.podsSeen ?? null,
      readyAtStart: series.points[0]?.v ?? 0,
    };
    (f.kind === "DaemonSet" ? daemonSets : workloads)[key] = w;
  }
  const guarded = Object.entries(workloads).filter(([, w]) => w.replicas > 1 && !w.batch);
  return {
    id: c.id,
    label: c.label,
    how: c.how,
    rotationMs: Math.round(rotationMs),
    totalMs: Math.round(totalMs),
    gkeRotationS: NaN,
    evictions: report.evictions,
    podsKilled: report.workloadPodsDeletedWithoutEviction,
    pdbCutoffs: op?.pdbCutoffs ?? 0,
    podsDeletedAfterCutoff: op?.podsDeletedAfterCutoff ?? 0,
    outages: guarded.filter(([, w]) => w.msAtZero > 0).map(([k]) => k),
    belowFloor: guarded.filter(([, w]) => w.floor !== null && w.msBelowFloor > 0).map(([k]) => k),
    workloads,
    daemonSets,
    note: null,
    picture: `compare-${c.id.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}.svg`,
  };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
/** GKE seconds as minutes ("6.2 min"). */
export const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;

/** Pads columns: first left, others right. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd());
}

/** A workload's cell: "min ready / ms below floor / ms at zero". */
export function workloadCell(w: CompareWorkload | undefined): string {
  if (!w) return "-";
  if (w.batch) return `${w.podsSeen ?? "?"} pod(s) ran`;
  return `${w.minReady} / ${w.floor === null ? "-" : w.msBelowFloor} / ${w.msAtZero}`;
}

/** The comparison as text for a terminal: one table of contenders, one of workloads, one of DaemonSets. */
export function formatCompare(r: CompareResult): string {
  const out: string[] = [];
  out.push(`Comparison on ${r.scenario}`);
  out.push(scaleCaption(r.scale));
  out.push("");
  const head = ["contender", "rotation (sim)", "on GKE ≈", "all ready", "at zero", "below floor", "killed", "evictions", "PDB cut-offs"];
  const rows = r.rows.map((x) => [
    x.label, secs(x.rotationMs), `${minutes(x.gkeRotationS)}${x.note ? "*" : ""}`, secs(x.totalMs), String(x.outages.length), String(x.belowFloor.length), String(x.podsKilled), String(x.evictions),
    x.pdbCutoffs ? `${x.pdbCutoffs} (${x.podsDeletedAfterCutoff} pods)` : "0",
  ]);
  out.push(...table([head, ...rows]));
  for (const x of r.rows) out.push(`  ${x.label}: ${x.how}${x.note ? `\n    * ${x.note}` : ""}`);
  for (const s of r.skipped) out.push(`  skipped ${s.id}: ${s.why}`);
  out.push("");
  out.push("Per workload: min ready / ms below floor / ms at zero (floor: PDB, else the 25% implicit budget)");
  const keys = [...new Set(r.rows.flatMap((x) => Object.keys(x.workloads)))].sort();
  const one = r.rows[0];
  out.push(...table([["workload", "replicas", "floor", ...r.rows.map((x) => x.label)], ...keys.map((k) => [k, String(one?.workloads[k]?.replicas ?? "?"), String(one?.workloads[k]?.floor ?? "-"), ...r.rows.map((x) => workloadCell(x.workloads[k]))])]));
  const ds = [...new Set(r.rows.flatMap((x) => Object.keys(x.daemonSets)))].sort();
  if (ds.length) {
    out.push("");
    out.push("DaemonSets (their pods go with their nodes; not in the verdict): min ready / ms at zero");
    out.push(...table([["daemonset", ...r.rows.map((x) => x.label)], ...ds.map((k) => [k, ...r.rows.map((x) => (x.daemonSets[k] ? `${x.daemonSets[k].minReady} / ${x.daemonSets[k].msAtZero}` : "-"))])]));
  }
  out.push("");
  out.push(`Pictures (one time axis, 0-${secs(r.axisEndMs)}): ${r.rows.map((x) => x.picture).join(", ")}`);
  return out.join("\n");
}

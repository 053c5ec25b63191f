/**
 * `npm run fleet -- status|promote|check|wave` — a fleet of stacks promoted wave by wave (fleet.yaml,
 * fleetPlan.ts).
 *
 *   status [--json]               per stack and role: the version in its file, what it verified,
 *                                 converged or why not, when it rotated, the soak left; the next command
 *   promote --wave N [--dry-run]  write every stack of wave N from what every stack of wave N-1
 *                                 verified (promotion.ts: converged, one version per role, soak over)
 *   check --wave N                the same checks without writing (CI's soak check before wave N's up)
 *   wave --wave N                 the wave's stacks, maxParallel, GitHub environment and the previous
 *                                 wave's stacks, as JSON (CI's matrix)
 *
 * States come from `pulumi stack export --stack S` (run in --dir), or from `--state-dir D` holding
 * `D/<stack>.json` files written by that command (offline, CI).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { CliIo, processIo, RefusedError, runCommand } from "./cliSupport";
import { FLEET_FILE, FleetPlan, formatDuration, loadFleetPlan, Wave } from "./fleetPlan";
import { promoteStacks, PromotionResult } from "./promotion";
import { readStateFile, readStateWithPulumi } from "./promote";
import { utcDate, validateFile } from "./rotatePool";
import { StackFile, StackFileError, stackFilePath } from "./stackFile";
import { SourceState } from "./stackState";

/** One role of one stack, as `status` reports it. */
export interface RoleStatus {
  role: string;
  /** Version in `Pulumi.<stack>.yaml`. */
  version: string;
  /** What the stack's `verifiedVersions` output says (undefined: none). */
  verified?: string;
}

/** One stack, as `status` reports it. */
export interface StackStatus {
  stack: string;
  wave: string;
  roles: RoleStatus[];
  /** `cluster.controlPlaneVersion` of the file, and what the stack reports running. */
  controlPlane: { version: string; verified?: string; managed: boolean };
  /** Could the state be read? (undefined = yes) */
  stateError?: string;
  converged: boolean;
  /** Why not converged, or why its versions are not proven yet. */
  reasons: string[];
  /** When its last rotation's resources were written (stackState.ts `rotatedAt`). */
  rotatedAt?: string;
  /** When its wave's soak ends for this stack, and how long is left (0 when over). */
  soakEndsAt?: string;
  soakLeftMs?: number;
}

/** What `status` prints (and `--json` emits). */
export interface FleetStatus {
  plan: string;
  now: string;
  waves: { name: string; index: number; soak: string; maxParallel: number; stacks: StackStatus[] }[];
  /** The next thing to do, as a command (or a sentence when there is nothing to do). */
  next: string;
}

/** Read the state of every stack; a failure is kept per stack. */
function readAll(plan: FleetPlan, readState: (stack: string) => SourceState): Map<string, SourceState | Error> {
  const out = new Map<string, SourceState | Error>();
  for (const w of plan.waves) {
    for (const s of w.stacks) {
      try {
        out.set(s, readState(s));
      } catch (e) {
        out.set(s, e as Error);
      }
    }
  }
  return out;
}

/** The status of every stack of `plan`, and the next command. */
export function fleetStatus(plan: FleetPlan, dir: string, readState: (stack: string) => SourceState, now: Date): FleetStatus {
  const states = readAll(plan, readState);
  const waves = plan.waves.map((w) => ({
    name: w.name,
    index: w.index,
    soak: w.soak,
    maxParallel: w.maxParallel,
    stacks: w.stacks.map((stack) => stackStatus(stack, w, dir, states.get(stack)!, now)),
  }));
  return { plan: plan.file, now: now.toISOString(), waves, next: nextStep(plan, waves.map((w) => w.stacks), now) };
}

function stackStatus(stack: string, wave: Wave, dir: string, state: SourceState | Error, now: Date): StackStatus {
  const cfg = validateFile(StackFile.load(stackFilePath(dir, stack)), stack, "is invalid (fix it first)");
  const controlPlane = { version: cfg.cluster.controlPlaneVersion, managed: cfg.cluster.create } as StackStatus["controlPlane"];
  const base = { stack, wave: wave.name, controlPlane };
  if (state instanceof Error) {
    return { ...base, roles: cfg.pools.map((p) => ({ role: p.role, version: p.version })), stateError: state.message, converged: false, reasons: [] };
  }
  const verified = state.verifiedVersions && typeof state.verifiedVersions === "object" ? (state.verifiedVersions as Record<string, unknown>) : {};
  const roles = cfg.pools.map((p) => ({ role: p.role, version: p.version, verified: typeof verified[p.role] === "string" ? (verified[p.role] as string) : undefined }));
  if (typeof state.verifiedControlPlane === "string") controlPlane.verified = state.verifiedControlPlane;
  const reasons = [...state.unconverged];
  if (state.verifiedVersions === undefined) reasons.push(`no verifiedVersions output: pulumi up -s ${stack} with this program`);
  for (const r of roles) if (state.verifiedVersions !== undefined && r.verified !== r.version) reasons.push(`pool "${r.role}": file has ${r.version}, verified ${r.verified ?? "none"}: pulumi up -s ${stack}`);
  if (controlPlane.managed && controlPlane.verified !== undefined && controlPlane.verified !== controlPlane.version) {
    reasons.push(`control plane: file has ${controlPlane.version}, runs ${controlPlane.verified}: pulumi up -s ${stack}`);
  }
  const rotatedAt = state.rotatedAt;
  const ends = rotatedAt ? new Date(rotatedAt.getTime() + wave.soakMs) : undefined;
  return {
    ...base,
    roles,
    converged: state.unconverged.length === 0,
    reasons,
    rotatedAt: rotatedAt?.toISOString(),
    soakEndsAt: ends?.toISOString(),
    soakLeftMs: ends ? Math.max(0, ends.getTime() - now.getTime()) : undefined,
  };
}

/**
 * The first thing standing between the fleet and every wave running the first wave's versions: an
 * unreadable state or an unconverged stack anywhere (a failed drain comes first), then wave by wave
 * a stack not running its file, a promotion to write, or a soak to wait for.
 */
function nextStep(plan: FleetPlan, waves: StackStatus[][], now: Date): string {
  const all = waves.flat();
  const unread = all.filter((s) => s.stateError);
  if (unread.length) return `read the state of ${unread.map((s) => s.stack).join(", ")} (pulumi login, or --state-dir with pulumi stack export files): ${unread[0].stateError}`;
  const stuck = all.filter((s) => !s.converged);
  if (stuck.length) return `${stuck.map((s) => `pulumi up -s ${s.stack}`).join("; ")} (not converged: ${stuck.map((s) => `${s.stack}: ${s.reasons[0]}`).join("; ")})`;
  for (let i = 0; i < plan.waves.length; i++) {
    const stacks = waves[i];
    const behind = stacks.filter((s) => s.reasons.length > 0);
    if (behind.length) {
      return `${behind.map((s) => `pulumi up -s ${s.stack}`).join("; ")} (wave "${plan.waves[i].name}": ${behind.map((s) => `${s.stack}: ${s.reasons[0]}`).join("; ")})`;
    }
    const next = waves[i + 1];
    if (!next) return `nothing to do: every wave runs what it verified`;
    const verified = (s: StackStatus, role: string) => s.roles.find((r) => r.role === role)?.verified;
    const differs = next.some((t) =>
      t.roles.some((r) => stacks.some((s) => verified(s, r.role) !== undefined && verified(s, r.role) !== r.version)) ||
      (t.controlPlane.managed && stacks.some((s) => s.controlPlane.verified !== undefined && s.controlPlane.verified !== t.controlPlane.version)),
    );
    if (!differs) continue;
    const ends = stacks.map((s) => s.soakEndsAt).filter((x): x is string => !!x).sort().pop();
    if (ends && Date.parse(ends) > now.getTime()) {
      return `wait for the soak of wave "${plan.waves[i].name}" (${plan.waves[i].soak}): it ends at ${ends} (in ${formatDuration(Date.parse(ends) - now.getTime())}); then npm run fleet -- promote --wave ${i + 1}`;
    }
    return `npm run fleet -- promote --wave ${i + 1}`;
  }
  return `nothing to do`;
}

/** Human lines of a status. */
export function formatStatus(st: FleetStatus): string[] {
  const lines: string[] = [];
  for (const w of st.waves) {
    lines.push(`wave ${w.index} "${w.name}" (soak ${w.soak}, maxParallel ${w.maxParallel})`);
    for (const s of w.stacks) {
      if (s.stateError) {
        lines.push(`  ${s.stack}: state unreadable: ${s.stateError}`);
        continue;
      }
      const soak = s.soakLeftMs === undefined ? "no timestamps" : s.soakLeftMs > 0 ? `soak left ${formatDuration(s.soakLeftMs)} (ends ${s.soakEndsAt})` : "soaked";
      lines.push(`  ${s.stack}: ${s.converged ? "converged" : "NOT converged"}; rotated ${s.rotatedAt ?? "?"}; ${soak}`);
      const cp = s.controlPlane;
      lines.push(`    control plane  ${cp.version}  runs ${cp.verified ?? "?"}${cp.managed ? "" : " (adopted cluster: not managed here)"}`);
      for (const r of s.roles) lines.push(`    ${r.role.padEnd(14)} ${r.version}  verified ${r.verified ?? "none"}${r.verified === r.version ? "" : "  <- not rotated yet"}`);
      for (const why of s.reasons) lines.push(`    ! ${why}`);
    }
  }
  lines.push(`next: ${st.next}`);
  return lines;
}

/** Options shared by promote and check. */
export interface WaveOptions {
  plan: FleetPlan;
  wave: number;
  dir: string;
  readState: (stack: string) => SourceState;
  now: Date;
  date?: string;
  dryRun?: boolean;
}

/** The wave `n` of `plan`, with a clear error for a bad `--wave`. */
export function waveAt(plan: FleetPlan, n: number, what = "--wave"): Wave {
  if (!Number.isInteger(n) || n < 0 || n >= plan.waves.length) {
    throw new StackFileError(`${what} ${n}: ${FLEET_FILE} has waves 0..${plan.waves.length - 1} (${plan.waves.map((w) => `${w.index} "${w.name}"`).join(", ")})`);
  }
  return plan.waves[n];
}

/** Promote wave N from wave N-1 (or, with `checkOnly`, only judge wave N-1). */
export function promoteWave(o: WaveOptions & { checkOnly?: boolean }): PromotionResult {
  const target = waveAt(o.plan, o.wave);
  if (target.index === 0) throw new StackFileError(`--wave 0: the first wave ("${target.name}") takes no versions from another; bump its stacks with npm run bump`);
  const source = o.plan.waves[target.index - 1];
  return promoteStacks({
    sources: source.stacks,
    targets: target.stacks,
    soakMs: source.soakMs,
    soakLabel: `${source.soak} (wave "${source.name}")`,
    date: o.date ?? utcDate(o.now),
    dir: o.dir,
    dryRun: o.dryRun || o.checkOnly,
    readState: o.readState,
    now: o.now,
    alwaysCheck: o.checkOnly,
    refusalHint: `(wave "${target.name}" takes its versions from every stack of wave "${source.name}"; npm run fleet -- status shows each one)`,
  });
}

/** A state reader from --state-dir (`<dir>/<stack>.json`) or the Pulumi CLI. */
function stateReader(stateDir: string | undefined, dir: string): (stack: string) => SourceState {
  if (!stateDir) return readStateWithPulumi(dir);
  return (stack) => {
    const file = path.join(stateDir, `${stack}.json`);
    if (!fs.existsSync(file)) throw new RefusedError(`--state-dir: no ${stack}.json in ${stateDir} (write it with pulumi stack export --stack ${stack} --file ${file})`);
    return readStateFile(file, file)(stack);
  };
}

const waveNumber = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("a wave number from 0, as in fleet.yaml's order");
  return Number(v);
};

/** The commander program for `npm run fleet`. */
export function fleetCommand(io: CliIo): Command {
  const program = new Command("fleet").description("A fleet of stacks promoted wave by wave (fleet.yaml)");
  const common = (c: Command) =>
    c
      .option("--dir <path>", "directory holding fleet.yaml and the stack files", ".")
      .option("--state-dir <path>", "read <stack>.json files (pulumi stack export output) from here instead of running pulumi stack export");
  const setup = (o: { dir: string; stateDir?: string }) => {
    const dir = path.resolve(io.cwd, o.dir);
    const plan = loadFleetPlan(path.join(dir, FLEET_FILE));
    return { dir, plan, readState: stateReader(o.stateDir && path.resolve(io.cwd, o.stateDir), dir) };
  };
  common(program.command("status").description("per stack and role: version, verified, converged, soak left; and the next command"))
    .option("--json", "print the status as JSON")
    .action((o: { dir: string; stateDir?: string; json?: boolean }) => {
      const { dir, plan, readState } = setup(o);
      const st = fleetStatus(plan, dir, readState, io.now());
      if (o.json) io.out(JSON.stringify(st, null, 2));
      else for (const l of formatStatus(st)) io.out(l);
    });
  common(program.command("promote").description("write every stack of wave N from what every stack of wave N-1 verified"))
    .requiredOption("--wave <n>", "the wave to write (1 or later)", waveNumber)
    .option("--date <YYYY-MM-DD>", "rotation day for promoted pools (default: today, UTC)")
    .option("--dry-run", "print the diffs; write nothing")
    .action((o: { dir: string; stateDir?: string; wave: number; date?: string; dryRun?: boolean }) => {
      const { dir, plan, readState } = setup(o);
      const r = promoteWave({ plan, wave: o.wave, dir, readState, now: io.now(), date: o.date, dryRun: o.dryRun });
      printPromotion(io, r, o.dryRun);
    });
  common(program.command("check").description("refuse (exit 1) unless wave N-1 is converged, verified, on one version per role and soaked; writes nothing"))
    .requiredOption("--wave <n>", "the wave about to be updated (1 or later)", waveNumber)
    .action((o: { dir: string; stateDir?: string; wave: number }) => {
      const { dir, plan, readState } = setup(o);
      const r = promoteWave({ plan, wave: o.wave, dir, readState, now: io.now(), checkOnly: true });
      const pending = r.targets.filter((t) => t.diff !== "").map((t) => t.stack);
      if (pending.length > 0) {
        throw new RefusedError(`wave ${o.wave}: ${pending.join(", ")} do not run wave ${o.wave - 1}'s verified versions yet — npm run fleet -- promote --wave ${o.wave}, review, merge, then update`);
      }
      io.out(`wave ${o.wave} may be updated: wave ${o.wave - 1} converged on ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", ")}${r.controlPlane ? `, control plane ${r.controlPlane}` : ""}${r.soakEndedAt ? `; soak ended ${r.soakEndedAt.toISOString()}` : ""}`);
    });
  program
    .command("wave")
    .description("the stacks of wave N, its maxParallel and GitHub environment, as JSON (for the workflow's matrix)")
    .requiredOption("--wave <n>", "the wave", waveNumber)
    .option("--dir <path>", "directory holding fleet.yaml and the stack files", ".")
    .action((o: { dir: string; wave: number }) => {
      const plan = loadFleetPlan(path.join(path.resolve(io.cwd, o.dir), FLEET_FILE));
      const w = waveAt(plan, o.wave);
      const previous = w.index > 0 ? plan.waves[w.index - 1].stacks : [];
      io.out(JSON.stringify({ index: w.index, name: w.name, stacks: w.stacks, maxParallel: w.maxParallel, environment: `fleet-${w.name}`, soak: w.soak, previous, last: w.index === plan.waves.length - 1 }));
    });
  return program;
}

function printPromotion(io: CliIo, r: PromotionResult, dryRun?: boolean): void {
  for (const p of r.forced) io.err(`warning (--force): ${p}`);
  if (r.soakWaived) io.err(`note: a rollback (every pool that changes goes down): the previous wave's soak is not waited for`);
  for (const t of r.targets) {
    for (const role of t.skipped) io.err(`note: ${t.stack}: pool "${role}" is in no stack of the previous wave; not promoted`);
    if (t.diff === "") {
      io.err(`${t.stack}: already runs the previous wave's versions`);
      continue;
    }
    io.out(t.diff.trimEnd());
    if (t.controlPlane?.changed) io.out(`${t.stack}: control plane ${t.controlPlane.oldVersion} -> ${t.controlPlane.newVersion}`);
    for (const p of t.promoted) io.out(`${t.stack}: ${p.role}: ${p.oldVersion} -> ${p.newVersion}: ${p.oldName} -> ${p.newName}`);
  }
  const written = r.targets.filter((t) => t.written).map((t) => t.stack);
  if (dryRun) io.err(`dry run: nothing written`);
  else if (written.length) io.err(`wrote ${written.map((s) => `Pulumi.${s}.yaml`).join(", ")}; review, commit, and update the wave (pulumi up -s each, or the fleet workflow)`);
}

/** Run the fleet CLI with `argv` (user arguments); returns the exit code. */
export function main(argv: string[], io: CliIo = processIo): Promise<number> {
  return runCommand(fleetCommand(io), argv, io);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

/**
 * The wave plan of a fleet (`fleet.yaml` next to `Pulumi.yaml`): ordered waves, each a set of
 * stacks rotated together, a soak time that must pass after the last of them finished its rotation
 * before the next wave may take their versions, and an optional cap on how many of the wave's
 * stacks the workflow updates at once.
 *
 * ```yaml
 * waves:
 *   - name: staging
 *     stacks: [staging]
 *     soak: 24h
 *   - name: prod
 *     stacks: [prod, prod-osaka]
 *     maxParallel: 2
 * ```
 *
 * A plan is validated as a whole before anything uses it, and every problem names its line
 * (`fleet.yaml:7: ...`): unknown keys, a stack without a `Pulumi.<stack>.yaml`, a stack in two waves,
 * a soak that is not a duration (or longer than 30 days, the longest soak GKE's own rollout
 * sequencing allows), and a wave before its source: a stack whose
 * `nodepool-rotation:promotion.requireVerifiedIn` names a stack that is not in an earlier wave.
 * Line numbers come from the `yaml` package's node ranges (LineCounter).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, Node, parseDocument, Scalar, YAMLMap } from "yaml";
import { PROJECT, StackFile, StackFileError } from "./stackFile";

/** File name of the plan, in the project directory. */
export const FLEET_FILE = "fleet.yaml";

/** Longest soak accepted: GKE rollout sequencing's maximum soak between stages (30 days). */
export const MAX_SOAK_MS = 30 * 24 * 3600_000;

/** One wave of the plan. */
export interface Wave {
  /** Position in the plan, from 0. */
  index: number;
  /** `name:` or `wave <index>`. */
  name: string;
  /** Stacks of the wave, in file order. */
  stacks: string[];
  /** Soak after this wave, as written (`24h`), and in ms (0 when not given). */
  soak: string;
  soakMs: number;
  /** Stacks updated at once by the fleet workflow (default: all of the wave). */
  maxParallel: number;
  /** 1-based line of the wave's entry. */
  line: number;
}

/** A validated wave plan. */
export interface FleetPlan {
  /** Absolute path of the plan file. */
  file: string;
  waves: Wave[];
}

/** A bad plan: the message lists every problem with its line. */
export class FleetPlanError extends StackFileError {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file} is not a valid wave plan:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "FleetPlanError";
  }
}

const STACK_NAME = /^[A-Za-z0-9_.-]+$/;
const WAVE_KEYS = ["name", "stacks", "soak", "maxParallel"];
const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** `1d12h`, `24h`, `90m`, `30s`, `0` → ms; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === "") return undefined;
  return ["d", "h", "m", "s"].reduce((sum, u, i) => sum + Number(m[i + 1] ?? 0) * UNITS[u], 0);
}

/** ms → `1d 2h 3m` (seconds only below a minute); for "soak left" lines. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.ceil(ms / 1000))}s`;
  const parts: string[] = [];
  let left = Math.ceil(ms / 60_000) * 60_000;
  for (const u of ["d", "h", "m"]) {
    const n = Math.floor(left / UNITS[u]);
    if (n > 0) parts.push(`${n}${u}`);
    left -= n * UNITS[u];
  }
  return parts.join(" ");
}

/** The plan file of the project in `dir`, or undefined when there is none (a fleet of one stack per environment). */
export function findFleetPlan(dir: string): string | undefined {
  const file = path.join(dir, FLEET_FILE);
  return fs.existsSync(file) ? file : undefined;
}

/** Read and validate `file`; stack files are looked up next to it. Throws `FleetPlanError`. */
export function loadFleetPlan(file: string): FleetPlan {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new FleetPlanError(file, [`cannot read it: ${(e as Error).message}`]);
  }
  return parseFleetPlan(text, file, (stack) => {
    const f = path.join(path.dirname(file), `Pulumi.${stack}.yaml`);
    return fs.existsSync(f) ? StackFile.load(f) : undefined;
  });
}

/**
 * Validate plan `text` (from `file`, for messages). `stackFile(stack)` returns the stack's settings
 * file, or undefined when the stack has none (then the stack is unknown).
 */
export function parseFleetPlan(text: string, file: string, stackFile: (stack: string) => StackFile | undefined): FleetPlan {
  const name = path.basename(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (node: Node | null | undefined): string => `${name}:${node?.range ? lines.linePos(node.range[0]).line : 1}`;
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lines.linePos(node.range[0]).line : 1);
  if (doc.errors.length > 0) {
    throw new FleetPlanError(file, doc.errors.map((e) => `${name}:${e.linePos?.[0].line ?? 1}: not valid YAML: ${e.message.split("\n")[0]}`));
  }
  const problems: string[] = [];
  const root = doc.contents;
  if (!isMap(root)) throw new FleetPlanError(file, [`${at(root)}: expected a map with "waves:" (a list of { name, stacks, soak, maxParallel })`]);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "?";
    if (key !== "waves") problems.push(`${at(pair.key as Node)}: unknown key "${key}" — the plan has one key, waves`);
  }
  const wavesNode = root.get("waves", true);
  if (!isSeq(wavesNode) || wavesNode.items.length === 0) {
    problems.push(`${at((wavesNode as Node) ?? root)}: "waves" must be a non-empty list of { name, stacks, soak, maxParallel }`);
    throw new FleetPlanError(file, problems);
  }

  const waves: Wave[] = [];
  const seen = new Map<string, { wave: number; line: number }>(); // stack -> where it was first listed
  wavesNode.items.forEach((item, index) => {
    if (!isMap(item)) {
      problems.push(`${at(item as Node)}: wave ${index} must be a map { name, stacks, soak, maxParallel }`);
      return;
    }
    const waveMap = item as YAMLMap;
    for (const pair of waveMap.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      if (!WAVE_KEYS.includes(key)) problems.push(`${at(pair.key as Node)}: unknown key "${key}" in wave ${index} — use ${WAVE_KEYS.join(", ")}`);
    }
    const nameNode = waveMap.get("name", true) as Scalar | undefined;
    const waveName = nameNode === undefined ? `wave ${index}` : String(nameNode.value);
    if (nameNode !== undefined && (!isScalar(nameNode) || typeof nameNode.value !== "string" || !/^[a-z][a-z0-9-]{0,39}$/.test(nameNode.value))) {
      problems.push(`${at(nameNode)}: wave name ${JSON.stringify(nameNode.toJSON?.() ?? nameNode)} must be lowercase letters, digits and dashes (it names the GitHub environment fleet-<name>), e.g. canary`);
    } else if (waves.some((w) => w.name === waveName)) {
      problems.push(`${at(nameNode)}: wave name "${waveName}" is used twice — give each wave its own name`);
    }

    const stacksNode = waveMap.get("stacks", true);
    const stacks: string[] = [];
    if (!isSeq(stacksNode) || stacksNode.items.length === 0) {
      problems.push(`${at((stacksNode as Node) ?? waveMap)}: wave "${waveName}" needs "stacks": a non-empty list of stack names, e.g. [prod-tokyo, prod-osaka]`);
    } else {
      for (const s of stacksNode.items) {
        const v = isScalar(s) ? s.value : undefined;
        if (typeof v !== "string" || !STACK_NAME.test(v)) {
          problems.push(`${at(s as Node)}: ${JSON.stringify(isScalar(s) ? s.value : "?")} is not a stack name (letters, digits, "-", "_", ".")`);
          continue;
        }
        const first = seen.get(v);
        if (first) {
          problems.push(`${at(s as Node)}: stack "${v}" is already in wave ${first.wave} (line ${first.line}) — a stack belongs to one wave`);
          continue;
        }
        seen.set(v, { wave: index, line: lineOf(s as Node) });
        stacks.push(v);
      }
    }

    const soakNode = waveMap.get("soak", true) as Scalar | undefined;
    let soak = "0";
    let soakMs = 0;
    if (soakNode !== undefined) {
      const raw = isScalar(soakNode) ? String(soakNode.value) : "";
      const ms = parseDuration(raw);
      if (ms === undefined) problems.push(`${at(soakNode)}: soak ${JSON.stringify(raw)} is not a duration — write e.g. 24h, 90m, 1d12h or 0`);
      else if (ms > MAX_SOAK_MS) problems.push(`${at(soakNode)}: soak ${raw} is longer than 30d (the longest soak GKE rollout sequencing allows) — shorten it`);
      else [soak, soakMs] = [raw, ms];
    }

    const mpNode = waveMap.get("maxParallel", true) as Scalar | undefined;
    let maxParallel = Math.max(stacks.length, 1);
    if (mpNode !== undefined) {
      const v = isScalar(mpNode) ? mpNode.value : undefined;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 256) {
        problems.push(`${at(mpNode)}: maxParallel ${JSON.stringify(v ?? "?")} must be an integer 1..256 (GitHub's max-parallel) — or remove it to update the whole wave at once`);
      } else maxParallel = v;
    }
    waves.push({ index, name: waveName, stacks, soak, soakMs, maxParallel, line: lineOf(waveMap) });
  });

  // Unknown stacks and a wave before its source (the stack file's own gate).
  for (const [stack, where] of seen) {
    const sf = stackFile(stack);
    if (!sf) {
      problems.push(`${name}:${where.line}: unknown stack "${stack}": no Pulumi.${stack}.yaml next to ${name} — add the stack file (copy a sibling, e.g. Pulumi.prod.yaml) or remove it from the plan`);
      continue;
    }
    let source: unknown;
    try {
      source = (sf.config()[`${PROJECT}:promotion`] as { requireVerifiedIn?: unknown } | undefined)?.requireVerifiedIn;
    } catch (e) {
      problems.push(`${name}:${where.line}: stack "${stack}": ${(e as Error).message}`);
      continue;
    }
    if (typeof source !== "string") continue;
    const src = seen.get(source);
    if (!src) {
      problems.push(`${name}:${where.line}: stack "${stack}" takes its versions from "${source}" (${PROJECT}:promotion.requireVerifiedIn in Pulumi.${stack}.yaml), which is in no wave — add "${source}" to an earlier wave`);
    } else if (src.wave >= where.wave) {
      problems.push(
        `${name}:${where.line}: stack "${stack}" is in wave ${where.wave}, but its source "${source}" (${PROJECT}:promotion.requireVerifiedIn) is in wave ${src.wave} (line ${src.line}) — ` +
          `a wave cannot come before its source: move "${source}" to an earlier wave`,
      );
    }
  }
  if (problems.length > 0) throw new FleetPlanError(file, problems);
  return { file, waves };
}

/** The wave holding `stack`, if any. */
export function waveOf(plan: FleetPlan, stack: string): Wave | undefined {
  return plan.waves.find((w) => w.stacks.includes(stack));
}

/** Every stack of the plan, wave by wave. */
export function planStacks(plan: FleetPlan): string[] {
  return plan.waves.flatMap((w) => w.stacks);
}

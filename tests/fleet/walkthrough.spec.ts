/**
 * The README's "A version bump, step by step", line by line, on a scratch copy of the repository's
 * stack files and wave plan. The bump/promote/fleet lines run the real CLIs (in-process, cwd = the
 * copy); `pulumi` is the one thing not here, so:
 *  - `pulumi preview|up -s S` are played by the spec: the program's own config validation and its
 *    promotion gate (gateRuleFor + gateProblems, as index.ts runs them) on the sources' recorded
 *    outputs; an `up` then records S's state as `pulumi stack export` writes it (verifiedVersions and
 *    verifiedControlPlane outputs, resource timestamps = the spec's clock);
 *  - `pulumi stack export --stack S`, which the fleet/promote CLIs run themselves, is a stand-in
 *    `pulumi` on PATH printing that recorded state.
 * A line the spec does not know how to run fails it: the README cannot gain an untested command.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { StackConfig, validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { main as bumpMain } from "../../components/promotion/bump";
import { main as fleetMain } from "../../components/promotion/fleet";
import { gateProblems, gateRuleFor, SourceOutputs } from "../../components/promotion/gate";
import { main as promoteMain } from "../../components/promotion/promote";
import { stagingExport } from "../promotion/fixtures/stackExport";
import { REPO, runCli } from "../promotion/helpers";

/** The bash block of the README section `title`, as lines. */
function readmeBlock(title: string): string[] {
  const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
  const at = readme.indexOf(`## ${title}\n`);
  assert.ok(at >= 0, `README has "## ${title}"`);
  const m = /```bash\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, "a bash block in the section");
  return m[1].split("\n").filter((l) => l.trim() !== "");
}

/** Shell-like split of one command (the README quotes nothing it needs). */
const words = (cmd: string) => cmd.trim().split(/\s+/);

describe("fleet/walkthrough: the README's version bump works as written", () => {
  let dir: string;
  let savedPath: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "walkthrough-"));
    for (const f of fs.readdirSync(REPO)) if (/^(Pulumi(\.[^.]+)?\.yaml|fleet\.yaml)$/.test(f)) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
    fs.mkdirSync(path.join(dir, "states"));
    savedPath = process.env.PATH;
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    // `pulumi stack export --stack S` (what promote/fleet run): the state the spec recorded for S.
    fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\n[ "$1 $2 $3" = "stack export --stack" ] || { echo "unexpected: pulumi $*" >&2; exit 2; }\ncat "${dir}/states/$4.json" 2>/dev/null || { echo "error: no stack named '$4' found" >&2; exit 255; }\n`, { mode: 0o755 });
    process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
  });
  afterEach(() => {
    process.env.PATH = savedPath;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every line runs, the control plane and versions reach both production stacks, and their gates pass", async () => {
    let now = new Date("2026-12-07T09:00:00Z");
    const outputs = new Map<string, SourceOutputs>();
    const config = (stack: string): StackConfig => validateStackConfig(parse(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")).config, { stack });
    const log: string[] = [];

    /** `pulumi preview|up -s S` as far as it concerns promotion: config valid, gate passes; `up` records the state. */
    const pulumi = (args: string[], gate = true) => {
      const [cmd, flag, stack] = args;
      assert.ok((cmd === "preview" || cmd === "up") && flag === "-s" && stack && args.length === 3, `unsupported pulumi line: pulumi ${args.join(" ")}`);
      const cfg = config(stack);
      const rule = gateRuleFor(cfg, stack, dir);
      if (rule && gate) {
        const sources = rule.sources.map((s) => outputs.get(s) ?? { stack: s, verifiedVersions: undefined });
        const problems = gateProblems({ stack, pools: cfg.pools, controlPlane: cfg.cluster.create ? cfg.cluster.controlPlaneVersion : undefined }, rule, sources, now);
        assert.deepEqual(problems, [], `the promotion gate of ${stack} refused at pulumi ${cmd}`);
      }
      if (cmd === "preview") return;
      const verifiedVersions = Object.fromEntries(cfg.pools.map((p) => [p.role, p.version]));
      outputs.set(stack, { stack, verifiedVersions, verifiedControlPlane: cfg.cluster.controlPlaneVersion, verifiedAt: now.toISOString() });
      const pools = cfg.pools.map((p) => ({ role: p.role, name: poolName(p, cfg.environment), version: p.version }));
      const exp = stagingExport({ stack, pools, verifiedControlPlane: cfg.cluster.controlPlaneVersion, stamp: { created: now.toISOString(), modified: now.toISOString() } });
      fs.writeFileSync(path.join(dir, "states", `${stack}.json`), JSON.stringify(exp));
    };

    // Before the walkthrough: every stack runs what its file says (prod still on the version it was
    // promoted to weeks ago, when staging had verified it), recorded as the last ups left it.
    now = new Date("2026-11-30T09:00:00Z");
    for (const s of ["staging", "prod", "prod-osaka"]) pulumi(["up", "-s", s], false);
    now = new Date("2026-12-07T09:00:00Z");

    const clis: Record<string, (argv: string[], io: any) => Promise<number>> = { bump: bumpMain, promote: promoteMain, fleet: fleetMain };
    for (const line of readmeBlock("A version bump, step by step")) {
      if (line.trim().startsWith("#")) {
        // "# the next day, once staging has soaked 24h:" — the clock moves past the soak.
        if (/next day/.test(line)) now = new Date(now.getTime() + 24 * 3600_000 + 60_000);
        continue;
      }
      const command = line.replace(/\s+#.*$/, "");
      for (const part of command.split("&&")) {
        const w = words(part);
        if (w[0] === "pulumi") {
          pulumi(w.slice(1));
          log.push(`pulumi ${w.slice(1).join(" ")}: ok`);
          continue;
        }
        assert.ok(w[0] === "npm" && w[1] === "run" && clis[w[2]] && w[3] === "--", `unsupported README line: ${part.trim()}`);
        const r = await runCli(clis[w[2]], w.slice(4), { cwd: dir, now: now.toISOString() });
        assert.equal(r.code, 0, `${part.trim()}\n${r.out}\n${r.err}`);
        log.push(`${part.trim()}: ${r.out.split("\n").pop()}`);
      }
    }

    const staging = config("staging");
    assert.equal(staging.cluster.controlPlaneVersion, "1.35.3-gke.1100000");
    for (const s of ["prod", "prod-osaka"]) {
      const cfg = config(s);
      assert.equal(cfg.cluster.controlPlaneVersion, "1.35.3-gke.1100000", `${s}: the control plane staging verified`);
      assert.deepEqual(Object.fromEntries(cfg.pools.map((p) => [p.role, p.version])), outputs.get("staging")!.verifiedVersions, `${s}: staging's verified versions`);
      assert.deepEqual(outputs.get(s)!.verifiedVersions, outputs.get("staging")!.verifiedVersions, `${s} was updated`);
    }
    assert.ok(log.some((l) => l.startsWith("pulumi up -s prod-osaka: ok")), log.join("\n"));
  });

  it("the gate is what makes the order matter: promoted before the soak, or a control plane staging does not run, prod's preview refuses (a rollback does not wait)", () => {
    const cfg = validateStackConfig(parse(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8")).config, { stack: "prod" });
    const rule = gateRuleFor(cfg, "prod", dir)!;
    assert.deepEqual(rule.sources, ["staging"]);
    const now = new Date("2026-12-07T09:00:00Z");
    const staging = { stack: "staging", verifiedVersions: Object.fromEntries(cfg.pools.map((p) => [p.role, p.version])), verifiedControlPlane: "1.35.3-gke.1100000", verifiedAt: "2026-12-07T08:00:00Z" };
    const problems = gateProblems({ stack: "prod", pools: cfg.pools, controlPlane: cfg.cluster.controlPlaneVersion }, rule, [staging], now);
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0], /the control plane is set to 1\.35\.2-gke\.1269000 .* but stack "staging" runs 1\.35\.3-gke\.1100000/);
    assert.match(problems[1], /soak not over: staging .* the 24h soak ends at 2026-12-08T08:00:00\.000Z \(in 23h\)/);
    // A rollback does not wait for the soak: prod's pools run a newer (bad) build than the file's.
    const running = Object.fromEntries(cfg.pools.map((p) => [p.role, "1.35.2-gke.1300000"]));
    const rollback = gateProblems({ stack: "prod", pools: cfg.pools, running }, rule, [{ ...staging, verifiedControlPlane: cfg.cluster.controlPlaneVersion }], now);
    assert.deepEqual(rollback, []);
    assert.equal(gateProblems({ stack: "prod", pools: cfg.pools, running: { ...running, batch: "1.34.0-gke.1000000" } }, rule, [staging], now).filter((p) => /soak/.test(p)).length, 1, "a mix of up and down waits");
  });
});

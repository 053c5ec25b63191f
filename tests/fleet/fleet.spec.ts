/**
 * `npm run fleet` on stack files in a temp dir: the wave plan is validated naming lines; `promote
 * --wave N` writes every stack of wave N only from what every stack of wave N-1 verified, after the
 * soak (measured from the exports' resource timestamps); `status` and `check` read the same exports.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { validateStackConfig } from "../../components/config";
import { main } from "../../components/promotion/fleet";
import { FleetPlanError, loadFleetPlan, parseDuration, parseFleetPlan } from "../../components/promotion/fleetPlan";
import { StackFile } from "../../components/promotion/stackFile";
import { ExportSpec, stagingExport } from "../promotion/fixtures/stackExport";
import { read, REPO, runCli, snapshot, tempStacks } from "../promotion/helpers";

const STAGING = "1.35.2-gke.1269000";
const PROD = "1.34.4-gke.1047000";
const T0 = "2026-12-01T08:00:00.000Z"; // when staging's rotation was written to its state
const at = (hours: number) => new Date(Date.parse(T0) + hours * 3600_000).toISOString();

const PLAN = `# test fleet
waves:
  - name: staging
    stacks: [staging]
    soak: 24h
  - name: canary
    stacks: [prod-canary]
    soak: 2h
  - name: prod
    stacks: [prod, prod-osaka]
    maxParallel: 1
`;

/** Temp copy of the repository's stack files plus a canary cluster and the plan above. */
function fleetDir(): string {
  const dir = tempStacks(REPO);
  const prod = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
  fs.writeFileSync(path.join(dir, "Pulumi.prod-canary.yaml"), prod.replace("name: game-prod\n", "name: game-prod-canary\n"));
  fs.writeFileSync(path.join(dir, "fleet.yaml"), PLAN);
  return dir;
}

/** The pools a converged stack `stack` has in state, from its file. */
function poolsOf(dir: string, stack: string, version?: string) {
  const cfg = validateStackConfig(parse(read(dir, stack)).config, { stack });
  return cfg.pools.map((p) => ({ role: p.role, name: `${p.role}-pool-${stack}`, version: version ?? p.version }));
}

describe("fleet: npm run fleet (wave plan, promote by wave, status, check)", () => {
  let dir: string;
  let states: string;
  /** Write `<stack>.json` = a `pulumi stack export` of `stack` as `spec` says, rotated at `when`. */
  const exportOf = (stack: string, when: string, spec: Partial<ExportSpec> = {}) =>
    fs.writeFileSync(path.join(states, `${stack}.json`), JSON.stringify(stagingExport({ stack, pools: poolsOf(dir, stack), stamp: { created: when, modified: when }, ...spec })));
  const fleet = (now: string, ...args: string[]) => runCli(main, [...args, "--state-dir", "states"], { cwd: dir, now });

  beforeEach(() => {
    dir = fleetDir();
    states = path.join(dir, "states");
    fs.mkdirSync(states);
    exportOf("staging", T0);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("the repository's fleet.yaml is valid: staging, then prod and prod-osaka in parallel", () => {
    const plan = loadFleetPlan(path.join(REPO, "fleet.yaml"));
    assert.deepEqual(plan.waves.map((w) => [w.name, w.stacks, w.soak, w.maxParallel]), [["staging", ["staging"], "24h", 1], ["prod", ["prod", "prod-osaka"], "0", 2]]);
  });

  it("bad plans are refused naming the line: unknown stack, a stack in two waves, a wave before its source, bad soak/keys/maxParallel", () => {
    const files = (stack: string) => (["staging", "prod", "prod-osaka"].includes(stack) ? StackFile.load(path.join(REPO, `Pulumi.${stack}.yaml`)) : undefined);
    const problems = (text: string) => {
      try {
        parseFleetPlan(text, "/x/fleet.yaml", files);
      } catch (e) {
        assert.ok(e instanceof FleetPlanError);
        return e.problems;
      }
      assert.fail("accepted");
    };
    assert.deepEqual(problems("waves:\n  - stacks: [staging]\n  - stacks: [prod, prod-kyoto]\n"), [
      `fleet.yaml:3: unknown stack "prod-kyoto": no Pulumi.prod-kyoto.yaml next to fleet.yaml — add the stack file (copy a sibling, e.g. Pulumi.prod.yaml) or remove it from the plan`,
    ]);
    assert.deepEqual(problems("waves:\n  - stacks: [staging]\n  - stacks:\n      - prod\n      - staging\n"), [
      `fleet.yaml:5: stack "staging" is already in wave 0 (line 2) — a stack belongs to one wave`,
    ]);
    assert.deepEqual(problems("waves:\n  - name: prod\n    stacks: [prod]\n  - name: staging\n    stacks: [staging]\n"), [
      `fleet.yaml:3: stack "prod" is in wave 0, but its source "staging" (nodepool-rotation:promotion.requireVerifiedIn) is in wave 1 (line 5) — a wave cannot come before its source: move "staging" to an earlier wave`,
    ]);
    assert.deepEqual(problems("waves:\n  - stacks: [prod]\n"), [
      `fleet.yaml:2: stack "prod" takes its versions from "staging" (nodepool-rotation:promotion.requireVerifiedIn in Pulumi.prod.yaml), which is in no wave — add "staging" to an earlier wave`,
    ]);
    assert.deepEqual(problems("waves:\n  - stacks: [staging]\n    soak: 1 day\n    parallel: 2\n  - stacks: [prod]\n    soak: 31d\n    maxParallel: 0\n"), [
      `fleet.yaml:4: unknown key "parallel" in wave 0 — use name, stacks, soak, maxParallel`,
      `fleet.yaml:3: soak "1 day" is not a duration — write e.g. 24h, 90m, 1d12h or 0`,
      `fleet.yaml:6: soak 31d is longer than 30d (the longest soak GKE rollout sequencing allows) — shorten it`,
      `fleet.yaml:7: maxParallel 0 must be an integer 1..256 (GitHub's max-parallel) — or remove it to update the whole wave at once`,
    ]);
    assert.match(problems("wave:\n  - stacks: [staging]\n").join("\n"), /fleet\.yaml:1: unknown key "wave" — the plan has one key, waves/);
    assert.deepEqual([parseDuration("1d12h"), parseDuration("90m"), parseDuration("0"), parseDuration("h")], [129_600_000, 5_400_000, 0, undefined]);
  });

  it("promote --wave 1: refused until staging's 24h soak has passed since its rotation (saying when it ends), then writes the canary", async () => {
    const before = snapshot(dir);
    const early = await fleet(at(1), "promote", "--wave", "1", "--date", "2026-12-02");
    assert.equal(early.code, 1);
    assert.ok(early.err.includes(`soak not over: staging (the last of staging) finished its rotation at ${T0}; the 24h (wave "staging") soak ends at ${at(24)} (in 23h) — promote again after that`), early.err);
    assert.deepEqual(snapshot(dir), before, "nothing written");

    const r = await fleet(at(25), "promote", "--wave", "1", "--date", "2026-12-02");
    assert.equal(r.code, 0, r.err);
    const canary = validateStackConfig(parse(read(dir, "prod-canary")).config, { stack: "prod-canary" });
    assert.deepEqual(canary.pools.map((p) => [p.role, p.version, p.rotatedOn]), [["app", STAGING, "2026-12-02"], ["batch", STAGING, "2026-12-02"]]);
    assert.match(r.out, /prod-canary: app: 1\.34\.4-gke\.1047000 -> 1\.35\.2-gke\.1269000: app-1-34-4-gke1047000-20261028-\w+ -> app-1-35-2-gke1269000-20261202-\w+/);
    assert.equal(read(dir, "prod"), before["Pulumi.prod.yaml"], "later waves untouched");
  });

  it("promote --wave 2: refused, naming the canary and why, while its drain failed (old pool pending delete); prod files not written", async () => {
    fs.writeFileSync(path.join(dir, "Pulumi.prod-canary.yaml"), read(dir, "prod-canary").replace(/version: 1\.34\.4-gke\.1047000/g, `version: ${STAGING}`));
    exportOf("prod-canary", at(30), { pendingDeletes: [{ role: "app", name: "app-1-34-4-gke1047000-20261028-0a1b2", version: PROD }] });
    const before = snapshot(dir);
    const r = await fleet(at(40), "promote", "--wave", "2");
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: not promoting to prod, prod-osaka:\n  - prod-canary has not converged: node pool app-1-34-4-gke1047000-20261028-0a1b2 \(app\) is pending deletion/);
    assert.match(r.err, /prod-canary has not converged: PoolDrainer of app-1-34-4-gke1047000-20261028-0a1b2 \(app-drainer\) is pending deletion \(its drain failed or was interrupted\)/);
    assert.match(r.err, /wave "prod" takes its versions from every stack of wave "canary"/);
    assert.deepEqual(snapshot(dir), before);

    // The canary's next up finished the drain: converged; its 2h soak counts from then.
    exportOf("prod-canary", at(41));
    const soon = await fleet(at(42), "promote", "--wave", "2");
    assert.match(soon.err, new RegExp(`the 2h \\(wave "canary"\\) soak ends at ${at(43).replace(/\./g, "\\.")} \\(in 1h\\)`));
    const ok = await fleet(at(43), "promote", "--wave", "2", "--date", "2026-12-03");
    assert.equal(ok.code, 0, ok.err);
    for (const s of ["prod", "prod-osaka"]) assert.deepEqual(validateStackConfig(parse(read(dir, s)).config, { stack: s }).pools.map((p) => p.version), [STAGING, STAGING]);
  });

  it("every stack of the previous wave must agree: one version per role, one control plane; the refusal names both stacks", async () => {
    fs.writeFileSync(path.join(dir, "fleet.yaml"), "waves:\n  - stacks: [staging, prod]\n  - stacks: [prod-osaka]\n");
    for (const s of ["prod", "prod-osaka"]) fs.writeFileSync(path.join(dir, `Pulumi.${s}.yaml`), read(dir, s).replace(/  nodepool-rotation:promotion:\n    requireVerifiedIn: staging\n/, ""));
    exportOf("prod", T0, { verifiedControlPlane: "1.35.3-gke.1100000" });
    const r = await fleet(at(1), "promote", "--wave", "1");
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(`pool "app": staging runs ${STAGING} but prod runs ${PROD} — a wave promotes one version per role: bring its stacks to one version first`), r.err);
    assert.ok(r.err.includes(`control plane: staging runs ${STAGING} but prod runs 1.35.3-gke.1100000 — a wave promotes one control-plane version`), r.err);
  });

  it("promote carries the control plane the previous wave runs (raised before the pools) where a stack creates its cluster", async () => {
    const NEXT = "1.35.3-gke.1100000";
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), read(dir, "staging").replace(`controlPlaneVersion: ${STAGING}`, `controlPlaneVersion: ${NEXT}`).replace(/version: 1\.35\.2-gke\.1269000/g, `version: ${NEXT}`));
    exportOf("staging", T0, { verifiedControlPlane: NEXT });
    const r = await fleet(at(25), "promote", "--wave", "1");
    assert.equal(r.code, 0, r.err);
    const canary = validateStackConfig(parse(read(dir, "prod-canary")).config, { stack: "prod-canary" });
    assert.equal(canary.cluster.controlPlaneVersion, NEXT);
    assert.deepEqual(canary.pools.map((p) => p.version), [NEXT, NEXT]);
    assert.match(r.out, /prod-canary: control plane 1\.35\.2-gke\.1269000 -> 1\.35\.3-gke\.1100000/);
  });

  it("a rollback (every changed pool goes down) does not wait for the soak; the CLI says so", async () => {
    // The canary ran a bad 1.35.3 build; staging rolled back to 1.35.2 and verified it an hour ago.
    const BAD = "1.35.3-gke.1100000";
    fs.writeFileSync(path.join(dir, "Pulumi.prod-canary.yaml"), read(dir, "prod-canary").replace("controlPlaneVersion: 1.35.2-gke.1269000", `controlPlaneVersion: ${BAD}`).replace(/version: 1\.34\.4-gke\.1047000/g, `version: ${BAD}`));
    exportOf("staging", at(0), { verifiedControlPlane: BAD });
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), read(dir, "staging").replace(`controlPlaneVersion: ${STAGING}`, `controlPlaneVersion: ${BAD}`));
    const r = await fleet(at(1), "promote", "--wave", "1", "--date", "2026-12-01");
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /note: a rollback \(every pool that changes goes down\): the previous wave's soak is not waited for/);
    assert.deepEqual(validateStackConfig(parse(read(dir, "prod-canary")).config, { stack: "prod-canary" }).pools.map((p) => p.version), [STAGING, STAGING]);
    // An upgrade from the same state still waits (the first test), and so does a mix of up and down.
  });

  it("status: per stack and role the version, what it verified, converged or why, soak left, and the next command (--json too)", async () => {
    exportOf("prod-canary", at(2), { verifiedVersions: { app: PROD, batch: PROD }, pendingDeletes: [{ role: "app", name: "app-old", version: "1.34.3-gke.1000000" }] });
    exportOf("prod", at(2));
    exportOf("prod-osaka", at(2));
    const r = await fleet(at(3), "status");
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.includes(`wave 0 "staging" (soak 24h, maxParallel 1)\n  staging: converged; rotated ${T0}; soak left 21h (ends ${at(24)})`), r.out);
    assert.ok(r.out.includes(`    app            ${STAGING}  verified ${STAGING}`), r.out);
    assert.ok(r.out.includes("  prod-canary: NOT converged;"), r.out);
    assert.match(r.out, /    ! node pool app-old \(app\) is pending deletion/);
    assert.match(r.out, /next: pulumi up -s prod-canary \(not converged: prod-canary: node pool app-old/);

    exportOf("prod-canary", at(2));
    const json = JSON.parse((await fleet(at(3), "status", "--json")).out);
    assert.equal(json.next, `wait for the soak of wave "staging" (24h): it ends at ${at(24)} (in 21h); then npm run fleet -- promote --wave 1`);
    assert.deepEqual(json.waves[2].stacks.map((s: any) => [s.stack, s.converged, s.soakLeftMs]), [["prod", true, 0], ["prod-osaka", true, 0]]);
    assert.equal(JSON.parse((await fleet(at(25), "status", "--json")).out).next, "npm run fleet -- promote --wave 1");
  });

  it("check --wave N (CI before an update) and wave --wave N (CI's matrix)", async () => {
    const notYet = await fleet(at(25), "check", "--wave", "1");
    assert.equal(notYet.code, 1);
    assert.match(notYet.err, /wave 1: prod-canary do not run wave 0's verified versions yet — npm run fleet -- promote --wave 1/);
    assert.equal((await fleet(at(25), "promote", "--wave", "1")).code, 0);
    const ok = await fleet(at(25), "check", "--wave", "1");
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /wave 1 may be updated: wave 0 converged on app 1\.35\.2-gke\.1269000, batch 1\.35\.2-gke\.1269000, control plane 1\.35\.2-gke\.1269000; soak ended/);
    // Even with the files written, the check re-reads the sources: a failed drain since then refuses.
    exportOf("staging", T0, { pendingDeletes: [{ role: "app", name: "app-x", version: PROD }] });
    assert.equal((await fleet(at(25), "check", "--wave", "1")).code, 1);

    const w = await runCli(main, ["wave", "--wave", "2"], { cwd: dir });
    assert.deepEqual(JSON.parse(w.out), { index: 2, name: "prod", stacks: ["prod", "prod-osaka"], maxParallel: 1, environment: "fleet-prod", soak: "0", previous: ["prod-canary"], last: true });
    const bad = await runCli(main, ["wave", "--wave", "3"], { cwd: dir });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--wave 3: fleet\.yaml has waves 0\.\.2 \(0 "staging", 1 "canary", 2 "prod"\)/);
  });
});

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { main as bumpMain } from "../../components/promotion/bump";
import { main } from "../../components/promotion/promote";
import { validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { HISTORY_KEY } from "../../components/promotion/stackFile";
import { read, runCli, snapshot, tempStacks } from "./helpers";

const NEW = "1.31.4-gke.1100";
const OLD = "1.30.5-gke.1014001";

function names(text: string, stack: string): Record<string, string> {
  const cfg = validateStackConfig(parse(text).config, { stack });
  return Object.fromEntries(cfg.pools.map((p) => [p.role, poolName(p, cfg.environment)]));
}

describe("promotion/promote: npm run promote", () => {
  let dir: string;
  const verified = (v: unknown) => {
    fs.writeFileSync(path.join(dir, "verified.json"), JSON.stringify(v));
    return ["--verified-file", "verified.json"];
  };
  const promote = (...args: string[]) => runCli(main, ["--from", "staging", "--to", "prod", "--date", "2026-11-25", ...args], { cwd: dir });

  beforeEach(async () => {
    dir = tempStacks();
    // staging rotated app to NEW first (the normal path), batch stays at OLD
    const r = await runCli(bumpMain, ["--stack", "staging", "--role", "app", "--version", NEW, "--date", "2026-11-22"], { cwd: dir });
    assert.equal(r.code, 0, r.err);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("copies only the version (rotating prod's pool on the promotion date) and prints a reviewable diff", async () => {
    const prodBefore = read(dir, "prod");
    const stagingBefore = read(dir, "staging");
    const oldName = names(prodBefore, "prod").app;
    const r = await promote(...verified({ app: NEW, batch: OLD }));
    assert.equal(r.code, 0, r.err);
    const prodAfter = read(dir, "prod");
    const expected = prodBefore
      .replace(`version: ${OLD}      # what prod runs today`, `version: ${NEW}      # what prod runs today`)
      .replace('      rotatedOn: "2026-10-28"\n      machineType: e2-standard-16', '      rotatedOn: "2026-11-25"\n      machineType: e2-standard-16')
      .replace(
        "    requireVerifiedIn: staging   # the prod gate\n",
        `    requireVerifiedIn: staging   # the prod gate\n  ${HISTORY_KEY}:  # names this stack used, per role (kept by npm run bump/promote)\n    app:\n      - ${oldName}\n`,
      );
    assert.equal(prodAfter, expected, "prod sizes, labels, surge, batch pool untouched");
    assert.equal(read(dir, "staging"), stagingBefore, "source untouched");
    const newName = names(prodAfter, "prod").app;
    assert.match(r.out, /^--- a\/Pulumi\.prod\.yaml\n\+\+\+ b\/Pulumi\.prod\.yaml\n@@/);
    assert.ok(r.out.includes(`-      version: ${OLD}      # what prod runs today\n`));
    assert.ok(r.out.includes(`+      version: ${NEW}      # what prod runs today\n`));
    assert.ok(r.out.endsWith(`app: ${OLD} -> ${NEW}: ${oldName} -> ${newName}`), r.out);
    assert.match(r.err, /pool "batch": prod already runs staging's version/);
    // Idempotent: again, nothing to promote, nothing written (verification not even needed).
    const again = await promote("--verified-file", "missing.json");
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /nothing to promote/);
    assert.equal(read(dir, "prod"), prodAfter);
  });

  it("refuses versions staging has not verified, naming pool, version and stack; nothing written", async () => {
    const before = snapshot(dir);
    const r = await promote(...verified({ app: OLD, batch: OLD })); // staging's up to NEW has not succeeded yet
    assert.equal(r.code, 1);
    assert.match(r.err, /not promoting to prod:\n  - pool "app": staging has 1\.31\.4-gke\.1100 in Pulumi\.staging\.yaml but has verified 1\.30\.5-gke\.1014001/);
    assert.match(r.err, /--force/);
    assert.deepEqual(snapshot(dir), before);
    const none = await promote(...verified({}));
    assert.match(none.err, /has verified no version for it/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("--force promotes anyway and says what it overrode", async () => {
    const r = await promote("--force", ...verified({ batch: OLD }));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning \(--force\): pool "app": staging has 1\.31\.4-gke\.1100/);
    assert.equal(validateStackConfig(parse(read(dir, "prod")).config, { stack: "prod" }).pools[0].version, NEW);
  });

  it("--role limits the promotion; unknown roles and missing target pools are clear errors", async () => {
    await runCli(bumpMain, ["--stack", "staging", "--role", "batch", "--version", NEW, "--date", "2026-11-22"], { cwd: dir });
    const r = await promote("--role", "batch", ...verified({ app: OLD, batch: NEW })); // app unverified but not asked for
    assert.equal(r.code, 0, r.err);
    const pools = validateStackConfig(parse(read(dir, "prod")).config, { stack: "prod" }).pools;
    assert.deepEqual(pools.map((p) => [p.role, p.version]), [["app", OLD], ["batch", NEW]]);
    assert.doesNotMatch(r.err, /goes DOWN/);
    const before = snapshot(dir);
    const unknown = await promote("--role", "web", ...verified({}));
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /--role web: .*Pulumi\.staging\.yaml has no such pool \(roles: app, batch\)/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("never creates pools: a role missing in the target is an error with --role, a note without", async () => {
    const prod = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(prod, read(dir, "prod").replace(/    - role: batch\n[\s\S]*?spot: true\n/, ""));
    const before = snapshot(dir);
    const explicit = await promote("--role", "batch", ...verified({ app: NEW, batch: OLD }));
    assert.equal(explicit.code, 1);
    assert.match(explicit.err, /--role batch: .*Pulumi\.prod\.yaml has no such pool \(roles: app\); promote copies versions, not pool definitions/);
    assert.deepEqual(snapshot(dir), before);
    const all = await promote(...verified({ app: NEW, batch: OLD }));
    assert.equal(all.code, 0, all.err);
    assert.match(all.err, /note: pool "batch" exists in only one of staging\/prod; not promoted/);
    assert.equal(parse(read(dir, "prod")).config["nodepool-rotation:pools"].length, 1);
  });

  it("refuses to promote from a stack other than the one prod's gate names, and bad verified files", async () => {
    fs.copyFileSync(path.join(dir, "Pulumi.staging.yaml"), path.join(dir, "Pulumi.qa.yaml"));
    const before = snapshot(dir);
    const r = await runCli(main, ["--from", "qa", "--to", "prod", ...verified({ app: NEW })], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.err, /requires versions verified in "staging" \(nodepool-rotation:promotion\.requireVerifiedIn\), but --from is "qa"/);
    const bad = await promote(...verified(["1.31"]));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--verified-file verified\.json must be an object of role -> version/);
    const same = await runCli(main, ["--from", "prod", "--to", "prod"], { cwd: dir });
    assert.match(same.err, /--from and --to are both "prod"/);
    fs.writeFileSync(path.join(dir, "verified.json"), "{not json");
    const notJson = await promote("--verified-file", "verified.json");
    assert.match(notJson.err, /is not JSON/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("accepts the full `pulumi stack output --json` object as --verified-file", async () => {
    const r = await promote(...verified({ pools: { app: { name: "x", version: NEW } }, verifiedVersions: { app: NEW, batch: OLD } }));
    assert.equal(r.code, 0, r.err);
    assert.equal(parse(read(dir, "prod")).config["nodepool-rotation:pools"][0].version, NEW);
  });

  it("promotes a staging rollback too, and says the target goes down", async () => {
    const prod = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(prod, read(dir, "prod").replace(`version: ${OLD}      # what prod runs today`, `version: ${NEW}      # what prod runs today`));
    await runCli(bumpMain, ["--stack", "staging", "--role", "app", "--version", OLD, "--date", "2026-11-23"], { cwd: dir });
    const r = await promote(...verified({ app: OLD, batch: OLD }));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`note: pool "app" goes DOWN to ${OLD.replace(/\./g, "\\.")}`));
    assert.equal(parse(read(dir, "prod")).config["nodepool-rotation:pools"][0].version, OLD);
  });

  it("rejects a version the target's control plane cannot run (target config decides), nothing written", async () => {
    const prod = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(prod, read(dir, "prod").replace("controlPlaneVersion: 1.31.4-gke.1100", "controlPlaneVersion: 1.30.9-gke.100"));
    const before = snapshot(dir);
    const r = await promote(...verified({ app: NEW, batch: OLD }));
    assert.equal(r.code, 1);
    assert.match(r.err, /staging's version 1\.31\.4-gke\.1100 for pool "app" in .*Pulumi\.prod\.yaml: node version 1\.31\.4-gke\.1100 is newer than the control plane 1\.30\.9-gke\.100/);
    assert.deepEqual(snapshot(dir), before);
  });

  describe("reading verified versions with the pulumi CLI", () => {
    let savedPath: string | undefined;
    beforeEach(() => (savedPath = process.env.PATH));
    afterEach(() => (process.env.PATH = savedPath));

    it("runs `pulumi stack output verifiedVersions --json --stack staging` in the stack directory", async () => {
      const bin = path.join(dir, "bin");
      fs.mkdirSync(bin);
      // Stand-in for the Pulumi CLI: records its arguments and cwd, prints what the real one would.
      fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\necho "$PWD $*" > "${dir}/args.txt"\necho '{"app":"${NEW}","batch":"${OLD}"}'\n`, { mode: 0o755 });
      process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
      const r = await promote();
      assert.equal(r.code, 0, r.err);
      assert.equal(fs.readFileSync(path.join(dir, "args.txt"), "utf8").trim(), `${fs.realpathSync(dir)} stack output verifiedVersions --json --stack staging`);
    });

    it("without the pulumi CLI: a clear error pointing at --verified-file, nothing written", async () => {
      process.env.PATH = path.join(dir, "empty-bin");
      const before = snapshot(dir);
      const r = await promote();
      assert.equal(r.code, 1);
      assert.match(r.err, /cannot read staging's verified versions .*the pulumi CLI is not on PATH.*--verified-file/);
      assert.deepEqual(snapshot(dir), before);
    });
  });
});

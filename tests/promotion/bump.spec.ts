import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { main } from "../../components/promotion/bump";
import { validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { HISTORY_KEY } from "../../components/promotion/stackFile";
import { read, REPO, runCli, snapshot, tempStacks } from "./helpers";

/** The name the program would give `role`'s pool in the stack file text (validated the program's way). */
function nameIn(text: string, stack: string, role: string): string {
  const cfg = validateStackConfig(parse(text).config, { stack });
  return poolName(cfg.pools.find((p) => p.role === role)!, cfg.environment);
}

describe("promotion/bump: npm run bump", () => {
  let dir: string;
  beforeEach(() => (dir = tempStacks()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bump = (...args: string[]) => runCli(main, ["--stack", "staging", "--role", "app", ...args], { cwd: dir });

  it("sets version and rotatedOn, keeps every other byte, records the old name, prints old -> new", async () => {
    const before = read(dir, "staging");
    const oldName = nameIn(before, "staging", "app");
    const r = await bump("--version", "1.35.2-gke.1269000", "--date", "2026-11-22");
    assert.equal(r.code, 0, r.err);
    const after = read(dir, "staging");
    const newName = nameIn(after, "staging", "app");
    assert.equal(r.out, `${oldName} -> ${newName}`);
    assert.match(newName, /^app-1-35-2-gke1269000-20261122-[0-9a-f]{5}$/);
    const expected = before
      .replace("version: 1.34.4-gke.1047000   # pinned", "version: 1.35.2-gke.1269000   # pinned")
      .replace('rotatedOn: "2026-11-20"  ', 'rotatedOn: "2026-11-22"  ')
      .replace(
        "    deadlineMinutes: 60   # per pool\n",
        `    deadlineMinutes: 60   # per pool\n  ${HISTORY_KEY}:  # names this stack used, per role (kept by npm run bump/promote)\n    app:\n      - ${oldName}\n`,
      );
    assert.equal(after, expected);
    assert.equal(read(dir, "prod"), fs.readFileSync(path.join(__dirname, "fixtures/Pulumi.prod.yaml"), "utf8"));
  });

  it("is idempotent: the same bump again changes nothing and says so", async () => {
    assert.equal((await bump("--version", "1.35.2-gke.1269000", "--date", "2026-11-22")).code, 0);
    const once = snapshot(dir);
    const r = await bump("--version", "1.35.2-gke.1269000", "--date", "2026-11-23");
    assert.equal(r.code, 0);
    assert.equal(r.out, "");
    assert.match(r.err, /already at 1\.35\.2-gke\.1269000.*nothing to do/);
    assert.deepEqual(snapshot(dir), once);
  });

  it("uses today's UTC date from the clock when --date is not given", async () => {
    const r = await runCli(main, ["--stack", "staging", "--role", "app", "--version", "1.35.2-gke.1269000"], { cwd: dir, now: "2026-12-31T23:59:59Z" });
    assert.equal(r.code, 0, r.err);
    assert.equal(parse(read(dir, "staging")).config["nodepool-rotation:pools"][0].rotatedOn, "2026-12-31");
    assert.match(r.out, /-> app-1-35-2-gke1269000-20261231-/);
  });

  it("same-day rollback and --rotate get a unique name through the smallest free revision; a new day drops it", async () => {
    const names = [nameIn(read(dir, "staging"), "staging", "app")];
    const step = async (...args: string[]) => {
      const r = await bump(...args);
      assert.equal(r.code, 0, r.err);
      const name = nameIn(read(dir, "staging"), "staging", "app");
      assert.equal(r.out, `${names[names.length - 1]} -> ${name}`);
      names.push(name);
      return parse(read(dir, "staging")).config;
    };
    await step("--version", "1.35.2-gke.1269000", "--date", "2026-11-22"); // forward
    let cfg = await step("--version", "1.34.4-gke.1047000", "--date", "2026-11-22"); // rollback: new date, no clash
    assert.equal(cfg["nodepool-rotation:pools"][0].revision, undefined);
    cfg = await step("--version", "1.35.2-gke.1269000", "--date", "2026-11-22"); // forward again the same day: clash
    assert.equal(cfg["nodepool-rotation:pools"][0].revision, 1);
    cfg = await step("--rotate", "--date", "2026-11-22"); // same version, same day: clash with current
    assert.equal(cfg["nodepool-rotation:pools"][0].revision, 2);
    cfg = await step("--rotate", "--date", "2026-11-23"); // next day: no clash, revision removed
    assert.equal(cfg["nodepool-rotation:pools"][0].revision, undefined);
    assert.equal(new Set(names).size, names.length, `all names distinct: ${names.join(", ")}`);
    assert.deepEqual(cfg[HISTORY_KEY].app, names.slice(0, -1));
    assert.equal(names[1].replace(/-[0-9a-f]{5}$/, ""), names[3].replace(/-[0-9a-f]{5}$/, ""), "same role/version/date, different hash");
  });

  it("works on the repository's own Pulumi.staging.yaml", async () => {
    const repoDir = tempStacks(REPO);
    try {
      const before = read(repoDir, "staging");
      const version = parse(before).config["nodepool-rotation:pools"][1].version;
      const r = await runCli(main, ["--stack", "staging", "--role", "batch", "--rotate", "--date", "2030-01-02"], { cwd: repoDir });
      assert.equal(r.code, 0, r.err);
      const cfg = validateStackConfig(parse(read(repoDir, "staging")).config, { stack: "staging" });
      const batch = cfg.pools.find((p) => p.role === "batch")!;
      assert.equal(batch.version, version);
      assert.equal(batch.rotatedOn, "2030-01-02");
      assert.equal(r.out.split(" -> ")[1], poolName(batch, cfg.environment));
    } finally {
      fs.rmSync(repoDir, { recursive: true, force: true });
    }
  });

  it("bumping a gated stack directly works but points at promote", async () => {
    const r = await runCli(main, ["--stack", "prod", "--role", "batch", "--version", "1.35.2-gke.1269000", "--date", "2026-11-22"], { cwd: dir });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /note: prod only runs versions verified in staging .*npm run promote -- --from staging --to prod/);
    assert.equal(parse(read(dir, "prod")).config["nodepool-rotation:pools"][1].version, "1.35.2-gke.1269000");
    const staging = await bump("--version", "1.35.2-gke.1269000");
    assert.doesNotMatch(staging.err, /only runs versions verified/);
  });

  it("--dry-run prints the diff and writes nothing", async () => {
    const before = snapshot(dir);
    const r = await bump("--version", "1.35.2-gke.1269000", "--date", "2026-11-22", "--dry-run");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^--- a\/Pulumi\.staging\.yaml\n\+\+\+ b\/Pulumi\.staging\.yaml\n@@ /);
    assert.match(r.out, /\n-      version: 1\.34\.4-gke\.1047000   # pinned until the 1\.35 soak ends\n-      rotatedOn: "2026-11-20" .*\n\+      version: 1\.35\.2-gke\.1269000   # pinned until the 1\.35 soak ends\n\+      rotatedOn: "2026-11-22" /);
    assert.deepEqual(snapshot(dir), before);
  });

  it("rejects bad input with a clear error (exit 1) and writes nothing", async () => {
    const before = snapshot(dir);
    const cases: [string[], RegExp][] = [
      [["--version", "1.31"], /--version "1\.31" is not an exact GKE version.*1\.35\.2-gke\.1269000/],
      [["--version", "1.36.1-gke.1000000"], /newer than the control plane 1\.35\.2-gke\.1269000.*raise the control plane first \(npm run bump -- --stack staging --control-plane 1\.36\.1-gke\.1000000;/],
      [["--version", "1.32.1-gke.1000000"], /3 minor versions older than the control plane/],
      [["--version", "1.35.2-gke.1269000", "--date", "2026-02-30"], /--date "2026-02-30" is not a real day/],
      [["--version", "1.35.2-gke.1269000", "--date", "22/11/2026"], /--date "22\/11\/2026"/],
      [[], /--role app: give --version <gke-version>.*or --rotate/],
    ];
    for (const [args, re] of cases) {
      const r = await bump(...args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, re, args.join(" "));
      assert.deepEqual(snapshot(dir), before, `${args.join(" ")} wrote something`);
    }
    const unknownRole = await runCli(main, ["--stack", "staging", "--role", "web", "--version", "1.35.2-gke.1269000"], { cwd: dir });
    assert.equal(unknownRole.code, 1);
    assert.match(unknownRole.err, /no pool with role "web" \(roles: app, batch\)/);
    const noStack = await runCli(main, ["--stack", "qa", "--role", "app", "--version", "1.35.2-gke.1269000"], { cwd: dir });
    assert.equal(noStack.code, 1);
    assert.match(noStack.err, /cannot read stack file .*Pulumi\.qa\.yaml/);
    const both = await bump("--version", "1.35.2-gke.1269000", "--rotate");
    assert.equal(both.code, 2, "usage error");
    assert.match(both.err, /cannot be used with/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("refuses a stack file that is already invalid, naming the problem, and writes nothing", async () => {
    const file = path.join(dir, "Pulumi.staging.yaml");
    fs.writeFileSync(file, read(dir, "staging").replace("minNodes: 3", "minNodes: 9"));
    const before = snapshot(dir);
    const r = await bump("--version", "1.35.2-gke.1269000");
    assert.equal(r.code, 1);
    assert.match(r.err, /invalid before any change.*\n.*minNodes = 9 is greater than maxNodes = 6/);
    assert.deepEqual(snapshot(dir), before);
  });

  describe("--control-plane: raise cluster.controlPlaneVersion", () => {
    const CP = "1.35.2-gke.1269000";
    const NEWER_BUILD = "1.35.2-gke.1333000"; // same patch, newer -gke.N build
    const cpLine = (v: string) => `    controlPlaneVersion: ${v}          # minMasterVersion when created\n`;
    const cpOf = (stack = "staging") => validateStackConfig(parse(read(dir, stack)).config, { stack }).cluster.controlPlaneVersion;

    it("a new user's path: a pool bump to a newer -gke.N build is refused naming --control-plane; raising the control plane first makes it pass", async () => {
      const before = snapshot(dir);
      const refused = await bump("--version", NEWER_BUILD, "--date", "2026-11-22");
      assert.equal(refused.code, 1);
      assert.match(refused.err, new RegExp(`node version ${NEWER_BUILD.replace(/\./g, "\\.")} is newer than the control plane ${CP.replace(/\./g, "\\.")}.*npm run bump -- --stack staging --control-plane ${NEWER_BUILD.replace(/\./g, "\\.")}`));
      assert.deepEqual(snapshot(dir), before);

      const text = read(dir, "staging");
      const cp = await runCli(main, ["--stack", "staging", "--control-plane", NEWER_BUILD], { cwd: dir });
      assert.equal(cp.code, 0, cp.err);
      assert.equal(cp.out, `control plane: ${CP} -> ${NEWER_BUILD}`);
      assert.equal(read(dir, "staging"), text.replace(cpLine(CP), cpLine(NEWER_BUILD)), "only the version bytes change; the comment stays aligned");

      const pool = await bump("--version", NEWER_BUILD, "--date", "2026-11-22");
      assert.equal(pool.code, 0, pool.err);
      assert.match(pool.out, /-> app-1-35-2-gke1333000-20261122-[0-9a-f]{5}$/);
    });

    it("control plane and pool in one command: the control plane is raised first, both in one diff", async () => {
      const r = await bump("--control-plane", NEWER_BUILD, "--version", NEWER_BUILD, "--date", "2026-11-22", "--dry-run");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`-${cpLine(CP).trimEnd().replace(/\./g, "\\.")}\n\\+${cpLine(NEWER_BUILD).trimEnd().replace(/\./g, "\\.")}`));
      assert.match(r.out, /\+      version: 1\.35\.2-gke\.1333000   # pinned/);
      assert.match(r.out, new RegExp(`control plane: ${CP.replace(/\./g, "\\.")} -> ${NEWER_BUILD.replace(/\./g, "\\.")}\n.* -> app-1-35-2-gke1333000-20261122-`));
      assert.match(r.err, /dry run: .* not written/);
      assert.equal(cpOf(), CP, "dry run wrote nothing");
      const real = await bump("--control-plane", NEWER_BUILD, "--version", NEWER_BUILD, "--date", "2026-11-22");
      assert.equal(real.code, 0, real.err);
      assert.equal(cpOf(), NEWER_BUILD);
    });

    it("a next minor is accepted (pools stay within 2 minors); the same version is a no-op", async () => {
      const r = await runCli(main, ["--stack", "staging", "--control-plane", "1.36.1-gke.1000000"], { cwd: dir });
      assert.equal(r.code, 0, r.err);
      assert.equal(cpOf(), "1.36.1-gke.1000000");
      const once = snapshot(dir);
      const again = await runCli(main, ["--stack", "staging", "--control-plane", "1.36.1-gke.1000000"], { cwd: dir });
      assert.equal(again.code, 0);
      assert.equal(again.out, "");
      assert.match(again.err, /control plane in .* is already at 1\.36\.1-gke\.1000000; nothing to do/);
      assert.deepEqual(snapshot(dir), once);
    });

    it("refuses, writing nothing: a malformed version, a downgrade, a skipped minor, pools left > 2 minors behind", async () => {
      const file = path.join(dir, "Pulumi.staging.yaml");
      fs.writeFileSync(file, read(dir, "staging").replace("version: '1.34.4-gke.1047000'", "version: '1.34.0-gke.1000000'"));
      const before = snapshot(dir);
      const cases: [string, RegExp][] = [
        ["1.36", /--control-plane "1\.36" is not an exact GKE version: expected MAJOR\.MINOR\.PATCH-gke\.BUILD/],
        ["1.35.2-gke.1200000", /--control-plane 1\.35\.2-gke\.1200000 is older than nodepool-rotation:cluster\.controlPlaneVersion in .*Pulumi\.staging\.yaml \(1\.35\.2-gke\.1269000\): bump never lowers a control plane/],
        ["1.37.0-gke.1000000", /skips a minor version from 1\.35\.2-gke\.1269000 .*one minor version at a time — raise it to a 1\.36\.x build first and pulumi up -s staging/],
      ];
      for (const [v, re] of cases) {
        const r = await runCli(main, ["--stack", "staging", "--control-plane", v], { cwd: dir });
        assert.equal(r.code, 1, `${v}: ${r.err}`);
        assert.match(r.err, re, v);
        assert.deepEqual(snapshot(dir), before, `${v} wrote something`);
      }
      // batch runs 1.34.0 after the edit above; app 1.34.4: both 2 minors behind 1.36 (allowed), so make batch 1.33
      fs.writeFileSync(file, read(dir, "staging").replace("version: '1.34.0-gke.1000000'", "version: '1.33.5-gke.1000000'"));
      const behind = snapshot(dir);
      const r = await runCli(main, ["--stack", "staging", "--control-plane", "1.36.1-gke.1000000", "--role", "app", "--version", "1.36.1-gke.1000000"], { cwd: dir });
      assert.equal(r.code, 1);
      assert.match(r.err, /pool "batch" \(1\.33\.5-gke\.1000000\): node version 1\.33\.5-gke\.1000000 is 3 minor versions older than the control plane 1\.36\.1-gke\.1000000.*npm run bump -- --stack staging --role batch --version <1\.34\.x or newer>/);
      assert.doesNotMatch(r.err, /pool "app"/);
      assert.deepEqual(snapshot(dir), behind, "the pool part of the command is not applied either");
    });

    it("an adopted cluster (create: false): written, with a note that pulumi up does not upgrade it", async () => {
      const file = path.join(dir, "Pulumi.staging.yaml");
      fs.writeFileSync(file, read(dir, "staging").replace("    create: true\n", "    create: false\n"));
      const r = await runCli(main, ["--stack", "staging", "--control-plane", NEWER_BUILD], { cwd: dir });
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /cluster\.create is false: pulumi up does not upgrade an adopted cluster's control plane .*gcloud container clusters upgrade --master --cluster-version 1\.35\.2-gke\.1333000/);
      assert.equal(cpOf(), NEWER_BUILD);
    });
  });
});

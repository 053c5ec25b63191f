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
import { ExportSpec, stagingExport } from "./fixtures/stackExport";

const NEW = "1.35.2-gke.1269000";
const OLD = "1.34.4-gke.1047000";

function names(text: string, stack: string): Record<string, string> {
  const cfg = validateStackConfig(parse(text).config, { stack });
  return Object.fromEntries(cfg.pools.map((p) => [p.role, poolName(p, cfg.environment)]));
}

describe("promotion/promote: npm run promote", () => {
  let dir: string;
  /** A `pulumi stack export` of staging whose verifiedVersions output is `v` (plus `spec`), as --state-file. */
  const verified = (v: unknown, spec: Partial<ExportSpec> = {}) => {
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(stagingExport({ pools: [], verifiedVersions: v as Record<string, string>, ...spec })));
    return ["--state-file", "state.json"];
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
    const again = await promote("--state-file", "missing.json");
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /nothing to promote/);
    assert.equal(read(dir, "prod"), prodAfter);
  });

  it("refuses versions staging has not verified, naming pool, version and stack; nothing written", async () => {
    const before = snapshot(dir);
    const r = await promote(...verified({ app: OLD, batch: OLD })); // staging's up to NEW has not succeeded yet
    assert.equal(r.code, 1);
    assert.match(r.err, /not promoting to prod:\n  - pool "app": staging has 1\.35\.2-gke\.1269000 in Pulumi\.staging\.yaml but has verified 1\.34\.4-gke\.1047000/);
    assert.match(r.err, /--force/);
    assert.deepEqual(snapshot(dir), before);
    const none = await promote(...verified({}));
    assert.match(none.err, /has verified no version for it/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("--force promotes anyway and says what it overrode", async () => {
    const r = await promote("--force", ...verified({ batch: OLD }));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning \(--force\): pool "app": staging has 1\.35\.2-gke\.1269000/);
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
    assert.match(bad.err, /staging's verifiedVersions output must be an object of role -> version/);
    const same = await runCli(main, ["--from", "prod", "--to", "prod"], { cwd: dir });
    assert.match(same.err, /--from and --to are both "prod"/);
    fs.writeFileSync(path.join(dir, "state.json"), "{not json");
    const notJson = await promote("--state-file", "state.json");
    assert.match(notJson.err, /--state-file state\.json is not JSON/);
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ app: NEW }));
    const notExport = await promote("--state-file", "state.json");
    assert.match(notExport.err, /--state-file state\.json is not the output of `pulumi stack export`/);
    assert.deepEqual(snapshot(dir), before);
  });

  describe("staging must have converged: pending deletes and interrupted operations in its state refuse", () => {
    // The drain of staging's old app pool failed: the update kept the new pool + drainer, so
    // verifiedVersions already names NEW (pulumi/pulumi#15754), and left the old pool and its
    // drainer in state with delete: true (retried at the end of the next up).
    const newApp = { role: "app", name: "app-1-35-2-gke1269000-20261122-5c2d1", version: NEW };
    const oldApp = { role: "app", name: "app-1-34-4-gke1047000-20261120-9e0aa", version: OLD };
    const batch = { role: "batch", name: "batch-1-34-4-gke1047000-20261101-77f3b", version: OLD };
    const state = (spec: Partial<ExportSpec>) => verified(undefined, { pools: [newApp, batch], ...spec });

    it("a converged export (new pools only) promotes", async () => {
      const r = await promote(...state({}));
      assert.equal(r.code, 0, r.err);
      assert.equal(parse(read(dir, "prod")).config["nodepool-rotation:pools"][0].version, NEW);
    });

    it("refuses while the old pool and its PoolDrainer are pending deletion, naming both; nothing written", async () => {
      const before = snapshot(dir);
      const r = await promote(...state({ pendingDeletes: [oldApp] }));
      assert.equal(r.code, 1);
      assert.match(r.err, /^error: not promoting to prod:\n/);
      assert.ok(r.err.includes(`  - staging has not converged: node pool ${oldApp.name} (app) is pending deletion (it was replaced or removed and its delete failed or never ran) — run pulumi up -s staging until it succeeds`), r.err);
      assert.ok(r.err.includes(`  - staging has not converged: PoolDrainer of ${oldApp.name} (app-drainer) is pending deletion (its drain failed or was interrupted)`), r.err);
      assert.doesNotMatch(r.err, new RegExp(newApp.name), "the live generation is not blamed");
      assert.doesNotMatch(r.err, /pool "app": staging has/, "the versions themselves are verified");
      assert.deepEqual(snapshot(dir), before);
    });

    it("refuses an old pool left pending deletion after its drainer was deleted (a later batch cancelled)", async () => {
      const r = await promote(...state({ pendingPoolDeletesOnly: [oldApp] }));
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`staging has not converged: node pool ${oldApp.name} \\(app\\) is pending deletion`));
      assert.doesNotMatch(r.err, /PoolDrainer/);
    });

    it("refuses an interrupted operation ('deleting'), pointing at pulumi refresh", async () => {
      const r = await promote(...state({ interruptedDeletes: [oldApp] }));
      assert.equal(r.code, 1);
      assert.ok(r.err.includes(`staging has not converged: PoolDrainer of ${oldApp.name} (app-drainer) has a pending operation "deleting" (pulumi was interrupted while deleting it) — check it in GCP, then pulumi refresh -s staging and pulumi up -s staging`), r.err);
    });

    it("refuses even when only a role that is not being promoted is stuck (the stack as a whole has not converged)", async () => {
      const oldBatch = { role: "batch", name: "batch-1-34-0-gke1000000-20261020-1a2b3", version: "1.34.0-gke.1000000" };
      const r = await promote("--role", "app", ...state({ pendingDeletes: [oldBatch] }));
      assert.equal(r.code, 1);
      assert.match(r.err, /node pool batch-1-34-0-gke1000000-20261020-1a2b3 \(batch\) is pending deletion/);
    });

    it("--force promotes anyway and lists what it overrode", async () => {
      const r = await promote("--force", ...state({ pendingDeletes: [oldApp] }));
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /warning \(--force\): staging has not converged: node pool app-1-34-4-gke1047000-20261120-9e0aa/);
      assert.equal(parse(read(dir, "prod")).config["nodepool-rotation:pools"][0].version, NEW);
    });

    it("refuses a stack without the verifiedVersions output", async () => {
      const r = await promote(...state({ verifiedVersions: null }));
      assert.equal(r.code, 1);
      assert.match(r.err, /staging has no verifiedVersions output: run pulumi up on staging with this program first/);
    });
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

  it("carries the control-plane version staging runs where prod creates its cluster, before the pools (one command, one diff)", async () => {
    const prod = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(prod, read(dir, "prod").replace("controlPlaneVersion: 1.35.2-gke.1269000", "controlPlaneVersion: 1.34.9-gke.1000000"));
    const r = await promote(...verified({ app: NEW, batch: OLD }));
    assert.equal(r.code, 0, r.err);
    const cfg = validateStackConfig(parse(read(dir, "prod")).config, { stack: "prod" });
    assert.equal(cfg.cluster.controlPlaneVersion, "1.35.2-gke.1269000", "staging's verifiedControlPlane");
    assert.equal(cfg.pools.find((p) => p.role === "app")!.version, NEW);
    assert.ok(r.out.includes("-    controlPlaneVersion: 1.34.9-gke.1000000\n+    controlPlaneVersion: 1.35.2-gke.1269000"), r.out);
    assert.match(r.out, /control plane: 1\.34\.9-gke\.1000000 -> 1\.35\.2-gke\.1269000/);
  });

  it("refuses without staging's verifiedControlPlane output (prod creates its cluster); an adopted prod keeps its own control plane", async () => {
    const prod = path.join(dir, "Pulumi.prod.yaml");
    fs.writeFileSync(prod, read(dir, "prod").replace("controlPlaneVersion: 1.35.2-gke.1269000", "controlPlaneVersion: 1.34.9-gke.1000000"));
    const before = snapshot(dir);
    const none = await promote(...verified({ app: NEW, batch: OLD }, { verifiedControlPlane: null }));
    assert.equal(none.code, 1);
    assert.match(none.err, /staging has no verifiedControlPlane output \(the control-plane version its cluster runs\): run pulumi up on staging with this program first/);
    assert.deepEqual(snapshot(dir), before);
    // create: false: the program does not manage that control plane, so promote does not write it,
    // and the pool's version is judged against the target's own (too old) control plane.
    fs.writeFileSync(prod, read(dir, "prod").replace("controlPlaneVersion: 1.34.9-gke.1000000", "controlPlaneVersion: 1.34.9-gke.1000000\n    create: false"));
    const adopted = snapshot(dir);
    const r = await promote(...verified({ app: NEW, batch: OLD }));
    assert.equal(r.code, 1);
    assert.match(r.err, /staging's version 1\.35\.2-gke\.1269000 for pool "app" in .*Pulumi\.prod\.yaml: node version 1\.35\.2-gke\.1269000 is newer than the control plane 1\.34\.9-gke\.1000000 .* — raise the control plane first \(npm run bump -- --stack prod --control-plane 1\.35\.2-gke\.1269000\), or pick another version/);
    assert.deepEqual(snapshot(dir), adopted);
  });

  describe("reading staging's state with the pulumi CLI", () => {
    let savedPath: string | undefined;
    beforeEach(() => (savedPath = process.env.PATH));
    afterEach(() => (process.env.PATH = savedPath));

    /** Stand-in for the Pulumi CLI: records its arguments and cwd, prints `stdout` (or fails like the real one). */
    function fakePulumi(script: string) {
      const bin = path.join(dir, "bin");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\necho "$PWD $*" > "${dir}/args.txt"\n${script}\n`, { mode: 0o755 });
      process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
    }

    it("runs `pulumi stack export --stack staging` in the stack directory and judges that state", async () => {
      const exp = stagingExport({ pools: [{ role: "app", name: "app-1-35-2-gke1269000-20261122-5c2d1", version: NEW }, { role: "batch", name: "b", version: OLD }] });
      fs.writeFileSync(path.join(dir, "export.json"), JSON.stringify(exp, null, 4));
      fakePulumi(`cat "${dir}/export.json"`);
      const r = await promote();
      assert.equal(r.code, 0, r.err);
      assert.equal(fs.readFileSync(path.join(dir, "args.txt"), "utf8").trim(), `${fs.realpathSync(dir)} stack export --stack staging`);
    });

    it("a failing pulumi (not logged in) is a refusal quoting its stderr, nothing written", async () => {
      fakePulumi(`echo "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions" >&2; exit 255`);
      const before = snapshot(dir);
      const r = await promote();
      assert.equal(r.code, 1);
      assert.match(r.err, /cannot read staging's state \(pulumi stack export --stack staging\): error: PULUMI_ACCESS_TOKEN must be set .* --state-file/);
      assert.deepEqual(snapshot(dir), before);
    });

    it("without the pulumi CLI: a clear error pointing at --state-file, nothing written", async () => {
      process.env.PATH = path.join(dir, "empty-bin");
      const before = snapshot(dir);
      const r = await promote();
      assert.equal(r.code, 1);
      assert.match(r.err, /cannot read staging's state .*the pulumi CLI is not on PATH.*pass --state-file with the output of that command/);
      assert.deepEqual(snapshot(dir), before);
    });
  });
});

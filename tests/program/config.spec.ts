/**
 * validateStackConfig: malformed stack files are rejected with ONE error naming each stack-file
 * key, the bad value and the fix; valid ones come back typed with defaults.
 */
import * as pulumi from "@pulumi/pulumi";
import * as assert from "node:assert/strict";
import { POOL_DEFAULTS, StackConfigError, isRealDate, validateStackConfig } from "../../components/config";
import { clone, stackFileConfig } from "./harness";

const P = "nodepool-rotation:pools";
const C = "nodepool-rotation:cluster";

/** The staging stack file with one edit applied. */
function staging(edit: (c: Record<string, any>) => void): Record<string, any> {
  const c = clone(stackFileConfig("staging"));
  edit(c);
  return c;
}

function problemsOf(raw: Record<string, any>, stack = "staging"): string[] {
  try {
    validateStackConfig(raw, { stack });
  } catch (e) {
    assert.ok(e instanceof StackConfigError, `expected StackConfigError, got ${e}`);
    assert.ok(pulumi.RunError.isInstance(e), "a RunError: pulumi prints it without a stack trace");
    assert.match(e.message, new RegExp(`Invalid stack configuration \\(Pulumi\\.${stack}\\.yaml\\): ${e.problems.length} problems?`));
    for (const p of e.problems) assert.ok(e.message.includes(p), "message lists every problem");
    return e.problems;
  }
  assert.fail("config was accepted");
}

interface Case {
  what: string;
  edit: (c: Record<string, any>) => void;
  /** Every pattern must match one single problem line (key, value and fix in the same line). */
  expect: RegExp[];
}

const cases: Case[] = [
  { what: "version without -gke build", edit: (c) => (c[P][0].version = "1.31.4"), expect: [/^nodepool-rotation:pools\[0\]\.version = "1\.31\.4": wrong format — use an exact GKE version .*1\.35\.2-gke\.1269000/] },
  { what: "version with a v prefix", edit: (c) => (c[P][1].version = "v1.31.4-gke.1100"), expect: [/pools\[1\]\.version = "v1\.31\.4-gke\.1100": wrong format/] },
  { what: "version 'latest'", edit: (c) => (c[P][0].version = "latest"), expect: [/pools\[0\]\.version = "latest": wrong format/] },
  { what: "version YAML-mangled to a number (1.31)", edit: (c) => (c[P][0].version = 1.31), expect: [/pools\[0\]\.version = 1\.31: must be a string — use an exact GKE version/] },
  { what: "uppercase role", edit: (c) => (c[P][0].role = "App"), expect: [/pools\[0\]\.role = "App": wrong format — use lowercase letters/] },
  { what: "role longer than 20 chars", edit: (c) => (c[P][0].role = "a".repeat(21)), expect: [/pools\[0\]\.role = "a{21}": wrong format — .*<= 20 chars/] },
  { what: "role ending with a dash", edit: (c) => (c[P][0].role = "app-"), expect: [/pools\[0\]\.role = "app-": wrong format/] },
  { what: "role with underscore", edit: (c) => (c[P][1].role = "batch_jobs"), expect: [/pools\[1\]\.role = "batch_jobs": wrong format/] },
  { what: "impossible date 2026-02-30", edit: (c) => (c[P][0].rotatedOn = "2026-02-30"), expect: [/pools\[0\]\.rotatedOn = "2026-02-30": no such day — use a real date "YYYY-MM-DD"/] },
  { what: "month 13", edit: (c) => (c[P][0].rotatedOn = "2026-13-01"), expect: [/pools\[0\]\.rotatedOn = "2026-13-01": no such day/] },
  { what: "date in another format", edit: (c) => (c[P][0].rotatedOn = "20/11/2026"), expect: [/pools\[0\]\.rotatedOn = "20\/11\/2026": wrong format — use a quoted date "YYYY-MM-DD"/] },
  { what: "date as a number", edit: (c) => (c[P][0].rotatedOn = 20261120), expect: [/pools\[0\]\.rotatedOn = 20261120: must be a string/] },
  { what: "minNodes > maxNodes", edit: (c) => ((c[P][0].minNodes = 7), (c[P][0].maxNodes = 3)), expect: [/pools\[0\]\.minNodes = 7 is greater than maxNodes = 3 — make minNodes <= maxNodes/] },
  { what: "duplicate roles", edit: (c) => (c[P][1].role = c[P][0].role), expect: [/pools\[1\]\.role = "app": duplicate of nodepool-rotation:pools\[0\]\.role — each pool needs its own role/] },
  { what: "missing machineType", edit: (c) => delete c[P][0].machineType, expect: [/^nodepool-rotation:pools\[0\]\.machineType is missing — add it: a GCE machine type, e.g\. e2-standard-4/] },
  { what: "missing gcp:project", edit: (c) => delete c["gcp:project"], expect: [/^gcp:project is missing — add it: a GCP project id/] },
  { what: "missing cluster.controlPlaneVersion", edit: (c) => delete c[C].controlPlaneVersion, expect: [/^nodepool-rotation:cluster\.controlPlaneVersion is missing — add it/] },
  { what: "no pools at all", edit: (c) => (c[P] = []), expect: [/^nodepool-rotation:pools is empty — use a non-empty list of pools/] },
  { what: "minNodes as a string", edit: (c) => (c[P][0].minNodes = "three"), expect: [/pools\[0\]\.minNodes = "three": must be a whole number/] },
  { what: "diskSizeGb fractional", edit: (c) => (c[P][0].diskSizeGb = 100.5), expect: [/pools\[0\]\.diskSizeGb = 100\.5: must be a whole number/] },
  { what: "diskSizeGb below 10", edit: (c) => (c[P][0].diskSizeGb = 5), expect: [/pools\[0\]\.diskSizeGb = 5: must be >= 10/] },
  { what: "spot as a string", edit: (c) => (c[P][1].spot = "yes"), expect: [/pools\[1\]\.spot = "yes": must be a boolean — use true or false/] },
  { what: "unknown disk type", edit: (c) => (c[P][0].diskType = "ssd"), expect: [/pools\[0\]\.diskType = "ssd": not allowed — use one of pd-standard, pd-balanced, pd-ssd/] },
  { what: "typo in a pool key", edit: (c) => ((c[P][0].machinetype = c[P][0].machineType), delete c[P][0].machineType), expect: [/pools\[0\]\.machinetype is not a known key — did you mean machineType\?/, /pools\[0\]\.machineType is missing/] },
  { what: "typo in a top-level key", edit: (c) => (c["nodepool-rotation:pool"] = c[P]), expect: [/^nodepool-rotation:pool is not a known key — did you mean nodepool-rotation:pools\?/] },
  { what: "bad taint effect", edit: (c) => (c[P][1].taints[0].effect = "NoSchedule"), expect: [/pools\[1\]\.taints\[0\]\.effect = "NoSchedule": not allowed — use NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE/] },
  { what: "pool version newer than the control plane", edit: (c) => (c[P][0].version = "1.36.1-gke.1000"), expect: [/pools\[0\]\.version = "1\.36\.1-gke\.1000": node version 1\.36\.1-gke\.1000 is newer than the control plane 1\.35\.2-gke\.1269000 .*upgrade nodepool-rotation:cluster\.controlPlaneVersion first/] },
  { what: "pool version 3 minors older than the control plane", edit: (c) => (c[P][0].version = "1.32.9-gke.1000"), expect: [/pools\[0\]\.version = "1\.32\.9-gke\.1000": node version .* is 3 minor versions older .*GKE allows at most 2/] },
  { what: "environment with uppercase", edit: (c) => (c["nodepool-rotation:environment"] = "Staging"), expect: [/^nodepool-rotation:environment = "Staging": wrong format/] },
  { what: "cluster location not a region or zone", edit: (c) => (c[C].location = "tokyo"), expect: [/^nodepool-rotation:cluster\.location = "tokyo": wrong format — use a region \(asia-northeast1\) or zone/] },
  { what: "cluster.create as a string", edit: (c) => (c[C].create = "yes"), expect: [/^nodepool-rotation:cluster\.create = "yes": must be a boolean/] },
  { what: "reserved role label set by hand", edit: (c) => (c[P][0].labels["nodepool-rotation/role"] = "x"), expect: [/pools\[0\]\.labels\["nodepool-rotation\/role"\] is set by nodepool-rotation itself — remove it/] },
  { what: "invalid label key", edit: (c) => (c[P][0].labels["bad key!"] = "x"), expect: [/pools\[0\]\.labels has an invalid key "bad key!"/] },
  { what: "oauth scope that is not a URL", edit: (c) => (c[P][0].oauthScopes = ["cloud-platform"]), expect: [/pools\[0\]\.oauthScopes\[0\] = "cloud-platform": wrong format — use a non-empty list of scope URLs/] },
  { what: "revision 0", edit: (c) => (c[P][0].revision = 0), expect: [/pools\[0\]\.revision = 0: must be >= 1/] },
  { what: "drain.batch as a bad percentage", edit: (c) => (c["nodepool-rotation:drain"].batch = "150%"), expect: [/^nodepool-rotation:drain\.batch: must be a node count like "2" or a percentage like "25%", got "150%"$/] },
  { what: "drain.deadlineMinutes 0", edit: (c) => (c["nodepool-rotation:drain"].deadlineMinutes = 0), expect: [/^nodepool-rotation:drain\.deadlineMinutes: must be a number of minutes > 0 and <= 1440 \(fractions allowed\), got 0$/] },
  { what: "drain.concurrency 0.5", edit: (c) => (c["nodepool-rotation:drain"].concurrency = 0.5), expect: [/^nodepool-rotation:drain\.concurrency: must be an integer from 1 to 500, got 0\.5$/] },
  { what: "drain.deleteEmptyDirData not a boolean", edit: (c) => (c["nodepool-rotation:drain"].deleteEmptyDirData = "yes"), expect: [/^nodepool-rotation:drain\.deleteEmptyDirData: must be true or false, got "yes"$/] },
  { what: "initialNodes above maxNodes", edit: (c) => (c["nodepool-rotation:pools"][0].initialNodes = 7), expect: [/^nodepool-rotation:pools\[0\]\.initialNodes = 7 is outside minNodes\.\.maxNodes \(3\.\.6\)/] },
  { what: "initialNodes zero", edit: (c) => (c["nodepool-rotation:pools"][0].initialNodes = 0), expect: [/^nodepool-rotation:pools\[0\]\.initialNodes = 0/] },
  { what: "unknown release channel", edit: (c) => (c[C].releaseChannel = "regular"), expect: [/^nodepool-rotation:cluster\.releaseChannel = "regular": not allowed — use STABLE, REGULAR, RAPID or EXTENDED/] },
  { what: "warnEndOfSupportDays negative", edit: (c) => (c[C].warnEndOfSupportDays = -1), expect: [/^nodepool-rotation:cluster\.warnEndOfSupportDays = -1: must be >= 0/] },
  { what: "drain.gkeRespectPdbOnDelete not a boolean", edit: (c) => (c["nodepool-rotation:drain"].gkeRespectPdbOnDelete = "yes"), expect: [/^nodepool-rotation:drain\.gkeRespectPdbOnDelete = "yes": must be a boolean — use true or false/] },
  { what: "drain.defaultBudget 0", edit: (c) => (c["nodepool-rotation:drain"].defaultBudget = 0), expect: [/^nodepool-rotation:drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got 0\)$/] },
  { what: "drain.defaultBudget 0%", edit: (c) => (c["nodepool-rotation:drain"].defaultBudget = "0%"), expect: [/^nodepool-rotation:drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got "0%"\)$/] },
  { what: "drain.defaultBudget 150%", edit: (c) => (c["nodepool-rotation:drain"].defaultBudget = "150%"), expect: [/^nodepool-rotation:drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got "150%"\)$/] },
  { what: "drain.defaultBudget abc", edit: (c) => (c["nodepool-rotation:drain"].defaultBudget = "abc"), expect: [/^nodepool-rotation:drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got "abc"\)$/] },
  { what: "drain.defaultBudget -1", edit: (c) => (c["nodepool-rotation:drain"].defaultBudget = -1), expect: [/^nodepool-rotation:drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got -1\)$/] },
  { what: "drain.defaultBudget as a boolean", edit: (c) => (c["nodepool-rotation:drain"].defaultBudget = true), expect: [/^nodepool-rotation:drain\.defaultBudget: must be an integer >= 1, a percentage "N%" with 1 <= N <= 100, or "none" \(got true\)$/] },
  { what: "drain with an unknown option", edit: (c) => (c["nodepool-rotation:drain"].deadline = 5), expect: [/^nodepool-rotation:drain\.deadline is not a known key — did you mean deadlineMinutes\?/] },
  { what: "promotion gating on itself", edit: (c) => (c["nodepool-rotation:promotion"] = { requireVerifiedIn: "staging" }), expect: [/^nodepool-rotation:promotion\.requireVerifiedIn = "staging": a stack cannot gate on itself/] },
  { what: "promotion without requireVerifiedIn", edit: (c) => (c["nodepool-rotation:promotion"] = {}), expect: [/^nodepool-rotation:promotion\.requireVerifiedIn is missing/] },
  { what: "poolNameHistory with a name GKE would reject", edit: (c) => (c["nodepool-rotation:poolNameHistory"] = { app: ["App_Pool"] }), expect: [/^nodepool-rotation:poolNameHistory\.app\[0\] = "App_Pool": wrong format/] },
  { what: "pools given as a string that is not JSON", edit: (c) => (c[P] = "app,batch"), expect: [/^nodepool-rotation:pools = "app,batch": must be a non-empty list of pools .* not a string/] },
  { what: "a pool that is not a mapping", edit: (c) => (c[P][1] = "batch"), expect: [/^nodepool-rotation:pools\[1\] = "batch": must be an object/] },
];

describe("config: malformed stack files", () => {
  it(`covers at least 20 malformed configs (has ${cases.length})`, () => assert.ok(cases.length >= 20));

  for (const c of cases) {
    it(`rejects ${c.what}`, () => {
      const problems = problemsOf(staging(c.edit));
      for (const re of c.expect) {
        assert.ok(problems.some((p) => re.test(p)), `no problem matches ${re}\n${problems.join("\n")}`);
      }
      assert.equal(problems.length, c.expect.length, `exactly the expected problems:\n${problems.join("\n")}`);
    });
  }

  it("lists every problem of a config in one error, not just the first", () => {
    const problems = problemsOf(
      staging((c) => {
        c[P][0].version = "1.31";
        c[P][0].rotatedOn = "2026-02-30";
        c[P][1].role = "BATCH";
        c[P][1].minNodes = 9;
        delete c["gcp:region"];
      }),
    );
    assert.equal(problems.length, 5, problems.join("\n"));
    assert.ok(problems.some((p) => p.startsWith("gcp:region is missing")));
    assert.ok(problems.some((p) => p.startsWith('nodepool-rotation:pools[0].version = "1.31"')));
    assert.ok(problems.some((p) => p.startsWith('nodepool-rotation:pools[0].rotatedOn = "2026-02-30"')));
    assert.ok(problems.some((p) => p.startsWith('nodepool-rotation:pools[1].role = "BATCH"')));
    assert.ok(problems.some((p) => p.startsWith("nodepool-rotation:pools[1].minNodes = 9 is greater than maxNodes = 4")));
  });

  it("rejects a role that leaves no room in the 40-character name (absurd GKE build number)", () => {
    const problems = problemsOf(
      staging((c) => {
        c[C].controlPlaneVersion = "99.999.999-gke.9999999999";
        c[P][0].version = "99.999.999-gke.9999999999";
        c[P][1].version = "99.999.999-gke.9999999999";
      }),
    );
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0], /^nodepool-rotation:pools\[0\]: pool "app": version 99\.999\.999-gke\.9999999999 leaves no room .* — check that nodepool-rotation:pools\[0\]\.version is a real GKE version/);
  });
});

describe("config: valid stack files", () => {
  for (const stack of ["staging", "prod"]) {
    it(`accepts Pulumi.${stack}.yaml and returns it typed`, () => {
      const file = stackFileConfig(stack);
      const cfg = validateStackConfig(file, { stack });
      assert.equal(cfg.project, file["gcp:project"]);
      assert.equal(cfg.region, file["gcp:region"]);
      assert.equal(cfg.environment, file["nodepool-rotation:environment"]);
      assert.deepEqual(cfg.cluster, file[C]);
      assert.deepEqual(cfg.pools.map((p) => p.role), file[P].map((p: any) => p.role));
      assert.deepEqual(cfg.drain, file["nodepool-rotation:drain"]);
    });
  }

  it("accepts the JSON strings the Pulumi runtime hands out for structured keys", () => {
    const file = stackFileConfig("prod");
    const asRuntime = Object.fromEntries(Object.entries(file).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    assert.deepEqual(validateStackConfig(asRuntime, { stack: "prod" }), validateStackConfig(file, { stack: "prod" }));
  });

  it("applies defaults to optional pool fields and cluster.create", () => {
    const cfg = validateStackConfig(
      staging((c) => {
        c[P] = [{ role: "app", version: "1.35.2-gke.1269000", rotatedOn: "2026-11-20", machineType: "e2-standard-4", minNodes: 1, maxNodes: 3 }];
        delete c[C].create;
        delete c["nodepool-rotation:drain"];
      }),
    );
    const p = cfg.pools[0];
    assert.equal(p.diskType, POOL_DEFAULTS.diskType);
    assert.equal(p.diskSizeGb, 100);
    assert.equal(p.imageType, "COS_CONTAINERD");
    assert.equal(p.spot, false);
    assert.deepEqual(p.oauthScopes, ["https://www.googleapis.com/auth/cloud-platform"]);
    assert.deepEqual(p.labels, {});
    assert.deepEqual(p.taints, []);
    assert.equal(p.maxSurge, 1);
    assert.equal(p.serviceAccount, undefined);
    assert.equal(cfg.cluster.create, true);
    assert.deepEqual(cfg.drain, {});
    assert.deepEqual(cfg.poolNameHistory, {});
  });

  it("normalizes an unquoted YAML date read as a timestamp back to YYYY-MM-DD", () => {
    const cfg = validateStackConfig(
      staging((c) => {
        c[P][0].rotatedOn = "2026-11-21T00:00:00Z";
        c[P][1].rotatedOn = new Date(Date.UTC(2026, 10, 22));
      }),
    );
    assert.equal(cfg.pools[0].rotatedOn, "2026-11-21");
    assert.equal(cfg.pools[1].rotatedOn, "2026-11-22");
  });

  it("accepts drain, promotion and poolNameHistory as documented and ignores other namespaces", () => {
    const cfg = validateStackConfig(
      staging((c) => {
        c["nodepool-rotation:drain"] = { deadlineMinutes: 30, concurrency: 5, batch: "25%", batchSoakSeconds: 30, soakSeconds: 60, waitForReady: true, deleteEmptyDirData: true, skip: false };
        c["nodepool-rotation:poolNameHistory"] = { app: ["app-1-30-8-gke1200-20261028-4c33b"] };
        c["gcp:zone"] = "asia-northeast1-a";
        c[P][0].revision = 2;
      }),
      { stack: "staging" },
    );
    assert.equal(cfg.drain.batch, "25%");
    for (const ok of [2, "3", "25%", "100%", "none"]) {
      const withBudget = validateStackConfig(staging((c) => { c["nodepool-rotation:drain"] = { defaultBudget: ok }; }), { stack: "staging" });
      assert.equal(withBudget.drain.defaultBudget, ok, `drain.defaultBudget ${JSON.stringify(ok)} accepted`);
    }
    // One rule per drain setting (rotation/settings.ts): fractions of minutes/seconds are accepted, as by the PoolDrainer.
    const fractional = validateStackConfig(staging((c) => { c["nodepool-rotation:drain"] = { deadlineMinutes: 0.5, soakSeconds: 1.5, batch: 2 }; }), { stack: "staging" });
    assert.deepEqual(fractional.drain, { deadlineMinutes: 0.5, soakSeconds: 1.5, batch: 2 });
    assert.deepEqual(cfg.poolNameHistory.app, ["app-1-30-8-gke1200-20261028-4c33b"]);
    assert.equal(cfg.pools[0].revision, 2);
    const prod = validateStackConfig(stackFileConfig("prod"), { stack: "prod" });
    assert.deepEqual(prod.promotion, { requireVerifiedIn: "staging" });
  });

  it("isRealDate knows leap years", () => {
    assert.equal(isRealDate("2028-02-29"), true);
    assert.equal(isRealDate("2026-02-29"), false);
    assert.equal(isRealDate("2026-04-31"), false);
    assert.equal(isRealDate("2026-12-31"), true);
  });
});

/**
 * Versioned pool names: the rules GKE and the rotation rely on, checked on the stack files and on
 * many generated pools (seeded PRNG, so a failure reproduces), plus the GKE version helpers.
 */
import * as assert from "node:assert/strict";
import type { PoolConfig } from "../../components/config";
import {
  GKE_POOL_NAME_REGEX,
  IMMUTABLE_NODEPOOL_INPUTS,
  IMMUTABLE_POOL_FIELDS,
  checkVersionSkew,
  compareGkeVersions,
  dateSlug,
  parseGkeVersion,
  poolName,
  tryParseGkeVersion,
  versionSlug,
} from "../../components/naming";

import { mulberry32 as prng } from "../support/prng";

const base: PoolConfig = {
  role: "app",
  version: "1.31.4-gke.1100",
  rotatedOn: "2026-11-20",
  machineType: "e2-standard-4",
  diskType: "pd-balanced",
  diskSizeGb: 100,
  imageType: "COS_CONTAINERD",
  minNodes: 3,
  maxNodes: 6,
  spot: false,
  serviceAccount: "gke-nodes@acme-game-staging.iam.gserviceaccount.com",
  oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
  labels: { team: "game" },
  taints: [],
  maxSurge: 1,
};

describe("naming: versioned pool names", () => {
  it("reads role-version-date-hash", () => {
    const n = poolName(base, "staging");
    assert.match(n, /^app-1-31-4-gke1100-20261120-[0-9a-f]{5}$/);
  });

  it("a version bump renames", () => {
    assert.notEqual(poolName({ ...base, version: "1.31.5-gke.1000" }), poolName(base));
    assert.notEqual(poolName({ ...base, version: "1.31.4-gke.1200" }), poolName(base));
  });

  it("a new rotation date renames, and so does a revision (same-day rollback)", () => {
    assert.notEqual(poolName({ ...base, rotatedOn: "2026-11-21" }), poolName(base));
    assert.notEqual(poolName({ ...base, revision: 2 }), poolName(base));
    assert.notEqual(poolName({ ...base, revision: 2 }), poolName({ ...base, revision: 3 }));
  });

  const immutableChanges: Record<(typeof IMMUTABLE_POOL_FIELDS)[number], Partial<PoolConfig>> = {
    machineType: { machineType: "e2-standard-8" },
    diskType: { diskType: "pd-ssd" },
    diskSizeGb: { diskSizeGb: 200 },
    imageType: { imageType: "UBUNTU_CONTAINERD" },
    serviceAccount: { serviceAccount: "other@acme-game-staging.iam.gserviceaccount.com" },
    oauthScopes: { oauthScopes: ["https://www.googleapis.com/auth/devstorage.read_only"] },
    spot: { spot: true },
  };
  for (const field of IMMUTABLE_POOL_FIELDS) {
    it(`a change of immutable ${field} renames (no same-name replacement for GKE to reject with 409)`, () => {
      const changed = { ...base, ...immutableChanges[field] };
      assert.notEqual(poolName(changed, "staging"), poolName(base, "staging"));
    });
  }

  it("maps every immutable field to a NodePool input", () => {
    assert.deepEqual(Object.keys(IMMUTABLE_NODEPOOL_INPUTS).sort(), [...IMMUTABLE_POOL_FIELDS].sort());
  });

  const mutableChanges: [string, Partial<PoolConfig>][] = [
    ["minNodes", { minNodes: 1 }],
    ["maxNodes", { maxNodes: 20 }],
    ["labels", { labels: { team: "other", tier: "gold" } }],
    ["taints", { taints: [{ key: "dedicated", value: "x", effect: "NO_SCHEDULE" }] }],
    ["maxSurge", { maxSurge: 3 }],
    ["oauthScopes order", { oauthScopes: ["https://www.googleapis.com/auth/b", "https://www.googleapis.com/auth/a"] }],
  ];
  for (const [what, change] of mutableChanges) {
    it(`a change of mutable ${what} keeps the name`, () => {
      if (what === "oauthScopes order") {
        const a = { ...base, oauthScopes: ["https://www.googleapis.com/auth/a", "https://www.googleapis.com/auth/b"] };
        assert.equal(poolName({ ...base, ...change }), poolName(a));
      } else {
        assert.equal(poolName({ ...base, ...change }, "prod"), poolName(base, "prod"));
      }
    });
  }

  it("the environment is part of the hash, not of the visible name", () => {
    const s = poolName(base, "staging");
    const p = poolName(base, "prod");
    assert.notEqual(s, p);
    assert.equal(s.slice(0, -5), p.slice(0, -5));
  });

  it("shortens a long role deterministically, keeping version, date and hash; same-prefix roles stay distinct", () => {
    const a = poolName({ ...base, role: "ingress-gateway-east", version: "1.30.5-gke.1014001" });
    const b = poolName({ ...base, role: "ingress-gateway-west", version: "1.30.5-gke.1014001" });
    for (const n of [a, b]) {
      assert.ok(n.length <= 40, n);
      assert.match(n, GKE_POOL_NAME_REGEX);
      assert.ok(n.includes("-1-30-5-gke1014001-20261120-"), n);
      assert.ok(n.startsWith("ingr"), n);
    }
    assert.notEqual(a, b);
    assert.equal(a, poolName({ ...base, role: "ingress-gateway-east", version: "1.30.5-gke.1014001" }));
  });

  it("never ends the shortened role with a dash", () => {
    // room for the role here is 7 characters: "abcdef-" must become "abcdef"
    const n = poolName({ ...base, role: "abcdef-ghijk", version: "1.30.5-gke.1014001" });
    assert.match(n, /^abcdef-1-30-5-gke1014001-/);
  });

  it("property: generated roles/versions/dates always give valid, deterministic, distinct names", () => {
    const rand = prng(20261120);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const pick = <T>(xs: readonly T[]) => xs[int(0, xs.length - 1)];
    const alnum = "abcdefghijklmnopqrstuvwxyz0123456789";
    const genRole = () => {
      const len = int(1, 20);
      let r = pick("abcdefghijklmnopqrstuvwxyz".split(""));
      for (let i = 1; i < len; i++) r += i < len - 1 && rand() < 0.15 ? "-" : pick(alnum.split(""));
      return r;
    };
    let checked = 0;
    for (let round = 0; round < 200; round++) {
      const version = `1.${int(0, 40)}.${int(0, 99)}-gke.${int(0, 9_999_999)}`;
      const y = int(2000, 2099), m = int(1, 12), d = int(1, 28);
      const rotatedOn = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
      const roles = new Set<string>();
      while (roles.size < 8) roles.add(genRole());
      const env = pick(["staging", "prod", "dev-1"]);
      const shared = { spot: rand() < 0.5, diskSizeGb: int(10, 500), machineType: pick(["e2-standard-4", "n2-highmem-16", "c3-standard-8"]) };
      const names = new Set<string>();
      for (const role of roles) {
        const pool = { ...base, ...shared, role, version, rotatedOn };
        const name = poolName(pool, env);
        assert.match(name, GKE_POOL_NAME_REGEX, name);
        assert.ok(name.length <= 40, name);
        assert.ok(name.includes(`-${versionSlug(version)}-${dateSlug(rotatedOn)}-`), `${name} lacks version/date`);
        const rolePart = name.slice(0, name.length - `-${versionSlug(version)}-${dateSlug(rotatedOn)}-xxxxx`.length);
        assert.ok(rolePart.length >= 1 && role.startsWith(rolePart), `${name}: role part ${rolePart} is not a prefix of ${role}`);
        assert.equal(poolName(structuredClone(pool), env), name, "deterministic");
        names.add(name);
        checked++;
      }
      assert.equal(names.size, roles.size, `distinct roles gave colliding names: ${[...roles].join(",")}`);
    }
    assert.equal(checked, 1600);
  });

  it("the stack files' pools get names that match GKE's rule", async () => {
    const { stackFileConfig } = await import("./harness");
    const { validateStackConfig } = await import("../../components/config");
    for (const stack of ["staging", "prod"]) {
      const cfg = validateStackConfig(stackFileConfig(stack), { stack });
      for (const p of cfg.pools) assert.match(poolName(p, cfg.environment), GKE_POOL_NAME_REGEX);
    }
  });
});

describe("naming: GKE versions", () => {
  it("slugs versions losslessly", () => {
    assert.equal(versionSlug("1.31.4-gke.1100"), "1-31-4-gke1100");
    assert.equal(versionSlug("1.30.5-gke.1014001"), "1-30-5-gke1014001");
    assert.throws(() => versionSlug("1.31"), /not an exact GKE version: expected MAJOR\.MINOR\.PATCH-gke\.BUILD/);
  });

  it("parses exact versions only", () => {
    assert.deepEqual(parseGkeVersion("1.31.4-gke.1100"), { major: 1, minor: 31, patch: 4, gke: 1100, raw: "1.31.4-gke.1100" });
    for (const bad of ["1.31", "1.31.4", "v1.31.4-gke.1100", "latest", "1.31.4-gke.", "01.31.4-gke.1", "1.31.4-gke.1 "]) {
      assert.equal(tryParseGkeVersion(bad), undefined, bad);
    }
    assert.equal(tryParseGkeVersion(1.31), undefined);
  });

  it("compares numerically, not as strings", () => {
    assert.ok(compareGkeVersions("1.31.4-gke.1100", "1.31.4-gke.900") > 0);
    assert.ok(compareGkeVersions("1.9.0-gke.1", "1.10.0-gke.1") < 0);
    assert.ok(compareGkeVersions("1.31.10-gke.1", "1.31.9-gke.500") > 0);
    assert.equal(compareGkeVersions("1.31.4-gke.1100", "1.31.4-gke.1100"), 0);
  });

  it("skew: nodes never newer than the control plane, at most 2 minors older", () => {
    const cp = "1.31.4-gke.1100";
    assert.equal(checkVersionSkew(cp, "1.31.4-gke.1100"), undefined);
    assert.equal(checkVersionSkew(cp, "1.29.12-gke.500"), undefined);
    assert.match(checkVersionSkew(cp, "1.28.15-gke.100")!, /3 minor versions older/);
    assert.match(checkVersionSkew(cp, "1.31.4-gke.1200")!, /newer than the control plane/);
    assert.match(checkVersionSkew(cp, "1.32.0-gke.1")!, /newer than the control plane/);
    assert.match(checkVersionSkew("2.1.0-gke.1", "1.31.0-gke.1")!, /different major/);
  });
});

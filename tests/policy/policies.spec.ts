/**
 * Each policy on hand-written fixtures: a passing stack, then one field bent at a time.
 * Policies are called directly (tests/policy/harness.ts builds the SDK's argument shapes).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { poolName } from "../../components/naming";
import { POLICY_NAMES, TYPES, configSchemas, policies, policyByName, versionedNameProblems } from "../../policy/policies";
import { PackResult, ResourceSpec, UNKNOWN, failedPolicies, runPack, runPolicy } from "./harness";
import { CONTROL_PLANE, OLDER_NODES, PinMode, deployment, drainerFor, goodCluster, goodPool, goodStack, merge, pdb } from "./fixtures/resources";

/** Runs one policy and returns its violation messages (asserting nothing was skipped for unknowns). */
async function check(name: (typeof POLICY_NAMES)[number], specs: ResourceSpec[], config = {}): Promise<string[]> {
    const r = await runPolicy(policyByName(name), specs, config);
    assert.deepEqual(r.previewSkips, [], "no policy may trip over an unknown value");
    return r.violations.map(v => v.message);
}

function only(msgs: string[], pattern: RegExp): void {
    assert.equal(msgs.length, 1, `expected exactly one violation, got ${JSON.stringify(msgs, null, 1)}`);
    assert.match(msgs[0], pattern);
}

describe("policy pack: shape", () => {
    it("exports exactly the ten named policies, each described", () => {
        assert.deepEqual(policies.map(p => p.name), [...POLICY_NAMES]);
        for (const p of policies) {
            assert.ok(p.description.length > 20, `${p.name} needs a description`);
            assert.equal(p.enforcementLevel, undefined, `${p.name}: levels come from the pack default or the stack's config`);
        }
    });

    it("policy/index.ts only constructs the PolicyPack (nothing imports it, nothing else runs there)", () => {
        const src = fs.readFileSync(path.join(__dirname, "../../policy/index.ts"), "utf8")
            .replace(/\/\/.*$/gm, "").trim();
        assert.equal((src.match(/new PolicyPack\(/g) ?? []).length, 1);
        assert.doesNotMatch(src, /\bexport\b/);
        const statements = src.split(";").map(s => s.trim()).filter(Boolean);
        assert.ok(statements.every(s => s.startsWith("import ") || s.startsWith("new PolicyPack(")), src);
    });

    it("the per-stack config files validate against every policy's schema", () => {
        const ajv = new Ajv({ strict: false });
        const levels = ["advisory", "mandatory", "remediate", "disabled"];
        const dir = path.join(__dirname, "../../policy/config");
        const files = fs.readdirSync(dir).filter(f => f.endsWith(".json"));
        assert.ok(files.includes("staging.json") && files.includes("prod.json"), files.join());
        for (const f of files) {
            const cfg = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
            for (const [key, value] of Object.entries<any>(cfg)) {
                if (key === "all" || typeof value === "string") {
                    assert.ok(levels.includes(typeof value === "string" ? value : value.enforcementLevel), `${f}: ${key}`);
                    continue;
                }
                assert.ok((POLICY_NAMES as readonly string[]).includes(key), `${f}: unknown policy ${key}`);
                const { enforcementLevel, ...props } = value;
                if (enforcementLevel !== undefined) assert.ok(levels.includes(enforcementLevel), `${f}: ${key}`);
                const schema = { type: "object", additionalProperties: false, ...(configSchemas[key] ?? { properties: {} }) };
                assert.ok(ajv.validate(schema, props), `${f}: ${key}: ${ajv.errorsText()}`);
            }
        }
    });
});

describe("policy pack: a compliant stack", () => {
    for (const mode of ["channel", "no-channel"] as PinMode[]) {
        it(`passes every policy with mandatory enforcement and no preview skips (${mode})`, async () => {
            const specs = goodStack(mode);
            const r = await runPack(specs);
            assert.deepEqual(r.violations, []);
            assert.deepEqual(r.previewSkips, []);
            // the pack really looked: every policy applied to at least one resource of the stack
            for (const p of policies) {
                const skipped = r.notApplicable.filter(na => na.policy === p.name).length;
                const chances = "validateStack" in p ? 1 : specs.length;
                assert.ok(skipped < chances, `${p.name} applied to nothing`);
            }
        });
    }

    it("a violation is mandatory by default, and a stack's config can downgrade or disable it", async () => {
        const stack = [...goodStack(), deployment("api")]; // api: 3 replicas, no PDB
        const byDefault = await runPack(stack);
        assert.deepEqual(failedPolicies(byDefault), ["workload-has-pdb"]);
        assert.equal(byDefault.violations[0].enforcementLevel, "mandatory");
        const advisory = await runPack(stack, { all: "mandatory", "workload-has-pdb": { enforcementLevel: "advisory" } });
        assert.deepEqual(advisory.violations.map(v => v.enforcementLevel), ["advisory"]);
        const disabled = await runPack(stack, { "workload-has-pdb": "disabled" });
        assert.deepEqual(disabled.violations, []);
        const stagingWide = await runPack(stack, { all: "advisory" });
        assert.deepEqual(stagingWide.violations.map(v => v.enforcementLevel), ["advisory"]);
    });
});

describe("nodepool-versioned-name", () => {
    const v = (patch: any) => check("nodepool-versioned-name", [goodPool(patch)]);

    it("passes role-versionSlug-date-hash names", async () => {
        assert.deepEqual(await v({}), []);
        assert.deepEqual(versionedNameProblems("batch-1-34-4-gke1047000-20261121-0b1c2", OLDER_NODES), []);
    });
    it("agrees with naming.ts: every name poolName() builds passes, for a spread of roles, versions and dates", () => {
        let n = 0;
        for (const role of ["app", "b", "batch-workers", "a-very-long-role-name", "x1-y2"]) {
            for (const version of [CONTROL_PLANE, "1.9.0-gke.1", "1.32.12-gke.1234567890", "2.0.0-gke.0"]) {
                for (const rotatedOn of ["2026-11-20", "2028-02-29", "2030-12-31"]) {
                    const pool = { role, version, rotatedOn, machineType: "e2-standard-4", diskType: "pd-balanced", diskSizeGb: 100, imageType: "COS_CONTAINERD", serviceAccount: undefined, oauthScopes: [], spot: false };
                    const name = poolName(pool, "staging");
                    assert.deepEqual(versionedNameProblems(name, version), [], `${name} for ${version}`);
                    const other = version === "2.0.0-gke.0" ? CONTROL_PLANE : "2.0.0-gke.0";
                    assert.equal(versionedNameProblems(name, other).length, 1, `${name} must not pass for ${other}`);
                    n++;
                }
            }
        }
        assert.equal(n, 60);
    });
    it("fails a name that does not carry the pool's version (bumped version, stale name)", async () => {
        only(await v({ version: "1.35.3-gke.1200000" }), /does not embed "-1-35-3-gke1200000-YYYYMMDD"/);
    });
    it("fails a name without a date", async () => {
        only(await v({ name: "app-1-35-2-gke1269000-3fa9c" }), /does not embed/);
    });
    it("fails an impossible date", async () => {
        only(await v({ name: "app-1-35-2-gke1269000-20261340-3fa9c" }), /not a real date/);
    });
    it("fails names GKE rejects (uppercase, > 40 chars)", async () => {
        only(await v({ name: "App-1-35-2-gke1269000-20261120-3fa9c" }), /GKE's pool name rule/);
        only(await v({ name: "application-server-1-35-2-gke1269000-20261120-3fa9c" }), /at most 40/);
    });
    it("fails autonamed pools and pools without an exact version", async () => {
        only(await v({ name: undefined, namePrefix: "app-" }), /no explicit `name`/);
        only(await v({ version: undefined }), /does not pin an exact GKE `version`/);
        only(await v({ version: "1.35" }), /does not pin an exact GKE `version`/);
    });
    it("does not apply to other resource types", async () => {
        const r = await runPolicy(policyByName("nodepool-versioned-name"), [goodCluster()]);
        assert.deepEqual(r.violations, []);
        assert.equal(r.notApplicable.length, 1);
    });
});

describe("nodepool-no-delete-before-replace", () => {
    const pool = goodPool();
    it("passes when the option is unset or false", async () => {
        assert.deepEqual(await check("nodepool-no-delete-before-replace", [pool, { ...pool, opts: { deleteBeforeReplace: false } }]), []);
    });
    it("fails a pool with deleteBeforeReplace", async () => {
        only(await check("nodepool-no-delete-before-replace", [{ ...pool, opts: { deleteBeforeReplace: true } }]), /node pool "app-pool" sets deleteBeforeReplace/);
    });
    it("fails a PoolDrainer with deleteBeforeReplace (it would drain before the new pool exists)", async () => {
        only(await check("nodepool-no-delete-before-replace", [{ ...drainerFor(pool), opts: { deleteBeforeReplace: true } }]), /PoolDrainer/);
    });
    it("ignores other resources", async () => {
        assert.deepEqual(await check("nodepool-no-delete-before-replace", [{ ...goodCluster(), opts: { deleteBeforeReplace: true } }]), []);
    });
});

describe("nodepool-pinned-version-no-autoupgrade", () => {
    const NAME = "nodepool-pinned-version-no-autoupgrade";
    /** Cluster in `mode` (patched) with one pool (patched); the policy's messages. */
    const v = (mode: PinMode, poolPatch: any = {}, clusterPatch: any = {}) => {
        const cluster = goodCluster(clusterPatch, mode);
        return check(NAME, [cluster, goodPool(poolPatch, "app-pool", cluster)]);
    };
    const noPoolHold = { maintenancePolicies: undefined };
    const noClusterHold = { maintenancePolicy: undefined };

    describe("no release channel (UNSPECIFIED)", () => {
        it("passes autoUpgrade false + autoRepair true", async () => {
            assert.deepEqual(await v("no-channel"), []);
        });
        it("fails auto-upgrade on, or unset (GKE's default is on) — an exclusion does not make up for it", async () => {
            only(await v("no-channel", { management: { autoUpgrade: true } }), /has no release channel, but management\.autoUpgrade is true.*Set management\.autoUpgrade: false/);
            only(await v("no-channel", { management: undefined }), /autoUpgrade is unset \(GKE's default is true\)/);
            only(await v("no-channel", { management: { autoUpgrade: true }, maintenancePolicies: [{ exclusionUntilEndOfSupports: [{ enabled: true }] }] }), /has no release channel/);
        });
    });

    describe("in a release channel", () => {
        it("passes auto-upgrade on held by both exclusions, by the pool's alone, or by the cluster's alone", async () => {
            assert.deepEqual(await v("channel"), []);
            assert.deepEqual(await v("channel", {}, noClusterHold), []);
            assert.deepEqual(await v("channel", noPoolHold), []);
            for (const channel of ["STABLE", "RAPID", "EXTENDED"]) {
                assert.deepEqual(await v("channel", noPoolHold, { releaseChannel: { channel } }), [], channel);
            }
        });
        it("fails a pool nothing holds, naming the channel and both fixes", async () => {
            only(await v("channel", noPoolHold, noClusterHold), /node pool "app-pool": pool pins version 1\.35\.2-gke\.1269000 with management\.autoUpgrade true in release channel REGULAR of cluster "cluster", and no maintenance exclusion holds it.*exclusionUntilEndOfSupports.*NO_MINOR_OR_NODE_UPGRADES/);
            only(await v("channel", { maintenancePolicies: [{ exclusionUntilEndOfSupports: [{ enabled: false }] }] }, noClusterHold), /no maintenance exclusion holds it/);
        });
        it("does not count cluster exclusions that lapse or let node upgrades through", async () => {
            const exclusion = (exclusionOptions: any) => ({ maintenancePolicy: { maintenanceExclusions: [{ exclusionName: "x", startTime: "2026-11-20T00:00:00Z", endTime: "2026-12-20T00:00:00Z", exclusionOptions }] } });
            only(await v("channel", noPoolHold, exclusion({ scope: "NO_MINOR_OR_NODE_UPGRADES" })), /no maintenance exclusion holds it/);
            only(await v("channel", noPoolHold, exclusion({ scope: "NO_MINOR_UPGRADES", endTimeBehavior: "UNTIL_END_OF_SUPPORT" })), /no maintenance exclusion holds it/);
            only(await v("channel", noPoolHold, exclusion({ scope: "NO_UPGRADES" })), /no maintenance exclusion holds it/);
        });
        it("an unset channel counts as a channel (GKE enrols the cluster)", async () => {
            only(await v("channel", noPoolHold, { releaseChannel: undefined, maintenancePolicy: undefined }), /release channel \(unset: GKE enrols the cluster in one\)/);
            assert.deepEqual(await v("channel", {}, { releaseChannel: undefined }), []);
        });
        it("fails auto-upgrade off, which GKE rejects inside a channel", async () => {
            only(await v("channel", { management: { autoUpgrade: false } }), /management\.autoUpgrade false, but cluster "cluster" is in release channel REGULAR, where GKE rejects that.*set autoUpgrade: true/);
        });
    });

    it("fails auto-repair off in either mode", async () => {
        only(await v("no-channel", { management: { autoRepair: false } }), /autoRepair is false/);
        only(await v("channel", { management: { autoRepair: false } }), /autoRepair is false/);
    });

    describe("a cluster outside the stack (adopted): only the pool's own settings count", () => {
        const adopted = (patch: any) => check(NAME, [goodPool(patch, "app-pool", goodCluster({}, "channel"))]);
        it("passes auto-upgrade off, or on with the pool's own exclusion", async () => {
            assert.deepEqual(await adopted({}), []);
            assert.deepEqual(await adopted({ management: { autoUpgrade: false }, maintenancePolicies: undefined }), []);
        });
        it("fails auto-upgrade on without the pool's own exclusion", async () => {
            only(await adopted(noPoolHold), /in a cluster outside this stack, and no maintenance exclusion holds it.*or, for a cluster without a release channel, set management\.autoUpgrade: false/);
        });
    });

    it("values unknown during preview stand the check aside instead of guessing", async () => {
        // channel unknown: auto-upgrade off is right without a channel, on + an exclusion right with one
        assert.deepEqual(await v("no-channel", {}, { releaseChannel: UNKNOWN.object }), []);
        assert.deepEqual(await v("channel", noPoolHold, { releaseChannel: UNKNOWN.object }), []);
        // ...but auto-upgrade on with nothing holding the pool is wrong in both modes, so it is still reported
        only(await v("channel", noPoolHold, { releaseChannel: UNKNOWN.object, maintenancePolicy: undefined }), /in cluster "cluster" \(release channel not known yet\), and no maintenance exclusion holds it/);
        assert.deepEqual(await v("channel", noPoolHold, { maintenancePolicy: UNKNOWN.object }), []);
        assert.deepEqual(await v("channel", { maintenancePolicies: UNKNOWN.array }, noClusterHold), []);
        assert.deepEqual(await v("channel", { management: { autoUpgrade: UNKNOWN.bool } }, noClusterHold), []);
        assert.deepEqual(await v("no-channel", { management: { autoUpgrade: UNKNOWN.bool } }), []);
    });

    it("does not apply to a stack whose pools follow the cluster's version", async () => {
        const cluster = goodCluster();
        const r = await runPolicy(policyByName(NAME), [cluster, goodPool({ version: undefined, management: undefined }, "app-pool", cluster)]);
        assert.deepEqual(r.violations, []);
        assert.match(r.notApplicable[0].reason ?? "", /no node pool that pins a version/);
    });
});

describe("nodepool-surge-no-unavailable", () => {
    const v = (patch: any) => check("nodepool-surge-no-unavailable", [goodPool(patch)]);
    it("passes surge 1 / unavailable 0 and surge 3 / unavailable 0", async () => {
        assert.deepEqual(await v({}), []);
        assert.deepEqual(await v({ upgradeSettings: { maxSurge: 3, strategy: undefined } }), []);
    });
    it("fails maxUnavailable > 0", async () => {
        only(await v({ upgradeSettings: { maxUnavailable: 1 } }), /maxUnavailable is 1/);
    });
    it("fails maxSurge 0", async () => {
        only(await v({ upgradeSettings: { maxSurge: 0 } }), /maxSurge is 0/);
    });
    it("fails missing upgradeSettings and blue-green", async () => {
        only(await v({ upgradeSettings: undefined }), /not set/);
        only(await v({ upgradeSettings: { strategy: "BLUE_GREEN" } }), /BLUE_GREEN/);
    });
});

describe("nodepool-hardened", () => {
    const v = (patch: any) => check("nodepool-hardened", [goodPool({ nodeConfig: patch })]);
    it("passes GKE_METADATA + secure boot + legacy endpoints disabled", async () => {
        assert.deepEqual(await v({}), []);
    });
    it("fails node metadata exposed to pods", async () => {
        only(await v({ workloadMetadataConfig: { mode: "GCE_METADATA" } }), /"GCE_METADATA".*GKE_METADATA/);
        only(await v({ workloadMetadataConfig: undefined }), /mode is unset/);
    });
    it("fails secure boot off or unset", async () => {
        only(await v({ shieldedInstanceConfig: { enableSecureBoot: false } }), /enableSecureBoot is false/);
        only(await v({ shieldedInstanceConfig: undefined }), /enableSecureBoot is unset/);
    });
    it("fails legacy metadata endpoints enabled or unset", async () => {
        only(await v({ metadata: { "disable-legacy-endpoints": "false" } }), /disable-legacy-endpoints/);
        only(await v({ metadata: undefined }), /disable-legacy-endpoints.*unset/);
    });
});

describe("nodepool-has-drainer", () => {
    const cluster = goodCluster();
    const pool = goodPool({}, "app-pool", cluster);
    it("passes one drainer per pool, by property or by dependsOn", async () => {
        assert.deepEqual(await check("nodepool-has-drainer", [cluster, pool, drainerFor(pool)]), []);
        const viaDependsOn = { ...drainerFor(pool), propertyDependencies: {} };
        assert.deepEqual(await check("nodepool-has-drainer", [cluster, pool, viaDependsOn]), []);
    });
    it("fails a pool without a drainer, naming the pool's URN", async () => {
        const r = await runPolicy(policyByName("nodepool-has-drainer"), [cluster, pool]);
        assert.equal(r.violations.length, 1);
        assert.match(r.violations[0].message, /no PoolDrainer depending on it/);
        assert.equal(r.violations[0].urn, "urn:pulumi:test::nodepool-rotation::gcp:container/nodePool:NodePool::app-pool");
    });
    it("fails a drainer that does not depend on the pool (Pulumi could delete the pool first)", async () => {
        const detached = { ...drainerFor(pool), dependencies: [], propertyDependencies: {} };
        only(await check("nodepool-has-drainer", [cluster, pool, detached]), /no PoolDrainer depending on it/);
    });
    it("fails two drainers on one pool", async () => {
        only(await check("nodepool-has-drainer", [cluster, pool, drainerFor(pool), drainerFor(pool, "second")]), /2 PoolDrainers/);
    });
    it("fails a drainer that drains another pool name", async () => {
        only(await check("nodepool-has-drainer", [cluster, pool, drainerFor(pool, "d", { poolName: "app-1-34-0-gke1000000-20261001-aaaaa" })]), /drains "app-1-34-0-gke1000000-20261001-aaaaa"/);
    });
});

describe("nodepool-version-skew", () => {
    const stack = (poolVersion: string, clusterPatch: any = {}, mode: PinMode = "channel") => {
        const cluster = goodCluster(clusterPatch, mode);
        return [cluster, goodPool({ version: poolVersion }, "app-pool", cluster)];
    };
    it("passes equal versions and pools up to 2 minors older", async () => {
        assert.deepEqual(await check("nodepool-version-skew", stack(CONTROL_PLANE)), []);
        assert.deepEqual(await check("nodepool-version-skew", stack("1.33.9-gke.1000000")), []);
    });
    it("fails a pool newer than the control plane (a newer -gke.N build, or a newer minor)", async () => {
        only(await check("nodepool-version-skew", stack("1.35.2-gke.1269001")), /newer than the control plane/);
        only(await check("nodepool-version-skew", stack("1.36.0-gke.1000000")), /newer than the control plane/);
    });
    it("fails a pool 3 minors older", async () => {
        only(await check("nodepool-version-skew", stack("1.32.15-gke.1000000")), /3 minor versions older/);
    });
    it("uses the reported masterVersion when the cluster does not pin minMasterVersion", async () => {
        only(await check("nodepool-version-skew", stack(CONTROL_PLANE, { minMasterVersion: undefined, masterVersion: "1.34.2-gke.1000000" })), /newer than the control plane 1\.34\.2-gke\.1000000/);
    });
    it("accepts every release channel and no channel alike (holding versions is nodepool-pinned-version-no-autoupgrade's concern)", async () => {
        for (const channel of ["STABLE", "REGULAR", "RAPID", "EXTENDED", undefined]) {
            assert.deepEqual(await check("nodepool-version-skew", stack(CONTROL_PLANE, { releaseChannel: channel ? { channel } : undefined })), [], String(channel));
        }
        assert.deepEqual(await check("nodepool-version-skew", stack(CONTROL_PLANE, {}, "no-channel")), []);
    });
    it("skips pools of an adopted cluster (no cluster resource in the stack)", async () => {
        assert.deepEqual(await check("nodepool-version-skew", [goodPool({ version: "1.20.0-gke.1" })]), []);
    });
});

describe("workload-has-pdb", () => {
    const web = deployment("web");
    const v = (...specs: ResourceSpec[]) => check("workload-has-pdb", specs);
    it("passes one budget allowing a disruption (int, percent rounded up, matchExpressions, empty selector)", async () => {
        assert.deepEqual(await v(web, pdb("web", "web")), []);
        assert.deepEqual(await v(web, pdb("web", "web", { spec: { maxUnavailable: "10%" } })), []); // ceil(0.3) = 1
        assert.deepEqual(await v(web, pdb("web", "web", { spec: { maxUnavailable: undefined, minAvailable: "50%" } })), []); // 3 - ceil(1.5) = 1
        assert.deepEqual(await v(web, pdb("expr", "x", { spec: { selector: { matchLabels: undefined, matchExpressions: [{ key: "app", operator: "In", values: ["web", "api"] }] } } })), []);
        assert.deepEqual(await v(web, pdb("all", "x", { spec: { selector: { matchLabels: undefined } } })), []);
    });
    it("fails a multi-replica Deployment without a budget", async () => {
        only(await v(web), /Deployment "web" \(game, 3 replicas\) has no PodDisruptionBudget/);
    });
    it("fails a budget in another namespace or selecting other labels", async () => {
        only(await v(web, pdb("web", "web", { metadata: { namespace: "other" } })), /has no PodDisruptionBudget/);
        only(await v(web, pdb("web", "web", { spec: { selector: { matchLabels: { app: "web", tier: "db" } } } })), /has no PodDisruptionBudget/);
    });
    it("fails two budgets selecting the same pods (Eviction API answers 500)", async () => {
        only(await v(web, pdb("a", "web"), pdb("b", "x", { spec: { selector: { matchLabels: { app: undefined, tier: "web" } } } })), /selected by 2 PodDisruptionBudgets \(a, b\)/);
    });
    it("fails budgets that allow no disruption", async () => {
        only(await v(web, pdb("web", "web", { spec: { maxUnavailable: undefined, minAvailable: 3 } })), /allows 0 disruptions/);
        only(await v(web, pdb("web", "web", { spec: { maxUnavailable: undefined, minAvailable: "100%" } })), /allows 0 disruptions/);
        only(await v(web, pdb("web", "web", { spec: { maxUnavailable: 0 } })), /allows 0 disruptions/);
        only(await v(web, pdb("web", "web", { spec: { maxUnavailable: "0%" } })), /allows 0 disruptions/);
    });
    it("checks StatefulSets too, and skips single-replica workloads", async () => {
        only(await v(deployment("db", {}, TYPES.statefulSet)), /StatefulSet "db"/);
        assert.deepEqual(await v(deployment("one", { spec: { replicas: 1 } }), deployment("dflt", { spec: { replicas: undefined } })), []);
    });
    it("honours minReplicas and excludeNamespaces from the stack's policy config", async () => {
        assert.deepEqual(await check("workload-has-pdb", [web], { "workload-has-pdb": { minReplicas: 4 } }), []);
        assert.deepEqual(await check("workload-has-pdb", [web], { "workload-has-pdb": { excludeNamespaces: ["game"] } }), []);
    });
});

describe("workload-not-pinned-to-pool-name", () => {
    const v = (spec: ResourceSpec) => check("workload-not-pinned-to-pool-name", [spec]);
    const podSpec = (patch: any) => deployment("web", { spec: { template: { spec: patch } } });
    it("passes workloads that select the role label", async () => {
        assert.deepEqual(await v(deployment("web")), []);
    });
    it("fails a nodeSelector on cloud.google.com/gke-nodepool", async () => {
        only(await v(podSpec({ nodeSelector: { "cloud.google.com/gke-nodepool": "app-1-35-2-gke1269000-20261120-3fa9c" } })), /nodeSelector targets cloud.google.com\/gke-nodepool/);
    });
    it("fails required and preferred node affinity on the pool name", async () => {
        const term = { matchExpressions: [{ key: "cloud.google.com/gke-nodepool", operator: "In", values: ["x"] }] };
        only(await v(podSpec({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] } } } })), /requiredDuringScheduling/);
        only(await v(podSpec({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: term }] } } })), /preferredDuringScheduling/);
    });
    it("checks every pod-template kind (DaemonSet, CronJob, bare Pod)", async () => {
        const pin = { nodeSelector: { "cloud.google.com/gke-nodepool": "x" } };
        only(await v({ type: TYPES.daemonSet, name: "ds", props: { spec: { template: { spec: pin } } } }), /ds: nodeSelector/);
        only(await v({ type: TYPES.cronJob, name: "cj", props: { spec: { jobTemplate: { spec: { template: { spec: pin } } } } } }), /cj: nodeSelector/);
        only(await v({ type: TYPES.pod, name: "p", props: { spec: pin } }), /p: nodeSelector/);
    });
});

describe("workload-readiness-probe", () => {
    const v = (spec: ResourceSpec, config = {}) => check("workload-readiness-probe", [spec], config);
    const withContainers = (containers: any[], extra: any = {}) => deployment("web", merge({ spec: { template: { spec: { containers } } } }, extra));
    it("passes when every container has a readinessProbe", async () => {
        assert.deepEqual(await v(deployment("web")), []);
    });
    it("fails each container without one, by name", async () => {
        const msgs = await v(withContainers([{ name: "main", readinessProbe: { tcpSocket: { port: 80 } } }, { name: "sidecar" }]));
        only(msgs, /container "sidecar" of web \(3 replicas\)/);
    });
    it("skips single-replica workloads unless minReplicas says otherwise", async () => {
        const single = withContainers([{ name: "main" }], { spec: { replicas: 1 } });
        assert.deepEqual(await v(single), []);
        only(await v(single, { "workload-readiness-probe": { minReplicas: 1 } }), /container "main"/);
    });
});

describe("values unknown during preview are never reported", () => {
    it("the harness is faithful: a naive policy reading an unknown value trips the SDK's UnknownValueError", async () => {
        const naive = { name: "naive", description: "reads a field without known()", validateResource: (args: any, report: any) => { if (args.props.version !== "x") report("bad"); } };
        const r = await runPolicy(naive as any, [goodPool({ version: UNKNOWN.string })]);
        assert.deepEqual(r.violations, []);
        assert.equal(r.previewSkips.length, 1);
        assert.match(r.previewSkips[0].message, /can't be known during preview/);
    });

    it("a stack whose every interesting value is unknown yields no violation and no skip", async () => {
        const cluster = goodCluster({ minMasterVersion: UNKNOWN.string, releaseChannel: UNKNOWN.object });
        const pool = goodPool({
            name: UNKNOWN.string,
            version: UNKNOWN.string,
            management: { autoUpgrade: UNKNOWN.bool },
            upgradeSettings: UNKNOWN.object,
            nodeConfig: { workloadMetadataConfig: UNKNOWN.object, shieldedInstanceConfig: { enableSecureBoot: UNKNOWN.bool }, metadata: UNKNOWN.object },
        }, "app-pool", cluster);
        const specs = [
            cluster, pool, drainerFor(pool, "d", { poolName: UNKNOWN.string }),
            deployment("web", { spec: { replicas: UNKNOWN.number } }),
            deployment("api", { spec: { template: { spec: { nodeSelector: UNKNOWN.object, containers: UNKNOWN.array } } } }),
            pdb("api", "api", { spec: { selector: UNKNOWN.object } }),
            deployment("worker", { spec: { template: { metadata: { labels: { app: UNKNOWN.string } } } } }),
        ];
        const r = await runPack(specs);
        assert.deepEqual(r.violations, []);
        assert.deepEqual(r.previewSkips, []);
    });

    it("an unknown value only silences the check that needs it", async () => {
        // version unknown, but hardening is known-bad and must still be reported
        const pool = goodPool({ version: UNKNOWN.string, nodeConfig: { shieldedInstanceConfig: { enableSecureBoot: false } } });
        const r: PackResult = await runPack([goodCluster(), pool, drainerFor(pool)]);
        assert.deepEqual(failedPolicies(r), ["nodepool-hardened"]);
        assert.deepEqual(r.previewSkips, []);
    });
});

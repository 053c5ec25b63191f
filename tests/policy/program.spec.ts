/**
 * The policy pack against the REAL program (index.ts with Pulumi.<stack>.yaml), collected under
 * Pulumi mocks in the shapes the analyzer receives, plus a small workloads program
 * (fixtures/workloads.ts), in both ways of holding pinned pools (release channel + end-of-support
 * exclusions, or no channel + auto-upgrade off). The clean stacks pass the whole pack; each injected
 * fault fails exactly the policy that guards against it.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { parseGkeVersion } from "../../components/naming";
import { TYPES } from "../../policy/policies";
import { stackFileConfig } from "../program/harness";
import { ResourceSpec, failedPolicies, runPack } from "./harness";
import { Fault, ROOT, Registration, collectProgram } from "./program";
import { WorkloadFaults, declareWorkloads } from "./fixtures/workloads";

/**
 * How the cluster holds pinned pools (issue 13): "channel" = the stack file's release channel
 * (REGULAR unless it says otherwise: cluster exclusion NO_MINOR_OR_NODE_UPGRADES until end of
 * support, pools auto-upgrading with their own exclusion); "no-channel" = the same file with
 * `cluster.releaseChannel: UNSPECIFIED` (pools with auto-upgrade off).
 */
type PinMode = "channel" | "no-channel";
const MODES: PinMode[] = ["channel", "no-channel"];
const CLUSTER_KEY = "nodepool-rotation:cluster";

/** The stack file's config, with the cluster's release channel set for `mode`. */
function configFor(stack: string, mode: PinMode): Record<string, unknown> {
    const config = stackFileConfig(stack);
    const cluster = { ...(config[CLUSTER_KEY] as Record<string, unknown>) };
    if (mode === "no-channel") {
        cluster.releaseChannel = "UNSPECIFIED";
    } else if (cluster.releaseChannel === "UNSPECIFIED") {
        delete cluster.releaseChannel; // the program's default channel
    }
    return { ...config, [CLUSTER_KEY]: cluster };
}

/** The program plus the workloads fixture, collected for `stack`. */
function collect(stack: string, opts: { preview?: boolean; fault?: Fault; workloads?: WorkloadFaults; mode?: PinMode } = {}): Promise<ResourceSpec[]> {
    return collectProgram({
        stack,
        config: configFor(stack, opts.mode ?? "channel"),
        preview: opts.preview,
        fault: opts.fault,
        program: () => {
            require(path.join(ROOT, "index.ts"));
            declareWorkloads(opts.workloads);
        },
    });
}

/** A fault that edits registrations of `type` (optionally only the one named `name`). */
function edit(type: string, name: string | undefined, change: (reg: Registration) => void): Fault {
    return reg => {
        if (reg.type === type && (name === undefined || reg.name === name)) {
            change(reg);
        }
        return reg;
    };
}

const ofType = (specs: ResourceSpec[], type: string) => specs.filter(s => s.type === type);

for (const mode of MODES) {
    for (const stack of ["staging", "prod"]) {
        for (const preview of [true, false]) {
            describe(`policy pack on the real program: ${stack}, ${mode} (${preview ? "pulumi preview" : "pulumi up"})`, () => {
                let specs: ResourceSpec[];
                before(async () => {
                    specs = await collect(stack, { preview, mode });
                });

                it("collects the program's cluster, every configured pool and the workloads", () => {
                    const pools = stackFileConfig(stack)["nodepool-rotation:pools"] as unknown[];
                    assert.equal(ofType(specs, TYPES.nodePool).length, pools.length);
                    assert.equal(ofType(specs, TYPES.cluster).length, 1);
                    assert.equal(ofType(specs, TYPES.deployment).length, 1);
                    assert.equal(ofType(specs, TYPES.pdb).length, 2);
                    for (const pool of ofType(specs, TYPES.nodePool)) {
                        assert.ok(pool.propertyDependencies?.cluster?.length, `${pool.name} carries its dependency on the cluster`);
                    }
                });

                it(`the program really is in ${mode} mode`, () => {
                    const cluster = ofType(specs, TYPES.cluster)[0];
                    const channel = cluster.props.releaseChannel?.channel;
                    for (const pool of ofType(specs, TYPES.nodePool)) {
                        if (mode === "no-channel") {
                            assert.equal(channel, "UNSPECIFIED");
                            assert.equal(pool.props.management?.autoUpgrade, false, pool.name);
                        } else {
                            assert.ok(channel !== "UNSPECIFIED", `channel ${channel}`);
                            assert.equal(pool.props.management?.autoUpgrade, true, pool.name);
                        }
                    }
                });

                it("passes the whole pack, with nothing skipped for unknown values", async () => {
                    const r = await runPack(specs);
                    assert.deepEqual(r.previewSkips, []);
                    assert.deepEqual(r.violations, []);
                    // the pack really saw the rotation machinery: one PoolDrainer per pool
                    assert.equal(ofType(specs, TYPES.poolDrainer).length, ofType(specs, TYPES.nodePool).length);
                });

                if (preview) {
                    it("sees values that are unknown during preview (the drainers' kubeconfig, built from cluster outputs)", () => {
                        const drainers = ofType(specs, TYPES.poolDrainer);
                        assert.ok(drainers.length > 0);
                        for (const d of drainers) {
                            assert.match(JSON.stringify(d.props.kubeconfig), /04da6b54-80e4-46f7-96ec-b56ff0331ba9/, d.name);
                        }
                    });
                }
            });
        }
    }
}

for (const live of ["REGULAR", "UNSPECIFIED"]) {
    describe(`policy pack on the real program: staging adopting an existing cluster (create: false) in ${live}`, () => {
        let specs: ResourceSpec[];
        before(async () => {
            const config = stackFileConfig("staging");
            const { releaseChannel: _ignored, ...cluster } = config[CLUSTER_KEY] as Record<string, unknown>;
            specs = await collectProgram({
                stack: "staging",
                config: { ...config, [CLUSTER_KEY]: { ...cluster, create: false } },
                liveCluster: { masterVersion: cluster.controlPlaneVersion, releaseChannels: live === "UNSPECIFIED" ? [] : [{ channel: live }] },
                program: () => {
                    require(path.join(ROOT, "index.ts"));
                    declareWorkloads();
                },
            });
        });

        it("declares no cluster; the pools follow the live channel on their own", () => {
            assert.equal(ofType(specs, TYPES.cluster).length, 0);
            const pools = ofType(specs, TYPES.nodePool);
            assert.ok(pools.length > 0);
            for (const pool of pools) {
                const ownHold = JSON.stringify(pool.props.maintenancePolicies ?? []).includes('"enabled":true');
                assert.deepEqual([pool.props.management?.autoUpgrade, ownHold], live === "UNSPECIFIED" ? [false, false] : [true, true], pool.name);
            }
        });

        it("passes the whole pack (only the pools' own settings can be judged)", async () => {
            const r = await runPack(specs);
            assert.deepEqual(r.previewSkips, []);
            assert.deepEqual(r.violations, []);
        });

        it("a pool without its own exclusion fails nodepool-pinned-version-no-autoupgrade when auto-upgrade is on", async () => {
            const pool = ofType(specs, TYPES.nodePool)[0];
            const bent = specs.map(s => (s === pool ? { ...s, props: { ...s.props, management: { ...s.props.management, autoUpgrade: true }, maintenancePolicies: undefined } } : s));
            assert.deepEqual(failedPolicies(await runPack(bent)), ["nodepool-pinned-version-no-autoupgrade"]);
        });
    });
}

describe("policy pack on the real program: one fault at a time fails exactly its policy (staging preview)", () => {
    let clean: ResourceSpec[];
    let cpVersion: string;
    let appPoolName: string;
    before(async () => {
        clean = await collect("staging");
        cpVersion = ofType(clean, TYPES.cluster)[0].props.minMasterVersion;
        appPoolName = ofType(clean, TYPES.nodePool).find(p => p.name === "app")!.props.name;
    });

    /** Collects staging (channel mode unless said otherwise) with the fault and returns the policies that failed. */
    async function failing(opts: { fault?: Fault; workloads?: WorkloadFaults; mode?: PinMode }): Promise<string[]> {
        const r = await runPack(await collect("staging", opts));
        assert.deepEqual(r.previewSkips, []);
        return failedPolicies(r);
    }

    /** Drops the app pool's own end-of-support exclusion and the cluster's NO_MINOR_OR_NODE_UPGRADES one. */
    const noHolds: Fault = reg => {
        if (reg.type === TYPES.nodePool && reg.name === "app") {
            delete reg.props.maintenancePolicies;
        }
        if (reg.type === TYPES.cluster && reg.props.maintenancePolicy) {
            delete reg.props.maintenancePolicy.maintenanceExclusions;
        }
        return reg;
    };

    it("channel: the pool's and the cluster's end-of-support exclusions both gone → nodepool-pinned-version-no-autoupgrade", async () => {
        assert.deepEqual(await failing({ fault: noHolds }), ["nodepool-pinned-version-no-autoupgrade"]);
    });

    it("channel: either exclusion alone still holds the pool (no violation)", async () => {
        const onlyCluster = edit(TYPES.nodePool, "app", reg => { delete reg.props.maintenancePolicies; });
        assert.deepEqual(await failing({ fault: onlyCluster }), []);
        const onlyPool = edit(TYPES.cluster, undefined, reg => { delete reg.props.maintenancePolicy?.maintenanceExclusions; });
        assert.deepEqual(await failing({ fault: onlyPool }), []);
    });

    it("channel: auto-upgrade off (GKE rejects it in a channel) → nodepool-pinned-version-no-autoupgrade", async () => {
        const fault = edit(TYPES.nodePool, "app", reg => { reg.props.management.autoUpgrade = false; });
        assert.deepEqual(await failing({ fault }), ["nodepool-pinned-version-no-autoupgrade"]);
    });

    it("no channel: auto-upgrade on → nodepool-pinned-version-no-autoupgrade", async () => {
        const fault = edit(TYPES.nodePool, "app", reg => { reg.props.management.autoUpgrade = true; });
        assert.deepEqual(await failing({ fault, mode: "no-channel" }), ["nodepool-pinned-version-no-autoupgrade"]);
    });

    it("no channel: a release channel put on the cluster while pools keep auto-upgrade off → nodepool-pinned-version-no-autoupgrade", async () => {
        const fault = edit(TYPES.cluster, undefined, reg => { reg.props.releaseChannel = { channel: "REGULAR" }; });
        assert.deepEqual(await failing({ fault, mode: "no-channel" }), ["nodepool-pinned-version-no-autoupgrade"]);
    });

    it("deleteBeforeReplace on a pool → nodepool-no-delete-before-replace", async () => {
        const fault = edit(TYPES.nodePool, "app", reg => { reg.opts!.deleteBeforeReplace = true; });
        assert.deepEqual(await failing({ fault }), ["nodepool-no-delete-before-replace"]);
    });

    it("a pool without drainer → nodepool-has-drainer", async () => {
        assert.ok(ofType(clean, TYPES.poolDrainer).some(d => d.props.poolName === appPoolName), "the clean program drains the app pool");
        const dropAppDrainer: Fault = reg => (reg.type === TYPES.poolDrainer && reg.props.poolName === appPoolName ? undefined : reg);
        assert.deepEqual(await failing({ fault: dropAppDrainer }), ["nodepool-has-drainer"]);
    });

    it("a control plane 3 minors ahead of the pools → nodepool-version-skew", async () => {
        const v = parseGkeVersion(cpVersion);
        const fault = edit(TYPES.cluster, undefined, reg => { reg.props.minMasterVersion = `${v.major}.${v.minor + 3}.0-gke.100`; });
        assert.deepEqual(await failing({ fault }), ["nodepool-version-skew"]);
    });

    it("a pool newer than the control plane → nodepool-version-skew", async () => {
        const v = parseGkeVersion(cpVersion);
        const fault = edit(TYPES.cluster, undefined, reg => { reg.props.minMasterVersion = `${v.major}.${v.minor - 1}.9-gke.100`; });
        assert.deepEqual(await failing({ fault }), ["nodepool-version-skew"]);
    });

    it("a version change that keeps the old name → nodepool-versioned-name", async () => {
        const v = parseGkeVersion(cpVersion);
        const fault = edit(TYPES.nodePool, "app", reg => { reg.props.version = `${v.major}.${v.minor - 1}.0-gke.1`; });
        assert.deepEqual(await failing({ fault }), ["nodepool-versioned-name"]);
    });

    it("maxUnavailable 1 → nodepool-surge-no-unavailable", async () => {
        const fault = edit(TYPES.nodePool, "app", reg => { reg.props.upgradeSettings.maxUnavailable = 1; });
        assert.deepEqual(await failing({ fault }), ["nodepool-surge-no-unavailable"]);
    });

    it("node metadata exposed to pods → nodepool-hardened", async () => {
        const fault = edit(TYPES.nodePool, "batch", reg => { reg.props.nodeConfig.workloadMetadataConfig = { mode: "GCE_METADATA" }; });
        assert.deepEqual(await failing({ fault }), ["nodepool-hardened"]);
    });

    it("a Deployment without PDB → workload-has-pdb", async () => {
        assert.deepEqual(await failing({ workloads: { noPdb: true } }), ["workload-has-pdb"]);
    });

    it("a selector on the pool name → workload-not-pinned-to-pool-name", async () => {
        assert.deepEqual(await failing({ workloads: { poolNameSelector: appPoolName } }), ["workload-not-pinned-to-pool-name"]);
    });

    it("a container without readinessProbe → workload-readiness-probe", async () => {
        assert.deepEqual(await failing({ workloads: { noReadinessProbe: true } }), ["workload-readiness-probe"]);
    });
});

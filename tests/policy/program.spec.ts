/**
 * The policy pack against the REAL program (index.ts with Pulumi.<stack>.yaml), collected under
 * Pulumi mocks in the shapes the analyzer receives, plus a small workloads program
 * (fixtures/workloads.ts). The clean stacks pass the whole pack; each injected fault fails exactly
 * the policy that guards against it.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { parseGkeVersion } from "../../components/naming";
import { TYPES } from "../../policy/policies";
import { stackFileConfig } from "../program/harness";
import { ResourceSpec, failedPolicies, runPack } from "./harness";
import { Fault, ROOT, Registration, collectProgram } from "./program";
import { WorkloadFaults, declareWorkloads } from "./fixtures/workloads";

/** The program plus the workloads fixture, collected for `stack`. */
function collect(stack: string, opts: { preview?: boolean; fault?: Fault; workloads?: WorkloadFaults } = {}): Promise<ResourceSpec[]> {
    return collectProgram({
        stack,
        config: stackFileConfig(stack),
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

for (const stack of ["staging", "prod"]) {
    for (const preview of [true, false]) {
        describe(`policy pack on the real program: ${stack} (${preview ? "pulumi preview" : "pulumi up"})`, () => {
            let specs: ResourceSpec[];
            before(async () => {
                specs = await collect(stack, { preview });
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

            it("passes the whole pack, with nothing skipped for unknown values", async () => {
                const r = await runPack(specs);
                assert.deepEqual(r.previewSkips, []);
                assert.deepEqual(r.violations, []);
                // the pack really saw the rotation machinery: one PoolDrainer per pool
                assert.equal(ofType(specs, TYPES.poolDrainer).length, ofType(specs, TYPES.nodePool).length);
            });

            if (preview) {
                it("sees values that are unknown during preview (the kubeconfig built from cluster outputs)", () => {
                    const provider = specs.find(s => s.type === "pulumi:providers:kubernetes");
                    assert.ok(provider, "the program's kubernetes provider");
                    assert.match(JSON.stringify(provider!.props), /04da6b54-80e4-46f7-96ec-b56ff0331ba9/);
                });
            }
        });
    }
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

    /** Collects staging with the fault and returns the policies that failed. */
    async function failing(opts: { fault?: Fault; workloads?: WorkloadFaults }): Promise<string[]> {
        const r = await runPack(await collect("staging", opts));
        assert.deepEqual(r.previewSkips, []);
        return failedPolicies(r);
    }

    it("deleteBeforeReplace on a pool → nodepool-no-delete-before-replace", async () => {
        const fault = edit(TYPES.nodePool, "app", reg => { reg.opts!.deleteBeforeReplace = true; });
        assert.deepEqual(await failing({ fault }), ["nodepool-no-delete-before-replace"]);
    });

    it("auto-upgrade on → nodepool-pinned-version-no-autoupgrade", async () => {
        const fault = edit(TYPES.nodePool, "app", reg => { reg.props.management.autoUpgrade = true; });
        assert.deepEqual(await failing({ fault }), ["nodepool-pinned-version-no-autoupgrade"]);
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

    it("a release channel on the cluster → nodepool-version-skew", async () => {
        const fault = edit(TYPES.cluster, undefined, reg => { reg.props.releaseChannel = { channel: "REGULAR" }; });
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

/**
 * The nodepool-rotation CrossGuard policies.
 *
 * This module only DESCRIBES policies: importing it starts nothing (policy/index.ts is the one
 * place that calls `new PolicyPack`, which starts a gRPC server). Tests import `policies` and call
 * each `validateResource` / `validateStack` directly.
 *
 * Rules that other parts already decide are reused, not re-implemented:
 *  - pool names, version slugs, date slugs, the GKE name regex and the version-skew rule come from
 *    components/naming.ts (the program builds names with the same functions);
 *  - the PoolDrainer type token is components/poolDrainer.ts's POOL_DRAINER_TYPE (docs/architecture.md).
 *
 * Every property read goes through `known()` (policy/unknown.ts): a value unknown during preview
 * makes that one check stand aside and is never reported.
 */
import * as gcp from "@pulumi/gcp";
import {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { GKE_POOL_LABEL, GKE_POOL_NAME_REGEX, POOL_DRAINER_TYPE, ROLE_LABEL, isRealDate } from "../components/contracts";
import { checkVersionSkew, tryParseGkeVersion, versionSlug } from "../components/naming";
import { UNKNOWN, Unknown, isUnknown, known, plain } from "./unknown";
import {
    K8S_TYPES,
    LabelSelector,
    POD_SPEC_TYPES,
    REPLICATED_TYPES,
    disruptionsAllowed,
    namespaceOf,
    podTemplate,
    poolNamePins,
    replicas,
    selects,
} from "./workloads";

/** Pulumi type tokens the policies key on. */
export const TYPES = {
    nodePool: "gcp:container/nodePool:NodePool",
    cluster: "gcp:container/cluster:Cluster",
    /** docs/architecture.md; decided by components/poolDrainer.ts (dynamic resource module/type). */
    poolDrainer: POOL_DRAINER_TYPE,
    ...K8S_TYPES,
} as const;

/** The policy names, exactly as the policy issue (and CI output) spells them. */
export const POLICY_NAMES = [
    "nodepool-versioned-name",
    "nodepool-no-delete-before-replace",
    "nodepool-pinned-version-no-autoupgrade",
    "nodepool-surge-no-unavailable",
    "nodepool-hardened",
    "nodepool-has-drainer",
    "nodepool-version-skew",
    "workload-has-pdb",
    "workload-not-pinned-to-pool-name",
    "workload-readiness-probe",
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Enforcement of the whole pack unless a stack's policy config says otherwise. */
export const DEFAULT_ENFORCEMENT = "mandatory" as const;

/** Config schema of the workload policies that only apply to multi-replica workloads. */
const replicatedWorkloadSchema = {
    properties: {
        minReplicas: {
            type: "integer" as const,
            minimum: 1,
            default: 2,
            description: "Deployments/StatefulSets with at least this many replicas are checked.",
        },
        excludeNamespaces: {
            type: "array" as const,
            items: { type: "string" as const },
            default: [] as string[],
            description: "Namespaces whose workloads are not checked (e.g. ones another team owns).",
        },
    },
};

/** Config of a replicated-workload policy, schema defaults applied. */
interface ReplicatedWorkloadConfig {
    minReplicas: number;
    excludeNamespaces: string[];
}

/**
 * The policy's config with the schema's defaults filled in. The Pulumi CLI validates a stack's
 * `--policy-pack-config` file against the schema; the defaults are applied here as well so a
 * policy behaves the same with no config at all (and when called directly by tests).
 */
function replicatedConfig(args: { getConfig<T extends object>(): T }): ReplicatedWorkloadConfig {
    const c = args.getConfig<Partial<ReplicatedWorkloadConfig>>() ?? {};
    const d = replicatedWorkloadSchema.properties;
    return {
        minReplicas: c.minReplicas ?? d.minReplicas.default,
        excludeNamespaces: c.excludeNamespaces ?? d.excludeNamespaces.default,
    };
}

// ---------------------------------------------------------------------------------------------
// Node pool resource policies
// ---------------------------------------------------------------------------------------------

/**
 * Problems with a node pool's name, or [] when it is `<role>-<versionSlug>-<YYYYMMDD>-…` and GKE
 * accepts it. Exported for the program's own tests; the rule itself lives in naming.ts.
 */
export function versionedNameProblems(name: unknown, version: unknown): string[] {
    if (typeof name !== "string" || name === "") {
        return ["the pool has no explicit `name` (autonaming or `namePrefix` hides the version and date, and a replacement could reuse a name GKE still holds)"];
    }
    const problems: string[] = [];
    if (!GKE_POOL_NAME_REGEX.test(name)) {
        problems.push(`name "${name}" does not match GKE's pool name rule ${GKE_POOL_NAME_REGEX} (at most 40 characters)`);
    }
    if (typeof version !== "string" || !tryParseGkeVersion(version)) {
        problems.push(`the pool does not pin an exact GKE \`version\` (got ${JSON.stringify(version)}), so its name cannot carry one`);
        return problems;
    }
    const slug = versionSlug(version);
    const m = new RegExp(`-${slug}-(\\d{4})(\\d{2})(\\d{2})(?:-|$)`).exec(name);
    if (!m) {
        problems.push(`name "${name}" does not embed "-${slug}-YYYYMMDD" for version ${version}: a version bump must rename the pool so Pulumi creates the new pool before deleting the old one`);
    } else if (!isRealDate(`${m[1]}-${m[2]}-${m[3]}`)) {
        problems.push(`name "${name}" embeds "${m[1]}${m[2]}${m[3]}", which is not a real date`);
    }
    return problems;
}

const nodepoolVersionedName: ResourceValidationPolicy = {
    name: "nodepool-versioned-name",
    description: "A GKE node pool's name embeds its version slug and rotation date and matches GKE's name rule.",
    remediationSteps: "Create pools through VersionedNodePool (components/versionedNodePool.ts), which names them with naming.ts poolName().",
    validateResource: validateResourceOfType(gcp.container.NodePool, (pool, args, report) => {
        const name = known(() => pool.name);
        const version = known(() => pool.version);
        if (isUnknown(name) || isUnknown(version)) {
            return;
        }
        for (const p of versionedNameProblems(name, version)) {
            report(p);
        }
    }),
};

/** Resource types on which `deleteBeforeReplace` would drain or delete before the replacement exists. */
const NO_DBR_TYPES: ReadonlySet<string> = new Set([TYPES.nodePool, TYPES.poolDrainer]);

const nodepoolNoDeleteBeforeReplace: ResourceValidationPolicy = {
    name: "nodepool-no-delete-before-replace",
    description: "deleteBeforeReplace is never set on a node pool (or its PoolDrainer): the new pool must exist before the old one is drained and deleted.",
    remediationSteps: "Remove the deleteBeforeReplace resource option; replacement is create-before-delete by default.",
    validateResource: (args, report) => {
        if (!NO_DBR_TYPES.has(args.type)) {
            args.notApplicable(`applies to ${[...NO_DBR_TYPES].join(", ")}`);
        }
        if (args.opts.deleteBeforeReplace === true) {
            const what = args.type === TYPES.nodePool ? "node pool" : "PoolDrainer";
            report(`${what} "${args.name}" sets deleteBeforeReplace: on replacement Pulumi would delete (and drain) it BEFORE the new pool exists, so every pod on it goes Pending.`);
        }
    },
};

const nodepoolSurgeNoUnavailable: ResourceValidationPolicy = {
    name: "nodepool-surge-no-unavailable",
    description: "A node pool's upgradeSettings are surge upgrades with maxUnavailable 0 and maxSurge >= 1.",
    remediationSteps: "Set upgradeSettings: { strategy: \"SURGE\", maxSurge: 1, maxUnavailable: 0 } (maxSurge may be higher).",
    validateResource: validateResourceOfType(gcp.container.NodePool, (pool, args, report) => {
        const us = known(() => {
            const u = pool.upgradeSettings;
            return u === undefined || u === null ? u : { maxSurge: u.maxSurge, maxUnavailable: u.maxUnavailable, strategy: u.strategy };
        });
        if (isUnknown(us)) {
            return;
        }
        if (us === undefined || us === null) {
            report("upgradeSettings is not set: pin maxSurge >= 1 and maxUnavailable 0 so any GKE-driven node update adds capacity before it removes any.");
            return;
        }
        if (us.strategy !== undefined && us.strategy !== null && us.strategy !== "SURGE") {
            report(`upgradeSettings.strategy is "${us.strategy}": only SURGE with maxUnavailable 0 never takes capacity away first.`);
        }
        if (us.maxUnavailable !== 0) {
            report(`upgradeSettings.maxUnavailable is ${us.maxUnavailable === undefined ? "unset" : us.maxUnavailable}: must be 0, or a GKE-driven update removes nodes before replacements are up.`);
        }
        if (typeof us.maxSurge !== "number" || us.maxSurge < 1) {
            report(`upgradeSettings.maxSurge is ${us.maxSurge === undefined ? "unset" : us.maxSurge}: must be at least 1 (with maxUnavailable 0 and maxSurge 0 GKE cannot update at all).`);
        }
    }),
};

const nodepoolHardened: ResourceValidationPolicy = {
    name: "nodepool-hardened",
    description: "Node pool nodes use Workload Identity metadata (GKE_METADATA), Shielded VM secure boot, and have legacy metadata endpoints disabled.",
    remediationSteps: "nodeConfig: { workloadMetadataConfig: { mode: \"GKE_METADATA\" }, shieldedInstanceConfig: { enableSecureBoot: true }, metadata: { \"disable-legacy-endpoints\": \"true\" } }",
    validateResource: validateResourceOfType(gcp.container.NodePool, (pool, args, report) => {
        const mode = known(() => pool.nodeConfig?.workloadMetadataConfig?.mode);
        if (!isUnknown(mode) && mode !== "GKE_METADATA") {
            report(`nodeConfig.workloadMetadataConfig.mode is ${mode === undefined ? "unset" : `"${mode}"`}: must be "GKE_METADATA" (Workload Identity), so pods cannot read the node's service account credentials.`);
        }
        const secureBoot = known(() => pool.nodeConfig?.shieldedInstanceConfig?.enableSecureBoot);
        if (!isUnknown(secureBoot) && secureBoot !== true) {
            report(`nodeConfig.shieldedInstanceConfig.enableSecureBoot is ${secureBoot === undefined ? "unset (GKE's default is false)" : secureBoot}: must be true.`);
        }
        const legacy = known(() => pool.nodeConfig?.metadata?.["disable-legacy-endpoints"]);
        if (!isUnknown(legacy) && String(legacy) !== "true") {
            report(`nodeConfig.metadata["disable-legacy-endpoints"] is ${legacy === undefined ? "unset" : `"${legacy}"`}: must be "true" (the v0.1/v1beta1 metadata endpoints leak instance credentials).`);
        }
    }),
};

// ---------------------------------------------------------------------------------------------
// Stack policies over pools, drainers and the cluster
// ---------------------------------------------------------------------------------------------

/** True when `r` depends on `target`, directly or through one of its property dependencies. */
function dependsOn(r: PolicyResource, target: PolicyResource): boolean {
    if (r.dependencies.some(d => d.urn === target.urn)) {
        return true;
    }
    return Object.values(r.propertyDependencies).some(ds => ds.some(d => d.urn === target.urn));
}

const nodepoolHasDrainer: StackValidationPolicy = {
    name: "nodepool-has-drainer",
    description: "Every node pool has exactly one PoolDrainer that depends on it and drains the same pool name.",
    remediationSteps: "Create pools through VersionedNodePool, which declares one PoolDrainer per pool with the pool as a dependency.",
    validateStack: (args, report) => {
        const pools = args.resources.filter(r => r.type === TYPES.nodePool);
        const drainers = args.resources.filter(r => r.type === TYPES.poolDrainer);
        if (pools.length === 0) {
            args.notApplicable("the stack has no node pools");
        }
        for (const pool of pools) {
            const poolName = known(() => pool.props.name);
            const mine = drainers.filter(d => dependsOn(d, pool));
            if (mine.length === 0) {
                report(`node pool "${pool.name}" has no PoolDrainer depending on it: when a version bump replaces it, GKE deletes its nodes without honouring any PodDisruptionBudget.`, pool.urn);
                continue;
            }
            if (mine.length > 1) {
                report(`node pool "${pool.name}" has ${mine.length} PoolDrainers depending on it (${mine.map(d => d.name).join(", ")}): exactly one must drain it.`, pool.urn);
            }
            for (const d of mine) {
                const drained = known(() => d.props.poolName);
                if (isUnknown(drained) || isUnknown(poolName)) {
                    continue;
                }
                if (drained !== poolName) {
                    report(`PoolDrainer "${d.name}" depends on node pool "${pool.name}" but drains "${drained}" instead of "${poolName}".`, d.urn);
                }
            }
        }
    },
};

/** The cluster a pool belongs to: its `cluster` property dependency, any dependency, or the stack's only cluster. */
function clusterOf(pool: PolicyResource, clusters: PolicyResource[]): PolicyResource | undefined {
    const byProperty = (pool.propertyDependencies["cluster"] ?? []).find(d => d.type === TYPES.cluster);
    if (byProperty) {
        return byProperty;
    }
    const byDependency = pool.dependencies.find(d => d.type === TYPES.cluster);
    if (byDependency) {
        return byDependency;
    }
    return clusters.length === 1 ? clusters[0] : undefined;
}

/** The control-plane version a cluster pins (`minMasterVersion`), else the one it reports (`masterVersion`). */
function controlPlaneVersion(cluster: PolicyResource): string | undefined {
    for (const key of ["minMasterVersion", "masterVersion"]) {
        const v = known(() => cluster.props[key]);
        if (!isUnknown(v) && tryParseGkeVersion(v)) {
            return v as string;
        }
    }
    return undefined;
}

/** Cluster-scope exclusion scope that holds node versions (minor and patch), and the end behaviour that keeps it held. */
export const NODE_HOLD_SCOPE = "NO_MINOR_OR_NODE_UPGRADES";
export const UNTIL_END_OF_SUPPORT = "UNTIL_END_OF_SUPPORT";
/** `releaseChannel.channel` of a cluster without a release channel ("no channel"). */
export const NO_CHANNEL = "UNSPECIFIED";

/**
 * True when the cluster has a maintenance exclusion that holds every node pool's version until the
 * version's end of support: scope NO_MINOR_OR_NODE_UPGRADES (NO_MINOR_UPGRADES still lets node
 * patch upgrades through; NO_UPGRADES lasts at most 30 days) with endTimeBehavior
 * UNTIL_END_OF_SUPPORT (a fixed endTime lapses). @pulumi/gcp 9.37
 * ClusterMaintenancePolicyMaintenanceExclusion.exclusionOptions.{scope,endTimeBehavior}.
 */
function clusterHoldsNodeVersions(cluster: PolicyResource): boolean | Unknown {
    return known(() => {
        const exclusions: any[] = cluster.props.maintenancePolicy?.maintenanceExclusions ?? [];
        return exclusions.some(e => e?.exclusionOptions?.scope === NODE_HOLD_SCOPE && e?.exclusionOptions?.endTimeBehavior === UNTIL_END_OF_SUPPORT);
    });
}

/** True when the pool has its own exclusion until end of support (NodePool.maintenancePolicies[].exclusionUntilEndOfSupports[].enabled). */
function poolHoldsItsVersion(pool: PolicyResource): boolean | Unknown {
    return known(() => {
        const policies: any[] = pool.props.maintenancePolicies ?? [];
        return policies.some(m => (m?.exclusionUntilEndOfSupports ?? []).some((x: any) => x?.enabled === true));
    });
}

/** What decides whether a pinned pool stays at its version; `cluster` undefined = not a resource of this stack (adopted). */
export interface PinFacts {
    version: string;
    /** management.autoUpgrade; undefined = unset (GKE's default is true). */
    autoUpgrade: boolean | undefined | Unknown;
    /** The pool's own exclusion until end of support. */
    poolHold: boolean | Unknown;
    cluster?: { name: string; channel: string | undefined | Unknown; hold: boolean | Unknown };
}

const HOLD_FIX = `maintenancePolicies: [{ exclusionUntilEndOfSupports: [{ enabled: true }] }] on the pool, or a cluster maintenance exclusion with exclusionOptions { scope: "${NODE_HOLD_SCOPE}", endTimeBehavior: "${UNTIL_END_OF_SUPPORT}" }`;

/**
 * Why a pinned pool would not stay at its version, or undefined when it does (or when a value it
 * depends on is unknown). Two valid modes (GKE release-channels and maintenance-exclusions docs):
 *  - no release channel (`UNSPECIFIED`): management.autoUpgrade false;
 *  - in a release channel (any other value, or unset — GKE then enrols the cluster): auto-upgrade
 *    cannot be turned off (the API rejects false), so an exclusion until end of support must hold
 *    the pool: its own, or the cluster's NO_MINOR_OR_NODE_UPGRADES one.
 * For a cluster outside the stack only the pool's own settings count.
 */
export function pinningProblem(f: PinFacts): string | undefined {
    const upgrades = isUnknown(f.autoUpgrade) ? UNKNOWN : f.autoUpgrade !== false;
    const setting = f.autoUpgrade === undefined ? "unset (GKE's default is true)" : String(f.autoUpgrade);
    const channel = f.cluster ? f.cluster.channel : UNKNOWN;
    if (!isUnknown(channel) && channel === NO_CHANNEL) {
        if (upgrades === true) {
            return `pool pins version ${f.version} in cluster "${f.cluster!.name}", which has no release channel, but management.autoUpgrade is ${setting}: GKE would upgrade the nodes in place behind Pulumi's back, without this tool's PDB-aware drain. Set management.autoUpgrade: false.`;
        }
        return undefined;
    }
    if (!isUnknown(channel) && f.autoUpgrade === false) {
        return `pool pins version ${f.version} with management.autoUpgrade false, but cluster "${f.cluster!.name}" is in release channel ${channel ?? "(unset: GKE enrols it in one)"}, where GKE rejects that ("Auto_upgrade cannot be false when release_channel ... is set"): set autoUpgrade: true and hold the version with ${HOLD_FIX}.`;
    }
    if (upgrades !== true) {
        return undefined; // auto-upgrade off (valid without a channel; the channel is unknown) or unknown
    }
    const holds = [f.poolHold, f.cluster ? f.cluster.hold : false];
    if (holds.some(h => h === true) || holds.some(isUnknown)) {
        return undefined;
    }
    const where = isUnknown(channel)
        ? (f.cluster ? `cluster "${f.cluster.name}" (release channel not known yet)` : "a cluster outside this stack")
        : `release channel ${channel ?? "(unset: GKE enrols the cluster in one)"} of cluster "${f.cluster!.name}"`;
    return `pool pins version ${f.version} with management.autoUpgrade ${setting} in ${where}, and no maintenance exclusion holds it: GKE would upgrade the nodes in place without this tool's PDB-aware drain. Add ${HOLD_FIX}` +
        (f.cluster ? "." : "; or, for a cluster without a release channel, set management.autoUpgrade: false.");
}

const nodepoolPinnedVersionNoAutoupgrade: StackValidationPolicy = {
    name: "nodepool-pinned-version-no-autoupgrade",
    description: "A node pool that pins `version` stays there until Pulumi moves it: without a release channel auto-upgrade is off; in a release channel an exclusion until end of support (the pool's own, or the cluster's NO_MINOR_OR_NODE_UPGRADES) holds it. Auto-repair stays on.",
    remediationSteps: `No channel: management: { autoUpgrade: false, autoRepair: true }. In a channel: management: { autoUpgrade: true, autoRepair: true } plus ${HOLD_FIX}.`,
    validateStack: (args, report) => {
        const clusters = args.resources.filter(r => r.type === TYPES.cluster);
        const pinned = args.resources.filter(r => {
            if (r.type !== TYPES.nodePool) return false;
            const v = known(() => r.props.version);
            return isUnknown(v) || (v !== undefined && v !== null && v !== "");
        });
        if (pinned.length === 0) {
            args.notApplicable("the stack has no node pool that pins a version");
        }
        for (const pool of pinned) {
            const version = known(() => pool.props.version);
            if (isUnknown(version)) {
                continue;
            }
            // pulumi-gcp NodePoolManagement: autoUpgrade and autoRepair are "Enabled by default" when unset.
            const autoRepair = known(() => pool.props.management?.autoRepair);
            if (!isUnknown(autoRepair) && autoRepair === false) {
                report(`node pool "${pool.name}": management.autoRepair is false: auto-repair is what replaces broken nodes of a pinned pool.`, pool.urn);
            }
            const cluster = clusterOf(pool, clusters);
            const problem = pinningProblem({
                version: String(version),
                autoUpgrade: known(() => pool.props.management?.autoUpgrade),
                poolHold: poolHoldsItsVersion(pool),
                cluster: cluster && {
                    name: cluster.name,
                    channel: known(() => cluster.props.releaseChannel?.channel),
                    hold: clusterHoldsNodeVersions(cluster),
                },
            });
            if (problem) {
                report(`node pool "${pool.name}": ${problem}`, pool.urn);
            }
        }
    },
};

const nodepoolVersionSkew: StackValidationPolicy = {
    name: "nodepool-version-skew",
    description: "Every pool version is <= the control-plane version (also the -gke.N build) and at most 2 minors older.",
    remediationSteps: "Bump the control plane first (npm run bump -- --stack S --control-plane V), then the pools.",
    validateStack: (args, report) => {
        const clusters = args.resources.filter(r => r.type === TYPES.cluster);
        const pools = args.resources.filter(r => r.type === TYPES.nodePool);
        if (pools.length === 0) {
            args.notApplicable("the stack has no node pools");
        }
        for (const pool of pools) {
            const version = known(() => pool.props.version);
            if (isUnknown(version) || !tryParseGkeVersion(version)) {
                continue; // unknown, or not pinned (nodepool-versioned-name reports a missing/bad version)
            }
            const cluster = clusterOf(pool, clusters);
            const cp = cluster && controlPlaneVersion(cluster);
            if (cp === undefined) {
                continue; // adopted cluster (not a resource of this stack), or no known control-plane version
            }
            const problem = checkVersionSkew(cp, version as string);
            if (problem) {
                report(`node pool "${pool.name}": ${problem}.`, pool.urn);
            }
        }
    },
};

// ---------------------------------------------------------------------------------------------
// Workload policies
// ---------------------------------------------------------------------------------------------

/** A replicated workload's facts the PDB policy needs, or undefined when any is unknown. */
interface WorkloadFacts {
    namespace: string;
    replicas: number;
    labels: Record<string, string>;
}

function workloadFacts(r: PolicyResource): WorkloadFacts | undefined {
    const f = known(() => ({
        namespace: namespaceOf(r.props),
        replicas: replicas(r.props),
        labels: { ...(podTemplate(r.type, r.props)?.metadata?.labels ?? {}) } as Record<string, string>,
    }));
    return isUnknown(f) ? undefined : f;
}

/** What the PDB policy needs from a budget, or undefined when any of it is unknown. */
interface PdbFacts {
    namespace: string;
    selector: LabelSelector | null;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
}

function pdbFacts(pdb: PolicyResource): PdbFacts | undefined {
    const f = plain<PdbFacts>(() => {
        const s = pdb.props.spec ?? {};
        return { selector: s.selector ?? null, minAvailable: s.minAvailable, maxUnavailable: s.maxUnavailable, namespace: namespaceOf(pdb.props) };
    });
    return isUnknown(f) ? undefined : f;
}

const workloadHasPdb: StackValidationPolicy = {
    name: "workload-has-pdb",
    description: "Every Deployment/StatefulSet with 2+ replicas has exactly one PodDisruptionBudget selecting it, and that budget allows at least one disruption.",
    remediationSteps: "Add one policy/v1 PodDisruptionBudget per workload, e.g. maxUnavailable: 1, selecting the pod template's labels.",
    configSchema: replicatedWorkloadSchema,
    validateStack: (args, report) => {
        const cfg = replicatedConfig(args);
        const pdbs: { pdb: PolicyResource; spec: PdbFacts | undefined }[] = args.resources
            .filter(r => r.type === TYPES.pdb)
            .map(pdb => ({ pdb, spec: pdbFacts(pdb) }));
        for (const w of args.resources.filter(r => REPLICATED_TYPES.has(r.type))) {
            const facts = workloadFacts(w);
            if (!facts || facts.replicas < cfg.minReplicas || cfg.excludeNamespaces.includes(facts.namespace)) {
                continue;
            }
            if (pdbs.some(p => p.spec === undefined)) {
                continue; // a budget we cannot read yet might select it
            }
            const matching = pdbs.filter(p => p.spec!.namespace === facts.namespace && selects(p.spec!.selector, facts.labels));
            const what = `${w.type.split(":").pop()} "${w.name}" (${facts.namespace}, ${facts.replicas} replicas)`;
            if (matching.length === 0) {
                report(`${what} has no PodDisruptionBudget selecting its pods: the drain would evict them all at once.`, w.urn);
            } else if (matching.length > 1) {
                report(`${what} is selected by ${matching.length} PodDisruptionBudgets (${matching.map(p => p.pdb.name).join(", ")}): the Eviction API answers 500 for pods matched by more than one, so the drain cannot move them.`, w.urn);
            } else {
                const spec = matching[0].spec!;
                const allowed = disruptionsAllowed(spec, facts.replicas);
                if (allowed < 1) {
                    report(`${what}: PodDisruptionBudget "${matching[0].pdb.name}" allows ${allowed} disruptions (minAvailable ${JSON.stringify(spec.minAvailable)}, maxUnavailable ${JSON.stringify(spec.maxUnavailable)}): every eviction would be refused and the drain can never finish.`, w.urn);
                }
            }
        }
    },
};

const workloadNotPinnedToPoolName: ResourceValidationPolicy = {
    name: "workload-not-pinned-to-pool-name",
    description: `No workload uses a nodeSelector or node affinity on ${GKE_POOL_LABEL}; workloads select the stable role label ${ROLE_LABEL}.`,
    remediationSteps: "Select nodes with nodeSelector: { \"nodepool-rotation/role\": \"<role>\" } instead of the versioned pool name.",
    validateResource: (args, report) => {
        if (!POD_SPEC_TYPES.has(args.type)) {
            args.notApplicable("applies to Kubernetes kinds with a pod template");
        }
        const pins = known(() => poolNamePins(podTemplate(args.type, args.props)?.spec));
        if (isUnknown(pins)) {
            return;
        }
        for (const where of pins) {
            report(`${args.name}: ${where} targets ${GKE_POOL_LABEL}. Pool names change on every rotation, so these pods could never be rescheduled onto the new pool; select ${ROLE_LABEL} instead.`);
        }
    },
};

const workloadReadinessProbe: ResourceValidationPolicy = {
    name: "workload-readiness-probe",
    description: "Every container of a multi-replica Deployment/StatefulSet has a readinessProbe.",
    remediationSteps: "Add a readinessProbe to each container; without one, Ready means only 'started' and the drain's PDB floor proves nothing.",
    configSchema: replicatedWorkloadSchema,
    validateResource: (args, report) => {
        if (!REPLICATED_TYPES.has(args.type)) {
            args.notApplicable("applies to Deployments and StatefulSets");
        }
        const cfg = replicatedConfig(args);
        const facts = known(() => ({ replicas: replicas(args.props), namespace: namespaceOf(args.props) }));
        if (isUnknown(facts) || facts.replicas < cfg.minReplicas || cfg.excludeNamespaces.includes(facts.namespace)) {
            return;
        }
        const missing = known(() => {
            const containers: any[] = podTemplate(args.type, args.props)?.spec?.containers ?? [];
            return containers.filter(c => known(() => c.readinessProbe) === undefined).map(c => known(() => c.name));
        });
        if (isUnknown(missing)) {
            return;
        }
        for (const name of missing) {
            report(`container "${isUnknown(name) ? "?" : name}" of ${args.name} (${facts.replicas} replicas) has no readinessProbe: Ready would not mean able to serve, so a drain that keeps the PDB floor of Ready pods can still drop traffic.`);
        }
    },
};

/** The whole pack, in the order the README documents it. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    nodepoolVersionedName,
    nodepoolNoDeleteBeforeReplace,
    nodepoolPinnedVersionNoAutoupgrade,
    nodepoolSurgeNoUnavailable,
    nodepoolHardened,
    nodepoolHasDrainer,
    nodepoolVersionSkew,
    workloadHasPdb,
    workloadNotPinnedToPoolName,
    workloadReadinessProbe,
];

/** Per-policy config schemas (for docs and config-file validation). Every policy also accepts `enforcementLevel`. */
export const configSchemas: Record<string, object | undefined> = Object.fromEntries(
    policies.map(p => [p.name, p.configSchema]),
);

/** Looks a policy up by name (throws on a typo, so tests cannot silently test nothing). */
export function policyByName(name: PolicyName): ResourceValidationPolicy | StackValidationPolicy {
    const p = policies.find(x => x.name === name);
    if (!p) {
        throw new Error(`no policy named ${name}`);
    }
    return p;
}

/** Re-exported for callers that type their own helpers. */
export type { ReportViolation, ResourceValidationArgs, StackValidationArgs };

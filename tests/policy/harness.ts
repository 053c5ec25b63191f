/**
 * Runs the policy pack without the Pulumi CLI, building the very argument shapes
 * @pulumi/policy 1.21's analyzer server (node_modules/@pulumi/policy/server.js) builds:
 *  - props: the engine's property map deserialized by the SDK's own `deserializeProperties`
 *    (secrets unwrapped, undefined top-level keys dropped) and wrapped in the SDK's
 *    `unknownCheckingProxy`, so an unknown value is the SDK's sentinel and reading it throws
 *    `UnknownValueError` exactly as in `pulumi preview`;
 *  - opts: { protect, ignoreChanges, aliases, customTimeouts, additionalSecretOutputs,
 *    deleteBeforeReplace (only when defined), parent };
 *  - stack resources: `dependencies`, `propertyDependencies` and `parent` resolved to the
 *    resource objects by URN (unresolvable URNs dropped, as the server does);
 *  - `notApplicable()` throws, the policy is then recorded as not applicable;
 *  - an `UnknownValueError` escaping a policy becomes an advisory "can't run ... during preview"
 *    finding (`previewSkips`), which the specs assert never happens.
 * Enforcement levels are resolved like the CLI + server: per-policy config, then `all`, then the
 * policy's own level, then the pack's default (mandatory).
 * The call-the-callbacks-with-a-collector approach is the one pulumi/pulumi-policy-aws uses in its
 * tests (tests/util.ts runResourcePolicy/runStackPolicy).
 */
import type {
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { DEFAULT_ENFORCEMENT, policies as packPolicies } from "../../policy/policies";

/* eslint-disable @typescript-eslint/no-var-requires */
const proxy = require("@pulumi/policy/proxy");
const { deserializeProperties } = require("@pulumi/policy/deserialize");
const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", {
    paths: [require.resolve("@pulumi/policy")],
}));
/* eslint-enable @typescript-eslint/no-var-requires */

/** The SDK's sentinels for values unknown during preview (what the engine sends). */
export const UNKNOWN = {
    string: proxy.unknownStringValue as string,
    number: proxy.unknownNumberValue as string,
    bool: proxy.unknownBooleanValue as string,
    array: proxy.unknownArrayValue as string,
    object: proxy.unknownObjectValue as string,
};

type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** What the engine knows about one resource: JSON props (may hold UNKNOWN sentinels), options, graph. */
export interface ResourceSpec {
    type: string;
    name: string;
    urn?: string;
    props: Record<string, any>;
    opts?: Partial<PolicyResourceOptions>;
    parent?: string;
    dependencies?: string[];
    propertyDependencies?: Record<string, string[]>;
}

/** One diagnostic as the analyzer would return it. */
export interface Finding {
    policy: string;
    message: string;
    urn?: string;
    enforcementLevel: EnforcementLevel;
}

/** Everything a pack run reports. */
export interface PackResult {
    violations: Finding[];
    /** Advisory "can't run during preview" diagnostics (an UnknownValueError escaped a policy). */
    previewSkips: Finding[];
    notApplicable: { policy: string; urn?: string; reason?: string }[];
}

/** Stack policy config as in a `--policy-pack-config` file: `all`, per-policy level or object. */
export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

/** The URN a spec gets when it did not come with one. */
export function urnOf(spec: ResourceSpec): string {
    return spec.urn ?? `urn:pulumi:test::nodepool-rotation::${spec.type}::${spec.name}`;
}

/** JSON props → what a policy sees: SDK-deserialized and wrapped in the SDK's unknown-checking proxy. */
export function toPolicyProps(props: Record<string, any>): Record<string, any> {
    const json = JSON.parse(JSON.stringify(props ?? {}));
    return proxy.unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(json), false));
}

function toOpts(spec: ResourceSpec): PolicyResourceOptions {
    const o: PolicyResourceOptions = {
        protect: spec.opts?.protect ?? false,
        ignoreChanges: spec.opts?.ignoreChanges ?? [],
        aliases: spec.opts?.aliases ?? [],
        customTimeouts: spec.opts?.customTimeouts ?? { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: spec.opts?.additionalSecretOutputs ?? [],
    };
    if (spec.opts?.deleteBeforeReplace !== undefined) {
        o.deleteBeforeReplace = spec.opts.deleteBeforeReplace;
    }
    if (spec.parent) {
        o.parent = spec.parent;
    }
    return o;
}

function isTypeOf(type: string, resourceClass: any): boolean {
    const t = resourceClass?.__pulumiType;
    if (typeof t === "string" && t !== "") {
        return type === t;
    }
    return typeof resourceClass?.isInstance === "function" && resourceClass.isInstance({ __pulumiType: type }) === true;
}

class NotApplicable extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}
const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

function levelOf(p: Policy, config: PackConfig): EnforcementLevel {
    const own = config[p.name];
    if (typeof own === "string") return own;
    if (own?.enforcementLevel) return own.enforcementLevel;
    const all = config["all"];
    if (typeof all === "string") return all;
    if (all?.enforcementLevel) return all.enforcementLevel;
    return p.enforcementLevel ?? DEFAULT_ENFORCEMENT;
}

function configOf(p: Policy, config: PackConfig): <T extends object>() => T {
    return <T extends object>() => {
        const own = config[p.name];
        if (!own || typeof own === "string") return {} as T;
        const { enforcementLevel: _ignored, ...rest } = own;
        return rest as T;
    };
}

function isResourcePolicy(p: Policy): p is ResourceValidationPolicy {
    return typeof (p as any).validateStack !== "function";
}

async function guard(
    p: Policy, urn: string | undefined, result: PackResult, level: EnforcementLevel, run: () => Promise<void> | void,
): Promise<void> {
    try {
        await run();
    } catch (err) {
        if (err instanceof NotApplicable) {
            result.notApplicable.push({ policy: p.name, urn, reason: err.reason });
        } else if (err instanceof proxy.UnknownValueError) {
            result.previewSkips.push({ policy: p.name, urn, enforcementLevel: "advisory", message: `can't run policy '${p.name}' during preview: ${(err as Error).message}` });
        } else {
            throw new Error(`policy ${p.name} threw: ${(err as Error).stack ?? err}`);
        }
    }
    void level;
}

/** Runs one resource policy on one resource's inputs. */
export async function runResourcePolicy(p: ResourceValidationPolicy, spec: ResourceSpec, config: PackConfig = {}, result: PackResult = emptyResult()): Promise<PackResult> {
    const level = levelOf(p, config);
    if (level === "disabled" || !p.validateResource) {
        return result;
    }
    const urn = urnOf(spec);
    const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
    for (const validate of validations) {
        const props = toPolicyProps(spec.props);
        const args: ResourceValidationArgs = {
            type: spec.type,
            props,
            urn,
            name: spec.name,
            opts: toOpts(spec),
            stackTags: new Map(),
            isType: (cls: any) => isTypeOf(spec.type, cls),
            asType: ((cls: any) => (isTypeOf(spec.type, cls) ? props : undefined)) as any,
            getConfig: configOf(p, config),
            notApplicable,
        };
        const report = (message: string) => {
            result.violations.push({ policy: p.name, message, urn, enforcementLevel: level === "remediate" ? "mandatory" : level });
        };
        await guard(p, urn, result, level, () => validate(args, report));
    }
    return result;
}

/** Builds the stack view the server builds: resources with dependencies/parent resolved by URN. */
export function toPolicyResources(specs: ResourceSpec[]): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    const resources = specs.map(spec => {
        const props = toPolicyProps(spec.props);
        const r: PolicyResource = {
            type: spec.type,
            props,
            urn: urnOf(spec),
            name: spec.name,
            opts: toOpts(spec),
            dependencies: [],
            propertyDependencies: {},
            isType: (cls: any) => isTypeOf(spec.type, cls),
            asType: ((cls: any) => (isTypeOf(spec.type, cls) ? props : undefined)) as any,
        };
        byUrn.set(r.urn, r);
        return r;
    });
    specs.forEach((spec, i) => {
        const r = resources[i];
        if (spec.parent && byUrn.has(spec.parent)) {
            r.parent = byUrn.get(spec.parent);
        }
        r.dependencies = (spec.dependencies ?? []).map(u => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
        for (const [k, urns] of Object.entries(spec.propertyDependencies ?? {})) {
            r.propertyDependencies[k] = urns.map(u => byUrn.get(u)).filter((x): x is PolicyResource => !!x);
        }
    });
    return resources;
}

/** Runs one stack policy over all resources. */
export async function runStackPolicy(p: StackValidationPolicy, specs: ResourceSpec[], config: PackConfig = {}, result: PackResult = emptyResult()): Promise<PackResult> {
    const level = levelOf(p, config);
    if (level === "disabled") {
        return result;
    }
    const args: StackValidationArgs = {
        resources: toPolicyResources(specs),
        stackTags: new Map(),
        getConfig: configOf(p, config),
        notApplicable,
    };
    const report = (message: string, urn?: string) => {
        result.violations.push({ policy: p.name, message, urn, enforcementLevel: level === "remediate" ? "mandatory" : level });
    };
    await guard(p, undefined, result, level, () => p.validateStack(args, report));
    return result;
}

export function emptyResult(): PackResult {
    return { violations: [], previewSkips: [], notApplicable: [] };
}

/** Runs a policy (resource policies on every resource, stack policies once) over `specs`. */
export async function runPolicy(p: Policy, specs: ResourceSpec[], config: PackConfig = {}, result: PackResult = emptyResult()): Promise<PackResult> {
    if (isResourcePolicy(p)) {
        for (const spec of specs) {
            await runResourcePolicy(p, spec, config, result);
        }
    } else {
        await runStackPolicy(p, specs, config, result);
    }
    return result;
}

/** Runs the whole pack over `specs`, as `pulumi preview --policy-pack policy` would. */
export async function runPack(specs: ResourceSpec[], config: PackConfig = {}, policies: Policy[] = packPolicies): Promise<PackResult> {
    const result = emptyResult();
    for (const p of policies) {
        await runPolicy(p, specs, config, result);
    }
    return result;
}

/** Sorted distinct names of the policies that reported a violation. */
export function failedPolicies(r: PackResult): string[] {
    return [...new Set(r.violations.map(v => v.policy))].sort();
}

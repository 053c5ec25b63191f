/**
 * Collects what a Pulumi program registers, under `pulumi.runtime.setMocks`, in the shape the
 * engine hands the policy analyzer: type, name, URN, input properties (with the engine's unknown
 * sentinels during preview), resource options, parent, dependencies and property dependencies.
 *
 * The mock monitor's `registerResource(req)` receives the SDK's real RegisterResourceRequest, so
 * it is wrapped to read everything the engine would get (MockResourceArgs alone has no
 * dependencies or options). A `fault` hook can edit or drop a registration before the mock
 * answers it — the same place an engine-side resource transform acts — so downstream resources
 * see the faulty outputs, as they would in a real preview.
 *
 * Outputs: the mocks answer with the inputs as state (plus a created cluster's endpoint/CA when
 * not previewing), so a stack policy sees what `pulumi preview` of a new stack shows: outputs =
 * inputs, computed outputs unknown.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { ResourceSpec } from "./harness";

/* eslint-disable @typescript-eslint/no-var-requires */
const settings = require("@pulumi/pulumi/runtime/settings");
const rpc = require("@pulumi/pulumi/runtime/rpc");
const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", {
    paths: [require.resolve("@pulumi/pulumi")],
}));
/* eslint-enable @typescript-eslint/no-var-requires */

export const ROOT = path.resolve(__dirname, "../..");

/** A registration as captured; `props` is the engine's JSON form (sentinels kept). */
export type Registration = ResourceSpec & { custom: boolean };

/** Edits a registration (return it) or removes it from what the analyzer sees (return undefined). */
export type Fault = (reg: Registration) => Registration | undefined;

export interface CollectOptions {
    stack: string;
    /** Stack config (`Pulumi.<stack>.yaml` `config:` map); structured values are JSON-encoded as the CLI does. */
    config: Record<string, unknown>;
    /** Loads/declares the program (called after mocks and config are in place). */
    program: () => unknown;
    /** `pulumi preview` (default) or `pulumi up`. */
    preview?: boolean;
    fault?: Fault;
    /** Extra fields of the `gcp.container.getCluster` answer (an adopted cluster's live channel, version, pools). */
    liveCluster?: Record<string, unknown>;
}

/** Resource references (`{ sig: resource, urn, id }`) become their id (custom) or URN, as plain data. */
function plainRefs(v: any): any {
    if (Array.isArray(v)) return v.map(plainRefs);
    if (v && typeof v === "object") {
        if (v[rpc.specialSigKey] === rpc.specialResourceSig) {
            return v.id || v.urn;
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainRefs(x)]));
    }
    return v;
}

function capture(req: any): Registration {
    const timeouts = req.getCustomtimeouts?.();
    const seconds = (s: string | undefined) => {
        const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(s ?? "");
        return m ? Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as any)[m[2]] : 0;
    };
    const propertyDependencies: Record<string, string[]> = {};
    for (const [k, v] of req.getPropertydependenciesMap().entries()) {
        propertyDependencies[k] = v.getUrnsList();
    }
    const reg: Registration = {
        type: req.getType(),
        name: req.getName(),
        custom: req.getCustom(),
        props: plainRefs(req.getObject()?.toJavaScript() ?? {}),
        parent: req.getParent() || undefined,
        dependencies: req.getDependenciesList(),
        propertyDependencies,
        opts: {
            protect: req.getProtect() ?? false,
            ignoreChanges: req.getIgnorechangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            aliases: [],
            customTimeouts: {
                createSeconds: seconds(timeouts?.getCreate()),
                updateSeconds: seconds(timeouts?.getUpdate()),
                deleteSeconds: seconds(timeouts?.getDelete()),
            },
        },
    };
    if (req.getDeletebeforereplacedefined()) {
        reg.opts!.deleteBeforeReplace = req.getDeletebeforereplace();
    }
    return reg;
}

/** Program modules are loaded afresh each run (their module-level state belongs to one run). */
function forgetProgramModules(): void {
    for (const key of Object.keys(require.cache)) {
        if (key.startsWith(ROOT) && !key.includes(`${path.sep}node_modules${path.sep}`) && !key.startsWith(path.join(ROOT, "tests", "policy"))
            && !key.startsWith(path.join(ROOT, "policy"))) {
            delete require.cache[key];
        }
    }
}

/**
 * Runs `opts.program` under mocks and returns every resource it registered (components included,
 * as the engine analyzes them too), after all registrations have settled.
 */
export async function collectProgram(opts: CollectOptions): Promise<ResourceSpec[]> {
    const preview = opts.preview ?? true;
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.config)) flat[k] = typeof v === "string" ? v : JSON.stringify(v);

    // The prod promotion gate (components/promotion/gate.ts) reads `verifiedVersions` of another
    // stack through a StackReference: answer that the referenced stack verified exactly the
    // versions this stack pins (as tests/program/harness.ts does).
    const pools = Array.isArray(opts.config["nodepool-rotation:pools"]) ? (opts.config["nodepool-rotation:pools"] as any[]) : [];
    const verifiedVersions = Object.fromEntries(pools.map(p => [p?.role, p?.version]));

    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            if (args.type === "pulumi:pulumi:StackReference") {
                // ...and, for the fleet gate, runs this stack's control plane and rotated long ago (soak over).
                const verifiedControlPlane = (opts.config["nodepool-rotation:cluster"] as { controlPlaneVersion?: string } | undefined)?.controlPlaneVersion;
                return { id: args.inputs.name, state: { name: args.inputs.name, outputs: { verifiedVersions, verifiedControlPlane, verifiedAt: "2026-01-01T00:00:00.000Z" } } };
            }
            const state: Record<string, any> = { ...args.inputs };
            if (args.type === "gcp:container/cluster:Cluster" && !preview) {
                state.endpoint = "34.85.1.2";
                state.masterAuth = { clusterCaCertificate: Buffer.from("MOCK CA").toString("base64") };
            }
            return { id: preview ? "" : `${args.name}_id`, state };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            if (args.token === "gcp:container/getCluster:getCluster") {
                return { ...args.inputs, endpoint: "34.85.1.2", masterAuths: [{ clusterCaCertificate: "TU9DSw==" }], ...opts.liveCluster };
            }
            return args.inputs;
        },
    }, "nodepool-rotation", opts.stack, preview);
    pulumi.runtime.setAllConfig(flat);

    const registrations: Registration[] = [];
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        let reg: Registration | undefined = capture(req);
        const before = JSON.stringify(reg.props);
        if (opts.fault) {
            reg = opts.fault(reg);
        }
        if (reg && JSON.stringify(reg.props) !== before) {
            req.setObject(Struct.fromJavaScript(reg.props));
        }
        if (reg?.opts?.deleteBeforeReplace !== undefined) {
            req.setDeletebeforereplace(reg.opts.deleteBeforeReplace);
            req.setDeletebeforereplacedefined(true);
        }
        return register(req, (err: any, resp: any) => {
            if (!err && reg) {
                registrations.push({ ...reg, urn: resp.getUrn() });
            }
            callback(err, resp);
        });
    };

    // A registration that fails before reaching the monitor (e.g. prod's pools when the promotion
    // gate refuses: they depend on it) only rejects a promise nobody awaits. The language host
    // fails the program on such an unhandled rejection; mocha silently drops them, which made a
    // refused gate look like a race ("collected 0 node pools"). Collect them and fail loudly.
    const failures: unknown[] = [];
    const onRejection = (reason: unknown) => failures.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
        forgetProgramModules();
        await opts.program();
        await settings.waitForRPCs();
        // Node reports unhandled rejections once the microtask queue drains: one event-loop turn.
        await new Promise(resolve => setImmediate(resolve));
    } finally {
        process.off("unhandledRejection", onRejection);
    }
    if (failures.length > 0) {
        const messages = [...new Set(failures.map(f => (f instanceof Error ? f.message : String(f))))];
        throw new Error(`the program failed under mocks (${opts.stack}, ${preview ? "preview" : "up"}): ${messages.join("; ")}`);
    }
    return registrations;
}

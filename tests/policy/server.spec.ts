/**
 * The pack as the Pulumi CLI runs it, minus the CLI: policy/index.ts is started the way the
 * engine starts a Node.js policy pack — pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go runs
 * the `pulumi-analyzer-policy` script with pwd = the pack directory and args `<engine> .`; the
 * script runs `require.resolve('@pulumi/pulumi/cmd/run-policy-pack')` from there (so the repo's
 * node_modules serve the pack) and that runner registers ts-node with type checking. The pack
 * prints its gRPC port on stdout, and the
 * spec talks the analyzer protocol to it on 127.0.0.1: GetAnalyzerInfo, Analyze, AnalyzeStack,
 * Configure. This proves what the direct-call specs cannot: the entry point loads, the pack's
 * name/version/policies/enforcement are what the CLI will show, and the SDK's own deserializer,
 * unknown-checking proxy and enforcement resolution produce the expected diagnostics.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { POLICY_NAMES, TYPES } from "../../policy/policies";
import { stackFileConfig } from "../program/harness";
import { ResourceSpec, UNKNOWN, urnOf } from "./harness";
import { deployment, drainerFor, goodCluster, goodPool } from "./fixtures/resources";
import { declareWorkloads } from "./fixtures/workloads";
import { ROOT, collectProgram } from "./program";

/* eslint-disable @typescript-eslint/no-var-requires */
const fromPulumi = (m: string) => require(require.resolve(m, { paths: [require.resolve("@pulumi/pulumi")] }));
const grpc = fromPulumi("@grpc/grpc-js");
const analyzerpb = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzerrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb");
/* eslint-enable @typescript-eslint/no-var-requires */

const LEVEL = analyzerpb.EnforcementLevel as Record<string, number>;
const STARTUP_DEADLINE_MS = 110_000;

interface Diagnostic { policy: string; level: number; urn: string; message: string }

function options(spec: ResourceSpec): any {
    const o = new analyzerpb.AnalyzerResourceOptions();
    o.setProtect(false);
    o.setIgnorechangesList(spec.opts?.ignoreChanges ?? []);
    if (spec.opts?.deleteBeforeReplace !== undefined) {
        o.setDeletebeforereplace(spec.opts.deleteBeforeReplace);
        o.setDeletebeforereplacedefined(true);
    }
    o.setAdditionalsecretoutputsList(spec.opts?.additionalSecretOutputs ?? []);
    o.setAliasesList([]);
    o.setCustomtimeouts(new analyzerpb.AnalyzerResourceOptions.CustomTimeouts());
    if (spec.parent) o.setParent(spec.parent);
    return o;
}

/** Fills the fields AnalyzeRequest and AnalyzerResource share (type, name, URN, properties, options). */
function withResource<T>(r: T & { setType(v: string): void; setName(v: string): void; setUrn(v: string): void; setProperties(v: any): void; setOptions(v: any): void }, spec: ResourceSpec): T {
    r.setType(spec.type);
    r.setName(spec.name);
    r.setUrn(urnOf(spec));
    r.setProperties(Struct.fromJavaScript(JSON.parse(JSON.stringify(spec.props))));
    r.setOptions(options(spec));
    return r;
}

function analyzeRequest(spec: ResourceSpec): any {
    return withResource(new analyzerpb.AnalyzeRequest(), spec);
}

function stackRequest(specs: ResourceSpec[]): any {
    const req = new analyzerpb.AnalyzeStackRequest();
    req.setResourcesList(specs.map(spec => {
        const r = withResource(new analyzerpb.AnalyzerResource(), spec);
        if (spec.parent) r.setParent(spec.parent);
        r.setDependenciesList(spec.dependencies ?? []);
        for (const [k, urns] of Object.entries(spec.propertyDependencies ?? {})) {
            const deps = new analyzerpb.AnalyzerPropertyDependencies();
            deps.setUrnsList(urns);
            r.getPropertydependenciesMap().set(k, deps);
        }
        return r;
    }));
    return req;
}

function diagnostics(resp: any): Diagnostic[] {
    return resp.getDiagnosticsList().map((d: any) => ({
        policy: d.getPolicyname(), level: d.getEnforcementlevel(), urn: d.getUrn(), message: d.getMessage(),
    }));
}

describe("policy pack served over the analyzer protocol (as `pulumi preview --policy-pack policy` runs it)", function () {
    this.timeout(STARTUP_DEADLINE_MS + 10_000);
    let child: ChildProcess | undefined;
    let client: any;
    let startupMs = 0;
    let stderr = "";

    const call = <T>(method: string, req: any): Promise<T> =>
        new Promise((res, rej) => client[method](req, (err: any, resp: T) => (err ? rej(err) : res(resp))));

    before(async () => {
        const started = Date.now();
        const entry = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
        child = spawn(process.execPath, [entry, "127.0.0.1:0", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
        child.stderr!.on("data", d => { stderr += d; });
        const port = await new Promise<number>((res, rej) => {
            let out = "";
            const timer = setTimeout(() => rej(new Error(`pack did not print its port within ${STARTUP_DEADLINE_MS} ms; stderr:\n${stderr}`)), STARTUP_DEADLINE_MS);
            child!.stdout!.on("data", d => {
                out += d;
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) { clearTimeout(timer); res(Number(m[1])); }
            });
            child!.on("exit", code => { clearTimeout(timer); rej(new Error(`pack exited with ${code} before serving; stderr:\n${stderr}`)); });
        });
        startupMs = Date.now() - started;
        client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(async () => {
        client?.close();
        if (child && child.exitCode === null) {
            const exited = new Promise(res => child!.once("exit", res));
            child.kill("SIGTERM");
            await exited;
        }
    });

    it("loads policy/index.ts and describes the pack: name, version, ten mandatory policies", async () => {
        const info: any = await call("getAnalyzerInfo", new Empty());
        console.log(`      (pack served after ${startupMs} ms, ts-node type-check included)`);
        assert.equal(info.getName(), "nodepool-rotation");
        assert.equal(info.getVersion(), "0.1.0");
        const ps = info.getPoliciesList();
        assert.deepEqual(ps.map((p: any) => p.getName()), [...POLICY_NAMES]);
        for (const p of ps) {
            assert.equal(p.getEnforcementlevel(), LEVEL.MANDATORY, p.getName());
        }
        const pdb = ps.find((p: any) => p.getName() === "workload-has-pdb");
        assert.deepEqual(Object.keys(pdb.getConfigschema().getProperties().toJavaScript()).sort(), ["excludeNamespaces", "minReplicas"]);
    });

    it("Analyze: a pool with secure boot off and deleteBeforeReplace gets two mandatory diagnostics", async () => {
        const pool = { ...goodPool({ nodeConfig: { shieldedInstanceConfig: { enableSecureBoot: false } } }), opts: { deleteBeforeReplace: true } };
        const ds = diagnostics(await call("analyze", analyzeRequest(pool)));
        assert.deepEqual(ds.map(d => d.policy).sort(), ["nodepool-hardened", "nodepool-no-delete-before-replace"]);
        assert.ok(ds.every(d => d.level === LEVEL.MANDATORY));
    });

    it("Analyze: values unknown during preview produce no diagnostic at all, not even advisory", async () => {
        const pool = goodPool({
            name: UNKNOWN.string, version: UNKNOWN.string, management: UNKNOWN.object, upgradeSettings: UNKNOWN.object,
            nodeConfig: { workloadMetadataConfig: UNKNOWN.object, shieldedInstanceConfig: { enableSecureBoot: UNKNOWN.bool }, metadata: UNKNOWN.object },
        });
        assert.deepEqual(diagnostics(await call("analyze", analyzeRequest(pool))), []);
        const web = deployment("web", { spec: { replicas: UNKNOWN.number, template: { spec: { nodeSelector: UNKNOWN.object } } } });
        assert.deepEqual(diagnostics(await call("analyze", analyzeRequest(web))), []);
    });

    it("AnalyzeStack: the real staging program (preview) passes; without its PDB the Deployment is flagged", async () => {
        const collect = (noPdb: boolean) => collectProgram({
            stack: "staging",
            config: stackFileConfig("staging"),
            program: () => { require(path.join(ROOT, "index.ts")); declareWorkloads({ noPdb }); },
        });
        const clean = await collect(false);
        assert.ok(clean.some(s => s.type === TYPES.poolDrainer), "the program declares its PoolDrainers");
        assert.deepEqual(diagnostics(await call("analyzeStack", stackRequest(clean))), []);
        const faulty = diagnostics(await call("analyzeStack", stackRequest(await collect(true))));
        assert.deepEqual(faulty.map(d => d.policy), ["workload-has-pdb"]);
        assert.match(faulty.find(d => d.policy === "workload-has-pdb")!.urn, /kubernetes:apps\/v1:Deployment::web$/);
    });

    it("AnalyzeStack: a pool in a release channel that no exclusion holds is flagged on the pool", async () => {
        const cluster = goodCluster({ maintenancePolicy: undefined });
        const pool = goodPool({ maintenancePolicies: undefined }, "app-pool", cluster);
        const ds = diagnostics(await call("analyzeStack", stackRequest([cluster, pool, drainerFor(pool)])));
        assert.deepEqual(ds.map(d => [d.policy, d.level]), [["nodepool-pinned-version-no-autoupgrade", LEVEL.MANDATORY]]);
        assert.equal(ds[0].urn, urnOf(pool));
    });

    it("Configure: a stack's policy config downgrades or disables a policy", async () => {
        const setLevel = async (level: number) => {
            const req = new analyzerpb.ConfigureAnalyzerRequest();
            const c = new analyzerpb.PolicyConfig();
            c.setEnforcementlevel(level);
            c.setProperties(Struct.fromJavaScript({ minReplicas: 2 }));
            req.getPolicyconfigMap().set("nodepool-hardened", c);
            await call("configure", req);
        };
        const pool = goodPool({ nodeConfig: { metadata: { "disable-legacy-endpoints": "false" } } });
        await setLevel(LEVEL.ADVISORY);
        assert.deepEqual(diagnostics(await call("analyze", analyzeRequest(pool))).map(d => [d.policy, d.level]), [["nodepool-hardened", LEVEL.ADVISORY]]);
        await setLevel(LEVEL.DISABLED);
        assert.deepEqual(diagnostics(await call("analyze", analyzeRequest(pool))), []);
    });
});

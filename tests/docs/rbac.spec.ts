/**
 * docs/rbac/drain-clusterrole.yaml allows every request the drain identity sends, derived from the
 * simulator's request log (SimulatorOptions.log: one line per HTTP request, method and URL) during
 * full runs of each door into the engine on one cluster:
 *   - `npm run rotation -- plan` and `drain` (the CLI, a child process);
 *   - a PoolDrainer's Delete in the Pulumi SDK's real dynamic-provider host (it also reads the
 *     override ConfigMap kube-system/nodepool-rotation-drain);
 *   - the pool guard's check of the drained pool (components/poolGuard.ts guardPoolDelete).
 * The pool holds PDB-protected and PDB-less Deployments, a StatefulSet and a DaemonSet. Every logged
 * request is evaluated against the manifest's rules as Kubernetes RBAC does (apiGroup, resource or
 * resource/subresource, verb, resourceNames, a Role only in its namespace, each through a binding).
 * Every granted (group, resource, verb) must also be used or listed in RESERVED with its reason, so
 * the manifest grows only with the engine.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { guardPoolDelete } from "../../components/poolGuard";
import { startSimulator, Simulator } from "../simulator";
import { ClusterView, daemonSet, deployment, NEW_POOL, OLD_POOL, ROLE_LABELS, scenario, waitFor } from "../drainer/cluster";
import { cleanupAfterEach, CLUSTER, createdDrainer } from "../drainer/harness";
import { runCli } from "../rotation/sim";
import { ROOT } from "./markdown";

const MANIFEST = path.join(ROOT, "docs", "rbac", "drain-clusterrole.yaml");

/** One API request as RBAC sees it. */
export interface ApiRequest { verb: string; group: string; resource: string; namespace?: string; name?: string; nonResource?: string }

/** Parses one simulator log line (`METHOD URL accept=… ct=…`) into the request RBAC authorizes. */
export function parseLogLine(line: string): ApiRequest | undefined {
  const m = /^(GET|POST|PUT|PATCH|DELETE) (\S+)/.exec(line);
  if (!m) return undefined;
  const url = new URL(m[2], "http://simulator");
  let segs = url.pathname.split("/").filter(Boolean);
  let group: string;
  if (segs[0] === "api" && segs.length >= 2) { group = ""; segs = segs.slice(2); }
  else if (segs[0] === "apis" && segs.length >= 3) { group = segs[1]; segs = segs.slice(3); }
  else return { verb: m[1].toLowerCase(), group: "", resource: "", nonResource: url.pathname };
  if (segs.length === 0) return { verb: "get", group: "", resource: "", nonResource: url.pathname };
  let watchPath = false;
  if (segs[0] === "watch") { watchPath = true; segs = segs.slice(1); }
  let namespace: string | undefined;
  if (segs[0] === "namespaces" && segs.length >= 3) { namespace = segs[1]; segs = segs.slice(2); }
  const [resource, name, sub] = segs;
  const full = sub ? `${resource}/${sub}` : resource;
  const watch = watchPath || ["1", "true"].includes(url.searchParams.get("watch") ?? "");
  const verb = { GET: name ? "get" : watch ? "watch" : "list", POST: "create", PUT: "update", PATCH: "patch", DELETE: name ? "delete" : "deletecollection" }[m[1]]!;
  return { verb: watch ? "watch" : verb, group, resource: full, namespace, name };
}

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
/** A role as bound: its rules and where they apply (undefined = cluster-wide). */
interface BoundRole { rules: Rule[]; namespace?: string; subjects: string[] }

/** The manifest's roles, each with the namespace its binding gives it and the bound subjects. */
function boundRoles(): BoundRole[] {
  const docs = parseAllDocuments(fs.readFileSync(MANIFEST, "utf8")).map((d) => d.toJSON());
  const roles = new Map(docs.filter((d) => d.kind === "ClusterRole" || d.kind === "Role").map((d) => [`${d.kind}/${d.metadata.namespace ?? ""}/${d.metadata.name}`, d]));
  const out: BoundRole[] = [];
  for (const b of docs.filter((d) => d.kind === "ClusterRoleBinding" || d.kind === "RoleBinding")) {
    const ns = b.kind === "RoleBinding" ? b.metadata.namespace : undefined;
    const role = roles.get(`${b.roleRef.kind}/${b.roleRef.kind === "Role" ? ns : ""}/${b.roleRef.name}`);
    assert.ok(role, `${b.kind} ${b.metadata.name} refers to a role the manifest defines`);
    out.push({ rules: role.rules, namespace: ns, subjects: b.subjects.map((s: any) => `${s.kind}:${s.name}`).sort() });
  }
  return out;
}

const has = (list: string[], v: string) => list.includes("*") || list.includes(v);
/** Does a rule allow the request (RBAC's RuleAllows: group, resource, verb, resourceNames)? */
function allows(rule: Rule, r: ApiRequest): boolean {
  if (!has(rule.apiGroups, r.group) || !has(rule.resources, r.resource) || !has(rule.verbs, r.verb)) return false;
  return !rule.resourceNames?.length || (r.name !== undefined && rule.resourceNames.includes(r.name));
}
const allowedBy = (roles: BoundRole[], r: ApiRequest) => roles.some((b) => (b.namespace === undefined || b.namespace === r.namespace) && b.rules.some((rule) => allows(rule, r)));

/**
 * Granted but not (yet) used by these runs, and why they stay: the engine's volume checks
 * (persistentvolumeclaims, persistentvolumes) and the shared budget Lease, both landing with the
 * engine's next changes; `get` on a single node or pod (re-reads on failure paths, e.g. a cordon
 * answer lost); every listed workload controller also by name.
 */
const RESERVED = new Set([
  "|persistentvolumeclaims|get", "|persistentvolumeclaims|list", "|persistentvolumeclaims|watch",
  "|persistentvolumes|get", "|persistentvolumes|list", "|persistentvolumes|watch",
  ...["get", "list", "watch", "create", "update", "patch", "delete"].map((v) => `coordination.k8s.io|leases|${v}`),
  "|nodes|get", "|pods|get",
  "apps|deployments|get", "apps|replicasets|get", "apps|statefulsets|get",
  "policy|poddisruptionbudgets|get",
]);

const STATEFULSET = `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: shop }
spec:
  replicas: 2
  serviceName: db
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      nodeSelector: { nodepool-rotation/role: app }
      containers:
      - name: main
        image: registry.example/db:1
        resources: { requests: { cpu: 100m, memory: 128Mi } }
`;

describe("docs/rbac/drain-clusterrole.yaml covers every request of the drain identity (from the simulator's request log)", function () {
  this.timeout(180_000);
  const cleanups = cleanupAfterEach();

  it("the log parser reads verbs, groups, subresources, namespaces and names as RBAC does", () => {
    assert.deepEqual(parseLogLine("GET /api/v1/pods?watch=true&resourceVersion=5 accept=x ct="), { verb: "watch", group: "", resource: "pods", namespace: undefined, name: undefined });
    assert.deepEqual(parseLogLine("POST /api/v1/namespaces/shop/pods/web-1/eviction accept= ct="), { verb: "create", group: "", resource: "pods/eviction", namespace: "shop", name: "web-1" });
    assert.deepEqual(parseLogLine("GET /apis/policy/v1/poddisruptionbudgets?limit=500 accept= ct="), { verb: "list", group: "policy", resource: "poddisruptionbudgets", namespace: undefined, name: undefined });
    assert.deepEqual(parseLogLine("PATCH /api/v1/nodes/n1 accept= ct="), { verb: "patch", group: "", resource: "nodes", namespace: undefined, name: "n1" });
    assert.deepEqual(parseLogLine("GET /api/v1/namespaces/kube-system/configmaps/nodepool-rotation-drain accept= ct="), { verb: "get", group: "", resource: "configmaps", namespace: "kube-system", name: "nodepool-rotation-drain" });
    assert.equal(parseLogLine("GET /version accept= ct=")!.nonResource, "/version");
    // The evaluator: a Role only in its namespace, resourceNames only by name.
    const roles = boundRoles();
    assert.ok(allowedBy(roles, parseLogLine("GET /api/v1/namespaces/kube-system/configmaps/nodepool-rotation-drain a")!));
    assert.ok(!allowedBy(roles, parseLogLine("GET /api/v1/namespaces/shop/configmaps/nodepool-rotation-drain a")!));
    assert.ok(!allowedBy(roles, parseLogLine("GET /api/v1/namespaces/kube-system/configmaps/other a")!));
    assert.ok(!allowedBy(roles, parseLogLine("DELETE /api/v1/namespaces/shop/pods/web-1 a")!), "never a pod delete");
    assert.ok(!allowedBy(roles, parseLogLine("GET /api/v1/namespaces/shop/secrets/x a")!));
  });

  it("a full plan, drain (CLI and PoolDrainer) and pool-guard check send only requests the manifest allows, and use what it grants", async () => {
    const log: string[] = [];
    let recording = false;
    const sim: Simulator = await startSimulator({
      scenario: scenario(deployment("shop", "web", 4, { minAvailable: 3 }), deployment("shop", "api", 4), STATEFULSET, daemonSet("monitoring", "node-agent")),
      log: (line) => { if (recording) log.push(line); },
    });
    cleanups.push(() => sim.stop());
    const view = new ClusterView(sim.kubeConfig());
    await sim.addPool({ name: OLD_POOL, nodes: 2, labels: ROLE_LABELS });
    await waitFor("old pool Ready", () => view.nodesReady(OLD_POOL, 2));
    await waitFor("workloads Ready", () => view.allDeploymentsReady());
    await sim.addPool({ name: NEW_POOL, nodes: 2, labels: ROLE_LABELS });
    await waitFor("new pool Ready", () => view.nodesReady(NEW_POOL, 2));
    const movable = await view.movablePodsOn(OLD_POOL);
    assert.ok(movable.length >= 10, `pods to move: ${movable.length}`);

    // The drainer as the previous `pulumi up` left it (Check and Create touch no cluster).
    const drainer = await createdDrainer(sim.kubeconfig, { deadlineMinutes: 2 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rbac-"));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));

    recording = true;
    const plan = runCli(sim.kubeconfig, ["plan", "--pool", OLD_POOL]);
    assert.equal(await plan.exited, 0, plan.stderr);
    plan.stop();
    const deleted = await drainer.host.call("delete", drainer.id, drainer.outs);
    assert.ok(deleted.ok, !deleted.ok ? deleted.message : "");
    const guard = await guardPoolDelete(sim.kubeConfig(), { pool: OLD_POOL, role: "app", clusterId: CLUSTER }, {});
    assert.equal(guard.outcome, "nothing-to-move");
    const again = runCli(sim.kubeconfig, ["drain", "--pool", OLD_POOL, "--deadline", "60s"]);
    assert.equal(await again.exited, 0, again.stderr);
    again.stop();
    recording = false;

    assert.deepEqual(await view.movablePodsOn(OLD_POOL), [], "the pool was drained");
    const requests = log.map(parseLogLine).filter((r): r is ApiRequest => r !== undefined);
    const api = requests.filter((r) => !r.nonResource);
    assert.ok(api.some((r) => r.resource === "pods/eviction" && r.verb === "create"), "evictions were logged");
    // Non-resource URLs (/version, discovery) are open to every authenticated user (system:discovery).
    for (const r of requests.filter((x) => x.nonResource)) assert.match(r.nonResource!, /^\/(version|api|apis|openapi)(\/|$)/);

    const roles = boundRoles();
    const denied = [...new Set(api.filter((r) => !allowedBy(roles, r)).map((r) => `${r.verb} ${r.group || "core"}/${r.resource}${r.namespace ? ` in ${r.namespace}` : ""}${r.name ? ` (${r.name})` : ""}`))];
    assert.deepEqual(denied, [], "requests the manifest does not allow");

    const used = new Set(api.map((r) => `${r.group}|${r.resource}|${r.verb}`));
    const granted = roles.flatMap((b) => b.rules.flatMap((rule) => rule.apiGroups.flatMap((g) => rule.resources.flatMap((res) => rule.verbs.map((v) => `${g}|${res}|${v}`)))));
    const unused = [...new Set(granted.filter((g) => !used.has(g) && !RESERVED.has(g)))];
    assert.deepEqual(unused, [], "granted but neither used nor reserved: drop it or say why in RESERVED");
    // Every binding names the same subjects.
    assert.equal(new Set(roles.map((b) => b.subjects.join(","))).size, 1);
  });
});

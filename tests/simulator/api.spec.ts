/**
 * REST semantics of the simulator, driven through @kubernetes/client-node over HTTP:
 * metadata bookkeeping, errors as Status objects, patches, selectors, paging, watch, discovery.
 */
import * as assert from "node:assert/strict";
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, Watch } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { FAST, http, nodeYaml, scenario, waitFor } from "./helpers";

describe("simulator API", function () {
  let sim: Simulator;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(async () => {
    sim = await startSimulator({ scenario: scenario(nodeYaml("n1"), nodeYaml("n2", { labels: { zone: "b" } })), timing: FAST });
    core = sim.kubeConfig().makeApiClient(CoreV1Api);
    apps = sim.kubeConfig().makeApiClient(AppsV1Api);
  });
  after(() => sim.stop());

  it("serves discovery: /version v1.33, groups, and pods/eviction as kubectl drain looks for it", async () => {
    const v = await http(sim.url, "GET", "/version");
    assert.match(v.body.gitVersion, /^v1\.33\./);
    const core1 = await http(sim.url, "GET", "/api/v1");
    const ev = core1.body.resources.find((r: any) => r.name === "pods/eviction");
    assert.deepEqual({ group: ev.group, version: ev.version, kind: ev.kind, verbs: ev.verbs }, { group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] });
    const groups = await http(sim.url, "GET", "/apis");
    assert.deepEqual(groups.body.groups.map((g: any) => g.name).sort(), ["apps", "batch", "coordination.k8s.io", "policy"]);
    const pol = await http(sim.url, "GET", "/apis/policy/v1");
    assert.ok(pol.body.resources.some((r: any) => r.name === "poddisruptionbudgets" && r.namespaced));
  });

  it("fills uid, resourceVersion, generation and creationTimestamp; bumps resourceVersion on update", async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "a" }, data: { k: "1" } } });
    assert.match(cm.metadata!.uid!, /^[0-9a-f-]{36}$/);
    assert.equal(cm.metadata!.generation, 1);
    assert.ok(cm.metadata!.creationTimestamp instanceof Date);
    const rv1 = Number(cm.metadata!.resourceVersion);
    cm.data = { k: "2" };
    const cm2 = await core.replaceNamespacedConfigMap({ name: "a", namespace: "default", body: cm });
    assert.ok(Number(cm2.metadata!.resourceVersion) > rv1);
    assert.equal(cm2.metadata!.uid, cm.metadata!.uid);
  });

  it("rejects an update with a stale resourceVersion with 409 Conflict", async () => {
    const cm = await core.readNamespacedConfigMap({ name: "a", namespace: "default" });
    await core.replaceNamespacedConfigMap({ name: "a", namespace: "default", body: { ...cm, data: { k: "3" } } });
    await assert.rejects(core.replaceNamespacedConfigMap({ name: "a", namespace: "default", body: { ...cm, data: { k: "4" } } }), (e: any) => {
      const body = JSON.parse(e.body);
      assert.equal(e.code, 409);
      assert.equal(body.reason, "Conflict");
      assert.match(body.message, /Operation cannot be fulfilled on configmaps "a": the object has been modified/);
      return true;
    });
  });

  it("answers errors as Status objects with real codes and reasons", async () => {
    const nf = await http(sim.url, "GET", "/api/v1/namespaces/default/pods/nope");
    assert.equal(nf.status, 404);
    assert.deepEqual({ kind: nf.body.kind, reason: nf.body.reason, message: nf.body.message, code: nf.body.code }, { kind: "Status", reason: "NotFound", message: 'pods "nope" not found', code: 404 });
    const dup = await http(sim.url, "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "a" } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.reason, "AlreadyExists");
    const nons = await http(sim.url, "POST", "/api/v1/namespaces/missing/configmaps", { metadata: { name: "x" } });
    assert.equal(nons.status, 404);
    assert.equal(nons.body.message, 'namespaces "missing" not found');
    const badSel = await http(sim.url, "GET", "/apis/apps/v1/namespaces/default/deployments", undefined);
    assert.equal(badSel.status, 200);
    const invalid = await http(sim.url, "POST", "/apis/apps/v1/namespaces/default/deployments", {
      metadata: { name: "bad" }, spec: { selector: { matchLabels: { app: "x" } }, template: { metadata: { labels: { app: "y" } }, spec: { containers: [] } } },
    });
    assert.equal(invalid.status, 422);
    assert.equal(invalid.body.reason, "Invalid");
    for (const [method, path] of [["PUT", "/api/v1/namespaces/default/configmaps"], ["GET", "/api/v1/namespaces/default/pods/x/eviction"], ["DELETE", "/api/v1/nodes/n1/status"]]) {
      const r = await http(sim.url, method, path, method === "PUT" ? {} : undefined);
      assert.deepEqual([r.status, r.body.reason], [405, "MethodNotAllowed"], `${method} ${path}`);
    }
  });

  it("bumps generation on spec changes only", async () => {
    const d = await apps.createNamespacedDeployment({ namespace: "default", body: {
      metadata: { name: "gen" }, spec: { replicas: 0, selector: { matchLabels: { app: "gen" } }, template: { metadata: { labels: { app: "gen" } }, spec: { containers: [{ name: "c", image: "x" }] } } },
    } });
    assert.equal(d.metadata!.generation, 1);
    const p = await apps.patchNamespacedDeployment({ name: "gen", namespace: "default", body: { spec: { replicas: 1 } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    assert.equal(p.metadata!.generation, 2);
    const s = await apps.patchNamespacedDeploymentStatus({ name: "gen", namespace: "default", body: { status: { replicas: 5 } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    assert.equal(s.metadata!.generation, 2);
    await apps.deleteNamespacedDeployment({ name: "gen", namespace: "default" });
  });

  it("applies merge, strategic-merge and JSON patches", async () => {
    const merge = await core.patchNode({ name: "n1", body: { spec: { unschedulable: true }, metadata: { labels: { extra: "1" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    assert.equal(merge.spec!.unschedulable, true);
    assert.equal(merge.metadata!.labels!["cloud.google.com/gke-nodepool"], "pool-a");
    const smp = await core.patchNode({ name: "n1", body: { spec: { unschedulable: null, taints: [{ key: "a", value: "1", effect: "NoSchedule" }] } } }, setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch));
    assert.equal(smp.spec!.unschedulable, undefined);
    const smp2 = await core.patchNode({ name: "n1", body: { spec: { taints: [{ key: "b", effect: "NoExecute" }, { key: "a", value: "2", effect: "NoSchedule" }] } } }, setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch));
    assert.deepEqual(smp2.spec!.taints!.map((t) => `${t.key}=${t.value ?? ""}`), ["a=2", "b="], "taints merge by key");
    const jp = await core.patchNode({ name: "n1", body: [{ op: "remove", path: "/spec/taints" }, { op: "add", path: "/metadata/labels/jp", value: "yes" }] }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch));
    assert.equal(jp.spec!.taints, undefined);
    assert.equal(jp.metadata!.labels!.jp, "yes");
    const bad = await http(sim.url, "PATCH", "/api/v1/nodes/n1", [{ op: "test", path: "/metadata/name", value: "other" }], { "Content-Type": "application/json-patch+json" });
    assert.equal(bad.status, 422);
  });

  it("filters lists with label selectors (=, !=, in, notin, exists, !exists) and field selectors", async () => {
    const mk = (name: string, labels: Record<string, string>, nodeName?: string) =>
      core.createNamespacedPod({ namespace: "default", body: { metadata: { name, labels }, spec: { containers: [{ name: "c", image: "x" }], ...(nodeName ? { nodeName } : {}) } } });
    await mk("sel-a", { tier: "web", env: "prod" }, "n2");
    await mk("sel-b", { tier: "db", env: "prod" }, "n2");
    await mk("sel-c", { tier: "web" }, "n2");
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedPod({ namespace: "default", labelSelector, fieldSelector })).items.map((p) => p.metadata!.name).filter((n) => n!.startsWith("sel-")).sort();
    assert.deepEqual(await names("tier=web"), ["sel-a", "sel-c"]);
    assert.deepEqual(await names("tier==web,env=prod"), ["sel-a"]);
    assert.deepEqual(await names("tier!=web"), ["sel-b"]);
    assert.deepEqual(await names("tier in (db, cache)"), ["sel-b"]);
    assert.deepEqual(await names("tier notin (db)"), ["sel-a", "sel-c"]);
    assert.deepEqual(await names("env"), ["sel-a", "sel-b"]);
    assert.deepEqual(await names("!env"), ["sel-c"]);
    assert.deepEqual(await names(undefined, "metadata.name=sel-b"), ["sel-b"]);
    assert.deepEqual(await names(undefined, "spec.nodeName=n2,metadata.name!=sel-a"), ["sel-b", "sel-c"]);
    await waitFor("pods running", async () => (await names(undefined, "status.phase=Running")).length === 3);
    const all = await core.listPodForAllNamespaces({ fieldSelector: "metadata.namespace=default,spec.nodeName=n2" });
    assert.equal(all.items.length, 3);
  });

  it("pages with limit/continue", async () => {
    for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `page-${i}`, labels: { page: "y" } } } });
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const l = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "page", limit: 2, _continue: cont });
      seen.push(...l.items.map((c) => c.metadata!.name!));
      cont = l.metadata!._continue;
      pages++;
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ["page-0", "page-1", "page-2", "page-3", "page-4"]);
  });

  it("watches from a resourceVersion: ADDED, MODIFIED, DELETED in order, and ends at timeoutSeconds", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    const events: string[] = [];
    let doneErr: unknown = "not done";
    const t0 = Date.now();
    const done = new Promise<void>((resolve) => {
      new Watch(sim.kubeConfig()).watch("/api/v1/namespaces/default/configmaps", { resourceVersion: list.metadata!.resourceVersion, timeoutSeconds: 1, labelSelector: "w=1" },
        (type, obj) => events.push(`${type} ${obj.metadata.name} ${obj.data?.v ?? ""}`.trim()),
        (err) => { doneErr = err; resolve(); });
    });
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "w", labels: { w: "1" } }, data: { v: "1" } } });
    await core.patchNamespacedConfigMap({ name: "w", namespace: "default", body: { data: { v: "2" } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "not-watched" } } });
    await core.deleteNamespacedConfigMap({ name: "w", namespace: "default" });
    await done;
    // Without timeoutSeconds the simulator never ends a watch, so ending at all is the evidence;
    // the lower bound shows it was the timeout (not an early close). No tight upper bound: a loaded
    // CI machine may deliver the close late.
    const lasted = Date.now() - t0;
    assert.ok(lasted >= 950 && lasted < 30_000, `watch ended after ${lasted} ms (timeoutSeconds: 1)`);
    assert.equal(doneErr ?? null, null);
    assert.deepEqual(events, ["ADDED w 1", "MODIFIED w 2", "DELETED w 2"]);
  });

  it("replays history to a watch resuming from an older resourceVersion, and answers 410 Gone when it is too old", async () => {
    const small = await startSimulator({ watchCacheSize: 20, timing: FAST });
    try {
      const c = small.kubeConfig().makeApiClient(CoreV1Api);
      const first = await c.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "h0" } } });
      const rv0 = first.metadata!.resourceVersion!;
      await c.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "h1" } } });
      const replay: string[] = [];
      let ctl: AbortController | undefined;
      const got = new Promise<void>((resolve) => {
        new Watch(small.kubeConfig()).watch("/api/v1/namespaces/default/configmaps", { resourceVersion: rv0 }, (t, o) => { replay.push(`${t} ${o.metadata.name}`); resolve(); }, () => resolve())
          .then((a) => (ctl = a));
      });
      await got;
      ctl?.abort();
      assert.deepEqual(replay, ["ADDED h1"]);
      for (let i = 0; i < 40; i++) await c.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `fill-${i}` } } });
      const gone = await new Promise<{ type: string; obj: any }>((resolve, reject) => {
        new Watch(small.kubeConfig()).watch("/api/v1/namespaces/default/configmaps", { resourceVersion: rv0 }, (type, obj) => resolve({ type, obj }), (e) => (e ? reject(e) : undefined));
      });
      assert.equal(gone.type, "ERROR");
      assert.equal(gone.obj.code, 410);
      assert.equal(gone.obj.reason, "Expired");
    } finally {
      await small.stop();
    }
  });

  it("watch with field and label selectors: a pod entering the selection is ADDED, one leaving it is DELETED", async () => {
    const events: string[] = [];
    let ctl: AbortController | undefined;
    const seen = (want: string) => waitFor(want, () => events.includes(want), 5000);
    await new Watch(sim.kubeConfig()).watch("/api/v1/pods", { fieldSelector: "spec.nodeName=n1,metadata.namespace=default", labelSelector: "wf=1" },
      (type, obj) => events.push(`${type} ${obj.metadata.name}`), () => undefined).then((c) => (ctl = c));
    try {
      await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "wf", labels: { wf: "1" } }, spec: { nodeName: "n1", containers: [{ name: "c", image: "x" }] } } });
      await seen("ADDED wf");
      await waitFor("wf running", async () => (await core.readNamespacedPod({ name: "wf", namespace: "default" })).status!.phase === "Running");
      assert.ok(events.includes("MODIFIED wf"));
      await core.patchNamespacedPod({ name: "wf", namespace: "default", body: { metadata: { labels: { wf: "0" } } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
      await seen("DELETED wf");
      assert.ok(await core.readNamespacedPod({ name: "wf", namespace: "default" }), "still exists: it left the selection");
      await core.deleteNamespacedPod({ name: "wf", namespace: "default", gracePeriodSeconds: 0 });
    } finally {
      ctl?.abort();
    }
  });

  it("dryRun=All changes nothing; deletecollection honours selectors; Orphan keeps dependents", async () => {
    const dry = await http(sim.url, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All", { metadata: { name: "dry" } });
    assert.equal(dry.status, 201);
    assert.equal((await http(sim.url, "GET", "/api/v1/namespaces/default/configmaps/dry")).status, 404);
    for (const n of ["dc-1", "dc-2", "keep"]) await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: n, labels: n === "keep" ? {} : { dc: "y" } } } });
    await core.deleteCollectionNamespacedConfigMap({ namespace: "default", labelSelector: "dc=y" });
    const left = (await core.listNamespacedConfigMap({ namespace: "default" })).items.map((c) => c.metadata!.name);
    assert.ok(left.includes("keep") && !left.includes("dc-1") && !left.includes("dc-2"));
    await apps.createNamespacedReplicaSet({ namespace: "default", body: {
      metadata: { name: "orph" }, spec: { replicas: 1, selector: { matchLabels: { o: "1" } }, template: { metadata: { labels: { o: "1" } }, spec: { containers: [{ name: "c", image: "x" }] } } },
    } });
    await waitFor("orph pod", async () => (await core.listNamespacedPod({ namespace: "default", labelSelector: "o=1" })).items.length === 1);
    await apps.deleteNamespacedReplicaSet({ name: "orph", namespace: "default", propagationPolicy: "Orphan" });
    const orphans = (await core.listNamespacedPod({ namespace: "default", labelSelector: "o=1" })).items;
    assert.equal(orphans.length, 1);
    assert.equal(orphans[0].metadata!.ownerReferences, undefined);
  });

  it("updates status only through the status subresource", async () => {
    await core.createNamespacedPod({ namespace: "default", body: { metadata: { name: "st" }, spec: { containers: [{ name: "c", image: "x" }], schedulerName: "none" } } });
    const p = await core.readNamespacedPod({ name: "st", namespace: "default" });
    const viaMain = await core.replaceNamespacedPod({ name: "st", namespace: "default", body: { ...p, status: { ...p.status, phase: "Failed" } } });
    assert.equal(viaMain.status!.phase, "Pending", "main resource PUT ignores status");
    const viaStatus = await core.replaceNamespacedPodStatus({ name: "st", namespace: "default", body: { ...viaMain, status: { ...viaMain.status, phase: "Failed" } } });
    assert.equal(viaStatus.status!.phase, "Failed");
  });

  it("counts requests by verb and resource", async () => {
    const before = sim.report().requests["list configmaps"] ?? 0;
    await core.listNamespacedConfigMap({ namespace: "default" });
    assert.equal(sim.report().requests["list configmaps"], before + 1);
    assert.ok(sim.report().requests["watch configmaps"] >= 1);
    assert.ok(sim.report().requests["patch nodes"] >= 3);
  });
});

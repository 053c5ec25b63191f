/**
 * Failure paths of the drain, against the simulator over HTTP with the real client, some through a
 * fault-injecting proxy (tests/rotation/proxy.ts): whatever goes wrong, the drain fails closed
 * (every node it cordoned is schedulable again), names the cause, and never claims success while
 * a pod is still on the pool.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { CORDONED_ANNOTATION, DrainError, drainPool } from "../../components/rotation";
import { KubeClient, Reflector } from "../../components/rotation/client";
import { startSimulator } from "../simulator";
import { FaultProxy, startFaultProxy } from "./proxy";
import { deployment, nodeManifest, PoolSim, podSpec, runCli, scenario, startPoolSim, waitFor } from "./sim";
import { assertUncordoned, rejects } from "../support/drain";

describe("rotation drain failure paths (simulator, HTTP)", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    await ps?.sim.stop();
    ps = undefined;
  });

  it("a log callback that throws neither stops the drain nor replaces its outcome", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    const s = await drainPool(ps.kc, { pool: "old", log: () => { throw new Error("EPIPE: stderr is gone"); } });
    assert.equal(s.outcome, "drained");
    assert.equal(s.evicted, 4);
    assert.deepEqual((await ps.view.podsOn(ps.oldNodes)).map((p) => p.metadata.name), []);
  });

  it("a 403 on a cordon: the error names the server's message, and the nodes it did cordon are uncordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    const forbidden = { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", code: 403, message: 'nodes "old-1" is forbidden: User "ci-bot" cannot patch resource "nodes" in API group "" at the cluster scope' };
    proxy = await startFaultProxy(ps.sim, (method, path) => (method === "PATCH" && path.startsWith("/api/v1/nodes/old-1") ? { respond: 403, body: forbidden } : undefined));
    const e = await rejects(drainPool(proxy.kubeConfig(), { pool: "old" }));
    assert.equal(e.reason, "api-error");
    assert.match(e.message, /User "ci-bot" cannot patch resource "nodes"/, e.message);
    assert.match(e.message, /HTTP 403/);
    assert.equal(ps.sim.report().evictions, 0);
    await assertUncordoned(ps.view);
  });

  it("a cordon the server applied but whose answer was lost, then an abort: that node is uncordoned too", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    const ctrl = new AbortController();
    proxy = await startFaultProxy(ps.sim, (method, path) => {
      if (method === "PATCH" && path.startsWith("/api/v1/nodes/old-0") && !ctrl.signal.aborted) {
        setTimeout(() => ctrl.abort(new Error("SIGTERM")), 50); // while the client backs off before retrying
        return "apply-then-drop";
      }
      return undefined;
    });
    const e = await rejects(drainPool(proxy.kubeConfig(), { pool: "old", signal: ctrl.signal }));
    assert.equal(e.reason, "aborted");
    assert.equal(ps.sim.report().evictions, 0);
    await assertUncordoned(ps.view);
    assert.deepEqual(e.summary.cordoned, [], "nothing reported as still cordoned");
  });

  it("a pod that cannot be moved safely appearing on the pool mid-drain fails the drain, naming it (no false success)", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 6, { maxUnavailable: 1 }), timing: { podReadyMs: 150 } });
    const drain = rejects(drainPool(ps.kc, { pool: "old" }));
    await waitFor("first eviction", () => ps!.sim.report().evictions >= 1);
    // Bound to the node directly (no scheduler, so the cordon does not keep it out), no controller.
    await ps.view.core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "intruder" }, spec: { ...podSpec(), nodeName: "old-0" } } as any });
    const e = await drain;
    assert.equal(e.reason, "blocked");
    assert.ok(e.blockingPods.includes("shop/intruder"), e.blockingPods.join(","));
    assert.match(e.message, /shop\/intruder.*no controller/);
    await assertUncordoned(ps.view);
    assert.equal(ps.sim.report().podsDeletedWithoutEviction, 0);
  });

  it("an abort while an eviction hangs uncordons the pool well within the engine's 5 s SIGKILL window, deleting nothing", async () => {
    // The Pulumi engine SIGKILLs a plugin's process group 5 s after its SIGINT (pulumi/pulumi
    // sdk/go/common/resource/plugin/plugin.go): an aborted drain must not spend that waiting for
    // an eviction that never answers (evictions are not tied to the abort signal).
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    const ctrl = new AbortController();
    let hanging = false;
    proxy = await startFaultProxy(ps.sim, (method, p) => {
      if (method !== "POST" || !p.endsWith("/eviction") || hanging) return undefined;
      hanging = true;
      return "hang";
    });
    const drain = rejects(drainPool(proxy.kubeConfig(), { pool: "old", signal: ctrl.signal }));
    await waitFor("an eviction on the wire", () => hanging);
    await waitFor("the pool cordoned", async () => (await ps!.view.nodes("old")).every((n) => n.spec?.unschedulable));
    const abortedAt = Date.now();
    ctrl.abort(new Error("SIGINT"));
    // Watched on the simulator directly, not through the proxy.
    await waitFor("the pool uncordoned", async () => (await ps!.view.nodes("old")).every((n) => !n.spec?.unschedulable), 10_000);
    const uncordonedMs = Date.now() - abortedAt;
    const e = await drain;
    assert.ok(uncordonedMs < 2000, `uncordoned ${uncordonedMs} ms after the abort (the engine SIGKILLs at 5000 ms)`);
    assert.ok(Date.now() - abortedAt < 2500, `the drain answered ${Date.now() - abortedAt} ms after the abort`);
    assert.equal(e.reason, "aborted");
    assert.deepEqual(e.uncordoned, ps.oldNodes);
    assert.equal(ps.sim.report().podsDeletedWithoutEviction, 0);
    await assertUncordoned(ps.view);
  });

  it("a request the server never answers does not outlive the deadline: the drain fails closed on time", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    let hung = 0;
    proxy = await startFaultProxy(ps.sim, (method, path) => (method === "PATCH" && path.startsWith("/api/v1/nodes/old-1") && hung++ === 0 ? "hang" : undefined));
    const started = Date.now();
    const e = await rejects(drainPool(proxy.kubeConfig(), { pool: "old", deadlineMs: 1500 }));
    assert.ok(Date.now() - started < 8000, `returned after ${Date.now() - started} ms (deadline 1.5 s)`);
    assert.equal(e.reason, "api-error");
    assert.match(e.message, /patch nodes: no answer within \d+ ms/);
    await assertUncordoned(ps.view);
  });

  it("the CLI: Ctrl-C twice (the second while it uncordons) still exits 1 with every node uncordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 6, { maxUnavailable: 1 }), timing: { podReadyMs: 300 } });
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const patches = new Map<string, number>();
    let uncordoning = false;
    // Each node's second PATCH is the uncordon: hold it until the second signal has been sent.
    proxy = await startFaultProxy(ps.sim, (method, p) => {
      if (method !== "PATCH" || !p.startsWith("/api/v1/nodes/")) return undefined;
      const n = (patches.get(p) ?? 0) + 1;
      patches.set(p, n);
      if (n !== 2) return undefined;
      uncordoning = true;
      return { after: held };
    });
    const cli = runCli(proxy.kubeconfig, ["drain", "--pool", "old"]);
    const { child, exited } = cli;
    try {
      await waitFor("the CLI to start evicting", () => ps!.sim.report().evictions >= 1, 30_000);
      child.kill("SIGINT");
      await waitFor(`the CLI to start uncordoning\n${cli.stderr}`, () => uncordoning);
      child.kill("SIGINT"); // while the uncordon is on the wire
      const early = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("running"), 500))]);
      release();
      assert.equal(early, "running", `the second SIGINT must not end the process mid-cleanup\n${cli.stderr}`);
      assert.equal(await exited, 1, `exit code\n${cli.stderr}`);
      assert.match(cli.stderr, /received SIGINT again: still failing closed/);
    } finally {
      release();
      cli.stop();
    }
    assert.match(cli.stderr, /^error: aborted: received SIGINT\. Uncordoned /m);
    await assertUncordoned(ps.view);
  });

  it("a cordoned node deleted during the drain (autoscaler, repair) is not reported as left cordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, waitReady: false, objects: [
      ...deployment("shop", "sick", 2, { minAvailable: 1 }, { annotations: { "simulator.nodepool-rotation.io/ready": "false" } }),
      ...deployment("shop", "web", 2, { maxUnavailable: 1 }),
    ] });
    await waitFor("pods running", async () => (await ps!.view.pods()).filter((p) => p.status?.phase === "Running").length === 4);
    const logs: string[] = [];
    const drain = rejects(drainPool(ps.kc, { pool: "old", deadlineMs: 2000, log: (l) => logs.push(l) }));
    await waitFor("pool cordoned", () => logs.some((l) => /cordoned 2 node\(s\)/.test(l)));
    await ps.view.core.deleteNode({ name: "old-1" });
    const e = await drain;
    assert.equal(e.reason, "deadline");
    assert.deepEqual(e.summary.cordoned, [], "nothing is left cordoned: old-0 uncordoned, old-1 gone");
    assert.deepEqual(e.uncordoned, ["old-0"]);
    assert.doesNotMatch(logs.join("\n"), /could not uncordon/);
    await assertUncordoned(ps.view);
  });

  it("a watch handler that throws does not lose the event silently: the reflector re-lists and its cache heals", async () => {
    const sim = await startSimulator({ scenario: scenario([nodeManifest("n-1", "p")]) });
    try {
      const kc = sim.kubeConfig();
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const client = new KubeClient(kc);
      const seen = new Set<string>();
      let thrown = 0;
      const r = new Reflector(client, "configmaps", "/api/v1/configmaps", (d) => client.listAll("list configmaps", (c, o) => client.core.listConfigMapForAllNamespaces({ limit: 500, _continue: c }, o), d), {
        reset: (items) => { seen.clear(); for (const i of items) seen.add(i.metadata!.name!); },
        event: (type, o) => {
          if (thrown++ === 0) throw new TypeError("handler bug");
          if (type === "DELETED") seen.delete(o.metadata!.name!); else seen.add(o.metadata!.name!);
        },
      }, Date.now() + 20_000);
      try {
        await r.start();
        await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "lost-event" } } });
        await waitFor("the cache to heal after the handler threw", () => seen.has("lost-event"), 10_000);
        assert.ok(r.lists >= 2, `re-listed (${r.lists} lists)`);
        assert.match(String(r.lastError), /handler bug/);
      } finally {
        r.stop();
      }
    } finally {
      await sim.stop();
    }
  });

  it("a node a human cordons between the drain's list and its cordon stays theirs: never annotated, never uncordoned", async () => {
    ps = await startPoolSim({ oldNodes: 2, waitReady: false, objects: [
      ...deployment("shop", "sick", 2, { minAvailable: 1 }, { annotations: { "simulator.nodepool-rotation.io/ready": "false" } }),
      ...deployment("shop", "web", 2, { maxUnavailable: 1 }),
    ] });
    await waitFor("pods running", async () => (await ps!.view.pods()).filter((p) => p.status?.phase === "Running").length === 4);
    const view = ps.view;
    let first = true;
    // `kubectl cordon old-0` lands just before the drain's own cordon patch reaches the server.
    proxy = await startFaultProxy(ps.sim, (method, p) => {
      if (method !== "PATCH" || !p.startsWith("/api/v1/nodes/old-0") || !first) return undefined;
      first = false;
      return { after: view.core.patchNode({ name: "old-0", body: { spec: { unschedulable: true } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)) };
    });
    const logs: string[] = [];
    const e = await rejects(drainPool(proxy.kubeConfig(), { pool: "old", deadlineMs: 1500, log: (l) => logs.push(l) }));
    assert.equal(e.reason, "deadline");
    assert.deepEqual(e.uncordoned, ["old-1"]);
    const old0 = (await ps.view.nodes("old")).find((n) => n.metadata.name === "old-0");
    assert.equal(old0.spec?.unschedulable, true, "the human's cordon is kept");
    assert.equal(old0.metadata?.annotations?.[CORDONED_ANNOTATION], undefined, "not marked as ours");
    assert.ok(logs.some((l) => /old-0.*cordoned by someone else/.test(l)), logs.join("\n"));
  });

  it("the CLI exits when the drain ends even if a watch request was never answered (its socket cannot be aborted)", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: deployment("shop", "web", 4, { maxUnavailable: 1 }) });
    // client-node's Watch hands out its AbortController only once the response headers arrived.
    proxy = await startFaultProxy(ps.sim, (method, p) => (method === "GET" && p.includes("watch=true") ? "hang" : undefined));
    const cli = runCli(proxy.kubeconfig, ["drain", "--pool", "old", "--deadline", "2s"]);
    const { child, exited } = cli;
    try {
      await waitFor(`the drain to fail at its deadline\n${cli.stderr}`, () => /^error: deadline of 2s reached/m.test(cli.stderr), 30_000);
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), 5000))]);
      assert.equal(code, 1, `the CLI must exit after reporting\n${cli.stderr}`);
    } finally {
      cli.stop();
    }
    await assertUncordoned(ps.view);
  });
});

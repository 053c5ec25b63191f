/**
 * The engine's API layer against the simulator: Retry-After honoured, 5xx retried, requests
 * counted, and a watch that starts from a compacted resourceVersion (410 Gone) re-lists.
 */
import * as assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { backoffMs, errorText, isTransient, KubeClient, Reflector, retryAfterMs } from "../../components/rotation/client";
import { startSimulator, Simulator } from "../simulator";
import { nodeManifest, scenario, waitFor } from "./sim";

describe("rotation API client (simulator, HTTP)", function () {
  this.timeout(30_000);
  let sim: Simulator | undefined;
  afterEach(async () => { await sim?.stop(); sim = undefined; });

  it("parses Retry-After (seconds, HTTP date, Status details) and keeps backoff within bounds", () => {
    assert.equal(retryAfterMs({ headers: { "retry-after": "2" } }), 2000);
    const d = retryAfterMs({ headers: { "retry-after": new Date(Date.now() + 3000).toUTCString() } })!;
    assert.ok(d > 1000 && d <= 3000, String(d));
    assert.equal(retryAfterMs({ body: { details: { retryAfterSeconds: 10 } } }), 10_000);
    assert.equal(retryAfterMs({ body: "{\"details\":{\"retryAfterSeconds\":1}}" }), 1000);
    assert.equal(retryAfterMs({}), undefined);
    for (let a = 0; a < 30; a++) {
      const lo = backoffMs(a, 100, 5000, () => 0), hi = backoffMs(a, 100, 5000, () => 1);
      assert.equal(lo, 100);
      assert.equal(hi, Math.min(5000, 100 * 2 ** a));
    }
  });

  it("a missing exec credential plugin fails at once, in one line naming the command and the kubeconfig's installHint", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
      users: [{ name: "u", exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "no-such-auth-plugin-h10", installHint: "Install it with\n  apt-get install no-such-auth-plugin" } } as any],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const client = new KubeClient(kc);
    const t0 = Date.now();
    const err = await client.listNodes(Date.now() + 20_000).then(() => assert.fail("the list must fail"), (e) => e);
    assert.ok(Date.now() - t0 < 2000, `failed after ${Date.now() - t0} ms: not retried until the deadline`);
    assert.equal(client.requests["list nodes"], 1, "one attempt: a missing plugin is not transient");
    assert.equal(isTransient(err), false);
    assert.equal(errorText(err, kc), "no-such-auth-plugin-h10 not found on PATH: install it (Install it with apt-get install no-such-auth-plugin)");
    assert.equal(errorText(err), "no-such-auth-plugin-h10 not found on PATH: install it");
  });

  it("parallel requests backing off keep one listener on the caller's signal (no MaxListenersExceededWarning), and its abort still stops them", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: "c", server: "http://127.0.0.1:1" }], users: [{ name: "u" }], contexts: [{ name: "x", cluster: "c", user: "u" }], currentContext: "x" });
    const ctrl = new AbortController();
    // Count the listeners on the caller's signal as they are added and removed.
    let now = 0, max = 0;
    const add = ctrl.signal.addEventListener.bind(ctrl.signal), remove = ctrl.signal.removeEventListener.bind(ctrl.signal);
    (ctrl.signal as any).addEventListener = (...a: any[]) => { now++; max = Math.max(max, now); return (add as any)(...a); };
    (ctrl.signal as any).removeEventListener = (...a: any[]) => { now--; return (remove as any)(...a); };
    const warnings: Error[] = [];
    const onWarning = (w: Error) => { if (w.name === "MaxListenersExceededWarning") warnings.push(w); };
    process.on("warning", onWarning);
    try {
      const client = new KubeClient(kc, ctrl.signal);
      // 20 lists against a refused port: every one fails, backs off and retries, all at once.
      const lists = Array.from({ length: 20 }, () => client.listNodes(Date.now() + 60_000).then(() => "listed", (e) => e.name));
      await waitFor("each list retried a few times", () => client.total >= 60);
      ctrl.abort(new Error("stop"));
      assert.deepEqual(new Set(await Promise.all(lists)), new Set(["AbortError"]), "the abort reached every list");
      assert.ok(max <= 1, `${max} listeners on the caller's signal at once`);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.deepEqual(warnings.map((w) => w.message), []);
    } finally {
      process.removeListener("warning", onWarning);
    }
  });

  it("honours Retry-After on 429 and retries 5xx, counting every attempt", async () => {
    sim = await startSimulator({ scenario: scenario([nodeManifest("n-1", "p")]) });
    const client = new KubeClient(sim.kubeConfig());
    sim.setFaults({ seed: 3, retryAfterRate: 1 });
    const t0 = Date.now();
    const listing = client.listNodes(Date.now() + 20_000);
    // turn the fault off once the first list reached the server (and got its 429), not after a timer
    await waitFor("the first list (answered 429)", () => (sim!.report().requests["list nodes"] ?? 0) >= 1);
    sim.setFaults({ retryAfterRate: 0 });
    const nodes = await listing;
    assert.equal(nodes.items.length, 1);
    assert.ok(Date.now() - t0 >= 950, `waited ${Date.now() - t0} ms: Retry-After: 1 honoured`);
    assert.ok(client.requests["list nodes"] >= 2, JSON.stringify(client.requests));

    sim.setFaults({ seed: 4, errorRate: 0.5 });
    for (let i = 0; i < 10; i++) await client.listNodes(Date.now() + 20_000);
    sim.setFaults({ errorRate: 0 });
    assert.ok(client.requests["list nodes"] > 12, `5xx retried: ${client.requests["list nodes"]} requests for 11 lists`);
    assert.equal(client.total, client.requests["list nodes"]);
  });

  it("a watch from a compacted resourceVersion gets 410 and re-lists, then follows new events", async () => {
    sim = await startSimulator({ scenario: scenario([nodeManifest("n-1", "p")]) });
    (sim.cluster.store as any).logCapacity = 40; // compact the event log quickly
    const kc = sim.kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 60; i++) await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: `cm-${i}` } } });
    const client = new KubeClient(kc);
    const seen = new Map<string, any>();
    let resets = 0;
    const r = new Reflector(client, "configmaps", "/api/v1/configmaps", (d) => client.listAll("list configmaps", (c) => client.core.listConfigMapForAllNamespaces({ limit: 500, _continue: c }), d), {
      reset: (items) => { resets++; seen.clear(); for (const i of items) seen.set(i.metadata!.name!, i); },
      event: (type, o) => { if (type === "DELETED") seen.delete(o.metadata!.name!); else seen.set(o.metadata!.name!, o); },
    }, Date.now() + 20_000);
    try {
      await r.start({ items: [], resourceVersion: "1" }); // far older than the log keeps
      await waitFor("re-list after 410", () => r.lists >= 1 && seen.size >= 60);
      await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "after" } } });
      await waitFor("event after the re-list", () => seen.has("after"));
      assert.ok(resets >= 2, "initial reset + re-list");
      assert.ok((client.requests["watch configmaps"] ?? 0) >= 2, JSON.stringify(client.requests));
    } finally {
      r.stop();
    }
  });
});

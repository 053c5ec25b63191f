/**
 * Scale: 500 nodes and 10,000 pods (95 Deployments x 100 replicas with PDBs, plus a DaemonSet on
 * every node) load and settle — every pod Running and Ready — in under 10 s. Readiness is observed
 * from outside, through a client-node Watch over HTTP. The figure is printed.
 */
import * as assert from "node:assert/strict";
import { Watch } from "@kubernetes/client-node";
import { startSimulator, Simulator } from "./index";
import { isReady } from "./helpers";

const NODES = 500;
const DEPLOYMENTS = 95;
const REPLICAS = 100;
const PODS = DEPLOYMENTS * REPLICAS + NODES;

function bigScenario(): string {
  const docs: object[] = [];
  for (let i = 0; i < NODES; i++) {
    docs.push({ apiVersion: "v1", kind: "Node", metadata: { name: `node-${i}`, labels: { "cloud.google.com/gke-nodepool": `pool-${i % 5}`, "nodepool-rotation/role": "app" } },
      status: { capacity: { cpu: "8", memory: "32Gi", pods: "110" }, allocatable: { cpu: "8", memory: "32Gi", pods: "110" } } });
  }
  for (let i = 0; i < DEPLOYMENTS; i++) {
    const ns = `team-${i % 10}`;
    docs.push({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: `svc-${i}`, namespace: ns },
      spec: { replicas: REPLICAS, selector: { matchLabels: { app: `svc-${i}` } }, template: { metadata: { labels: { app: `svc-${i}` } },
        spec: { containers: [{ name: "c", image: "app", resources: { requests: { cpu: "100m", memory: "128Mi" } } }] } } } });
    docs.push({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: `svc-${i}`, namespace: ns }, spec: { maxUnavailable: "10%", selector: { matchLabels: { app: `svc-${i}` } } } });
  }
  docs.push({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: "kube-system" },
    spec: { selector: { matchLabels: { app: "agent" } }, template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "a", image: "agent", resources: { requests: { cpu: "50m" } } }] } } } });
  return docs.map((d) => JSON.stringify(d)).join("\n---\n");
}

describe("simulator at scale", function () {
  this.timeout(60_000);
  let sim: Simulator | undefined;
  let ctl: AbortController | undefined;
  after(async () => {
    ctl?.abort();
    await sim?.stop();
  });

  it(`loads ${NODES} nodes / ${PODS} pods and settles (all Running and Ready) in under 10 s`, async () => {
    const text = bigScenario();
    const t0 = performance.now();
    sim = await startSimulator({ scenario: text, timing: { podStartMs: 20, podReadyMs: 30, terminationGraceScale: 0.001, nodeBootMs: 50 } });
    const loaded = performance.now() - t0;
    const ready = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      new Watch(sim!.kubeConfig()).watch("/api/v1/pods", {}, (type, pod) => {
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        if (type !== "DELETED" && isReady(pod) && pod.status.phase === "Running") ready.add(key); else ready.delete(key);
        if (ready.size === PODS) resolve();
      }, (err) => (err ? reject(err) : undefined)).then((c) => (ctl = c), reject);
    });
    const settled = performance.now() - t0;
    ctl?.abort();
    console.log(`      scale: ${NODES} nodes / ${PODS} pods loaded in ${Math.round(loaded)} ms, all Running+Ready after ${Math.round(settled)} ms (${sim.cluster.store.rv} resource versions)`);
    assert.equal(sim.cluster.store.count("pods"), PODS);
    assert.ok(settled < 10_000, `settled in ${Math.round(settled)} ms`);
    const r = sim.report();
    assert.equal(Object.keys(r.workloads).length, DEPLOYMENTS + 1);
    assert.ok(Object.values(r.workloads).every((w) => w.msBelowFloor === 0 && w.minReady === w.replicas));
  });
});

/**
 * `npm run sim` (tests/simulator/cli.ts) as a process, and scenario loading: the timing ConfigMap,
 * owner references by name, and clear errors for bad files and flags.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { startSimulator } from "./index";
import { http, isReady, nodeYaml, scenario, waitFor } from "./helpers";

const ROOT = path.resolve(__dirname, "../..");
const TS_NODE = path.join(ROOT, "node_modules/.bin/ts-node");

function runCli(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(TS_NODE, ["tests/simulator/cli.ts", ...args], { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

describe("simulator CLI and scenarios", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sim-cli-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("npm run sim: writes a kubeconfig, serves the scenario and the report, stops on SIGTERM", async () => {
    const file = path.join(dir, "scenario.yaml");
    fs.writeFileSync(file, scenario(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: simulator, namespace: kube-system}\ndata: {podReadyMs: \"5\"}",
      nodeYaml("n1"),
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: demo}\nspec: {containers: [{name: c, image: x}]}",
    ));
    const kc = path.join(dir, "kubeconfig");
    const cli = runCli(["--scenario", file, "--kubeconfig", kc]);
    try {
      const url = await waitFor("URL on stdout", () => /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(cli.stdout())?.[1], 30_000, 50);
      assert.ok(fs.readFileSync(kc, "utf8").includes(`server: ${url}`));
      const pods = await waitFor("pod ready", async () => (await http(url, "GET", "/api/v1/namespaces/demo/pods")).body.items?.filter(isReady).length === 1);
      assert.ok(pods);
      const rep = await http(url, "GET", "/simulator/report");
      assert.equal(rep.status, 200);
      assert.ok(rep.body.requests["list pods"] >= 1);
    } finally {
      cli.child.kill("SIGTERM");
    }
    assert.equal(await cli.exit, 0);
  });

  it("npm run sim: SIGTERM to npm stops the simulator and frees its port", async () => {
    const file = path.join(dir, "scenario-npm.yaml");
    fs.writeFileSync(file, scenario(nodeYaml("n1")));
    const kc = path.join(dir, "kubeconfig-npm");
    // npm as an operator or a CI step runs it; SIGTERM goes to npm (a CI cancel, `kill <npm pid>`).
    const npm = spawn("npm", ["run", "--silent", "sim", "--", "--scenario", file, "--kubeconfig", kc], { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } });
    let out = "";
    npm.stdout!.on("data", (d) => (out += d));
    const exit = new Promise<number | null>((resolve) => npm.on("exit", (code, sig) => resolve(sig ? null : code)));
    const url = await waitFor("URL on stdout", () => /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1], 30_000, 50);
    const port = Number(new URL(url).port);
    assert.equal((await http(url, "GET", "/simulator/report")).status, 200);
    npm.kill("SIGTERM");
    assert.equal(await exit, 0, "npm exits with the simulator's clean exit");
    // Nothing holds the port any more: it can be bound again at once.
    const reuse = net.createServer();
    await new Promise<void>((resolve, reject) => { reuse.once("error", reject); reuse.listen(port, "127.0.0.1", () => resolve()); });
    await new Promise<void>((resolve) => reuse.close(() => resolve()));
  });

  it("bad flags and files: exit non-zero with a message naming the flag, nothing served", async () => {
    const bad = runCli(["--scenario", path.join(dir, "missing.yaml"), "--kubeconfig", path.join(dir, "kc2")]);
    assert.equal(await bad.exit, 2);
    assert.match(bad.stderr(), /--scenario: file not found: .*missing\.yaml/);
    const port = runCli(["--scenario", "x", "--kubeconfig", "y", "--port", "http"]);
    assert.equal(await port.exit, 1);
    assert.match(port.stderr(), /--port must be a non-negative integer <= 65535 \(got "http"\)/);
    assert.ok(!fs.existsSync(path.join(dir, "kc2")));
  });

  it("scenario: timing from the ConfigMap, owner references by name, clear errors", async () => {
    const sim = await startSimulator({ scenario: scenario(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: simulator, namespace: kube-system}\ndata: {podStartMs: \"0\", podReadyMs: \"250\"}",
      nodeYaml("n1"),
      // the owner is defined after its pod in the file: loading order is by kind
      "apiVersion: v1\nkind: Pod\nmetadata: {name: owned, namespace: x, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs, controller: true}]}\nspec: {containers: [{name: c, image: x}]}",
      "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs, namespace: x}\nspec: {replicas: 1, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}",
    ) });
    try {
      assert.equal(sim.cluster.timing.podReadyMs, 250);
      const core = sim.kubeConfig().makeApiClient(CoreV1Api);
      const t0 = Date.now();
      const pods = await waitFor("1 ready", async () => {
        const ready = (await core.listNamespacedPod({ namespace: "x" })).items.filter(isReady);
        return ready.length === 1 ? ready : undefined;
      });
      assert.ok(Date.now() - t0 >= 200, "podReadyMs from the ConfigMap");
      const rs = (await http(sim.url, "GET", "/apis/apps/v1/namespaces/x/replicasets/rs")).body;
      assert.equal(pods[0].metadata!.ownerReferences![0].uid, rs.metadata.uid);
      assert.equal((await core.listNamespacedPod({ namespace: "x" })).items.length, 1, "the ReplicaSet adopted the pod instead of creating another");
    } finally {
      await sim.stop();
    }
    await assert.rejects(startSimulator({ scenario: "apiVersion: v1\nkind: Service\nmetadata: {name: s}" }), /kind Service is not supported/);
    await assert.rejects(startSimulator({ scenario: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: simulator, namespace: kube-system}\ndata: {podReadyMs: soon}" }),
      /ConfigMap kube-system\/simulator: data.podReadyMs must be a non-negative number \(got "soon"\)/);
    await assert.rejects(startSimulator({ scenario: "kind: Pod\nmetadata: {name: p, ownerReferences: [{kind: ReplicaSet, name: nope}]}\nspec: {containers: []}" }), /ownerReference ReplicaSet\/nope not found/);
  });
});

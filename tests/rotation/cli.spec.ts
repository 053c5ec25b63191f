/**
 * The CLI: --help documents every flag; plan/drain against the simulator (bin.js in a child
 * process, and main() in-process); exit codes; bad input named before anything changes.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { buildProgram, main } from "../../components/rotation/cli";
import { planPool } from "../../components/rotation";
import { deployment, PoolSim, startPoolSim, waitFor } from "./sim";
import { closedPort } from "../support/net";

const BIN = path.join(__dirname, "../../components/rotation/bin.js");

function capture() {
  const out = { stdout: "", stderr: "" };
  return { out, io: { stdout: (s: string) => { out.stdout += s; }, stderr: (s: string) => { out.stderr += s; } } };
}

function runBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000 }, (err: any, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe("rotation CLI", function () {
  this.timeout(60_000);
  let ps: PoolSim | undefined;
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-cli-")); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => { await ps?.sim.stop(); ps = undefined; });

  it("--help documents every flag of plan and drain", async () => {
    const program = buildProgram({ stdout: () => undefined, stderr: () => undefined, exit: () => undefined });
    for (const cmd of program.commands) {
      const { out, io } = capture();
      assert.equal(await main([cmd.name(), "--help"], io), 0);
      for (const opt of cmd.options) {
        assert.ok(opt.description && opt.description.length > 10, `${cmd.name()} ${opt.long} has a description`);
        assert.ok(out.stdout.includes(opt.long!), `${cmd.name()} --help lists ${opt.long}`);
      }
    }
    const names = program.commands.find((c) => c.name() === "drain")!.options.map((o) => o.long);
    for (const f of ["--kubeconfig", "--pool", "--json", "--deadline", "--concurrency", "--batch", "--batch-soak", "--wait-for-ready", "--soak", "--keep-cordoned", "--force", "--delete-emptydir-data", "--pool-label", "--replacement-selector", "--default-budget"]) {
      assert.ok(names.includes(f), `drain has ${f}`);
    }
  });

  it("bad input exits 2 naming the flag, before touching any cluster", async () => {
    let c = capture();
    assert.equal(await main(["drain", "--kubeconfig", path.join(dir, "missing"), "--pool", "old"], c.io), 2);
    assert.match(c.out.stderr, /--kubeconfig .*missing: cannot read it/);
    c = capture();
    assert.equal(await main(["drain", "--kubeconfig", "x", "--pool", "old", "--deadline", "soon"], c.io), 2);
    assert.match(c.out.stderr, /--deadline.*expected a duration like 500ms, 90s, 15m or 1h/);
    c = capture();
    assert.equal(await main(["drain", "--kubeconfig", "x"], c.io), 2);
    assert.match(c.out.stderr, /required option '--pool <name>'/);
  });

  it("plan (bin.js, --json) exits 3 on blockers; drain --force --json moves everything and exits 0", async () => {
    ps = await startPoolSim({ oldNodes: 2, objects: [
      ...deployment("shop", "web", 4, { maxUnavailable: 1 }),
      { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "bare" }, spec: { containers: [{ name: "c", image: "x" }], nodeName: "old-0" } },
    ] });
    const kcPath = path.join(dir, "kubeconfig");
    ps.sim.writeKubeconfig(kcPath);
    const plan = await runBin(["plan", "--kubeconfig", kcPath, "--pool", "old", "--json"]);
    assert.equal(plan.code, 3, plan.stderr);
    const json = JSON.parse(plan.stdout);
    assert.equal(json.pods.find((p: any) => p.name === "bare").verdict, "blocks");
    assert.equal(json.pods.filter((p: any) => p.verdict === "evict").length, 4);
    assert.match(json.blockers.join("\n"), /shop\/bare.*no controller/);

    const text = capture();
    assert.equal(await main(["plan", "--kubeconfig", kcPath, "--pool", "old", "--force"], text.io), 0);
    assert.match(text.out.stdout, /evict\s+shop\/bare/);
    assert.match(text.out.stdout, /result: ready to drain/);

    const c = capture();
    assert.equal(await main(["drain", "--kubeconfig", kcPath, "--pool", "old", "--force", "--json", "--concurrency", "3"], c.io), 0, c.out.stderr);
    const summary = JSON.parse(c.out.stdout);
    assert.equal(summary.outcome, "drained");
    assert.equal(summary.evicted, 5);
    assert.match(c.out.stderr, /\[old\] drained: 5 evicted/);
    assert.equal((await ps.view.podsOn(ps.oldNodes)).length, 0);
    assert.equal(ps.sim.report().podsDeletedWithoutEviction, 0);
  });

  it("an unreachable cluster: drain and plan say on stderr that they retry, naming the cause, on the first retry and then at most every 10 s", async () => {
    const port = await closedPort();
    const kubeconfig = path.join(dir, "unreachable");
    fs.writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    const retryLine = new RegExp(`^\\[old\\] retrying list \\w+ \\(\\d+ retr(y|ies) so far; gives up at the deadline in \\d+ s\\): request to https://127\\.0\\.0\\.1:${port}/.* ECONNREFUSED`);
    const { out, io } = capture();
    assert.equal(await main(["drain", "--kubeconfig", kubeconfig, "--pool", "old", "--deadline", "2s"], io), 1);
    const retries = out.stderr.split("\n").filter((l) => /retrying/.test(l));
    assert.equal(retries.length, 1, `one retry line within 10 s:\n${out.stderr}`);
    assert.match(retries[0], retryLine);
    // The plan (the CLI passes its stderr as planPool's log) reports the same way.
    const lines: string[] = [];
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    await assert.rejects(planPool(kc, { pool: "old", deadlineMs: 1500, log: (l) => lines.push(l) }), /ECONNREFUSED/);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], retryLine);
  });

  it("drain refuses with exit 1: each blocker on its own line, once (as plan prints them); pinned pods get the role-label fix; nothing cordoned", async () => {
    ps = await startPoolSim({ oldNodes: 1, newNodes: 1, objects: [
      ...deployment("shop", "db", 2, { minAvailable: 2 }),
      ...deployment("shop", "pinned", 1, { maxUnavailable: 1 }, { spec: { nodeSelector: { "cloud.google.com/gke-nodepool": "old" } } }),
    ] });
    const kcPath = path.join(dir, "kubeconfig2");
    ps.sim.writeKubeconfig(kcPath);
    const plan = capture();
    assert.equal(await main(["plan", "--kubeconfig", kcPath, "--pool", "old"], plan.io), 3);
    const planBlockers = plan.out.stdout.split("\n").filter((l) => l.startsWith("BLOCKER: "));
    assert.equal(planBlockers.length, 2, plan.out.stdout);
    const c = capture();
    assert.equal(await main(["drain", "--kubeconfig", kcPath, "--pool", "old"], c.io), 1);
    const lines = c.out.stderr.split("\n");
    assert.deepEqual(lines.filter((l) => l.startsWith("BLOCKER: ")), planBlockers, "the drain's blockers are the plan's, one per line");
    for (const b of planBlockers) assert.equal(c.out.stderr.split(b.slice("BLOCKER: ".length)).length - 1, 1, `printed once: ${b}`);
    assert.ok(lines.includes("error: drain of pool old refused (2 blocker(s)):"), c.out.stderr);
    assert.doesNotMatch(c.out.stderr, /drain failed \(blocked\)/, "no progress line repeating the failure");
    assert.match(c.out.stderr, /^BLOCKER: 1 pod\(s\) cannot be scheduled on the replacement: pinned to the old pool by nodeSelector cloud\.google\.com\/gke-nodepool=old: .*; fix: select nodepool-rotation\/role=app instead/m);
    assert.match(c.out.stderr, /^BLOCKER: PodDisruptionBudget shop\/db-pdb can never allow a disruption .*or scale the workload up to 3 replicas or more/m);
    assert.match(c.out.stderr, /blocking PodDisruptionBudgets: shop\/db-pdb/);
    assert.ok((await ps.view.nodes("old")).every((n) => !n.spec?.unschedulable));
  });

  it("a drain that reaches its deadline on unready pods under a PDB points at unhealthyPodEvictionPolicy: AlwaysAllow, and its 'Uncordoned' sentence follows a full stop", async () => {
    ps = await startPoolSim({ oldNodes: 1, newNodes: 1, waitReady: false, objects: [
      ...deployment("shop", "sick", 2, { minAvailable: 1 }, { annotations: { "simulator.nodepool-rotation.io/ready": "false" } }),
    ] });
    const kcPath = path.join(dir, "kubeconfig3");
    ps.sim.writeKubeconfig(kcPath);
    await waitFor("sick pods running", async () => (await ps!.view.pods()).filter((p) => p.status?.phase === "Running").length === 2);
    const c = capture();
    assert.equal(await main(["drain", "--kubeconfig", kcPath, "--pool", "old", "--deadline", "1s"], c.io), 1);
    const error = c.out.stderr.split("\n").filter((l) => l.startsWith("error: "));
    assert.equal(error.length, 1, c.out.stderr);
    assert.match(error[0], /^error: deadline of 1s reached while evicting; blocked by PodDisruptionBudget\(s\) shop\/sick-pdb; .*; PodDisruptionBudget\(s\) shop\/sick-pdb have unready pods: make them Ready, or set unhealthyPodEvictionPolicy: AlwaysAllow on the PDB/);
    assert.match(error[0], /[a-z0-9]\. Uncordoned old-0\.$/, "a full stop before 'Uncordoned' and at the end");
    assert.doesNotMatch(c.out.stderr, /drain failed \(deadline\)/, "printed once");
  });
});

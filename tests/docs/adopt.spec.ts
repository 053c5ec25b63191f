/**
 * docs/adopting-a-cluster.md played on the Kubernetes API simulator: a cluster with a pool nobody
 * rotated (`default-pool`, no role label) running a PDB-protected, a PDB-less and a pool-pinned
 * workload. The page's stack config (`create: false`) is validated and names the versioned pool the
 * first `pulumi up` creates (added here as GKE would); the page's `plan` refuses the pinned workload
 * until it selects the role; the page's `plan` and `drain` command lines run through the rotation
 * CLI (a child process); then the old pool is deleted as `gcloud container node-pools delete` does.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { startSimulator, Simulator } from "../simulator";
import { deployment, nodeManifest, POOL, ROLE, runCli, scenario, View, waitFor } from "../rotation/sim";
import { ROOT } from "./markdown";

const PAGE = fs.readFileSync(path.join(ROOT, "docs", "adopting-a-cluster.md"), "utf8");
const OLD = "default-pool";

/** The page's fenced blocks of one info string. */
const blocks = (info: string) => [...PAGE.matchAll(new RegExp("^```" + info + "\\n([\\s\\S]*?)^```", "gm"))].map((m) => m[1]);

/** The page's `npm run rotation -- <cmd> …` line for `cmd`, as CLI arguments without --kubeconfig (the run adds its own). */
function pageCommand(cmd: "plan" | "drain"): string[] {
  const line = blocks("bash").join("\n").split("\n").find((l) => l.startsWith(`npm run rotation -- ${cmd} `));
  assert.ok(line, `the page runs npm run rotation -- ${cmd}`);
  const args = line.replace(/\s+#.*$/, "").split(/\s+/).slice(4);
  const k = args.indexOf("--kubeconfig");
  assert.ok(k >= 0, "the page passes --kubeconfig");
  args.splice(k, 2);
  return args;
}

/** A node of a pool made outside this program: GKE's labels, no nodepool-rotation/role. */
function unmanagedNode(name: string): any {
  const node = nodeManifest(name, OLD);
  delete node.metadata.labels[ROLE];
  return node;
}

describe("docs/adopting-a-cluster.md on the simulator: an unmanaged pool drained with the CLI into the versioned pool", function () {
  this.timeout(120_000);
  let sim: Simulator | undefined;
  after(async () => sim?.stop());

  it("the page's config adopts the cluster; plan refuses the pinned workload until it selects the role; drain moves everything; the pool delete kills nothing", async () => {
    // Step 2: the page's stack config.
    const yamlBlock = blocks("yaml").find((b) => b.includes("create: false"));
    assert.ok(yamlBlock, "the page shows a stack config with create: false");
    const config = validateStackConfig(parse(yamlBlock).config, { stack: "staging" });
    assert.equal(config.cluster.create, false);
    const app = config.pools.find((p) => p.role === "app")!;
    const newPool = poolName(app, config.environment);
    assert.equal(app.initialNodes, 3);

    const oldNodes = ["gke-old-0", "gke-old-1", "gke-old-2"];
    const pinned = deployment("shop", "legacy", 2, undefined, { spec: { nodeSelector: { [POOL]: OLD } } });
    sim = await startSimulator({
      scenario: scenario(
        [...oldNodes.map(unmanagedNode), ...deployment("shop", "web", 4, { minAvailable: 3 }), ...deployment("shop", "api", 6), ...pinned],
        { podStartMs: 5, podReadyMs: 20, terminationGraceScale: 0.001, nodeBootMs: 10 },
      ),
    });
    const kc = sim.kubeConfig();
    const view = new View(kc);
    await waitFor("workloads Ready on the unmanaged pool", () => view.allReady());

    // Step 3: the first `pulumi up` creates the versioned pool (GKE adds nodes with the program's labels).
    await sim.addPool({ name: newPool, nodes: app.initialNodes!, labels: { [ROLE]: app.role, env: config.environment } });
    await waitFor("versioned pool's nodes", async () => (await view.nodes(newPool)).length === app.initialNodes);

    // Step 5 before step 4: the plan refuses the pinned workload (exit 3), changing nothing.
    const plan = pageCommand("plan");
    assert.deepEqual(plan.slice(0, 3), ["plan", "--pool", OLD]);
    assert.ok(plan.includes("--replacement-selector") && plan.includes(`${ROLE}=app`));
    const refused = runCli(sim.kubeconfig, plan);
    assert.equal(await refused.exited, 3, refused.stderr);
    refused.stop();
    assert.ok((await view.nodes(OLD)).every((n) => !n.spec?.unschedulable), "plan cordons nothing");

    // Step 4: the workload selects the role; its rollout moves it to the new pool.
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await apps.patchNamespacedDeployment(
      { namespace: "shop", name: "legacy", body: { spec: { template: { spec: { nodeSelector: { [POOL]: null, [ROLE]: "app" } } } } } }, // merge patch: null removes the pool key
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const newNodes = new Set((await view.nodes(newPool)).map((n) => n.metadata.name));
    await waitFor("legacy rolled out onto the versioned pool", async () => {
      const legacy = (await view.pods()).filter((p) => p.metadata?.labels?.app === "legacy" && !p.metadata?.deletionTimestamp);
      return legacy.length === 2 && legacy.every((p) => newNodes.has(p.spec?.nodeName)) && (await view.allReady());
    }, 30_000);

    const ok = runCli(sim.kubeconfig, plan);
    assert.equal(await ok.exited, 0, ok.stderr);
    ok.stop();

    // Step 5: the page's drain.
    const drain = pageCommand("drain");
    assert.deepEqual(drain.slice(0, 3), ["drain", "--pool", OLD]);
    const drained = runCli(sim.kubeconfig, drain);
    assert.equal(await drained.exited, 0, drained.stderr);
    drained.stop();
    const left = (await view.podsOn(oldNodes)).filter((p) => !p.metadata?.deletionTimestamp);
    assert.deepEqual(left.map((p) => p.metadata.name), [], "nothing left on the old pool");
    const report = sim.report();
    for (const w of ["shop/Deployment/web", "shop/Deployment/api"]) {
      assert.equal(report.workloads[w].msAtZero, 0, `${w} never at zero Ready`);
      assert.equal(report.workloads[w].msBelowFloor, 0, `${w} never below its floor`);
    }
    assert.ok(report.evictions >= 10, `evictions ${report.evictions}`);

    // Step 6: gcloud container node-pools delete default-pool.
    await sim.deletePool(OLD);
    assert.equal(sim.report().workloadPodsDeletedWithoutEviction, 0, "the pool delete killed no workload pod");
    assert.equal((await view.nodes(OLD)).length, 0);
  });
});

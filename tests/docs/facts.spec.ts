/**
 * Lines of the docs that restate what the code does, checked against the code:
 *  - drainer.md's example plan and proof.md's naming example name the pools the default rehearsal
 *    scenario's bump really gives (components/naming.ts through the rehearsal), valid GKE names;
 *  - proof.md's "without the ConfigMap" versions are what the scenario parser uses, for Node
 *    manifests (their kubelet version) and for `kind: NodePool` documents;
 *  - program.md lists every stack output index.ts exports;
 *  - drainer.md and troubleshooting.md name every reason a drain can fail with (the engine's
 *    `new Failure("<reason>"` sites);
 *  - the advice for a PDB that never allows a disruption does not tell everyone to scale up.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { GKE_POOL_NAME_REGEX } from "../../components/naming";
import { DRAIN_FAILURE_REASONS } from "../../components/rotation/errors";
import { loadScenario, parseScenario } from "../rehearsal/scenario";
import { newPoolName } from "../rehearsal/run";
import { ROOT } from "./markdown";

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");
const app = loadScenario().roles.find((r) => r.role === "app")!;
const OLD = app.oldPool;
const NEW = newPoolName(app);

/** Every .ts file under a directory, recursively. */
function sources(dir: string): string[] {
  return (fs.readdirSync(path.join(ROOT, dir), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, f));
}

describe("docs: lines that restate the code", () => {
  it("drainer.md's example plan names the default scenario's old and new pools, valid GKE names", () => {
    const plan = /^```\n([\s\S]*?)^```/m.exec(read("docs/drainer.md"))![1];
    const names = [...plan.matchAll(/\b(app-[a-z0-9-]+)/g)].map((m) => m[1]);
    assert.ok(names.length >= 3, plan);
    for (const n of names) assert.match(n, GKE_POOL_NAME_REGEX, `${n} is a valid GKE pool name`);
    assert.deepEqual([...new Set(names)].sort(), [NEW, OLD].sort());
    assert.match(plan, new RegExp(`create\\s+node pool\\s+${NEW}`));
    assert.match(plan, new RegExp(`delete\\s+node pool\\s+${OLD}`));
  });

  it("proof.md's naming example is the default scenario's bump", () => {
    assert.ok(read("docs/proof.md").includes(`\`${OLD}\` → \`${NEW}\``), `${OLD} → ${NEW}`);
  });

  it("proof.md's versions without the rehearsal ConfigMap are the parser's (kubelet version of Node manifests; NodePool documents)", () => {
    const text = read("docs/proof.md");
    const claimed = /a `kind: NodePool` document carries no kubelet version, so its pool is taken\s+to run `([^`]+)`/.exec(text);
    assert.ok(claimed, "proof.md says which version a NodePool document's pool is taken to run");
    const nodePool = parseScenario("apiVersion: simulator.nodepool-rotation.io/v1\nkind: NodePool\nmetadata: { name: p1 }\nspec: { nodes: 1, labels: { nodepool-rotation/role: app } }\n", "np.yaml");
    assert.equal(nodePool.roles[0].fromVersion, claimed[1]);
    const node = parseScenario(
      "apiVersion: v1\nkind: Node\nmetadata: { name: n1, labels: { cloud.google.com/gke-nodepool: p1, nodepool-rotation/role: app } }\nstatus: { nodeInfo: { kubeletVersion: v1.35.2-gke.1269000 } }\n",
      "node.yaml",
    );
    assert.equal(node.roles[0].fromVersion, "1.35.2-gke.1269000");
    assert.match(text, /the old version comes from the first node's `status\.nodeInfo\.kubeletVersion` for pools declared\s+as `Node` manifests/);
  });

  it("program.md lists every stack output index.ts exports", () => {
    const outputs = [...read("index.ts").matchAll(/^export const (\w+)/gm)].map((m) => m[1]);
    assert.ok(outputs.includes("verifiedVersions") && outputs.includes("promotionGateVerified"), outputs.join(", "));
    const bullet = /- \*\*Stack outputs\*\*:([\s\S]*?)\n(?=- \*\*|\n)/.exec(read("docs/program.md"));
    assert.ok(bullet, "program.md has a **Stack outputs** bullet");
    for (const o of outputs) assert.ok(bullet[1].includes(`\`${o}\``), `program.md's outputs name ${o}`);
  });

  it("drainer.md and troubleshooting.md name every reason the engine fails a drain with", () => {
    // The reasons' one definition (errors.ts): the engine's Failure and DrainError take only these (DrainFailureReason).
    const reasons = [...DRAIN_FAILURE_REASONS].sort();
    assert.ok(reasons.includes("never-allows") && reasons.length >= 7, reasons.join(", "));
    const thrown = new Set(sources("components").flatMap((f) => [...read(f).matchAll(/(?:new (?:Failure|DrainError)\(\s*|reason: )"([a-z-]+)"/g)].map((m) => m[1])));
    for (const r of thrown) assert.ok(reasons.includes(r as never), `${r} is a DrainFailureReason`);
    for (const page of ["docs/drainer.md", "docs/troubleshooting.md"]) {
      const text = read(page);
      const paragraph = text.slice(text.indexOf("The bracket is the engine's reason"), text.indexOf("The bracket is the engine's reason") + 900);
      for (const r of reasons) assert.ok(paragraph.includes(`\`${r}\``), `${page} explains the reason ${r}`);
    }
  });

  it("the fix for a PDB that never allows a disruption says scaling up does not help minAvailable: 100% or maxUnavailable: 0", () => {
    const text = read("docs/troubleshooting.md");
    const start = text.indexOf("### Blocked by a PodDisruptionBudget that never allows a disruption");
    const section = text.slice(start, text.indexOf("\n### ", start + 10)).replace(/```message[\s\S]*?```/g, "");
    assert.match(section, /Relax\s+the PDB/);
    assert.match(section, /`minAvailable: 100%` or `maxUnavailable: 0` the floor grows with the workload/);
    for (const page of ["docs/drainer.md", "docs/troubleshooting.md", "README.md"]) {
      const prose = read(page).replace(/```[\s\S]*?```/g, "");
      assert.ok(!/scale the workload so its PDB allows a disruption/.test(prose), `${page}: no unconditional scale-up advice`);
    }
  });
});

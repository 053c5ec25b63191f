/**
 * docs/troubleshooting.md quotes every failure message an operator can meet, in ```message blocks
 * with `…` for the variable parts. This spec keeps the page and the code in step: it PRODUCES each
 * message by running the code path that prints it — the rotation engine planning and draining
 * against the simulator over HTTP (real client-node), the drainer's wording from the engine's real
 * DrainError (and the real provider delete for failures before the drain starts), the pool guard,
 * the rotation CLI (in-process, and as a child process for Ctrl-C), the preview checks and the
 * promotion CLI — then checks that every produced message is quoted on the page (its headline
 * matched by a template), that every template is produced by something (no stale quote), and that
 * every template is specific enough (>= 20 literal characters).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as k8s from "@kubernetes/client-node";
import { parse } from "yaml";
import { DrainError, drainOptionsFor, drainPool, formatAvailability } from "../../components/rotation";
import { main as rotationCli } from "../../components/rotation/cli";
import { drainFailureMessage, engineBundle, makeDrainerProvider } from "../../components/poolDrainer";
import { guardPoolDelete, hookSupportError, poolGuardCallback } from "../../components/poolGuard";
import { gkeKubeconfig } from "../../components/kubeconfig";
import { preflight, PreflightError, LiveCluster } from "../../components/gke";
import { StackConfigError, validateStackConfig } from "../../components/config";
import { poolName } from "../../components/naming";
import { checkVerified } from "../../components/promotion/gate";
import { main as promoteCli, readStateWithPulumi } from "../../components/promotion/promote";
import { startSimulator, Simulator } from "../simulator";
import { deployment, nodeManifest, podSpec, ROLE, runCli, scenario, startPoolSim, PoolSim, waitFor } from "../rotation/sim";
import { startFaultProxy, FaultProxy } from "../rotation/proxy";
import { runCli as runPromotionCli, tempStacks } from "../promotion/helpers";
import { stagingExport } from "../promotion/fixtures/stackExport";
import { fencedBlocks, ROOT } from "./markdown";
import { closedPort } from "../support/net";
import { rejects } from "../support/drain";

const PAGE = "docs/troubleshooting.md";
const ELLIPSIS = "…";
const MIN_LITERAL = 20;

// ---- templates --------------------------------------------------------------------------------

/** Each line's whitespace collapsed to single spaces and trimmed, empty lines dropped; line breaks kept. */
export function normalise(text: string): string {
  return text.split("\n").map((l) => l.replace(/\s+/g, " ").trim()).filter((l) => l !== "").join("\n");
}

/**
 * A quoted message as a regex: literal text escaped, each `…` a lazy wildcard that stays within
 * one printed line, whitespace normalised.
 */
export function templateRegex(template: string, flags = ""): RegExp {
  const parts = normalise(template).split(ELLIPSIS).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(parts.join("[^\\n]*?"), flags);
}

/** Characters of a template that are not `…` or whitespace: what a message must literally contain. */
export function literalLength(template: string): number {
  return template.split(ELLIPSIS).join("").replace(/\s+/g, "").length;
}

/** A message the code printed: where an operator sees it, and the text (one or more lines). */
export interface Produced { where: string; text: string }

/**
 * The templates of a page's ```message blocks. Each block shows printed lines; each line is a
 * template of its own, except that a line with fewer than MIN_LITERAL literal characters (e.g.
 * `Blocking pods: ….`) is joined with the lines after it in the block until the template has
 * enough (the last line of a block with the line before it), so a short line is only ever matched
 * together with its context.
 */
export function templatesOf(blocks: string[]): string[] {
  const out: string[] = [];
  for (const block of blocks) {
    const first = out.length;
    let pending = "";
    for (const line of block.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
      pending = pending ? `${pending}\n${line}` : line;
      if (literalLength(pending) >= MIN_LITERAL) {
        out.push(pending);
        pending = "";
      }
    }
    // A short last line joins the line before it; a block of only short lines stays vague.
    if (pending) out.push(out.length > first ? `${out.pop()}\n${pending}` : pending);
  }
  return [...new Set(out)];
}

/**
 * The lines of a printed message that no template quotes. A line is quoted when a template match
 * starts within it, or a (multi-line) match started on an earlier line and runs into it.
 */
export function unquotedLines(message: string, templates: string[]): string[] {
  const lines = normalise(message).split("\n");
  const starts: number[] = [];
  lines.reduce((at, line) => { starts.push(at); return at + line.length + 1; }, 0);
  const covered = new Set<number>();
  for (const t of templates) {
    const re = templateRegex(t, "g");
    for (let m = re.exec(lines.join("\n")); m !== null; m = re.exec(lines.join("\n"))) {
      const end = m.index + Math.max(m[0].length, 1);
      starts.forEach((start, k) => {
        const stop = start + lines[k].length;
        if ((m!.index >= start && m!.index < Math.max(stop, start + 1)) || (m!.index < start && end > start)) covered.add(k);
      });
      if (m[0].length === 0) re.lastIndex++;
    }
  }
  return lines.filter((_, k) => !covered.has(k));
}

/**
 * What is out of step between produced messages and a page's templates: printed lines no template
 * quotes, templates no printed message matches (stale), templates with too few literal characters.
 */
export function mismatches(produced: Produced[], templates: string[]): { undocumented: string[]; stale: string[]; vague: string[] } {
  const undocumented = produced.flatMap((p) => unquotedLines(p.text, templates).map((line) => `[${p.where}] ${line}`));
  const texts = produced.map((p) => normalise(p.text));
  const stale = templates.filter((t) => !texts.some((text) => templateRegex(t).test(text)));
  const vague = templates.filter((t) => literalLength(t) < MIN_LITERAL);
  return { undocumented, stale, vague };
}

// ---- helpers ----------------------------------------------------------------------------------

async function rejectsWith(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected a failure");
}

/** Runs `fn` with the process's stderr captured (the drainer's progress lines), returning what it threw. */
async function quietly(fn: () => Promise<unknown>): Promise<{ error: Error | undefined; stderr: string }> {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: any) => { stderr += String(chunk); return true; }) as any;
  try {
    await fn();
    return { error: undefined, stderr };
  } catch (e) {
    return { error: e as Error, stderr };
  } finally {
    process.stderr.write = write;
  }
}


/** Plain (unauthenticated) kubeconfig text for an http server. */
function plainKubeconfig(server: string): string {
  return `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
}

/** The rotation CLI in-process (`npm run rotation -- ...`); stderr collected. */
async function rotation(args: string[], kubeconfigText?: string): Promise<{ code: number; stderr: string; stdout: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troubleshooting-"));
  try {
    const file = path.join(dir, "kubeconfig");
    if (kubeconfigText !== undefined) fs.writeFileSync(file, kubeconfigText);
    let stderr = "";
    let stdout = "";
    const code = await rotationCli([...args, "--kubeconfig", file], { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
    return { code, stderr, stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The CLI's failure report: stderr from its `error:` line on (progress lines before it are not failures). */
function cliFailure(stderr: string): string {
  const i = stderr.indexOf("error: ");
  assert.ok(i >= 0, `no error line in:\n${stderr}`);
  return stderr.slice(i);
}

/** Runs `fn` with PATH pointing at an empty directory (no gke-gcloud-auth-plugin, no pulumi). */
async function withoutPath<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "empty-path-"));
  process.env.PATH = empty;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
    fs.rmSync(empty, { recursive: true, force: true });
  }
}

const CLUSTER = "acme-game-staging/asia-northeast1/game-staging";

/** The drainer's error for an engine failure, built as its delete builds it (availability rows when a workload was moved). */
function drainerMessage(e: DrainError, interrupted?: string): string {
  const rows = e.summary.availability ?? [];
  return drainFailureMessage("old", CLUSTER, e, rows.length ? formatAvailability(rows) : [], interrupted);
}

/** A Status answer refusing a request for user ci-bot (RBAC), as the API server words it. */
function forbidden(message: string) {
  return { respond: 403, body: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", code: 403, message } };
}

/** A proxy action that lets each node's first PATCH (the cordon) through and refuses the later ones (the uncordon) with 403. */
function refuseUncordon() {
  const patches = new Map<string, number>();
  return (method: string, p: string) => {
    if (method !== "PATCH" || !p.startsWith("/api/v1/nodes/")) return undefined;
    const n = (patches.get(p) ?? 0) + 1;
    patches.set(p, n);
    const node = p.split("/")[4].split("?")[0];
    return n >= 2 ? forbidden(`nodes "${node}" is forbidden: User "ci-bot" cannot patch resource "nodes" in API group "" at the cluster scope`) : undefined;
  };
}

let engine: ReturnType<typeof engineBundle> | undefined;

/**
 * The PoolDrainer's delete as the provider host runs it (the same provider code, in-process) for an
 * old pool with these stored outputs; resolves with its error (progress lines captured, not shown).
 */
async function drainerDelete(kubeconfig: string, options: Record<string, unknown> = {}): Promise<Error> {
  const provider = makeDrainerProvider((engine ??= engineBundle()));
  const props = { poolName: "app-1-34-4-gke1047000-20261020-a1b2c", role: "app", cluster: CLUSTER, kubeconfig, options: { deadlineMinutes: 1, ...options }, codeVersion: "x" };
  const { error } = await quietly(() => provider.delete!("id", props));
  assert.ok(error, "the delete must fail");
  return error;
}

const ZONE = "topology.kubernetes.io/zone";

// ---- the spec ---------------------------------------------------------------------------------

describe("docs/troubleshooting.md: every failure message is quoted, and every quote is still printed", function () {
  this.timeout(120_000);
  const produced: Produced[] = [];
  const add = (where: string, text: string) => produced.push({ where, text });
  let templates: string[] = [];

  before(() => {
    templates = templatesOf(fencedBlocks(PAGE, "message").map((b) => b.content));
  });

  describe("refusals before anything changes (plan blockers), on the simulator", () => {
    let sim: Simulator | undefined;
    let kc: k8s.KubeConfig;
    let kubeconfigText: string;
    after(async () => { await sim?.stop(); });

    before(async () => {
      // Old pool: three nodes in three zones. Its workloads exercise every blocker at once.
      const zones = ["us-central1-a", "us-central1-b", "us-central1-c"];
      const oldNodes = zones.map((z, i) => nodeManifest(`old-${i}`, "old", { cpu: "4", memory: "16Gi", labels: { [ZONE]: z } }));
      const big = { containers: [{ name: "app", image: "nginx", resources: { requests: { cpu: "3", memory: "64Mi" } } }] };
      const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "spread" } } }] };
      const objects = [
        ...oldNodes,
        ...deployment("shop", "strict", 2, { minAvailable: 2 }),                          // PDBs that never allow, one per form (advice.ts)
        ...deployment("shop", "frozen", 1, { maxUnavailable: 0 }),
        ...deployment("shop", "whole", 1, { minAvailable: "100%" }),
        ...deployment("shop", "most", 2, { minAvailable: "90%" }),
        ...deployment("shop", "pinned", 1, { maxUnavailable: 1 }, { spec: { nodeSelector: { "cloud.google.com/gke-nodepool": "old" } } }), // pinned to the pool's name
        ...deployment("shop", "multi", 2, { maxUnavailable: 1 }),                          // two PDBs on one pod
        { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { namespace: "shop", name: "multi-extra" }, spec: { selector: { matchLabels: { app: "multi" } }, maxUnavailable: 1 } },
        ...deployment("shop", "scratch", 2, { maxUnavailable: 1 }, { spec: { volumes: [{ name: "tmp", emptyDir: {} }] } }), // emptyDir
        ...deployment("shop", "big", 3, { maxUnavailable: 1 }, { spec: big }),             // no room on the new pool
        ...deployment("shop", "spread", 3, { maxUnavailable: 1 }, { spec: spread }),       // spread over a zone the new pool lacks
        { apiVersion: "v1", kind: "Pod", metadata: { namespace: "shop", name: "lonely" }, spec: podSpec() }, // no controller
      ];
      sim = await startSimulator({ scenario: scenario(objects, { podStartMs: 5, podReadyMs: 20, terminationGraceScale: 0.001, nodeBootMs: 10 }) });
      kc = sim.kubeConfig();
      kubeconfigText = sim.kubeconfig;
      const core = kc.makeApiClient(k8s.CoreV1Api);
      await waitFor("18 pods running on the old pool", async () => (await core.listPodForAllNamespaces()).items.filter((p) => p.status?.phase === "Running").length === 18);
      // New pool: one node in each of two zones only.
      await sim.addPool({ name: "new", nodes: 1, zones: zones.slice(0, 2), labels: { [ROLE]: "app" }, cpu: "4", memory: "16Gi" });
      await waitFor("new pool Ready", async () => (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=new" })).items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === 2);
    });

    it("the plan (npm run rotation -- plan) lists one BLOCKER per reason and exits 3", async () => {
      const r = await rotation(["plan", "--pool", "old"], kubeconfigText);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const blockers = r.stdout.split("\n").filter((l) => l.startsWith("BLOCKER: "));
      for (const want of [/can never allow a disruption/, /pinned to the old pool by nodeSelector cloud.google.com\/gke-nodepool=old.*; fix: select nodepool-rotation\/role=app instead/, /declares no controller/, /uses emptyDir/, /selected by 2 PodDisruptionBudgets/, /do not fit on the 2 Ready replacement/, /topologySpreadConstraint/]) {
        assert.ok(blockers.some((b) => want.test(b)), `${want} among\n${blockers.join("\n")}`);
      }
      for (const b of blockers) add("rotation plan", b);
      add("rotation plan", r.stdout.split("\n").find((l) => l.startsWith("result: "))!);
      const none = await rotation(["plan", "--pool", "old", "--replacement-selector", `${ROLE}=nothing`], kubeconfigText);
      add("rotation plan", none.stdout.split("\n").find((l) => /^BLOCKER: no Ready, schedulable replacement/.test(l))!);
      const typo = await rotation(["plan", "--pool", "olld"], kubeconfigText);
      add("rotation plan", typo.stdout.split("\n").find((l) => /^BLOCKER: no nodes found/.test(l))!);
    });

    it("the drain refuses with all of them, cordoning nothing: the CLI, the drainer and the pool guard", async () => {
      // The drainer's options, as its delete maps the stack's drain settings (rotation/settings.ts).
      const e = await rejects(drainPool(kc, drainOptionsFor("old", "app", {})));
      assert.equal(e.reason, "blocked");
      assert.deepEqual(e.uncordoned, []);
      // Blockers name the knobs that exist where they are printed: stack config, not CLI flags.
      assert.doesNotMatch(e.message, /--delete-emptydir-data|use --force/);
      assert.match(e.message, /uses emptyDir: its data would be lost \(to allow: stack config nodepool-rotation:drain\.deleteEmptyDirData: true/);
      add("pulumi up (PoolDrainer)", drainerMessage(e));
      const cli = await rotation(["drain", "--pool", "old"], kubeconfigText);
      assert.equal(cli.code, 1);
      add("rotation drain", cliFailure(cli.stderr));
      const guard = await rejectsWith(guardPoolDelete(kc, { pool: "old", role: "app", clusterId: CLUSTER }));
      assert.match(guard.message, /Draining them failed \[blocked\]/);
      assert.match(guard.message, /declares no controller: it would not be recreated \(the drainer and pool guard have no option to evict it/);
      assert.doesNotMatch(guard.message, /--delete-emptydir-data to allow|use --force/);
      add("pulumi up (pool guard)", guard.message);
      const nodes = await kc.makeApiClient(k8s.CoreV1Api).listNode({ labelSelector: "cloud.google.com/gke-nodepool=old" });
      assert.ok(nodes.items.every((n) => !n.spec?.unschedulable), "nothing left cordoned");
    });
  });

  describe("failures during the drain, on the simulator", () => {
    let ps: PoolSim | undefined;
    let proxy: FaultProxy | undefined;
    afterEach(async () => { await proxy?.stop(); proxy = undefined; });
    after(async () => { await ps?.sim.stop(); });

    before(async () => {
      // `sick` never becomes Ready, so its PDB (minAvailable 1) has no budget left: a drain waits on it.
      ps = await startPoolSim({ oldNodes: 2, waitReady: false, objects: [
        ...deployment("shop", "sick", 2, { minAvailable: 1 }, { annotations: { "simulator.nodepool-rotation.io/ready": "false" } }),
        ...deployment("shop", "web", 2, { maxUnavailable: 1 }),
      ] });
      await waitFor("pods running", async () => (await ps!.view.pods()).filter((p) => p.status?.phase === "Running").length === 4);
    });

    /** Uncordons every old node straight on the simulator: what the operator's `kubectl uncordon` does. */
    async function uncordonByHand(): Promise<void> {
      for (const name of ps!.oldNodes) {
        await ps!.view.core.patchNode({ name, body: { metadata: { annotations: { "nodepool-rotation/cordoned-at": null } }, spec: { unschedulable: false } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
      }
    }

    /** A drain that is aborted (like the drainer on SIGINT) once it has cordoned the pool. */
    const abortOnceCordoned = (reason: string) => {
      const ctrl = new AbortController();
      const log = (l: string) => { if (/cordoned \d+ node\(s\)/.test(l)) ctrl.abort(new Error(reason)); };
      return { signal: ctrl.signal, log };
    };

    it("budget exhausted until the deadline: the drainer and the CLI", async () => {
      const e = await rejects(drainPool(ps!.kc, { pool: "old", deadlineMs: 1000 }));
      assert.equal(e.reason, "deadline");
      assert.deepEqual(e.blockingPdbs, ["shop/sick-pdb"]);
      add("pulumi up (PoolDrainer)", drainerMessage(e));
      const cli = await rotation(["drain", "--pool", "old", "--deadline", "1s"], ps!.sim.kubeconfig);
      assert.equal(cli.code, 1);
      add("rotation drain", cliFailure(cli.stderr));
    });

    it("interrupted (the drainer on the engine's SIGINT, the pool guard on SIGINT/SIGTERM)", async () => {
      const e = await rejects(drainPool(ps!.kc, { pool: "old", ...abortOnceCordoned("interrupted by SIGINT") }));
      assert.equal(e.reason, "aborted");
      assert.ok(e.uncordoned.length > 0);
      add("pulumi up (PoolDrainer)", drainerMessage(e, "SIGINT"));
      const guard = await rejectsWith(guardPoolDelete(ps!.kc, { pool: "old", role: "app", clusterId: CLUSTER }, abortOnceCordoned("interrupted (SIGINT/SIGTERM)")));
      assert.match(guard.message, /\[aborted\]/);
      add("pulumi up (pool guard)", guard.message);
    });

    it("a pod that cannot move appears mid-drain", async () => {
      let cordoned!: () => void;
      const cordonedNow = new Promise<void>((r) => { cordoned = r; });
      const drain = rejects(drainPool(ps!.kc, { pool: "old", deadlineMs: 20_000, log: (l) => { if (/cordoned \d+ node\(s\)/.test(l)) cordoned(); } }));
      await cordonedNow;
      await ps!.view.core.createNamespacedPod({ namespace: "shop", body: { metadata: { name: "intruder" }, spec: { ...podSpec(), nodeName: "old-0" } } as any });
      const e = await drain;
      assert.equal(e.reason, "blocked");
      add("pulumi up (PoolDrainer)", drainerMessage(e));
      await ps!.view.core.deleteNamespacedPod({ namespace: "shop", name: "intruder", gracePeriodSeconds: 0 });
    });

    it("Ctrl-C to the CLI: the first signal stops and uncordons; a second one while it uncordons, and a third", async () => {
      // Once: the drain stops, uncordons, and the CLI exits 1.
      const once = runCli(ps!.sim.kubeconfig, ["drain", "--pool", "old"]);
      try {
        await waitFor(`the CLI to cordon\n${once.stderr}`, () => /cordoned \d+ node\(s\)/.test(once.stderr), 30_000);
        once.child.kill("SIGINT");
        assert.equal(await once.exited, 1, once.stderr);
      } finally {
        once.stop();
      }
      add("rotation drain", once.stderr.split("\n").find((l) => l.startsWith("received SIGINT: stopping"))!);
      add("rotation drain", cliFailure(once.stderr));
      // Three times, the uncordon held back by a proxy until all three were sent: the third exits at once (130).
      let release!: () => void;
      const held = new Promise<void>((r) => { release = r; });
      const patches = new Map<string, number>();
      let uncordoning = false;
      proxy = await startFaultProxy(ps!.sim, (method, p) => {
        if (method !== "PATCH" || !p.startsWith("/api/v1/nodes/")) return undefined;
        const n = (patches.get(p) ?? 0) + 1;
        patches.set(p, n);
        if (n !== 2) return undefined;
        uncordoning = true; // each node's second PATCH is its uncordon
        return { after: held };
      });
      const thrice = runCli(proxy.kubeconfig, ["drain", "--pool", "old"]);
      try {
        await waitFor(`the CLI to cordon\n${thrice.stderr}`, () => /cordoned \d+ node\(s\)/.test(thrice.stderr), 30_000);
        thrice.child.kill("SIGINT");
        await waitFor(`the CLI to uncordon\n${thrice.stderr}`, () => uncordoning);
        thrice.child.kill("SIGINT");
        await waitFor(`the second signal to be reported\n${thrice.stderr}`, () => /received SIGINT again/.test(thrice.stderr));
        thrice.child.kill("SIGINT");
        assert.equal(await thrice.exited, 130, thrice.stderr);
      } finally {
        release();
        thrice.stop();
      }
      const lines = thrice.stderr.split("\n");
      add("rotation drain", lines.find((l) => l.startsWith("received SIGINT again"))!);
      add("rotation drain", lines.find((l) => l.startsWith("received SIGINT: exiting without cleaning up"))!);
      await uncordonByHand(); // what the third signal left cordoned
    });

    it("nodes that could not be uncordoned (403 on the uncordon): the drainer and the pool guard", async () => {
      proxy = await startFaultProxy(ps!.sim, refuseUncordon());
      const logs: string[] = [];
      const e = await rejects(drainPool(proxy.kubeConfig(), { pool: "old", deadlineMs: 800, log: (l) => logs.push(l) }));
      assert.deepEqual(e.summary.cordoned, ["old-0", "old-1"]);
      add("pulumi up (PoolDrainer)", drainerMessage(e));
      add("progress line", logs.find((l) => /could not uncordon/.test(l))!);
      await uncordonByHand();
      await proxy.stop();
      proxy = await startFaultProxy(ps!.sim, refuseUncordon());
      const cli = await rotation(["drain", "--pool", "old", "--deadline", "800ms"], proxy.kubeconfig);
      assert.equal(cli.code, 1);
      assert.match(cliFailure(cli.stderr), /\n2 node\(s\) are STILL CORDONED \(the uncordon failed\): old-0, old-1; uncordon them now: kubectl uncordon old-0 old-1\n/);
      add("rotation drain", cliFailure(cli.stderr));
      await uncordonByHand();
      await proxy.stop();
      proxy = await startFaultProxy(ps!.sim, refuseUncordon());
      const guard = await rejectsWith(guardPoolDelete(proxy.kubeConfig(), { pool: "old", role: "app", clusterId: CLUSTER }, { drain: { deadlineMinutes: 0.0135 } }));
      assert.match(guard.message, /could NOT be uncordoned/);
      add("pulumi up (pool guard)", guard.message);
      await uncordonByHand();
    });

    it("an invalid override in the ConfigMap kube-system/nodepool-rotation-drain fails the drainer's delete before the drain", async () => {
      await ps!.view.core.createNamespacedConfigMap({ namespace: "kube-system", body: { metadata: { name: "nodepool-rotation-drain" }, data: { override: '{"deadlineMinutes":0}' } } });
      try {
        const error = await drainerDelete(ps!.sim.kubeconfig);
        assert.match(error.message, /invalid drain override in ConfigMap/);
        add("pulumi up (PoolDrainer)", error.message);
      } finally {
        await ps!.view.core.deleteNamespacedConfigMap({ namespace: "kube-system", name: "nodepool-rotation-drain" });
      }
      assert.equal((await ps!.view.nodes("old")).filter((n) => n.spec?.unschedulable).length, 0, "nothing cordoned");
    });

    it("a server that never answers: the drainer gives up after min(deadline, 2 min), having changed nothing", async () => {
      proxy = await startFaultProxy(ps!.sim, () => "hang");
      const error = await drainerDelete(proxy.kubeconfig, { deadlineMinutes: 0.05 });
      assert.match(error.message, /: could not reach the cluster: no answer within 3 s \(the drain's first request/);
      add("pulumi up (PoolDrainer)", error.message);
    });

    it("403 before the drain starts: the drainer, the CLI and the pool guard", async () => {
      proxy = await startFaultProxy(ps!.sim, (_m, p) => p.includes("configmaps")
        ? forbidden('configmaps "nodepool-rotation-drain" is forbidden: User "ci-bot" cannot get resource "configmaps" in API group "" in the namespace "kube-system"')
        : forbidden(`${p.split("?")[0].split("/").pop()} is forbidden: User "ci-bot" cannot list resource "${p.split("?")[0].split("/").pop()}" in API group "" at the cluster scope`));
      add("pulumi up (PoolDrainer)", (await drainerDelete(proxy.kubeconfig)).message);
      const cli = await rotation(["drain", "--pool", "old", "--deadline", "2s"], proxy.kubeconfig);
      add("rotation drain", cliFailure(cli.stderr));
      const guard = await rejectsWith(guardPoolDelete(proxy.kubeConfig(), { pool: "old", role: "app", clusterId: CLUSTER }, { checkTimeoutMs: 1000 }));
      add("pulumi up (pool guard)", guard.message);
    });
  });

  describe("the cluster cannot be reached or authenticated to", () => {
    let port: number;
    before(async () => { port = await closedPort(); });

    it("unreachable (nothing listens): the drainer, the CLI, the pool guard", async () => {
      const text = plainKubeconfig(`https://127.0.0.1:${port}`);
      const error = await drainerDelete(text);
      assert.match(error.message, /: could not reach or authenticate to the cluster: request to .* ECONNREFUSED .* \(the drain's first request, a read of its optional override ConfigMap/);
      assert.match(error.message, /\nFix access from where `pulumi up` runs: credentials .*gke-gcloud-auth-plugin on PATH.*RBAC/);
      assert.doesNotMatch(error.message, /Fix the blocker|relax its PDB/);
      add("pulumi up (PoolDrainer)", error.message);
      const cli = await rotation(["drain", "--pool", "old", "--deadline", "1s"], text);
      assert.equal(cli.code, 1);
      add("rotation drain", cliFailure(cli.stderr));
      const retrying = cli.stderr.split("\n").filter((l) => / retrying /.test(l));
      assert.equal(retrying.length, 1, `the first retry is reported, then at most every 10 s:\n${cli.stderr}`);
      add("rotation drain (progress)", retrying[0]);
      const kc = new k8s.KubeConfig();
      kc.loadFromString(text);
      const guard = await rejectsWith(guardPoolDelete(kc, { pool: "old", role: "app", clusterId: CLUSTER }, { checkTimeoutMs: 300 }));
      add("pulumi up (pool guard)", guard.message);
    });

    it("gke-gcloud-auth-plugin not on PATH: the drainer, the CLI, the pool guard", async () => {
      const text = gkeKubeconfig({ project: "acme-game-staging", location: "asia-northeast1", name: "game-staging", endpoint: `127.0.0.1:${port}`, caCertificate: Buffer.from("not a real CA").toString("base64") });
      await withoutPath(async () => {
        const error = await drainerDelete(text);
        assert.match(error.message, /gke-gcloud-auth-plugin not found on PATH: install it \(Install gke-gcloud-auth-plugin .*#install_plugin\)/);
        add("pulumi up (PoolDrainer)", error.message);
        // Not transient: the CLI and the guard fail at once, long before their deadlines.
        const t0 = Date.now();
        const cli = await rotation(["drain", "--pool", "old", "--deadline", "1m"], text);
        assert.ok(Date.now() - t0 < 10_000, `the CLI took ${Date.now() - t0} ms`);
        add("rotation drain", cliFailure(cli.stderr));
        const kc = new k8s.KubeConfig();
        kc.loadFromString(text);
        const t1 = Date.now();
        const guard = await rejectsWith(guardPoolDelete(kc, { pool: "old", role: "app", clusterId: CLUSTER }, { checkTimeoutMs: 60_000 }));
        assert.ok(Date.now() - t1 < 10_000, `the pool guard took ${Date.now() - t1} ms`);
        add("pulumi up (pool guard)", guard.message);
      });
    });
  });

  describe("the pool guard asked about a cluster this program does not manage", () => {
    it("refuses, naming the cluster", async () => {
      const e = await rejectsWith(poolGuardCallback({
        urn: "urn:pulumi:staging::nodepool-rotation::gcp:container/nodePool:NodePool::imported",
        oldOutputs: { name: "imported-pool", project: "other-project", location: "europe-west1", cluster: "projects/other-project/locations/europe-west1/clusters/other", nodeConfig: { labels: { [ROLE]: "app" } } },
      } as any, () => {}));
      add("pulumi up (pool guard)", e.message);
    });
  });

  describe("bad options and usage", () => {
    it("an invalid drain override in the environment fails the drainer's delete before any request", async () => {
      const saved = process.env.NODEPOOL_ROTATION_DRAIN_OVERRIDE;
      process.env.NODEPOOL_ROTATION_DRAIN_OVERRIDE = '{"defaultBudget":0}';
      try {
        add("pulumi up (PoolDrainer)", (await drainerDelete(plainKubeconfig("https://127.0.0.1:1"))).message);
      } finally {
        if (saved === undefined) delete process.env.NODEPOOL_ROTATION_DRAIN_OVERRIDE; else process.env.NODEPOOL_ROTATION_DRAIN_OVERRIDE = saved;
      }
    });

    it("the rotation CLI's usage errors (--default-budget, --kubeconfig)", async () => {
      const budget = await rotation(["drain", "--pool", "old", "--default-budget", "0"]);
      assert.equal(budget.code, 2);
      add("rotation drain", budget.stderr.split("\n")[0]);
      const missing = await rotation(["plan", "--pool", "old"]);
      assert.equal(missing.code, 2);
      add("rotation plan", missing.stderr.split("\n")[0]);
    });
  });

  describe("preview checks (pulumi preview / up)", () => {
    const raw = () => parse(fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")).config;

    it("a bad drain.defaultBudget in the stack config", () => {
      const cfg = raw();
      cfg["nodepool-rotation:drain"] = { ...cfg["nodepool-rotation:drain"], defaultBudget: 0 };
      assert.throws(() => validateStackConfig(cfg, { stack: "staging" }), (e: Error) => {
        assert.ok(e instanceof StackConfigError);
        add("pulumi preview (config)", e.message);
        return true;
      });
    });

    it("a pool version newer than the configured control plane", () => {
      const cfg = raw();
      cfg["nodepool-rotation:pools"][0].version = "1.36.1-gke.1000000";
      assert.throws(() => validateStackConfig(cfg, { stack: "staging" }), (e: Error) => {
        assert.ok(e instanceof StackConfigError);
        add("pulumi preview (config)", e.message);
        return true;
      });
    });

    it("GKE preflight: version not offered, newer than the control plane, live drift", () => {
      const config = validateStackConfig(raw(), { stack: "staging" });
      const [app, batch] = config.pools;
      const live = (o: Partial<LiveCluster>): LiveCluster => ({ channel: "REGULAR", pools: [], masterVersion: "1.35.2-gke.1269000", ...o });
      const run = (input: Parameters<typeof preflight>[0]) => {
        const r = preflight(input);
        assert.ok(r.errors.length > 0, JSON.stringify(r));
        add("pulumi preview (GKE preflight)", new PreflightError(r.errors).message);
      };
      // Not offered: the pools are new (not live) and the location offers other builds only.
      run({ config, live: live({}), offered: ["1.35.1-gke.1000000", "1.34.6-gke.1125000"], stack: "staging" });
      // Newer than the live control plane of an adopted cluster.
      run({ config: { ...config, cluster: { ...config.cluster, create: false, releaseChannel: undefined } }, live: live({ masterVersion: "1.35.1-gke.1000000" }), offered: undefined, stack: "staging" });
      // Live drift: GKE upgraded the control plane, then the app pool, by itself (end of support).
      const name = poolName(app, config.environment);
      run({ config, live: live({ masterVersion: "1.35.2-gke.1300000", pools: [{ name, version: "1.35.2-gke.1300000", nodeCount: 3, initialNodeCount: 3, role: "app" }, { name: poolName(batch, config.environment), version: batch.version, nodeCount: 1, initialNodeCount: 1, role: "batch" }] }), offered: undefined, stack: "staging" });
    });
  });

  describe("a Pulumi CLI older than resource hooks (pulumi preview / up)", () => {
    it("the pool guard's registration fails with the minimum CLI and how to upgrade", async () => {
      // The SDK's own rejection on an engine without the feature (tests/program/pulumiCli.spec.ts runs it end to end).
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const state = require("@pulumi/pulumi/runtime/state");
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { registerResourceHook } = require("@pulumi/pulumi/runtime/resource");
      const before = state.getStore().supportsResourceHooks;
      state.getStore().supportsResourceHooks = false;
      try {
        const sdkError = await registerResourceHook({ name: "probe" }).then(() => assert.fail("registered"), (e: Error) => e);
        add("pulumi preview / up (old Pulumi CLI)", (hookSupportError(sdkError) as Error).message);
      } finally {
        state.getStore().supportsResourceHooks = before;
      }
    });
  });

  describe("promotion refused", () => {
    let dir: string;
    beforeEach(() => { dir = tempStacks(); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const NEW = "1.35.2-gke.1269000";
    const OLD = "1.34.4-gke.1047000";
    const promote = async (state: object | undefined) => {
      const args = ["--from", "staging", "--to", "prod", "--date", "2026-11-25"];
      if (state) {
        fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
        args.push("--state-file", "state.json");
      }
      return runPromotionCli(promoteCli, args, { cwd: dir });
    };

    it("pending deletes, an interrupted delete, unverified versions, no state to read", async () => {
      const { main: bump } = await import("../../components/promotion/bump");
      assert.equal((await runPromotionCli(bump, ["--stack", "staging", "--role", "app", "--version", NEW, "--date", "2026-11-22"], { cwd: dir })).code, 0);
      // staging's last up created the new app pool; its drain of the old one failed or was interrupted.
      const pools = [{ role: "app", name: "app-1-35-2-gke1269000-20261122-5c2d1", version: NEW }, { role: "batch", name: "batch-1-34-4-gke1047000-20261101-77f3b", version: OLD }];
      const oldApp = { role: "app", name: "app-1-34-4-gke1047000-20261020-a1b2c", version: OLD };
      const cases = [
        stagingExport({ pools, pendingDeletes: [oldApp] }),
        stagingExport({ pools, pendingPoolDeletesOnly: [oldApp] }),
        stagingExport({ pools, interruptedDeletes: [oldApp] }),
        stagingExport({ pools: [], verifiedVersions: { app: OLD, batch: OLD } }),
        stagingExport({ pools, verifiedVersions: null }), // staging never ran this program's up
      ];
      for (const state of cases) {
        const r = await promote(state);
        assert.equal(r.code, 1, r.out + r.err);
        add("npm run promote", r.err);
      }
      const noCli = await withoutPath(async () => rejectsWith(Promise.resolve().then(() => readStateWithPulumi(dir)("staging"))));
      add("npm run promote", `error: ${noCli.message}`);
    });

    it("the prod gate at pulumi up: an unverified version, no verifiedVersions output", () => {
      for (const verified of [{ app: OLD }, undefined]) {
        assert.throws(() => checkVerified([{ role: "app", version: NEW }], verified, "staging", "prod"), (e: Error) => {
          add("pulumi preview (promotion gate)", e.message);
          return true;
        });
      }
    });
  });

  describe("volumes that only the pool can reach (issue 19), on the simulator", () => {
    let sim: Simulator | undefined;
    after(async () => { await sim?.stop(); });

    it("the plan blocks a pod on a local PV and local data still claimed by a Pending pod; the pool guard refuses the delete", async () => {
      const localPv = (name: string, node: string) => ({ apiVersion: "v1", kind: "PersistentVolume", metadata: { name }, spec: { capacity: { storage: "375Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", local: { path: "/mnt/disks/ssd0" }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } } } });
      const claim = (name: string, volumeName: string) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { namespace: "db", name }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: "local-storage", volumeName, resources: { requests: { storage: "375Gi" } } } });
      const objects = [
        nodeManifest("old-0", "old"), localPv("ssd-a", "old-0"), localPv("ssd-b", "old-0"), claim("cache", "ssd-a"), claim("orphan", "ssd-b"),
        ...deployment("db", "cache", 1, undefined, { spec: { volumes: [{ name: "data", persistentVolumeClaim: { claimName: "cache" } }] } }),
        // already off the pool: Pending (nothing matches its selector), its claim bound to local data on the pool
        ...deployment("db", "orphan", 1, undefined, { spec: { nodeSelector: { "example.com/gone": "true" }, volumes: [{ name: "data", persistentVolumeClaim: { claimName: "orphan" } }] } }),
      ];
      sim = await startSimulator({ scenario: scenario(objects, { podStartMs: 5, podReadyMs: 20, terminationGraceScale: 0.001, nodeBootMs: 10 }) });
      const kc = sim.kubeConfig();
      const core = kc.makeApiClient(k8s.CoreV1Api);
      await waitFor("cache running on the old pool", async () => (await core.listPodForAllNamespaces()).items.filter((p) => p.status?.phase === "Running").length === 1);
      await sim.addPool({ name: "new", nodes: 1, labels: { [ROLE]: "app" } });
      await waitFor("new pool Ready", async () => (await core.listNode({ labelSelector: "cloud.google.com/gke-nodepool=new" })).items.some((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")));
      const r = await rotation(["plan", "--pool", "old"], sim.kubeconfig);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const blockers = r.stdout.split("\n").filter((l) => l.startsWith("BLOCKER: "));
      assert.ok(blockers.some((b) => /pod db\/cache-.* uses claim db\/cache bound to local volume ssd-a pinned to node old-0/.test(b)), blockers.join("\n"));
      assert.ok(blockers.some((b) => /claim db\/orphan \(used by pod db\/orphan-.*, Pending\) is bound to local volume ssd-b on pool node old-0: deleting the pool deletes its data/.test(b)), blockers.join("\n"));
      for (const b of blockers) add("rotation plan", b);
      const guard = await rejectsWith(guardPoolDelete(kc, { pool: "old", role: "app", clusterId: CLUSTER }));
      assert.match(guard.message, /holds volumes that no replacement node can reach: .*claim db\/orphan/);
      add("pulumi up (pool guard)", guard.message);
      assert.equal(sim.report().evictions, 0, "nothing moved");
    });
  });

  describe("a workload that tolerates the cordon (issue 19 case 9), on the simulator", () => {
    let ps: PoolSim | undefined;
    after(async () => { await ps?.sim.stop(); });

    it("its pods keep coming back to the cordoned pool: the drain stops re-evicting it (re-evictions), the drainer and the CLI", async () => {
      // Deterministic: shop/cache tolerates node.kubernetes.io/unschedulable and prefers the host with
      // the fewest pods matching app in (cache, cache-decoy) (ScheduleAnyway); three cache-decoy pods
      // sit on the only new node, so the scheduler puts each replacement back on the cordoned old-0
      // (NodeUnschedulable lets it). The plan sees room on the new node: no blocker, a warning.
      const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["cache", "cache-decoy"] }] } }] };
      const objects = [
        ...deployment("shop", "cache", 2, undefined, { spec: { ...spread, tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }] } }),
        ...deployment("shop", "cache-decoy", 3, undefined, { spec: { nodeSelector: { "cloud.google.com/gke-nodepool": "new" } } }),
      ];
      ps = await startPoolSim({ oldNodes: 1, newNodes: 1, objects, waitReady: false });
      await waitFor("cache on old-0, the decoys on the new node, all Ready", () => ps!.view.allReady());
      const plan = await rotation(["plan", "--pool", "old"], ps.sim.kubeconfig);
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
      const warning = (plan.stdout + plan.stderr).split("\n").find((l) => l.includes("tolerates the cordon"));
      assert.ok(warning, plan.stdout + plan.stderr);
      add("rotation plan", warning!.replace(/^.*?(workload shop\/Deployment\/cache)/, "$1"));
      const e = await rejects(drainPool(ps.kc, { pool: "old", deadlineMs: 15_000 }));
      assert.equal(e.reason, "re-evictions");
      assert.match(e.message, /workload shop\/Deployment\/cache was evicted 4 times for 2 pod\(s\) on the pool/);
      add("pulumi up (PoolDrainer)", drainerMessage(e));
      const cli = await rotation(["drain", "--pool", "old", "--deadline", "15s"], ps.sim.kubeconfig);
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, /^error: workload shop\/Deployment\/cache was evicted \d+ times for 2 pod\(s\) on the pool/m);
      add("rotation drain", cliFailure(cli.stderr));
    });
  });

  describe("the page", () => {
    it("every line of every produced message is quoted on the page (a ```message template is found starting within it)", () => {
      if (process.env.TROUBLESHOOTING_DUMP) fs.writeFileSync(process.env.TROUBLESHOOTING_DUMP, produced.map((p) => `### ${p.where}\n${p.text}\n`).join("\n"));
      assert.ok(produced.length >= 40, `only ${produced.length} messages produced: did an earlier test fail?`);
      assert.deepEqual(mismatches(produced, templates).undocumented, []);
    });

    it("every template is printed by the code (no stale quote) and has >= 20 literal characters", () => {
      assert.ok(templates.length >= 40, `${templates.length} templates on ${PAGE}`);
      const { stale, vague } = mismatches(produced, templates);
      assert.deepEqual(stale, [], "stale templates");
      assert.deepEqual(vague, [], "templates with fewer than 20 literal characters");
    });

    it("the check can fail: a made-up message or line, a stale and a vague template are all reported", () => {
      const here = templatesOf([
        "PoolDrainer: could not drain node pool \"…\" (cluster …) [deadline]: …\nBlocked by: ….\nThe old pool was KEPT and … so it keeps serving.",
        "pool guard: the cluster is on fire …",
        "error: …",
        "error: drain of pool … refused: …\nblocking pods: …",
      ]);
      assert.deepEqual(here, [
        "PoolDrainer: could not drain node pool \"…\" (cluster …) [deadline]: …",
        "Blocked by: ….\nThe old pool was KEPT and … so it keeps serving.", // a short line is joined with the next
        "pool guard: the cluster is on fire …",
        "error: …",
        "error: drain of pool … refused: …\nblocking pods: …", // a short last line is joined with the one before
      ]);
      const r = mismatches([
        { where: "made up", text: "PoolDrainer: the cluster exploded" },
        { where: "real shape", text: 'PoolDrainer: could not drain node pool "old" (cluster a/b/c) [deadline]: deadline of 1s reached\n  Blocked by: x.\nThe old pool was KEPT and really, so it keeps serving.' },
        { where: "new line", text: 'PoolDrainer: could not drain node pool "old" (cluster a/b/c) [deadline]: x\nA line nobody quoted' },
        { where: "short line out of context", text: "Blocked by: y." },
        { where: "vague", text: "error: something" },
        { where: "cli", text: "error: drain of pool old refused: z\nblocking pods: shop/a" },
      ], here);
      assert.deepEqual(r.undocumented, ["[made up] PoolDrainer: the cluster exploded", "[new line] A line nobody quoted", "[short line out of context] Blocked by: y."]);
      assert.deepEqual(r.stale, ["pool guard: the cluster is on fire …"]);
      assert.deepEqual(r.vague, ["error: …"]);
      assert.ok(templateRegex("x (y) [z]: … *.").test("x (y) [z]: anything *."), "regex metacharacters are literal");
      assert.ok(!templateRegex("x (y) [z]: … *.").test("x (y) [z]: anything +."));
      assert.ok(templateRegex("a   long\n   headline …").test(normalise("a long \n  headline  and more")), "whitespace is normalised");
      assert.ok(!templateRegex("a … headline").test(normalise("a long\nheadline")), "a wildcard stays within one printed line");
    });
  });
});

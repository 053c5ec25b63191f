/**
 * The user CI workflows (.github/workflows): every file validated by GitHub's own workflow parser
 * (@actions/workflow-parser: schema, expression contexts, job model), then the keys the promotion
 * story relies on, read with the yaml package (triggers, official Pulumi action and its inputs, the
 * pinned Pulumi CLI and Node, policy pack, self-managed backend login, concurrency that never
 * cancels a running update, the fleet workflow's waves).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { loadFleetPlan, planStacks } from "../../components/promotion/fleetPlan";
import { REPO } from "./helpers";
import { parseWorkflowFile } from "./workflowParser";

/** The Pulumi CLI every workflow pins: resource hooks (the pool guard) need >= 3.182.0. */
const MIN_PULUMI_CLI = [3, 182, 0];
const semver = (v: string) => v.split(".").map(Number);
const atLeast = (v: number[], min: number[]) => v[0] !== min[0] ? v[0] > min[0] : v[1] !== min[1] ? v[1] > min[1] : v[2] >= min[2];
/** Stacks of the repository's wave plan. */
const fleetStacks = () => planStacks(loadFleetPlan(path.join(REPO, "fleet.yaml")));

const WF = path.join(REPO, ".github/workflows");
const load = (f: string) => {
  const text = fs.readFileSync(path.join(WF, f), "utf8");
  return { text, wf: parse(text, { uniqueKeys: true }) };
};
type Step = { id?: string; uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string>; name?: string };
const pulumiSteps = (steps: Step[]) => steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
const PULUMI_ACTION = /^pulumi\/actions@v6$/;
/** Inputs pulumi/actions v6 declares (its action.yml); a misspelt input would be ignored silently. */
const ACTION_INPUTS = new Set([
  "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr", "comment-on-pr-number",
  "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map",
  "expect-no-changes", "diff", "replace", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh",
  "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
  "always-include-summary",
]);

function checkPulumiStep(s: Step, where: string) {
  assert.match(s.uses!, PULUMI_ACTION, `${where}: the official Pulumi action, pinned to a major`);
  for (const k of Object.keys(s.with ?? {})) assert.ok(ACTION_INPUTS.has(k), `${where}: unknown pulumi/actions input "${k}"`);
  if (s.with?.command) assert.equal(s.with!["cloud-url"], "${{ vars.PULUMI_BACKEND_URL }}", `${where}: logs in to the self-managed backend`);
  const pin = String(s.with?.["pulumi-version"] ?? "");
  assert.match(pin, /^\d+\.\d+\.\d+$/, `${where}: pulumi-version pinned to an exact CLI version`);
  assert.ok(atLeast(semver(pin), MIN_PULUMI_CLI), `${where}: pulumi-version ${pin} >= 3.182.0 (resource hooks)`);
}

function checkJobBasics(job: any, where: string) {
  const steps: Step[] = job.steps;
  assert.ok(steps.some((s) => s.uses === "actions/checkout@v4"), `${where}: checkout`);
  assert.ok(steps.some((s) => s.uses === "actions/setup-node@v4" && s.with?.["node-version"] === 24), `${where}: Node 24 (Node 20 reached end of life on 2026-04-30)`);
  assert.ok(steps.some((s) => s.run === "npm ci"), `${where}: npm ci`);
  assert.ok(steps.some((s) => s.uses === "google-github-actions/auth@v2"), `${where}: GCP auth`);
}

/** Every workflow file, parsed. */
const allWorkflows = () => Object.fromEntries(fs.readdirSync(WF).filter((f) => /\.ya?ml$/.test(f)).map((f) => [f, load(f).wf]));

/** The stack's drain deadline in minutes (`nodepool-rotation:drain.deadlineMinutes`, default 60). */
const drainDeadlineMinutes = (stack: string) =>
  parse(fs.readFileSync(path.join(REPO, `Pulumi.${stack}.yaml`), "utf8")).config["nodepool-rotation:drain"]?.deadlineMinutes ?? 60;

/**
 * Ways GitHub could cancel a running `pulumi up` (its cancel SIGKILLs the process tree ~10 s after
 * SIGINT, before a drain can uncordon; docs/drainer.md "When `pulumi up` is interrupted"), one line
 * each: an up job outside a constant per-stack concurrency group with `cancel-in-progress: false`;
 * any job or workflow joining that group with cancel-in-progress not false (its arrival would cancel
 * the running up; group names are case-insensitive, docs.github.com "Control the concurrency of
 * workflows and jobs"); two groups for one stack (two ups of it at once); a job timeout (a cancel
 * too) that could land before both the drainer's drain and the pool guard's re-drain reached their
 * deadline (each then fails closed), plus 30 min for GKE to create and delete the pools.
 */
function cancellationProblems(workflows: Record<string, any>): string[] {
  const problems: string[] = [];
  const upGroups = new Map<string, Set<string>>(); // stack -> groups
  const members: { where: string; group: string; cancel: unknown }[] = [];
  for (const [file, wf] of Object.entries(workflows)) {
    if (wf.concurrency) members.push({ where: file, group: String(wf.concurrency.group ?? wf.concurrency).toLowerCase(), cancel: wf.concurrency["cancel-in-progress"] ?? false });
    for (const [id, job] of Object.entries<any>(wf.jobs)) {
      const where = `${file}/${id}`;
      if (job.concurrency) members.push({ where, group: String(job.concurrency.group ?? job.concurrency).toLowerCase(), cancel: job.concurrency["cancel-in-progress"] ?? false });
      for (const step of pulumiSteps(job.steps ?? []).filter((x) => x.with?.command === "up")) {
        const name = String(step.with!["stack-name"]);
        const conc = job.concurrency ?? wf.concurrency;
        // A matrix over stacks (the fleet workflow) updates each stack of the plan: check each one,
        // with `${{ matrix.stack }}` in the group standing for that stack (a constant group per stack).
        const matrix = name === "${{ matrix.stack }}";
        if (!matrix && !/^[a-z][a-z0-9-]*$/.test(name)) { problems.push(`${where}: stack-name ${name} is neither a literal stack nor \${{ matrix.stack }}`); continue; }
        for (const stack of matrix ? fleetStacks() : [name]) {
          const group = typeof conc?.group === "string" ? (matrix ? conc.group.split("${{ matrix.stack }}").join(stack) : conc.group) : undefined;
          if (!group || /\$\{\{/.test(group)) problems.push(`${where}: up of ${stack} has no constant concurrency group`);
          else {
            if (conc["cancel-in-progress"] !== false) problems.push(`${where}: cancel-in-progress must be false, got ${JSON.stringify(conc["cancel-in-progress"])}`);
            if (!upGroups.has(stack)) upGroups.set(stack, new Set());
            upGroups.get(stack)!.add(group.toLowerCase());
          }
          const minutes = 2 * drainDeadlineMinutes(stack) + 30;
          if (!(job["timeout-minutes"] >= minutes)) problems.push(`${where}: timeout-minutes ${job["timeout-minutes"]} < ${minutes} (2 x drain.deadlineMinutes of ${stack} + 30)`);
        }
      }
    }
  }
  for (const [stack, groups] of upGroups) {
    if (groups.size > 1) problems.push(`${stack} is updated under several concurrency groups: ${[...groups].join(", ")}`);
    for (const m of members) if (groups.has(m.group) && m.cancel !== false) problems.push(`${m.where}: joins ${m.group} (pulumi up ${stack}) with cancel-in-progress ${JSON.stringify(m.cancel)}`);
  }
  return problems;
}

describe("promotion/workflows: user CI in .github/workflows", () => {
  it("GitHub's workflow parser accepts every workflow (schema, expression contexts, job model) and rejects broken ones", async () => {
    const files = fs.readdirSync(WF).filter((f) => /\.ya?ml$/.test(f));
    for (const f of files) assert.deepEqual((await parseWorkflowFile(f, load(f).text)).errors, [], f);
    // The parser is really judging: a misspelt key, a context where it is not available, a bad type.
    const fleet = load("fleet.yml").text;
    const broken = async (from: string, to: string) => {
      assert.ok(fleet.includes(from), from);
      return (await parseWorkflowFile("fleet.yml", fleet.replace(from, to))).errors.join("\n");
    };
    assert.match(await broken("    timeout-minutes: 240", "    timeout-minute: 240"), /Unexpected value 'timeout-minute'/);
    assert.match(await broken("group: pulumi-${{ matrix.stack }}", "group: pulumi-${{ steps.wave.outputs.name }}"), /Unrecognized named-value: 'steps'/);
    assert.match(await broken("      fail-fast: false", "      fail-fast: sometimes"), /fail-fast|boolean|Unexpected value 'sometimes'/);
  });

  it("Node 24 everywhere, and one pinned Pulumi CLI >= 3.182.0 (resource hooks), the version of the @pulumi/pulumi SDK", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
    const pins = new Set<string>();
    for (const [f, wf] of Object.entries(allWorkflows())) {
      for (const [id, job] of Object.entries<any>(wf.jobs)) {
        for (const s of job.steps as Step[]) {
          if (s.uses?.startsWith("actions/setup-node@")) assert.equal(s.with?.["node-version"], 24, `${f}/${id}: Node 24`);
          if (s.uses?.startsWith("pulumi/actions@")) {
            checkPulumiStep(s, `${f}/${id}`);
            pins.add(String(s.with!["pulumi-version"]));
          }
          if (s.run && /(^|\n)\s*pulumi /.test(s.run)) {
            const i = job.steps.indexOf(s);
            assert.ok(job.steps.slice(0, i).some((x: Step) => x.uses?.startsWith("pulumi/actions@")), `${f}/${id}: the pinned CLI is installed before "${s.name ?? s.run.slice(0, 40)}" runs pulumi`);
          }
        }
      }
    }
    assert.deepEqual([...pins], [pkg.dependencies["@pulumi/pulumi"]], "one CLI version, in lockstep with the SDK");
  });

  it("no pulumi up can be cancelled by GitHub mid-update: per-stack queues that never cancel, and timeouts past the drain deadlines", () => {
    const workflows = allWorkflows();
    assert.deepEqual(cancellationProblems(workflows), []);
    const ups = Object.entries(workflows).flatMap(([f, wf]) => Object.entries<any>(wf.jobs).filter(([, j]) => pulumiSteps(j.steps).some((x) => x.with?.command === "up")).map(([id]) => `${f}/${id}`));
    assert.deepEqual(ups.sort(), ["fleet.yml/up", "staging.yml/up"]);
    // The check can fail: each way of letting GitHub cancel an update is caught.
    const mutated = (edit: (w: Record<string, any>) => void) => { const w = structuredClone(workflows); edit(w); return cancellationProblems(w); };
    assert.match(mutated((w) => { w["staging.yml"].concurrency["cancel-in-progress"] = true; }).join("\n"), /staging\.yml\/up: cancel-in-progress must be false/);
    assert.match(mutated((w) => { w["fleet.yml"].jobs.up.concurrency["cancel-in-progress"] = "${{ github.event_name == 'push' }}"; }).join("\n"), /fleet\.yml\/up: cancel-in-progress must be false/);
    assert.match(mutated((w) => { w["preview.yml"].concurrency = { group: "Pulumi-Staging", "cancel-in-progress": true }; }).join("\n"), /preview\.yml: joins pulumi-staging \(pulumi up staging\) with cancel-in-progress true/);
    assert.match(mutated((w) => { delete w["fleet.yml"].jobs.up.concurrency; }).join("\n"), /fleet\.yml\/up: up of prod-osaka has no constant concurrency group/);
    assert.match(mutated((w) => { w["fleet.yml"].jobs.up.concurrency.group = "pulumi-${{ github.run_id }}"; }).join("\n"), /fleet\.yml\/up: up of prod has no constant concurrency group/);
    assert.match(mutated((w) => { w["staging.yml"].concurrency.group = "pulumi-${{ github.ref }}"; }).join("\n"), /no constant concurrency group/);
    assert.match(mutated((w) => { w["fleet.yml"].jobs.up.concurrency.group = "fleet-${{ matrix.stack }}"; }).join("\n"), /staging is updated under several concurrency groups: fleet-staging, pulumi-staging/);
    assert.match(mutated((w) => { w["fleet.yml"].jobs.up["timeout-minutes"] = 180; }).join("\n"), /fleet\.yml\/up: timeout-minutes 180 < 210 \(2 x drain\.deadlineMinutes of prod \+ 30\)/);
  });

  it("preview.yml: on pull requests, pulumi preview of every stack with the policy pack", () => {
    const { wf } = load("preview.yml");
    assert.ok(wf.on.pull_request, "triggered by pull requests");
    assert.ok(wf.on.pull_request.paths.includes("Pulumi*.yaml"));
    assert.ok(wf.on.pull_request.paths.includes("fleet.yaml"), "a plan change re-runs the gates");
    const job = wf.jobs.preview;
    checkJobBasics(job, "preview");
    const stacks: string[] = job.strategy.matrix.stack;
    assert.deepEqual([...stacks].sort(), fleetStacks().sort(), "every stack of fleet.yaml is previewed");
    for (const s of stacks) assert.ok(fs.existsSync(path.join(REPO, `Pulumi.${s}.yaml`)), `stack file for ${s}`);
    const [step] = pulumiSteps(job.steps);
    checkPulumiStep(step, "preview");
    assert.equal(step.with!.command, "preview");
    assert.equal(step.with!["stack-name"], "${{ matrix.stack }}");
    assert.equal(step.with!.policyPacks, "policy");
    assert.equal(step.with!.policyPackConfigs, "policy/config/${{ matrix.stack }}.json");
    assert.equal(job.env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    assert.equal(wf.permissions["id-token"], "write");
  });

  it("staging.yml: after merge to main, pulumi up on staging with the policy pack, never cancelled mid-update", () => {
    const { wf } = load("staging.yml");
    assert.deepEqual(wf.on.push.branches, ["main"]);
    assert.ok(wf.on.push.paths.includes("Pulumi.staging.yaml"));
    assert.ok(!wf.on.push.paths.includes("Pulumi.prod.yaml"), "a prod-only change does not run staging");
    assert.deepEqual(wf.concurrency, { group: "pulumi-staging", "cancel-in-progress": false });
    const job = wf.jobs.up;
    checkJobBasics(job, "staging");
    assert.ok(job.steps.some((s: Step) => s.uses === "google-github-actions/setup-gcloud@v2" && s.with?.install_components === "gke-gcloud-auth-plugin"), "the drain's exec-auth plugin");
    const [up] = pulumiSteps(job.steps);
    checkPulumiStep(up, "staging up");
    assert.equal(up.with!.command, "up");
    assert.equal(up.with!["stack-name"], "staging");
    assert.equal(up.with!.policyPacks, "policy");
    assert.ok(job["timeout-minutes"] >= 120, "room for pool creation + drain + deletion");
    assert.ok(job.steps.some((s: Step) => s.run?.includes('pulumi login "$PULUMI_BACKEND_URL"') && s.run.includes("pulumi stack output verifiedVersions --json --stack staging")));
  });

  it("fleet.yml: manual per wave; propose = npm run fleet -- promote from the previous wave's exports + PR; apply = plan, soak check, matrix of pulumi up", () => {
    const { wf } = load("fleet.yml");
    assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"], "manual only");
    assert.equal(wf.on.workflow_dispatch.inputs.wave.type, "number");
    assert.deepEqual(wf.on.workflow_dispatch.inputs.step.options, ["propose", "apply"]);
    assert.equal(wf.defaults.run.shell, "bash", "explicit bash = -eo pipefail: a refused promote fails its step even through tee");
    assert.equal(wf.env.WAVE, "${{ inputs.wave }}");

    // plan: the wave's stacks, from the validated fleet.yaml, as job outputs.
    const plan = wf.jobs.plan;
    const waveStep: Step = plan.steps.find((s: Step) => s.id === "wave");
    assert.ok(waveStep.run!.includes('npm run --silent fleet -- wave --wave "$WAVE"'));
    for (const k of ["stacks", "previous", "maxParallel", "environment", "name"]) assert.equal(plan.outputs[k], `\${{ steps.wave.outputs.${k} }}`);

    // propose: export every stack of the previous wave, then promote the wave from those states.
    const propose = wf.jobs.propose;
    assert.equal(propose.if, "inputs.step == 'propose' && inputs.wave > 0");
    const promoteStep: Step = propose.steps.find((s: Step) => s.run?.includes("fleet -- promote"));
    const lines = promoteStep.run!.split("\n").map((l) => l.trim());
    const login = lines.indexOf('pulumi login "$PULUMI_BACKEND_URL"');
    const exportAt = lines.findIndex((l) => l.includes('pulumi stack export --stack "$s" --file "states/$s.json"') && l.includes('<<<"$PREVIOUS"'));
    const promoteAt = lines.findIndex((l) => l.startsWith('npm run --silent fleet -- promote --wave "$WAVE" --state-dir states'));
    assert.ok(login >= 0 && exportAt > login && promoteAt > exportAt, promoteStep.run);
    assert.equal(promoteStep.env!.PREVIOUS, "${{ needs.plan.outputs.previous }}");
    assert.ok(!/--force/.test(promoteStep.run!), "never forces");
    const prStep: Step = propose.steps.find((s: Step) => s.run?.includes("gh pr create"));
    assert.ok(prStep.run!.includes('files+=("Pulumi.$s.yaml")') && prStep.run!.includes('-- "${files[@]}"'), "the PR carries only the wave's stack files");

    // apply: the soak check runs before the wave's ups, on the previous wave's fresh exports.
    const check = wf.jobs["soak-check"];
    assert.equal(check.if, "inputs.step == 'apply' && inputs.wave > 0 && github.ref == 'refs/heads/main'");
    const checkStep: Step = check.steps.find((s: Step) => s.run?.includes("fleet -- check"));
    assert.ok(checkStep.run!.includes('npm run --silent fleet -- check --wave "$WAVE" --state-dir states'));
    assert.ok(checkStep.run!.includes('pulumi stack export --stack "$s" --file "states/$s.json"'));
    const up = wf.jobs.up;
    assert.deepEqual(up.needs, ["plan", "soak-check"]);
    assert.match(up.if, /needs\.soak-check\.result == 'success' \|\| \(inputs\.wave == 0 && needs\.soak-check\.result == 'skipped'\)/, "a later wave runs only after its soak check succeeded");
    assert.match(up.if, /github\.ref == 'refs\/heads\/main'/);
    assert.equal(up.strategy["fail-fast"], false, "one cluster's failed drain does not cancel the others");
    assert.equal(up.strategy["max-parallel"], "${{ fromJSON(needs.plan.outputs.maxParallel) }}");
    assert.equal(up.strategy.matrix.stack, "${{ fromJSON(needs.plan.outputs.stacks) }}");
    assert.deepEqual(up.environment, { name: "${{ needs.plan.outputs.environment }}" }, "one GitHub environment per wave (fleet-<name>) for approvals");
    checkJobBasics(up, "fleet up");
    const [step] = pulumiSteps(up.steps).filter((x) => x.with?.command === "up");
    checkPulumiStep(step, "fleet up");
    assert.equal(step.with!["stack-name"], "${{ matrix.stack }}");
    assert.equal(step.with!.policyPacks, "policy");
    assert.equal(step.with!.policyPackConfigs, "policy/config/${{ matrix.stack }}.json");
    for (const s of fleetStacks()) assert.ok(fs.existsSync(path.join(REPO, `policy/config/${s}.json`)), `policy/config/${s}.json`);
  });

  it("what the workflows call exists in the repository: npm scripts, policy pack, per-stack policy config, prod gate", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
    assert.equal(pkg.scripts.promote, "ts-node components/promotion/promote.ts");
    assert.equal(pkg.scripts.bump, "ts-node components/promotion/bump.ts");
    assert.ok(fs.existsSync(path.join(REPO, "policy/PulumiPolicy.yaml")), "policy pack at policy/");
    assert.equal(pkg.scripts.fleet, "ts-node components/promotion/fleet.ts");
    for (const s of fleetStacks()) assert.ok(fs.existsSync(path.join(REPO, `policy/config/${s}.json`)), `policy/config/${s}.json`);
    const prod = parse(fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8")).config;
    assert.equal(prod["nodepool-rotation:promotion"].requireVerifiedIn, "staging", "prod is gated on staging");
  });

  it("every workflow parses, uses the official action (v6) for preview/up only, no destroy, no --force", () => {
    const files = fs.readdirSync(WF).filter((f) => /\.ya?ml$/.test(f));
    assert.deepEqual(files.sort(), ["fleet.yml", "preview.yml", "staging.yml"]);
    for (const f of files) {
      const { text, wf } = load(f);
      assert.equal(typeof wf.name, "string", `${f}: name`);
      for (const [id, job] of Object.entries<any>(wf.jobs)) {
        for (const s of pulumiSteps(job.steps)) {
          checkPulumiStep(s, `${f}/${id}`);
          assert.ok(s.with!.command === undefined || ["preview", "up"].includes(s.with!.command), `${f}/${id}: only preview/up (or installing the CLI)`);
        }
      }
      assert.ok(!/pulumi destroy|--force/.test(text), `${f}: no destroy, no --force`);
    }
  });
});

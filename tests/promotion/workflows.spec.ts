/**
 * The user CI workflows (.github/workflows), parsed with the yaml package: the keys the promotion
 * story relies on (triggers, official Pulumi action and its inputs, policy pack, self-managed
 * backend login, concurrency that never cancels a running update, the manual prod promotion).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO } from "./helpers";

const WF = path.join(REPO, ".github/workflows");
const load = (f: string) => {
  const text = fs.readFileSync(path.join(WF, f), "utf8");
  return { text, wf: parse(text, { uniqueKeys: true }) };
};
type Step = { uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string>; name?: string };
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
  assert.equal(s.with!["cloud-url"], "${{ vars.PULUMI_BACKEND_URL }}", `${where}: logs in to the self-managed backend`);
}

function checkJobBasics(job: any, where: string) {
  const steps: Step[] = job.steps;
  assert.ok(steps.some((s) => s.uses === "actions/checkout@v4"), `${where}: checkout`);
  assert.ok(steps.some((s) => s.uses === "actions/setup-node@v4" && s.with?.["node-version"] === 20), `${where}: Node 20`);
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
        const stack = String(step.with!["stack-name"]);
        const conc = job.concurrency ?? wf.concurrency;
        if (!/^[a-z][a-z0-9-]*$/.test(stack)) { problems.push(`${where}: stack-name ${stack} is not a literal stack`); continue; }
        if (!conc || typeof conc.group !== "string" || /\$\{\{/.test(conc.group)) problems.push(`${where}: up of ${stack} has no constant concurrency group`);
        else {
          if (conc["cancel-in-progress"] !== false) problems.push(`${where}: cancel-in-progress must be false, got ${JSON.stringify(conc["cancel-in-progress"])}`);
          if (!upGroups.has(stack)) upGroups.set(stack, new Set());
          upGroups.get(stack)!.add(conc.group.toLowerCase());
        }
        const minutes = 2 * drainDeadlineMinutes(stack) + 30;
        if (!(job["timeout-minutes"] >= minutes)) problems.push(`${where}: timeout-minutes ${job["timeout-minutes"]} < ${minutes} (2 x drain.deadlineMinutes of ${stack} + 30)`);
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
  it("no pulumi up can be cancelled by GitHub mid-update: per-stack queues that never cancel, and timeouts past the drain deadlines", () => {
    const workflows = allWorkflows();
    assert.deepEqual(cancellationProblems(workflows), []);
    const ups = Object.entries(workflows).flatMap(([f, wf]) => Object.entries<any>(wf.jobs).filter(([, j]) => pulumiSteps(j.steps).some((x) => x.with?.command === "up")).map(([id]) => `${f}/${id}`));
    assert.deepEqual(ups.sort(), ["promote-prod.yml/apply", "staging.yml/up"]);
    // The check can fail: each way of letting GitHub cancel an update is caught.
    const mutated = (edit: (w: Record<string, any>) => void) => { const w = structuredClone(workflows); edit(w); return cancellationProblems(w); };
    assert.match(mutated((w) => { w["staging.yml"].concurrency["cancel-in-progress"] = true; }).join("\n"), /staging\.yml\/up: cancel-in-progress must be false/);
    assert.match(mutated((w) => { w["promote-prod.yml"].jobs.apply.concurrency["cancel-in-progress"] = "${{ github.event_name == 'push' }}"; }).join("\n"), /apply: cancel-in-progress must be false/);
    assert.match(mutated((w) => { w["preview.yml"].concurrency = { group: "Pulumi-Staging", "cancel-in-progress": true }; }).join("\n"), /preview\.yml: joins pulumi-staging \(pulumi up staging\) with cancel-in-progress true/);
    assert.match(mutated((w) => { delete w["promote-prod.yml"].jobs.apply.concurrency; }).join("\n"), /apply: up of prod has no constant concurrency group/);
    assert.match(mutated((w) => { w["staging.yml"].concurrency.group = "pulumi-${{ github.ref }}"; }).join("\n"), /no constant concurrency group/);
    assert.match(mutated((w) => { w["promote-prod.yml"].jobs.apply.concurrency.group = "prod-apply"; w["staging.yml"].jobs.up.steps.find((x: Step) => x.with?.command === "up").with["stack-name"] = "prod"; }).join("\n"), /prod is updated under several concurrency groups/);
    assert.match(mutated((w) => { w["promote-prod.yml"].jobs.apply["timeout-minutes"] = 180; }).join("\n"), /apply: timeout-minutes 180 < 210/);
  });

  it("preview.yml: on pull requests, pulumi preview of every stack with the policy pack", () => {
    const { wf } = load("preview.yml");
    assert.ok(wf.on.pull_request, "triggered by pull requests");
    assert.ok(wf.on.pull_request.paths.includes("Pulumi*.yaml"));
    const job = wf.jobs.preview;
    checkJobBasics(job, "preview");
    const stacks: string[] = job.strategy.matrix.stack;
    assert.deepEqual([...stacks].sort(), ["prod", "staging"]);
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

  it("promote-prod.yml: manual; propose = converged staging + npm run promote + PR; apply = pulumi up prod in a protected environment", () => {
    const { wf } = load("promote-prod.yml");
    assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"], "manual only");
    assert.deepEqual(wf.on.workflow_dispatch.inputs.step.options, ["propose", "apply"]);
    assert.equal(wf.on.workflow_dispatch.inputs.step.default, "propose");
    assert.equal(wf.defaults.run.shell, "bash", "explicit bash = -eo pipefail: a refused promote fails its step even through tee");

    const propose = wf.jobs.propose;
    assert.equal(propose.if, "inputs.step == 'propose'");
    checkJobBasics(propose, "propose");
    const [converged] = pulumiSteps(propose.steps);
    checkPulumiStep(converged, "propose");
    assert.equal(converged.with!.command, "preview");
    assert.equal(converged.with!["stack-name"], "staging");
    assert.equal(converged.with!["expect-no-changes"], true, "no unapplied change in staging");
    const promoteStep: Step = propose.steps.find((s: Step) => s.run?.includes("npm run --silent promote --"));
    assert.ok(promoteStep, "runs npm run promote");
    assert.ok(promoteStep.run!.includes('pulumi login "$PULUMI_BACKEND_URL"'), "logs in before promote reads staging's outputs");
    // Pending deletes are not logical steps, so the preview above cannot see a failed drain: promote
    // reads them from staging's state, exported in the same step (after login) so it is current.
    const lines = promoteStep.run!.split("\n").map((l) => l.trim());
    const exportAt = lines.indexOf("pulumi stack export --stack staging --file staging-state.json");
    const promoteAt = lines.findIndex((l) => l.includes('promote -- --from staging --to prod --state-file staging-state.json "${args[@]}"'));
    assert.ok(exportAt > lines.indexOf('pulumi login "$PULUMI_BACKEND_URL"') && promoteAt > exportAt, promoteStep.run);
    assert.ok(!/--force/.test(promoteStep.run!), "never forces");
    assert.ok(propose.steps.indexOf(promoteStep) > propose.steps.indexOf(converged), "convergence is checked first");
    const prStep: Step = propose.steps.find((s: Step) => s.run?.includes("gh pr create"));
    assert.ok(prStep && prStep.run!.includes("git commit") && prStep.run!.includes("-- Pulumi.prod.yaml"), "PR carries only Pulumi.prod.yaml");
    assert.equal(wf.permissions["pull-requests"], "write");
    assert.equal(wf.permissions.contents, "write");

    const apply = wf.jobs.apply;
    assert.equal(apply.if, "inputs.step == 'apply' && github.ref == 'refs/heads/main'");
    assert.equal(apply.environment, "production");
    assert.deepEqual(apply.concurrency, { group: "pulumi-prod", "cancel-in-progress": false });
    checkJobBasics(apply, "apply");
    const [up] = pulumiSteps(apply.steps);
    checkPulumiStep(up, "apply");
    assert.equal(up.with!.command, "up");
    assert.equal(up.with!["stack-name"], "prod");
    assert.equal(up.with!.policyPacks, "policy");
    assert.equal(up.with!.policyPackConfigs, "policy/config/prod.json");
  });

  it("what the workflows call exists in the repository: npm scripts, policy pack, per-stack policy config, prod gate", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
    assert.equal(pkg.scripts.promote, "ts-node components/promotion/promote.ts");
    assert.equal(pkg.scripts.bump, "ts-node components/promotion/bump.ts");
    assert.ok(fs.existsSync(path.join(REPO, "policy/PulumiPolicy.yaml")), "policy pack at policy/");
    for (const s of ["staging", "prod"]) assert.ok(fs.existsSync(path.join(REPO, `policy/config/${s}.json`)), `policy/config/${s}.json`);
    const prod = parse(fs.readFileSync(path.join(REPO, "Pulumi.prod.yaml"), "utf8")).config;
    assert.equal(prod["nodepool-rotation:promotion"].requireVerifiedIn, "staging", "prod is gated on staging");
  });

  it("every workflow parses, uses the official action (v6) for preview/up only, no destroy, no --force", () => {
    const files = fs.readdirSync(WF).filter((f) => /\.ya?ml$/.test(f));
    assert.deepEqual(files.sort(), ["preview.yml", "promote-prod.yml", "staging.yml"]);
    for (const f of files) {
      const { text, wf } = load(f);
      assert.equal(typeof wf.name, "string", `${f}: name`);
      for (const [id, job] of Object.entries<any>(wf.jobs)) {
        for (const s of pulumiSteps(job.steps)) {
          checkPulumiStep(s, `${f}/${id}`);
          assert.ok(["preview", "up"].includes(s.with!.command), `${f}/${id}: only preview/up`);
        }
      }
      assert.ok(!/pulumi destroy|--force/.test(text), `${f}: no destroy, no --force`);
    }
  });
});

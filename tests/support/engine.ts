/**
 * An emulation of what the Pulumi engine does with a stack's resources during `pulumi up` and
 * `pulumi destroy`, reduced to the rules a node-pool rotation depends on: create-before-delete
 * replacement, deletions at the END of the update in batches (antichains) in reverse dependency
 * order, `beforeDelete` resource hooks looked up by the names stored in the OLD state, a failed
 * delete cancelling the later batches, pending deletes retried by the next `up`, and `--target`.
 * The specs drive it with providers whose create/delete act on the simulator over HTTP, so what
 * is emulated here is only the engine's ORDER and BOOKKEEPING — never what happens in the cluster.
 *
 * Source read: github.com/pulumi/pulumi at 1b5949891b3cefcb9974752b24a5ecef0acc86c8 (main, after
 * 3.259.0, Aug 2026; the project runs the 3.270 SDK against the same engine protocol).
 *
 *  - Replacement, create-before-delete: step_generator.go (`NewCreateReplacementStep` unless
 *    `deleteBeforeReplace`); the replaced state is marked `Delete: true` in the base snapshot
 *    (backend/snapshot.go `createSnapshotMutation.End`, "setting a `Delete` flag on resources being
 *    replaced") and stays there until its delete succeeds: a pending delete.
 *  - Deletes happen after the program has registered everything: deployment_executor.go
 *    `performPostSteps` → step_generator.go `GenerateDeletes` (every prev resource with `Delete`
 *    set → `NewDeleteReplacementStep`; every prev resource the program did not register →
 *    `NewDeleteStep`), then `ScheduleDeletes` decomposes them into antichains over
 *    `getDepgraphForScheduling()` (toDelete ++ prev.Resources) and reverses them: dependents first.
 *    A dependency is matched by URN among the resources EARLIER in that list, parents included
 *    (resource/graph/dependency_graph.go `DependenciesOf`), so an old drainer depends on the old
 *    pool it was registered after, never on its replacement.
 *  - Each antichain runs in parallel (step_executor.go `ExecuteParallel`) and completes before the
 *    next starts. A failed step calls `cancelDueToError` → `se.cancel()`: later antichains are
 *    never started (`ExecuteSerial` returns at once on `ctx.Done()`); steps of the same antichain
 *    already running finish. With `--continue-on-error` the executor instead skips only the
 *    failed steps' transitive dependencies (deployment_executor.go `erroredDeps`).
 *  - `DeleteStep.Apply` (step.go) first runs `RunHooks(s.old.ResourceHooks[BeforeDelete], …)` with
 *    the OLD inputs and outputs (no new ones), then the provider's Delete. A hook name the current
 *    program did not register fails the step ("hook %q was not registered", deployment.go
 *    `RunHooks`); a hook error fails it as "before hook %q failed: <error>". Either way the
 *    resource stays in state (`Delete` still set) and is retried at the end of the next `up`.
 *  - A same step records the program's new hook bindings (backend/snapshot.go
 *    `sameSnapshotMutation.mustWrite`: "true because of ResourceHooks"); an untargeted same step
 *    (`--target`) copies the old state unchanged (`NewUntargetedSameStep(…, res, res.Copy())`), and
 *    a pending delete is never re-registered, so it keeps the hooks it had when it was replaced.
 *  - `--target`: only the targeted URNs (all states with that URN, old and pending included) and
 *    their dependents that `calculateDependentReplacements` finds are deleted
 *    (`determineAllowedResourcesToDeleteFromTargets`). That computation only counts dependents
 *    whose INPUT PROPERTIES depend on the target and whose provider diff then asks for
 *    replacement; a plain `dependsOn` edge never counts. The PoolDrainer's `poolName` is a plain
 *    string (computed at program time), so its set is empty: `up --target <pool urn>` deletes the
 *    old pool and the drainer gets an untargeted same step. This emulation deletes exactly the
 *    targeted URNs (it does not compute dependent replacements).
 *  - `destroy` without `--run-program` refuses when any resource has delete hooks
 *    (engine/destroy.go: "You must run with the `--run-program` flag to use delete hooks during
 *    destroy."); with it, every resource is deleted through the same scheduling.
 *
 * Use (see tests/support/engine.spec.ts and tests/program/poolGuardEngine.spec.ts):
 *
 *   const stack = new EmulatedStack();
 *   await stack.up(goalsV1, { providers, hooks });            // creates
 *   const r = await stack.up(goalsV2, { providers, hooks });  // replaces, then deletes in batches
 *   r.batches, r.steps, r.errors, stack.pendingDeletes()       // what the engine did and kept
 *
 * Not emulated: previews, refresh, providers' own resources, aliases, `deletedWith`,
 * `retainOnDelete`, protect, delete-before-replace, and the exact moment an in-flight step of the
 * same antichain observes a cancellation (here every step of an antichain starts together).
 */

/** A resource's hook bindings as the engine stores them in state: hook NAMES only. */
export interface HookNames {
  beforeDelete?: string[];
}

/** One resource state (an entry of the checkpoint's `resources`). */
export interface ResourceState {
  urn: string;
  type: string;
  /** Provider-assigned id: tells an old state from its replacement (they share the URN). */
  id: string;
  /** Custom resource (false: component; deleting a component calls no provider). */
  custom: boolean;
  inputs: Record<string, any>;
  outputs: Record<string, any>;
  /** URNs this resource depends on (`dependsOn` and property dependencies). */
  dependencies: string[];
  parent?: string;
  hooks: HookNames;
  /** Pending deletion: replaced (or left over from an earlier failed/interrupted delete). */
  delete: boolean;
}

/** What the program registers for one resource in one run. */
export interface Goal {
  urn: string;
  type: string;
  inputs: Record<string, any>;
  custom?: boolean;
  dependencies?: string[];
  parent?: string;
  hooks?: HookNames;
}

/** The provider side of one resource type, as far as the emulation needs it. */
export interface EmulatedProvider {
  /** Input keys whose change makes the provider's diff answer "replace" (ForceNew). */
  replaceOn?: string[];
  /** Creates the resource; default: id = `inputs.name` or the URN's name, outputs = inputs. */
  create?(goal: Goal): Promise<{ id: string; outputs: Record<string, any> }> | { id: string; outputs: Record<string, any> };
  /** Updates in place (inputs changed, none in `replaceOn`); default: outputs = old outputs + new inputs. */
  update?(old: ResourceState, goal: Goal): Promise<Record<string, any>> | Record<string, any>;
  /** Deletes the resource; a throw fails the delete step (the state is kept). Default: no-op. */
  delete?(state: ResourceState): Promise<void> | void;
}

/** What a resource hook receives on delete (the subset of ResourceHookArgs the engine fills for before_delete). */
export interface DeleteHookArgs {
  urn: string;
  id: string;
  name: string;
  type: string;
  oldInputs: Record<string, any>;
  oldOutputs: Record<string, any>;
}

/** A hook callback registered by the current program under a name. */
export type HookCallback = (args: DeleteHookArgs) => Promise<void> | void;

/** One executed (or skipped) step. */
export interface StepRecord {
  op: "create" | "create-replacement" | "same" | "update" | "delete" | "delete-replaced";
  urn: string;
  id: string;
  /** Index of the delete antichain (deletes only). */
  batch?: number;
  status: "ok" | "failed" | "cancelled";
  error?: string;
}

/** Options of one emulated `pulumi up` / `destroy`. */
export interface RunOptions {
  /** Providers by resource type. */
  providers: Record<string, EmulatedProvider>;
  /** Resource hooks the CURRENT program registers (name → callback). */
  hooks?: Record<string, HookCallback>;
  /** `--target` URNs. */
  targets?: string[];
  /** `--continue-on-error`. */
  continueOnError?: boolean;
  /** Checked before each delete antichain, like the engine's context (Ctrl-C / CI cancel). */
  signal?: AbortSignal;
  /** Called before each delete antichain starts, with its index and URNs (e.g. to interrupt after one). */
  onBatch?: (index: number, steps: { urn: string; id: string; op: string }[]) => void;
}

/** Result of one emulated run. */
export interface RunResult {
  /** False when any step failed or the run was cancelled (the CLI would exit non-zero). */
  ok: boolean;
  steps: StepRecord[];
  /** Delete antichains in execution order (URN#id of each step). */
  batches: string[][];
  /** Error messages of failed steps, as the engine reports them. */
  errors: string[];
}

/** Last component of a URN (`urn:pulumi:stack::project::type::name` → name). */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, parent types joined with `$`. */
export function makeUrn(stack: string, project: string, type: string, name: string, parentType?: string): string {
  return `urn:pulumi:${stack}::${project}::${parentType ? `${parentType}$` : ""}${type}::${name}`;
}

const key = (r: { urn: string; id: string }) => `${r.urn}#${r.id}`;

/** The delete antichains of a run, as `urn#id` lists in execution order. */
const batchesOf = (steps: StepRecord[]) =>
  steps.filter((s) => s.batch !== undefined).reduce<string[][]>((acc, s) => ((acc[s.batch!] ??= []).push(key(s)), acc), []);

/** A stack's checkpoint, evolved by emulated `up`/`destroy` runs. */
export class EmulatedStack {
  /** The checkpoint's resources, in the order the engine keeps them (dependencies first). */
  resources: ResourceState[] = [];

  /** Live (not pending-delete) state of a URN. */
  live(urn: string): ResourceState | undefined {
    return this.resources.find((r) => r.urn === urn && !r.delete);
  }

  /** Resources pending deletion (what `npm run promote` refuses on). */
  pendingDeletes(): ResourceState[] {
    return this.resources.filter((r) => r.delete);
  }

  /**
   * `pulumi up` with the program registering `goals` (in registration order): creates, replaces
   * (create-before-delete) and same steps first, then the deletions of replaced, pending-delete
   * and unregistered resources in antichains.
   */
  async up(goals: Goal[], opts: RunOptions): Promise<RunResult> {
    const steps: StepRecord[] = [];
    const errors: string[] = [];
    const prev = [...this.resources];
    const targeted = (urn: string) => !opts.targets || opts.targets.includes(urn);
    const registered = new Set<string>();
    const next: ResourceState[] = [...prev];

    for (const goal of goals) {
      registered.add(goal.urn);
      const old = prev.find((r) => r.urn === goal.urn && !r.delete);
      if (!targeted(goal.urn)) {
        // Untargeted: an untargeted same step keeps the old state as is; an untargeted new
        // resource is not created.
        if (old) steps.push({ op: "same", urn: old.urn, id: old.id, status: "ok" });
        continue;
      }
      const provider = opts.providers[goal.type] ?? {};
      if (!old) {
        const created = await this.create(goal, provider);
        next.push(created);
        steps.push({ op: "create", urn: created.urn, id: created.id, status: "ok" });
        continue;
      }
      const replaces = (provider.replaceOn ?? []).some((k) => JSON.stringify(old.inputs[k]) !== JSON.stringify(goal.inputs[k]));
      if (replaces) {
        const created = await this.create(goal, provider);
        old.delete = true; // the base snapshot is mutated in place (backend/snapshot.go)
        next.push(created);
        steps.push({ op: "create-replacement", urn: created.urn, id: created.id, status: "ok" });
        continue;
      }
      const changed = JSON.stringify(old.inputs) !== JSON.stringify(goal.inputs);
      // Same/update: the new registration's options (hooks, dependencies) are recorded.
      const outputs = !changed ? old.outputs : provider.update ? await provider.update(old, goal) : { ...old.outputs, ...goal.inputs };
      Object.assign(old, {
        inputs: goal.inputs,
        outputs,
        dependencies: goal.dependencies ?? [],
        parent: goal.parent,
        hooks: goal.hooks ?? {},
      });
      steps.push({ op: changed ? "update" : "same", urn: old.urn, id: old.id, status: "ok" });
    }
    this.resources = next;

    const condemned = prev.filter((r) => targeted(r.urn) && (r.delete || !registered.has(r.urn)));
    const ok = await this.runDeletes(condemned, opts, steps, errors);
    return { ok, steps, batches: batchesOf(steps), errors };
  }

  /**
   * `pulumi destroy`: refuses without `runProgram` when any resource has delete hooks
   * (engine/destroy.go); otherwise deletes everything in reverse dependency order.
   */
  async destroy(opts: RunOptions & { runProgram: boolean }): Promise<RunResult> {
    const withHooks = this.resources.filter((r) => (r.hooks.beforeDelete ?? []).length > 0);
    if (!opts.runProgram && withHooks.length > 0) {
      return {
        ok: false,
        steps: [],
        batches: [],
        errors: ["You must run with the `--run-program` flag to use delete hooks during destroy."],
      };
    }
    const steps: StepRecord[] = [];
    const errors: string[] = [];
    const ok = await this.runDeletes([...this.resources], opts, steps, errors);
    return { ok, steps, batches: batchesOf(steps), errors };
  }

  private async create(goal: Goal, provider: EmulatedProvider): Promise<ResourceState> {
    const made = provider.create ? await provider.create(goal) : { id: String(goal.inputs.name ?? urnName(goal.urn)), outputs: { ...goal.inputs } };
    return {
      urn: goal.urn,
      type: goal.type,
      id: made.id,
      custom: goal.custom ?? true,
      inputs: goal.inputs,
      outputs: made.outputs,
      dependencies: goal.dependencies ?? [],
      parent: goal.parent,
      hooks: goal.hooks ?? {},
      delete: false,
    };
  }

  /** ScheduleDeletes: antichains over the checkpoint order, reversed (dependents first). */
  private schedule(condemned: ResourceState[]): ResourceState[][] {
    const order = this.resources;
    const dependenciesOf = (r: ResourceState) => {
      const at = order.indexOf(r);
      const urns = new Set([...r.dependencies, ...(r.parent ? [r.parent] : [])]);
      return order.slice(0, at).filter((c) => urns.has(c.urn));
    };
    const left = new Set(condemned);
    const chains: ResourceState[][] = [];
    while (left.size > 0) {
      const chain = [...left].filter((r) => !dependenciesOf(r).some((d) => left.has(d)));
      if (chain.length === 0) throw new Error("emulated engine: dependency cycle among deletions");
      chain.forEach((r) => left.delete(r));
      chains.push(chain);
    }
    return chains.reverse();
  }

  private async runDeletes(condemned: ResourceState[], opts: RunOptions, steps: StepRecord[], errors: string[]): Promise<boolean> {
    const chains = this.schedule(condemned);
    let cancelled = false;
    const erroredDeps = new Set<ResourceState>();
    const transitiveDeps = (r: ResourceState, acc: Set<ResourceState>) => {
      const at = this.resources.indexOf(r);
      for (const c of this.resources.slice(0, at)) {
        if ((r.dependencies.includes(c.urn) || r.parent === c.urn) && !acc.has(c)) {
          acc.add(c);
          transitiveDeps(c, acc);
        }
      }
    };
    for (let i = 0; i < chains.length; i++) {
      const chain = chains[i].filter((r) => !erroredDeps.has(r));
      const opOf = (r: ResourceState): StepRecord["op"] => (r.delete ? "delete-replaced" : "delete");
      if (cancelled || opts.signal?.aborted) {
        cancelled = true;
        for (const r of chains[i]) steps.push({ op: opOf(r), urn: r.urn, id: r.id, batch: i, status: "cancelled" });
        continue;
      }
      opts.onBatch?.(i, chain.map((r) => ({ urn: r.urn, id: r.id, op: opOf(r) })));
      const results = await Promise.allSettled(chain.map((r) => this.deleteOne(r, opts)));
      results.forEach((res, j) => {
        const r = chain[j];
        if (res.status === "fulfilled") {
          this.resources = this.resources.filter((x) => x !== r);
          steps.push({ op: opOf(r), urn: r.urn, id: r.id, batch: i, status: "ok" });
        } else {
          const message = String(res.reason?.message ?? res.reason);
          errors.push(message);
          steps.push({ op: opOf(r), urn: r.urn, id: r.id, batch: i, status: "failed", error: message });
          if (opts.continueOnError) transitiveDeps(r, erroredDeps);
          else cancelled = true;
        }
      });
      for (const r of chains[i].filter((x) => erroredDeps.has(x))) {
        steps.push({ op: opOf(r), urn: r.urn, id: r.id, batch: i, status: "cancelled" });
      }
    }
    return !cancelled && errors.length === 0 && !opts.signal?.aborted;
  }

  /** DeleteStep.Apply: before-delete hooks (by the names in the OLD state), then the provider. */
  private async deleteOne(r: ResourceState, opts: RunOptions): Promise<void> {
    for (const name of r.hooks.beforeDelete ?? []) {
      const hook = opts.hooks?.[name];
      if (!hook) throw new Error(`hook "${name}" was not registered`);
      try {
        await hook({ urn: r.urn, id: r.id, name: urnName(r.urn), type: r.type, oldInputs: r.inputs, oldOutputs: r.outputs });
      } catch (e: any) {
        throw new Error(`before hook "${name}" failed: ${e?.message ?? e}`);
      }
    }
    if (r.custom) await opts.providers[r.type]?.delete?.(r);
  }
}

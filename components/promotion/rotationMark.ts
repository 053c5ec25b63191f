/**
 * RotationMark: a tiny dynamic resource that records WHEN a stack's pools last changed, for the
 * `verifiedAt` stack output the fleet's promotion gate reads to judge a wave's soak.
 *
 * A Pulumi program has no clock that survives between updates: a `new Date()` in the program would
 * restart every soak on every `up`. A resource's outputs do survive: `create()` stamps the time in
 * the dynamic-provider host and the engine keeps it in state; `diff()` asks for a REPLACEMENT only
 * when the role -> pool-name map changed (a rotation), so an `up` that rotates nothing keeps the old
 * stamp. The mark depends on every new pool and its PoolDrainer, so it is created after them —
 * before the old pools' drains, which the engine runs at the end of the update (the same instant
 * `verifiedVersions` records; the CLI's exact soak comes from the state export, see stackState.ts).
 *
 * The provider captures nothing (it is serialized into the resource's `__provider` input, as every
 * dynamic provider is: @pulumi/pulumi dynamic/index.js), so it needs no package in the host.
 */
import * as pulumi from "@pulumi/pulumi";

/** Pulumi type token of the mark (`dynamic.Resource(provider, name, props, opts, module, type)`). */
export const ROTATION_MARK_TYPE = "pulumi-nodejs:dynamic/nodepool-rotation:RotationMark";

/** Inputs: role -> the pool name it runs on now. */
export interface RotationMarkArgs {
  pools: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { pools: Record<string, string> }) {
    return { id: "rotation-mark", outs: { pools: inputs.pools, at: new Date().toISOString() } };
  },
  async diff(_id: string, olds: { pools?: Record<string, string> }, news: { pools: Record<string, string> }) {
    const key = (m: Record<string, string> | undefined) => JSON.stringify(Object.entries(m ?? {}).sort());
    const changed = key(olds.pools) !== key(news.pools);
    return { changes: changed, replaces: changed ? ["pools"] : [], deleteBeforeReplace: false };
  },
};

/** When this stack's pools last rotated (`at`, RFC 3339, stamped by the provider at create). */
export class RotationMark extends pulumi.dynamic.Resource {
  /** RFC 3339 time of the create (the rotation). */
  declare public readonly at: pulumi.Output<string>;

  constructor(name: string, args: RotationMarkArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { pools: args.pools, at: undefined }, opts, "nodepool-rotation", "RotationMark");
  }
}

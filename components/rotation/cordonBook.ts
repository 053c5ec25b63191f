/**
 * The cordon book: which nodes make up the pool this drain empties, which of them this tool
 * cordoned, and how they are made schedulable again.
 *
 * Invariant: a node is in `ours` only if this tool set it unschedulable — by a patch that returned,
 * or (found on the node) by its CORDONED_ANNOTATION — and `ours` is exactly what a failure uncordons.
 * A node cordoned by someone else is drained but never in `ours`. A node whose cordon patch was sent
 * but not answered is in `sent` until the clean-up re-reads it (`claimLost`). Pool membership only
 * grows: a node joining mid-drain (autoscaler) is added, recorded as `late` and cordoned too.
 *
 * Nodes are tracked by name and UID: a node deleted and re-created under its name (GKE auto-repair)
 * is a new Node object — new UID, schedulable, without our mark — and is cordoned again like a node
 * that joined (nodeIdentity.ts).
 */
import type { V1Node } from "@kubernetes/client-node";
import { CORDONED_ANNOTATION } from "../contracts";
import type { Clock } from "./clock";
import { errorText, KubeClient, statusOf } from "./client";
import { NodeBook, recreatedLine } from "./nodeIdentity";

/** Runs `fn` over `items` with at most `limit` calls at a time; resolves when all are done. */
async function eachConcurrently<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < items.length) await fn(items[next++]); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Uncordons `names` — nodes this tool cordoned — and removes its CORDONED_ANNOTATION in the same
 * patch, `concurrency` at a time (a large pool is schedulable again at once), each retried for up
 * to 30 s. Pass a client not tied to an abort signal: this is the clean-up after a stop. A node
 * that no longer exists (autoscaler, repair) is `gone`: nothing is left cordoned. Every node that
 * could not be uncordoned is logged and returned in `failed`.
 */
export async function uncordonNodes(client: KubeClient, names: string[], concurrency: number, log: (line: string) => void): Promise<{ uncordoned: string[]; gone: string[]; failed: string[] }> {
  const uncordoned: string[] = [], gone: string[] = [], failed: string[] = [];
  await eachConcurrently([...names].sort(), concurrency, async (name) => {
    try {
      // Real time on purpose (clock.ts): a clean-up bound.
      await client.patchNode(name, { metadata: { annotations: { [CORDONED_ANNOTATION]: null } }, spec: { unschedulable: false } }, Date.now() + 30_000);
      uncordoned.push(name);
    } catch (err) {
      if (statusOf(err) === 404) {
        gone.push(name);
        log(`${name} no longer exists: nothing to uncordon`);
      } else {
        failed.push(name);
        log(`could not uncordon ${name}: ${errorText(err, client.kc)}`);
      }
    }
  });
  return { uncordoned: uncordoned.sort(), gone: gone.sort(), failed: failed.sort() };
}

/** See the module comment. */
export class CordonBook {
  /** Pool nodes in the order they were found (the plan's, then late joiners). */
  readonly nodes: string[] = [];
  private readonly members = new Set<string>();
  /** Nodes this tool cordoned (see the invariant). */
  private readonly ours = new Set<string>();
  /** Nodes a cordon patch was sent for: one whose answer was lost may have been applied. */
  private readonly sent = new Set<string>();
  /** Nodes that joined the pool after the drain started. */
  readonly late = new Set<string>();
  private readonly lateCordons: Promise<void>[] = [];
  /** The UID last seen under each pool node's name. */
  private readonly uids = new NodeBook();

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Clock,
    private readonly deadline: number,
    private readonly log: (line: string) => void,
  ) {}

  /** The pool's nodes at the start (the plan's), and which of them an earlier run of this tool cordoned. */
  start(poolNodes: string[], seen: V1Node[]): void {
    for (const name of poolNodes) this.add(name);
    for (const n of seen) if (this.members.has(n.metadata?.name ?? "")) this.uids.see(n);
    for (const n of seen) {
      const name = n.metadata?.name;
      if (name && this.members.has(name) && n.spec?.unschedulable && n.metadata?.annotations?.[CORDONED_ANNOTATION]) this.ours.add(name); // an earlier run's
    }
    if (this.ours.size) this.log(`resuming: ${this.ours.size} node(s) already cordoned by this tool`);
    const others = seen.filter((n) => n.metadata?.name && this.members.has(n.metadata.name) && n.spec?.unschedulable && !this.ours.has(n.metadata.name)).map((n) => n.metadata!.name!);
    if (others.length) this.log(`${others.join(", ")} already cordoned by someone else: drained, but never uncordoned by this tool`);
  }

  /** Whether `name` is a pool node. */
  has(name: string | undefined): boolean {
    return name !== undefined && this.members.has(name);
  }

  /** The pool's node names as a set (for pass selection); do not modify. */
  get set(): ReadonlySet<string> {
    return this.members;
  }

  /** Nodes still cordoned by this tool, sorted. */
  stillCordoned(): string[] {
    return [...this.ours].sort();
  }

  private add(name: string): void {
    if (this.members.has(name)) return;
    this.members.add(name);
    this.nodes.push(name);
  }

  /**
   * Cordons every pool node not yet unschedulable (`seen`: the nodes as listed at the start), a
   * few patches in parallel; the first failure stops the others and is thrown. `checkStop` throws
   * when the drain must stop.
   */
  async cordonAll(seen: V1Node[], checkStop: () => void): Promise<void> {
    const byName = new Map(seen.map((n) => [n.metadata?.name, n]));
    // Already cordoned nodes are skipped (ours: recorded in start; someone else's: left alone).
    const todo = this.nodes.filter((name) => !byName.get(name)?.spec?.unschedulable);
    const worker = async () => {
      for (let name = todo.shift(); name !== undefined; name = todo.shift()) {
        try {
          checkStop();
          await this.cordon(name, byName.get(name)?.metadata?.resourceVersion);
        } catch (e) {
          todo.length = 0;
          throw e;
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(8, todo.length) }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * Cordons one node and marks it as ours, only if it is still the node we saw schedulable: the
   * patch carries its resourceVersion as a precondition. On 409 the node is re-read: cordoned by
   * someone else meanwhile (`kubectl cordon`) → theirs, left alone and never uncordoned; still
   * schedulable → patched again from the fresh version. Recorded as ours as soon as the patch
   * returns, so a failure uncordons it.
   */
  async cordon(name: string, resourceVersion?: string): Promise<void> {
    let rv = resourceVersion;
    for (;;) {
      this.sent.add(name);
      try {
        await this.client.patchNode(name, { metadata: { ...(rv ? { resourceVersion: rv } : {}), annotations: { [CORDONED_ANNOTATION]: new Date(this.clock.now()).toISOString() } }, spec: { unschedulable: true } }, this.deadline);
        this.ours.add(name);
        return;
      } catch (e) {
        if (statusOf(e) !== 409) throw e;
      }
      const node = await this.client.readNode(name, this.deadline);
      if (node?.spec?.unschedulable) {
        // Ours if it carries our mark (a retried patch whose first answer was lost), else someone else's.
        if (node.metadata?.annotations?.[CORDONED_ANNOTATION]) this.ours.add(name);
        else this.log(`${name} was cordoned by someone else meanwhile: drained, but never uncordoned by this tool`);
        return;
      }
      rv = node?.metadata?.resourceVersion;
    }
  }

  /**
   * A pool node seen on the node watch. One not known yet joined mid-drain (autoscaler); one known
   * under a new UID was re-created (auto-repair). Either is recorded as late and cordoned unless
   * already unschedulable (`onCordonError` gets a failed cordon, `onSettled` runs when the cordon
   * ends). Returns "joined" or "recreated", or undefined for a node already known as it is.
   */
  joined(node: V1Node, onCordonError: (e: unknown) => void, onSettled: () => void): "joined" | "recreated" | undefined {
    const name = node.metadata?.name;
    if (!name) return undefined;
    const sighting = this.uids.see(node);
    let kind: "joined" | "recreated";
    if (!this.members.has(name)) {
      kind = "joined";
      this.add(name);
      this.log(`node ${name} joined the pool during the drain: cordoning and draining it too`);
    } else if (sighting.kind === "recreated") {
      kind = "recreated";
      this.log(recreatedLine(name, sighting.previousUid, node.metadata?.uid));
    } else {
      return undefined;
    }
    this.late.add(name);
    if (!node.spec?.unschedulable) {
      this.lateCordons.push(this.cordon(name, node.metadata?.resourceVersion).then(() => undefined, onCordonError).finally(onSettled));
    }
    return kind;
  }

  /** Resolves when every late node's cordon has ended (each failure was reported to its handler). */
  async lateSettled(): Promise<void> {
    await Promise.allSettled(this.lateCordons);
  }

  /**
   * Clean-up after a stop: a cordon whose answer was lost (dropped connection, then the deadline or
   * an abort stopped the retries) may have been applied. Re-reads each such node with `cleanup` (a
   * client not tied to the aborted signal): it is ours if it carries our mark; unknown (read failed,
   * not 404) → treated as ours, since a merge patch on a schedulable node is harmless.
   */
  async claimLost(cleanup: KubeClient): Promise<void> {
    for (const name of [...this.sent].filter((n) => !this.ours.has(n)).sort()) {
      try {
        const node = await cleanup.readNode(name, Date.now() + 10_000); // real time: a clean-up bound (clock.ts)
        if (node?.spec?.unschedulable && node.metadata?.annotations?.[CORDONED_ANNOTATION]) this.ours.add(name);
      } catch (err) {
        if (statusOf(err) !== 404) {
          this.ours.add(name);
          this.log(`could not check whether ${name} was cordoned: ${errorText(err, cleanup.kc)}`);
        }
      }
    }
  }

  /** Uncordons every node of ours with `cleanup`; nodes uncordoned or gone leave the book. Returns the uncordoned ones. */
  async uncordonOurs(cleanup: KubeClient, concurrency: number): Promise<string[]> {
    if (this.ours.size === 0) return [];
    const done = await uncordonNodes(cleanup, [...this.ours], concurrency, this.log);
    for (const name of [...done.uncordoned, ...done.gone]) this.ours.delete(name);
    return done.uncordoned;
  }
}

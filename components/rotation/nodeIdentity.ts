/**
 * Pool nodes tracked by UID (issue 19 case 10). GKE auto-repair (and a manual `gcloud compute
 * instances delete` + the managed instance group) re-creates a node under the SAME name: the Node
 * object is new — a new metadata.uid, `spec.unschedulable` unset, no cordon annotation — and the
 * scheduler places pods on it at once. A drain that knows its nodes by name only takes it for the node
 * it already cordoned and reports success with a schedulable old-pool node. The drain keeps each pool
 * node's UID and cordons and drains a node whose UID changed, as it does a node that joined.
 */
import type { V1Node } from "@kubernetes/client-node";

/** What a node seen on the pool's node watch is to the drain. */
export type NodeSighting =
  /** Same name, same UID: nothing new. */
  | { kind: "known" }
  /** A name the drain has not seen on the pool: it joined (autoscaler, resize). */
  | { kind: "joined" }
  /** A known name with a new UID: the node was deleted and created again. */
  | { kind: "recreated"; previousUid: string };

/** Pool nodes by name -> UID. Invariant: holds the UID of the last Node object seen under each name. */
export class NodeBook {
  private readonly uids = new Map<string, string>();

  /** Starts from the pool's nodes at the beginning of the drain. */
  constructor(nodes: Iterable<V1Node> = []) {
    for (const n of nodes) this.see(n);
  }

  /** Records a node and says what it is; a node without a name is "known" (ignored). */
  see(node: V1Node): NodeSighting {
    const name = node.metadata?.name;
    const uid = node.metadata?.uid ?? "";
    if (!name) return { kind: "known" };
    const before = this.uids.get(name);
    this.uids.set(name, uid);
    if (before === undefined) return { kind: "joined" };
    if (uid && before && before !== uid) return { kind: "recreated", previousUid: before };
    return { kind: "known" };
  }

  /** The UID last seen for a node name. */
  uid(name: string): string | undefined {
    return this.uids.get(name);
  }

  /** Names of every node seen. */
  names(): string[] {
    return [...this.uids.keys()];
  }
}

/** The progress line for a re-created node. */
export function recreatedLine(name: string, previousUid: string, uid: string | undefined): string {
  return `node ${name} was re-created (uid ${previousUid} -> ${uid ?? "?"}, e.g. GKE auto-repair): the new node is schedulable; cordoning and draining it again`;
}

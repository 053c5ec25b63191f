/**
 * Simulator endpoints that happen to nodes outside the API (GKE and VM events):
 *  - POST /simulator/nodes/NAME/recreate: GKE node auto-repair (or any VM re-creation) — the Node is
 *    deleted, its pods go with the VM (pod GC), and it registers again under the same name with a
 *    new uid, not cordoned (Cluster.recreateNode). Answers `{node, oldUid, uid}`.
 *  - POST /simulator/nodes/NAME/kubelet `{"dead": true|false}`: stops (or restarts) the node's
 *    kubelet, the same as the Node annotation simulator.nodepool-rotation.io/kubelet: dead
 *    (kubelet.ts: NotReady/Unknown, unreachable taints, pods not Ready, deleted pods stay Terminating).
 */
import type { Cluster } from "./cluster";
import { ANN } from "./model";
import { notFound, StoreError } from "./store";
import { Obj } from "./util";

/** Handles /simulator/nodes/... (`undefined` when the path is not one of these endpoints). */
export function nodeEndpoint(cluster: Cluster, method: string, path: string, body: Obj | undefined): { code: number; body: Obj } | undefined {
  const m = /^\/simulator\/nodes\/([^/]+)\/(recreate|kubelet)$/.exec(path);
  if (!m || method !== "POST") return undefined;
  const name = decodeURIComponent(m[1]);
  const old = cluster.store.peek("nodes", name);
  if (!old) throw notFound("nodes", name);
  if (m[2] === "recreate") {
    const fresh = cluster.recreateNode(name);
    return { code: 200, body: { node: name, oldUid: old.metadata.uid, uid: fresh.metadata.uid } };
  }
  if (typeof body?.dead !== "boolean") throw new StoreError(400, "BadRequest", `body.dead must be true or false (got ${JSON.stringify(body?.dead)}), e.g. {"dead": true}`);
  const dead = body.dead;
  const after = cluster.store.mutate("nodes", name, (n) => {
    const annotations = { ...(n.metadata.annotations ?? {}) };
    if (dead) annotations[ANN.kubelet] = "dead";
    else delete annotations[ANN.kubelet];
    n.metadata.annotations = annotations;
  });
  return { code: 200, body: { node: name, kubelet: dead ? "dead" : "running", uid: after?.metadata.uid } };
}

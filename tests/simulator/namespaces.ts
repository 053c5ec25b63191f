/**
 * Namespace lifecycle, as kube-apiserver and kube-controller-manager do it:
 *  - NamespaceLifecycle admission (plugin/pkg/admission/namespace/lifecycle/admission.go, Admit):
 *    every create in a namespace whose phase is Terminating — including subresource creates such as
 *    pods/eviction — is refused with admission.NewForbidden (staging/src/k8s.io/apiserver/pkg/admission/
 *    errors.go → apierrors.NewForbidden): 403, reason Forbidden, message
 *    `<resource> "<name>" is forbidden: unable to create new content in namespace <ns> because it is
 *    being terminated`, details.causes[0] = {reason: NamespaceTerminating, message: "namespace <ns> is
 *    being terminated", field: metadata.namespace} (StatusCause.Type is serialized as "reason").
 *  - DELETE of a namespace (pkg/registry/core/namespace/storage, Delete): the namespace has the
 *    `kubernetes` finalizer, so it gets a deletionTimestamp and status.phase Terminating.
 *  - The namespace controller (pkg/controller/namespace/deletion/namespaced_resources_deleter.go,
 *    deleteAllContent): deletes every namespaced object, pods gracefully (their own grace period),
 *    then, once nothing is left (pods with finalizers or on a dead kubelet's node keep it waiting),
 *    removes the finalizer and the namespace goes.
 */
import type { Cluster } from "./cluster";
import { RESOURCES } from "./resources";
import { StoreError } from "./store";
import { nowIso, Obj, objKey } from "./util";

/** StatusCause type of the NamespaceLifecycle 403 (k8s.io/api/core/v1 NamespaceTerminatingCause). */
export const NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating";

/** Whether namespace `ns` is being deleted (phase Terminating). */
export function isTerminating(cluster: Cluster, ns: string): boolean {
  const n = cluster.store.peek("namespaces", ns);
  return !!n && (n.status?.phase === "Terminating" || !!n.metadata.deletionTimestamp);
}

/**
 * NamespaceLifecycle admission for a create of `plural` (group `group`) named `name` in `ns`: throws
 * the 403 the real plugin answers when the namespace is Terminating.
 */
export function admitCreate(cluster: Cluster, ns: string, plural: string, group: string, name: string): void {
  if (!isTerminating(cluster, ns)) return;
  const resource = group ? `${plural}.${group}` : plural;
  throw new StoreError(403, "Forbidden",
    `${resource} "${name || "Unknown"}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
    {
      name: name || "Unknown", ...(group ? { group } : {}), kind: plural,
      causes: [{ reason: NAMESPACE_TERMINATING_CAUSE, message: `namespace ${ns} is being terminated`, field: "metadata.namespace" }],
    });
}

/** Kinds the controller deletes first, so their controllers do not recreate what it deletes next. */
const OWNERS_FIRST = ["deployments", "statefulsets", "daemonsets", "jobs", "replicasets"];

/** The namespace controller (see the module comment). */
export class NamespaceController {
  constructor(private c: Cluster) {}

  /** DELETE of a namespace: marks it Terminating and deletes its content; it goes once empty. */
  delete(name: string): Obj | undefined {
    const ns = this.c.store.peek("namespaces", name);
    if (!ns) return undefined;
    const marked = ns.metadata.deletionTimestamp ? ns : this.c.store.mutate("namespaces", name, (n) => {
      n.metadata.deletionTimestamp = nowIso();
      n.metadata.deletionGracePeriodSeconds = 0;
      n.status = { ...(n.status ?? {}), phase: "Terminating" };
    });
    this.c.timers.soon(() => this.deleteContent(name));
    return marked;
  }

  private deleteContent(name: string): void {
    if (!this.c.store.peek("namespaces", name)) return;
    const namespaced = RESOURCES.filter((r) => r.namespaced).map((r) => r.plural);
    const order = [...OWNERS_FIRST, ...namespaced.filter((p) => !OWNERS_FIRST.includes(p))];
    for (const plural of order) {
      for (const o of this.c.store.list(plural, name)) {
        if (o.metadata.deletionTimestamp && plural !== "pods") continue;
        // deletecollection with default options: pods keep their own grace period
        this.c.deleteObject(plural, objKey(o), undefined, "controller");
      }
    }
    this.maybeFinish(name);
  }

  /** Called when an object of namespace `ns` is gone: a Terminating namespace with no content left goes. */
  maybeFinish(ns: string): void {
    if (!isTerminating(this.c, ns)) return;
    for (const r of RESOURCES) {
      if (r.namespaced && this.c.store.list(r.plural, ns).length > 0) return;
    }
    this.c.timers.soon(() => {
      const n = this.c.store.peek("namespaces", ns);
      if (!n?.metadata.deletionTimestamp) return;
      for (const r of RESOURCES) if (r.namespaced && this.c.store.list(r.plural, ns).length > 0) return;
      this.c.store.remove("namespaces", ns);
    });
  }
}

/**
 * POST pods/<name>/eviction, following kube-apiserver's pkg/registry/core/pod/storage/eviction.go
 * (EvictionREST.Create, canIgnorePDB, checkAndDecrement, createTooManyRequestsError):
 *  - pods that are Succeeded, Failed, Pending or already terminating are deleted without a budget check;
 *  - more than one matching PDB: 500 "This pod has more than one PodDisruptionBudget, ...";
 *  - an unready pod is deleted without decrementing when the policy is AlwaysAllow, or (IfHealthyBudget,
 *    the default) when currentHealthy >= desiredHealthy > 0;
 *  - stale status (observedGeneration < generation): 429 "... is still being processed by the server.";
 *  - disruptionsAllowed == 0: 429 "Cannot evict pod as it would violate the pod's disruption budget."
 *    with a DisruptionBudget cause "The disruption budget X needs N healthy pods and has M currently";
 *  - otherwise disruptionsAllowed is decremented and the pod recorded in status.disruptedPods at once
 *    (a successful eviction consumes budget immediately), the DisruptionTarget condition is added
 *    (reason EvictionByEvictionAPI) and the pod is deleted gracefully.
 * PDB matching ignores PDBs with an empty or nil selector, exactly as
 * getPodDisruptionBudgets does ("should match nothing, not everything").
 * Before all this, NamespaceLifecycle admission refuses the eviction (a create of pods/eviction) in
 * a Terminating namespace: 403 with cause NamespaceTerminating (namespaces.ts).
 * The PDB status write in checkAndDecrement (UpdateStatus) can conflict with another writer; the
 * server retries it (retry.RetryOnConflict with EvictionsRetry: 20 steps of 500 ms) and then answers
 * the last conflict: 409, reason Conflict, `Operation cannot be fulfilled on
 * poddisruptionbudgets.policy "<pdb>": the object has been modified; please apply your changes to the
 * latest version and try again`, details {name, group: policy, kind: poddisruptionbudgets}
 * (kubernetes/kubernetes#37605 shows that body). The pod is NOT evicted. The simulator is single
 * threaded, so this happens only when a test asks for it (faults pdbConflicts / pdbConflictRate),
 * and it answers at once instead of after ~10 s of retries. Unlike the 409 about the pod itself
 * (UID or resourceVersion precondition: kind Pod), its details name the PDB.
 */
import { Cluster } from "./cluster";
import { admitCreate } from "./namespaces";
import { conflict, StoreError, notFound } from "./store";
import { isPodReady, matchesLabelSelector, nowIso, Obj, setCondition } from "./util";

export interface EvictionResult { code: number; body: Obj }

const MaxDisruptedPodSize = 2000;

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

function tooManyRequests(message: string, retryAfterSeconds: number, cause: string): EvictionResult {
  return {
    code: 429,
    body: status(429, "TooManyRequests", message, { causes: [{ reason: "DisruptionBudget", message: cause }], ...(retryAfterSeconds ? { retryAfterSeconds } : {}) }),
  };
}

function createTooManyRequestsError(pdbName: string): EvictionResult {
  return tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10, `The disruption budget ${pdbName} is still being processed by the server.`);
}

/**
 * DeleteOptions preconditions, as rest.BeforeDelete checks them
 * (staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go): 409 Conflict on the object's kind
 * (`Operation cannot be fulfilled on Pod "x": the UID in the precondition (...) does not match ...`).
 */
export function preconditionsHold(pre: Obj | undefined, o: Obj, kind: string, group = ""): void {
  const what = group ? `${kind}.${group}` : kind;
  const name = o.metadata.name;
  const details = { name, ...(group ? { group } : {}), kind };
  if (pre?.uid && pre.uid !== o.metadata.uid) {
    throw new StoreError(409, "Conflict", `Operation cannot be fulfilled on ${what} "${name}": the UID in the precondition (${pre.uid}) does not match the UID in record (${o.metadata.uid}). The object might have been deleted and then recreated`, details);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== o.metadata.resourceVersion) {
    throw new StoreError(409, "Conflict", `Operation cannot be fulfilled on ${what} "${name}": the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${o.metadata.resourceVersion}). The object might have been modified`, details);
  }
}

function canIgnorePDB(pod: Obj): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed" || phase === "Pending" || !!pod.metadata.deletionTimestamp;
}

/**
 * Evicts ns/name. `body` is the policy/v1 (or v1beta1) Eviction object. `pdbUpdateConflicts`, asked
 * once per eviction that reaches the PDB status write, says whether that write loses every retry.
 */
export function evict(cluster: Cluster, ns: string, name: string, body: Obj, dryRun: boolean, pdbUpdateConflicts: () => boolean = () => false): EvictionResult {
  const store = cluster.store;
  if (!body || (body.kind && body.kind !== "Eviction")) throw new StoreError(400, "BadRequest", `not a Eviction object: ${body?.kind}`);
  admitCreate(cluster, ns, "pods", "", body.metadata?.name ?? "");
  if (body.metadata?.name !== name) throw new StoreError(400, "BadRequest", "name in URL does not match name in Eviction object");
  const opts: Obj = body.deleteOptions ?? {};
  const key = `${ns}/${name}`;
  const pod = store.peek("pods", key);
  if (!pod) throw notFound("pods", name);
  // addConditionAndDeletePod / rest.BeforeDelete: the 409 about the pod names the kind "Pod"
  preconditionsHold(opts.preconditions, pod, "Pod");
  const grace: number | undefined = opts.gracePeriodSeconds ?? undefined;
  const success = (): EvictionResult => ({ code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } });

  const doDelete = () => {
    if (dryRun) return;
    cluster.recorder.evictions++;
    // addConditionAndDeletePod: DisruptionTarget before the delete (not for terminal pods)
    if (!pod.metadata.deletionTimestamp && pod.status?.phase !== "Succeeded" && pod.status?.phase !== "Failed") {
      store.mutate("pods", key, (p) => {
        p.status = p.status ?? {};
        p.status.conditions = p.status.conditions ?? [];
        setCondition(p.status.conditions, { type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI", message: "Eviction API: evicting", lastProbeTime: null, lastTransitionTime: nowIso() });
      });
    }
    cluster.deletePod(key, grace, "eviction");
  };

  if (canIgnorePDB(pod)) {
    doDelete();
    return success();
  }

  // getPodDisruptionBudgets: every PDB of the namespace whose (non-empty) selector matches the pod labels
  const pdbs = store.list("poddisruptionbudgets", ns).filter((p) => {
    const sel = p.spec?.selector;
    const empty = !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && !(sel.matchExpressions?.length));
    return !empty && matchesLabelSelector(sel, pod.metadata.labels);
  });
  if (pdbs.length > 1) {
    return { code: 500, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.", code: 500 } };
  }
  if (pdbs.length === 1) {
    const pdb = pdbs[0];
    const pdbName = pdb.metadata.name;
    const stats = cluster.recorder.pdb(`${ns}/${pdbName}`);
    const st = pdb.status ?? {};
    let decrement = true;
    if (!isPodReady(pod)) {
      if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") decrement = false;
      else if ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0) decrement = false;
    }
    if (decrement) {
      // checkAndDecrement
      if ((st.observedGeneration ?? 0) < (pdb.metadata.generation ?? 1)) {
        stats.rejected++;
        return createTooManyRequestsError(pdbName);
      }
      if ((st.disruptionsAllowed ?? 0) < 0) {
        throw new StoreError(403, "Forbidden", `poddisruptionbudget.policy "${pdbName}" is forbidden: pdb disruptions allowed is negative`, { name: pdbName, group: "policy", kind: "poddisruptionbudget" });
      }
      if (Object.keys(st.disruptedPods ?? {}).length > MaxDisruptedPodSize) {
        throw new StoreError(403, "Forbidden", `poddisruptionbudget.policy "${pdbName}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, { name: pdbName, group: "policy", kind: "poddisruptionbudget" });
      }
      if ((st.disruptionsAllowed ?? 0) === 0) {
        stats.rejected++;
        return tooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0,
          `The disruption budget ${pdbName} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);
      }
      if (!dryRun && pdbUpdateConflicts()) {
        throw conflict("poddisruptionbudgets", pdbName, "policy");
      }
      if (!dryRun) {
        store.mutate("poddisruptionbudgets", `${ns}/${pdbName}`, (p) => {
          p.status.disruptionsAllowed--;
          if (p.status.disruptionsAllowed === 0) {
            p.status.conditions = p.status.conditions ?? [];
            setCondition(p.status.conditions, { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: p.metadata.generation, lastTransitionTime: nowIso() });
          }
          p.status.disruptedPods = { ...(p.status.disruptedPods ?? {}), [name]: new Date().toISOString() };
        });
      }
    }
    if (!dryRun) stats.allowed++;
  }
  doDelete();
  return success();
}

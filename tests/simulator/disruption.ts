/**
 * The disruption controller: keeps each PDB's status (currentHealthy, desiredHealthy,
 * disruptionsAllowed, expectedPods, observedGeneration, disruptedPods, DisruptionAllowed) as
 * pkg/controller/disruption does, with an index of which pods each PDB selects.
 */
import type { Cluster } from "./cluster";
import { ANN } from "./model";
import {
  clone, controllerRef, isPodReady, isTerminal, matchesLabelSelector, nowIso, Obj, objKey, scaledValue, setCondition,
} from "./util";

export class DisruptionController {
  private pdbPods = new Map<string, Set<string>>();
  private podPdbs = new Map<string, Set<string>>();

  constructor(private c: Cluster) {}

  /** policy/v1: an empty selector selects every pod of the namespace; a nil one selects none. */
  private pdbSelects(pdb: Obj, pod: Obj): boolean {
    return !!pdb.spec?.selector && matchesLabelSelector(pdb.spec.selector, pod.metadata.labels, true);
  }

  updatePdbMembership(key: string, pod: Obj | undefined): void {
    const before = this.podPdbs.get(key) ?? new Set<string>();
    const after = new Set<string>();
    if (pod) for (const pdb of this.c.store.list("poddisruptionbudgets", pod.metadata.namespace)) if (this.pdbSelects(pdb, pod)) after.add(objKey(pdb));
    for (const k of before) if (!after.has(k)) this.pdbPods.get(k)?.delete(key);
    for (const k of after) {
      if (!this.pdbPods.has(k)) this.pdbPods.set(k, new Set());
      this.pdbPods.get(k)!.add(key);
    }
    if (after.size) this.podPdbs.set(key, after); else this.podPdbs.delete(key);
    for (const k of new Set([...before, ...after])) this.c.enqueue("pdbs", k);
  }

  rebuildPdbMembership(pdbKey: string, pdb: Obj | undefined): void {
    for (const podKey of this.pdbPods.get(pdbKey) ?? []) this.podPdbs.get(podKey)?.delete(pdbKey);
    this.pdbPods.delete(pdbKey);
    if (!pdb) return;
    const set = new Set<string>();
    for (const pod of this.c.store.list("pods", pdb.metadata.namespace)) {
      if (!this.pdbSelects(pdb, pod)) continue;
      const k = objKey(pod);
      set.add(k);
      if (!this.podPdbs.has(k)) this.podPdbs.set(k, new Set());
      this.podPdbs.get(k)!.add(pdbKey);
    }
    this.pdbPods.set(pdbKey, set);
  }

  /** Pods a PDB selects (stored objects). */
  pdbPodList(pdbKey: string): Obj[] {
    return [...(this.pdbPods.get(pdbKey) ?? [])].map((k) => this.c.store.peek("pods", k)!).filter(Boolean);
  }

  /** PDBs (stored objects) that select a pod, per the disruption controller's view. */
  pdbsForPod(podKey: string): Obj[] {
    return [...(this.podPdbs.get(podKey) ?? [])].map((k) => this.c.store.peek("poddisruptionbudgets", k)!).filter(Boolean);
  }

  /**
   * Expected scale from the pods' controllers, as getExpectedScale does: the sum of the scales of the
   * distinct controllers (Deployment via its ReplicaSet, ReplicaSet, StatefulSet); pods without a
   * controller are skipped (the real controller records an UnmanagedPods event and goes on, since
   * 1.27); a controller kind without a scale subresource, or a controller that is gone, is an error
   * (the PDB then fails safe: SyncFailed, nothing allowed).
   */
  private expectedScale(pods: Obj[]): number | string {
    const seen = new Map<string, number>();
    const refsSeen = new Set<string>();
    for (const p of pods) {
      const ref = controllerRef(p);
      if (!ref) continue;
      if (refsSeen.has(ref.uid)) continue;
      refsSeen.add(ref.uid);
      const ns = p.metadata.namespace;
      let owner: Obj | undefined;
      if (ref.kind === "ReplicaSet") {
        const rs = this.c.store.peek("replicasets", `${ns}/${ref.name}`);
        const dref = rs && controllerRef(rs);
        owner = dref?.kind === "Deployment" ? this.c.store.peek("deployments", `${ns}/${dref.name}`) : rs;
      } else if (ref.kind === "StatefulSet") {
        owner = this.c.store.peek("statefulsets", `${ns}/${ref.name}`);
      } else {
        // getScaleController: "<resource>.<group> does not implement the scale subresource"
        const gr = ({ DaemonSet: "daemonsets.apps", Job: "jobs.batch" } as Record<string, string>)[ref.kind] ?? `${ref.kind.toLowerCase()}s`;
        return `${gr} does not implement the scale subresource`;
      }
      // finders compare uids: a same-name controller that replaced the pod's is not its controller
      const direct = ref.kind === "StatefulSet" ? owner : this.c.store.peek("replicasets", `${ns}/${ref.name}`);
      if (!owner || direct?.metadata.uid !== ref.uid) return `found no controllers for pod "${p.metadata.name}"`;
      seen.set(owner.metadata.uid, owner.spec?.replicas ?? 1);
    }
    let n = 0;
    for (const v of seen.values()) n += v;
    return n;
  }

  /**
   * trySync + getExpectedPodCount (pkg/controller/disruption/disruption.go): maxUnavailable (integer
   * or percentage) and a percentage minAvailable take the expected count from the controllers'
   * scale (expectedScale); an integer minAvailable takes it from the pods the controller sees at that
   * moment (terminating ones included, a deleted one not) — so `expectedPods` dips while a
   * StatefulSet recreates an evicted pod. healthy = Ready pods not being deleted and not in
   * disruptedPods (countHealthyPods); disruptionsAllowed = max(0, healthy - desired), 0 when
   * expected <= 0. On an error, failSafe keeps the last status and sets only disruptionsAllowed 0
   * and DisruptionAllowed=False/SyncFailed.
   */
  syncPdb(key: string): void {
    const pdb = this.c.store.peek("poddisruptionbudgets", key);
    if (!pdb) return;
    if (pdb.metadata.annotations?.[ANN.freezeStatus] === "true") return;
    const pods = this.pdbPodList(key);
    let expected = 0;
    let desired = 0;
    let failure: string | undefined;
    const spec = pdb.spec ?? {};
    if (typeof spec.minAvailable === "number") {
      expected = pods.length;
      desired = spec.minAvailable;
    }
    const scale = pods.length === 0 ? 0 : this.expectedScale(pods);
    if (typeof spec.minAvailable !== "number") {
      if (typeof scale === "string") {
        failure = scale;
        expected = 0;
        desired = 0;
      } else {
        expected = scale;
        if (spec.minAvailable !== undefined && spec.minAvailable !== null) desired = scaledValue(spec.minAvailable, expected, true);
        else if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) desired = Math.max(0, expected - scaledValue(spec.maxUnavailable, expected, true));
        else desired = 0;
      }
    }
    // DisruptedPods entries are dropped once the pod is gone or terminating
    const disrupted: Record<string, string> = { ...(pdb.status?.disruptedPods ?? {}) };
    for (const name of Object.keys(disrupted)) {
      const p = this.c.store.peek("pods", `${pdb.metadata.namespace}/${name}`);
      if (!p || p.metadata.deletionTimestamp || Date.now() - Date.parse(disrupted[name]) > 120_000) delete disrupted[name];
    }
    const healthy = pods.filter((p) => isPodReady(p) && !p.metadata.deletionTimestamp && !disrupted[p.metadata.name]).length;
    const conds: Obj[] = clone(pdb.status?.conditions ?? []);
    let allowed: number;
    if (failure) {
      allowed = 0;
      setCondition(conds, { type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message: failure, observedGeneration: pdb.status?.observedGeneration ?? 0, lastTransitionTime: nowIso() });
    } else {
      allowed = expected <= 0 || healthy - desired <= 0 ? 0 : healthy - desired;
      setCondition(conds, allowed > 0
        ? { type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "", observedGeneration: pdb.metadata.generation, lastTransitionTime: nowIso() }
        : { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: pdb.metadata.generation, lastTransitionTime: nowIso() });
    }
    const status: Obj = failure
      ? { ...clone(pdb.status ?? {}), observedGeneration: pdb.status?.observedGeneration ?? 0, disruptionsAllowed: 0, conditions: conds }
      : {
        observedGeneration: pdb.metadata.generation,
        ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
        disruptionsAllowed: allowed, currentHealthy: healthy, desiredHealthy: desired, expectedPods: expected, conditions: conds,
      };
    if (JSON.stringify(status) !== JSON.stringify(pdb.status ?? {})) this.c.store.mutate("poddisruptionbudgets", key, (x) => { x.status = status; });
    // concurrent disruptions = the controllers' desired scale minus healthy pods (live pods without controllers)
    const live = pods.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p)).length;
    this.c.recorder.onPdbStatus(key, typeof scale === "number" ? scale : live, healthy);
  }
}

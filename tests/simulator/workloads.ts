/**
 * Workload controllers: Deployment (RollingUpdate/Recreate over ReplicaSets named by
 * pod-template-hash), ReplicaSet, StatefulSet (ordinal names, OrderedReady/Parallel), DaemonSet
 * (one pod per matching node, cordoned ones included) and Job. Each sync reads the owner's pods
 * through the owner index and writes status only when it changed.
 */
import type { Cluster } from "./cluster";
import { defaultPod } from "./kubelet";
import {
  clone, controllerRef, isPodReady, isTerminal, nodeMatchesPod, nowIso, Obj, objKey, pinnedNodeName, randSuffix, scaledValue, setCondition, shortHash, toleratesNode,
} from "./util";

/** DaemonSet pods get these tolerations added by the controller (pkg/controller/daemon/util). */
/** DaemonSet pods get these tolerations added by the controller (pkg/controller/daemon/util). */
const DAEMON_TOLERATIONS = [
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
  { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
  { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

export class WorkloadControllers {
  /** Job controller: uids of pods counted as succeeded/failed, per Job uid. */
  private jobDone = new Map<string, { succeeded: Set<string>; failed: Set<string> }>();

  constructor(private c: Cluster) {}

  private ownedPods(owner: Obj): Obj[] {
    return this.c.store.dependents(owner.metadata.uid, "pods").map((d) => d.obj).filter((p) => controllerRef(p)?.uid === owner.metadata.uid);
  }

  private ownerRef(o: Obj): Obj {
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true };
  }

  private newPodFromTemplate(owner: Obj, name: string | undefined, generateName: string | undefined, extraLabels: Record<string, string> = {}): Obj {
    const t = clone(owner.spec.template ?? {});
    const pod: Obj = {
      metadata: {
        ...(name ? { name } : { name: `${generateName}${randSuffix()}`, generateName }),
        namespace: owner.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}), ...extraLabels },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [this.ownerRef(owner)],
      },
      spec: t.spec ?? {},
    };
    return defaultPod(pod);
  }

  syncReplicaSet(key: string): void {
    const rs = this.c.store.peek("replicasets", key);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = this.ownedPods(rs);
    const active = pods.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const want = rs.spec?.replicas ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) {
        this.c.store.create("pods", this.newPodFromTemplate(rs, undefined, `${rs.metadata.name}-`));
      }
    } else if (active.length > want) {
      // controller.ActivePods ordering: unassigned < assigned, pending < running, not ready < ready, newer first
      const rank = (p: Obj) => (p.spec?.nodeName ? 1 : 0) * 4 + (p.status?.phase === "Running" ? 1 : 0) * 2 + (isPodReady(p) ? 1 : 0);
      active.sort((a, b) => rank(a) - rank(b) || (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""));
      for (const p of active.slice(0, active.length - want)) this.c.deletePod(objKey(p), undefined, "controller");
    }
    const now = this.ownedPods(rs).filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const ready = now.filter(isPodReady).length;
    const status = {
      replicas: now.length, fullyLabeledReplicas: now.length, readyReplicas: ready, availableReplicas: ready,
      terminatingReplicas: pods.filter((p) => p.metadata.deletionTimestamp).length,
      observedGeneration: rs.metadata.generation,
    };
    this.writeStatus("replicasets", key, status);
  }

  /** Writes status if it changed (avoids event storms). */
  private writeStatus(plural: string, key: string, status: Obj): void {
    const o = this.c.store.peek(plural, key);
    if (!o) return;
    const merged = { ...(o.status ?? {}), ...status };
    if (JSON.stringify(merged) === JSON.stringify(o.status ?? {})) return;
    this.c.store.mutate(plural, key, (x) => { x.status = merged; });
  }

  syncDeployment(key: string): void {
    const d = this.c.store.peek("deployments", key);
    if (!d) return;
    const desired = d.spec?.replicas ?? 1;
    const hash = shortHash(JSON.stringify(d.spec?.template ?? {}));
    const owned = this.c.store.dependents(d.metadata.uid, "replicasets").map((x) => x.obj).filter((r) => controllerRef(r)?.uid === d.metadata.uid);
    let newRs = owned.find((r) => r.metadata.labels?.["pod-template-hash"] === hash);
    const olds = owned.filter((r) => r !== newRs).sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
    const revision = Math.max(0, ...owned.map((r) => Number(r.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? 0)));
    if (!newRs) {
      const t = clone(d.spec.template ?? {});
      t.metadata = t.metadata ?? {};
      t.metadata.labels = { ...(t.metadata.labels ?? {}), "pod-template-hash": hash };
      const initial = olds.length === 0 ? desired : 0;
      newRs = this.c.store.create("replicasets", {
        metadata: {
          name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: t.metadata.labels,
          annotations: { "deployment.kubernetes.io/revision": String(revision + 1), "deployment.kubernetes.io/desired-replicas": String(desired) },
          ownerReferences: [this.ownerRef(d)],
        },
        spec: {
          replicas: initial,
          selector: { ...(d.spec.selector ?? {}), matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), "pod-template-hash": hash } },
          template: t,
        },
      });
    }
    const setReplicas = (rs: Obj, n: number) => {
      if ((rs.spec?.replicas ?? 1) === n) return;
      this.c.store.mutate("replicasets", objKey(rs), (x) => { x.spec.replicas = n; });
    };
    if (d.spec?.paused) {
      // paused: nothing rolls
    } else if (d.spec?.strategy?.type === "Recreate") {
      for (const o of olds) setReplicas(o, 0);
      const oldPods = olds.reduce((n, o) => n + this.ownedPods(o).length, 0);
      if (oldPods === 0) setReplicas(newRs, desired);
    } else if (olds.every((o) => (o.spec?.replicas ?? 0) === 0 && (o.status?.replicas ?? 0) === 0)) {
      setReplicas(newRs, desired);
    } else {
      const ru = d.spec?.strategy?.rollingUpdate ?? {};
      let surge = scaledValue(ru.maxSurge ?? "25%", desired, true);
      let unavail = scaledValue(ru.maxUnavailable ?? "25%", desired, false);
      if (surge === 0 && unavail === 0) unavail = 1;
      const all = [newRs, ...olds];
      const total = all.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0);
      const newWant = Math.min(desired, (newRs.spec?.replicas ?? 0) + Math.max(0, desired + surge - total));
      setReplicas(newRs, Math.max(newRs.spec?.replicas ?? 0, newWant));
      const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
      let canRemove = available - (desired - unavail);
      for (const o of olds) {
        const cur = o.spec?.replicas ?? 0;
        if (cur === 0) continue;
        const unhealthy = Math.max(0, cur - (o.status?.availableReplicas ?? 0));
        const r = Math.min(cur, unhealthy + Math.max(0, canRemove));
        canRemove -= Math.max(0, r - unhealthy);
        setReplicas(o, cur - r);
      }
    }
    const cur = this.c.store.peek("replicasets", objKey(newRs)) ?? newRs;
    const all = [cur, ...olds.map((o) => this.c.store.peek("replicasets", objKey(o)) ?? o)];
    const replicas = all.reduce((n, r) => n + (r.status?.replicas ?? 0), 0);
    const ready = all.reduce((n, r) => n + (r.status?.readyReplicas ?? 0), 0);
    const available = all.reduce((n, r) => n + (r.status?.availableReplicas ?? 0), 0);
    const ru = d.spec?.strategy?.rollingUpdate ?? {};
    const minAvail = desired - scaledValue(ru.maxUnavailable ?? "25%", desired, false);
    const conds: Obj[] = clone(d.status?.conditions ?? []);
    setCondition(conds, available >= minAvail
      ? { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", lastUpdateTime: nowIso(), lastTransitionTime: nowIso() }
      : { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", lastUpdateTime: nowIso(), lastTransitionTime: nowIso() });
    const complete = (cur.status?.replicas ?? 0) === desired && replicas === desired && available === desired;
    setCondition(conds, { type: "Progressing", status: "True", reason: complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
      message: complete ? `ReplicaSet "${cur.metadata.name}" has successfully progressed.` : `ReplicaSet "${cur.metadata.name}" is progressing.`,
      lastUpdateTime: nowIso(), lastTransitionTime: nowIso() });
    this.writeStatus("deployments", key, {
      observedGeneration: d.metadata.generation, replicas, updatedReplicas: cur.status?.replicas ?? 0, readyReplicas: ready,
      availableReplicas: available, ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}), conditions: conds,
    });
  }

  syncStatefulSet(key: string): void {
    const s = this.c.store.peek("statefulsets", key);
    if (!s) return;
    const want = s.spec?.replicas ?? 1;
    const revision = `${s.metadata.name}-${shortHash(JSON.stringify(s.spec?.template ?? {}))}`;
    const parallel = s.spec?.podManagementPolicy === "Parallel";
    const pods = this.ownedPods(s);
    const byOrdinal = new Map<number, Obj>();
    for (const p of pods) {
      const m = /-(\d+)$/.exec(p.metadata.name);
      if (m) byOrdinal.set(Number(m[1]), p);
    }
    const healthy = (p: Obj | undefined) => !!p && !p.metadata.deletionTimestamp && p.status?.phase === "Running" && isPodReady(p);
    // create missing ordinals (OrderedReady: one at a time, after all lower ordinals are Running and Ready)
    for (let i = 0; i < want; i++) {
      const p = byOrdinal.get(i);
      if (p) {
        if (isTerminal(p) && !p.metadata.deletionTimestamp) this.c.deletePod(objKey(p), 0, "controller");
        if (!parallel && !healthy(p)) break;
        continue;
      }
      const name = `${s.metadata.name}-${i}`;
      if (this.c.store.peek("pods", `${s.metadata.namespace}/${name}`)) { if (!parallel) break; continue; }
      const pod = this.newPodFromTemplate(s, name, undefined, { "statefulset.kubernetes.io/pod-name": name, "controller-revision-hash": revision, "apps.kubernetes.io/pod-index": String(i) });
      pod.spec.hostname = name;
      if (s.spec?.serviceName) pod.spec.subdomain = s.spec.serviceName;
      this.c.volumes.claimTemplatesFor(s, pod);
      this.c.store.create("pods", pod);
      if (!parallel) break;
    }
    // scale down: highest ordinal first
    const extra = [...byOrdinal.entries()].filter(([i, p]) => i >= want && !p.metadata.deletionTimestamp).sort((a, b) => b[0] - a[0]);
    for (const [, p] of parallel ? extra : extra.slice(0, 1)) this.c.deletePod(objKey(p), undefined, "controller");
    // rolling update: replace the highest outdated pod once all are healthy
    const inRange = [...byOrdinal.entries()].filter(([i]) => i < want);
    if (inRange.length === want && inRange.every(([, p]) => healthy(p))) {
      const outdated = inRange.filter(([, p]) => p.metadata.labels?.["controller-revision-hash"] !== revision).sort((a, b) => b[0] - a[0]);
      if (outdated.length && s.spec?.updateStrategy?.type !== "OnDelete") this.c.deletePod(objKey(outdated[0][1]), undefined, "controller");
    }
    const live = this.ownedPods(s).filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const ready = live.filter(isPodReady).length;
    const updated = live.filter((p) => p.metadata.labels?.["controller-revision-hash"] === revision).length;
    this.writeStatus("statefulsets", key, {
      observedGeneration: s.metadata.generation, replicas: live.length, readyReplicas: ready, availableReplicas: ready,
      currentReplicas: updated, updatedReplicas: updated, currentRevision: revision, updateRevision: revision,
    });
  }

  syncDaemonSet(key: string): void {
    const ds = this.c.store.peek("daemonsets", key);
    if (!ds) return;
    const tspec = ds.spec?.template?.spec ?? {};
    const tolerations = [...(tspec.tolerations ?? []), ...DAEMON_TOLERATIONS];
    const pods = this.ownedPods(ds);
    const byNode = new Map<string, Obj[]>();
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      const n = p.spec?.nodeName ?? pinnedNodeName(p.spec ?? {});
      if (!n) continue;
      if (!byNode.has(n)) byNode.set(n, []);
      byNode.get(n)!.push(p);
    }
    const hash = shortHash(JSON.stringify(ds.spec?.template ?? {}));
    let desired = 0;
    const wanted = new Set<string>();
    for (const node of this.c.store.list("nodes")) {
      const name = node.metadata.name;
      // a node "should run" the daemon pod if selector/affinity match and its taints are tolerated (cordoned included)
      if (!nodeMatchesPod(tspec, node) || !toleratesNode(tolerations, node)) continue;
      desired++;
      wanted.add(name);
      const existing = (byNode.get(name) ?? []).filter((p) => !isTerminal(p));
      for (const p of (byNode.get(name) ?? []).filter(isTerminal)) this.c.deletePod(objKey(p), 0, "controller");
      if (existing.length === 0) {
        const pod = this.newPodFromTemplate(ds, undefined, `${ds.metadata.name}-`, { "controller-revision-hash": hash, "pod-template-generation": String(ds.metadata.generation) });
        pod.spec.tolerations = tolerations;
        pod.spec.affinity = {
          ...(pod.spec.affinity ?? {}),
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [name] }] }] } },
        };
        this.c.store.create("pods", pod);
      } else if (existing.length > 1) {
        for (const p of existing.slice(1)) this.c.deletePod(objKey(p), undefined, "controller");
      } else if (existing[0].metadata.labels?.["controller-revision-hash"] !== hash && ds.spec?.updateStrategy?.type !== "OnDelete" && isPodReady(existing[0])) {
        this.c.deletePod(objKey(existing[0]), undefined, "controller");
      }
    }
    for (const [n, ps] of byNode) if (!wanted.has(n)) for (const p of ps) this.c.deletePod(objKey(p), undefined, "controller");
    const live = this.ownedPods(ds).filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p) && p.spec?.nodeName && wanted.has(p.spec.nodeName));
    const ready = live.filter(isPodReady).length;
    this.writeStatus("daemonsets", key, {
      observedGeneration: ds.metadata.generation, desiredNumberScheduled: desired, currentNumberScheduled: live.length, numberMisscheduled: 0,
      numberReady: ready, numberAvailable: ready, updatedNumberScheduled: live.filter((p) => p.metadata.labels?.["controller-revision-hash"] === hash).length,
      ...(desired - ready > 0 ? { numberUnavailable: desired - ready } : {}),
    });
    this.c.recorder.onWorkloadObject("daemonsets", this.c.store.peek("daemonsets", key)!, false);
  }

  syncJob(key: string): void {
    const job = this.c.store.peek("jobs", key);
    if (!job) return;
    let done = this.jobDone.get(job.metadata.uid);
    if (!done) this.jobDone.set(job.metadata.uid, (done = { succeeded: new Set(), failed: new Set() }));
    const pods = this.ownedPods(job);
    for (const p of pods) {
      if (p.status?.phase === "Succeeded") done.succeeded.add(p.metadata.uid);
      if (p.status?.phase === "Failed") done.failed.add(p.metadata.uid);
    }
    const parallelism = job.spec?.parallelism ?? 1;
    const completions = job.spec?.completions ?? 1;
    const active = pods.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const finished = (job.status?.conditions ?? []).some((c: Obj) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
    if (!finished && !job.spec?.suspend) {
      const need = Math.min(parallelism, completions - done.succeeded.size) - active.length;
      for (let i = 0; i < need; i++) {
        const pod = this.newPodFromTemplate(job, undefined, `${job.metadata.name}-`, {
          "batch.kubernetes.io/controller-uid": job.metadata.uid, "batch.kubernetes.io/job-name": job.metadata.name,
          "controller-uid": job.metadata.uid, "job-name": job.metadata.name,
        });
        pod.spec.restartPolicy = pod.spec.restartPolicy === "Always" ? "Never" : pod.spec.restartPolicy;
        this.c.store.create("pods", pod);
      }
    }
    const conds: Obj[] = clone(job.status?.conditions ?? []);
    const status: Obj = {
      active: active.length, succeeded: done.succeeded.size, failed: done.failed.size,
      ready: active.filter(isPodReady).length, startTime: job.status?.startTime ?? nowIso(),
    };
    if (done.succeeded.size >= completions && !finished) {
      setCondition(conds, { type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastProbeTime: nowIso(), lastTransitionTime: nowIso() });
      setCondition(conds, { type: "Complete", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods", lastProbeTime: nowIso(), lastTransitionTime: nowIso() });
      status.completionTime = nowIso();
    }
    if (conds.length) status.conditions = conds;
    this.writeStatus("jobs", key, status);
  }
}

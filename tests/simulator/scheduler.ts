/**
 * The scheduler: binds pending pods to Ready nodes with room for their requests, honouring
 * nodeSelector, required node affinity, required pod anti-affinity, topology spread
 * (DoNotSchedule), taints and tolerations and cordons; otherwise PodScheduled=False/Unschedulable
 * with a message like kube-scheduler's. Picks the first feasible node round-robin (no scoring).
 */
import type { Cluster } from "./cluster";
import {
  isNodeReady, isTerminal, matchesLabelSelector, nodeMatchesPod, nowIso, Obj, parseQuantity, pinnedNodeName, podRequests, setCondition, tolerates, toleratesNode,
} from "./util";

interface NodeUsage { cpu: number; memory: number; pods: number }

export class Scheduler {
  private usage = new Map<string, NodeUsage>();
  private podUsage = new Map<string, { node: string; cpu: number; memory: number }>();
  private unschedulable = new Set<string>();
  private antiAffinityPods = new Set<string>();
  private nodeOrder: string[] = [];
  private nodeCursor = 0;

  constructor(private c: Cluster) {}

  /** Pod event: usage accounting, anti-affinity bookkeeping, queueing if unbound. */
  onPod(key: string, pod: Obj | undefined): void {
    this.accountPod(key, pod);
    if (pod?.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) this.antiAffinityPods.add(key);
    else this.antiAffinityPods.delete(key);
    if (pod && !pod.spec?.nodeName && !pod.metadata.deletionTimestamp) this.c.enqueue("schedule", key);
    if (!pod) this.unschedulable.delete(key);
  }

  /** Node event: keeps the node list and retries pods that did not fit. */
  onNode(type: "ADDED" | "MODIFIED" | "DELETED", name: string): void {
    if (type === "ADDED") this.nodeOrder.push(name);
    if (type === "DELETED") {
      this.nodeOrder = this.nodeOrder.filter((n) => n !== name);
      this.usage.delete(name);
    }
    this.retryUnschedulable();
  }

  /** Tracks a pod's resource usage on its node (pod undefined when deleted). */
  private accountPod(key: string, pod: Obj | undefined): void {
    const prev = this.podUsage.get(key);
    if (prev) {
      const u = this.usage.get(prev.node);
      if (u) { u.cpu -= prev.cpu; u.memory -= prev.memory; u.pods -= 1; }
      this.podUsage.delete(key);
      this.retryUnschedulable();
    }
    if (pod && pod.spec?.nodeName && !isTerminal(pod)) {
      const r = podRequests(pod);
      const node = pod.spec.nodeName;
      let u = this.usage.get(node);
      if (!u) this.usage.set(node, (u = { cpu: 0, memory: 0, pods: 0 }));
      u.cpu += r.cpu; u.memory += r.memory; u.pods += 1;
      this.podUsage.set(key, { node, cpu: r.cpu, memory: r.memory });
    }
  }

  retryUnschedulable(): void {
    for (const k of this.unschedulable) this.c.enqueue("schedule", k);
    this.unschedulable.clear();
  }

  /** Why `node` cannot run `pod`, or undefined if it fits (scheduler filter plugins, simplified). */
  private unfit(pod: Obj, req: { cpu: number; memory: number }, node: Obj): string | undefined {
    if (node.metadata.deletionTimestamp || !isNodeReady(node)) return "node(s) were not ready";
    if (node.spec?.unschedulable && !tolerates(pod.spec?.tolerations, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" })) {
      return "node(s) were unschedulable";
    }
    if (!nodeMatchesPod(pod.spec ?? {}, node)) return "node(s) didn't match Pod's node affinity/selector";
    if (!toleratesNode(pod.spec?.tolerations, node)) {
      const t = (node.spec?.taints ?? []).find((x: Obj) => x.effect !== "PreferNoSchedule" && !tolerates(pod.spec?.tolerations, x));
      return `node(s) had untolerated taint {${t.key}: ${t.value ?? ""}}`;
    }
    const anti = this.antiAffinityConflict(pod, node);
    if (anti) return anti;
    const alloc = node.status?.allocatable ?? {};
    const u = this.usage.get(node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
    if (u.pods + 1 > parseQuantity(alloc.pods ?? "110")) return "Too many pods";
    if (req.cpu > 0 && u.cpu + req.cpu > parseQuantity(alloc.cpu ?? "0") + 1e-9) return "Insufficient cpu";
    if (req.memory > 0 && u.memory + req.memory > parseQuantity(alloc.memory ?? "0")) return "Insufficient memory";
    return undefined;
  }

  /** Bound, unfinished pods on nodes whose label `key` equals `value` (a topology domain). */
  private podsInDomain(key: string, value: string): Obj[] {
    const out: Obj[] = [];
    for (const n of this.nodeOrder) {
      const node = this.c.store.peek("nodes", n);
      if (node?.metadata.labels?.[key] !== value) continue;
      for (const p of this.c.store.podsOnNode(n)) if (!isTerminal(p)) out.push(p);
    }
    return out;
  }

  /**
   * Required pod anti-affinity (InterPodAffinity filter), both ways: the incoming pod's terms against
   * pods already in the node's topology domain, and existing pods' terms against the incoming pod.
   * namespaceSelector is not supported (terms apply to `namespaces` or the pod's own namespace).
   */
  private antiAffinityConflict(pod: Obj, node: Obj): string | undefined {
    const labels = node.metadata.labels ?? {};
    const ns = pod.metadata.namespace;
    for (const t of pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      const value = labels[t.topologyKey];
      if (value === undefined) continue;
      const namespaces: string[] = t.namespaces?.length ? t.namespaces : [ns];
      for (const other of this.podsInDomain(t.topologyKey, value)) {
        if (namespaces.includes(other.metadata.namespace) && matchesLabelSelector(t.labelSelector, other.metadata.labels)) {
          return "node(s) didn't match pod anti-affinity rules";
        }
      }
    }
    for (const k of this.antiAffinityPods) {
      const other = this.c.store.peek("pods", k);
      if (!other?.spec?.nodeName || isTerminal(other)) continue;
      const otherNode = this.c.store.peek("nodes", other.spec.nodeName);
      for (const t of other.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const value = labels[t.topologyKey];
        if (value === undefined || otherNode?.metadata.labels?.[t.topologyKey] !== value) continue;
        const namespaces: string[] = t.namespaces?.length ? t.namespaces : [other.metadata.namespace];
        if (namespaces.includes(ns) && matchesLabelSelector(t.labelSelector, pod.metadata.labels)) return "node(s) didn't satisfy existing pods anti-affinity rules";
      }
    }
    return undefined;
  }

  /**
   * PodTopologySpread with whenUnsatisfiable DoNotSchedule: matching pods (same namespace, not
   * terminating) per topology domain over the nodes the pod may land on (nodeAffinityPolicy Honor,
   * nodeTaintsPolicy Ignore, the defaults). minDomains and matchLabelKeys are not supported.
   */
  private spreadCounts(pod: Obj): { key: string; maxSkew: number; counts: Map<string, number>; min: number }[] {
    const out: { key: string; maxSkew: number; counts: Map<string, number>; min: number }[] = [];
    for (const c of pod.spec?.topologySpreadConstraints ?? []) {
      if (c.whenUnsatisfiable !== "DoNotSchedule") continue;
      const counts = new Map<string, number>();
      for (const n of this.nodeOrder) {
        const node = this.c.store.peek("nodes", n);
        const value = node?.metadata.labels?.[c.topologyKey];
        if (value === undefined || !nodeMatchesPod(pod.spec ?? {}, node!)) continue;
        let k = counts.get(value) ?? 0;
        for (const p of this.c.store.podsOnNode(n)) {
          if (p.metadata.deletionTimestamp || isTerminal(p) || p.metadata.namespace !== pod.metadata.namespace) continue;
          if (matchesLabelSelector(c.labelSelector, p.metadata.labels)) k++;
        }
        counts.set(value, k);
      }
      out.push({ key: c.topologyKey, maxSkew: c.maxSkew ?? 1, counts, min: counts.size ? Math.min(...counts.values()) : 0 });
    }
    return out;
  }

  private spreadViolation(spread: ReturnType<Scheduler["spreadCounts"]>, node: Obj): string | undefined {
    for (const c of spread) {
      const value = node.metadata.labels?.[c.key];
      if (value === undefined) return "node(s) didn't match pod topology spread constraints (missing required label)";
      if ((c.counts.get(value) ?? 0) + 1 - c.min > c.maxSkew) return "node(s) didn't match pod topology spread constraints";
    }
    return undefined;
  }

  schedule(keys: Set<string>): void {
    for (const key of keys) {
      const pod = this.c.store.peek("pods", key);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) continue;
      if (pod.spec?.schedulerName && pod.spec.schedulerName !== "default-scheduler") continue;
      const req = podRequests(pod);
      const spread = this.spreadCounts(pod);
      let chosen: string | undefined;
      const reasons = new Map<string, number>();
      const pinned = pinnedNodeName(pod.spec ?? {});
      const candidates = pinned ? [pinned] : this.nodeOrder;
      const n = candidates.length;
      for (let i = 0; i < n; i++) {
        const idx = pinned ? 0 : (this.nodeCursor + i) % n;
        const node = this.c.store.peek("nodes", candidates[idx]);
        if (!node) { reasons.set("node(s) not found", (reasons.get("node(s) not found") ?? 0) + 1); continue; }
        const why = this.unfit(pod, req, node) ?? this.spreadViolation(spread, node);
        if (!why) {
          chosen = node.metadata.name;
          if (!pinned) this.nodeCursor = (idx + 1) % n;
          break;
        }
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      if (chosen) {
        this.c.store.mutate("pods", key, (p) => {
          p.spec.nodeName = chosen;
          p.status = p.status ?? {};
          p.status.conditions = p.status.conditions ?? [];
          setCondition(p.status.conditions, { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowIso() });
        });
      } else {
        this.unschedulable.add(key);
        const total = this.nodeOrder.length;
        const detail = [...reasons].sort().map(([r, c]) => `${c} ${r}`).join(", ");
        const message = `0/${total} nodes are available${detail ? `: ${detail}` : ""}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
        this.c.store.mutate("pods", key, (p) => {
          p.status = p.status ?? {};
          p.status.conditions = p.status.conditions ?? [];
          return setCondition(p.status.conditions, { type: "PodScheduled", status: "False", reason: "Unschedulable", message, lastProbeTime: null, lastTransitionTime: nowIso() });
        });
      }
    }
  }
}

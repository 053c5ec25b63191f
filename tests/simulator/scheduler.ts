/**
 * The scheduler: binds pending pods to Ready nodes with room for their requests, honouring
 * nodeSelector, required node affinity, required pod anti-affinity (any topologyKey, namespaces and
 * namespaceSelector), topology spread (spread.ts: DoNotSchedule with minDomains, matchLabelKeys and
 * the node inclusion policies; ScheduleAnyway as a preference), taints and tolerations and cordons;
 * otherwise PodScheduled=False/Unschedulable with a message like kube-scheduler's. Picks the first
 * feasible node round-robin, or the preferred one when the pod has ScheduleAnyway constraints.
 * Persistent volume claims go through the VolumeBinding plugin (volumes.ts). Cordoned nodes are
 * refused unless the pod tolerates node.kubernetes.io/unschedulable:NoSchedule (NodeUnschedulable
 * plugin, pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go: operator Exists
 * with that key or with no key, effect NoSchedule or empty).
 */
import type { Cluster } from "./cluster";
import { constraintsOf, spreadFilter, spreadScore, spreadState } from "./spread";
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
  /**
   * Round-robin cursors, one per node-selection signature (nodeSelector + node affinity): pods that
   * can only use some nodes rotate over those, instead of all piling onto the first of them when
   * pods of other selections moved a shared cursor elsewhere.
   */
  private cursors = new Map<string, number>();

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
  private unfit(pod: Obj, req: { cpu: number; memory: number }, node: Obj, blocked: Map<string, boolean>[]): string | undefined {
    if (node.metadata.deletionTimestamp || !isNodeReady(node)) return "node(s) were not ready";
    if (node.spec?.unschedulable && !tolerates(pod.spec?.tolerations, { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" })) {
      return "node(s) were unschedulable";
    }
    if (!nodeMatchesPod(pod.spec ?? {}, node)) return "node(s) didn't match Pod's node affinity/selector";
    if (!toleratesNode(pod.spec?.tolerations, node)) {
      const t = (node.spec?.taints ?? []).find((x: Obj) => x.effect !== "PreferNoSchedule" && !tolerates(pod.spec?.tolerations, x));
      return `node(s) had untolerated taint {${t.key}: ${t.value ?? ""}}`;
    }
    const anti = this.antiAffinityConflict(pod, node, blocked);
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
   * Whether an affinity term of a pod in `ownerNs` covers namespace `ns` (InterPodAffinity,
   * GetNamespacesFromPodAffinityTerm + namespaceSelector): the `namespaces` listed, those matching
   * `namespaceSelector` (`{}` = all), or, with neither, the owner's own namespace.
   */
  private termCovers(t: Obj, ownerNs: string, ns: string): boolean {
    const listed: string[] = t.namespaces ?? [];
    if (!listed.length && !t.namespaceSelector) return ns === ownerNs;
    if (listed.includes(ns)) return true;
    if (!t.namespaceSelector) return false;
    return matchesLabelSelector(t.namespaceSelector, this.c.store.peek("namespaces", ns)?.metadata.labels, true);
  }

  /**
   * Required pod anti-affinity (InterPodAffinity filter), both ways: the incoming pod's terms against
   * pods already in the node's topology domain (any topologyKey: hostname, zone, ...), and existing
   * pods' terms against the incoming pod. A node without the term's topologyKey satisfies it.
   * `blocked` caches, per term of the incoming pod, the domains holding a matching pod.
   */
  private antiAffinityConflict(pod: Obj, node: Obj, blocked: Map<string, boolean>[]): string | undefined {
    const labels = node.metadata.labels ?? {};
    const ns = pod.metadata.namespace;
    const terms: Obj[] = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i];
      const value = labels[t.topologyKey];
      if (value === undefined) continue;
      const cache = (blocked[i] ??= new Map());
      let hit = cache.get(value);
      if (hit === undefined) {
        hit = this.podsInDomain(t.topologyKey, value).some((other) => this.termCovers(t, ns, other.metadata.namespace) && matchesLabelSelector(t.labelSelector, other.metadata.labels));
        cache.set(value, hit);
      }
      if (hit) return "node(s) didn't match pod anti-affinity rules";
    }
    for (const k of this.antiAffinityPods) {
      const other = this.c.store.peek("pods", k);
      if (!other?.spec?.nodeName || isTerminal(other)) continue;
      const otherNode = this.c.store.peek("nodes", other.spec.nodeName);
      for (const t of other.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        const value = labels[t.topologyKey];
        if (value === undefined || otherNode?.metadata.labels?.[t.topologyKey] !== value) continue;
        if (this.termCovers(t, other.metadata.namespace, ns) && matchesLabelSelector(t.labelSelector, pod.metadata.labels)) return "node(s) didn't satisfy existing pods anti-affinity rules";
      }
    }
    return undefined;
  }

  schedule(keys: Set<string>): void {
    for (const key of keys) {
      const pod = this.c.store.peek("pods", key);
      if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp) continue;
      if (pod.spec?.schedulerName && pod.spec.schedulerName !== "default-scheduler") continue;
      const req = podRequests(pod);
      const hard = constraintsOf(pod, "DoNotSchedule");
      const soft = constraintsOf(pod, "ScheduleAnyway");
      const spreads = hard.length > 0 || soft.length > 0;
      const nodes = spreads ? this.nodeOrder.map((n) => this.c.store.peek("nodes", n)).filter((n): n is Obj => !!n) : [];
      const nsPods = spreads ? this.c.store.list("pods", pod.metadata.namespace) : [];
      const spread = spreadState(pod, hard, nodes, nsPods);
      const preference = soft.length ? spreadState(pod, soft, nodes, nsPods) : undefined;
      let chosen: string | undefined;
      let chosenIdx = 0;
      let best = Number.POSITIVE_INFINITY;
      const reasons = new Map<string, number>();
      const blocked: Map<string, boolean>[] = [];
      const volumes = this.c.volumes.check(pod);
      const pinned = pinnedNodeName(pod.spec ?? {});
      const candidates = pinned ? [pinned] : this.nodeOrder;
      const n = candidates.length;
      const selection = pinned ? "" : JSON.stringify([pod.spec?.nodeSelector ?? null, pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? null]);
      const cursor = pinned ? 0 : this.cursors.get(selection) ?? 0;
      for (let i = 0; i < n && !volumes.preFilter; i++) {
        const idx = pinned ? 0 : (cursor + i) % n;
        const node = this.c.store.peek("nodes", candidates[idx]);
        if (!node) { reasons.set("node(s) not found", (reasons.get("node(s) not found") ?? 0) + 1); continue; }
        const why = this.unfit(pod, req, node, blocked) ?? volumes.filter(node) ?? spreadFilter(spread, node);
        if (why) {
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
          continue;
        }
        // first feasible node in round-robin order, or, with ScheduleAnyway constraints, the preferred one
        const score = preference ? spreadScore(preference, node) : 0;
        if (chosen === undefined || score < best) {
          chosen = node.metadata.name;
          chosenIdx = idx;
          best = score;
        }
        if (!preference) break;
      }
      if (chosen && !pinned) this.cursors.set(selection, (chosenIdx + 1) % n);
      if (chosen) {
        this.c.volumes.provisionFor(pod, this.c.store.peek("nodes", chosen)!);
        this.c.store.mutate("pods", key, (p) => {
          p.spec.nodeName = chosen;
          p.status = p.status ?? {};
          p.status.conditions = p.status.conditions ?? [];
          setCondition(p.status.conditions, { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowIso() });
        });
      } else {
        this.unschedulable.add(key);
        const total = this.nodeOrder.length;
        // a PreFilter failure (VolumeBinding: a missing or unbound claim) is the whole reason, with no node count
        const detail = volumes.preFilter ?? [...reasons].sort().map(([r, c]) => `${c} ${r}`).join(", ");
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

/**
 * The prober: an independent observer of availability during a rehearsal. It watches pods and
 * nodes through the real `@kubernetes/client-node` informers (list, then watch from the list's
 * resourceVersion; re-list on 410), and on every event recomputes each workload's number of ready
 * endpoints and each pool's number of Ready nodes. Because it is event-driven, the series are
 * exact as seen by any API client (an endpoints controller sees the same events), not sampled.
 *
 * A pod counts as a ready endpoint the way the EndpointSlice controller and the disruption
 * controller count it: condition Ready=True and not terminating (no deletionTimestamp).
 */
import * as k8s from "@kubernetes/client-node";
import { performance } from "node:perf_hooks";
import { Cordon, Disruption, Point, record, WorkloadInfo, WorkloadSeries } from "./timeline";

/** Label GKE puts on every node with its pool's name. */
export const POOL_LABEL = "cloud.google.com/gke-nodepool";

/** True when the pod would be listed as a ready endpoint. */
export function isReadyEndpoint(pod: k8s.V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** True when the node reports Ready=True. */
export function isNodeReady(node: k8s.V1Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/**
 * Does a label set satisfy a LabelSelector (matchLabels and matchExpressions)? Deliberately not the
 * engine's matcher (components/rotation/selectors.ts): the prober is the measuring instrument, and a
 * bug shared with the code it measures would hide itself.
 */
export function selectorMatches(sel: k8s.V1LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !vals.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        if (has && vals.includes(labels[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A workload to follow: its info plus how to recognise its pods. */
export interface ProbeTarget {
  info: WorkloadInfo;
  /** True when the pod belongs to this workload. */
  owns(pod: k8s.V1Pod): boolean;
}

/** Live series the prober keeps up to date. */
export interface ProbeSeries {
  workloads: Record<string, WorkloadSeries>;
  pools: Record<string, Point[]>;
  /** Each node's cordoned periods (open ones have no `to`). */
  cordons: Cordon[];
  /** The first moment each pod was seen terminating, and whether the Eviction API did it. */
  disruptions: Disruption[];
}

/**
 * Watches pods and nodes and keeps the series. `t0` is the `performance.now()` origin the
 * rehearsal uses for every timestamp, so markers and series share one clock.
 */
export class Prober {
  readonly series: ProbeSeries = { workloads: {}, pools: {}, cordons: [], disruptions: [] };
  private readonly openCordons = new Map<string, Cordon>();
  private readonly terminating = new Set<string>();
  private readonly informers: (k8s.Informer<any> & k8s.ObjectCache<any>)[] = [];
  private stopped = false;
  /** Exceptions raised while handling events (empty in a sound run). */
  readonly errors: string[] = [];
  private listed = false;
  private readonly seen: Record<string, Set<string>> = {};
  private restarts = 0;
  private listeners: (() => void)[] = [];
  private pods!: k8s.Informer<k8s.V1Pod> & k8s.ObjectCache<k8s.V1Pod>;
  private nodes!: k8s.Informer<k8s.V1Node> & k8s.ObjectCache<k8s.V1Node>;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly targets: ProbeTarget[],
    private readonly t0: number,
    private readonly log: (line: string) => void = () => {},
  ) {
    for (const t of targets) this.series.workloads[t.info.key] = { info: t.info, points: [] };
  }

  /** Milliseconds since the rehearsal's origin. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Starts both informers and resolves once each has listed (the series then hold the initial state). */
  async start(): Promise<void> {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.pods = k8s.makeInformer(this.kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
    this.nodes = k8s.makeInformer(this.kc, "/api/v1/nodes", () => core.listNode());
    const follow = <T extends k8s.KubernetesObject>(inf: k8s.Informer<T> & k8s.ObjectCache<T>) => {
      this.informers.push(inf);
      // client-node swallows exceptions thrown in informer handlers: catch and keep them, so a
      // prober bug shows up in the result instead of silently losing events.
      inf.on("change", () => {
        try {
          this.update();
        } catch (e: any) {
          this.errors.push(`prober: ${e?.stack ?? e}`);
        }
      });
      inf.on("error", (err: any) => this.restart(inf, err));
    };
    follow(this.pods);
    follow(this.nodes);
    await Promise.all([this.pods.start(), this.nodes.start()]);
    // Events fire item by item while the first list is loaded: only record complete states.
    this.listed = true;
    this.update();
  }

  /** Resolves when `cond()` holds (checked after every event) or rejects after `timeoutMs`. */
  waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`rehearsal: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve();
      };
      this.listeners.push(check);
    });
  }

  /** Current ready endpoints of a workload (from the informer cache). */
  ready(key: string): number {
    const pts = this.series.workloads[key]?.points ?? [];
    return pts.length ? pts[pts.length - 1].v : 0;
  }

  /** Current Ready nodes of a pool. */
  poolNodes(pool: string): number {
    const pts = this.series.pools[pool] ?? [];
    return pts.length ? pts[pts.length - 1].v : 0;
  }

  /** The pods currently known, e.g. to check where they run. */
  podList(): readonly k8s.V1Pod[] {
    return this.pods ? this.pods.list() : [];
  }

  /**
   * Pods that still run on a pool's nodes and would be killed by deleting it: not terminating,
   * not finished, not DaemonSet or mirror pods (those go with their node by design).
   */
  podsOnPool(pool: string): k8s.V1Pod[] {
    const nodes = new Set(
      (this.nodes?.list() ?? []).filter((n) => n.metadata?.labels?.[POOL_LABEL] === pool).map((n) => n.metadata?.name),
    );
    return this.podList().filter(
      (p) =>
        nodes.has(p.spec?.nodeName) &&
        !p.metadata?.deletionTimestamp &&
        p.status?.phase !== "Succeeded" &&
        p.status?.phase !== "Failed" &&
        !(p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet") &&
        !p.metadata?.annotations?.["kubernetes.io/config.mirror"],
    );
  }

  /** Nodes of a pool currently marked unschedulable (cordoned). */
  cordonedNodes(pool: string): string[] {
    return (this.nodes?.list() ?? [])
      .filter((n) => n.metadata?.labels?.[POOL_LABEL] === pool && n.spec?.unschedulable)
      .map((n) => n.metadata!.name!);
  }

  /** Names of the nodes of a pool, as currently known. */
  nodeNames(pool: string): string[] {
    return (this.nodes?.list() ?? []).filter((n) => n.metadata?.labels?.[POOL_LABEL] === pool).map((n) => n.metadata!.name!);
  }

  /** Pods of any kind still bound to one of these nodes and not finished (terminating ones included). */
  podsBoundTo(nodeNames: string[]): k8s.V1Pod[] {
    const set = new Set(nodeNames);
    return this.podList().filter((p) => set.has(p.spec?.nodeName ?? "") && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  }

  /** Ready DaemonSet pods per node, for the named nodes (a new pool serves once its DaemonSets run). */
  daemonPodsReady(nodeNames: string[]): Map<string, number> {
    const out = new Map(nodeNames.map((n) => [n, 0]));
    for (const p of this.podList()) {
      const node = p.spec?.nodeName ?? "";
      if (out.has(node) && isReadyEndpoint(p) && (p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet")) out.set(node, out.get(node)! + 1);
    }
    return out;
  }

  /** A tick for each pod the first time it is seen terminating: evicted (DisruptionTarget by the Eviction API) or deleted. */
  private recordDisruptions(t: number, pods: readonly k8s.V1Pod[]): void {
    for (const p of pods) {
      const uid = p.metadata?.uid;
      if (!uid || !p.metadata?.deletionTimestamp || this.terminating.has(uid)) continue;
      this.terminating.add(uid);
      const target = this.targets.find((x) => x.owns(p));
      const evicted = (p.status?.conditions ?? []).some((c) => c.type === "DisruptionTarget" && c.reason === "EvictionByEvictionAPI");
      this.series.disruptions.push({ t, pod: `${p.metadata.namespace}/${p.metadata.name}`, workload: target?.info.key ?? "", evicted });
    }
  }

  /** Opens a period when a node becomes unschedulable, closes it when uncordoned or deleted. */
  private recordCordons(t: number): void {
    const live = new Map((this.nodes?.list() ?? []).map((n) => [n.metadata?.name ?? "", n]));
    for (const [name, c] of [...this.openCordons]) {
      if (!live.get(name)?.spec?.unschedulable) {
        c.to = t;
        this.openCordons.delete(name);
      }
    }
    for (const [name, n] of live) {
      if (!n.spec?.unschedulable || this.openCordons.has(name)) continue;
      const c: Cordon = { node: name, pool: n.metadata?.labels?.[POOL_LABEL] ?? "", from: t };
      this.openCordons.set(name, c);
      this.series.cordons.push(c);
    }
  }

  /** Number of watch restarts after errors (0 in a healthy run). */
  get watchRestarts(): number {
    return this.restarts;
  }

  /** Stops both informers. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  private restart(inf: k8s.Informer<any>, err: any): void {
    if (this.stopped) return;
    this.restarts++;
    this.log(`prober: watch error (${err?.message ?? err}); re-listing`);
    setTimeout(() => {
      if (!this.stopped) inf.start().catch((e) => this.restart(inf, e));
    }, 50);
  }

  private update(): void {
    if (this.stopped || !this.listed) return;
    const t = this.now();
    const pods = this.pods?.list() ?? [];
    for (const target of this.targets) {
      const series = this.series.workloads[target.info.key];
      const seen = (this.seen[target.info.key] ??= new Set());
      let n = 0;
      for (const p of pods) {
        if (!target.owns(p)) continue;
        seen.add(p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`);
        if (p.status?.phase === "Succeeded") series.completed = true;
        if (isReadyEndpoint(p)) n++;
      }
      series.podsSeen = seen.size;
      record(series.points, t, n);
    }
    this.recordDisruptions(t, pods);
    this.recordCordons(t);
    const perPool: Record<string, number> = {};
    for (const node of this.nodes?.list() ?? []) {
      const pool = node.metadata?.labels?.[POOL_LABEL];
      if (!pool) continue;
      perPool[pool] = (perPool[pool] ?? 0) + (isNodeReady(node) ? 1 : 0);
    }
    for (const pool of Object.keys(this.series.pools)) if (!(pool in perPool)) perPool[pool] = 0;
    for (const [pool, n] of Object.entries(perPool)) record((this.series.pools[pool] ??= []), t, n);
    for (const l of [...this.listeners]) l();
  }
}

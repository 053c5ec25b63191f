/**
 * The kubelet stand-in: nodes report Ready after their boot delay; bound pods go Pending -> Running
 * -> Ready after the timing knobs (or never Ready, or exit 0, per annotation); a pod being deleted is
 * removed once its grace period (scaled) has passed.
 */
import { performance } from "node:perf_hooks";
import type { Cluster } from "./cluster";
import { addKubeletLabels } from "./gke";
import { ANN, KUBE_VERSION } from "./model";
import {
  isNodeReady, isPodReady, isTerminal, nowIso, Obj, setCondition, shortHash,
} from "./util";

export class Kubelet {
  /** One pending timer per pod key (or "node:<name>" while a node boots). */
  private timers_ = new Map<string, { uid: string; phase: string; h?: NodeJS.Timeout; deadline?: number }>();

  constructor(private c: Cluster) {}

  syncNode(name: string): void {
    const node = this.c.store.peek("nodes", name);
    if (!node) return;
    if (kubeletDead(node)) return this.markUnreachable(node);
    if (isUnreachable(node)) return this.markReachable(node);
    const hasReady = (node.status?.conditions ?? []).some((c: Obj) => c.type === "Ready");
    const booting = this.timers_.get(`node:${name}`);
    if (hasReady || booting?.uid === node.metadata.uid) return;
    if (booting) this.c.timers.cancel(booting.h);
    const boot = Number(node.metadata.annotations?.[ANN.bootMs] ?? this.c.timing.nodeBootMs);
    const uid = node.metadata.uid;
    const h = this.c.timers.after(boot, () => {
      this.timers_.delete(`node:${name}`);
      this.c.store.mutate("nodes", name, (n) => {
        if (n.metadata.uid !== uid) return false;
        fillNodeStatus(n);
      });
    });
    this.timers_.set(`node:${name}`, { uid, phase: "boot", h });
  }

  /**
   * A node whose kubelet stopped posting status, as the node lifecycle controller handles it
   * (pkg/controller/nodelifecycle/node_lifecycle_controller.go, tryUpdateNodeHealth and
   * MarkPodsNotReady): Ready=Unknown "NodeStatusUnknown", taints node.kubernetes.io/unreachable
   * NoSchedule and NoExecute, its pods' Ready condition False. Taint-based eviction (300 s
   * tolerations) and pod GC of terminating pods (out-of-service taint) are not modelled: pods
   * deleted on such a node stay Terminating, as they do on a real cluster until then.
   */
  private markUnreachable(node: Obj): void {
    const name = node.metadata.name;
    const ready = (node.status?.conditions ?? []).find((c: Obj) => c.type === "Ready");
    if (ready?.status !== "Unknown") {
      this.c.store.mutate("nodes", name, (n) => {
        const now = nowIso();
        n.status = n.status ?? {};
        n.status.conditions = n.status.conditions ?? [];
        for (const t of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]) {
          setCondition(n.status.conditions, { type: t, status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastHeartbeatTime: now, lastTransitionTime: now });
        }
        const taints: Obj[] = (n.spec.taints ?? []).filter((t: Obj) => t.key !== UNREACHABLE);
        n.spec.taints = [...taints, { key: UNREACHABLE, effect: "NoSchedule", timeAdded: now }, { key: UNREACHABLE, effect: "NoExecute", timeAdded: now }];
      });
    }
    for (const p of this.c.store.podsOnNode(name)) {
      if (!isPodReady(p)) continue;
      this.c.store.mutate("pods", `${p.metadata.namespace}/${p.metadata.name}`, (x) => setPodReady(x, false));
    }
  }

  /** The kubelet posts status again: Ready, the unreachable taints gone, its pods re-synced. */
  private markReachable(node: Obj): void {
    this.c.store.mutate("nodes", node.metadata.name, (n) => {
      n.spec.taints = (n.spec.taints ?? []).filter((t: Obj) => t.key !== UNREACHABLE);
      if (n.spec.taints.length === 0) delete n.spec.taints;
      n.status.conditions = (n.status.conditions ?? []).filter((c: Obj) => c.status !== "Unknown");
      fillNodeStatus(n);
    });
    for (const p of this.c.store.podsOnNode(node.metadata.name)) {
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      if (p.status?.phase === "Running" && !isPodReady(p)) {
        const t = this.timers_.get(key);
        if (t) this.c.timers.cancel(t.h);
        this.timers_.delete(key);
      }
      this.c.enqueue("kubelet", key);
    }
  }

  /** Moves a pod through Pending -> Running -> Ready, and removes it when its grace period ends. */
  syncPod(key: string): void {
    const pod = this.c.store.peek("pods", key);
    const t = this.timers_.get(key);
    if (!pod) {
      if (t) this.c.timers.cancel(t.h);
      this.timers_.delete(key);
      return;
    }
    const uid = pod.metadata.uid;
    if (t && t.uid !== uid) {
      this.c.timers.cancel(t.h);
      this.timers_.delete(key);
    }
    const boundTo = pod.spec?.nodeName ? this.c.store.peek("nodes", pod.spec.nodeName) : undefined;
    if (boundTo && kubeletDead(boundTo)) {
      // no kubelet: nothing starts, nothing is confirmed deleted
      const t = this.timers_.get(key);
      if (t) this.c.timers.cancel(t.h);
      this.timers_.delete(key);
      return;
    }
    const cur = this.timers_.get(key);
    if (pod.metadata.deletionTimestamp) {
      if (pod.metadata.deletionGracePeriodSeconds === 0 && pod.metadata.finalizers?.length && isTerminal(pod)) return; // stopped; finalizers hold the object
      const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000 * this.c.timing.terminationGraceScale;
      const deadline = performance.now() + graceMs;
      if (cur?.phase === "terminating" && cur.deadline !== undefined && cur.deadline <= deadline) return;
      if (cur) this.c.timers.cancel(cur.h);
      const h = this.c.timers.after(graceMs, () => {
        this.timers_.delete(key);
        const p = this.c.store.peek("pods", key);
        if (p && p.metadata.uid === uid) this.c.finishPodTermination(key);
      });
      this.timers_.set(key, { uid, phase: "terminating", h, deadline });
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || cur) return;
    const node = this.c.store.peek("nodes", nodeName);
    if (!node || !isNodeReady(node)) return;
    const phase = pod.status?.phase ?? "Pending";
    if (phase === "Pending") {
      const h = this.c.timers.after(this.c.timing.podStartMs, () => {
        this.timers_.delete(key);
        this.c.store.mutate("pods", key, (p) => {
          if (p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== "Pending") return false;
          startPod(p, node);
        });
      });
      this.timers_.set(key, { uid, phase: "starting", h });
    } else if (phase === "Running") {
      const runMs = pod.metadata.annotations?.[ANN.runMs];
      const neverReady = pod.metadata.annotations?.[ANN.ready] === "false" || node.metadata.labels?.[ANN.podsReady] === "false" || node.metadata.annotations?.[ANN.podsReady] === "false";
      if (!isPodReady(pod) && !neverReady) {
        const h = this.c.timers.after(this.c.timing.podReadyMs, () => {
          this.timers_.delete(key);
          this.c.store.mutate("pods", key, (p) => {
            if (p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== "Running") return false;
            setPodReady(p, true);
          });
        });
        this.timers_.set(key, { uid, phase: "readying", h });
      } else if (runMs !== undefined) {
        const startedAt = Date.parse(pod.status?.startTime ?? nowIso());
        const wait = Math.max(0, Number(runMs) - (Date.now() - startedAt));
        const h = this.c.timers.after(wait, () => {
          this.timers_.delete(key);
          this.c.store.mutate("pods", key, (p) => {
            if (p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== "Running") return false;
            finishPod(p);
          });
        });
        this.timers_.set(key, { uid, phase: "running", h });
      }
    }
  }
}

let ipCounter = 1;

function startPod(p: Obj, node: Obj): void {
  const now = nowIso();
  p.status = p.status ?? {};
  p.status.phase = "Running";
  p.status.startTime = p.status.startTime ?? now;
  p.status.hostIP = node.status?.addresses?.[0]?.address ?? "10.0.0.1";
  p.status.hostIPs = [{ ip: p.status.hostIP }];
  const ip = `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
  ipCounter = (ipCounter + 1) % 16_000_000;
  p.status.podIP = ip;
  p.status.podIPs = [{ ip }];
  p.status.conditions = p.status.conditions ?? [];
  for (const t of ["PodReadyToStartContainers", "Initialized", "PodScheduled"]) setCondition(p.status.conditions, { type: t, status: "True", lastProbeTime: null, lastTransitionTime: now });
  setCondition(p.status.conditions, { type: "ContainersReady", status: "False", reason: "ContainersNotReady", lastProbeTime: null, lastTransitionTime: now });
  setCondition(p.status.conditions, { type: "Ready", status: "False", reason: "ContainersNotReady", lastProbeTime: null, lastTransitionTime: now });
  p.status.containerStatuses = (p.spec?.containers ?? []).map((c: Obj) => ({
    name: c.name, image: c.image ?? "", imageID: "", containerID: `containerd://${shortHash(p.metadata.uid + c.name)}`,
    ready: false, started: true, restartCount: 0, state: { running: { startedAt: now } },
  }));
}

const UNREACHABLE = "node.kubernetes.io/unreachable";

/** Whether the node's kubelet is stopped (annotation simulator.nodepool-rotation.io/kubelet: dead). */
export function kubeletDead(node: Obj): boolean {
  return node.metadata.annotations?.[ANN.kubelet] === "dead";
}

function isUnreachable(node: Obj): boolean {
  return (node.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "Unknown" && c.reason === "NodeStatusUnknown");
}

/**
 * The kubelet kills a deleted pod's containers at the end of its grace period: they are terminated
 * (exit 137), the pod is not Ready and its phase is terminal (Failed; Succeeded if it had finished).
 */
export function stopContainers(p: Obj): void {
  const now = nowIso();
  p.status = p.status ?? {};
  if (p.status.phase !== "Succeeded") p.status.phase = "Failed";
  p.status.conditions = p.status.conditions ?? [];
  setPodReady(p, false);
  for (const c of p.status.containerStatuses ?? []) {
    c.started = false;
    if (!c.state?.terminated) c.state = { terminated: { exitCode: 137, reason: "Error", startedAt: c.state?.running?.startedAt ?? now, finishedAt: now } };
  }
}

function setPodReady(p: Obj, ready: boolean): void {
  const now = nowIso();
  const s = ready ? "True" : "False";
  setCondition(p.status.conditions, { type: "ContainersReady", status: s, lastProbeTime: null, lastTransitionTime: now });
  setCondition(p.status.conditions, { type: "Ready", status: s, lastProbeTime: null, lastTransitionTime: now });
  for (const c of p.status.containerStatuses ?? []) c.ready = ready;
}

function finishPod(p: Obj): void {
  const now = nowIso();
  p.status.phase = "Succeeded";
  setPodReady(p, false);
  for (const c of p.status.conditions) if (c.type === "Ready" || c.type === "ContainersReady") c.reason = "PodCompleted";
  for (const c of p.status.containerStatuses ?? []) {
    c.started = false;
    c.state = { terminated: { exitCode: 0, reason: "Completed", startedAt: c.state?.running?.startedAt ?? now, finishedAt: now } };
  }
}

/** Node status a kubelet reports once booted, and the labels it registers the node with (missing ones). */
export function fillNodeStatus(n: Obj): void {
  addKubeletLabels(n);
  const now = nowIso();
  n.status = n.status ?? {};
  n.status.capacity = n.status.capacity ?? { cpu: "4", memory: "16Gi", pods: "110" };
  n.status.allocatable = n.status.allocatable ?? { ...n.status.capacity };
  n.status.nodeInfo = {
    kubeletVersion: KUBE_VERSION, kubeProxyVersion: KUBE_VERSION, containerRuntimeVersion: "containerd://1.7.27", operatingSystem: "linux",
    architecture: "amd64", osImage: "Container-Optimized OS from Google", kernelVersion: "6.6.72+", machineID: "", systemUUID: "", bootID: "",
    ...(n.status.nodeInfo ?? {}),
  };
  n.status.addresses = n.status.addresses ?? [{ type: "InternalIP", address: `10.128.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}` }, { type: "Hostname", address: n.metadata.name }];
  n.status.conditions = n.status.conditions ?? [];
  for (const [t, reason] of [["MemoryPressure", "KubeletHasSufficientMemory"], ["DiskPressure", "KubeletHasNoDiskPressure"], ["PIDPressure", "KubeletHasSufficientPID"]]) {
    if (!n.status.conditions.some((c: Obj) => c.type === t)) n.status.conditions.push({ type: t, status: "False", reason, message: "", lastHeartbeatTime: now, lastTransitionTime: now });
  }
  setCondition(n.status.conditions, { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now });
}

/** Pod defaults applied on create (the parts of SetDefaults_Pod the simulator relies on). */
export function defaultPod(pod: Obj): Obj {
  pod.spec = pod.spec ?? {};
  pod.spec.containers = pod.spec.containers ?? [];
  pod.spec.restartPolicy = pod.spec.restartPolicy ?? "Always";
  pod.spec.terminationGracePeriodSeconds = pod.spec.terminationGracePeriodSeconds ?? 30;
  pod.spec.dnsPolicy = pod.spec.dnsPolicy ?? "ClusterFirst";
  pod.spec.schedulerName = pod.spec.schedulerName ?? "default-scheduler";
  pod.spec.enableServiceLinks = pod.spec.enableServiceLinks ?? true;
  const qos = pod.spec.containers.some((c: Obj) => c.resources?.requests || c.resources?.limits) ? "Burstable" : "BestEffort";
  pod.status = { phase: "Pending", qosClass: qos, ...(pod.status ?? {}) };
  if (!pod.status.phase) pod.status.phase = "Pending";
  if (pod.spec.nodeName) {
    pod.status.conditions = pod.status.conditions ?? [];
    setCondition(pod.status.conditions, { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: nowIso() });
  }
  return pod;
}

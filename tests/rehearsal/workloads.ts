/**
 * Which workloads the rehearsal follows, read from the cluster through the real client once the
 * scenario has settled: Deployments, StatefulSets, DaemonSets and Jobs, each with its desired
 * replicas, the PodDisruptionBudget that covers it and the floor that budget promises.
 */
import * as k8s from "@kubernetes/client-node";
import { ProbeTarget, selectorMatches } from "./prober";
import { WorkloadInfo } from "./timeline";

/**
 * Scales an IntOrString the way the disruption controller does
 * (`intstr.GetScaledValueFromIntOrPercent(v, expected, roundUp=true)` in
 * kubernetes/pkg/controller/disruption/disruption.go).
 */
export function scaledValue(v: number | string, expected: number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (m) return Math.ceil((Number(m[1]) * expected) / 100);
  const n = Number(v);
  if (Number.isInteger(n)) return n;
  throw new Error(`invalid IntOrString ${JSON.stringify(v)}`);
}

/** The floor a PDB promises for `expected` pods: minAvailable, or expected − maxUnavailable. */
export function pdbFloor(pdb: k8s.V1PodDisruptionBudget, expected: number): number {
  const spec = pdb.spec ?? {};
  if (spec.minAvailable !== undefined) return scaledValue(spec.minAvailable as any, expected);
  if (spec.maxUnavailable !== undefined) return Math.max(0, expected - scaledValue(spec.maxUnavailable as any, expected));
  return 0;
}

/** A controller read from the API, reduced to what the rehearsal needs. */
interface Controller {
  kind: string;
  obj: { metadata?: k8s.V1ObjectMeta };
  selector?: k8s.V1LabelSelector;
  templateLabels: Record<string, string>;
  desired: number;
  ready: number;
  /** The controller has processed the current spec (status.observedGeneration >= metadata.generation). */
  observed: boolean;
  batch?: boolean;
}

async function readControllers(kc: k8s.KubeConfig): Promise<Controller[]> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const [deps, stss, dss, jobs] = await Promise.all([
    apps.listDeploymentForAllNamespaces(),
    apps.listStatefulSetForAllNamespaces(),
    apps.listDaemonSetForAllNamespaces(),
    batch.listJobForAllNamespaces(),
  ]);
  const out: Controller[] = [];
  const observed = (o: { metadata?: k8s.V1ObjectMeta; status?: { observedGeneration?: number } }) =>
    o.status?.observedGeneration !== undefined && o.status.observedGeneration >= (o.metadata?.generation ?? 0);
  for (const d of deps.items) {
    out.push({ kind: "Deployment", obj: d, selector: d.spec?.selector, templateLabels: d.spec?.template?.metadata?.labels ?? {}, desired: d.spec?.replicas ?? 1, ready: d.status?.readyReplicas ?? 0, observed: observed(d) });
  }
  for (const s of stss.items) {
    out.push({ kind: "StatefulSet", obj: s, selector: s.spec?.selector, templateLabels: s.spec?.template?.metadata?.labels ?? {}, desired: s.spec?.replicas ?? 1, ready: s.status?.readyReplicas ?? 0, observed: observed(s) });
  }
  for (const d of dss.items) {
    out.push({ kind: "DaemonSet", obj: d, selector: d.spec?.selector, templateLabels: d.spec?.template?.metadata?.labels ?? {}, desired: d.status?.desiredNumberScheduled ?? 0, ready: d.status?.numberReady ?? 0, observed: observed(d) });
  }
  for (const j of jobs.items) {
    out.push({ kind: "Job", obj: j, selector: j.spec?.selector, templateLabels: j.spec?.template?.metadata?.labels ?? {}, desired: j.spec?.parallelism ?? 1, ready: j.status?.ready ?? j.status?.active ?? 0, observed: true, batch: true });
  }
  return out;
}

/** True when every serving controller has all its desired replicas ready (Jobs are not waited for). */
export async function settled(kc: k8s.KubeConfig): Promise<{ ok: boolean; pending: string[] }> {
  const pending: string[] = [];
  for (const c of await readControllers(kc)) {
    if (c.batch) continue;
    const key = `${c.obj.metadata?.namespace}/${c.kind}/${c.obj.metadata?.name}`;
    // Counts mean something only once the controller has processed the spec (a DaemonSet may rightly want 0 pods).
    if (!c.observed) pending.push(`${key} (not processed by its controller yet)`);
    else if (c.ready < c.desired) pending.push(`${key} (${c.ready}/${c.desired} ready)`);
  }
  return { ok: pending.length === 0, pending };
}

/** Builds the prober's targets: one per controller, with its PDB and floor. */
export async function discoverTargets(kc: k8s.KubeConfig): Promise<ProbeTarget[]> {
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const pdbs = (await policy.listPodDisruptionBudgetForAllNamespaces()).items;
  const targets: ProbeTarget[] = [];
  for (const c of await readControllers(kc)) {
    if (c.desired === 0) continue; // nothing to keep available (scaled to zero, or a DaemonSet matching no node)
    const ns = c.obj.metadata?.namespace ?? "default";
    const name = c.obj.metadata?.name ?? "";
    const pdb = pdbs.find((p) => p.metadata?.namespace === ns && selectorMatches(p.spec?.selector, c.templateLabels));
    const info: WorkloadInfo = {
      key: `${ns}/${c.kind}/${name}`,
      namespace: ns,
      kind: c.kind,
      name,
      replicas: c.desired,
      floor: pdb ? pdbFloor(pdb, c.desired) : null,
      pdb: pdb ? `${ns}/${pdb.metadata?.name}` : undefined,
      batch: c.batch,
    };
    const uid = c.obj.metadata?.uid;
    const owns = (pod: k8s.V1Pod): boolean => {
      if (pod.metadata?.namespace !== ns) return false;
      if (c.kind === "Job") {
        // Real Jobs select on a generated controller-uid label; match by owner or the job-name label too.
        return (
          (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === "Job" && (o.uid === uid || o.name === name)) ||
          pod.metadata?.labels?.["job-name"] === name ||
          pod.metadata?.labels?.["batch.kubernetes.io/job-name"] === name ||
          (!!c.selector && selectorMatches(c.selector, pod.metadata?.labels))
        );
      }
      return selectorMatches(c.selector, pod.metadata?.labels);
    };
    targets.push({ info, owns });
  }
  return targets.sort((a, b) => a.info.key.localeCompare(b.info.key));
}

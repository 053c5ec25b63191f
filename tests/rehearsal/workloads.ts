/**
 * Which workloads the rehearsal follows, read from the cluster through the real client once the
 * scenario has settled: Deployments, StatefulSets, DaemonSets and Jobs, each with its desired
 * replicas, the PodDisruptionBudget that covers it and the floor that budget promises — or, for a
 * Deployment or StatefulSet no PDB covers, the floor of the drain's implicit budget
 * (`drain.defaultBudget`) of the pool its pods run on.
 */
import * as k8s from "@kubernetes/client-node";
import { DEFAULT_BUDGET } from "../../components/rotation/budget";
import { POOL_LABEL, ProbeTarget, selectorMatches } from "./prober";
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

/**
 * The floor the drain's implicit budget promises a workload without a PDB (issue 11): at most
 * `budget` pods (an integer, or "N%" of `replicas` rounded up like the disruption controller, at
 * least 1 so a single replica can move) unavailable at once; null for "none" (no promise).
 * Computed here, not imported from the engine: the rehearsal measures the engine, so it states the
 * promise independently. Only the default value is shared (one place decides it).
 */
export function implicitFloor(budget: number | string | undefined, replicas: number): number | null {
  const b = budget ?? DEFAULT_BUDGET;
  if (b === "none") return null;
  const maxUnavailable = Math.max(1, scaledValue(b, replicas));
  return Math.max(0, replicas - maxUnavailable);
}

/** Kinds the drain's implicit budget covers (the top scalable controller of a pod). */
const SCALABLE = new Set(["Deployment", "StatefulSet", "ReplicaSet"]);

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

/**
 * Builds the prober's targets: one per controller, with its PDB and floor. `budgetOfPool` gives the
 * drain's `defaultBudget` for a pool being drained (undefined: a pool that is not drained, so no
 * implicit floor); a PDB-less Deployment or StatefulSet gets the implicit floor of the pool its
 * first pod runs on.
 */
export async function discoverTargets(kc: k8s.KubeConfig, budgetOfPool: (pool: string) => number | string | undefined = () => undefined): Promise<ProbeTarget[]> {
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [pdbs, pods, nodes] = await Promise.all([
    policy.listPodDisruptionBudgetForAllNamespaces().then((l) => l.items),
    core.listPodForAllNamespaces().then((l) => l.items),
    core.listNode().then((l) => l.items),
  ]);
  const poolOfNode = new Map(nodes.map((n) => [n.metadata?.name, n.metadata?.labels?.[POOL_LABEL]]));
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
    if (pdb) info.floorSource = `pdb ${info.pdb}`;
    else if (SCALABLE.has(c.kind)) {
      const pod = pods.find((p) => p.metadata?.namespace === ns && selectorMatches(c.selector, p.metadata?.labels) && p.spec?.nodeName);
      const pool = pod ? poolOfNode.get(pod.spec!.nodeName) : undefined;
      const budget = pool === undefined ? undefined : budgetOfPool(pool);
      const floor = budget === undefined ? null : implicitFloor(budget, c.desired);
      if (floor !== null) {
        info.floor = floor;
        info.floorSource = `implicit ${budget}`;
      }
    }
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

/** What `--block ROLE` put in the way of a role's drain. */
export interface Blocker {
  role: string;
  /** `<ns>/<Kind>/<name>` of the workload the PDB covers. */
  workload: string;
  /** `<ns>/<name>` of the PDB created. */
  pdb: string;
  /** Its `minAvailable`: the workload's replicas, so it allows no disruption. */
  minAvailable: number;
}

/**
 * Blocks a role's drain the way production blocks one: a PodDisruptionBudget whose `minAvailable`
 * equals the replicas of a multi-replica Deployment or StatefulSet of that pool that has no PDB yet
 * (the first by key; a second PDB over the same pods would make every eviction fail with 500
 * instead), so it allows no disruption. Created through the API before the rotation starts; throws
 * naming the fix when the pool runs no such workload.
 */
export async function blockRole(kc: k8s.KubeConfig, role: string, pool: string): Promise<Blocker> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const [deps, stss, pdbs, pods, nodes] = await Promise.all([
    apps.listDeploymentForAllNamespaces().then((l) => l.items),
    apps.listStatefulSetForAllNamespaces().then((l) => l.items),
    policy.listPodDisruptionBudgetForAllNamespaces().then((l) => l.items),
    core.listPodForAllNamespaces().then((l) => l.items),
    core.listNode().then((l) => l.items),
  ]);
  const onPool = new Set(nodes.filter((n) => n.metadata?.labels?.[POOL_LABEL] === pool).map((n) => n.metadata?.name));
  const candidates = [
    ...deps.map((o) => ({ kind: "Deployment", o })),
    ...stss.map((o) => ({ kind: "StatefulSet", o })),
  ]
    .map(({ kind, o }) => ({ kind, o, key: `${o.metadata?.namespace}/${kind}/${o.metadata?.name}` }))
    .filter(({ o }) => (o.spec?.replicas ?? 1) > 1)
    .filter(({ o }) => !pdbs.some((p) => p.metadata?.namespace === o.metadata?.namespace && selectorMatches(p.spec?.selector, o.spec?.template?.metadata?.labels)))
    .filter(({ o }) => pods.some((p) => p.metadata?.namespace === o.metadata?.namespace && onPool.has(p.spec?.nodeName) && selectorMatches(o.spec?.selector, p.metadata?.labels)))
    .sort((a, b) => a.key.localeCompare(b.key));
  const chosen = candidates[0];
  if (!chosen) {
    throw new Error(
      `rehearsal: --block ${role}: pool ${pool} runs no Deployment or StatefulSet with more than one replica and no PDB ` +
        `to put a blocking PDB on: add one to the scenario, or block another role`,
    );
  }
  const ns = chosen.o.metadata!.namespace!;
  const name = `rehearsal-block-${chosen.o.metadata!.name}`;
  const minAvailable = chosen.o.spec?.replicas ?? 1;
  await policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: ns }, spec: { minAvailable, selector: chosen.o.spec!.selector } },
  });
  return { role, workload: chosen.key, pdb: `${ns}/${name}`, minAvailable };
}

/**
 * The operator's fix for a {@link Blocker}, the first one the drain's error suggests ("scale the
 * workload up"): one more replica, so the PDB (minAvailable = the old replicas) allows one
 * disruption. The PDB and its floor stay as they were. Returns the new replica count.
 */
export async function scaleUpBlocked(kc: k8s.KubeConfig, b: Blocker): Promise<number> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const [namespace, kind, name] = b.workload.split("/");
  const replicas = b.minAvailable + 1;
  const body = { spec: { replicas } };
  const patch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
  if (kind === "StatefulSet") await apps.patchNamespacedStatefulSet({ namespace, name, body }, patch);
  else await apps.patchNamespacedDeployment({ namespace, name, body }, patch);
  return replicas;
}

/**
 * A sequential, node-by-node drain done the way `kubectl drain` does it
 * (staging/src/k8s.io/kubectl/pkg/drain/drain.go: evictPods runs one goroutine per pod of the
 * node; on 429 it sleeps 5 s and retries; after an accepted eviction waitForDelete GETs the pod
 * every 1 s until it is 404 or has a new UID; nodes one after another). Both waits are scaled by
 * `scale` so the comparison holds when the simulator's clock is scaled down. The baseline for the
 * benchmark only: it counts its own requests too.
 */
import * as k8s from "@kubernetes/client-node";

export interface KubectlStyleResult { durationMs: number; evicted: number; requests: number; rejected429: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `precordon`: cordon every pool node first (the careful manual procedure), so evicted pods cannot
 * land on old nodes that are drained later; without it, like `kubectl drain` node after node.
 */
export async function kubectlStyleDrain(kc: k8s.KubeConfig, pool: string, scale: number, precordon = false, poolLabel = "cloud.google.com/gke-nodepool"): Promise<KubectlStyleResult> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const started = Date.now();
  let requests = 0, evicted = 0, rejected429 = 0;
  requests++;
  const nodes = (await core.listNode({ labelSelector: `${poolLabel}=${pool}` })).items.map((n) => n.metadata!.name!).sort();
  if (precordon) {
    for (const node of nodes) {
      requests++;
      await core.patchNode({ name: node, body: { spec: { unschedulable: true } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    }
  }
  for (const node of nodes) {
    if (!precordon) {
      requests++;
      await core.patchNode({ name: node, body: { spec: { unschedulable: true } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    }
    requests++;
    const pods = (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items
      .filter((p) => !(p.metadata?.ownerReferences ?? []).some((o) => o.kind === "DaemonSet") && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
    await Promise.all(pods.map(async (p) => {
      const name = p.metadata!.name!, namespace = p.metadata!.namespace!, uid = p.metadata!.uid!;
      for (;;) {
        try {
          requests++;
          await core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } } as any });
          evicted++;
          break;
        } catch (e: any) {
          if (e?.code === 404) return;
          if (e?.code === 429) { rejected429++; await sleep(5000 * scale); continue; }
          throw e;
        }
      }
      for (;;) {
        try {
          requests++;
          const cur = await core.readNamespacedPod({ name, namespace });
          if (cur.metadata?.uid !== uid) return;
        } catch (e: any) {
          if (e?.code === 404) return;
          throw e;
        }
        await sleep(1000 * scale);
      }
    }));
  }
  return { durationMs: Date.now() - started, evicted, requests, rejected429 };
}

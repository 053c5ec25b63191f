/**
 * What happens to a cluster between a pool's drain and its deletion, done through the Kubernetes
 * API as the actors themselves would (pool-guard specs).
 */
import * as k8s from "@kubernetes/client-node";
import { CORDONED_ANNOTATION } from "../../components/rotation";

/** Uncordons the pool's nodes, as auto-repair does when it recreates a node (it registers schedulable). */
export async function repairNodes(kc: k8s.KubeConfig, names: string[]): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const name of names) {
    await core.patchNode(
      { name, body: { metadata: { annotations: { [CORDONED_ANNOTATION]: null } }, spec: { unschedulable: false } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  }
}

/** Creates a Deployment (and its PDB) through the API, as a team deploying meanwhile would. */
export async function applyDeployment(kc: k8s.KubeConfig, objects: any[]): Promise<void> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  for (const o of objects) {
    if (o.kind === "Deployment") await apps.createNamespacedDeployment({ namespace: o.metadata.namespace, body: o });
    else await policy.createNamespacedPodDisruptionBudget({ namespace: o.metadata.namespace, body: o });
  }
}

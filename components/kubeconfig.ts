/**
 * Kubeconfig for a GKE cluster that authenticates through `gke-gcloud-auth-plugin` (exec), the way
 * `gcloud container clusters get-credentials` writes it. It holds no token, so it never goes stale
 * in Pulumi state: the PoolDrainer's delete() can still use it weeks later, with the credentials of
 * whoever runs `pulumi up` (https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl).
 */
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";

/** Where the cluster is and how to trust it. */
export interface GkeClusterEndpoint {
  project: string;
  location: string;
  /** GKE cluster name. */
  name: string;
  /** Control-plane endpoint: an IP or host name, with or without `https://`. */
  endpoint: string;
  /** Base64 PEM CA certificate (`masterAuth.clusterCaCertificate`). */
  caCertificate: string;
}

/** Install hint kubectl prints when the plugin is missing (same text gcloud writes). */
const INSTALL_HINT =
  "Install gke-gcloud-auth-plugin for use with kubectl by following " +
  "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin";

/** Kubeconfig YAML text for one GKE cluster, exec-auth via gke-gcloud-auth-plugin, context `gke_<project>_<location>_<name>`. */
export function gkeKubeconfig(c: GkeClusterEndpoint): string {
  const context = `gke_${c.project}_${c.location}_${c.name}`;
  const server = /^https?:\/\//.test(c.endpoint) ? c.endpoint : `https://${c.endpoint}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: context, cluster: { server, "certificate-authority-data": c.caCertificate } }],
    contexts: [{ name: context, context: { cluster: context, user: context } }],
    "current-context": context,
    users: [
      {
        name: context,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "gke-gcloud-auth-plugin",
            installHint: INSTALL_HINT,
            provideClusterInfo: true,
            interactiveMode: "IfAvailable",
          },
        },
      },
    ],
  });
}

/** Inputs form of `GkeClusterEndpoint`, e.g. straight from a `gcp.container.Cluster`'s outputs. */
export type GkeClusterEndpointInputs = { [K in keyof GkeClusterEndpoint]: pulumi.Input<string> };

/** The kubeconfig as a secret Output (it names the endpoint and CA; treat it like a credential). */
export function gkeKubeconfigOutput(c: GkeClusterEndpointInputs): pulumi.Output<string> {
  return pulumi.secret(pulumi.all(c).apply((resolved) => gkeKubeconfig(resolved as unknown as GkeClusterEndpoint)));
}

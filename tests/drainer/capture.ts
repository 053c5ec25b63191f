/**
 * Pulumi mocks that record what a PoolDrainer registers: its type token and its inputs, including
 * the serialized `__provider` text the dynamic-provider host would load.
 */
import * as pulumi from "@pulumi/pulumi";

/** What the mocked engine received for one resource. */
export interface Registered {
  type: string;
  name: string;
  /** Inputs as registered (secrets still wrapped, as the engine sees them). */
  inputs: Record<string, any>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** True if `v` is a secret as the Pulumi engine receives it. */
export function isSecret(v: any): boolean {
  return v !== null && typeof v === "object" && v[SECRET_SIG] === SECRET_VALUE;
}

/** The inputs the way the provider host receives them (the host does not accept secrets: plain values). */
export function plainInputs(inputs: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = isSecret(v) ? v.value : v;
  return out;
}

/** Installs mocks; `registered(name)` resolves once a resource of that name has been registered. */
export function installMocks(): { registered(name: string): Promise<Registered>; all: Registered[] } {
  const all: Registered[] = [];
  const waiters = new Map<string, (r: Registered) => void>();
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const r = { type: args.type, name: args.name, inputs: args.inputs };
        all.push(r);
        waiters.get(args.name)?.(r);
        return { id: `${args.name}_id`, state: args.inputs };
      },
      call(args: pulumi.runtime.MockCallArgs) {
        return args.inputs;
      },
    },
    "nodepool-rotation",
    "staging",
    false,
  );
  return {
    all,
    registered(name: string) {
      const found = all.find((r) => r.name === name);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.set(name, resolve));
    },
  };
}

/** An exec-auth kubeconfig as components/kubeconfig.ts produces for GKE (no token, no key). */
export function execKubeconfig(server = "https://203.0.113.10"): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: gke_acme-game-staging_asia-northeast1_game-staging
  cluster:
    server: ${server}
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ0ZXN0Ci0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K
contexts:
- name: gke_acme-game-staging_asia-northeast1_game-staging
  context:
    cluster: gke_acme-game-staging_asia-northeast1_game-staging
    user: gke_acme-game-staging_asia-northeast1_game-staging
current-context: gke_acme-game-staging_asia-northeast1_game-staging
users:
- name: gke_acme-game-staging_asia-northeast1_game-staging
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      provideClusterInfo: true
      interactiveMode: IfAvailable
`;
}

/** Patterns that must never appear in the provider text or the outputs. */
export const CREDENTIAL_PATTERNS: RegExp[] = [
  /\btoken\s*:/i,
  /client-key(-data)?\s*:/i,
  /\bpassword\s*:/i,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bya29\.[A-Za-z0-9_-]{10,}/, // Google OAuth access tokens
  /\bBearer [A-Za-z0-9._-]{10,}/,
];

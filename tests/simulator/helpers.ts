/**
 * Test helpers for specs that use the simulator: waiting on conditions with a deadline, scenario
 * snippets, and raw HTTP for endpoints the typed clients do not cover.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { Obj } from "./util";

/** The real kubectl the kubectl specs run (a dispatcher that picks the version from the server's /version). */
export const KUBECTL = process.env.KUBECTL ?? "/usr/bin/kubectl";

export interface KubectlRun { code: number; stdout: string; stderr: string }

/**
 * A kubectl runner confined to `dir`: KUBECONFIG=dir/kubeconfig, HOME and the discovery/OpenAPI cache
 * in dir, so nothing leaks into (or comes from) the user's own.
 */
export function kubectlIn(dir: string): (...args: string[]) => Promise<KubectlRun> {
  return (...args: string[]) => new Promise((resolve) => {
    execFile(KUBECTL, args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, KUBECONFIG: path.join(dir, "kubeconfig"), KUBECACHEDIR: path.join(dir, "cache") },
      timeout: 80_000,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0, stdout, stderr }));
  });
}

/** Polls `fn` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message ?? last})` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Awaits a client-node call expected to fail with HTTP `code`; returns the parsed Status body. */
export async function expectHttpError(p: Promise<unknown>, code: number): Promise<any> {
  try {
    await p;
  } catch (e: any) {
    if (e.code !== code) throw new Error(`expected HTTP ${code}, got ${e.code}: ${e.body}`);
    return JSON.parse(e.body);
  }
  throw new Error(`expected HTTP ${code}, got success`);
}

/** Raw JSON request against the simulator (status code and parsed body). */
export async function http(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url + path, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function nodeYaml(name: string, opts: { pool?: string; cpu?: string; memory?: string; pods?: number; labels?: Record<string, string>; taints?: Obj[]; unschedulable?: boolean } = {}): string {
  const labels = { "cloud.google.com/gke-nodepool": opts.pool ?? "pool-a", "kubernetes.io/hostname": name, ...(opts.labels ?? {}) };
  return JSON.stringify({
    apiVersion: "v1", kind: "Node",
    metadata: { name, labels },
    spec: { ...(opts.taints ? { taints: opts.taints } : {}), ...(opts.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity: { cpu: opts.cpu ?? "4", memory: opts.memory ?? "16Gi", pods: String(opts.pods ?? 110) }, allocatable: { cpu: opts.cpu ?? "4", memory: opts.memory ?? "16Gi", pods: String(opts.pods ?? 110) } },
  });
}

export function deploymentYaml(name: string, ns: string, replicas: number, extra: { cpu?: string; labels?: Record<string, string>; podSpec?: Obj; annotations?: Record<string, string> } = {}): string {
  const labels = { app: name, ...(extra.labels ?? {}) };
  return JSON.stringify({
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
        spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: extra.cpu ?? "100m", memory: "64Mi" } } }], ...(extra.podSpec ?? {}) },
      },
    },
  });
}

export function pdbYaml(name: string, ns: string, selector: Record<string, string>, spec: Obj): string {
  return JSON.stringify({ apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: ns }, spec: { selector: { matchLabels: selector }, ...spec } });
}

/** Joins JSON/YAML documents into one multi-document scenario. */
export function scenario(...docs: string[]): string {
  return docs.join("\n---\n");
}

export function isReady(p: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
}

/** Fast timing for specs. */
export const FAST = { podStartMs: 5, podReadyMs: 10, terminationGraceScale: 0.001, nodeBootMs: 20 };

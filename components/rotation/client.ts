/**
 * The engine's door to the Kubernetes API: the official client (@kubernetes/client-node 1.4),
 * with every request counted, transient failures retried with backoff and jitter, 429 honouring
 * Retry-After, paginated lists and self-healing watches (re-watch from the last resourceVersion;
 * re-list on 410 Gone or errors). One instance per drain: no module-level state.
 */
import * as k8s from "@kubernetes/client-node";

/**
 * The fields of a thrown value the engine reads. What is thrown is open (`unknown`): client-node's
 * ApiException (code, body, headers), a watch error (statusCode), Node's system errors (code
 * "ENOENT", syscall, path), AbortError, or anything a callback threw; every field is checked before use.
 */
interface ThrownFields {
  code?: unknown;
  statusCode?: unknown;
  body?: unknown;
  headers?: Record<string, unknown>;
  message?: unknown;
  name?: unknown;
  syscall?: unknown;
  path?: unknown;
}

/** A thrown value's fields (none for a primitive, null or undefined). */
export function thrownFields(err: unknown): ThrownFields {
  return typeof err === "object" && err !== null ? (err as ThrownFields) : {};
}

/** HTTP status of an error (ApiException.code, watch error statusCode), or undefined for network errors. */
export function statusOf(err: unknown): number | undefined {
  const e = thrownFields(err);
  const c = e.code ?? e.statusCode;
  return typeof c === "number" ? c : undefined;
}

/**
 * The Status body of an ApiException (parsed when it came as text; `{ message }` when the text is
 * not JSON; `{}` when there is none). The server's JSON, read as a V1Status: every field optional.
 */
export function statusBody(err: unknown): k8s.V1Status {
  const b = thrownFields(err).body;
  if (typeof b === "string") { try { return JSON.parse(b) as k8s.V1Status; } catch { return { message: b }; } }
  return typeof b === "object" && b !== null ? (b as k8s.V1Status) : {};
}

/**
 * The exec credential plugin's command when `err` is its spawn failing with ENOENT (client-node
 * exec_auth.js rejects with Node's spawn error: code "ENOENT", syscall "spawn <command>", path
 * "<command>"), else undefined. Such a failure is never transient: retrying cannot install it.
 */
export function missingExecCommand(err: unknown): string | undefined {
  const e = thrownFields(err);
  if (e.code !== "ENOENT" || typeof e.syscall !== "string" || !e.syscall.startsWith("spawn")) return undefined;
  return String(e.path ?? e.syscall.replace(/^spawn\s*/, ""));
}

/**
 * One line for an operator — the one place the engine's doors (CLI, PoolDrainer, pool guard) word
 * an API failure: the server's Status message and HTTP code when the API answered (client-node's
 * ApiException message starts "HTTP-Code: 403", with the useful text buried in the body); a missing
 * exec credential plugin as "<command> not found on PATH: install it (<the kubeconfig's
 * installHint>)" (client-node ignores installHint, kubectl prints it:
 * k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go `installHintVerboseHelp`); else the
 * error's first line (network errors, aborts). `kc` supplies the installHint.
 */
export function errorText(err: unknown, kc?: k8s.KubeConfig): string {
  const command = missingExecCommand(err);
  if (command !== undefined) {
    // client-node types User.exec as `any`: the kubeconfig's exec block, read as an open object.
    const exec: unknown = kc?.getCurrentUser()?.exec;
    const hint = typeof exec === "object" && exec !== null ? (exec as { installHint?: unknown }).installHint : undefined;
    return `${command} not found on PATH: install it${typeof hint === "string" && hint.trim() ? ` (${hint.trim().replace(/\s*\n\s*/g, " ")})` : ""}`;
  }
  const code = statusOf(err);
  const message = code !== undefined ? statusBody(err)?.message : undefined;
  const text = typeof message === "string" && message ? message : String(thrownFields(err).message ?? err).split("\n")[0];
  return code !== undefined ? `${text} (HTTP ${code})` : text;
}

/** Retry-After in ms (seconds or HTTP date), if the error carries one. */
export function retryAfterMs(err: unknown): number | undefined {
  const h = thrownFields(err).headers ?? {};
  const v = h["retry-after"] ?? h["Retry-After"];
  if (v === undefined) {
    const s = statusBody(err)?.details?.retryAfterSeconds;
    return typeof s === "number" ? s * 1000 : undefined;
  }
  const n = Number(v);
  if (!Number.isNaN(n)) return n * 1000;
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** Worth retrying: network failure (no status; not a missing exec plugin), 5xx, 429, or 408 timeouts. */
export function isTransient(err: unknown): boolean {
  const s = statusOf(err);
  if (s === undefined) return thrownFields(err).name !== "AbortError" && missingExecCommand(err) === undefined;
  return s >= 500 || s === 429 || s === 408;
}

/** Exponential backoff with full jitter: random in [base, min(cap, base * 2^attempt)]. */
export function backoffMs(attempt: number, baseMs = 100, capMs = 5000, random: () => number = Math.random): number {
  const top = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return baseMs + random() * Math.max(0, top - baseMs);
}

/** A wait that ends early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done() { clearTimeout(t); signal?.removeEventListener("abort", done); resolve(); }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Longest one request may go unanswered before it is abandoned (and retried while the deadline allows). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Request options that tie the request to `signal` (client-node 1.4: RequestContext.setSignal, passed to fetch). */
export function withSignal(signal: AbortSignal, options?: k8s.ConfigurationOptions): k8s.ConfigurationOptions {
  const mw: k8s.ObservableMiddleware = {
    pre: (ctx: k8s.RequestContext) => { ctx.setSignal(signal); return new k8s.Observable(Promise.resolve(ctx)); },
    post: (res: k8s.ResponseContext) => new k8s.Observable(Promise.resolve(res)),
  };
  return { ...options, middleware: [...(options?.middleware ?? []), mw], middlewareMergeStrategy: "append" };
}

/** A retried request is reported on the first retry, then at most this often (ms). */
export const RETRY_REPORT_MS = 10_000;

/** A request that got no answer within its per-attempt limit (retried like a network failure). */
export class RequestTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

/** Counted, retrying access to the API. */
export class KubeClient {
  readonly core: k8s.CoreV1Api;
  readonly policy: k8s.PolicyV1Api;
  readonly apps: k8s.AppsV1Api;
  /** Requests by "<verb> <resource>", retries and watches included. */
  readonly requests: Record<string, number> = {};
  total = 0;

  /**
   * `signal` aborts requests in flight and stops retries. Every request is bounded by
   * `requestTimeoutMs` and by its deadline: a server that accepted the connection but never
   * answers must not hold the drain (or its clean-up) past its deadline.
   */
  /**
   * `retryLog` receives a progress line when a request is retried (network, 5xx, 429 …): on the
   * first retry, then at most every RETRY_REPORT_MS, naming the request and the cause, so a drain
   * that keeps failing to reach the cluster does not look idle until its deadline.
   */
  constructor(readonly kc: k8s.KubeConfig, readonly signal?: AbortSignal, readonly requestTimeoutMs = REQUEST_TIMEOUT_MS, private readonly retryLog?: (line: string) => void) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.policy = kc.makeApiClient(k8s.PolicyV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    // ONE listener on the caller's signal for the client's whole life, fanned out to the attempts in
    // flight: a listener per request (and per backoff sleep) put dozens on the drain's signal when
    // lists, cordons and retries ran in parallel, and Node warned MaxListenersExceededWarning (> 10).
    signal?.addEventListener("abort", () => { for (const c of this.attempts) c.abort(); }, { once: true });
  }

  /** Controllers of the attempts in flight (requests and their backoff sleeps), aborted with `signal`. */
  private readonly attempts = new Set<AbortController>();

  /** Retries so far (every request kind), and when one was last reported. */
  retries = 0;
  private lastRetryReport = -Infinity;

  /** Counts a retry of `kind` after `err`; reports it (throttled) through `retryLog`. */
  private reportRetry(kind: string, err: unknown, deadline: number): void {
    this.retries++;
    const now = Date.now();
    if (!this.retryLog || now - this.lastRetryReport < RETRY_REPORT_MS) return;
    this.lastRetryReport = now;
    try {
      this.retryLog(`retrying ${kind} (${this.retries} retr${this.retries === 1 ? "y" : "ies"} so far; gives up at the deadline in ${Math.max(0, Math.round((deadline - now) / 1000))} s): ${errorText(err, this.kc)}`);
    } catch { /* progress is best effort */ }
  }

  /** Counts one request. */
  count(kind: string): void {
    this.requests[kind] = (this.requests[kind] ?? 0) + 1;
    this.total++;
  }

  /**
   * Runs a request, retrying transient failures (network, 5xx, 429) with backoff and jitter until
   * `deadline` (epoch ms). Errors that are not transient, or `fatal(err)`, are thrown at once.
   */
  async call<T>(kind: string, fn: (options: k8s.ConfigurationOptions) => Promise<T>, deadline: number, fatal?: (err: unknown) => boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.signal?.aborted) throw abortError(this.signal);
      this.count(kind);
      const limit = Math.max(1, Math.min(this.requestTimeoutMs, deadline - Date.now()));
      const attemptCtrl = new AbortController();
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), limit);
      this.attempts.add(attemptCtrl);
      try {
        // The request ends on our timeout or on the caller's abort (attemptCtrl, via the fan-out).
        return await fn(withSignal(AbortSignal.any([attemptCtrl.signal, timeout.signal])));
      } catch (caught) {
        if (this.signal?.aborted) throw abortError(this.signal);
        // Our own timeout: a network failure like any other (the request may or may not have been applied).
        const err = timeout.signal.aborted ? new RequestTimeoutError(`${kind}: no answer within ${limit} ms`) : caught;
        if (!isTransient(err) || fatal?.(err)) throw err;
        const wait = retryAfterMs(err) ?? backoffMs(attempt);
        if (Date.now() + wait > deadline) throw err;
        this.reportRetry(kind, err, deadline);
        // The backoff ends early on the caller's abort only (the same fan-out, no listener of its own on the caller's signal).
        await sleep(wait + (statusOf(err) === 429 ? Math.random() * 100 : 0), attemptCtrl.signal);
      } finally {
        clearTimeout(timer);
        this.attempts.delete(attemptCtrl);
      }
    }
  }

  /** Lists all pages of a collection (limit/continue); returns the items and the list's resourceVersion. */
  async listAll<T>(kind: string, page: (cont: string | undefined, options?: k8s.ConfigurationOptions) => Promise<{ items: T[]; metadata?: k8s.V1ListMeta }>, deadline: number): Promise<Listed<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const res = await this.call(kind, (o) => page(cont, o), deadline);
      items.push(...res.items);
      cont = res.metadata?._continue || undefined;
      rv = res.metadata?.resourceVersion ?? rv;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  listNodes(deadline: number, labelSelector?: string) {
    return this.listAll("list nodes", (c, o) => this.core.listNode({ labelSelector, limit: 500, _continue: c }, o), deadline);
  }
  listPods(deadline: number) {
    return this.listAll("list pods", (c, o) => this.core.listPodForAllNamespaces({ limit: 500, _continue: c }, o), deadline);
  }
  listPdbs(deadline: number) {
    return this.listAll("list poddisruptionbudgets", (c, o) => this.policy.listPodDisruptionBudgetForAllNamespaces({ limit: 500, _continue: c }, o), deadline);
  }

  /** Scalable controllers (the implicit budget's expected pods). */
  listDeployments(deadline: number) {
    return this.listAll("list deployments", (c, o) => this.apps.listDeploymentForAllNamespaces({ limit: 500, _continue: c }, o), deadline);
  }
  listReplicaSets(deadline: number) {
    return this.listAll("list replicasets", (c, o) => this.apps.listReplicaSetForAllNamespaces({ limit: 500, _continue: c }, o), deadline);
  }
  listStatefulSets(deadline: number) {
    return this.listAll("list statefulsets", (c, o) => this.apps.listStatefulSetForAllNamespaces({ limit: 500, _continue: c }, o), deadline);
  }

  /**
   * Claims and volumes (volumes.ts: volumes that pin pods to the pool). A cluster that refuses them
   * (403: RBAC without persistentvolumes; 404) does not stop a plan: `unreadable` says why, and the
   * plan warns that volumes were not checked.
   */
  async listVolumes(deadline: number): Promise<{ claims: k8s.V1PersistentVolumeClaim[]; volumes: k8s.V1PersistentVolume[] } | { unreadable: string }> {
    try {
      const [claims, volumes] = await Promise.all([
        this.listAll("list persistentvolumeclaims", (c, o) => this.core.listPersistentVolumeClaimForAllNamespaces({ limit: 500, _continue: c }, o), deadline),
        this.listAll("list persistentvolumes", (c, o) => this.core.listPersistentVolume({ limit: 500, _continue: c }, o), deadline),
      ]);
      return { claims: claims.items, volumes: volumes.items };
    } catch (e) {
      const code = statusOf(e);
      if (code === 403 || code === 404) return { unreadable: errorText(e, this.kc) };
      throw e;
    }
  }

  /** Reads one node. */
  readNode(name: string, deadline: number): Promise<k8s.V1Node> {
    return this.call("get nodes", (o) => this.core.readNode({ name }, o), deadline);
  }

  /** Merge-patches a node (cordon/uncordon + annotation). */
  patchNode(name: string, body: object, deadline: number): Promise<k8s.V1Node> {
    return this.call("patch nodes", (o) => this.core.patchNode({ name, body }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch, o)), deadline);
  }

  /**
   * One eviction attempt (no retry: the caller owns 429/5xx policy). Bounded by requestTimeoutMs
   * (then rejected like a dropped connection); never aborted by `signal`: an eviction on the wire
   * is let settle so it is counted.
   */
  async evict(namespace: string, name: string, uid?: string): Promise<void> {
    this.count("create pods/eviction");
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.requestTimeoutMs);
    try {
      await this.core.createNamespacedPodEviction({
        name, namespace,
        body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace }, ...(uid ? { deleteOptions: { preconditions: { uid } } } : {}) },
      }, withSignal(ctrl.signal));
    } catch (err) {
      throw ctrl.signal.aborted ? new Error(`create pods/eviction ${namespace}/${name}: no answer within ${this.requestTimeoutMs} ms`) : err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The error thrown when the signal aborted. */
export function abortError(signal?: AbortSignal): Error {
  const e = new Error(`aborted${signal?.reason ? `: ${signal.reason instanceof Error ? signal.reason.message : String(signal.reason)}` : ""}`);
  e.name = "AbortError";
  return e;
}

/** One list result: every page's items and the list's resourceVersion (where a watch starts). */
export interface Listed<T> { items: T[]; resourceVersion: string }

/** Receives a watched collection of T (V1Pod, V1Node ...): a full (re)list, then individual events. */
export interface WatchSink<T> {
  /** Replace the whole collection (initial list and every re-list). */
  reset(items: T[]): void;
  /** One ADDED/MODIFIED/DELETED event. */
  event(type: string, obj: T): void;
}

/**
 * Keeps a collection in sync: list, then watch from the list's resourceVersion; when the watch
 * closes re-watch from the last resourceVersion seen (bookmarks included); on 410 Gone or an
 * error, back off and re-list. Stops with `stop()`.
 */
export class Reflector<T = unknown> {
  private rv = "";
  private stopped = false;
  private ctrl?: AbortController;
  private failures = 0;
  /** Number of (re)lists and (re)watches, for tests and the summary. */
  lists = 0;
  watches = 0;
  /** Last error that forced a re-list (for diagnostics). */
  lastError?: unknown;

  constructor(
    private readonly client: KubeClient,
    private readonly resource: string,           // "pods" | "poddisruptionbudgets"
    private readonly path: string,               // "/api/v1/pods"
    private readonly list: (deadline: number) => Promise<Listed<T>>,
    private readonly sink: WatchSink<T>,
    private readonly deadline: number,
    private readonly params: Record<string, string> = {}, // e.g. { labelSelector }
  ) {}

  /** Starts from an existing list result (avoids listing twice), or lists first. */
  async start(initial?: Listed<T>): Promise<void> {
    if (initial) { this.sink.reset(initial.items); this.rv = initial.resourceVersion; } else await this.relist();
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.ctrl?.abort();
  }

  private async relist(): Promise<void> {
    this.lists++;
    const r = await this.list(this.deadline);
    this.sink.reset(r.items);
    this.rv = r.resourceVersion;
  }

  private async loop(): Promise<void> {
    const w = new k8s.Watch(this.client.kc);
    while (!this.stopped && !this.client.signal?.aborted && Date.now() < this.deadline) {
      let needRelist = false;
      const err = await new Promise<unknown>((resolve) => {
        this.watches++;
        this.client.count(`watch ${this.resource}`);
        // The event's object is the server's JSON (client-node hands it over untyped): a T for
        // ADDED/MODIFIED/DELETED, a V1Status for ERROR, an object carrying only metadata for BOOKMARK.
        w.watch(this.path, { ...this.params, resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds: 300 }, (type: string, obj: T & { metadata?: k8s.V1ObjectMeta }) => {
          const v = obj?.metadata?.resourceVersion;
          if (type === "ERROR") {
            // Status object in the stream: 410 Expired/Gone means our resourceVersion is too old.
            this.lastError = obj;
            needRelist = true;
            this.ctrl?.abort();
            return;
          }
          if (v) this.rv = v;
          if (type === "BOOKMARK") return;
          this.failures = 0;
          try {
            this.sink.event(type, obj);
          } catch (e) {
            // client-node swallows exceptions from this callback: the event would be lost without a
            // trace and the cache stay wrong. Record it and re-list, which rebuilds the whole cache.
            this.lastError = e;
            needRelist = true;
            this.ctrl?.abort();
          }
        }, (e) => resolve(e)).then((c) => { this.ctrl = c; if (this.stopped) c.abort(); }, resolve);
      });
      if (this.stopped) return;
      // (a watch we aborted ourselves to re-list ends with an AbortError: keep the reason we had)
      if (err && !needRelist) this.lastError = err;
      if (err && statusOf(err) === 410) needRelist = true;
      // A closed or failed watch resumes from the last resourceVersion; only 410 Gone needs a re-list.
      // Back off when watches end without delivering anything (server closing at once, errors).
      if (err || needRelist || this.failures > 0) await sleep(backoffMs(this.failures, 20, 2000), this.client.signal);
      this.failures++;
      if (this.stopped) return;
      if (needRelist) {
        try { await this.relist(); } catch (e) { this.lastError = e; }
      }
    }
  }
}

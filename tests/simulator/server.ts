/**
 * The HTTP front of the simulator (node:http, 127.0.0.1 only): discovery, REST verbs for the
 * resources in resources.ts, watch, eviction, Table output for kubectl, seeded faults, and the
 * simulator's own endpoints (/simulator/report, /simulator/pools).
 */
import * as http from "node:http";
import { Socket } from "node:net";
import { Cluster, defaultPod, KUBE_VERSION, PoolSpec } from "./cluster";
import { evict, preconditionsHold } from "./eviction";
import { handleGkeRequest } from "./gkeUpgrade";
import { admitCreate } from "./namespaces";
import { nodeEndpoint } from "./nodefaults";
import { openapiDocument } from "./openapi";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch";
import { apiGroupList, apiResourceList, findResource, GROUPS, ResourceInfo } from "./resources";
import { notFound, StoreError, StoreEvent } from "./store";
import { toTable } from "./tables";
import {
  clone, FieldRequirement, matchesFields, matchesLabelSelector, matchesRequirements, mulberry32, Obj, objKey, parseFieldSelector,
  parseLabelSelector, randSuffix, Requirement,
} from "./util";

/** Seeded fault injection; rates are fractions of API requests (0..1). */
export interface Faults {
  seed: number;
  errorRate: number;       // answer 500 or 503
  retryAfterRate: number;  // answer 429 with Retry-After: 1
  dropRate: number;        // destroy the connection without an answer
  watchCloseRate: number;  // close a watch stream early (50-500 ms after it starts)
  latencyMs: number;       // added to every API request
  /** the next N evictions that reach the PDB status write answer 409 Conflict on the PDB (eviction.ts) */
  pdbConflicts: number;
  /** fraction of those evictions answered so (seeded) */
  pdbConflictRate: number;
}

export const NO_FAULTS: Faults = { seed: 1, errorRate: 0, retryAfterRate: 0, dropRate: 0, watchCloseRate: 0, latencyMs: 0, pdbConflicts: 0, pdbConflictRate: 0 };

interface Route {
  info: ResourceInfo;
  ns?: string;
  name?: string;
  sub?: string;
  watchPath: boolean;
}

function statusBody(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code };
}

class HttpError extends StoreError {}

function badRequest(msg: string): HttpError {
  return new HttpError(400, "BadRequest", msg);
}

export class ApiServer {
  private server: http.Server;
  private sockets = new Set<Socket>();
  private watches = new Set<() => void>();
  faults: Faults = { ...NO_FAULTS };
  private rand = mulberry32(1);
  log?: (line: string) => void;
  port = 0;

  constructor(private cluster: Cluster) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        if (!res.headersSent) this.sendError(res, e);
        else res.destroy();
      });
    });
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.server.keepAliveTimeout = 5000;
  }

  setFaults(f: Partial<Faults>): void {
    this.faults = { ...this.faults, ...f };
    // giving a seed restarts the fault sequence, so a run is reproducible from that point
    if (f.seed !== undefined) this.rand = mulberry32(this.faults.seed);
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.port = (this.server.address() as { port: number }).port;
        resolve(this.port);
      });
    });
  }

  close(): Promise<void> {
    for (const end of [...this.watches]) end();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      this.server.closeAllConnections?.();
    });
  }

  /** Whether this eviction's PDB status write loses all its retries (faults pdbConflicts, pdbConflictRate). */
  private pdbConflict(): boolean {
    if (this.faults.pdbConflicts > 0) {
      this.faults.pdbConflicts--;
      return true;
    }
    return this.faults.pdbConflictRate > 0 && this.rand() < this.faults.pdbConflictRate;
  }

  // ------------------------------------------------------------------ plumbing

  private send(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Content-Length": Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendError(res: http.ServerResponse, e: unknown): void {
    if (e instanceof StoreError) {
      const headers: Record<string, string> = {};
      if (e.details?.retryAfterSeconds) headers["Retry-After"] = String(e.details.retryAfterSeconds);
      this.send(res, e.code, statusBody(e.code, e.reason, e.message, e.details), headers);
    } else {
      const msg = (e as Error)?.message ?? String(e);
      this.send(res, 500, statusBody(500, "InternalError", `Internal error occurred: ${msg}`));
    }
  }

  private readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  }

  private async jsonBody(req: http.IncomingMessage): Promise<any> {
    const ct = (req.headers["content-type"] ?? "").toLowerCase();
    if (ct.includes("protobuf") || ct.includes("cbor")) {
      throw new StoreError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
    }
    const text = await this.readBody(req);
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`the object provided is unrecognized (must be JSON): ${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------------ dispatch

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method ?? "GET";
    this.log?.(`${method} ${req.url} accept=${req.headers.accept ?? ""} ct=${req.headers["content-type"] ?? ""}`);

    if (path.startsWith("/simulator")) return this.handleSimulator(req, res, path, method);
    if (path === "/version") {
      this.cluster.recorder.countRequest("get", "version");
      const [maj, min] = KUBE_VERSION.slice(1).split(".");
      return this.send(res, 200, { major: maj, minor: min, gitVersion: KUBE_VERSION, gitCommit: "simulator", gitTreeState: "clean", buildDate: "2026-01-01T00:00:00Z", goVersion: "go1.24", compiler: "gc", platform: "linux/amd64" });
    }
    if (path === "/healthz" || path === "/readyz" || path === "/livez") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
      return;
    }
    const discovery = this.discovery(path);
    if (discovery) {
      this.cluster.recorder.countRequest("get", "discovery");
      return this.send(res, 200, discovery);
    }
    if (path.startsWith("/openapi")) {
      this.cluster.recorder.countRequest("get", "openapi");
      const doc = method === "GET" ? openapiDocument(path) : undefined;
      if (doc === undefined) return this.send(res, 404, statusBody(404, "NotFound", "the server could not find the requested resource"));
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Content-Length": Buffer.byteLength(doc) });
      res.end(doc);
      return;
    }

    const route = this.route(path);
    if (!route) {
      this.cluster.recorder.countRequest(method.toLowerCase(), "unknown");
      return this.send(res, 404, statusBody(404, "NotFound", "the server could not find the requested resource", { }));
    }
    const isWatch = route.watchPath || (method === "GET" && ["1", "true"].includes(url.searchParams.get("watch") ?? ""));
    const verb = isWatch ? "watch" : verbOf(method, !!route.name);
    this.cluster.recorder.countRequest(verb, route.sub ? `${route.info.plural}/${route.sub}` : route.info.plural);

    // faults (API requests only; discovery and /version stay clean so clients can start)
    const f = this.faults;
    if (f.latencyMs > 0) await new Promise((r) => this.cluster.timers.after(f.latencyMs, () => r(undefined)));
    if (f.dropRate || f.errorRate || f.retryAfterRate) {
      const r = this.rand();
      if (r < f.dropRate) {
        req.socket.destroy();
        return;
      }
      if (r < f.dropRate + f.errorRate) {
        const code = this.rand() < 0.5 ? 500 : 503;
        return this.send(res, code, statusBody(code, code === 500 ? "InternalError" : "ServiceUnavailable", code === 500 ? "Internal error occurred: injected fault" : "the server is currently unable to handle the request"));
      }
      if (r < f.dropRate + f.errorRate + f.retryAfterRate) {
        return this.send(res, 429, statusBody(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds: 1 }), { "Retry-After": "1" });
      }
    }

    const q = url.searchParams;
    const dryRun = q.getAll("dryRun").includes("All");
    const named = !!route.name;
    let allowed: boolean;
    if (route.sub === "eviction") allowed = named && verb === "create";
    else if (route.sub) allowed = named && ["get", "update", "patch"].includes(verb);
    else if (named) allowed = ["get", "update", "patch", "delete", "watch"].includes(verb);
    else allowed = ["list", "watch", "create", "deletecollection"].includes(verb);
    if (!allowed) {
      throw new StoreError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", { kind: route.info.plural });
    }
    switch (verb) {
      case "watch": return this.watch(req, res, route, q);
      case "list": return this.list(req, res, route, q);
      case "get": return this.get(req, res, route, q);
      case "create": return this.create(req, res, route, dryRun);
      case "update": return this.update(req, res, route, dryRun);
      case "patch": return this.patch(req, res, route, dryRun);
      case "delete": return this.delete(req, res, route, q, dryRun);
      case "deletecollection": return this.deleteCollection(req, res, route, q, dryRun);
    }
    throw new StoreError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
  }

  private discovery(path: string): Obj | undefined {
    if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: `127.0.0.1:${this.port}` }] };
    if (path === "/api/v1") return apiResourceList("", "v1");
    if (path === "/apis") return apiGroupList();
    const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const g = GROUPS.find((x) => x.name === m[1]);
      if (!g) return undefined;
      if (!m[2]) return { kind: "APIGroup", apiVersion: "v1", name: g.name, versions: [{ groupVersion: `${g.name}/${g.version}`, version: g.version }], preferredVersion: { groupVersion: `${g.name}/${g.version}`, version: g.version } };
      if (m[2] === g.version) return apiResourceList(g.name, g.version);
    }
    return undefined;
  }

  private route(path: string): Route | undefined {
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    let group = "";
    let version: string;
    let rest: string[];
    if (parts[0] === "api") {
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === "apis") {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
    } else return undefined;
    let watchPath = false;
    if (rest[0] === "watch") {
      watchPath = true;
      rest = rest.slice(1);
    }
    let ns: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3 && !(rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize"))) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const info = findResource(group, version, rest[0]);
    if (!info || rest.length > 3) return undefined;
    if (info.namespaced === false && ns) return undefined;
    const sub = rest[2];
    if (sub && !info.subresources.includes(sub)) return undefined;
    return { info, ns, name: rest[1], sub, watchPath };
  }

  // ------------------------------------------------------------------ reads

  private selectors(q: URLSearchParams): { labels: Requirement[]; fields: FieldRequirement[] } {
    try {
      return { labels: parseLabelSelector(q.get("labelSelector")), fields: parseFieldSelector(q.get("fieldSelector")) };
    } catch (e) {
      throw badRequest((e as Error).message);
    }
  }

  private matching(route: Route, q: URLSearchParams): Obj[] {
    const { labels, fields } = this.selectors(q);
    const items = this.cluster.store.list(route.info.plural, route.ns).filter((o) => matchesRequirements(labels, o.metadata.labels) && matchesFields(fields, o));
    items.sort((a, b) => (objKey(a) < objKey(b) ? -1 : objKey(a) > objKey(b) ? 1 : 0));
    return items;
  }

  private sortedCache = new Map<string, { rv: number; items: Obj[]; keys: string[] }>();

  private wantsTable(req: http.IncomingMessage): boolean {
    return /as=Table/.test(req.headers.accept ?? "");
  }

  /**
   * A collection sorted by key (the order kube-apiserver lists in), cached until the next change:
   * paging a 30,000-pod list (limit/continue) then costs one sort, not one per page.
   */
  private sortedCollection(plural: string, ns: string | undefined): { items: Obj[]; keys: string[] } {
    const k = `${plural}/${ns ?? ""}`;
    const rv = this.cluster.store.rv;
    let c = this.sortedCache.get(k);
    if (!c || c.rv !== rv) {
      const keyed = this.cluster.store.list(plural, ns).map((o) => [objKey(o), o] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      if (this.sortedCache.size > 64) this.sortedCache.clear();
      c = { rv, items: keyed.map((x) => x[1]), keys: keyed.map((x) => x[0]) };
      this.sortedCache.set(k, c);
    }
    return c;
  }

  private list(req: http.IncomingMessage, res: http.ServerResponse, route: Route, q: URLSearchParams): void {
    const { labels, fields } = this.selectors(q);
    const sorted = this.sortedCollection(route.info.plural, route.ns);
    const rv = String(this.cluster.store.rv);
    const meta: Obj = { resourceVersion: rv };
    const cont = q.get("continue");
    let from = 0;
    if (cont) {
      let start: string;
      try {
        start = JSON.parse(Buffer.from(cont, "base64").toString("utf8")).start;
      } catch {
        throw badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
      }
      // first key after `start` (binary search)
      let lo = 0, hi = sorted.keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted.keys[mid] <= start) lo = mid + 1; else hi = mid;
      }
      from = lo;
    }
    let items: Obj[] = [];
    for (let i = from; i < sorted.items.length; i++) {
      const o = sorted.items[i];
      if (matchesRequirements(labels, o.metadata.labels) && matchesFields(fields, o)) items.push(o);
    }
    const limit = parseInt(q.get("limit") ?? "0", 10);
    if (limit > 0 && items.length > limit) {
      const page = items.slice(0, limit);
      meta.continue = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: Number(rv), start: objKey(page[page.length - 1]) })).toString("base64");
      meta.remainingItemCount = items.length - limit;
      items = page;
    }
    if (this.wantsTable(req)) return this.send(res, 200, toTable(route.info.plural, items, meta, new URLSearchParams(req.url?.split("?")[1] ?? "").get("includeObject")));
    const info = route.info;
    this.send(res, 200, { kind: `${info.kind}List`, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, metadata: meta, items });
  }

  private lookup(route: Route): Obj {
    return this.cluster.store.get(route.info.plural, route.ns, route.name!);
  }

  private get(req: http.IncomingMessage, res: http.ServerResponse, route: Route, q: URLSearchParams): void {
    const o = this.lookup(route);
    if (route.sub === "scale") return this.send(res, 200, scaleOf(o));
    if (this.wantsTable(req)) return this.send(res, 200, toTable(route.info.plural, [o], { resourceVersion: String(this.cluster.store.rv) }, q.get("includeObject")));
    this.send(res, 200, o);
  }

  private watch(req: http.IncomingMessage, res: http.ServerResponse, route: Route, q: URLSearchParams): void {
    const store = this.cluster.store;
    const { labels, fields } = this.selectors(q);
    if (route.name) fields.push({ field: "metadata.name", op: "=", value: route.name });
    const plural = route.info.plural;
    const matches = (o: Obj | undefined) => !!o && (!route.ns || o.metadata.namespace === route.ns) && matchesRequirements(labels, o.metadata.labels) && matchesFields(fields, o);
    const rvParam = q.get("resourceVersion");
    const timeout = parseInt(q.get("timeoutSeconds") ?? "0", 10);
    const asTable = this.wantsTable(req);
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    let ended = false;
    const write = (type: string, object: Obj) => {
      if (ended) return;
      const o = asTable && type !== "ERROR" && type !== "BOOKMARK" ? toTable(plural, [object], { resourceVersion: object.metadata.resourceVersion }, q.get("includeObject")) : object;
      res.write(JSON.stringify({ type, object: o }) + "\n");
    };
    const onEvent = (e: StoreEvent) => {
      if (e.plural !== plural) return;
      const now = matches(e.type === "DELETED" ? e.object : e.object);
      const before = e.type === "MODIFIED" ? matches(e.old) : false;
      if (e.type === "ADDED" && now) write("ADDED", e.object);
      else if (e.type === "DELETED" && now) write("DELETED", e.object);
      else if (e.type === "MODIFIED") {
        if (now && before) write("MODIFIED", e.object);
        else if (now && !before) write("ADDED", e.object);
        else if (!now && before) write("DELETED", e.object);
      }
    };
    let timer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      this.watches.delete(end);
      listeners.delete(onEvent);
      this.cluster.timers.cancel(timer);
      this.cluster.timers.cancel(closeTimer);
      res.end();
    };
    const listeners = this.watchListeners();
    if (rvParam && rvParam !== "0") {
      const since = Number(rvParam);
      const events = Number.isNaN(since) ? undefined : store.eventsSince(since, plural);
      if (!events) {
        write("ERROR", statusBody(410, "Expired", `too old resource version: ${rvParam} (${store.oldestRv})`));
        ended = true;
        res.end();
        return;
      }
      for (const e of events) onEvent(e);
    } else {
      for (const o of this.matching(route, new URLSearchParams())) if (matches(o)) write("ADDED", o);
    }
    listeners.add(onEvent);
    this.watches.add(end);
    req.on("close", end);
    res.on("close", end);
    if (timeout > 0) timer = this.cluster.timers.after(timeout * 1000, end);
    if (this.faults.watchCloseRate > 0 && this.rand() < this.faults.watchCloseRate) {
      closeTimer = this.cluster.timers.after(50 + Math.floor(this.rand() * 450), end);
    }
  }

  private listenerSet?: Set<(e: StoreEvent) => void>;
  private watchListeners(): Set<(e: StoreEvent) => void> {
    if (!this.listenerSet) {
      const set = new Set<(e: StoreEvent) => void>();
      this.listenerSet = set;
      this.cluster.store.onEvent((e) => { for (const l of set) l(e); });
    }
    return this.listenerSet;
  }

  // ------------------------------------------------------------------ writes

  private checkNamespace(route: Route, o: Obj): void {
    if (!route.info.namespaced) {
      if (o.metadata) delete o.metadata.namespace;
      return;
    }
    if (o.metadata.namespace && route.ns && o.metadata.namespace !== route.ns) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    o.metadata.namespace = route.ns ?? o.metadata.namespace;
    if (!o.metadata.namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    if (!this.cluster.store.peek("namespaces", o.metadata.namespace)) throw notFound("namespaces", o.metadata.namespace);
    admitCreate(this.cluster, o.metadata.namespace, route.info.plural, route.info.group, o.metadata.name || o.metadata.generateName);
  }

  private async create(req: http.IncomingMessage, res: http.ServerResponse, route: Route, dryRun: boolean): Promise<void> {
    const body = await this.jsonBody(req);
    if (route.sub === "eviction") {
      if (!route.name) throw new StoreError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
      const r = evict(this.cluster, route.ns!, route.name, body, dryRun, () => this.pdbConflict());
      const headers: Record<string, string> = r.body.details?.retryAfterSeconds ? { "Retry-After": String(r.body.details.retryAfterSeconds) } : {};
      return this.send(res, r.code, r.body, headers);
    }
    if (route.name || route.sub) throw new StoreError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    const o = this.prepareCreate(route, body);
    if (dryRun) return this.send(res, 201, { ...o, metadata: { ...o.metadata, uid: "dry-run", creationTimestamp: new Date().toISOString() } });
    const created = this.cluster.store.create(route.info.plural, o);
    this.send(res, 201, created);
  }

  /** Validation and defaulting for a new object (name, namespace, kind-specific checks). */
  prepareCreate(route: Route, body: any): Obj {
    const info = route.info;
    if (!body || typeof body !== "object") throw badRequest("the object provided is unrecognized (empty body)");
    if (body.kind && body.kind !== info.kind) throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${info.group ? info.group + "/" : ""}${info.version}) or kind ${body.kind} is not ${info.kind}`);
    const o = clone(body);
    o.metadata = o.metadata ?? {};
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}${randSuffix()}`;
    if (!o.metadata.name) throw invalid(info, "", [{ field: "metadata.name", message: "name or generateName is required" }]);
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.metadata.name) || o.metadata.name.length > 253) {
      throw invalid(info, o.metadata.name, [{ field: "metadata.name", message: `Invalid value: "${o.metadata.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` }]);
    }
    this.checkNamespace(route, o);
    validateSpec(info, o);
    return defaultObject(info.plural, o);
  }

  private async update(req: http.IncomingMessage, res: http.ServerResponse, route: Route, dryRun: boolean): Promise<void> {
    const body = await this.jsonBody(req);
    if (!body?.metadata) throw badRequest("the object provided is unrecognized (missing metadata)");
    if (body.metadata.name && body.metadata.name !== route.name) throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${route.name})`);
    const old = this.lookup(route);
    if (route.sub === "scale") return this.writeScale(res, route, old, body.spec?.replicas, body.metadata?.resourceVersion, dryRun);
    const next = this.merge(route, old, body);
    if (dryRun) return this.send(res, 200, next);
    this.send(res, 200, this.cluster.store.update(route.info.plural, next, body.metadata.resourceVersion));
  }

  /** Status subresource writes keep the spec; main-resource writes keep the status. */
  private merge(route: Route, old: Obj, incoming: Obj): Obj {
    const o = clone(incoming);
    o.metadata = { ...o.metadata, name: old.metadata.name, ...(old.metadata.namespace ? { namespace: old.metadata.namespace } : {}) };
    const hasStatus = route.info.subresources.includes("status");
    if (route.sub === "status") {
      const kept = clone(old);
      kept.status = o.status;
      kept.metadata.resourceVersion = o.metadata.resourceVersion;
      return kept;
    }
    if (hasStatus) o.status = clone(old.status);
    validateSpec(route.info, o);
    return o;
  }

  private writeScale(res: http.ServerResponse, route: Route, old: Obj, replicas: unknown, rv: string | undefined, dryRun: boolean): void {
    if (typeof replicas !== "number" || replicas < 0) throw invalid(route.info, old.metadata.name, [{ field: "spec.replicas", message: "Invalid value: must be greater than or equal to 0" }]);
    const next = clone(old);
    next.spec.replicas = replicas;
    const saved = dryRun ? next : this.cluster.store.update(route.info.plural, next, rv);
    this.send(res, 200, scaleOf(saved));
  }

  private async patch(req: http.IncomingMessage, res: http.ServerResponse, route: Route, dryRun: boolean): Promise<void> {
    const ct = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    const body = await this.jsonBody(req);
    const old = this.lookup(route);
    const base = route.sub === "scale" ? scaleOf(old) : old;
    let patched: Obj;
    try {
      if (ct === "application/merge-patch+json") patched = mergePatch(base, body);
      else if (ct === "application/strategic-merge-patch+json") patched = strategicMergePatch(base, body);
      else if (ct === "application/json-patch+json") patched = jsonPatch(base, body);
      else if (ct === "application/apply-patch+yaml" || ct === "application/apply-patch+cbor") {
        throw new StoreError(415, "UnsupportedMediaType", "server-side apply is not supported by the simulator; use a merge, strategic-merge or JSON patch");
      } else {
        throw new StoreError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
      }
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(422, "Invalid", `the server rejected our request due to an error in our request: ${(e as Error).message}`);
    }
    // a resourceVersion in the patch is a precondition (optimistic concurrency), as in kube-apiserver
    const rvPre = patched.metadata?.resourceVersion !== base.metadata?.resourceVersion ? patched.metadata?.resourceVersion : undefined;
    if (route.sub === "scale") return this.writeScale(res, route, old, patched.spec?.replicas, rvPre, dryRun);
    const next = this.merge(route, old, patched);
    if (rvPre === undefined) next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (dryRun) return this.send(res, 200, next);
    this.send(res, 200, this.cluster.store.update(route.info.plural, next, rvPre ?? old.metadata.resourceVersion));
  }

  private async deleteOptions(req: http.IncomingMessage, q: URLSearchParams): Promise<Obj> {
    const body = (await this.jsonBody(req)) ?? {};
    const opts: Obj = { ...body };
    if (q.get("gracePeriodSeconds") !== null) opts.gracePeriodSeconds = parseInt(q.get("gracePeriodSeconds")!, 10);
    if (q.get("propagationPolicy")) opts.propagationPolicy = q.get("propagationPolicy");
    return opts;
  }

  private async delete(req: http.IncomingMessage, res: http.ServerResponse, route: Route, q: URLSearchParams, dryRun: boolean): Promise<void> {
    if (route.sub) throw new StoreError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    const opts = await this.deleteOptions(req, q);
    const o = this.lookup(route);
    preconditionsHold(opts.preconditions, o, route.info.kind, route.info.group);
    if (dryRun) return this.send(res, 200, o);
    const after = this.cluster.deleteObject(route.info.plural, objKey(o), opts.gracePeriodSeconds, "api", opts.propagationPolicy === "Orphan" || opts.orphanDependents === true);
    this.send(res, 200, after ?? o);
  }

  private async deleteCollection(req: http.IncomingMessage, res: http.ServerResponse, route: Route, q: URLSearchParams, dryRun: boolean): Promise<void> {
    const opts = await this.deleteOptions(req, q);
    const items = this.matching(route, q);
    if (!dryRun) for (const o of items) this.cluster.deleteObject(route.info.plural, objKey(o), opts.gracePeriodSeconds, "api", opts.propagationPolicy === "Orphan");
    const info = route.info;
    this.send(res, 200, { kind: `${info.kind}List`, apiVersion: info.group ? `${info.group}/${info.version}` : info.version, metadata: { resourceVersion: String(this.cluster.store.rv) }, items });
  }

  // ------------------------------------------------------------------ simulator endpoints

  private async handleSimulator(req: http.IncomingMessage, res: http.ServerResponse, path: string, method: string): Promise<void> {
    if (path === "/simulator/report" && method === "GET") return this.send(res, 200, this.cluster.recorder.report());
    // GKE's upgrade strategies and its draining pool deletion (gkeUpgrade.ts)
    const query = new URL(req.url ?? "/", "http://127.0.0.1").searchParams;
    const gke = await handleGkeRequest(this.cluster, method, path, query, () => this.jsonBody(req));
    if (gke) return this.send(res, gke.code, gke.body);
    if (path === "/simulator/pools" && method === "POST") {
      const spec = (await this.jsonBody(req)) as PoolSpec;
      let nodes: string[];
      try {
        nodes = this.cluster.addPool(spec);
      } catch (e) {
        throw badRequest((e as Error).message);
      }
      return this.send(res, 201, { pool: spec.name, nodes });
    }
    if (path === "/simulator/pools" && method === "GET") {
      const pools: Record<string, string[]> = {};
      for (const n of this.cluster.store.list("nodes")) {
        const p = n.metadata.labels?.["cloud.google.com/gke-nodepool"];
        if (p) (pools[p] = pools[p] ?? []).push(n.metadata.name);
      }
      return this.send(res, 200, { pools });
    }
    const m = /^\/simulator\/pools\/([^/]+)$/.exec(path);
    if (m && method === "DELETE") {
      let nodes: string[];
      try {
        nodes = this.cluster.deletePool(decodeURIComponent(m[1]));
      } catch (e) {
        throw new StoreError(404, "NotFound", (e as Error).message);
      }
      return this.send(res, 200, { pool: m[1], deletedNodes: nodes });
    }
    if (path.startsWith("/simulator/nodes/")) {
      const r = nodeEndpoint(this.cluster, method, path, await this.jsonBody(req));
      if (r) return this.send(res, r.code, r.body);
    }
    if (path === "/simulator/faults" && method === "POST") {
      this.setFaults((await this.jsonBody(req)) ?? {});
      return this.send(res, 200, this.faults);
    }
    throw new StoreError(404, "NotFound", `no simulator endpoint ${method} ${path}`);
  }
}

function verbOf(method: string, named: boolean): string {
  switch (method) {
    case "GET": return named ? "get" : "list";
    case "POST": return "create";
    case "PUT": return "update";
    case "PATCH": return "patch";
    case "DELETE": return named ? "delete" : "deletecollection";
    default: return method.toLowerCase();
  }
}

function invalid(info: ResourceInfo, name: string, causes: { field: string; message: string }[]): StoreError {
  const kind = info.group ? `${info.kind}.${info.group}` : info.kind;
  return new StoreError(422, "Invalid", `${kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
    { name, ...(info.group ? { group: info.group } : {}), kind: info.kind, causes: causes.map((c) => ({ reason: "FieldValueInvalid", message: c.message, field: c.field })) });
}

/** The checks the simulator makes beyond well-formed JSON: selectors matching templates, PDB exclusivity. */
function validateSpec(info: ResourceInfo, o: Obj): void {
  if (["deployments", "replicasets", "statefulsets", "daemonsets"].includes(info.plural)) {
    const sel = o.spec?.selector;
    if (!sel || (!sel.matchLabels && !sel.matchExpressions)) throw invalid(info, o.metadata.name, [{ field: "spec.selector", message: "Required value" }]);
    if (!matchesLabelSelector(sel, o.spec?.template?.metadata?.labels)) {
      throw invalid(info, o.metadata.name, [{ field: "spec.template.metadata.labels", message: `Invalid value: ${JSON.stringify(o.spec?.template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\`` }]);
    }
  }
  if (info.plural === "poddisruptionbudgets") {
    const s = o.spec ?? {};
    if (s.minAvailable !== undefined && s.minAvailable !== null && s.maxUnavailable !== undefined && s.maxUnavailable !== null) {
      throw invalid(info, o.metadata.name, [{ field: "spec", message: "Invalid value: minAvailable and maxUnavailable cannot be both set" }]);
    }
    for (const f of ["minAvailable", "maxUnavailable"]) {
      const v = s[f];
      if (v === undefined || v === null) continue;
      if (!(typeof v === "number" && v >= 0) && !(typeof v === "string" && /^\d+%$/.test(v))) {
        throw invalid(info, o.metadata.name, [{ field: `spec.${f}`, message: `Invalid value: ${JSON.stringify(v)}: must be a non-negative integer or a percentage` }]);
      }
    }
    if (s.unhealthyPodEvictionPolicy && !["IfHealthyBudget", "AlwaysAllow"].includes(s.unhealthyPodEvictionPolicy)) {
      throw invalid(info, o.metadata.name, [{ field: "spec.unhealthyPodEvictionPolicy", message: `Unsupported value: "${s.unhealthyPodEvictionPolicy}": supported values: "AlwaysAllow", "IfHealthyBudget"` }]);
    }
  }
  if (info.plural === "pods" && !Array.isArray(o.spec?.containers)) {
    throw invalid(info, o.metadata.name, [{ field: "spec.containers", message: "Required value" }]);
  }
}

/** Defaults applied on create, per kind. */
export function defaultObject(plural: string, o: Obj): Obj {
  switch (plural) {
    case "pods": return defaultPod(o);
    case "deployments":
      o.spec.replicas = o.spec.replicas ?? 1;
      o.spec.strategy = o.spec.strategy ?? { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } };
      o.spec.revisionHistoryLimit = o.spec.revisionHistoryLimit ?? 10;
      o.spec.progressDeadlineSeconds = o.spec.progressDeadlineSeconds ?? 600;
      break;
    case "replicasets":
    case "statefulsets":
      o.spec.replicas = o.spec.replicas ?? 1;
      if (plural === "statefulsets") {
        o.spec.podManagementPolicy = o.spec.podManagementPolicy ?? "OrderedReady";
        o.spec.updateStrategy = o.spec.updateStrategy ?? { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
      }
      break;
    case "daemonsets":
      o.spec.updateStrategy = o.spec.updateStrategy ?? { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      break;
    case "jobs":
      o.spec.parallelism = o.spec.parallelism ?? 1;
      o.spec.completions = o.spec.completions ?? 1;
      o.spec.backoffLimit = o.spec.backoffLimit ?? 6;
      break;
    case "namespaces":
      o.spec = o.spec ?? { finalizers: ["kubernetes"] };
      o.status = { phase: "Active" };
      o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": o.metadata.name };
      break;
    case "nodes":
      o.spec = o.spec ?? {};
      break;
    case "persistentvolumeclaims":
      o.spec = o.spec ?? {};
      o.status = { phase: "Pending" };
      break;
    case "persistentvolumes":
      o.spec = o.spec ?? {};
      o.status = { phase: "Pending" };
      break;
  }
  if (o.metadata.annotations && Object.keys(o.metadata.annotations).length === 0) delete o.metadata.annotations;
  return o;
}

function scaleOf(o: Obj): Obj {
  return {
    kind: "Scale", apiVersion: "autoscaling/v1",
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
    spec: { replicas: o.spec?.replicas ?? 1 },
    status: { replicas: o.status?.replicas ?? 0, selector: "" },
  };
}

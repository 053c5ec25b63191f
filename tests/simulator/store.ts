/**
 * In-memory object store: one global resourceVersion counter (like etcd's revision), uid,
 * generation and timestamps, indexes (by namespace, pods by node, dependents by owner uid) and
 * a bounded event log so watches can resume from a resourceVersion (older ones get 410 Gone).
 */
import { randomUUID } from "node:crypto";
import { ResourceInfo } from "./resources";
import { clone, nowIso, Obj, objKey } from "./util";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  plural: string;
  rv: number;
  object: Obj;       // the object after the change (for DELETED: last state with the deletion rv)
  old?: Obj;         // previous state (MODIFIED/DELETED)
}

export class StoreError extends Error {
  constructor(public code: number, public reason: string, message: string, public details?: Obj) {
    super(message);
  }
}

export function notFound(plural: string, name: string, group = ""): StoreError {
  return new StoreError(404, "NotFound", `${group ? `${plural}.${group}` : plural} "${name}" not found`, { name, kind: plural, ...(group ? { group } : {}) });
}

export function conflict(plural: string, name: string, group = ""): StoreError {
  const what = group ? `${plural}.${group}` : plural;
  return new StoreError(409, "Conflict",
    `Operation cannot be fulfilled on ${what} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: plural, ...(group ? { group } : {}) });
}

const specCache = new WeakMap<Obj, string>();
/** Everything but metadata and status, serialized (generation bumps when it changes); cached per stored object. */
function specOf(o: Obj): string {
  let s = specCache.get(o);
  if (s === undefined) {
    const { metadata, status, ...rest } = o;
    void metadata; void status;
    s = JSON.stringify(rest);
    specCache.set(o, s);
  }
  return s;
}

/** Whether an update changes what the indexes look at (node binding, owners). */
function indexChanged(a: Obj, b: Obj): boolean {
  if (a.spec?.nodeName !== b.spec?.nodeName) return true;
  const ra = a.metadata.ownerReferences;
  const rb = b.metadata.ownerReferences;
  if (!ra && !rb) return false;
  if (!ra || !rb || ra.length !== rb.length) return true;
  for (let i = 0; i < ra.length; i++) if (ra[i].uid !== rb[i].uid) return true;
  return false;
}

export class Store {
  rv = 1;
  private objects = new Map<string, Map<string, Obj>>();
  private byNs = new Map<string, Map<string, Set<string>>>();
  private podsByNodeIdx = new Map<string, Set<string>>();
  private byOwner = new Map<string, Map<string, Set<string>>>(); // owner uid -> plural -> keys
  private log: StoreEvent[] = [];
  private logStart = 0; // index into a virtual infinite log
  /** The oldest resourceVersion a watch can still resume from. */
  oldestRv = 1;
  private listeners: ((e: StoreEvent) => void)[] = [];

  constructor(public resources: ResourceInfo[], private logCapacity = 50_000) {
    for (const r of resources) this.objects.set(r.plural, new Map());
  }

  onEvent(fn: (e: StoreEvent) => void): void {
    this.listeners.push(fn);
  }

  info(plural: string): ResourceInfo {
    const r = this.resources.find((x) => x.plural === plural);
    if (!r) throw new Error(`unknown resource ${plural}`);
    return r;
  }

  /** Returns the stored object (NOT a copy: callers must not mutate it). */
  peek(plural: string, key: string): Obj | undefined {
    return this.objects.get(plural)!.get(key);
  }

  get(plural: string, ns: string | undefined, name: string): Obj {
    const key = ns ? `${ns}/${name}` : name;
    const o = this.objects.get(plural)!.get(key);
    if (!o) throw notFound(plural, name, this.info(plural).group);
    return o;
  }

  /** All objects of a kind, optionally in one namespace (stored objects, do not mutate). */
  list(plural: string, ns?: string): Obj[] {
    const m = this.objects.get(plural)!;
    if (!ns) return [...m.values()];
    const keys = this.byNs.get(plural)?.get(ns);
    if (!keys) return [];
    const out: Obj[] = [];
    for (const k of keys) {
      const o = m.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  count(plural: string): number {
    return this.objects.get(plural)!.size;
  }

  podsOnNode(node: string): Obj[] {
    const keys = this.podsByNodeIdx.get(node);
    if (!keys) return [];
    const m = this.objects.get("pods")!;
    return [...keys].map((k) => m.get(k)!).filter(Boolean);
  }

  /** Objects (of `plural`, or any kind) whose ownerReferences name `uid`. */
  dependents(uid: string, plural?: string): { plural: string; obj: Obj }[] {
    const out: { plural: string; obj: Obj }[] = [];
    const byPlural = this.byOwner.get(uid);
    if (!byPlural) return out;
    for (const [p, keys] of byPlural) {
      if (plural && p !== plural) continue;
      const m = this.objects.get(p)!;
      for (const k of keys) {
        const o = m.get(k);
        if (o) out.push({ plural: p, obj: o });
      }
    }
    return out;
  }

  private index(plural: string, o: Obj, add: boolean): void {
    const key = objKey(o);
    const ns = o.metadata.namespace;
    if (ns) {
      let m = this.byNs.get(plural);
      if (!m) this.byNs.set(plural, (m = new Map()));
      let s = m.get(ns);
      if (!s) m.set(ns, (s = new Set()));
      if (add) s.add(key); else s.delete(key);
    }
    if (plural === "pods" && o.spec?.nodeName) {
      let s = this.podsByNodeIdx.get(o.spec.nodeName);
      if (!s) this.podsByNodeIdx.set(o.spec.nodeName, (s = new Set()));
      if (add) s.add(key); else s.delete(key);
    }
    for (const ref of o.metadata.ownerReferences ?? []) {
      if (!ref.uid) continue;
      let byPlural = this.byOwner.get(ref.uid);
      if (!byPlural) {
        if (!add) continue;
        this.byOwner.set(ref.uid, (byPlural = new Map()));
      }
      let keys = byPlural.get(plural);
      if (!keys) {
        if (!add) continue;
        byPlural.set(plural, (keys = new Set()));
      }
      if (add) keys.add(key);
      else {
        keys.delete(key);
        if (keys.size === 0) byPlural.delete(plural);
        if (byPlural.size === 0) this.byOwner.delete(ref.uid);
      }
    }
  }

  private emit(e: StoreEvent): void {
    this.log.push(e);
    if (this.log.length > this.logCapacity) {
      const drop = Math.floor(this.logCapacity / 4);
      this.log.splice(0, drop);
      this.logStart += drop;
      this.oldestRv = this.log[0].rv;
    }
    for (const l of this.listeners) l(e);
  }

  /** Events after `rv` (exclusive) for a resource, or undefined if that rv is too old (410). */
  eventsSince(rv: number, plural: string): StoreEvent[] | undefined {
    if (rv < this.oldestRv - 1) return undefined;
    // binary search first event with e.rv > rv
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid].rv <= rv) lo = mid + 1; else hi = mid;
    }
    return this.log.slice(lo).filter((e) => e.plural === plural);
  }

  /** Inserts a new object; fills uid, resourceVersion, generation, creationTimestamp. */
  create(plural: string, input: Obj): Obj {
    const r = this.info(plural);
    const o = clone(input);
    o.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    o.kind = r.kind;
    o.metadata = o.metadata ?? {};
    const key = objKey(o);
    const m = this.objects.get(plural)!;
    if (m.has(key)) {
      throw new StoreError(409, "AlreadyExists", `${r.group ? `${plural}.${r.group}` : plural} "${o.metadata.name}" already exists`,
        { name: o.metadata.name, kind: plural, ...(r.group ? { group: r.group } : {}) });
    }
    this.rv++;
    o.metadata.uid = randomUUID();
    o.metadata.resourceVersion = String(this.rv);
    o.metadata.generation = 1;
    o.metadata.creationTimestamp = nowIso();
    delete o.metadata.deletionTimestamp;
    m.set(key, o);
    this.index(plural, o, true);
    this.emit({ type: "ADDED", plural, rv: this.rv, object: o });
    return o;
  }

  /**
   * Replaces an object. `expectRv` (if given) must match the stored resourceVersion (409 otherwise).
   * Keeps immutable metadata; bumps generation when anything outside metadata/status changed.
   */
  update(plural: string, input: Obj, expectRv?: string, internal = false): Obj {
    const r = this.info(plural);
    const key = objKey(input);
    const m = this.objects.get(plural)!;
    const old = m.get(key);
    if (!old) throw notFound(plural, input.metadata.name, r.group);
    if (expectRv !== undefined && expectRv !== "" && expectRv !== old.metadata.resourceVersion) {
      throw conflict(plural, input.metadata.name, r.group);
    }
    const o = input === old ? clone(input) : input;
    o.apiVersion = old.apiVersion;
    o.kind = old.kind;
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    o.metadata.generation = old.metadata.generation;
    if (!internal) {
      // clients cannot set or clear deletion fields; only DELETE does
      if (old.metadata.deletionTimestamp) {
        o.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
        o.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      } else {
        delete o.metadata.deletionTimestamp;
        delete o.metadata.deletionGracePeriodSeconds;
      }
    }
    if (specOf(o) !== specOf(old)) o.metadata.generation = (old.metadata.generation ?? 1) + 1;
    this.rv++;
    o.metadata.resourceVersion = String(this.rv);
    const reindex = indexChanged(old, o);
    if (reindex) this.index(plural, old, false);
    m.set(key, o);
    if (reindex) this.index(plural, o, true);
    this.emit({ type: "MODIFIED", plural, rv: this.rv, object: o, old });
    return o;
  }

  /** Low-level mutation used by controllers: copy, mutate, store (no rv check). Returns the new object or undefined if gone. */
  mutate(plural: string, key: string, fn: (o: Obj) => boolean | void): Obj | undefined {
    const old = this.objects.get(plural)!.get(key);
    if (!old) return undefined;
    const o = clone(old);
    if (fn(o) === false) return old;
    return this.update(plural, o, undefined, true);
  }

  /** Marks an object as being deleted (graceful), returning the new state. */
  markDeleting(plural: string, key: string, graceSeconds: number): Obj | undefined {
    return this.mutate(plural, key, (o) => {
      if (o.metadata.deletionTimestamp) {
        // a shorter grace period may replace a longer one, as kube-apiserver allows
        if (graceSeconds >= (o.metadata.deletionGracePeriodSeconds ?? 0)) return false;
      }
      o.metadata.deletionTimestamp = o.metadata.deletionTimestamp ?? nowIso();
      o.metadata.deletionGracePeriodSeconds = graceSeconds;
    });
  }

  /** Removes an object for good (DELETED event). */
  remove(plural: string, key: string): Obj | undefined {
    const m = this.objects.get(plural)!;
    const old = m.get(key);
    if (!old) return undefined;
    m.delete(key);
    this.index(plural, old, false);
    this.rv++;
    const o = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.emit({ type: "DELETED", plural, rv: this.rv, object: o, old });
    return o;
  }

  /** Object counts per resource (debugging). */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [p, m] of this.objects) out[p] = m.size;
    return out;
  }
}

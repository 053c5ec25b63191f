/**
 * Small helpers shared by the simulator: label/field selectors, resource quantities, tolerations,
 * node affinity, a seeded PRNG, and a timer registry that stop() can clear in one call.
 */

/** A Kubernetes object as plain JSON. */
export type Obj = Record<string, any>;

/** Deep copy of a JSON value (drops undefined properties, as a JSON round trip would). */
export function clone<T>(o: T): T {
  if (o === null || typeof o !== "object") return o;
  if (Array.isArray(o)) {
    const a: any[] = new Array(o.length);
    for (let i = 0; i < o.length; i++) a[i] = o[i] === undefined ? null : clone(o[i]);
    return a as T;
  }
  if (o instanceof Date) return o.toISOString() as T;
  const out: any = {};
  for (const k in o) {
    const v = (o as any)[k];
    if (v !== undefined && typeof v !== "function") out[k] = clone(v);
  }
  return out;
}

/** "<namespace>/<name>" or "<name>" for cluster-scoped objects. */
export function objKey(o: Obj): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata.name}` : o.metadata.name;
}

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"; // apimachinery's utilrand alphabet
/** Random suffix like apimachinery's SimpleNameGenerator (5 chars). */
export function randSuffix(n = 5): string {
  let s = "";
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}

/** Stable short hash (FNV-1a, base36) used for pod-template-hash and revision labels. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, "0").slice(0, 10);
}

/** Deterministic PRNG for seeded faults (shared with the tests). */
export { mulberry32 } from "../support/prng";

/** Every timer the simulator starts goes through here so stop() can clear them all. */
export class Timers {
  private handles = new Set<NodeJS.Timeout>();
  private immediates = new Set<NodeJS.Immediate>();
  stopped = false;
  after(ms: number, fn: () => void): NodeJS.Timeout | undefined {
    if (this.stopped) return undefined;
    const h = setTimeout(() => {
      this.handles.delete(h);
      fn();
    }, Math.max(0, ms));
    this.handles.add(h);
    return h;
  }
  cancel(h: NodeJS.Timeout | undefined): void {
    if (!h) return;
    clearTimeout(h);
    this.handles.delete(h);
  }
  soon(fn: () => void): void {
    if (this.stopped) return;
    const h = setImmediate(() => {
      this.immediates.delete(h);
      fn();
    });
    this.immediates.add(h);
  }
  clearAll(): void {
    this.stopped = true;
    for (const h of this.handles) clearTimeout(h);
    for (const h of this.immediates) clearImmediate(h);
    this.handles.clear();
    this.immediates.clear();
  }
}

// ---------------------------------------------------------------- quantities

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

/** Parses a resource.Quantity ("100m", "1.5", "128Mi", "1e3") to a number in base units. */
export function parseQuantity(q: unknown): number {
  if (q === undefined || q === null || q === "") return 0;
  if (typeof q === "number") return q;
  const m = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(String(q).trim());
  if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got ${JSON.stringify(q)})`);
  const base = parseFloat(m[1]);
  if (m[2]) return base * Math.pow(10, parseInt(m[2].slice(1), 10));
  return base * SUFFIX[m[3] ?? ""];
}

/** Pod resource requests (cpu in cores, memory in bytes): sum of containers, max with init containers. */
export function podRequests(pod: Obj): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += parseQuantity(c.resources?.requests?.cpu);
    memory += parseQuantity(c.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    cpu = Math.max(cpu, parseQuantity(c.resources?.requests?.cpu));
    memory = Math.max(memory, parseQuantity(c.resources?.requests?.memory));
  }
  return { cpu, memory };
}

// ---------------------------------------------------------------- label selectors

export interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!";
  values: string[];
}

/** Parses a label selector string (=, ==, !=, in, notin, exists, !key). Throws on bad syntax. */
export function parseLabelSelector(s: string | undefined | null): Requirement[] {
  const out: Requirement[] = [];
  if (!s) return out;
  // split on commas not inside parentheses
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  for (let p of parts) {
    p = p.trim();
    if (!p) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) {
      out.push({ key: m[1], op: m[2] as "in" | "notin", values: m[3].split(",").map((v) => v.trim()).filter((v) => v !== "") });
    } else if ((m = /^([^\s!=()]+)\s*!=\s*([^\s!=(),]*)$/.exec(p))) {
      out.push({ key: m[1], op: "!=", values: [m[2]] });
    } else if ((m = /^([^\s!=()]+)\s*==?\s*([^\s!=(),]*)$/.exec(p))) {
      out.push({ key: m[1], op: "=", values: [m[2]] });
    } else if ((m = /^!\s*([^\s!=()]+)$/.exec(p))) {
      out.push({ key: m[1], op: "!", values: [] });
    } else if ((m = /^([^\s!=()]+)$/.exec(p))) {
      out.push({ key: m[1], op: "exists", values: [] });
    } else {
      throw new Error(`unable to parse requirement: ${p}`);
    }
  }
  return out;
}

export function matchesRequirements(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=": if (!has || v !== r.values[0]) return false; break;
      case "!=": if (has && v === r.values[0]) return false; break;
      case "in": if (!has || !r.values.includes(v)) return false; break;
      case "notin": if (has && r.values.includes(v)) return false; break;
      case "exists": if (!has) return false; break;
      case "!": if (has) return false; break;
    }
  }
  return true;
}

/** metav1.LabelSelector (matchLabels + matchExpressions) match. Empty/nil selector: `emptyMatches`. */
export function matchesLabelSelector(sel: Obj | undefined | null, labels: Record<string, string> | undefined, emptyMatches = false): boolean {
  if (!sel || (!sel.matchLabels && !(sel.matchExpressions?.length))) return emptyMatches;
  if (sel.matchLabels && Object.keys(sel.matchLabels).length === 0 && !(sel.matchExpressions?.length)) return emptyMatches;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    switch (e.operator) {
      case "In": if (!has || !(e.values ?? []).includes(l[e.key])) return false; break;
      case "NotIn": if (has && (e.values ?? []).includes(l[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- field selectors

export interface FieldRequirement { field: string; op: "=" | "!="; value: string }

export const SUPPORTED_FIELDS = ["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.unschedulable", "involvedObject.name", "involvedObject.kind"];

export function parseFieldSelector(s: string | undefined | null): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (!s) return out;
  for (let p of s.split(",")) {
    p = p.trim();
    if (!p) continue;
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(p);
    if (!m) throw new Error(`invalid selector: '${s}'; can't understand '${p}'`);
    out.push({ field: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] });
  }
  return out;
}

function fieldValue(o: Obj, field: string): string {
  let v: any = o;
  for (const part of field.split(".")) v = v?.[part];
  if (v === undefined || v === null) return "";
  return String(v);
}

export function matchesFields(reqs: FieldRequirement[], o: Obj): boolean {
  for (const r of reqs) {
    const v = fieldValue(o, r.field);
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}

// ---------------------------------------------------------------- scheduling predicates

/** v1.Toleration.ToleratesTaint */
export function tolerates(tols: Obj[] | undefined, taint: Obj): boolean {
  for (const t of tols ?? []) {
    if (t.effect && t.effect !== taint.effect) continue;
    if (t.operator === "Exists") {
      if (!t.key || t.key === taint.key) return true;
      continue;
    }
    if (t.key === taint.key && (t.value ?? "") === (taint.value ?? "")) return true;
  }
  return false;
}

/** Every NoSchedule/NoExecute taint of the node is tolerated. */
export function toleratesNode(tols: Obj[] | undefined, node: Obj): boolean {
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect === "PreferNoSchedule") continue;
    if (!tolerates(tols, taint)) return false;
  }
  return true;
}

function matchNodeSelectorRequirement(e: Obj, value: string | undefined): boolean {
  const has = value !== undefined;
  const vals: string[] = e.values ?? [];
  switch (e.operator) {
    case "In": return has && vals.includes(value!);
    case "NotIn": return !has || !vals.includes(value!);
    case "Exists": return has;
    case "DoesNotExist": return !has;
    case "Gt": return has && parseInt(value!, 10) > parseInt(vals[0], 10);
    case "Lt": return has && parseInt(value!, 10) < parseInt(vals[0], 10);
    default: return false;
  }
}

/** nodeSelector + requiredDuringSchedulingIgnoredDuringExecution node affinity. */
export function nodeMatchesPod(podSpec: Obj, node: Obj): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(podSpec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms: Obj[] | undefined = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return nodeSelectorTermsMatch(terms, node);
}

/** A NodeSelector's terms (ORed; an empty term matches nothing) against a node (component-helpers MatchNodeSelectorTerms). */
export function nodeSelectorTermsMatch(terms: Obj[], node: Obj): boolean {
  const labels = node.metadata?.labels ?? {};
  return terms.some((term) => {
    const exprs: Obj[] = term.matchExpressions ?? [];
    const fields: Obj[] = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false; // empty term matches nothing
    return exprs.every((e) => matchNodeSelectorRequirement(e, labels[e.key])) &&
      fields.every((e) => e.key === "metadata.name" && matchNodeSelectorRequirement(e, node.metadata.name));
  });
}

/** The node name a pod is pinned to by matchFields metadata.name In [x] (DaemonSet pods), if any. */
export function pinnedNodeName(podSpec: Obj): string | undefined {
  const terms: Obj[] | undefined = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms || terms.length !== 1) return undefined;
  const f = terms[0].matchFields?.find((e: Obj) => e.key === "metadata.name" && e.operator === "In" && e.values?.length === 1);
  return f?.values[0];
}

// ---------------------------------------------------------------- pod helpers

export function isPodReady(pod: Obj): boolean {
  return (pod.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

export function isNodeReady(node: Obj): boolean {
  return (node.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

export function isTerminal(pod: Obj): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

export function controllerRef(o: Obj): Obj | undefined {
  return (o.metadata?.ownerReferences ?? []).find((r: Obj) => r.controller);
}

/** intstr scaled value (GetScaledValueFromIntOrPercent). */
export function scaledValue(v: number | string | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    const n = parseInt(v, 10);
    if (Number.isNaN(n)) throw new Error(`invalid value for IntOrString: invalid value "${v}"`);
    return n;
  }
  const x = (parseInt(m[1], 10) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** Sets (or replaces) a condition by type; returns true if anything changed. */
export function setCondition(conds: Obj[], c: Obj): boolean {
  const i = conds.findIndex((x) => x.type === c.type);
  if (i >= 0) {
    const old = conds[i];
    if (old.status === c.status && old.reason === c.reason && old.message === c.message) return false;
    conds[i] = { ...c, lastTransitionTime: old.status === c.status ? old.lastTransitionTime : c.lastTransitionTime };
    return true;
  }
  conds.push(c);
  return true;
}

/** kubectl-style short age ("5s", "3m", "2h", "4d"). */
export function shortAge(iso: string | undefined): string {
  if (!iso) return "<unknown>";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

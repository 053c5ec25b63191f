/**
 * Label selectors, node affinity and taints/tolerations, evaluated the way the API server and
 * scheduler do (k8s.io/apimachinery labels, k8s.io/component-helpers nodeaffinity, v1 helper
 * TolerationsTolerateTaint). Plain functions over plain objects so snapshots from JSON work too
 * (client-node's model types are plain-object shapes, imported as types only).
 */
import type { V1Affinity, V1Taint, V1Toleration } from "@kubernetes/client-node";

export type Labels = Record<string, string> | undefined;

/** A requirement: key, operator and values (both LabelSelector and node-selector shapes fit). */
export interface Requirement { key: string; operator: string; values?: string[] }

/** metav1.LabelSelector: matchLabels AND matchExpressions. An empty selector matches everything. */
export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] }

/** Evaluates one requirement against labels (operators In, NotIn, Exists, DoesNotExist, Gt, Lt). */
export function matchRequirement(r: Requirement, labels: Labels): boolean {
  const has = !!labels && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key] : undefined;
  switch (r.operator) {
    case "In": case "in": case "=": case "==": return has && (r.values ?? []).includes(v!);
    case "NotIn": case "notin": case "!=": return !has || !(r.values ?? []).includes(v!);
    case "Exists": case "exists": return has;
    case "DoesNotExist": case "!": return !has;
    case "Gt": return has && Number(v) > Number((r.values ?? [])[0]);
    case "Lt": return has && Number(v) < Number((r.values ?? [])[0]);
    default: throw new Error(`unsupported selector operator "${r.operator}" for key "${r.key}"`);
  }
}

/** True when labels satisfy a metav1.LabelSelector (null/undefined selector matches nothing, like PDBs). */
export function matchLabelSelector(sel: LabelSelector | undefined | null, labels: Labels): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (!labels || labels[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) if (!matchRequirement(r, labels)) return false;
  return true;
}

/**
 * Parses a string selector ("a=b,c!=d,e,!f,g in (x,y),h notin (z)") into requirements.
 * Throws a clear error naming the bad part.
 */
export function parseSelector(text: string): Requirement[] {
  const out: Requirement[] = [];
  const parts = text.match(/[^,()]+(\([^)]*\))?/g) ?? [];
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      out.push({ key: m[1], operator: m[2], values: m[3].split(",").map((s) => s.trim()).filter(Boolean) });
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(p))) {
      out.push({ key: m[1], operator: m[2], values: [m[3]] });
    } else if ((m = /^!\s*([\w./-]+)$/.exec(p))) {
      out.push({ key: m[1], operator: "!" });
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      out.push({ key: m[1], operator: "exists" });
    } else {
      throw new Error(`invalid label selector part "${p}" in "${text}" (use e.g. "key=value,other in (a,b)")`);
    }
  }
  return out;
}

/** True when labels satisfy every requirement. */
export function matchRequirements(reqs: Requirement[], labels: Labels): boolean {
  for (const r of reqs) if (!matchRequirement(r, labels)) return false;
  return true;
}

/** The parts of a node (V1Node) that scheduling constraints read. */
interface NodeLike { metadata?: { name?: string; labels?: Record<string, string> }; spec?: { taints?: V1Taint[] } }

/** Required node affinity: terms are ORed, expressions within a term ANDed (matchFields: metadata.name only). */
export function matchNodeAffinity(affinity: V1Affinity | undefined, node: NodeLike): boolean {
  const req = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = req?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  const fields = { "metadata.name": node.metadata?.name ?? "" };
  return terms.some((t) => {
    const exprs: Requirement[] = t.matchExpressions ?? [];
    const fexprs: Requirement[] = t.matchFields ?? [];
    if (exprs.length === 0 && fexprs.length === 0) return false; // empty term matches nothing
    return exprs.every((r) => matchRequirement(r, node.metadata?.labels)) &&
      fexprs.every((r) => matchRequirement(r, fields));
  });
}

/** One toleration tolerates one taint (v1 helper ToleratesTaint semantics). */
export function tolerates(tol: V1Toleration, taint: V1Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  if (!tol.key && tol.operator !== "Exists") return false;
  if (tol.operator === "Exists") return true;
  return (tol.value ?? "") === (taint.value ?? "");
}

/** Taints with NoSchedule/NoExecute that none of the tolerations tolerate. */
export function untoleratedTaints(tolerations: V1Toleration[] | undefined, node: NodeLike): V1Taint[] {
  return (node.spec?.taints ?? []).filter((t) =>
    (t.effect === "NoSchedule" || t.effect === "NoExecute") && !(tolerations ?? []).some((tol) => tolerates(tol, t)));
}

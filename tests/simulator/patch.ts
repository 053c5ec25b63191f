/**
 * Patch flavours kube-apiserver accepts on PATCH: JSON merge patch (RFC 7386), strategic merge
 * patch (for the list fields the simulator's resources use) and JSON patch (RFC 6902, via fast-json-patch).
 */
import { applyPatch } from "fast-json-patch";
import { clone, Obj } from "./util";

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return clone(patch);
  const out: Obj = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * patchMergeKey of list fields (from k8s.io/api types' `patchStrategy:"merge" patchMergeKey:"..."` tags).
 * Keyed by field name; lists not named here are replaced, as for fields without a patch strategy.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: "name", initContainers: "name", ephemeralContainers: "name", volumes: "name", env: "name",
  volumeMounts: "mountPath", ports: "containerPort", imagePullSecrets: "name", conditions: "type",
  taints: "key", ownerReferences: "uid", addresses: "type", containerStatuses: "name", hostAliases: "ip",
  topologySpreadConstraints: "topologyKey", podIPs: "ip", hostIPs: "ip",
};
/** Primitive lists with patchStrategy merge (union). */
const PRIMITIVE_MERGE = new Set(["finalizers"]);

/** Strategic merge patch with $patch: delete/replace, $retainKeys ignored, $setElementOrder ignored, $deleteFromPrimitiveList. */
export function strategicMergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return clone(patch);
  if (patch.$patch === "replace") {
    const { $patch, ...rest } = patch;
    void $patch;
    return clone(rest);
  }
  if (patch.$patch === "delete") return undefined;
  const out: Obj = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/")) continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const f = k.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(out[f])) out[f] = out[f].filter((x: any) => !(v as any[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      const mk = MERGE_KEYS[k];
      if (mk && Array.isArray(out[k])) out[k] = mergeList(out[k], v, mk);
      else if (PRIMITIVE_MERGE.has(k) && Array.isArray(out[k])) out[k] = [...out[k], ...v.filter((x) => !out[k].includes(x))];
      else out[k] = clone(v).filter((x: any) => !(x && typeof x === "object" && x.$patch));
      continue;
    }
    const r = strategicMergePatch(out[k], v);
    if (r === undefined) delete out[k]; else out[k] = r;
  }
  return out;
}

function mergeList(base: any[], patch: any[], key: string): any[] {
  if (patch.some((x) => x && x.$patch === "replace")) return clone(patch.filter((x) => !(x && x.$patch)));
  const out = base.map((x) => clone(x));
  for (const item of patch) {
    if (!item || typeof item !== "object") continue;
    const i = out.findIndex((x) => x && x[key] === item[key]);
    if (item.$patch === "delete") {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMergePatch(out[i], item);
    else out.push(strategicMergePatch({}, item));
  }
  return out;
}

/** RFC 6902 JSON patch; throws with the failing operation on error. */
export function jsonPatch(target: any, ops: any): any {
  if (!Array.isArray(ops)) throw new Error("json patch must be an array of operations");
  const doc = clone(target);
  const res = applyPatch(doc, ops, true, true);
  return res.newDocument;
}

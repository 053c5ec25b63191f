/**
 * OpenAPI v3 discovery, as much of it as kubectl's validation needs (kube-apiserver serves the same
 * endpoints: k8s.io/kube-openapi/pkg/handler3):
 *  - GET /openapi/v3: the index `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}`;
 *  - GET /openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>: one document per group-version with
 *    the paths of the resources served and their operations, each tagged with
 *    x-kubernetes-group-version-kind and x-kubernetes-action.
 * `kubectl apply|create` (1.27+, `--validate=strict` by default) asks the v3 document whether the
 * PATCH operation of the object's kind takes the `fieldValidation` query parameter
 * (k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go, supportsQueryParamV3); it does here,
 * so kubectl leaves validation to the server and needs no schema. The simulator accepts
 * `fieldValidation` but does not reject unknown fields (no schemas): a typo in a manifest is
 * silently dropped, as with `--validate=false`.
 * The PATCH request bodies list JSON and merge patch only: when a document advertises strategic merge
 * patch, `kubectl apply` computes it from the document's schemas (Patcher.gvkSupportsPatchOpenAPIV3),
 * which this one does not carry; without it kubectl computes the same patch from its compiled-in
 * types. `/openapi/v2` stays 404 (kubectl explain and kubectl diff need schemas: not served).
 */
import { createHash } from "node:crypto";
import { KUBE_VERSION } from "./model";
import { GROUPS, RESOURCES, ResourceInfo } from "./resources";
import { Obj } from "./util";

/** `api/v1` or `apis/<group>/<version>`, the index key of a group-version. */
function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const GROUP_VERSIONS = [{ group: "", version: "v1" }, ...GROUPS.map((g) => ({ group: g.name, version: g.version }))];

function param(name: string, in_: "query" | "path", description: string): Obj {
  return { name, in: in_, description, ...(in_ === "path" ? { required: true } : {}), schema: { type: "string", uniqueItems: true } };
}

const FIELD_VALIDATION = param("fieldValidation", "query", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.");
const DRY_RUN = param("dryRun", "query", "When present, indicates that modifications should not be persisted.");
const OK = { 200: { description: "OK" }, 401: { description: "Unauthorized" } };

function op(r: ResourceInfo, action: string, id: string, extra: Obj = {}): Obj {
  return {
    description: `${action} ${r.kind}`,
    operationId: `${action}${r.kind}${id}`,
    responses: OK,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": { group: r.group, version: r.version, kind: r.kind },
    ...extra,
  };
}

/** The OpenAPI v3 document of one group-version (paths and operations; no schemas). */
function gvDocument(group: string, version: string): Obj {
  const paths: Obj = {};
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const body = { content: { "application/json": { schema: { type: "object" } } }, required: true };
  const patchBody = { content: { "application/json-patch+json": { schema: { type: "object" } }, "application/merge-patch+json": { schema: { type: "object" } } }, required: true };
  for (const r of RESOURCES.filter((x) => x.group === group && x.version === version)) {
    const base = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
    const scope = r.namespaced ? [param("namespace", "path", "object name and auth scope, such as for teams and projects")] : [];
    paths[base] = {
      parameters: scope,
      get: op(r, "list", r.namespaced ? "Namespaced" : ""),
      post: op(r, "post", r.namespaced ? "Namespaced" : "", { parameters: [DRY_RUN, FIELD_VALIDATION], requestBody: body }),
    };
    paths[`${base}/{name}`] = {
      parameters: [param("name", "path", `name of the ${r.kind}`), ...scope],
      get: op(r, "get", "ByName"),
      put: op(r, "put", "ByName", { parameters: [DRY_RUN, FIELD_VALIDATION], requestBody: body }),
      patch: op(r, "patch", "ByName", { parameters: [DRY_RUN, FIELD_VALIDATION], requestBody: patchBody }),
      delete: op(r, "delete", "ByName", { parameters: [DRY_RUN] }),
    };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: KUBE_VERSION }, paths, components: {} };
}

const documents = new Map<string, { text: string; hash: string }>();
for (const gv of GROUP_VERSIONS) {
  const text = JSON.stringify(gvDocument(gv.group, gv.version));
  documents.set(gvPath(gv.group, gv.version), { text, hash: createHash("sha512").update(text).digest("hex").toUpperCase() });
}

/** Body for GET `path` under /openapi (undefined: not served, 404). */
export function openapiDocument(path: string): string | undefined {
  if (path === "/openapi/v3") {
    const paths: Obj = {};
    for (const [k, d] of documents) paths[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=${d.hash}` };
    return JSON.stringify({ paths });
  }
  const m = /^\/openapi\/v3\/(.+)$/.exec(path);
  return m ? documents.get(m[1])?.text : undefined;
}

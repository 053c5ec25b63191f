/**
 * GitHub's own workflow parser, `@actions/workflow-parser` (the parser behind the Actions language
 * service): the workflow schema (every key, its type, where each expression context such as
 * `matrix`, `needs` or `inputs` is allowed) and the conversion to the model the runner plans jobs
 * from (needs, strategy, matrix, concurrency, environment).
 *
 * The package is ESM and imports its schema JSON without an import attribute, which Node rejects
 * (ERR_IMPORT_ASSERTION_TYPE_MISSING); bundlers accept it. A module load hook (node:module
 * `register`, Node >= 20.6) adds `type: "json"` for .json imports that lack one, then the package
 * is imported natively.
 */
import { register } from "node:module";

/** What parsing one workflow gave. */
export interface ParsedWorkflow {
  /** Schema and expression-context errors (`file (Line: L, Col: C): message`), then conversion errors (empty = valid). */
  errors: string[];
  /** The converted model (`jobs`, `events`, `concurrency`, ...), as the parser's WorkflowTemplate. */
  template: { jobs?: unknown[]; errors?: { Message: string }[] } & Record<string, unknown>;
}

const JSON_ATTRIBUTE_HOOK = `export async function load(url, context, next) {
  if (url.endsWith(".json") && !(context.importAttributes && context.importAttributes.type)) {
    return next(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return next(url, context);
}`;

// A real dynamic import (ts-node would compile `import()` to `require`, which cannot load this ESM package).
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<any>;

let parser: Promise<any> | undefined;

/** Load the parser once (registering the JSON hook first). */
function load(): Promise<any> {
  if (!parser) {
    register("data:text/javascript," + encodeURIComponent(JSON_ATTRIBUTE_HOOK));
    parser = importEsm("@actions/workflow-parser");
  }
  return parser;
}

/** Parse and convert workflow `content` (named `name` in messages) with GitHub's parser. */
export async function parseWorkflowFile(name: string, content: string): Promise<ParsedWorkflow> {
  const wp = await load();
  const parsed = wp.parseWorkflow({ name, content }, new wp.NoOperationTraceWriter());
  const errors: string[] = parsed.context.errors.getErrors().map((e: { message: string }) => e.message);
  const template = parsed.value ? await wp.convertWorkflowTemplate(parsed.context, parsed.value) : {};
  for (const e of template.errors ?? []) errors.push(e.Message);
  return { errors, template };
}

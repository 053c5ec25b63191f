/**
 * Surgical edits of a `Pulumi.<stack>.yaml` file.
 *
 * The file is parsed with the `yaml` package's Document API (which records the source range of
 * every node), and each edit splices new text into exactly the bytes of the node it changes.
 * Everything else — comments, their alignment, key order, blank lines, quoting and flow/block
 * style — stays byte-for-byte what the user wrote. (Re-stringifying the whole Document would keep
 * comments but re-align them and re-space flow collections, which makes review diffs noisy.)
 *
 * Only the shapes `bump`/`promote` need are supported: scalar values of a pool (block map inside
 * the `nodepool-rotation:pools` sequence) or of the `nodepool-rotation:cluster` block map, and the
 * `nodepool-rotation:poolNameHistory` map.
 * Anything else is a `StackFileError` naming the file and the key, raised before anything is written.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, isSeq, parse, parseDocument, Document, Pair, Scalar, YAMLMap } from "yaml";

/** Pulumi project name: the namespace of this program's config keys. */
export const PROJECT = "nodepool-rotation";
/** Config key of the pool list. */
export const POOLS_KEY = `${PROJECT}:pools`;
/** Config key of the cluster map (`controlPlaneVersion` is the field bump edits). */
export const CLUSTER_KEY = `${PROJECT}:cluster`;
/** Config key of the per-role list of pool names this stack has used (maintained by bump/promote). */
export const HISTORY_KEY = `${PROJECT}:poolNameHistory`;

/** A bad or unsupported stack file; the message names the file, the key and the fix. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/** Path of a stack's settings file: `<dir>/Pulumi.<stack>.yaml`. */
export function stackFilePath(dir: string, stack: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
    throw new StackFileError(`--stack "${stack}" is not a valid Pulumi stack name (letters, digits, "-", "_", ".")`);
  }
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** A pool entry as read from the file (plain JS values). */
export type RawPool = Record<string, unknown> & { role?: unknown };

/**
 * An in-memory `Pulumi.<stack>.yaml`: the original text plus the edits applied so far.
 * Nothing touches the disk until `save()`.
 */
export class StackFile {
  /** The file's text before any edit. */
  readonly original: string;
  private current: string;
  private doc!: Document.Parsed;

  private constructor(readonly file: string, text: string) {
    this.original = text;
    this.current = text;
    this.reparse();
  }

  /** Read and parse `file`; throws `StackFileError` if it is missing or not valid YAML. */
  static load(file: string): StackFile {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new StackFileError(`cannot read stack file ${file}: ${(e as Error).message}`);
    }
    return new StackFile(file, text);
  }

  /** Parse `text` as if read from `file` (tests, dry runs). */
  static fromText(file: string, text: string): StackFile {
    return new StackFile(file, text);
  }

  /** The text with every edit applied so far. */
  get text(): string {
    return this.current;
  }

  /** Whether any edit changed the text. */
  get changed(): boolean {
    return this.current !== this.original;
  }

  /** The `config:` map as plain JS (Pulumi's view of the stack config). */
  config(): Record<string, unknown> {
    const js = this.doc.toJS() as { config?: unknown } | null;
    const config = js?.config;
    if (config === undefined || config === null || typeof config !== "object" || Array.isArray(config)) {
      throw new StackFileError(`${this.file}: no "config:" map at the top level (is this a Pulumi stack settings file?)`);
    }
    return config as Record<string, unknown>;
  }

  /** The pools as plain JS, in file order. */
  pools(): RawPool[] {
    return this.poolNodes().map((m) => m.toJS(this.doc) as RawPool);
  }

  /** One pool by role, as plain JS; throws naming the roles that exist when it is missing. */
  pool(role: string): RawPool {
    this.poolNode(role);
    return this.pools().find((p) => p.role === role)!;
  }

  /** Names this stack has used for `role`'s pool, oldest first (empty when none recorded). */
  history(role: string): string[] {
    const value = this.config()[HISTORY_KEY];
    if (value === undefined || value === null) return [];
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new StackFileError(`${this.file}: ${HISTORY_KEY} must be a map of role -> list of pool names`);
    }
    const list = (value as Record<string, unknown>)[role];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list) || list.some((n) => typeof n !== "string")) {
      throw new StackFileError(`${this.file}: ${HISTORY_KEY}.${role} must be a list of pool names`);
    }
    return list as string[];
  }

  /**
   * Set a scalar field of `role`'s pool, keeping the existing quoting style; adds the key at the
   * end of the pool's map when missing. Strings that YAML would read as another type (dates stay
   * strings in YAML 1.2, but other parsers may differ) are double-quoted when newly written.
   */
  setPoolField(role: string, key: string, value: string | number): void {
    this.setField(this.poolNode(role), `pool "${role}"`, key, value);
  }

  /** Set a scalar field of the `nodepool-rotation:cluster` map (same rules as `setPoolField`). */
  setClusterField(key: string, value: string | number): void {
    const cluster = this.configNode().get(CLUSTER_KEY, true);
    if (!isMap(cluster) || cluster.flow) {
      throw new StackFileError(`${this.file}: ${CLUSTER_KEY} must be a block map to let bump edit it`);
    }
    this.setField(cluster, CLUSTER_KEY, key, value);
  }

  /** Remove a field of `role`'s pool (its whole line, including a trailing comment); no-op when absent. */
  deletePoolField(role: string, key: string): void {
    const map = this.poolNode(role);
    const pair = findPair(map, key);
    if (!pair) return;
    const keyNode = pair.key as Scalar;
    const value = pair.value as Scalar | null;
    if (!isScalar(value) || !value.range || !keyNode.range) {
      throw new StackFileError(`${this.file}: pool "${role}" field "${key}" is not a plain value; remove it by hand`);
    }
    if (map.items.length === 1) {
      throw new StackFileError(`${this.file}: pool "${role}" would be left empty`);
    }
    const lineStart = this.current.lastIndexOf("\n", keyNode.range[0] - 1) + 1;
    if (this.current.slice(lineStart, keyNode.range[0]).trim() !== "") {
      // The key shares its line with something else (e.g. `- revision: 2` as the first pool field).
      throw new StackFileError(`${this.file}: pool "${role}" field "${key}" is not on a line of its own; remove it by hand`);
    }
    let end = value.range[2];
    if (this.current[end - 1] !== "\n") {
      const nl = this.current.indexOf("\n", end);
      end = nl === -1 ? this.current.length : nl + 1;
    }
    this.splice(lineStart, end, "");
  }

  /** Append `name` to `role`'s history list (no-op when it is already there); creates the map/list when missing. */
  appendHistory(role: string, name: string): void {
    if (this.history(role).includes(name)) return;
    const config = this.configNode();
    const historyPair = findPair(config, HISTORY_KEY);
    if (!historyPair || historyPair.value === null || (isScalar(historyPair.value) && historyPair.value.value === null)) {
      if (historyPair) {
        throw new StackFileError(`${this.file}: ${HISTORY_KEY} is empty; remove the key or give it a map of role -> names`);
      }
      this.insertPair(
        config,
        '"config:"',
        `${HISTORY_KEY}:  # names this stack used, per role (kept by npm run bump/promote)\n` +
          `  ${role}:\n    - ${name}\n`,
      );
      return;
    }
    const history = historyPair.value;
    if (!isMap(history)) {
      throw new StackFileError(`${this.file}: ${HISTORY_KEY} must be a map of role -> list of pool names`);
    }
    const rolePair = findPair(history, role);
    if (!rolePair) {
      this.insertPair(history, HISTORY_KEY, `${role}:\n  - ${name}\n`);
      return;
    }
    const list = rolePair.value;
    if (!isSeq(list) || !list.range) {
      throw new StackFileError(`${this.file}: ${HISTORY_KEY}.${role} must be a list of pool names`);
    }
    if (list.flow) {
      const items = (list.items as Scalar[]).map((s) => String(s.value));
      this.splice(list.range[0], list.range[1], `[${[...items, name].join(", ")}]`);
      return;
    }
    const first = list.items[0] as Scalar | undefined;
    if (!first || !first.range) {
      throw new StackFileError(`${this.file}: ${HISTORY_KEY}.${role} is an empty block list; write [] or remove it`);
    }
    // Block sequence: a new "- name" line after the last item, at the dash's column.
    const dash = this.current.lastIndexOf("-", first.range[0]);
    const indent = dash - (this.current.lastIndexOf("\n", dash) + 1);
    const last = list.items[list.items.length - 1] as Scalar;
    const at = this.lineEndAfter(last.range![2]);
    this.splice(at.pos, at.pos, `${at.prefix}${" ".repeat(indent)}- ${name}\n`);
  }

  /**
   * Write the edited text to the file atomically (temp file in the same directory, then rename),
   * only when something changed. Returns whether the file was written.
   */
  save(): boolean {
    if (!this.changed) return false;
    const tmp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${process.pid}.tmp`);
    try {
      const mode = fs.statSync(this.file).mode;
      fs.writeFileSync(tmp, this.current, { mode });
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new StackFileError(`cannot write ${this.file}: ${(e as Error).message}`);
    }
    return true;
  }

  // --- internals -----------------------------------------------------------------------------

  private reparse(): void {
    const doc = parseDocument(this.current, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      throw new StackFileError(`${this.file} is not valid YAML: ${doc.errors[0].message}`);
    }
    this.doc = doc;
  }

  /** Replace the scalar value of `key` in the block map `map` (keeping its quoting), or add the key at its end. */
  private setField(map: YAMLMap, what: string, key: string, value: string | number): void {
    const pair = findPair(map, key);
    if (pair) {
      const node = pair.value;
      if (!isScalar(node) || !node.range) {
        throw new StackFileError(`${this.file}: ${what} field "${key}" is not a plain value; edit it by hand`);
      }
      if (node.value === value) return;
      const [start, end] = node.range;
      this.splice(start, end, scalarText(value, node.type));
      return;
    }
    this.insertPair(map, what, `${key}: ${scalarText(value, typeof value === "string" ? "QUOTE_DOUBLE" : undefined)}\n`);
  }

  private splice(start: number, end: number, text: string): void {
    // New lines follow the file's line endings (CRLF files stay CRLF).
    if (this.original.includes("\r\n")) text = text.replace(/\r?\n/g, "\r\n");
    this.current = this.current.slice(0, start) + text + this.current.slice(end);
    this.reparse();
  }

  private configNode(): YAMLMap {
    this.config(); // clear error when missing
    const node = this.doc.get("config", true);
    if (!isMap(node) || node.flow) {
      throw new StackFileError(`${this.file}: "config:" must be a block map`);
    }
    return node;
  }

  private poolNodes(): YAMLMap[] {
    const pools = this.configNode().get(POOLS_KEY, true);
    if (!isSeq(pools)) {
      throw new StackFileError(`${this.file}: no ${POOLS_KEY} list under "config:"`);
    }
    return pools.items.map((item, i) => {
      if (!isMap(item)) throw new StackFileError(`${this.file}: ${POOLS_KEY}[${i}] is not a map`);
      return item;
    });
  }

  private poolNode(role: string): YAMLMap {
    const nodes = this.poolNodes();
    const matches = nodes.filter((m) => {
      const r = m.get("role", true);
      return isScalar(r) && r.value === role;
    });
    if (matches.length === 0) {
      const roles = nodes.map((m) => String(m.get("role"))).join(", ");
      throw new StackFileError(`${this.file}: no pool with role "${role}" in ${POOLS_KEY} (roles: ${roles || "none"})`);
    }
    if (matches.length > 1) {
      throw new StackFileError(`${this.file}: more than one pool has role "${role}"; roles must be unique`);
    }
    if (matches[0].flow) {
      throw new StackFileError(`${this.file}: pool "${role}" is written in flow style ({...}); rewrite it as a block map to let bump/promote edit it`);
    }
    return matches[0];
  }

  /**
   * Insert `text` (one or more lines, relative indentation, ending in "\n") as the last entry of
   * the block map `map`, at the column of its first key.
   */
  private insertPair(map: YAMLMap, what: string, text: string): void {
    const firstKey = (map.items[0] as Pair<Scalar> | undefined)?.key;
    if (!firstKey || !firstKey.range || map.flow) {
      throw new StackFileError(`${this.file}: ${what} must be a non-empty block map to add a key to it`);
    }
    const column = firstKey.range[0] - (this.current.lastIndexOf("\n", firstKey.range[0] - 1) + 1);
    const last = map.items[map.items.length - 1] as Pair<Scalar, { range?: [number, number, number] } | null>;
    const endOfLast = last.value?.range?.[2] ?? last.key.range![2];
    const at = this.lineEndAfter(endOfLast);
    const pad = " ".repeat(column);
    const lines = text.split("\n").slice(0, -1).map((l) => pad + l);
    this.splice(at.pos, at.pos, at.prefix + lines.join("\n") + "\n");
  }

  /** The position just after the line containing `pos - 1` ends, and a newline prefix when the file has none there. */
  private lineEndAfter(pos: number): { pos: number; prefix: string } {
    if (pos > 0 && this.current[pos - 1] === "\n") return { pos, prefix: "" };
    const nl = this.current.indexOf("\n", pos);
    if (nl === -1) return { pos: this.current.length, prefix: "\n" };
    return { pos: nl + 1, prefix: "" };
  }
}

function findPair(map: YAMLMap, key: string): Pair<Scalar, unknown> | undefined {
  return (map.items as Pair<Scalar, unknown>[]).find((p) => isScalar(p.key) && p.key.value === key);
}

/** Render a scalar in the given quoting style (plain when safe, else double quotes). */
function scalarText(value: string | number, type: Scalar.Type | undefined): string {
  if (typeof value === "number") return String(value);
  if (type === "QUOTE_SINGLE") return `'${value.replace(/'/g, "''")}'`;
  const plainIsSafe = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(value) && parse(value) === value;
  if (type === "QUOTE_DOUBLE" || !plainIsSafe) return JSON.stringify(value);
  return value;
}

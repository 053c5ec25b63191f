/**
 * What a published page must not contain: a path of the machine it was written on, a reference to
 * this project's own issue tracker (meaningless to a reader of a copy), or an instruction meant for
 * whoever wrote it rather than for the reader. Upstream references stay allowed: `kubernetes#37605`,
 * `terraform-provider-google#27427`, URLs.
 */

/** One finding: the line (1-based), the rule it breaks and the text that broke it. */
export interface HygieneFinding { line: number; rule: string; text: string }

/** Paths that only exist on the author's machine: never written anywhere, code blocks included. */
const MACHINE_PATH = /(?<![\w.~-])\/(?:work|root|home\/[\w.-]+|Users\/[\w.-]+)\//;
/**
 * A scratch path like /tmp/sim.kubeconfig is fine in a command the reader types (code), but in
 * prose it claims a file that exists somewhere.
 */
const TMP_IN_PROSE = /(?<![\w.~-])\/tmp\//;
/**
 * "issue 12", "issues 12-14", "issue #12", "PR 7": this project's tracker. Upstream ones are
 * written as `repo#N` (no space) or as a URL, both removed before this runs.
 */
const ISSUE_WORD = /\b(?:issues?|PRs?|pull requests?)\s+#?\d+/i;
/** A bare "#12" not glued to a repository name (repo#12 is an upstream reference). */
const BARE_HASH = /(?<![\w.\/-])#\d+\b/;
/** Phrases addressed to an assistant or a contributor's tooling, not to a reader of the docs. */
const INSTRUCTIONS: RegExp[] = [
  /\bassistant\b/i,
  /\byour (?:final )?report\b/i,
  /\byour (?:task|brief|worktree)\b/i,
  /\bdo not run `?npm install`? yourself\b/i,
  /\bcommit often\b/i,
  /\bas an ai\b/i,
  /\bignore (?:all |the )?previous instructions\b/i,
];

/** The text with fenced code blocks blanked (line count kept), so prose rules can skip them. */
function withoutFences(text: string): string {
  let inFence = false;
  return text.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) { inFence = !inFence; return ""; }
    return inFence ? "" : line;
  }).join("\n");
}

/** Link targets and bare URLs removed: they may carry upstream issue numbers and anchors like #2-x. */
function withoutLinks(line: string): string {
  return line.replace(/\]\([^)]*\)/g, "]()").replace(/^\s*\[[^\]]+\]:\s*\S+.*$/, "").replace(/https?:\/\/\S+/g, "");
}

/** Every finding in one page's text (Markdown or YAML). */
export function hygieneFindings(text: string): HygieneFinding[] {
  const found: HygieneFinding[] = [];
  const all = text.split("\n");
  const prose = withoutFences(text).split("\n").map((l) => l.replace(/`[^`]*`/g, "``"));
  all.forEach((raw, i) => {
    const line = i + 1;
    const add = (rule: string, m: RegExpMatchArray | null) => { if (m) found.push({ line, rule, text: m[0] }); };
    add("machine path", raw.match(MACHINE_PATH));
    add("scratch path in prose (put it in a command)", prose[i].match(TMP_IN_PROSE));
    const unlinked = withoutLinks(raw);
    add("issue number of this project", unlinked.match(ISSUE_WORD));
    add("issue number of this project", unlinked.match(BARE_HASH));
    for (const re of INSTRUCTIONS) add("instruction not meant for a reader", raw.match(re));
  });
  return found;
}

/**
 * The project's Markdown pages as a reader's browser sees them: which headings a page has (their
 * GitHub anchors) and which links it makes. Parsed with markdown-it (CommonMark), slugs with
 * github-slugger (GitHub's own algorithm, duplicates numbered -1, -2 ... in page order), so a link
 * that resolves here resolves on GitHub.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import MarkdownIt from "markdown-it";
import GithubSlugger from "github-slugger";

/** Repository root (tests/docs/ is two levels below it). */
export const ROOT = path.resolve(__dirname, "..", "..");

/** README.md and every page under docs/, as paths relative to the root. */
export function markdownPages(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, "docs"), { recursive: true }) as string[];
  return ["README.md", ...docs.filter((f) => f.endsWith(".md")).map((f) => path.join("docs", f))].sort();
}

/** One link of a page: its target as written, and the line it is on (1-based). */
export interface PageLink { href: string; line: number }

/** A parsed page: its heading anchors and its links (images included). */
export interface Page { anchors: Set<string>; links: PageLink[]; text: string }

const md = new MarkdownIt({ html: true });

/** Parses one page (path relative to the root). */
export function readPage(rel: string): Page {
  const text = fs.readFileSync(path.join(ROOT, rel), "utf8");
  const tokens = md.parse(text, {});
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const links: PageLink[] = [];
  tokens.forEach((tok, i) => {
    if (tok.type === "heading_open") {
      const inline = tokens[i + 1];
      const plain = (inline.children ?? []).filter((c) => c.type === "text" || c.type === "code_inline").map((c) => c.content).join("");
      anchors.add(slugger.slug(plain));
    }
    if (tok.type !== "inline") return;
    for (const child of tok.children ?? []) {
      const href = child.type === "link_open" ? child.attrGet("href") : child.type === "image" ? child.attrGet("src") : null;
      if (href) links.push({ href: String(href), line: (tok.map?.[0] ?? 0) + 1 });
    }
  });
  return { anchors, links, text };
}

/** Every relative link of a page (path relative to the root) whose file or #anchor does not resolve. */
export function brokenLinks(page: string): string[] {
  const broken: string[] = [];
  for (const { href, line } of readPage(page).links) {
    if (isExternal(href)) continue;
    const [target, anchor] = href.split("#", 2) as [string, string | undefined];
    const file = target === "" ? page : path.normalize(path.join(path.dirname(page), decodeURI(target)));
    if (!fs.existsSync(path.join(ROOT, file))) {
      broken.push(`${page}:${line}: ${href} -> ${file} does not exist`);
    } else if (anchor !== undefined && file.endsWith(".md") && !readPage(file).anchors.has(decodeURIComponent(anchor))) {
      broken.push(`${page}:${line}: ${href} -> no heading "#${anchor}" in ${file}`);
    }
  }
  return broken;
}

/** True for links that leave the repository (a scheme such as https: or mailto:, or //host). */
export function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("//");
}

/** One fenced code block of a page: its content as written and the line its opening fence is on (1-based). */
export interface FencedBlock { content: string; line: number }

/** The fenced code blocks of a page (path relative to the root) whose info string is exactly `info`. */
export function fencedBlocks(rel: string, info: string): FencedBlock[] {
  const text = fs.readFileSync(path.join(ROOT, rel), "utf8");
  return md.parse(text, {})
    .filter((tok) => tok.type === "fence" && tok.info.trim() === info)
    .map((tok) => ({ content: tok.content, line: (tok.map?.[0] ?? 0) + 1 }));
}

/**
 * Every file of this repository that README.md or a page under docs/ names (a path under tests/,
 * docs/, components/, policy/ or .github/ with a file extension, in prose or in a command) exists:
 * a command copied from the docs never points at a fixture that is gone.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { markdownPages, ROOT } from "./markdown";

const REPO_PATH = /(?<![\w./-])((?:tests|docs|components|policy|\.github)\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(?:ya?ml|ts|js|json|md|svg))(?![\w/-])/g;

/** The repository paths a page names, with their line numbers. */
export function namedPaths(text: string): { path: string; line: number }[] {
  return text.split("\n").flatMap((l, i) => [...l.matchAll(REPO_PATH)].map((m) => ({ path: m[1], line: i + 1 })));
}

describe("docs: every repository file named in README and docs/ exists", () => {
  for (const page of markdownPages()) {
    it(`${page}`, () => {
      const missing = namedPaths(fs.readFileSync(path.join(ROOT, page), "utf8"))
        .filter((p) => !fs.existsSync(path.join(ROOT, p.path)))
        .map((p) => `${page}:${p.line}: ${p.path}`);
      assert.deepEqual(missing, []);
    });
  }

  it("the check finds paths in commands and prose, and not in URLs", () => {
    const found = namedPaths("npm run sim -- --scenario tests/fixtures/cluster.yaml --kubeconfig /tmp/k\nsee `docs/rbac/drain-clusterrole.yaml`.\nhttps://github.com/x/y/blob/main/docs/a.md");
    assert.deepEqual(found.map((p) => p.path), ["tests/fixtures/cluster.yaml", "docs/rbac/drain-clusterrole.yaml"]);
  });
});

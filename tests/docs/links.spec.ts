/**
 * Every relative link and #anchor in README.md and docs/ resolves: the file exists, and the anchor
 * names a heading of the target page (GitHub's slugs). External links are not followed (no network).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { brokenLinks, markdownPages, readPage, ROOT } from "./markdown";

describe("docs: links and anchors", () => {
  const pages = markdownPages();

  it("finds the README and the reference pages", () => {
    assert.ok(pages.includes("README.md"));
    assert.ok(pages.filter((p) => p.startsWith("docs")).length >= 7, `docs pages: ${pages.join(", ")}`);
  });

  for (const page of pages) {
    it(`${page}: every relative link and anchor resolves`, () => {
      assert.deepEqual(brokenLinks(page), []);
    });
  }

  it("the checker reports a missing file and a missing anchor, and accepts GitHub's slugs", () => {
    const rel = path.join("docs", ".links-selftest.md");
    fs.writeFileSync(
      path.join(ROOT, rel),
      "# A `code` Title, with: punctuation!\n\n# Same\n# Same\n\n[x](#a-code-title-with-punctuation) [y](#same-1) [z](#nope) [w](missing.md) [v](../README.md)\n",
    );
    try {
      assert.deepEqual([...readPage(rel).anchors], ["a-code-title-with-punctuation", "same", "same-1"]);
      assert.deepEqual(brokenLinks(rel), [
        `${rel}:6: #nope -> no heading "#nope" in ${rel}`,
        `${rel}:6: missing.md -> docs/missing.md does not exist`,
      ]);
    } finally {
      fs.unlinkSync(path.join(ROOT, rel));
    }
  });
});

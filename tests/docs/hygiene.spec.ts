/**
 * README.md, CHANGELOG.md and every page under docs/ (Markdown and the YAML manifests shipped there)
 * name no machine path, no issue number of this project and give no instructions meant for an
 * assistant rather than a reader; upstream references (kubernetes#37605) stay allowed.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { hygieneFindings } from "./hygiene";
import { ROOT } from "./markdown";

/** The published pages: README, CHANGELOG, docs/**.md and docs/**.yaml. */
function publishedPages(): string[] {
  const docs = (fs.readdirSync(path.join(ROOT, "docs"), { recursive: true }) as string[])
    .filter((f) => /\.(md|ya?ml)$/.test(f))
    .map((f) => path.join("docs", f));
  return ["README.md", "CHANGELOG.md", ...docs].sort();
}

describe("docs: hygiene (no machine paths, no internal issue numbers, no instructions to an assistant)", () => {
  const pages = publishedPages();

  it("finds the pages, the architecture page among them and no CONTRACTS.md", () => {
    assert.ok(pages.includes("docs/architecture.md"), pages.join(", "));
    assert.ok(!pages.includes("docs/CONTRACTS.md"));
    assert.ok(pages.length >= 10, pages.join(", "));
  });

  for (const page of pages) {
    it(`${page} is clean`, () => {
      const text = fs.readFileSync(path.join(ROOT, page), "utf8");
      assert.deepEqual(hygieneFindings(text).map((f) => `${page}:${f.line}: ${f.rule}: ${f.text}`), []);
    });
  }

  it("the checker flags each kind and accepts upstream references, URLs and scratch paths in commands", () => {
    const bad = [
      "Repo: /work/main (git, branch main).",
      "Written to /root/.cache/x.",
      "Additions (issue 4, all additive).",
      "See issues 12-14.",
      "Fixed in #12.",
      "| the program | #2 |",
      "Do NOT run `npm install` yourself.",
      "Say so in your final report.",
      "The kubeconfig is in /tmp/sim.kubeconfig here.",
    ].join("\n");
    assert.deepEqual(hygieneFindings(bad).map((f) => `${f.line} ${f.rule}`), [
      "1 machine path",
      "2 machine path",
      "3 issue number of this project",
      "4 issue number of this project",
      "5 issue number of this project",
      "6 issue number of this project",
      "7 instruction not meant for a reader",
      "8 instruction not meant for a reader",
      "9 scratch path in prose (put it in a command)",
    ]);
    const good = [
      "Known upstream: kubernetes#37605 and terraform-provider-google#27427.",
      "See [the issue](https://github.com/kubernetes/kubernetes/issues/37605) and [step 2](#2-create).",
      "```sh",
      "npm run sim -- --scenario s.yaml --kubeconfig /tmp/sim.kubeconfig",
      "```",
      "Write it with `--kubeconfig /tmp/k.yaml`.",
      "# A heading",
    ].join("\n");
    assert.deepEqual(hygieneFindings(good), []);
  });
});

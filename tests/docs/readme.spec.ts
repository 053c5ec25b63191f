/**
 * The README's front matter says true things: "Two commands" shows two commands (and CI runs the
 * set-up and test ones), the status section near the top names the minimum Pulumi CLI the program
 * enforces, and the explanation of `npm ci`'s warnings names exactly the packages that have
 * install scripts in the lock file.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { MIN_PULUMI_CLI } from "../../components/poolGuard";
import { ROOT } from "./markdown";

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

/** The text of a `## heading` section (up to the next `## `). */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `README has no "## ${heading}"`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Shell commands of a fenced block: lines without their comments, empty ones dropped. */
const commandsOf = (block: string) => block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l && !l.startsWith("#"));

describe("README: front matter", () => {
  it('"Two commands" shows two commands, and .ci/run runs its set-up and its tests', () => {
    const blocks = [...section("Two commands").matchAll(/^```bash\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    assert.equal(blocks.length, 1);
    const commands = commandsOf(blocks[0]);
    assert.deepEqual(commands, ["npm ci && npm run rehearse", "npm test"]);
    const ci = commandsOf(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8")).filter((l) => l.startsWith("npm "));
    assert.deepEqual(ci, ["npm ci", "npm test"]);
  });

  it("the status section comes before the first reference section and names the CLI minimum the program enforces", () => {
    const status = README.indexOf("\n## Status and requirements");
    assert.ok(status > 0 && status < README.indexOf("\n## Two commands"), "status near the top");
    const text = section("Status and requirements");
    assert.ok(text.includes(`Pulumi CLI ${MIN_PULUMI_CLI} or newer`), `names ${MIN_PULUMI_CLI}`);
    for (const phrase of ["Never run live", "no live GKE project", "no real Pulumi CLI", "Node.js 22 or 24 LTS"]) {
      assert.ok(text.includes(phrase), `status names "${phrase}"`);
    }
  });

  it("the npm ci explanation names exactly the packages with install scripts, and the one that declares node >= 22", () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
    const withScripts = Object.entries<any>(lock.packages)
      .filter(([, p]) => p.hasInstallScript && !p.dev)
      .map(([k]) => k.replace(/^.*node_modules\//, ""))
      .sort();
    const text = README.slice(README.indexOf("### What `npm ci` prints"), README.indexOf("\n## The proof"));
    const count = Number(/install-scripts (\d+) packages/.exec(text)?.[1]);
    assert.equal(count, withScripts.length);
    for (const name of withScripts) assert.ok(text.includes(`\`${name}\`'s`), `README explains ${name}'s script`);
    const node22 = Object.entries<any>(lock.packages)
      .filter(([k, p]) => k && p.engines?.node === ">=22")
      .map(([k]) => k.replace(/^.*node_modules\//, ""));
    assert.deepEqual(node22, ["@pulumi/pulumi"]);
    assert.ok(text.includes(`'@pulumi/pulumi@${lock.packages["node_modules/@pulumi/pulumi"].version}'`));
  });
});

/** The npm scripts' entry points as separate processes: exit codes and stdout/stderr split. */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { read, REPO, snapshot, tempStacks } from "./helpers";
import { stagingExport } from "./fixtures/stackExport";

/** Run `ts-node <script> args` the way `npm run bump|promote` does (package.json scripts). */
function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.join(REPO, script), ...args],
      { cwd: REPO, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as any).code as number) : 0, stdout, stderr }),
    );
  });
}

describe("promotion/cli: npm run bump / promote as processes", () => {
  let dir: string;
  beforeEach(() => (dir = tempStacks()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("bump: old -> new on stdout, exit 0, file edited; then promote refuses unverified with exit 1, nothing written", async () => {
    const bump = await run("components/promotion/bump.ts", ["--stack", "staging", "--role", "app", "--version", "1.35.2-gke.1269000", "--date", "2026-11-22", "--dir", dir]);
    assert.equal(bump.code, 0, bump.stderr);
    assert.match(bump.stdout, /^app-1-34-4-gke1047000-20261120-[0-9a-f]{5} -> app-1-35-2-gke1269000-20261122-[0-9a-f]{5}\n$/);
    assert.match(read(dir, "staging"), /version: 1\.35\.2-gke\.1269000   # pinned/);

    const pools = ["app", "batch"].map((role) => ({ role, name: `${role}-1-34-4-gke1047000-20261120-00000`, version: "1.34.4-gke.1047000" }));
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(stagingExport({ pools })));
    const before = snapshot(dir);
    const promote = await run("components/promotion/promote.ts", ["--from", "staging", "--to", "prod", "--dir", dir, "--state-file", path.join(dir, "state.json")]);
    assert.equal(promote.code, 1);
    assert.equal(promote.stdout, "");
    assert.match(promote.stderr, /^error: not promoting to prod:\n  - pool "app"/);
    assert.deepEqual(snapshot(dir), before);
  });

  it("usage errors exit 2 with commander's message (or ours, naming what to give)", async () => {
    const noStack = await run("components/promotion/bump.ts", ["--role", "app", "--rotate"]);
    assert.equal(noStack.code, 2);
    assert.match(noStack.stderr, /required option '--stack <name>' not specified/);
    const nothing = await run("components/promotion/bump.ts", ["--stack", "staging"]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /give --role <role> with --version <gke-version> or --rotate, and\/or --control-plane <gke-version>/);
  });
});

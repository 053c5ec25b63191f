import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { StackFile, StackFileError, HISTORY_KEY } from "../../components/promotion/stackFile";
import { FIXTURES, snapshot, tempStacks } from "./helpers";

const original = fs.readFileSync(path.join(FIXTURES, "Pulumi.staging.yaml"), "utf8");
const load = (text = original) => StackFile.fromText("Pulumi.staging.yaml", text);

describe("promotion/stackFile: surgical edits of Pulumi.<stack>.yaml", () => {
  it("changes only the edited value's bytes: aligned comments, quoting and flow maps stay as written", () => {
    const f = load();
    f.setPoolField("app", "version", "1.35.2-gke.1269000");
    f.setPoolField("app", "rotatedOn", "2026-11-22");
    f.setPoolField("batch", "version", "1.35.2-gke.1269000");
    const expected = original
      .replace("version: 1.34.4-gke.1047000   # pinned", "version: 1.35.2-gke.1269000   # pinned")
      .replace('rotatedOn: "2026-11-20"                     # YYYY-MM-DD', 'rotatedOn: "2026-11-22"                     # YYYY-MM-DD')
      .replace("version: '1.34.4-gke.1047000'", "version: '1.35.2-gke.1269000'");
    assert.notEqual(expected, original);
    assert.equal(f.text, expected);
    assert.equal(f.pool("app").version, "1.35.2-gke.1269000");
    assert.equal(f.pool("batch").version, "1.35.2-gke.1269000");
  });

  it("adds a missing pool key at the end of that pool's map, at its indentation, and removes it line-exactly", () => {
    const f = load();
    f.setPoolField("app", "revision", 2);
    const expected = original.replace("      labels: { team: game }\n", "      labels: { team: game }\n      revision: 2\n");
    assert.equal(f.text, expected);
    assert.equal(f.pool("app").revision, 2);
    f.deletePoolField("app", "revision");
    assert.equal(f.text, original);
  });

  it("creates poolNameHistory after the last config key (before trailing comments) and appends to it in order", () => {
    const f = load();
    f.appendHistory("app", "app-a");
    f.appendHistory("app", "app-b");
    f.appendHistory("batch", "batch-a");
    f.appendHistory("app", "app-a"); // already there: no-op
    assert.deepEqual(f.history("app"), ["app-a", "app-b"]);
    assert.deepEqual(f.history("batch"), ["batch-a"]);
    const [head, tail] = original.split("    deadlineMinutes: 60   # per pool\n");
    assert.ok(f.text.startsWith(head + "    deadlineMinutes: 60   # per pool\n  " + HISTORY_KEY + ":"));
    assert.ok(f.text.endsWith("      - app-b\n    batch:\n      - batch-a\n" + tail), f.text);
    assert.deepEqual(parse(f.text).config[HISTORY_KEY], { app: ["app-a", "app-b"], batch: ["batch-a"] });
  });

  it("appends to a flow-style history list in flow style", () => {
    const text = original.replace("# trailing comment", `  ${HISTORY_KEY}: { app: [app-a, app-b] }   # kept\n# trailing comment`);
    const f = load(text);
    f.appendHistory("app", "app-c");
    assert.equal(f.text, text.replace("[app-a, app-b]", "[app-a, app-b, app-c]"));
  });

  it("keeps CRLF line endings in a CRLF file", () => {
    const crlf = original.replace(/\n/g, "\r\n");
    const f = load(crlf);
    f.setPoolField("app", "version", "1.35.2-gke.1269000");
    f.setPoolField("app", "revision", 1);
    f.appendHistory("app", "app-a");
    assert.ok(!/[^\r]\n/.test(f.text), "every newline is CRLF");
    assert.equal(f.pool("app").revision, 1);
    assert.deepEqual(f.history("app"), ["app-a"]);
    f.deletePoolField("app", "revision");
    assert.ok(!f.text.includes("revision"));
  });

  it("quotes a new string value only when plain YAML would read it as something else", () => {
    const f = load();
    f.setPoolField("batch", "rotatedOn", "2026-11-22"); // was plain: stays plain (YAML 1.2 reads it as a string)
    assert.ok(f.text.includes("      rotatedOn: 2026-11-22\n"));
    f.setPoolField("batch", "imageType", "true"); // new key whose plain form would be a boolean
    assert.ok(f.text.includes('      imageType: "true"\n'), f.text);
    assert.equal(f.pool("batch").imageType, "true");
  });

  it("rejects what it cannot edit safely with an error naming the file and the key", () => {
    const cases: [string, () => void, RegExp][] = [
      ["unknown role", () => load().setPoolField("web", "version", "1.35.2-gke.1269000"), /no pool with role "web".*roles: app, batch/],
      ["non-scalar field", () => load().setPoolField("app", "labels", "x"), /field "labels" is not a plain value/],
      ["flow-style pool", () => load(original.replace(/    - role: app[\s\S]*?labels: \{ team: game \}\n/, "    - { role: app, version: 1.34.4-gke.1047000, rotatedOn: \"2026-11-20\", machineType: e2-standard-4, minNodes: 3, maxNodes: 6 }\n")).setPoolField("app", "version", "1.35.2-gke.1269000"), /flow style/],
      ["invalid YAML", () => load("config:\n  a: [1, 2\n"), /is not valid YAML/],
      ["no config map", () => load("foo: bar\n").pools(), /no "config:" map/],
      ["no pools", () => load("config:\n  gcp:project: x\n").pools(), /no nodepool-rotation:pools list/],
      ["bad history", () => load(original.replace("# trailing comment", `  ${HISTORY_KEY}: [a]\n# trailing comment`)).appendHistory("app", "x"), /poolNameHistory must be a map/],
    ];
    for (const [what, fn, re] of cases) {
      assert.throws(fn, (e: unknown) => e instanceof StackFileError && re.test(e.message) && /Pulumi\.staging\.yaml/.test(e.message), what);
    }
  });

  it("save() writes atomically only when changed and leaves no temp file", () => {
    const dir = tempStacks();
    try {
      const file = path.join(dir, "Pulumi.staging.yaml");
      const before = snapshot(dir);
      const f = StackFile.load(file);
      assert.equal(f.save(), false, "unchanged: not written");
      assert.deepEqual(snapshot(dir), before);
      f.setPoolField("app", "version", "1.35.2-gke.1269000");
      assert.equal(f.save(), true);
      const after = snapshot(dir);
      assert.deepEqual(Object.keys(after), Object.keys(before), "no temp files left");
      assert.equal(after["Pulumi.staging.yaml"], f.text);
      assert.equal(after["Pulumi.prod.yaml"], before["Pulumi.prod.yaml"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { execFileSync } from "node:child_process";
import { decodePoints, LABEL_RIGHT, renderSvg, textWidth, wrapText, writeSvg } from "./picture";
import { msWhere, record, Timeline, workloadFigures } from "./timeline";
import { loadScenario, parseScenario, TWO_ROLES_SCENARIO_FILE } from "./scenario";

/** A small but complete timeline: two workloads (one dips to zero), two pools, markers. */
function sampleTimeline(): Timeline {
  return {
    startedAt: "2026-11-20T03:00:00.000Z",
    endMs: 5000,
    workloads: {
      "shop/Deployment/nginx": {
        info: { key: "shop/Deployment/nginx", namespace: "shop", kind: "Deployment", name: "nginx", replicas: 5, floor: 4, pdb: "shop/nginx" },
        points: [{ t: 0, v: 5 }, { t: 1200, v: 3 }, { t: 1600, v: 5 }],
      },
      "shop/Deployment/worker <&>": {
        info: { key: "shop/Deployment/worker <&>", namespace: "shop", kind: "Deployment", name: "worker <&>", replicas: 1, floor: null },
        points: [{ t: 0, v: 1 }, { t: 2000, v: 0 }, { t: 2400, v: 1 }],
      },
    },
    pools: {
      "app-v1": [{ t: 0, v: 6 }, { t: 3000, v: 0 }],
      "app-v2": [{ t: 0, v: 0 }, { t: 500, v: 6 }],
    },
    markers: [{ t: 100, label: "create pool app-v2" }, { t: 3000, label: "delete pool app-v1" }],
  };
}

describe("rehearsal timeline model", () => {
  it("integrates step series: time at zero and below floor, up to endMs", () => {
    const pts = [{ t: 0, v: 5 }, { t: 1000, v: 3 }, { t: 1500, v: 0 }, { t: 1800, v: 5 }];
    assert.equal(msWhere(pts, 3000, (v) => v === 0), 300);
    assert.equal(msWhere(pts, 3000, (v) => v < 4), 800);
    // The last value holds until endMs.
    assert.equal(msWhere([{ t: 0, v: 1 }, { t: 2500, v: 0 }], 3000, (v) => v === 0), 500);
  });

  it("records only changes, collapsing same-instant updates", () => {
    const pts: { t: number; v: number }[] = [];
    record(pts, 0, 5);
    record(pts, 10, 5);
    record(pts, 20, 4);
    record(pts, 20, 5); // same instant back to 5: the dip never lasted
    assert.deepEqual(pts, [{ t: 0, v: 5 }]);
  });

  it("figures flag the single replica's gap with a note and round tiny dips up, never to 0", () => {
    const tl = sampleTimeline();
    const w = workloadFigures(tl.workloads["shop/Deployment/worker <&>"], tl.endMs);
    assert.equal(w.msAtZero, 400);
    assert.equal(w.multiReplica, false);
    assert.match(w.note ?? "", /single replica/);
    const n = workloadFigures({ info: tl.workloads["shop/Deployment/nginx"].info, points: [{ t: 0, v: 5 }, { t: 10, v: 3 }, { t: 10.2, v: 5 }] }, 100);
    assert.equal(n.msBelowFloor, 1);
    assert.equal(n.minReady, 3);
  });
});

describe("rehearsal picture (SVG)", () => {
  it("is well-formed XML and carries every workload's and pool's series and the markers", () => {
    const tl = sampleTimeline();
    const svg = renderSvg(tl, { title: "t & <test>", subtitle: "s" });
    assert.equal(XMLValidator.validate(svg), true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(svg);
    const root = doc.svg;
    assert.equal(root.xmlns, "http://www.w3.org/2000/svg");
    assert.equal(Number(root["data-end-ms"]), 5000);
    const groups: any[] = [].concat(root.g);
    const workloads = groups.filter((g) => g.class === "workload");
    assert.deepEqual(workloads.map((g) => g["data-key"]).sort(), Object.keys(tl.workloads).sort());
    for (const g of workloads) {
      assert.deepEqual(decodePoints(g["data-points"]), tl.workloads[g["data-key"]].points);
      // The drawn step line has two vertices per data point.
      assert.equal(g.polyline.points.trim().split(/\s+/).length, 2 * tl.workloads[g["data-key"]].points.length);
    }
    const nginx = workloads.find((g) => g["data-key"] === "shop/Deployment/nginx");
    assert.equal(nginx["data-floor"], "4");
    const shaded = [].concat(nginx.rect).filter((r: any) => r.class === "below-floor");
    assert.equal(shaded.length, 1, "the 400 ms below floor is shaded");
    const worker = workloads.find((g) => g["data-key"] === "shop/Deployment/worker <&>");
    assert.equal([].concat(worker.rect).filter((r: any) => r.class === "at-zero").length, 1);
    const pools = groups.filter((g) => g.class === "pool");
    assert.deepEqual(pools.map((g) => g["data-pool"]), ["app-v1", "app-v2"]);
    for (const g of pools) assert.deepEqual(decodePoints(g["data-points"]), tl.pools[g["data-pool"]]);
    const markers = groups.filter((g) => g.class === "marker");
    assert.deepEqual(markers.map((g) => g["data-label"]), tl.markers.map((m) => m.label));
    assert.ok(!/<script|href=|@import|url\(/i.test(svg), "self-contained: no scripts or external references");
  });

  it("no text runs past the canvas: long titles, subtitles, keys and marker labels are wrapped or fitted", () => {
    const tl = sampleTimeline();
    const long = "a-very-long-namespace-name/Deployment/a-workload-name-that-goes-on-and-on-and-on";
    tl.workloads[long] = { info: { ...tl.workloads["shop/Deployment/nginx"].info, key: long, floorSource: "implicit 25%", floor: 3 }, points: [{ t: 0, v: 5 }] };
    tl.markers.push({ t: 4000, label: "delete pool app-1-34-4-gke1047000-20261101-1c698 ".repeat(4) });
    const svg = renderSvg(tl, {
      title: "GKE autoscaled blue-green: waitForDrainDuration 0s (default 3 days); green scaled by the cluster autoscaler, which is long",
      subtitle: "app (3 zones x 2 nodes): app-1-34-4-gke1047000-20261101-1c698 -> app-1-35-2-gke1269000-20261120-1c698: old pool deleted; ".repeat(3),
      caption: "Simulated time. Pod start-up t = 340 ms, node boot 600 ms; GKE scale: 1 s here ≈ 100 s on GKE (terminationGraceScale 0.01), so t stands for 34 s.",
      figures: { [long]: workloadFigures(tl.workloads[long], tl.endMs) },
      axisEndMs: 8000,
    });
    const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)![1]);
    let n = 0;
    for (const m of svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)) {
      const attr = (k: string) => new RegExp(`\\b${k}="([^"]*)"`).exec(m[1])?.[1];
      const text = m[2].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&apos;/g, "'");
      const w = textWidth(text, Number(attr("font-size") ?? 12), attr("font-weight") === "bold");
      const x = Number(attr("x"));
      const [left, right] = attr("text-anchor") === "middle" ? [x - w / 2, x + w / 2] : attr("text-anchor") === "end" ? [x - w, x] : [x, x + w];
      assert.ok(left >= 0 && right <= width, `text runs past the canvas (${left.toFixed(0)}..${right.toFixed(0)} of ${width}): ${text}`);
      if (x === 10) assert.ok(right <= LABEL_RIGHT, `a row label runs into the plot (ends at ${right.toFixed(0)} > ${LABEL_RIGHT}): ${text}`);
      n++;
    }
    assert.ok(n > 20, `${n} texts checked`);
    // (row labels, at x 10, must also end before the plot)
    assert.ok(wrapText("x ".repeat(200), 300).every((l) => textWidth(l, 12) <= 300));
    assert.equal(Number(/data-axis-end-ms="(\d+)"/.exec(svg)![1]), 8000, "a shared time axis longer than the record");
    assert.match(svg, />8 s<\/text>/, "the axis runs to the shared end");
    assert.match(svg, /class="y-label"[^>]*>floor 3</, "the floor is labelled on the y axis");
  });

  it("draws cordoned periods, a tick per eviction or delete, and renders to a PNG of the canvas size", function () {
    const tl = sampleTimeline();
    tl.cordons = [{ node: "n1", pool: "app-v1", from: 500, to: 3000 }, { node: "n2", pool: "app-v1", from: 800 }];
    tl.disruptions = [{ t: 1200, pod: "shop/nginx-1", workload: "shop/Deployment/nginx", evicted: true }, { t: 3000, pod: "shop/nginx-2", workload: "shop/Deployment/nginx", evicted: false }];
    const svg = renderSvg(tl, { title: "ticks" });
    const cordoned = [...svg.matchAll(/class="cordoned" data-node="(\w+)" data-from="(\d+)" data-to="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
    assert.deepEqual(cordoned, [["n1", 500, 3000], ["n2", 800, 5000]], "an open period runs to the end");
    assert.deepEqual([...svg.matchAll(/class="(eviction|deletion)" data-t="(\d+)"/g)].map((m) => [m[1], Number(m[2])]), [["eviction", 1200], ["deletion", 3000]]);
    let rsvg = "";
    try {
      rsvg = execFileSync("sh", ["-c", "command -v rsvg-convert"], { encoding: "utf8" }).trim();
    } catch {
      /* not installed */
    }
    if (!rsvg) return this.skip();
    const png = execFileSync(rsvg, ["--format", "png"], { input: svg });
    assert.equal(png.subarray(1, 4).toString(), "PNG");
    const [w, h] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.deepEqual([w, h], [1100, Number(/<svg [^>]*height="(\d+)"/.exec(svg)![1])]);
  });

  it("writes the file and returns its absolute path", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-pic-"));
    try {
      const p = writeSvg(path.join(dir, "sub", "x.svg"), sampleTimeline(), { title: "x" });
      assert.ok(path.isAbsolute(p));
      assert.equal(XMLValidator.validate(fs.readFileSync(p, "utf8")), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("rehearsal scenario", () => {
  it("the default scenario: one regional pool (NodePool document) with role app, and the bump to rehearse", () => {
    const s = loadScenario();
    assert.equal(s.roles.length, 1);
    const [app] = s.roles;
    assert.equal(app.role, "app");
    assert.equal(app.oldPool, "app-1-34-4-gke1047000-20261101-1c698");
    assert.equal(app.labels["nodepool-rotation/role"], "app");
    assert.equal(app.labels["cloud.google.com/gke-nodepool"], undefined, "the replacement gets its own pool label");
    assert.equal(app.pool.machineType, "e2-standard-4");
    assert.notEqual(app.fromVersion, app.toVersion);
    for (const kind of ["Deployment", "StatefulSet", "DaemonSet", "Job", "PodDisruptionBudget", "NodePool"]) {
      assert.match(s.text, new RegExp(`kind: ${kind}\\b`));
    }
    assert.match(s.text, /topologyKey: topology\.kubernetes\.io\/zone/);
    assert.match(s.text, /topologyKey: kubernetes\.io\/hostname/);
  });

  it("the two-role scenario: app and batch, per-role keys (`batch.machineType`) over the common ones", () => {
    const s = loadScenario(TWO_ROLES_SCENARIO_FILE);
    assert.deepEqual(s.roles.map((r) => [r.role, r.pool.machineType, r.pool.spot]), [["app", "e2-standard-4", undefined], ["batch", "e2-standard-8", true]]);
    assert.ok(s.roles.every((r) => r.toVersion === "1.35.2-gke.1269000" && r.env === "staging"));
  });

  it("rejects two pools with one role, a single `role` key over two pools, no pool, no role label: naming the fix", () => {
    const node = (name: string, pool: string, role: string | null = "app") =>
      `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${name}\n  labels:\n    cloud.google.com/gke-nodepool: ${pool}\n${role ? `    nodepool-rotation/role: ${role}\n` : ""}`;
    assert.throws(() => parseScenario([node("a", "p1"), node("b", "p2")].join("---\n"), "two.yaml"), /pools p1 and p2 both have role app.*own nodepool-rotation\/role/);
    assert.deepEqual(parseScenario([node("a", "p1"), node("b", "p2", "batch")].join("---\n"), "ok.yaml").roles.map((r) => r.oldPool), ["p1", "p2"]);
    const roleCm = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: rehearsal, namespace: kube-system }\ndata: { role: app }\n`;
    assert.throws(() => parseScenario([roleCm, node("a", "p1"), node("b", "p2", "batch")].join("---\n"), "role.yaml"), /key role names one role but the scenario has 2 pools/);
    assert.throws(() => parseScenario(node("a", "p1", null), "norole.yaml"), /norole\.yaml.*add nodepool-rotation\/role/);
    assert.throws(() => parseScenario("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", "empty.yaml"), /no node pool: add a NodePool document/);
    const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: rehearsal, namespace: kube-system }\ndata: { drainOptions: '${v}' }\n`;
    assert.throws(() => parseScenario([cm("{deadline"), node("a", "p1")].join("---\n"), "opts.yaml"), /opts\.yaml.*drainOptions is not JSON/);
    assert.deepEqual(parseScenario([cm('{"concurrency": 5}'), node("a", "p1")].join("---\n"), "ok.yaml").roles[0].drainOptions, { concurrency: 5 });
    assert.deepEqual(parseScenario(node("a", "p1"), "ok.yaml").roles[0].drainOptions, { deadlineMinutes: 1 }, "a rehearsal never waits 60 min by default");
  });
});

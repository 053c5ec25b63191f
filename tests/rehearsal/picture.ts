/**
 * The picture: a self-contained SVG timeline of a rehearsal (no scripts, no external fonts or
 * images), one row per workload (ready endpoints over time, PDB floor dashed, time at zero ready
 * shaded red and time below the floor shaded amber), one row with the node count of every pool,
 * and vertical markers for the rotation's phases.
 *
 * The drawn data is also carried verbatim so tools (and the tests) can read it back: every
 * workload row is a `<g class="workload" data-key=… data-points="t:v …">`, every pool line a
 * `<g class="pool" data-pool=… data-points=…>`, every marker a `<g class="marker" data-t=…>`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Point, Timeline, WorkloadFigures } from "./timeline";

const WIDTH = 1100;
const LABEL_W = 270;
const PLOT_X0 = LABEL_W + 10;
const PLOT_X1 = WIDTH - 30;
const ROW_H = 54;
const ROW_GAP = 10;
const POOL_ROW_H = 40;
const POOL_COLORS = ["#6b7280", "#2563eb", "#9333ea", "#0d9488", "#ca8a04"];

/** Escapes text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** `t:v` pairs separated by spaces: the raw series, as carried in `data-points`. */
export function encodePoints(points: Point[]): string {
  return points.map((p) => `${Math.round(p.t)}:${p.v}`).join(" ");
}

/** Inverse of {@link encodePoints}. */
export function decodePoints(s: string): Point[] {
  return s
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => {
      const [t, v] = pair.split(":").map(Number);
      return { t, v };
    });
}

/** Options of the picture. */
export interface PictureOptions {
  /** Headline, e.g. "nodepool-rotation rehearsal — with drain". */
  title: string;
  /** Lines under the title (pool names, total time, evictions...), separated by newlines. */
  subtitle?: string;
  /** Per-workload figures to print next to each row (time at zero / below floor). */
  figures?: Record<string, WorkloadFigures>;
}

/** Renders the timeline as an SVG document (a string). */
export function renderSvg(tl: Timeline, opts: PictureOptions): string {
  const end = Math.max(tl.endMs, 1);
  const x = (t: number) => PLOT_X0 + (Math.min(Math.max(t, 0), end) / end) * (PLOT_X1 - PLOT_X0);
  const subtitle = (opts.subtitle ?? "").split("\n").filter((l, i, all) => l || i < all.length - 1);
  // Rows start below the subtitle, leaving room for the two staggered rows of marker numbers.
  const TOP = 60 + subtitle.length * 15;
  const keys = Object.keys(tl.workloads).sort();
  const poolNames = Object.keys(tl.pools);
  const rowsBottom = TOP + keys.length * (ROW_H + ROW_GAP);
  const poolTop = rowsBottom;
  const axisY = poolTop + poolNames.length * (POOL_ROW_H + ROW_GAP);
  const height = axisY + 50 + tl.markers.length * 15;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12" data-end-ms="${Math.round(tl.endMs)}" data-started-at="${xmlEscape(tl.startedAt)}">`,
  );
  out.push(`<title>${xmlEscape(opts.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="20" y="26" font-size="18" font-weight="bold">${xmlEscape(opts.title)}</text>`);
  subtitle.forEach((line, i) => out.push(`<text x="20" y="${46 + i * 15}" fill="#374151">${xmlEscape(line)}</text>`));

  keys.forEach((key, i) => {
    const s = tl.workloads[key];
    const top = TOP + i * (ROW_H + ROW_GAP);
    const maxV = Math.max(1, s.info.replicas, ...s.points.map((p) => p.v));
    const y = (v: number) => top + ROW_H - (v / maxV) * (ROW_H - 6);
    const fig = opts.figures?.[key];
    out.push(
      `<g class="workload" data-key="${xmlEscape(key)}" data-replicas="${s.info.replicas}" data-floor="${s.info.floor ?? ""}" ` +
        `data-points="${encodePoints(s.points)}">`,
    );
    out.push(`<rect x="${PLOT_X0}" y="${top}" width="${PLOT_X1 - PLOT_X0}" height="${ROW_H}" fill="#f9fafb" stroke="#e5e7eb"/>`);
    // Shading: at zero (red) and below floor (amber), drawn from the same step function as the line.
    s.points.forEach((p, j) => {
      const to = j + 1 < s.points.length ? s.points[j + 1].t : tl.endMs;
      if (to <= p.t) return;
      // Batch rows (Jobs) are not shaded: a finished Job has no ready pod by design.
      const color = s.info.batch ? null : p.v === 0 ? "#fecaca" : s.info.floor !== null && p.v < s.info.floor ? "#fde68a" : null;
      if (color) {
        out.push(
          `<rect class="${p.v === 0 ? "at-zero" : "below-floor"}" x="${x(p.t).toFixed(1)}" y="${top}" ` +
            `width="${Math.max(0.8, x(to) - x(p.t)).toFixed(1)}" height="${ROW_H}" fill="${color}"/>`,
        );
      }
    });
    if (s.info.floor !== null) {
      out.push(
        `<line class="floor" x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${y(s.info.floor).toFixed(1)}" y2="${y(s.info.floor).toFixed(1)}" ` +
          `stroke="#d97706" stroke-dasharray="4 3"/>`,
      );
    }
    out.push(`<polyline class="ready" fill="none" stroke="#16a34a" stroke-width="1.8" points="${stepPolyline(s.points, tl.endMs, x, y)}"/>`);
    out.push(`<text x="10" y="${top + 18}" font-weight="bold">${xmlEscape(key)}</text>`);
    const floorText =
      s.info.floor === null ? "no PDB" : s.info.floorSource?.startsWith("implicit") ? `no PDB, floor ${s.info.floor} (${s.info.floorSource})` : `floor ${s.info.floor}`;
    out.push(`<text x="10" y="${top + 34}" fill="#374151">replicas ${s.info.replicas}, ${floorText}</text>`);
    if (fig && fig.batch) {
      const ran = fig.podsSeen ?? 0;
      const restarted = ran > fig.replicas;
      out.push(
        `<text x="10" y="${top + 49}" fill="${restarted ? "#b91c1c" : "#374151"}">${ran} pod(s) ran${restarted ? " (killed, rerun)" : ""}; ` +
          `${fig.completed ? "completed" : "not completed"}</text>`,
      );
    } else if (fig) {
      const bad = fig.msAtZero > 0 || fig.msBelowFloor > 0;
      out.push(
        `<text x="10" y="${top + 49}" fill="${bad ? "#b91c1c" : "#15803d"}">min ${fig.minReady}, ` +
          `${fig.msAtZero} ms at zero, ${fig.msBelowFloor} ms below floor</text>`,
      );
    }
    out.push(`</g>`);
  });

  // Nodes per pool: one row per pool, same scale.
  const maxNodes = Math.max(1, ...poolNames.flatMap((p) => tl.pools[p].map((pt) => pt.v)));
  poolNames.forEach((name, i) => {
    const top = poolTop + i * (POOL_ROW_H + ROW_GAP);
    const py = (v: number) => top + POOL_ROW_H - (v / maxNodes) * (POOL_ROW_H - 6);
    const color = POOL_COLORS[i % POOL_COLORS.length];
    const last = tl.pools[name][tl.pools[name].length - 1];
    out.push(`<g class="pool" data-pool="${xmlEscape(name)}" data-points="${encodePoints(tl.pools[name])}">`);
    out.push(`<rect x="${PLOT_X0}" y="${top}" width="${PLOT_X1 - PLOT_X0}" height="${POOL_ROW_H}" fill="#f9fafb" stroke="#e5e7eb"/>`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${stepPolyline(tl.pools[name], tl.endMs, x, py)}"/>`);
    out.push(`<text x="10" y="${top + 16}" font-weight="bold" fill="${color}">${xmlEscape(name)}</text>`);
    out.push(`<text x="10" y="${top + 32}" fill="#374151">pool: Ready nodes, now ${last ? last.v : 0}</text>`);
    out.push(`</g>`);
  });

  // Phase markers across every row, numbered; the legend under the axis says what each is.
  // Markers closer than a label's width share one number label ("4-7"), staggered on two rows.
  let group = { x: -Infinity, first: 0, row: 1 };
  const labels: { x: number; row: number; first: number; last: number }[] = [];
  tl.markers.forEach((m, i) => {
    const mx = x(m.t);
    if (mx - group.x < 14) labels[labels.length - 1].last = i;
    else {
      group = { x: mx, first: i, row: 1 - group.row };
      labels.push({ x: mx, row: group.row, first: i, last: i });
    }
    out.push(`<g class="marker" data-t="${Math.round(m.t)}" data-label="${xmlEscape(m.label)}">`);
    out.push(`<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${TOP - 6}" y2="${axisY}" stroke="#111827" stroke-dasharray="2 3" stroke-width="0.8"/>`);
    out.push(`<text x="${PLOT_X0}" y="${axisY + 40 + i * 15}">${i + 1}. ${(m.t / 1000).toFixed(2)} s  ${xmlEscape(m.label)}</text>`);
    out.push(`</g>`);
  });
  for (const l of labels) {
    const text = l.first === l.last ? `${l.first + 1}` : `${l.first + 1}-${l.last + 1}`;
    out.push(`<text class="marker-number" x="${l.x.toFixed(1)}" y="${TOP - 9 - l.row * 11}" text-anchor="middle" font-size="10" font-weight="bold">${text}</text>`);
  }

  // Time axis.
  out.push(`<line x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${axisY}" y2="${axisY}" stroke="#111827"/>`);
  const step = niceStep(end / 8);
  for (let t = 0; t <= end; t += step) {
    out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${axisY}" y2="${axisY + 5}" stroke="#111827"/>`);
    out.push(`<text x="${x(t).toFixed(1)}" y="${axisY + 18}" text-anchor="middle">${(t / 1000).toFixed(step < 1000 ? 1 : 0)} s</text>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** Writes the SVG to `file` (creating its directory) and returns the absolute path. */
export function writeSvg(file: string, tl: Timeline, opts: PictureOptions): string {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, renderSvg(tl, opts));
  return abs;
}

/** A step function as polyline points: horizontal to the next change, then vertical. */
function stepPolyline(points: Point[], endMs: number, x: (t: number) => number, y: (v: number) => number): string {
  const pts: string[] = [];
  points.forEach((p, i) => {
    const to = i + 1 < points.length ? points[i + 1].t : endMs;
    pts.push(`${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`, `${x(to).toFixed(1)},${y(p.v).toFixed(1)}`);
  });
  return pts.join(" ");
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const pow = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

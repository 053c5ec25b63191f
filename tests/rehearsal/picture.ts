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
/** Right of the plot: the y-axis values (replicas, "floor N", 0). */
const PLOT_X1 = WIDTH - 78;
const ROW_H = 54;
const ROW_GAP = 10;
const POOL_ROW_H = 40;
const LINE_H = 15;
const POOL_COLORS = ["#6b7280", "#2563eb", "#9333ea", "#0d9488", "#ca8a04"];
const EVICTION = "#1d4ed8";
const DELETION = "#b91c1c";

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

/**
 * A generous estimate of the width of `text` in Helvetica/Arial at `size` px (per-character widths
 * in em, rounded up, bold 8% wider): what the picture uses to wrap and fit text, and the spec to
 * check that no text runs past the canvas.
 */
export function textWidth(text: string, size: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if ("iljI.,:;|!'`".includes(ch)) em += 0.3;
    else if ("ftr()[]{}- /\\".includes(ch)) em += 0.38;
    else if ("mwMW@%".includes(ch)) em += 0.9;
    else if (/[A-Z]/.test(ch)) em += 0.72;
    else if (/[0-9]/.test(ch)) em += 0.56;
    else if (ch.charCodeAt(0) > 127) em += 1;
    else em += 0.57;
  }
  // 1.12: renderers fall back to wider faces (DejaVu Sans where Helvetica and Arial are missing)
  return em * size * 1.12 * (bold ? 1.08 : 1);
}

/** Splits `text` into lines no wider than `maxPx` (at words; a word longer than a line is cut). */
export function wrapText(text: string, maxPx: number, size = 12, bold = false): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      const next = line ? `${line} ${word}` : word;
      if (textWidth(next, size, bold) <= maxPx) {
        line = next;
        continue;
      }
      if (line) lines.push(line);
      line = word;
      while (textWidth(line, size, bold) > maxPx) {
        let cut = line.length - 1;
        while (cut > 1 && textWidth(line.slice(0, cut), size, bold) > maxPx) cut--;
        lines.push(line.slice(0, cut));
        line = line.slice(cut);
      }
    }
    lines.push(line);
  }
  return lines;
}

/** Right edge of the label column: row labels end here, the plot starts after it. */
export const LABEL_RIGHT = LABEL_W;

/**
 * `text` at the largest font size (12 down to 9) at which it fits in `maxPx`; still too long at 9,
 * its middle is cut ("…"): the full text stays in the row's data attributes and the legend.
 */
function fitted(text: string, maxPx: number, bold: boolean, attrs: string): string {
  let size = 12;
  while (size > 9 && textWidth(text, size, bold) > maxPx) size -= 0.5;
  let shown = text;
  for (let keep = text.length - 1; textWidth(shown, size, bold) > maxPx && keep > 2; keep--) {
    shown = `${text.slice(0, Math.ceil(keep / 2))}…${text.slice(text.length - Math.floor(keep / 2))}`;
  }
  return `<text ${attrs} font-size="${size}"${bold ? ` font-weight="bold"` : ""}>${xmlEscape(shown)}</text>`;
}

/** Options of the picture. */
export interface PictureOptions {
  /** Headline, e.g. "nodepool-rotation rehearsal — with drain" (wrapped when long). */
  title: string;
  /** Lines under the title (pool names, total time, evictions...), separated by newlines; wrapped. */
  subtitle?: string;
  /** Per-workload figures to print next to each row (time at zero / below floor). */
  figures?: Record<string, WorkloadFigures>;
  /** End of the time axis, ms (default the record's end): pictures meant to be compared share one. */
  axisEndMs?: number;
  /** How to read the clock (t, and the GKE scale), printed under the legend. */
  caption?: string;
}

/** Renders the timeline as an SVG document (a string). */
export function renderSvg(tl: Timeline, opts: PictureOptions): string {
  const end = Math.max(opts.axisEndMs ?? tl.endMs, tl.endMs, 1);
  const x = (t: number) => PLOT_X0 + (Math.min(Math.max(t, 0), end) / end) * (PLOT_X1 - PLOT_X0);
  const textW = WIDTH - 40;
  const title = wrapText(opts.title, textW, 18, true);
  const subtitle = wrapText((opts.subtitle ?? "").replace(/\n+$/, ""), textW).filter((l, i, all) => l || i < all.length - 1);
  const titleH = 26 + (title.length - 1) * 22;
  // Rows start below the subtitle, leaving room for the two staggered rows of marker numbers.
  const TOP = titleH + 34 + subtitle.length * LINE_H;
  const keys = Object.keys(tl.workloads).sort();
  const poolNames = Object.keys(tl.pools);
  const rowsBottom = TOP + keys.length * (ROW_H + ROW_GAP);
  const poolTop = rowsBottom;
  const axisY = poolTop + poolNames.length * (POOL_ROW_H + ROW_GAP);
  const legendW = WIDTH - PLOT_X0 - 20;
  const markerLines = tl.markers.map((m, i) => wrapText(`${i + 1}. ${(m.t / 1000).toFixed(2)} s  ${m.label}`, legendW));
  const keyLines = wrapText(
    "Green: Ready pods (y: replicas; dashed amber: the floor). Red: time at zero Ready; amber: below the floor. " +
      "Ticks under a row: a pod evicted (blue) or deleted without eviction (red). Grey in a pool row: its nodes cordoned (darker: more nodes).",
    legendW,
  );
  const caption = opts.caption ? wrapText(opts.caption, legendW) : [];
  const legendTop = axisY + 40;
  const legendLines = [...markerLines.flat(), "", ...keyLines, ...(caption.length ? ["", ...caption] : [])];
  const height = legendTop + legendLines.length * LINE_H + 10;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="12" data-end-ms="${Math.round(tl.endMs)}" data-axis-end-ms="${Math.round(end)}" data-started-at="${xmlEscape(tl.startedAt)}">`,
  );
  out.push(`<title>${xmlEscape(opts.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  title.forEach((line, i) => out.push(`<text x="20" y="${26 + i * 22}" font-size="18" font-weight="bold">${xmlEscape(line)}</text>`));
  subtitle.forEach((line, i) => out.push(`<text x="20" y="${titleH + 20 + i * LINE_H}" fill="#374151">${xmlEscape(line)}</text>`));

  const disruptions = tl.disruptions ?? [];
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
    // y axis on the right: the replicas, the floor (labelled), zero.
    const ticks: [number, string][] = [[s.info.replicas, String(s.info.replicas)], [0, "0"]];
    if (s.info.floor !== null && s.info.floor !== s.info.replicas && s.info.floor !== 0) ticks.push([s.info.floor, `floor ${s.info.floor}`]);
    else if (s.info.floor !== null) ticks[s.info.floor === 0 ? 1 : 0][1] += ` = floor`;
    for (const [v, label] of ticks) {
      out.push(`<line class="y-tick" x1="${PLOT_X1}" x2="${PLOT_X1 + 4}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#6b7280"/>`);
      out.push(`<text class="y-label" x="${PLOT_X1 + 6}" y="${(y(v) + 4).toFixed(1)}" font-size="10" fill="${label.startsWith("floor") || label.endsWith("floor") ? "#b45309" : "#374151"}">${xmlEscape(label)}</text>`);
    }
    if (s.info.floor !== null) {
      out.push(
        `<line class="floor" x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${y(s.info.floor).toFixed(1)}" y2="${y(s.info.floor).toFixed(1)}" ` +
          `stroke="#d97706" stroke-dasharray="4 3"/>`,
      );
    }
    out.push(`<polyline class="ready" fill="none" stroke="#16a34a" stroke-width="1.8" points="${stepPolyline(s.points, tl.endMs, x, y)}"/>`);
    for (const d of disruptions.filter((d) => d.workload === key)) {
      out.push(
        `<line class="${d.evicted ? "eviction" : "deletion"}" data-t="${Math.round(d.t)}" data-pod="${xmlEscape(d.pod)}" x1="${x(d.t).toFixed(1)}" x2="${x(d.t).toFixed(1)}" ` +
          `y1="${top + ROW_H - 8}" y2="${top + ROW_H}" stroke="${d.evicted ? EVICTION : DELETION}" stroke-width="1.2"/>`,
      );
    }
    out.push(fitted(key, LABEL_RIGHT - 10, true, `x="10" y="${top + 18}"`));
    const floorText =
      s.info.floor === null ? "no PDB" : s.info.floorSource?.startsWith("implicit") ? `no PDB, floor ${s.info.floor} (${s.info.floorSource})` : `floor ${s.info.floor}`;
    const second = `replicas ${s.info.replicas}, ${floorText}`;
    out.push(fitted(second, LABEL_RIGHT - 10, false, `x="10" y="${top + 34}" fill="#374151"`));
    let third: { text: string; bad: boolean } | undefined;
    if (fig && fig.batch) {
      const ran = fig.podsSeen ?? 0;
      const restarted = ran > fig.replicas;
      third = { text: `${ran} pod(s) ran${restarted ? " (killed, rerun)" : ""}; ${fig.completed ? "completed" : "not completed"}`, bad: restarted };
    } else if (fig) {
      third = { text: `min ${fig.minReady}, ${fig.msAtZero} ms at zero, ${fig.msBelowFloor} ms below floor`, bad: fig.msAtZero > 0 || fig.msBelowFloor > 0 };
    }
    if (third) {
      const color = fig?.batch ? (third.bad ? "#b91c1c" : "#374151") : third.bad ? "#b91c1c" : "#15803d";
      out.push(fitted(third.text, LABEL_RIGHT - 10, false, `x="10" y="${top + 49}" fill="${color}"`));
    }
    out.push(`</g>`);
  });

  // Nodes per pool: one row per pool, same scale; the time its nodes were cordoned shaded.
  const maxNodes = Math.max(1, ...poolNames.flatMap((p) => tl.pools[p].map((pt) => pt.v)));
  poolNames.forEach((name, i) => {
    const top = poolTop + i * (POOL_ROW_H + ROW_GAP);
    const py = (v: number) => top + POOL_ROW_H - (v / maxNodes) * (POOL_ROW_H - 6);
    const color = POOL_COLORS[i % POOL_COLORS.length];
    const last = tl.pools[name][tl.pools[name].length - 1];
    out.push(`<g class="pool" data-pool="${xmlEscape(name)}" data-points="${encodePoints(tl.pools[name])}">`);
    out.push(`<rect x="${PLOT_X0}" y="${top}" width="${PLOT_X1 - PLOT_X0}" height="${POOL_ROW_H}" fill="#f9fafb" stroke="#e5e7eb"/>`);
    for (const c of (tl.cordons ?? []).filter((c) => c.pool === name)) {
      const to = c.to ?? tl.endMs;
      out.push(
        `<rect class="cordoned" data-node="${xmlEscape(c.node)}" data-from="${Math.round(c.from)}" data-to="${Math.round(to)}" x="${x(c.from).toFixed(1)}" y="${top}" ` +
          `width="${Math.max(0.8, x(to) - x(c.from)).toFixed(1)}" height="${POOL_ROW_H}" fill="#6b7280" fill-opacity="0.12"/>`,
      );
    }
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${stepPolyline(tl.pools[name], tl.endMs, x, py)}"/>`);
    out.push(`<text class="y-label" x="${PLOT_X1 + 6}" y="${(py(maxNodes) + 4).toFixed(1)}" font-size="10" fill="#374151">${maxNodes} nodes</text>`);
    out.push(fitted(name, LABEL_RIGHT - 10, true, `x="10" y="${top + 16}" fill="${color}"`));
    out.push(fitted(`pool: Ready nodes, now ${last ? last.v : 0}`, LABEL_RIGHT - 10, false, `x="10" y="${top + 32}" fill="#374151"`));
    out.push(`</g>`);
  });

  // Phase markers across every row, numbered; the legend under the axis says what each is.
  // Markers closer than a label's width share one number label ("4-7"), staggered on two rows.
  let group = { x: -Infinity, first: 0, row: 1 };
  const labels: { x: number; row: number; first: number; last: number }[] = [];
  let line = 0;
  tl.markers.forEach((m, i) => {
    const mx = x(m.t);
    if (mx - group.x < 14) labels[labels.length - 1].last = i;
    else {
      group = { x: mx, first: i, row: 1 - group.row };
      labels.push({ x: mx, row: group.row, first: i, last: i });
    }
    out.push(`<g class="marker" data-t="${Math.round(m.t)}" data-label="${xmlEscape(m.label)}">`);
    out.push(`<line x1="${mx.toFixed(1)}" x2="${mx.toFixed(1)}" y1="${TOP - 6}" y2="${axisY}" stroke="#111827" stroke-dasharray="2 3" stroke-width="0.8"/>`);
    for (const l of markerLines[i]) out.push(`<text x="${PLOT_X0}" y="${legendTop + line++ * LINE_H}">${xmlEscape(l)}</text>`);
    out.push(`</g>`);
  });
  for (const l of labels) {
    const text = l.first === l.last ? `${l.first + 1}` : `${l.first + 1}-${l.last + 1}`;
    out.push(`<text class="marker-number" x="${l.x.toFixed(1)}" y="${TOP - 9 - l.row * 11}" text-anchor="middle" font-size="10" font-weight="bold">${text}</text>`);
  }
  line++;
  for (const l of keyLines) out.push(`<text class="key" x="${PLOT_X0}" y="${legendTop + line++ * LINE_H}" fill="#374151">${xmlEscape(l)}</text>`);
  if (caption.length) line++;
  for (const l of caption) out.push(`<text class="caption" x="${PLOT_X0}" y="${legendTop + line++ * LINE_H}" font-style="italic">${xmlEscape(l)}</text>`);

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

// Charts as SVG drawn here (no third-party code). Every chart comes with the same
// figures as a table (for screen readers and for copying) and a CSV download.
// A value of null is a suppressed cell (too few shoppers to show): it is drawn as
// nothing or as a hatched square, and written as "—" with the reason, never as zero.

import { csvText, download, number, t } from "./admin.js";

const SVG = "http://www.w3.org/2000/svg";
// Colour-blind-safe palette (Okabe-Ito), dark enough for 3:1 against white.
export const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56b4e9", "#4d4d4d"];
export const SUPPRESSED = "—";
let hatches = 0;
const INK = "#1b1f24", MUTED = "#4a5560", GRID = "#c4ccd4";

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

function text(parent, x, y, content, attributes = {}) {
  const node = el("text", { x, y, "font-size": 11, fill: INK, ...attributes }, parent);
  node.textContent = content;
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

const shown = (value, format) => (value === null || value === undefined ? SUPPRESSED : format(value));

function svgFor(title, width, height) {
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  el("title", {}, svg).textContent = title;
  return svg;
}

// Horizontal grid lines with value labels on the left; returns y(value).
function axis(svg, { max, left, right, top, plotH, width, format }) {
  for (let i = 0; i <= 4; i += 1) {
    const y = top + plotH - (plotH * i) / 4;
    el("line", { x1: left, x2: width - right, y1: y, y2: y, stroke: GRID }, svg);
    text(svg, left - 6, y + 4, format(Math.round((max * i) / 4)), { "text-anchor": "end", fill: MUTED });
  }
  return (value) => top + plotH - (plotH * value) / max;
}

// Category labels along x, thinned so that they never overlap.
function xLabels(svg, categories, { left, groupW, y }) {
  const every = Math.max(1, Math.ceil(categories.length / Math.max(1, Math.floor((groupW * categories.length) / 56))));
  categories.forEach((category, ci) => {
    if (ci % every === 0) text(svg, left + ci * groupW + groupW / 2, y, category, { "text-anchor": "middle" });
  });
}

function legendFor(names) {
  const legend = document.createElement("ul");
  legend.className = "legend";
  names.forEach((name, i) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = PALETTE[i % PALETTE.length];
    item.append(swatch, name);
    legend.append(item);
  });
  return legend;
}

// The parts every chart ends with: legend, the table alternative, the "—" note, the CSV link.
function finish(container, svg, { title, legend, header, rows, format, csv, filename }) {
  container.append(svg);
  if (legend) container.append(legendFor(legend));
  container.append(dataTable(title, header, rows, format));
  if (rows.some((row) => row.slice(1).some((value) => value === null))) container.append(suppressedNote());
  container.append(csv ? apiCsvLink(csv) : csvLink(header, rows, filename));
}

function start(container) {
  container.replaceChildren();
  container.classList.add("chart");
}

// Draw at the container's own width, so that 11-unit text stays legible on a phone.
const widthOf = (container) => Math.round(Math.max(320, Math.min(640, container.clientWidth || 640)));

// null = suppressed ("—"); undefined = nothing to show there (a month not reached yet): blank.
const seriesRows = (categories, series) => categories.map((category, ci) => [category, ...series.map((s) => (s.values[ci] === undefined ? "" : s.values[ci]))]);

// Grouped bars: `categories` along x, one bar per series; `series` = [{name, values}].
// Options everywhere: `format` (value -> text), `csv` ({path, filename}: the API's CSV),
// `table` ({header, rows}: a fuller table than the plotted series).
export function barChart(container, { title, categories, series, filename, format = number, csv = null, table = null }) {
  start(container);
  const width = widthOf(container), height = 260, left = 64, bottom = 40, top = 12, right = 8;
  const plotH = height - top - bottom, plotW = width - left - right;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.map((v) => v || 0))));
  const svg = svgFor(title, width, height);
  const y = axis(svg, { max, left, right, top, plotH, width, format });
  const groupW = plotW / Math.max(1, categories.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  categories.forEach((category, ci) => {
    series.forEach((s, si) => {
      const value = s.values[ci];
      const x = left + ci * groupW + groupW * 0.1 + si * barW;
      if (value === null || value === undefined) {
        text(svg, x + barW / 2, top + plotH - 4, SUPPRESSED, { "text-anchor": "middle", fill: MUTED });
        return;
      }
      const rect = el("rect", { x, y: y(value), width: Math.max(1, barW - 1), height: top + plotH - y(value), fill: PALETTE[si % PALETTE.length] }, svg);
      el("title", {}, rect).textContent = `${category} · ${s.name}: ${format(value)}`;
    });
  });
  xLabels(svg, categories, { left, groupW, y: height - bottom + 16 });
  const header = table ? table.header : ["", ...series.map((s) => s.name)];
  const rows = table ? table.rows : seriesRows(categories, series);
  finish(container, svg, { title, legend: series.length > 1 ? series.map((s) => s.name) : null, header, rows, format: table ? null : format, csv, filename });
}

// Bars stacked per category: the parts of a whole (e.g. spend by kind of shopping).
export function stackedBarChart(container, { title, categories, series, filename, format = number, csv = null, table = null }) {
  start(container);
  const width = widthOf(container), height = 260, left = 64, bottom = 40, top = 12, right = 8;
  const plotH = height - top - bottom, plotW = width - left - right;
  const totals = categories.map((_, ci) => series.reduce((sum, s) => sum + (s.values[ci] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const svg = svgFor(title, width, height);
  const y = axis(svg, { max, left, right, top, plotH, width, format });
  const groupW = plotW / Math.max(1, categories.length);
  categories.forEach((category, ci) => {
    let base = 0;
    series.forEach((s, si) => {
      const value = s.values[ci];
      if (!value) return;
      const rect = el("rect", { x: left + ci * groupW + groupW * 0.15, y: y(base + value), width: Math.max(1, groupW * 0.7), height: y(base) - y(base + value), fill: PALETTE[si % PALETTE.length] }, svg);
      el("title", {}, rect).textContent = `${category} · ${s.name}: ${format(value)}`;
      base += value;
    });
  });
  xLabels(svg, categories, { left, groupW, y: height - bottom + 16 });
  const header = table ? table.header : ["", ...series.map((s) => s.name)];
  const rows = table ? table.rows : seriesRows(categories, series);
  finish(container, svg, { title, legend: series.map((s) => s.name), header, rows, format: table ? null : format, csv, filename });
}

// Lines: one per series over the categories; a suppressed point breaks the line.
export function lineChart(container, { title, categories, series, filename, format = number, csv = null, table = null, max = null }) {
  start(container);
  const width = widthOf(container), height = 260, left = 64, bottom = 40, top = 12, right = 8;
  const plotH = height - top - bottom, plotW = width - left - right;
  const top_ = max ?? niceMax(Math.max(0, ...series.flatMap((s) => s.values.map((v) => v || 0))));
  const svg = svgFor(title, width, height);
  const y = axis(svg, { max: top_, left, right, top, plotH, width, format });
  const groupW = plotW / Math.max(1, categories.length);
  const x = (ci) => left + ci * groupW + groupW / 2;
  series.forEach((s, si) => {
    const colour = PALETTE[si % PALETTE.length];
    let path = "", pen = false;
    s.values.forEach((value, ci) => {
      if (value === null || value === undefined) { pen = false; return; }
      path += `${pen ? "L" : "M"}${x(ci).toFixed(1)},${y(value).toFixed(1)} `;
      pen = true;
      const dot = el("circle", { cx: x(ci), cy: y(value), r: 3, fill: colour }, svg);
      el("title", {}, dot).textContent = `${categories[ci]} · ${s.name}: ${format(value)}`;
    });
    if (path) el("path", { d: path.trim(), fill: "none", stroke: colour, "stroke-width": 2 }, svg);
  });
  xLabels(svg, categories, { left, groupW, y: height - bottom + 16 });
  const header = table ? table.header : ["", ...series.map((s) => s.name)];
  const rows = table ? table.rows : seriesRows(categories, series);
  finish(container, svg, { title, legend: series.map((s) => s.name), header, rows, format: table ? null : format, csv, filename });
}

// A grid of rows × columns shaded by value (hour × weekday, village × village, ...).
// `values[r][c]`: a number, null (suppressed) or undefined (no activity, shown as 0).
export function heatMap(container, { title, rowLabels, colLabels, values, filename, format = number, csv = null, showValues = false, corner = "" }) {
  start(container);
  const left = Math.min(110, 12 + 6.5 * Math.max(1, ...rowLabels.map((label) => String(label).length))), top = 24, right = 4, bottom = 4;
  const cellW = Math.max(14, Math.min(90, (widthOf(container) - left - right) / Math.max(1, colLabels.length)));
  const cellH = showValues ? 30 : 22;
  const width = left + cellW * colLabels.length + right, height = top + cellH * rowLabels.length + bottom;
  const max = Math.max(1, ...values.flat().map((v) => v || 0));
  const svg = svgFor(title, width, height);
  const hatchId = `suppressed-hatch-${(hatches += 1)}`;
  const every = cellW < 24 ? 3 : 1;
  colLabels.forEach((label, c) => {
    if (c % every === 0) text(svg, left + c * cellW + cellW / 2, top - 8, label, { "text-anchor": "middle", "font-size": showValues ? 10 : 11 });
  });
  rowLabels.forEach((label, r) => {
    text(svg, left - 6, top + r * cellH + cellH / 2 + 4, label, { "text-anchor": "end" });
    colLabels.forEach((colLabel, c) => {
      const value = values[r][c];
      const x = left + c * cellW, y = top + r * cellH;
      const share = value ? value / max : 0;
      const fill = value === null ? `url(#${hatchId})` : shade(share);
      const rect = el("rect", { x: x + 0.5, y: y + 0.5, width: cellW - 1, height: cellH - 1, fill, stroke: "#fff" }, svg);
      el("title", {}, rect).textContent = `${label} · ${colLabel}: ${value === null ? `${SUPPRESSED} ${t.dash_suppressed}` : format(value || 0)}`;
      if (showValues) text(svg, x + cellW / 2, y + cellH / 2 + 4, shown(value === undefined ? 0 : value, format), { "text-anchor": "middle", "font-size": 10, fill: share > 0.55 ? "#fff" : INK });
    });
  });
  const defs = el("defs", {}, svg);
  const hatch = el("pattern", { id: hatchId, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  el("rect", { width: 6, height: 6, fill: "#eef1f4" }, hatch);
  el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#8a96a3", "stroke-width": 2 }, hatch);
  svg.prepend(defs);
  const header = [corner, ...colLabels];
  const rows = rowLabels.map((label, r) => [label, ...colLabels.map((_, c) => (values[r][c] === undefined ? 0 : values[r][c]))]);
  finish(container, svg, { title, legend: null, header, rows, format, csv, filename });
}

// White to the palette's blue: darker is more.
function shade(share) {
  const mix = (from, to) => Math.round(from + (to - from) * Math.min(1, share));
  return share <= 0 ? "#f6f8fa" : `rgb(${mix(230, 0)},${mix(240, 60)},${mix(250, 120)})`;
}

export function suppressedNote() {
  const note = document.createElement("p");
  note.className = "suppressed-note";
  note.dataset.testid = "suppressed-note";
  note.textContent = `${SUPPRESSED} ${t.dash_suppressed}`;
  return note;
}

export function dataTable(caption, header, rows, format = null) {
  const details = document.createElement("details");
  details.dataset.testid = "chart-table";
  const summary = document.createElement("summary");
  summary.textContent = t.show_table;
  const wrap = document.createElement("div");
  wrap.className = "table-scroll";
  // A wide table scrolls sideways on a phone: keyboard users must be able to reach it.
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", caption);
  const table = document.createElement("table");
  const cap = document.createElement("caption");
  cap.textContent = caption;
  const head = document.createElement("tr");
  header.forEach((content, i) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = content;
    if (i > 0) th.className = "num";
    head.append(th);
  });
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  rows.forEach((row) => {
    const tr = document.createElement("tr");
    row.forEach((value, i) => {
      const cellNode = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) cellNode.scope = "row"; else cellNode.className = "num";
      if (value === null && i > 0) {
        cellNode.textContent = SUPPRESSED;
        cellNode.title = t.dash_suppressed;
        cellNode.classList.add("suppressed");
      } else {
        cellNode.textContent = typeof value === "number" ? (format || number)(value) : value;
      }
      tr.append(cellNode);
    });
    tbody.append(tr);
  });
  table.append(cap, thead, tbody);
  wrap.append(table);
  details.append(summary, wrap);
  return details;
}

export function csvLink(header, rows, filename) {
  const link = document.createElement("a");
  link.className = "button secondary";
  link.textContent = t.download_csv;
  link.download = filename;
  link.href = URL.createObjectURL(new Blob([csvText(header, rows)], { type: "text/csv" }));
  return link;
}

// The API's own CSV of a report (same columns as its JSON). It needs the bearer token,
// so a click fetches it; the address stays visible as the link's target.
export function apiCsvLink({ path, filename }) {
  const link = document.createElement("a");
  link.className = "button secondary";
  link.textContent = t.download_csv;
  link.href = `/api/v1${path}`;
  link.dataset.testid = "csv-link";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    download(path, filename);
  });
  return link;
}

// Charts as SVG drawn here (no third-party code). Every chart comes with the same
// figures as a table (for screen readers and for copying) and a CSV download.

import { csvText, number, t } from "./admin.js";

const SVG = "http://www.w3.org/2000/svg";
// Colour-blind-safe palette (Okabe-Ito), dark enough for 3:1 against white.
export const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56b4e9", "#4d4d4d"];

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.append(node);
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// Grouped bars: `categories` along x, one bar per series; `series` = [{name, values}].
export function barChart(container, { title, categories, series, filename }) {
  container.replaceChildren();
  container.classList.add("chart");
  const width = 640, height = 260, left = 56, bottom = 40, top = 12, right = 8;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  el("title", {}, svg).textContent = title;
  for (let i = 0; i <= 4; i += 1) {
    const y = top + plotH - (plotH * i) / 4;
    el("line", { x1: left, x2: width - right, y1: y, y2: y, stroke: "#c4ccd4" }, svg);
    const label = el("text", { x: left - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#4a5560" }, svg);
    label.textContent = number(Math.round((max * i) / 4));
  }
  const groupW = plotW / Math.max(1, categories.length);
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  categories.forEach((category, ci) => {
    series.forEach((s, si) => {
      const value = s.values[ci] || 0;
      const h = (plotH * value) / max;
      const x = left + ci * groupW + groupW * 0.1 + si * barW;
      const rect = el("rect", { x, y: top + plotH - h, width: barW - 1, height: h, fill: PALETTE[si % PALETTE.length] }, svg);
      el("title", {}, rect).textContent = `${category} · ${s.name}: ${number(value)}`;
    });
    const label = el("text", { x: left + ci * groupW + groupW / 2, y: height - bottom + 16, "text-anchor": "middle", "font-size": 11, fill: "#1b1f24" }, svg);
    label.textContent = category;
  });
  container.append(svg);

  const legend = document.createElement("ul");
  legend.className = "legend";
  series.forEach((s, si) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = PALETTE[si % PALETTE.length];
    item.append(swatch, s.name);
    legend.append(item);
  });
  container.append(legend);

  const header = ["", ...series.map((s) => s.name)];
  const rows = categories.map((category, ci) => [category, ...series.map((s) => s.values[ci] || 0)]);
  container.append(dataTable(title, header, rows), csvLink(header, rows, filename));
}

export function dataTable(caption, header, rows) {
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = t.show_table;
  const table = document.createElement("table");
  const cap = document.createElement("caption");
  cap.textContent = caption;
  const head = document.createElement("tr");
  header.forEach((text, i) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = text;
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
      cellNode.textContent = typeof value === "number" ? number(value) : value;
      tr.append(cellNode);
    });
    tbody.append(tr);
  });
  table.append(cap, thead, tbody);
  details.append(summary, table);
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

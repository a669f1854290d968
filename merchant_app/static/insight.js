// The owner's insight: the shop's own figures next to the town average of its category,
// and where its customers also shop (by category). Suppressed cells (k-anonymity) show a dash.

import { $, api, euro, explain, format, isOwner, number, show, startPage, t } from "./till.js";
import { startQueue } from "./queue.js";

function isoDay(date) { return date.toISOString().slice(0, 10); }

function cell(value, unit) {
  if (value === null || value === undefined) return t.insight_suppressed;
  return unit === "cents" ? euro(value) : number(value);
}

function row(...cells) {
  const tr = document.createElement("tr");
  cells.forEach((text, index) => {
    const td = document.createElement(index === 0 ? "th" : "td");
    if (index === 0) td.scope = "row";
    td.textContent = text;
    tr.append(td);
  });
  return tr;
}

async function load(me) {
  const days = Number($("insight-days").value);
  const to = new Date(Date.now() - 86400000);
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  const body = $("insight-rows");
  body.setAttribute("aria-busy", "true");
  try {
    const data = await api.get(`/merchants/${me.merchant_id}/insight?from=${isoDay(from)}&to=${isoDay(to)}`);
    $("insight-period").textContent = format(t.insight_period_text, { from: data.period.from, to: data.period.to, shops: data.peer_shops });
    body.replaceChildren(...data.rows.map((r) => {
      const tr = row(t[`insight_${r.figure}`] || r.figure, cell(r.value, r.unit), cell(r.town_average, r.unit));
      tr.dataset.testid = `insight-${r.figure}`;
      return tr;
    }));
    const also = data.also_shop.map((r) => {
      const li = document.createElement("li");
      li.textContent = r.suppressed ? `${r.category}: ${t.insight_suppressed}`
        : format(t.insight_also_row, { category: r.category, shoppers: number(r.shoppers), spend: euro(r.spend_cents) });
      return li;
    });
    $("insight-also").replaceChildren(...(also.length ? also : [Object.assign(document.createElement("li"), { className: "hint", textContent: t.insight_none })]));
    $("insight-error").textContent = "";
  } catch (error) {
    $("insight-error").textContent = explain(error);
  } finally {
    body.setAttribute("aria-busy", "false");
  }
}

startPage().then((me) => {
  startQueue();
  if (!isOwner(me)) { show($("insight-owner-only"), true); return; }
  show($("insight-sections"), true);
  $("insight-days").addEventListener("change", () => load(me));
  load(me);
});

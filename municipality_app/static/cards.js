// Physical savings cards: batches and their PIN sheets.

import { $, api, button, cell, dateTime, download, explain, format, number, startPage, t, toast } from "./admin.js";

await startPage();

async function load() {
  const page = await api.get("/cards/batches?limit=100");
  const body = $("batch-table").tBodies[0];
  body.replaceChildren();
  for (const batch of page.items) {
    const tr = document.createElement("tr");
    const sheet = cell("", { label: t.cards_sheet });
    if (new Date(batch.sheet_available_until) > new Date()) {
      sheet.append(button(t.cards_sheet, () => download(batch.sheet_url.replace(/^\/api\/v1/, ""), `cards-${batch.batch_id}.pdf`).catch((e) => toast(explain(e))), { secondary: true, testid: `sheet-${batch.batch_id}` }));
      const until = document.createElement("div");
      until.className = "hint";
      until.textContent = format(t.cards_sheet_until, { time: dateTime(batch.sheet_available_until) });
      sheet.append(until);
    } else {
      sheet.textContent = t.cards_sheet_gone;
    }
    tr.append(
      cell(`#${batch.batch_id}`, { label: "#" }),
      cell(dateTime(batch.created_at), { label: t.date }),
      cell(number(batch.size), { label: t.cards_size, className: "num" }),
      cell(number(batch.registered), { label: t.cards_registered, className: "num" }),
      cell(number(batch.blocked), { label: t.cards_blocked, className: "num" }),
      sheet,
    );
    body.append(tr);
  }
}

$("batch-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("batch-error").textContent = "";
  try {
    const created = await api.post("/cards/batches", { count: Number($("b-count").value) });
    toast(format(t.cards_created, { n: created.size }));
    await load();
  } catch (error) {
    $("batch-error").textContent = explain(error);
  }
});

try { await load(); } catch (error) { toast(explain(error)); }

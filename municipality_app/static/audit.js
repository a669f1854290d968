// The audit log: who changed what, when, before and after; searchable.

import { $, ApiError, api, cell, dateTime, explain, startPage, t } from "./admin.js";
import { brusselsDayStart, nextDay } from "./brussels.js";

await startPage();
let cursor = null;

function json(value) {
  const pre = document.createElement("pre");
  pre.className = "json";
  pre.textContent = value ? JSON.stringify(value, null, 1) : "—";
  return pre;
}

async function load(reset) {
  const query = new URLSearchParams({ limit: "50" });
  if ($("au-q").value.trim()) query.set("q", $("au-q").value.trim());
  // Brussels days; the API reads a time without offset as UTC and "to" is exclusive.
  if ($("au-from").value) query.set("from", brusselsDayStart($("au-from").value));
  if ($("au-to").value) query.set("to", brusselsDayStart(nextDay($("au-to").value)));
  if (!reset && cursor) query.set("cursor", cursor);
  $("audit-error").textContent = "";
  try {
    const page = await api.get(`/audit?${query}`);
    const body = $("audit-table").tBodies[0];
    if (reset) body.replaceChildren();
    for (const event of page.items) {
      const tr = document.createElement("tr");
      const before = cell("", { label: t.before }); before.append(json(event.before));
      const after = cell("", { label: t.after }); after.append(json(event.after));
      tr.append(
        cell(dateTime(event.created_at), { label: t.date }),
        cell(event.actor_user_id ? `#${event.actor_user_id}` : "—", { label: t.who }),
        cell(event.action, { label: t.what }),
        cell(`${event.entity_type} ${event.entity_id}`, { label: t.entity }),
        before, after,
      );
      body.append(tr);
    }
    cursor = page.next_cursor;
    $("more").hidden = !cursor;
  } catch (error) {
    $("audit-error").textContent = error instanceof ApiError && error.status === 404 ? t.audit_unavailable : explain(error);
  }
}

$("audit-form").addEventListener("submit", (event) => { event.preventDefault(); load(true); });
$("more").addEventListener("click", () => load(false));
await load(true);

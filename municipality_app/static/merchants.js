// Shops and applications: filter, and (administrators) approve, reject, suspend, reactivate.

import { $, api, button, cell, confirmAction, dateTime, explain, format, startPage, t, toast } from "./admin.js";

const me = await startPage();
const params = new URLSearchParams(location.search);
for (const name of ["status", "category", "village", "q"]) {
  const field = $("filter-form").elements[name];
  if (field && params.get(name)) field.value = params.get(name);
}
let cursor = null;

const ACTIONS = {
  pending: [["approve", false], ["reject", true]],
  active: [["suspend", true]],
  suspended: [["reactivate", false]],
  rejected: [],
};

async function act(merchant, action, needsReason) {
  const answer = await confirmAction(format(t[`confirm_${action}`], { name: merchant.name }), { reason: needsReason });
  if (!answer) return;
  try {
    await api.post(`/merchants/${merchant.id}/${action}`, needsReason ? { reason: answer.reason } : {});
    toast(t[`done_${action}`]);
    await load(true);
  } catch (error) {
    toast(explain(error));
  }
}

function row(merchant) {
  const tr = document.createElement("tr");
  tr.dataset.merchantId = merchant.id;
  const name = cell("", { label: t.name });
  const strong = document.createElement("strong");
  strong.textContent = merchant.name;
  const address = document.createElement("div");
  address.className = "hint";
  address.textContent = `${merchant.address} · ${t.applied_on} ${dateTime(merchant.created_at)}`;
  name.append(strong, address);
  const status = cell("", { label: t.status });
  const badge = document.createElement("span");
  badge.className = `badge ${merchant.status}`;
  badge.textContent = t[`status_${merchant.status}`] || merchant.status;
  status.append(badge);
  if (merchant.status_reason) { const why = document.createElement("div"); why.className = "hint"; why.textContent = merchant.status_reason; status.append(why); }
  const contact = cell("", { label: t.contact });
  contact.append(merchant.contact_name || "—");
  if (merchant.contact_email) { const mail = document.createElement("div"); const a = document.createElement("a"); a.href = `mailto:${merchant.contact_email}`; a.textContent = merchant.contact_email; mail.append(a); contact.append(mail); }
  if (merchant.contact_phone) { const phone = document.createElement("div"); phone.textContent = merchant.contact_phone; contact.append(phone); }
  const actions = cell("", { label: t.actions });
  if (me.canWrite) {
    const box = document.createElement("div");
    box.className = "actions";
    for (const [action, needsReason] of ACTIONS[merchant.status] || []) {
      box.append(button(t[action], () => act(merchant, action, needsReason), { secondary: action !== "approve", testid: `${action}-${merchant.id}` }));
    }
    actions.append(box);
  }
  tr.append(
    name, status,
    cell(t[`cat_${merchant.category}`] || merchant.category, { label: t.category }),
    cell(merchant.village, { label: t.village }),
    contact,
    cell([merchant.vat_number, merchant.iban].filter(Boolean).join(" · "), { label: `${t.vat_number} / ${t.iban}` }),
    actions,
  );
  return tr;
}

async function load(reset) {
  const form = $("filter-form").elements;
  const query = new URLSearchParams();
  for (const name of ["status", "category", "village", "q"]) if (form[name].value.trim()) query.set(name, form[name].value.trim());
  if (!reset && cursor) query.set("cursor", cursor);
  $("list-error").textContent = "";
  try {
    const page = await api.get(`/merchants?${query}`);
    const body = $("merchant-table").tBodies[0];
    if (reset) body.replaceChildren();
    page.items.forEach((merchant) => body.append(row(merchant)));
    cursor = page.next_cursor;
    $("more").hidden = !cursor;
    $("list-empty").hidden = body.rows.length > 0;
  } catch (error) {
    $("list-error").textContent = explain(error);
  }
}

$("filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = new URLSearchParams(new FormData($("filter-form")));
  history.replaceState(null, "", `?${[...query].filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`);
  load(true);
});
$("more").addEventListener("click", () => load(false));
await load(true);

// Settlement: close a month, statements per shop (PDF/CSV), payout run, SEPA file,
// confirmation that the bank paid; the municipality's own bank account.

import { $, ApiError, api, button, cell, confirmAction, dateTime, download, euro, explain, format, monthName, number, startPage, t, toast } from "./admin.js";

const me = await startPage();
let current = null;

function guessLastMonth() {
  const now = new Date();
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  $("c-year").value = last.getUTCFullYear();
  $("c-month").value = last.getUTCMonth() + 1;
}

async function loadBank() {
  const bank = await api.get("/settlement/bank-account");
  $("bank-iban").value = bank.iban || "";
  $("bank-bic").value = bank.bic || "";
  $("bank-iban").readOnly = $("bank-bic").readOnly = !me.canWrite;
}

async function loadPeriods() {
  const periods = await api.get("/settlement/periods");
  const body = $("period-table").tBodies[0];
  body.replaceChildren();
  for (const period of periods) {
    const tr = document.createElement("tr");
    const open = cell("", { label: t.actions });
    open.append(button(t.open, () => showPeriod(period), { secondary: true, testid: `open-period-${period.id}` }));
    tr.append(
      cell(monthName(period.year, period.month), { label: t.period }),
      cell(dateTime(period.closed_at), { label: t.closed_at }),
      cell(number(period.line_count), { label: t.statements, className: "num" }),
      open,
    );
    body.append(tr);
  }
}

async function showPeriod(period) {
  current = period;
  $("detail-heading").textContent = `${t.statements} · ${monthName(period.year, period.month)}`;
  const statements = await api.get(`/settlement/periods/${period.id}/statements`);
  const body = $("statement-table").tBodies[0];
  body.replaceChildren();
  for (const s of statements) {
    const tr = document.createElement("tr");
    const files = cell("", { label: "PDF / CSV" });
    const box = document.createElement("div");
    box.className = "actions";
    box.append(
      button("PDF", () => download(`/settlement/statements/${s.id}.pdf`, `statement-${s.id}.pdf`).catch((e) => toast(explain(e))), { secondary: true }),
      button("CSV", () => download(`/settlement/statements/${s.id}.csv`, `statement-${s.id}.csv`).catch((e) => toast(explain(e))), { secondary: true }),
    );
    files.append(box);
    tr.append(
      cell(s.merchant_name, { label: t.merchant }),
      cell(number(s.points_issued - s.issued_reversed), { label: t.issued, className: "num" }),
      cell(number(s.bonus_points - s.bonus_reversed), { label: t.bonus, className: "num" }),
      cell(number(s.points_redeemed - s.redeemed_reversed), { label: t.redeemed, className: "num" }),
      cell(euro(s.owed_closing_cents), { label: t.owed_closing, className: "num" }),
      files,
    );
    body.append(tr);
  }
  $("period-detail").hidden = false;
  await showPayouts();
  $("period-detail").focus();
}

async function showPayouts() {
  $("payout-error").textContent = "";
  let batch = null;
  try {
    batch = await api.get(`/settlement/periods/${current.id}/payouts`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  $("payout-status").textContent = batch
    ? `${number(batch.payout_count)} × · ${euro(batch.total_cents)} · ${t[`payout_status_${batch.status}`] || batch.status}`
    : t.no_payouts;
  $("payout-run").hidden = !me.canWrite || Boolean(batch);
  $("sepa-download").hidden = !batch;
  $("payout-confirm").hidden = !me.canWrite || !batch || batch.status === "confirmed";
  $("payout-confirm").dataset.count = batch ? batch.payout_count : 0;
}

$("close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const year = Number($("c-year").value), month = Number($("c-month").value);
  if (!(await confirmAction(format(t.confirm_close, { month: monthName(year, month) })))) return;
  $("close-error").textContent = "";
  try {
    const closed = await api.post("/settlement/periods", { year, month });
    await loadPeriods();
    await showPeriod(closed.period);
  } catch (error) {
    $("close-error").textContent = explain(error);
  }
});

$("bank-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("bank-error").textContent = "";
  try {
    const bic = $("bank-bic").value.trim();
    await api.request("PUT", "/settlement/bank-account", { body: { iban: $("bank-iban").value.trim(), ...(bic ? { bic } : {}) } });
    toast(t.saved);
  } catch (error) {
    $("bank-error").textContent = explain(error);
  }
});

$("payout-run").addEventListener("click", async () => {
  try { await api.post(`/settlement/periods/${current.id}/payouts`, {}); await showPayouts(); } catch (error) { $("payout-error").textContent = explain(error); }
});
$("sepa-download").addEventListener("click", () => download(`/settlement/periods/${current.id}/sepa.xml`, `sepa-${current.year}-${String(current.month).padStart(2, "0")}.xml`).catch((e) => { $("payout-error").textContent = explain(e); }));
$("payout-confirm").addEventListener("click", async () => {
  if (!(await confirmAction(format(t.confirm_payout_confirm, { n: $("payout-confirm").dataset.count })))) return;
  try { await api.post(`/settlement/periods/${current.id}/payouts/confirm`, {}); await showPayouts(); } catch (error) { $("payout-error").textContent = explain(error); }
});

guessLastMonth();
try { await Promise.all([loadBank(), loadPeriods()]); } catch (error) { toast(explain(error)); }

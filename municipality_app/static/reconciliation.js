// Every Stripe payment next to its ledger credit; flagged ones first.

import { $, api, cell, csvText, dateTime, euro, explain, number, startPage, t } from "./admin.js";
import { csvLink } from "./charts.js";

await startPage();
const COLUMNS = ["topup_id", "merchant_id", "status", "created_at", "amount_cents", "paid_cents", "refunded_cents", "points", "credited_points", "clawed_back_points", "flags"];
try {
  const report = await api.get("/payments/reconciliation");
  const head = $("recon-table").tHead.rows[0];
  for (const name of [t.date, "#", t.merchant, t.status, t.amount, t.ledger, ""]) { const th = document.createElement("th"); th.scope = "col"; th.textContent = name; head.append(th); }
  const payments = [...report.payments].sort((a, b) => b.flags.length - a.flags.length);
  const body = $("recon-table").tBodies[0];
  for (const p of payments) {
    const tr = document.createElement("tr");
    tr.append(
      cell(dateTime(p.created_at), { label: t.date }),
      cell(String(p.topup_id), { label: "#" }),
      cell(`#${p.merchant_id}`, { label: t.merchant }),
      cell(p.status, { label: t.status }),
      cell(euro(p.paid_cents), { label: t.amount, className: "num" }),
      cell(`${number(p.credited_points - p.clawed_back_points)} ${t.points}`, { label: t.ledger, className: "num" }),
      cell(p.flags.length ? `⚠ ${t.recon_difference}: ${p.flags.join(", ")}` : `✓ ${t.recon_ok}`, { className: p.flags.length ? "error" : "success" }),
    );
    body.append(tr);
  }
  $("recon-summary").textContent = report.ok ? `✓ ${t.recon_ok} (${report.payments.length})` : `⚠ ${report.flagged_count} × ${t.recon_difference}`;
  $("recon-summary").className = report.ok ? "success" : "error";
  const rows = report.payments.map((p) => COLUMNS.map((c) => (c === "flags" ? p.flags.join(" ") : p[c])));
  $("recon-summary").after(csvLink(COLUMNS, rows, `reconciliation-${report.from}-${report.to}.csv`));
  void csvText;
} catch (error) {
  $("recon-error").textContent = explain(error);
}

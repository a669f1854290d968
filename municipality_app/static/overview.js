// Overview: the scheme's liability, applications waiting, and points per closed month.

import { $, api, euro, explain, monthName, number, startPage, t, toast } from "./admin.js";
import { barChart } from "./charts.js";

await startPage();
try {
  const [liability, pending, periods] = await Promise.all([
    api.get("/settlement/liability"),
    api.get("/merchants?status=pending&limit=200"),
    api.get("/settlement/periods"),
  ]);
  $("fig-outstanding").textContent = `${number(liability.outstanding_points)} ${t.points}`;
  $("fig-value").textContent = euro(liability.outstanding_cents);
  $("fig-owed").textContent = euro(liability.owed_to_merchants_cents);
  $("fig-pending").textContent = number(pending.items.length) + (pending.next_cursor ? "+" : "");
  $("fig-consistent").textContent = liability.consistent ? `✓ ${t.ledger_consistent}` : `⚠ ${t.ledger_inconsistent}`;
  $("fig-consistent").className = liability.consistent ? "success" : "error";
  $("liability").setAttribute("aria-busy", "false");
  const ordered = [...periods].sort((a, b) => a.year - b.year || a.month - b.month).slice(-12);
  const figure = (period, ...names) => names.reduce((sum, name) => sum + (Number((period.totals.movements || period.totals)[name]) || 0), 0);
  barChart($("periods-chart"), {
    title: t.chart_periods,
    categories: ordered.map((p) => monthName(p.year, p.month)),
    series: [
      { name: t.issued, values: ordered.map((p) => figure(p, "points_issued", "issued")) },
      { name: t.redeemed, values: ordered.map((p) => figure(p, "points_redeemed", "redeemed")) },
    ],
    filename: "points-per-month.csv",
  });
} catch (error) {
  toast(explain(error));
}

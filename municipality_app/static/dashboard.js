// Dashboard of local shopping: headline figures against the previous period and the
// charts of /api/v1/reports/*. The filters live in the page's address (a plain GET
// form), so a view can be bookmarked or sent to a colleague.

import { $, api, euro, explain, format, locale, number, startPage, t, toast } from "./admin.js";
import { SUPPRESSED, barChart, heatMap, lineChart, stackedBarChart } from "./charts.js";

const FILTERS = ["from", "to", "category", "village", "merchant_id"];
const KINDS = ["run", "fun", "horeca", "services"];
const params = new URLSearchParams(location.search);
const filters = new URLSearchParams();
for (const name of FILTERS) if (params.get(name)) filters.set(name, params.get(name));

function query(extra = {}, base = filters) {
  const q = new URLSearchParams(base);
  for (const [key, value] of Object.entries(extra)) q.set(key, value);
  const text = q.toString();
  return text ? `?${text}` : "";
}
const report = (name, extra) => api.get(`/reports/${name}${query(extra)}`);
const csvOf = (name, extra = {}, base = filters) => ({ path: `/reports/${name}${query({ ...extra, format: "csv" }, base)}`, filename: `kernpunt-${name}.csv` });

// --------------------------------------------------------------------------- dates

const isoDay = (date) => date.toISOString().slice(0, 10);
const utcDay = (iso) => new Date(`${iso}T00:00:00Z`);
const addDays = (iso, days) => { const d = utcDay(iso); d.setUTCDate(d.getUTCDate() + days); return isoDay(d); };
const brusselsToday = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Brussels" }).format(new Date());
const shortDate = (iso) => new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" }).format(utcDay(iso));
const longDate = (iso) => new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(utcDay(iso));
const monthLabel = (iso) => new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone: "UTC" }).format(utcDay(`${iso.slice(0, 7)}-01`));
const weekdayName = (index) => new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + index)));

function presetPeriod(preset) {
  const today = brusselsToday();
  const yesterday = addDays(today, -1);
  const upTo = (from) => (yesterday < from ? today : yesterday);
  if (/^\d+$/.test(preset)) return [addDays(yesterday, 1 - Number(preset)), yesterday];
  if (preset === "month") return [`${today.slice(0, 8)}01`, upTo(`${today.slice(0, 8)}01`)];
  if (preset === "last_month") {
    const end = addDays(`${today.slice(0, 8)}01`, -1);
    return [`${end.slice(0, 8)}01`, end];
  }
  if (preset === "year") return [`${today.slice(0, 4)}-01-01`, upTo(`${today.slice(0, 4)}-01-01`)];
  return null;
}

// --------------------------------------------------------------------------- filters

function fillFilters(merchants) {
  const villages = [...new Set(merchants.map((m) => m.village).filter(Boolean))].sort((a, b) => a.localeCompare(b, locale));
  for (const village of villages) $("dash-village").append(new Option(village, village));
  for (const merchant of [...merchants].sort((a, b) => a.name.localeCompare(b.name, locale))) {
    $("dash-merchant").append(new Option(merchant.name, String(merchant.id)));
  }
  $("dash-from").value = params.get("from") || "";
  $("dash-to").value = params.get("to") || "";
  $("dash-category").value = params.get("category") || "";
  $("dash-village").value = params.get("village") || "";
  $("dash-merchant").value = params.get("merchant_id") || "";
}

$("dash-preset").addEventListener("change", () => {
  const period = presetPeriod($("dash-preset").value);
  if (!period) return;
  [$("dash-from").value, $("dash-to").value] = period;
  $("dash-filters").requestSubmit();
});
// Empty fields stay out of the address: the API's defaults apply.
$("dash-filters").addEventListener("submit", () => {
  for (const field of $("dash-filters").querySelectorAll("[name]")) field.disabled = !field.value;
});

// --------------------------------------------------------------------------- figures

function figureText(unit, value) {
  if (value === null || value === undefined) return SUPPRESSED;
  if (unit === "cents") return euro(value);
  if (unit === "points") return `${number(value)} ${t.points}`;
  return number(value);
}

function changeText(value, previous) {
  if (value === null || previous === null || !previous) return "";
  const pct = Math.round(((value - previous) / previous) * 100);
  if (pct === 0) return t.dash_change_same;
  return format(pct > 0 ? t.dash_change_up : t.dash_change_down, { pct: number(Math.abs(pct)) });
}

function showSummary(summary) {
  for (const row of summary.rows) {
    const value = $(`fig-${row.figure}`), previous = $(`prev-${row.figure}`);
    if (!value) continue;
    value.textContent = figureText(row.unit, row.value);
    value.classList.toggle("suppressed", row.value === null);
    if (row.value === null) value.title = t.dash_suppressed;
    const parts = [format(t.dash_previous, { value: figureText(row.unit, row.previous) })];
    const change = changeText(row.value, row.previous);
    if (change) parts.push(change);
    if (row.value === null || row.previous === null) parts.push(`${SUPPRESSED} ${t.dash_suppressed}`);
    if (["outstanding_points", "liability"].includes(row.figure) && (filters.has("category") || filters.has("village") || filters.has("merchant_id"))) parts.push(t.dash_whole_town);
    previous.textContent = parts.join(" · ");
  }
  const { from, to } = summary.period;
  const before = summary.extra.previous_period || {};
  $("dash-period").textContent = `${format(t.dash_period, { from: longDate(from), to: longDate(to) })}, ${format(t.dash_previous_period, { from: longDate(before.from), to: longDate(before.to) })}`;
  $("dash-privacy").textContent = format(t.dash_privacy, { k: summary.k });
  if (!$("dash-from").value) $("dash-from").value = from;
  if (!$("dash-to").value) $("dash-to").value = to;
  $("figures").setAttribute("aria-busy", "false");
}

// --------------------------------------------------------------------------- charts

const measure = (row, name) => (row.suppressed ? null : row[name]);
const euroOrNull = (value) => (value === null ? null : euro(value));
const categoryName = (category) => (category === "(none)" ? t.category_none : t[`cat_${category}`] || category);
const villageName = (village) => (village === "(unknown)" ? t.village_unknown : village);
const unique = (values) => [...new Set(values)];

// Long rows -> a matrix; a missing cell (no activity) stays undefined and reads as 0.
function pivot(rows, rowKey, colKey, value, rowOrder, colOrder) {
  const rowsOut = rowOrder || unique(rows.map((r) => r[rowKey])).sort();
  const cols = colOrder || unique(rows.map((r) => r[colKey])).sort();
  const values = rowsOut.map(() => cols.map(() => undefined));
  for (const row of rows) {
    const r = rowsOut.indexOf(row[rowKey]), c = cols.indexOf(row[colKey]);
    if (r >= 0 && c >= 0) values[r][c] = measure(row, value);
  }
  return { rows: rowsOut, cols, values };
}

function empty(container) {
  container.classList.add("chart");
  container.textContent = t.dash_no_data;
}

const CHARTS = {
  "spend_week": async (container) => {
    const data = await report("spend-per-week");
    if (!data.rows.length) return empty(container);
    barChart(container, {
      title: t.chart_spend_week,
      categories: data.rows.map((r) => shortDate(r.week)),
      series: [{ name: t.col_spend, values: data.rows.map((r) => measure(r, "spend_cents")) }],
      format: euro,
      csv: csvOf("spend-per-week"),
      table: {
        header: [t.col_week, t.col_spend, t.col_purchases, t.col_shoppers, t.col_points_issued],
        rows: data.rows.map((r) => [longDate(r.week), euroOrNull(measure(r, "spend_cents")), measure(r, "purchases"), measure(r, "shoppers"), measure(r, "points_issued")]),
      },
    });
  },
  "fun_run": async (container) => {
    const data = await report("fun-run");
    if (!data.rows.length) return empty(container);
    const grid = pivot(data.rows, "shopping", "week", "spend_cents", KINDS);
    stackedBarChart(container, {
      title: t.chart_fun_run,
      categories: grid.cols.map(shortDate),
      series: grid.rows.map((kind, i) => ({ name: t[`shopping_${kind}`], values: grid.values[i].map((v) => (v === undefined ? 0 : v)) })),
      format: euro,
      csv: csvOf("fun-run"),
    });
  },
  "villages": async (container) => {
    const data = await report("villages");
    if (!data.rows.length) return empty(container);
    const grid = pivot(data.rows, "home_village", "shop_village", "spend_cents");
    heatMap(container, {
      title: t.chart_villages, rowLabels: grid.rows.map(villageName), colLabels: grid.cols.map(villageName), values: grid.values,
      format: euro, csv: csvOf("villages"), showValues: true, corner: t.col_home_village,
    });
  },
  "heatmap": async (container) => {
    const data = await report("heatmap");
    if (!data.rows.length) return empty(container);
    const hours = data.rows.map((r) => r.hour);
    const hourRange = Array.from({ length: Math.max(...hours) - Math.min(...hours) + 1 }, (_, i) => Math.min(...hours) + i);
    const grid = pivot(data.rows, "weekday", "hour", "purchases", [0, 1, 2, 3, 4, 5, 6], hourRange);
    heatMap(container, {
      title: t.chart_heatmap, rowLabels: grid.rows.map(weekdayName), colLabels: grid.cols.map((h) => String(h).padStart(2, "0")),
      values: grid.values, csv: csvOf("heatmap"), corner: t.col_weekday_hour,
    });
  },
  "circulation": async (container) => {
    const data = await report("circulation");
    if (!data.rows.length) return empty(container);
    const grid = pivot(data.rows, "earned_category", "spent_category", "points");
    heatMap(container, {
      title: t.chart_circulation, rowLabels: grid.rows.map(categoryName), colLabels: grid.cols.map(categoryName), values: grid.values,
      csv: csvOf("circulation"), showValues: true, corner: t.col_earned_spent,
    });
  },
  "top": async (container) => {
    const data = await report("top-merchants", { limit: 10 });
    if (!data.rows.length) return empty(container);
    barChart(container, {
      title: t.chart_top,
      categories: data.rows.map((r) => String(r.rank)),
      series: [{ name: t.col_spend, values: data.rows.map((r) => measure(r, "spend_cents")) }],
      format: euro,
      csv: csvOf("top-merchants", { limit: 10 }),
      table: {
        header: [t.col_rank, t.name, t.category, t.village, t.col_spend, t.col_purchases, t.col_shoppers, t.col_points_issued, t.col_points_redeemed],
        rows: data.rows.map((r) => [String(r.rank), r.name, categoryName(r.category), r.village, euroOrNull(measure(r, "spend_cents")),
          measure(r, "purchases"), measure(r, "shoppers"), measure(r, "points_issued"), measure(r, "points_redeemed")]),
      },
    });
  },
  "retention": async (container) => {
    const data = await report("retention");
    if (!data.rows.length) return empty(container);
    const grid = pivot(data.rows, "cohort", "months_since_signup", "rate_pct");
    lineChart(container, {
      title: t.chart_retention,
      categories: grid.cols.map((n) => format(t.months_later, { n })),
      series: grid.rows.map((cohort, i) => ({ name: monthLabel(cohort), values: grid.values[i] })),
      format: (value) => `${number(value)}%`,
      max: 100,
      csv: csvOf("retention"),
    });
  },
};

async function drawChart(name) {
  const container = $(`chart-${name}`);
  try {
    await CHARTS[name](container);
  } catch (error) {
    container.textContent = explain(error);
    container.classList.add("error");
  } finally {
    container.setAttribute("aria-busy", "false");
  }
}

// --------------------------------------------------------------------------- campaign uplift

async function showUplift(campaigns) {
  const select = $("dash-campaign"), container = $("chart-uplift");
  const id = select.value;
  if (!id) { container.textContent = t.dash_no_campaigns; container.setAttribute("aria-busy", "false"); return; }
  const base = new URLSearchParams();
  for (const name of ["category", "village"]) if (filters.has(name)) base.set(name, filters.get(name));
  container.setAttribute("aria-busy", "true");
  try {
    const data = await api.get(`/reports/campaigns/${id}/uplift${query({}, base)}`);
    const rows = ["campaign", "baseline"].map((which) => data.rows.find((r) => r.period === which) || {});
    const labels = [t.dash_campaign_row, t.dash_baseline_row];
    barChart(container, {
      title: `${t.chart_uplift}: ${campaigns.find((c) => String(c.account_id) === id)?.name || ""}`,
      categories: labels,
      series: [{ name: t.col_spend_per_day, values: rows.map((r) => measure(r, "spend_per_day_cents") ?? null) }],
      format: euro,
      csv: csvOf(`campaigns/${id}/uplift`, {}, base),
      table: {
        header: ["", t.dash_from, t.dash_to, t.col_days, t.col_spend_per_day, t.col_purchases, t.col_spend, t.col_shoppers],
        rows: rows.map((r, i) => [labels[i], r.from ? longDate(r.from) : "", r.to ? longDate(r.to) : "", r.days ?? null,
          euroOrNull(measure(r, "spend_per_day_cents") ?? null), measure(r, "purchases") ?? null, euroOrNull(measure(r, "spend_cents") ?? null), measure(r, "shoppers") ?? null]),
      },
    });
    const pct = data.extra.uplift_pct;
    $("uplift-figure").textContent = pct === null || pct === undefined ? t.dash_uplift_none : format(t.dash_uplift, { pct: `${pct > 0 ? "+" : ""}${number(pct)}` });
  } catch (error) {
    container.textContent = explain(error);
  } finally {
    container.setAttribute("aria-busy", "false");
  }
}

async function startUplift() {
  const select = $("dash-campaign");
  let campaigns = [];
  try {
    campaigns = (await api.get("/reports/campaigns")).filter((c) => c.bonuses > 0);
  } catch (error) {
    $("chart-uplift").textContent = explain(error);
    return;
  }
  if (!campaigns.length) select.append(new Option(t.dash_no_campaigns, ""));
  for (const campaign of campaigns) {
    const when = campaign.start ? ` (${longDate(campaign.start)} – ${longDate(campaign.end)})` : "";
    select.append(new Option(`${campaign.name}${when}`, String(campaign.account_id)));
  }
  select.disabled = !campaigns.length;
  select.addEventListener("change", () => showUplift(campaigns));
  await showUplift(campaigns);
}

// --------------------------------------------------------------------------- start

await startPage();
try {
  const merchants = await api.get("/merchants?limit=200");
  fillFilters(merchants.items || []);
} catch (error) {
  toast(explain(error));
}
try {
  showSummary(await report("summary"));
} catch (error) {
  $("figures").setAttribute("aria-busy", "false");
  $("dash-period").textContent = explain(error);
  $("dash-period").className = "error";
}
await Promise.all([...Object.keys(CHARTS).map(drawChart), startUplift()]);
document.body.dataset.dashboardReady = "true";

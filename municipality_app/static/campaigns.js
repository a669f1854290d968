// Campaigns: the list with status and budget (used / left), create and change, fund the
// budget (one idempotency key per intended top-up), stop and resume, and the preview of
// what a purchase would earn. Auditors see everything without the change buttons.

import { $, ApiError, api, button, cell, confirmAction, dateTime, euro, explain, format, number, startPage, t, toast } from "./admin.js";
import { brusselsInputValue, weekdayOf } from "./brussels.js";
import { fillChoices, openEditor } from "./campaign_form.js";
import { FieldErrors, readCents } from "./fields.js";
import { newIdempotencyKey } from "/static/common/api.js";

const me = await startPage();
let cursor = null;
let tenant = { point_value_cents: 1 };
let merchants = [];

async function allActiveMerchants() {
  const found = [];
  let next = null;
  do {
    const page = await api.get(`/merchants?status=active&limit=200${next ? `&cursor=${next}` : ""}`);
    found.push(...page.items);
    next = page.next_cursor;
  } while (next && found.length < 2000);
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function bonusText(c) {
  return c.multiplier_percent ? format(t.camp_bonus_multiplier, { percent: c.multiplier_percent }) : format(t.camp_bonus_fixed, { points: number(c.fixed_points) });
}

function whenText(c) {
  const window = c.ends_at ? format(t.camp_range, { start: dateTime(c.starts_at), end: dateTime(c.ends_at) }) : format(t.camp_from, { start: dateTime(c.starts_at) });
  const days = c.weekdays.length ? ` · ${c.weekdays.map((d) => t[`day_${d}`]).join(", ")}` : "";
  return window + days;
}

// Used / left as a small bar and in words; the bar is decoration, the words carry it.
function budgetCell(c) {
  const td = cell("", { label: t.camp_budget });
  const b = c.budget;
  const used = b.bonus_paid - b.bonus_reversed;
  const total = Math.max(used + b.left, 1);
  const bar = document.createElement("div");
  bar.className = "budget-bar";
  bar.setAttribute("aria-hidden", "true");
  const fill = document.createElement("span");
  fill.style.width = `${Math.min(100, (100 * used) / total)}%`;
  bar.append(fill);
  const text = document.createElement("div");
  text.className = "hint";
  text.dataset.testid = "camp-budget";
  text.textContent = format(t.camp_budget_text, { used: number(used), left: number(b.left), funded: number(b.funded) });
  td.append(bar, text);
  // Bonus points a shopper had already spent when the purchase was undone stay spent.
  if (b.bonus_kept > 0) {
    const kept = document.createElement("div");
    kept.className = "hint";
    kept.dataset.testid = "camp-budget-kept";
    kept.textContent = format(t.camp_budget_kept, { kept: number(b.bonus_kept) });
    td.append(kept);
  }
  return td;
}

function row(c) {
  const tr = document.createElement("tr");
  tr.dataset.campaignId = c.id;
  const name = cell("", { label: t.name });
  const strong = document.createElement("strong");
  strong.textContent = c.name;
  name.append(strong);
  const tags = [c.trigger === "signup" && t.camp_welcome_tag, c.first_purchase_only && t.camp_first_tag].filter(Boolean);
  if (tags.length) { const hint = document.createElement("div"); hint.className = "hint"; hint.textContent = tags.join(" · "); name.append(hint); }
  const status = cell("", { label: t.status });
  const badge = document.createElement("span");
  badge.className = `badge camp-${c.status}`;
  badge.dataset.testid = "camp-status";
  badge.textContent = t[`camp_status_${c.status}`] || c.status;
  status.append(badge);
  const actions = cell("", { label: t.actions });
  const box = document.createElement("div");
  box.className = "actions";
  if (me.canWrite) {
    box.append(
      button(t.camp_edit, () => openEditor(c, reload), { secondary: true, testid: "camp-edit" }),
      button(t.camp_fund, () => openFunding(c), { testid: "camp-fund" }),
      c.active ? button(t.camp_stop, () => setActive(c, "stop"), { secondary: true, testid: "camp-stop" })
        : button(t.camp_start, () => setActive(c, "start"), { secondary: true, testid: "camp-start" }),
    );
  }
  actions.append(box);
  tr.append(name, status, cell(bonusText(c), { label: t.camp_bonus }), cell(whenText(c), { label: t.camp_when }), budgetCell(c), actions);
  return tr;
}

async function load(reset) {
  $("camp-list-error").textContent = "";
  try {
    const page = await api.get(`/campaigns?limit=20${!reset && cursor ? `&cursor=${cursor}` : ""}`);
    // The list has no budget figures; each campaign's own page has.
    const detailed = await Promise.all(page.items.map((c) => api.get(`/campaigns/${c.id}`)));
    const body = $("camp-table").tBodies[0];
    if (reset) body.replaceChildren();
    detailed.forEach((c) => body.append(row(c)));
    cursor = page.next_cursor;
    $("more").hidden = !cursor;
    $("camp-empty").hidden = body.rows.length > 0;
  } catch (error) {
    $("camp-list-error").textContent = explain(error);
  }
}
const reload = async (saved, wasNew) => { await load(true); if (wasNew && saved) openFunding(saved); };

async function setActive(c, action) {
  if (!(await confirmAction(format(t[`confirm_camp_${action}`], { name: c.name })))) return;
  try {
    await api.post(`/campaigns/${c.id}/${action}`, {});
    toast(action === "stop" ? t.camp_stopped : t.camp_started);
    await load(true);
  } catch (error) {
    toast(explain(error));
  }
}

// Funding: the key is made when the admin opens the dialog for a top-up, so a retry after
// a lost answer (or a double click) books it once; a new top-up is a new opening.
const fundForm = $("fund-form");
const fundErrors = new FieldErrors(fundForm);
let funding = null;

function openFunding(c) {
  funding = { campaign: c, key: newIdempotencyKey("campaign-fund") };
  fundErrors.clear();
  fundForm.reset();
  $("fund-error").textContent = "";
  $("fund-heading").textContent = format(t.camp_fund_heading, { name: c.name });
  $("f-points-hint").textContent = format(t.camp_fund_hint, { value: euro(tenant.point_value_cents) });
  $("fund-dialog").showModal();
  $("f-points").focus();
}
$("fund-cancel").addEventListener("click", () => $("fund-dialog").close());
fundForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  fundErrors.clear();
  $("fund-error").textContent = "";
  const points = Number($("f-points").value);
  if (!Number.isInteger(points) || points < 1 || points > 1e9) { fundErrors.set("points", format(t.field_range, { min: 1, max: number(1e9) })); return; }
  const submit = fundForm.querySelector("[type=submit]");
  submit.disabled = true;
  try {
    const response = await api.request("POST", `/campaigns/${funding.campaign.id}/fund`, {
      body: { points }, idempotencyKey: funding.key, raw: true,
    });
    const done = await response.json();
    $("fund-dialog").close();
    toast(response.headers.get("Idempotent-Replayed") ? t.camp_fund_repeated : format(t.camp_funded, { points: number(done.points), left: number(done.budget_left) }));
    await load(true);
  } catch (error) {
    $("fund-error").textContent = fundErrors.fromApi(error);
  } finally {
    submit.disabled = false;
  }
});

// The preview: base points plus each campaign's bonus; writes nothing.
const previewForm = $("preview-form");
const previewErrors = new FieldErrors(previewForm);

function line(label, points, extra = "") {
  const li = document.createElement("li");
  li.textContent = `${label}: ${number(points)} ${t.points}${extra ? ` (${extra})` : ""}`;
  return li;
}

previewForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  previewErrors.clear();
  $("preview-error").textContent = "";
  const cents = readCents($("p-amount"), previewErrors);
  if (!$("p-shop").value) previewErrors.set("merchant_id", t.field_required);
  if (cents === undefined || previewErrors.count) return;
  const at = $("p-at").value || brusselsInputValue(Date.now());
  try {
    const result = await api.post("/campaigns/preview", { merchant_id: Number($("p-shop").value), purchase_cents: cents, at });
    const out = $("preview-result");
    const summary = document.createElement("p");
    summary.textContent = format(t.camp_preview_summary, {
      amount: euro(result.purchase_cents), shop: result.merchant_name,
      when: `${t[`day_${weekdayOf(at)}`]} ${dateTime(result.at)}`,
    });
    const list = document.createElement("ul");
    list.dataset.testid = "preview-lines";
    list.append(line(t.camp_preview_base, result.base_points, result.below_minimum ? t.camp_preview_below_min : ""));
    for (const bonus of result.bonuses) {
      const notes = [bonus.paid_points < bonus.bonus_points && format(t.camp_preview_cut, { paid: number(bonus.paid_points) }),
        bonus.first_purchase_only && t.camp_preview_first].filter(Boolean).join("; ");
      list.append(line(bonus.campaign_name, bonus.bonus_points, notes));
    }
    const total = document.createElement("p");
    total.className = "preview-total";
    total.dataset.testid = "preview-total";
    total.textContent = `${t.camp_preview_total}: ${number(result.total_points)} ${t.points} (${euro(result.total_points * tenant.point_value_cents)})`;
    out.replaceChildren(summary, list, ...(result.bonuses.length ? [] : [Object.assign(document.createElement("p"), { textContent: t.camp_preview_none })]), total);
  } catch (error) {
    $("preview-error").textContent = error instanceof ApiError ? previewErrors.fromApi(error) : explain(error);
  }
});

$("camp-new").addEventListener("click", () => openEditor(null, reload));
$("more").addEventListener("click", () => load(false));

try {
  tenant = await api.get("/tenant");
  const [form, shops] = await Promise.all([
    api.get(`/merchant-applications/form?tenant=${encodeURIComponent(tenant.slug)}`, { auth: false }),
    allActiveMerchants(),
  ]);
  merchants = shops;
  fillChoices({ villages: form.villages, merchants });
  $("p-shop").append(new Option(t.choose, ""), ...merchants.map((m) => new Option(`${m.name} (${m.village})`, m.id)));
} catch (error) {
  $("camp-list-error").textContent = explain(error);
}
await load(true);

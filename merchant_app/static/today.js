// Today's sales at this shop: totals, earns (undo within the window, partial refund)
// and redemptions.

import { $, ApiError, announce, api, bonusNote, euro, explain, format, formatTime, number, show, startPage, t } from "./till.js";
import { startQueue } from "./queue.js";
import { euroToCents, attachAmount } from "./keypad.js";
import { newIdempotencyKey } from "/static/common/api.js";

// One key per action on one sale, kept until that action got a final answer.
const keys = new Map();
function keyFor(action, id) {
  const name = `${action}:${id}`;
  if (!keys.has(name)) keys.set(name, newIdempotencyKey(`till-${action}`));
  return keys.get(name);
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.entries(props).forEach(([k, v]) => {
    if (k === "dataset") Object.assign(node.dataset, v); else if (k in node) node[k] = v; else node.setAttribute(k, v);
  });
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// The contract's 15-minute undo window, for a list that does not say until when.
const UNDO_WINDOW_MS = 15 * 60 * 1000;

function reversed(earn) { return Boolean(earn.undone); }
function refunded(earn) { return (earn.refunded_cents || 0) > 0; }
function undoUntil(earn) {
  if (earn.undo_until) return new Date(earn.undo_until);
  return new Date(new Date(earn.created_at).getTime() + UNDO_WINDOW_MS);
}
function earnId(earn) { return earn.transfer_id ?? earn.id; }

function earnRow(earn) {
  const id = earnId(earn);
  const who = earn.shopper_display || "";
  const via = earn.via && t[`via_${earn.via}`] ? ` · ${t[`via_${earn.via}`]}` : "";
  const li = el("li", { className: "sale", dataset: { testid: "earn-row", transferId: String(id) } });
  const summary = el("p", {}, el("strong", {}, formatTime(earn.created_at)), ` · ${euro(earn.purchase_cents)} · `,
    el("strong", {}, `${number(earn.points)} ${t.points}`), who ? ` · ${who}` : "", via, earn.capped ? ` (${t.capped_short})` : "");
  li.append(summary);
  if (reversed(earn)) { li.append(el("p", { className: "hint" }, t.today_undone)); li.classList.add("reversed"); return li; }
  if (refunded(earn)) {
    li.append(el("p", { className: "hint" }, format(t.today_refunded_detail, { amount: euro(earn.refunded_cents), points: number(earn.reversed_points || 0) })));
    return li;
  }
  const actions = el("div", { className: "row" });
  const status = el("p", { className: "error", role: "alert" });
  const until = undoUntil(earn);
  if (until > new Date()) {
    const undo = el("button", { type: "button", className: "secondary", textContent: format(t.undo_until, { time: formatTime(until.toISOString()) }), dataset: { testid: "today-undo" } });
    undo.addEventListener("click", () => act("undo", id, {}, undo, status, format(t.undo_confirm, { points: number(earn.points) })));
    actions.append(undo);
    setTimeout(() => undo.remove(), until - new Date());
  }
  const refundOpen = el("button", { type: "button", className: "secondary", textContent: t.refund, dataset: { testid: "today-refund" }, "aria-expanded": "false" });
  const inputId = `refund-${id}`;
  const input = el("input", { id: inputId, type: "text", inputMode: "decimal", autocomplete: "off", maxLength: 9, placeholder: "0,00", dataset: { testid: "refund-amount" } });
  const refundForm = el("form", { className: "refund", hidden: true, noValidate: true },
    el("label", { htmlFor: inputId }, format(t.refund_label, { amount: euro(earn.purchase_cents) })), input,
    el("button", { type: "submit", textContent: t.refund_confirm, dataset: { testid: "refund-confirm" } }));
  attachAmount(input, { kind: "euro" });
  refundOpen.addEventListener("click", () => {
    refundForm.hidden = !refundForm.hidden;
    refundOpen.setAttribute("aria-expanded", String(!refundForm.hidden));
    if (!refundForm.hidden) input.focus();
  });
  refundForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const cents = euroToCents(input.value);
    if (!cents) { status.textContent = t.amount_missing; input.focus(); return; }
    if (cents > earn.purchase_cents) { status.textContent = t.error_refund_exceeds_purchase; input.focus(); return; }
    act("refund", id, { refund_cents: cents }, refundForm.querySelector("button"), status, null, cents);
  });
  actions.append(refundOpen);
  li.append(actions, refundForm, status);
  return li;
}

async function act(action, id, body, button, status, question, cents) {
  if (question && !window.confirm(question)) return;
  // A different refund amount is another request: it needs a key of its own.
  const keyName = action === "refund" ? `refund-${cents}` : action;
  button.disabled = true;
  status.textContent = "";
  try {
    const reversal = await api.post(`/till/earns/${id}/${action}`, body, { idempotencyKey: keyFor(keyName, id) });
    const done = format(action === "undo" ? t.undo_done : t.refund_done, { points: number(reversal.points) });
    announce(`${done} ${bonusNote(reversal)}`.trim());
    await load();
  } catch (error) {
    status.textContent = error instanceof ApiError && error.status === 0 ? t.action_retry : explain(error);
    if (!(error instanceof ApiError) || error.status !== 0) keys.delete(`${keyName}:${id}`);
    button.disabled = false;
  }
}

function redemptionRow(r) {
  const status = r.status ? ` · ${t[`hold_status_${r.status}`] || r.status}` : "";
  return el("li", { className: "sale", dataset: { testid: "redemption-row" } },
    el("p", {}, el("strong", {}, formatTime(r.created_at || r.captured_at)), ` · ${euro(r.discount_cents)} · `,
      el("strong", {}, `${number(r.points)} ${t.points}`), r.shopper_display ? ` · ${r.shopper_display}` : "", status));
}

async function load() {
  const error = $("today-error");
  $("today-totals").setAttribute("aria-busy", "true");
  try {
    const today = await api.get("/till/today");
    error.textContent = "";
    const totals = today.totals || {};
    $("today-date").textContent = today.date ? `(${new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "long" }).format(new Date(`${today.date}T12:00:00`))})` : "";
    $("total-earn-count").textContent = number(totals.earn_count ?? 0);
    $("total-points-issued").textContent = number(totals.points_issued ?? 0);
    $("total-purchase").textContent = euro(totals.purchase_cents ?? 0);
    $("total-redemption-count").textContent = number(totals.redemption_count ?? 0);
    $("total-points-redeemed").textContent = number(totals.points_redeemed ?? 0);
    $("total-discount").textContent = euro(totals.discount_cents ?? 0);
    const earns = today.earns || [];
    const redemptions = today.redemptions || [];
    $("today-earns").replaceChildren(...earns.map(earnRow));
    $("today-redemptions").replaceChildren(...redemptions.map(redemptionRow));
    show($("today-earns-empty"), earns.length === 0);
    show($("today-redemptions-empty"), redemptions.length === 0);
  } catch (problem) {
    error.textContent = explain(problem);
  } finally {
    $("today-totals").setAttribute("aria-busy", "false");
  }
}

$("today-refresh").addEventListener("click", () => load().then(() => announce(t.refreshed)));
startPage().then(() => { startQueue(); load(); });
// A waiting sale that was just sent shows up in today's list.
let reload = null;
window.addEventListener("till-queue-changed", () => { clearTimeout(reload); reload = setTimeout(load, 1500); });

// Earn: scan -> who is it -> amount on the keypad -> points given. The idempotency key
// of a sale is made (and stored, see queue.js) before its first request.

import { $, ApiError, announce, api, bonusNote, euro, explain, format, number, show, startPage, t } from "./till.js";
import { Queued, createEarn, sendNow, startQueue } from "./queue.js";
import { routeStrayKeys, setupScanner } from "./scanner.js";
import { attachAmount, centsToText, euroToCents } from "./keypad.js";
import { newIdempotencyKey } from "/static/common/api.js";

const RESCAN_CODES = new Set(["token_expired", "token_used", "token_tampered", "token_foreign", "scan_unreadable", "card_unknown"]);

const state = { step: "scan", scan: "", shopper: "", earn: null, undoKey: null, stopUndoTimer: null, sending: false };
const amountForm = $("amount-form");
const amount = $("amount");
const result = $("earn-result");

function goTo(step) {
  state.step = step;
  show($("step-scan"), step === "scan");
  show(amountForm, step === "amount");
  show(result, step === "result");
}

function shopperLabel(who) {
  if (!who) return "";
  if (who.kind === "card") return who.display || format(t.card_ending, { last4: who.card_last4 || "" });
  return who.display || "";
}

function newSale({ keepAmount = false } = {}) {
  if (state.stopUndoTimer) state.stopUndoTimer();
  Object.assign(state, { scan: "", shopper: "", earn: null, undoKey: null, stopUndoTimer: null });
  scanner.reset();
  if (!keepAmount) amount.value = "";
  $("amount-error").textContent = "";
  goTo("scan");
  scanner.focus();
}

async function identify(scan) {
  try {
    const who = await api.post("/till/identify", { scan, purpose: "earn" });
    state.shopper = shopperLabel(who);
    $("shopper").textContent = format(t.earn_for, { name: state.shopper });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 0) {
      scanner.showError(explain(error));
      return;
    }
    // Offline: the sale can still be queued; the server identifies the shopper later.
    state.shopper = "";
    $("shopper").textContent = t.identify_offline;
  }
  state.scan = scan;
  goTo("amount");
  amount.focus();
  announce(`${$("shopper").textContent}. ${t.amount_label}`);
}

function showResult(earn, { queued = false, purchaseCents }) {
  state.earn = earn;
  $("earn-result-title").textContent = queued ? t.earn_queued_title : t.earn_done_title;
  show($("result-points-line"), !queued);
  $("result-points").textContent = earn ? number(earn.points) : "";
  const who = (earn && earn.shopper_display) || state.shopper;
  $("result-shopper").textContent = who ? format(t.earn_for, { name: who }) : "";
  $("result-purchase").textContent = format(t.earn_purchase, { amount: euro(purchaseCents) });
  show($("result-capped"), Boolean(earn && earn.capped));
  show($("result-queued"), queued);
  result.classList.toggle("queued", queued);
  const undo = $("result-undo");
  show(undo, false);
  if (earn && earn.undo_until && new Date(earn.undo_until) > new Date()) {
    show(undo, true);
    const wait = new Date(earn.undo_until) - new Date();
    const timer = setTimeout(() => show(undo, false), wait);
    state.stopUndoTimer = () => clearTimeout(timer);
  }
  goTo("result");
  $("new-sale").focus();
  if (queued) announce(t.earn_queued);
  else announce(format(t.earn_announce, { points: number(earn.points), name: who || "" }) + (earn.capped ? ` ${t.earn_capped}` : ""));
}

amountForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.sending) return; // a double tap on confirm sends once
  const cents = euroToCents(amount.value);
  const error = $("amount-error");
  if (!cents) { error.textContent = t.amount_missing; amount.focus(); return; }
  error.textContent = "";
  state.sending = true;
  const confirm = $("earn-confirm");
  confirm.disabled = true;
  confirm.setAttribute("aria-busy", "true");
  const item = createEarn({ scan: state.scan, purchase_cents: cents, shopper: state.shopper });
  try {
    const earn = await sendNow(item);
    showResult(earn, { purchaseCents: cents });
  } catch (problem) {
    if (problem instanceof Queued) {
      showResult(null, { queued: true, purchaseCents: cents });
    } else if (problem instanceof ApiError && RESCAN_CODES.has(problem.code)) {
      // The amount stays; only a fresh scan is needed.
      newSale({ keepAmount: true });
      scanner.showError(`${explain(problem)} ${t.rescan_keeps_amount}`);
    } else {
      error.textContent = explain(problem);
      amount.focus();
    }
  } finally {
    state.sending = false;
    confirm.disabled = false;
    confirm.removeAttribute("aria-busy");
  }
});

$("amount-cancel").addEventListener("click", () => newSale());
amountForm.addEventListener("keydown", (event) => { if (event.key === "Escape") newSale(); });
$("new-sale").addEventListener("click", () => newSale());

$("result-undo").addEventListener("click", async () => {
  const earn = state.earn;
  if (!earn || !window.confirm(format(t.undo_confirm, { points: number(earn.points) }))) return;
  // One key per undo, reused if the cashier has to press again after a network failure.
  state.undoKey = state.undoKey || newIdempotencyKey("till-undo");
  const button = $("result-undo");
  button.disabled = true;
  try {
    const undone = await api.post(`/till/earns/${earn.transfer_id}/undo`, {}, { idempotencyKey: state.undoKey });
    $("earn-result-title").textContent = t.undo_done_title;
    $("result-points").textContent = `−${number(undone.points)}`;
    const note = bonusNote(undone);
    if (note) $("result-purchase").textContent = note;
    show(button, false);
    announce(`${format(t.undo_done, { points: number(undone.points) })} ${note}`.trim());
    $("new-sale").focus();
  } catch (error) {
    $("result-purchase").textContent = explain(error);
    announce(explain(error));
  } finally {
    button.disabled = false;
  }
});

const scanner = setupScanner({ onScan: identify });
attachAmount(amount, { kind: "euro" });
// Scanning the next shopper's code straight after a result starts the next sale.
routeStrayKeys(() => state.step === "scan", () => {
  if (state.step !== "result") return false;
  newSale();
  return true;
});

const preset = Number(new URLSearchParams(location.search).get("amount"));
if (Number.isInteger(preset) && preset > 0) {
  amount.value = centsToText(preset);
  scanner.showError(t.rescan_keeps_amount);
}

startPage().then(() => startQueue());
goTo("scan");
scanner.focus();

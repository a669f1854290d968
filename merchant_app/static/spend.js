// Spend: scan -> available points -> points or euro discount (a card: the shopper's
// PIN) -> a hold -> "Paid" captures it, "Cancel" voids it. A request that got no answer
// is only ever retried with its own key and body, so one sale never holds twice.

import { $, ApiError, announce, api, countdown, euro, explain, format, number, show, startPage, t } from "./till.js";
import { startQueue } from "./queue.js";
import { routeStrayKeys, setupScanner } from "./scanner.js";
import { attachAmount, euroToCents, cleanDigits, setKeypadComma } from "./keypad.js";
import { newIdempotencyKey } from "/static/common/api.js";

const RESCAN_CODES = new Set(["token_expired", "token_used", "token_tampered", "token_foreign", "scan_unreadable", "card_unknown"]);
const state = { step: "scan", scan: "", who: null, pending: null, hold: null, captureKey: null, stopCountdown: null, busy: false };
const form = $("redeem-form");
const amount = $("redeem-amount");
const pin = $("pin");

function goTo(step) {
  state.step = step;
  show($("step-scan"), step === "scan");
  show(form, step === "amount");
  show($("hold-panel"), step === "hold");
  show($("spend-done"), step === "done");
}

function mode() { return document.querySelector("input[name=mode]:checked").value; }

function applyMode() {
  const euroMode = mode() === "euro";
  amount.value = "";
  amount.dataset.kind = euroMode ? "euro" : "digits";
  amount.placeholder = euroMode ? "0,00" : "0";
  $("redeem-unit").textContent = euroMode ? "€" : t.points_short;
  $("redeem-amount-label").textContent = euroMode ? t.redeem_amount_euro : t.redeem_amount_points;
  setKeypadComma(amount, euroMode);
}

function lockForm(locked) {
  form.querySelectorAll("input, .keypad button").forEach((el) => {
    if (el.type === "radio" || el.matches(".keypad button")) el.disabled = locked; else el.readOnly = locked;
  });
}

function newSale() {
  if (state.stopCountdown) state.stopCountdown();
  Object.assign(state, { scan: "", who: null, pending: null, hold: null, captureKey: null, stopCountdown: null });
  scanner.reset();
  lockForm(false);
  document.getElementById("mode-euro").checked = true;
  applyMode();
  pin.value = "";
  ["redeem-error", "hold-error"].forEach((id) => { $(id).textContent = ""; });
  goTo("scan");
  scanner.focus();
}

async function identify(scan) {
  let who;
  try {
    who = await api.post("/till/identify", { scan, purpose: "spend" });
  } catch (error) {
    scanner.showError(explain(error));
    return;
  }
  state.scan = scan;
  state.who = who;
  const name = who.kind === "card" ? who.display || format(t.card_ending, { last4: who.card_last4 || "" }) : who.display;
  $("shopper").textContent = name;
  $("available-points").textContent = number(who.available_points ?? 0);
  show($("pin-section"), Boolean(who.needs_pin));
  goTo("amount");
  amount.focus();
  announce(format(t.spend_identified, { name, points: number(who.available_points ?? 0) }));
}

function body() {
  const b = { scan: state.scan };
  if (mode() === "euro") b.discount_cents = euroToCents(amount.value);
  else b.points = Number(cleanDigits(amount.value)) || null;
  if (state.who && state.who.needs_pin) b.pin = pin.value;
  return b;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.busy) return;
  const error = $("redeem-error");
  // After a request without an answer only that same request may be sent again.
  const request = state.pending || { key: newIdempotencyKey("till-redeem"), body: body() };
  const b = request.body;
  if (!(b.discount_cents > 0 || b.points > 0)) { error.textContent = t.amount_missing; amount.focus(); return; }
  if (state.who && state.who.needs_pin && !/^\d{4,8}$/.test(b.pin || "")) { error.textContent = t.pin_missing; pin.focus(); return; }
  error.textContent = "";
  state.busy = true;
  $("redeem-confirm").disabled = true;
  try {
    const hold = await api.post("/till/redemptions", b, { idempotencyKey: request.key });
    state.pending = null;
    lockForm(false);
    showHold(hold);
  } catch (problem) {
    if (problem instanceof ApiError && (problem.status === 0 || problem.status >= 500)) {
      state.pending = request;
      lockForm(true);
      error.textContent = t.redeem_retry_same;
    } else if (problem instanceof ApiError && RESCAN_CODES.has(problem.code)) {
      newSale();
      scanner.showError(explain(problem));
    } else {
      error.textContent = explain(problem);
      if (problem instanceof ApiError && problem.code.startsWith("card_pin")) { pin.value = ""; pin.focus(); } else amount.focus();
    }
    announce(error.textContent || $("scan-error").textContent);
  } finally {
    state.busy = false;
    $("redeem-confirm").disabled = false;
  }
});

function showHold(hold) {
  state.hold = hold;
  $("hold-discount").textContent = euro(hold.discount_cents);
  $("hold-points").textContent = number(hold.points);
  $("hold-shopper").textContent = hold.shopper_display || $("shopper").textContent;
  $("hold-error").textContent = "";
  $("capture-button").disabled = false;
  goTo("hold");
  state.stopCountdown = countdown($("hold-countdown"), hold.expires_at, () => {
    $("hold-error").textContent = t.hold_expired;
    $("capture-button").disabled = true;
    announce(t.hold_expired);
  });
  $("capture-button").focus();
  announce(format(t.hold_announce, { amount: euro(hold.discount_cents) }));
}

function done(title, detail) {
  if (state.stopCountdown) state.stopCountdown();
  $("spend-done-title").textContent = title;
  $("spend-done-detail").textContent = detail;
  goTo("done");
  $("spend-new").focus();
  announce(`${title} ${detail}`);
}

$("capture-button").addEventListener("click", async () => {
  if (state.busy || !state.hold) return;
  state.busy = true;
  state.captureKey = state.captureKey || newIdempotencyKey("till-capture");
  $("capture-button").disabled = true;
  try {
    const captured = await api.post(`/till/redemptions/${state.hold.hold_id}/capture`, {}, { idempotencyKey: state.captureKey });
    done(t.capture_done, format(t.capture_done_detail, { amount: euro(captured.discount_cents), points: number(captured.points) }));
  } catch (error) {
    $("hold-error").textContent = error instanceof ApiError && error.status === 0 ? t.capture_retry : explain(error);
    announce($("hold-error").textContent);
    $("capture-button").disabled = false;
  } finally {
    state.busy = false;
  }
});

$("void-button").addEventListener("click", async () => {
  if (state.busy || !state.hold) return;
  state.busy = true;
  $("void-button").disabled = true;
  try {
    await api.post(`/till/redemptions/${state.hold.hold_id}/void`, {});
    done(t.void_done, t.void_done_detail);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) done(t.void_done, explain(error));
    else { $("hold-error").textContent = explain(error); announce(explain(error)); }
  } finally {
    state.busy = false;
    $("void-button").disabled = false;
  }
});

$("redeem-cancel").addEventListener("click", () => newSale());
form.addEventListener("keydown", (event) => { if (event.key === "Escape") newSale(); });
$("spend-new").addEventListener("click", () => newSale());
document.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", () => { applyMode(); amount.focus(); }));

const scanner = setupScanner({ onScan: identify });
attachAmount(amount, { kind: "euro" });
attachAmount(pin, { kind: "digits", max: 8 });
routeStrayKeys(() => state.step === "scan", () => {
  if (state.step !== "done") return false;
  newSale();
  return true;
});
applyMode();
goTo("scan");
scanner.focus();
startPage().then(() => startQueue());

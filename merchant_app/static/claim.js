// Claim code for a shop without a scanner: the till shows a single-use QR for one
// purchase and watches until the shopper's phone has claimed it or it expires.

import { $, ApiError, announce, api, countdown, euro, explain, format, number, show, startPage, t } from "./till.js";
import { startQueue } from "./queue.js";
import { attachAmount, euroToCents } from "./keypad.js";
import { newIdempotencyKey } from "/static/common/api.js";

const POLL_MS = 2000;
const form = $("claim-form");
const amount = $("claim-amount");
const state = { pending: null, claim: null, poll: null, stopCountdown: null, busy: false };

function stopWatching() {
  clearTimeout(state.poll);
  if (state.stopCountdown) state.stopCountdown();
  state.poll = null; state.stopCountdown = null;
}

function setStatus(text, cls) {
  const status = $("claim-status");
  status.textContent = text;
  status.className = `claim-status ${cls || ""}`;
}

function finish(text, cls) {
  stopWatching();
  setStatus(text, cls);
  $("claim-qr").classList.add("spent");
  $("claim-new").focus();
}

async function poll() {
  if (!state.claim) return;
  try {
    const claim = await api.get(`/till/claims/${state.claim.claim_id}`);
    if (claim.status === "claimed") { finish(format(t.claim_claimed, { points: number(claim.points) }), "success"); return; }
    if (claim.status === "expired") { finish(t.claim_expired_status, "warning"); return; }
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 0) setStatus(t.claim_offline, "warning");
  }
  state.poll = setTimeout(poll, POLL_MS);
}

function showClaim(claim) {
  state.claim = claim;
  const qr = $("claim-qr");
  // An <img> shows the server's SVG without running anything inside it.
  qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(claim.qr_svg)}`;
  qr.alt = format(t.claim_qr_alt, { points: number(claim.points) });
  qr.classList.remove("spent");
  $("claim-points").textContent = number(claim.points);
  setStatus(t.claim_waiting, "");
  show(form, false);
  show($("claim-panel"), true);
  $("claim-panel").focus();
  announce(format(t.claim_announce, { points: number(claim.points) }));
  state.stopCountdown = countdown($("claim-countdown"), claim.expires_at, () => {
    if (state.claim) finish(t.claim_expired_status, "warning");
  });
  state.poll = setTimeout(poll, POLL_MS);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.busy) return;
  const error = $("claim-error");
  const request = state.pending || { key: newIdempotencyKey("till-claim"), body: { purchase_cents: euroToCents(amount.value) } };
  if (!request.body.purchase_cents) { error.textContent = t.amount_missing; amount.focus(); return; }
  error.textContent = "";
  state.busy = true;
  $("claim-confirm").disabled = true;
  try {
    const claim = await api.post("/till/claims", request.body, { idempotencyKey: request.key });
    state.pending = null;
    amount.readOnly = false;
    showClaim(claim);
  } catch (problem) {
    if (problem instanceof ApiError && (problem.status === 0 || problem.status >= 500)) {
      state.pending = request; // same key and amount on the next press
      amount.readOnly = true;
      error.textContent = format(t.claim_retry_same, { amount: euro(request.body.purchase_cents) });
    } else {
      error.textContent = explain(problem);
    }
    announce(error.textContent);
  } finally {
    state.busy = false;
    $("claim-confirm").disabled = false;
  }
});

$("claim-new").addEventListener("click", () => {
  stopWatching();
  state.claim = null;
  amount.value = "";
  amount.readOnly = false;
  show($("claim-panel"), false);
  show(form, true);
  amount.focus();
});

attachAmount(amount, { kind: "euro" });
amount.focus();
startPage().then(() => startQueue());

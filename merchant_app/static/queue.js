// Earns that could not reach the server wait on the device and are sent again, always
// with the idempotency key made before their first attempt: however often a sale is
// re-sent, the shopper gets its points once.
//
// An item is created (and stored) before the first request. The live attempt at the
// till removes it on any final answer; a network failure, a timeout or a busy server
// leaves it "pending" for the background sender, which retries on the `online` event
// and on a timer with backoff. A final refusal of a queued item (an expired phone QR,
// a daily cap) moves it to "failed" for the cashier to see and redo with a fresh scan.

import { ApiError, PREFIX, api, cachedMe, euro, format, formatTime, number, t, announce, explain } from "./till.js";
import { newIdempotencyKey, toast } from "/static/common/api.js";

const STORE = "kp_till_queue_v1";
const SENT = "kp_till_sent_v1";
const LOCK = "kp-till-queue";
// A "sending" item older than this was abandoned (tab closed mid-request): resend it.
const STALE_SENDING_MS = 20000;
const TRANSIENT_CODES = new Set(["network_error", "service_busy", "rate_limited", "idempotency_in_progress", "request_in_progress"]);
const KEEP_SENT = 20;
const SHOW_SENT_MS = 10 * 60 * 1000;

function read(name) {
  try { return JSON.parse(localStorage.getItem(name)) || []; } catch { return []; }
}
function write(name, items) {
  localStorage.setItem(name, JSON.stringify(items));
  window.dispatchEvent(new CustomEvent("till-queue-changed"));
}
function update(key, change) {
  const items = read(STORE);
  const item = items.find((i) => i.key === key);
  if (item) { Object.assign(item, change); write(STORE, items); }
  return item;
}
function remove(key) { write(STORE, read(STORE).filter((i) => i.key !== key)); }

export function isTransient(error) {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status >= 500 || error.status === 408 || TRANSIENT_CODES.has(error.code);
}

export function waitingCount() { return read(STORE).filter((i) => i.state !== "failed").length; }

export function createEarn({ scan, purchase_cents, shopper }) {
  const me = cachedMe() || {};
  const item = {
    key: newIdempotencyKey("till-earn"),
    scan, purchase_cents, shopper: shopper || "",
    merchant_id: me.merchant_id || null,
    queued_at: new Date().toISOString(),
    state: "sending", sending_since: Date.now(), attempts: 0, next_try_at: 0,
  };
  write(STORE, [...read(STORE), item]);
  return item;
}

export class Queued extends Error {
  constructor(item) { super("queued"); this.item = item; }
}

function post(item) {
  return api.post("/till/earns", { scan: item.scan, purchase_cents: item.purchase_cents }, { idempotencyKey: item.key });
}

// The live attempt at the till. Resolves to the earn, rejects with the ApiError the
// cashier must see, or with Queued when the sale waits for the network.
export async function sendNow(item) {
  update(item.key, { state: "sending", sending_since: Date.now(), attempts: item.attempts + 1 });
  try {
    const result = await post(item);
    remove(item.key);
    return result;
  } catch (error) {
    if (isTransient(error) || error.status === 401) {
      update(item.key, { state: "pending", sending_since: 0, next_try_at: Date.now() + 3000, last_error: error.code });
      schedule(3000);
      throw new Queued(item);
    }
    remove(item.key);
    throw error;
  }
}

function backoff(attempts) {
  const base = Math.min(60000, 2000 * 2 ** Math.min(attempts, 5));
  return base / 2 + Math.random() * base / 2;
}

let timer = null;
let flushing = false;
function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(flush, ms);
}

function withLock(work) {
  // Two tabs of the till must not send the same waiting sale at once.
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? work() : null));
  }
  return work();
}

export async function flush({ force = false } = {}) {
  if (flushing) return;
  flushing = true;
  try {
    await withLock(async () => {
      const me = cachedMe() || {};
      const now = Date.now();
      const due = read(STORE).filter((i) =>
        (i.state === "pending" || (i.state === "sending" && now - i.sending_since > STALE_SENDING_MS)) &&
        (force || i.next_try_at <= now) &&
        // Sales of another shop signed in earlier on this device wait for that shop.
        (!i.merchant_id || !me.merchant_id || i.merchant_id === me.merchant_id));
      for (const item of due) {
        update(item.key, { state: "sending", sending_since: Date.now(), attempts: item.attempts + 1 });
        try {
          const result = await post(item);
          remove(item.key);
          remember({ ...item, result });
          const message = format(t.queue_sent_ok, { points: number(result.points), amount: euro(item.purchase_cents) });
          announce(message); toast(message);
        } catch (error) {
          if (isTransient(error) || error.status === 401) {
            update(item.key, { state: "pending", sending_since: 0, next_try_at: Date.now() + backoff(item.attempts + 1), last_error: error.code });
            if (error.status === 0 || error.status === 401) break; // still offline, or signed out: stop for now
          } else {
            update(item.key, { state: "failed", sending_since: 0, error_code: error.code, error_text: failureText(error), failed_at: new Date().toISOString() });
            const message = format(t.queue_failed_announce, { amount: euro(item.purchase_cents) });
            announce(message); toast(message, { timeout: 8000 });
          }
        }
      }
    });
  } finally {
    flushing = false;
    const pending = read(STORE).filter((i) => i.state !== "failed");
    if (pending.length) {
      const next = Math.min(...pending.map((i) => i.next_try_at || 0));
      schedule(Math.max(1000, Math.min(60000, next - Date.now())));
    }
  }
}

function failureText(error) {
  if (error.code === "token_expired" || error.code === "token_used") return t.queue_failed_token;
  return explain(error);
}

function remember(item) {
  write(SENT, [{ key: item.key, purchase_cents: item.purchase_cents, points: item.result.points, capped: item.result.capped,
    shopper: item.result.shopper_display, sent_at: new Date().toISOString() }, ...read(SENT)].slice(0, KEEP_SENT));
}

function dismiss(key) { remove(key); }

// --- the badge and its list -------------------------------------------------------

function line(text, buttons = []) {
  const li = document.createElement("li");
  const p = document.createElement("p");
  p.textContent = text;
  li.append(p);
  if (buttons.length) {
    const row = document.createElement("div");
    row.className = "row";
    buttons.forEach((b) => row.append(b));
    li.append(row);
  }
  return li;
}

function button(label, onClick, testid, cls = "secondary") {
  const b = document.createElement("button");
  b.type = "button"; b.className = cls; b.textContent = label; b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

function render() {
  const badge = document.getElementById("queue-badge");
  if (!badge) return;
  const items = read(STORE);
  const waiting = items.filter((i) => i.state !== "failed");
  const failed = items.filter((i) => i.state === "failed");
  const sent = read(SENT);
  const parts = [];
  if (waiting.length) parts.push(format(t.queue_waiting, { n: waiting.length }));
  if (failed.length) parts.push(format(t.queue_failed_count, { n: failed.length }));
  badge.textContent = parts.join(" · ");
  badge.dataset.waiting = String(waiting.length);
  badge.dataset.failed = String(failed.length);
  badge.classList.toggle("has-failed", failed.length > 0);
  // After the last waiting sale went out, "all sent" stays a while so the cashier can check the results.
  const recent = sent.some((s) => Date.now() - new Date(s.sent_at).getTime() < SHOW_SENT_MS);
  badge.hidden = parts.length === 0 && !recent && badge.getAttribute("aria-expanded") !== "true";
  if (badge.hidden) { document.getElementById("queue-list").hidden = true; badge.setAttribute("aria-expanded", "false"); }
  if (!parts.length && sent.length) badge.textContent = t.queue_all_sent;
  badge.classList.toggle("all-sent", parts.length === 0);

  const pendingList = document.getElementById("queue-pending");
  pendingList.replaceChildren(...waiting.map((i) => {
    const li = line(format(t.queue_item, { amount: euro(i.purchase_cents), time: formatTime(i.queued_at), shopper: i.shopper || "—" }));
    li.dataset.testid = "queue-item"; li.dataset.key = i.key;
    return li;
  }));
  document.getElementById("queue-retry").hidden = waiting.length === 0;

  const failedList = document.getElementById("queue-failed");
  document.getElementById("queue-failed-title").hidden = failed.length === 0;
  failedList.replaceChildren(...failed.map((i) => {
    const li = line(`${format(t.queue_item, { amount: euro(i.purchase_cents), time: formatTime(i.queued_at), shopper: i.shopper || "?" })}: ${i.error_text}`, [
      button(t.queue_redo, () => { dismiss(i.key); location.assign(`${PREFIX}/?amount=${i.purchase_cents}`); }, "queue-redo"),
      button(t.queue_dismiss, () => dismiss(i.key), "queue-dismiss"),
    ]);
    li.dataset.testid = "queue-failed-item"; li.dataset.key = i.key; li.className = "failed";
    return li;
  }));

  const sentList = document.getElementById("queue-sent");
  document.getElementById("queue-sent-title").hidden = sent.length === 0;
  sentList.replaceChildren(...sent.slice(0, 5).map((s) => {
    const li = line(format(t.queue_sent_item, { amount: euro(s.purchase_cents), points: number(s.points), shopper: s.shopper || "—", time: formatTime(s.sent_at) }) + (s.capped ? ` (${t.capped_short})` : ""));
    li.dataset.testid = "queue-sent-item";
    return li;
  }));

  document.getElementById("offline-note").hidden = navigator.onLine !== false;
}

export function startQueue() {
  const badge = document.getElementById("queue-badge");
  if (badge) {
    badge.addEventListener("click", () => {
      const list = document.getElementById("queue-list");
      const open = list.hidden;
      list.hidden = !open;
      badge.setAttribute("aria-expanded", String(open));
    });
    document.getElementById("queue-retry").addEventListener("click", () => flush({ force: true }));
  }
  render();
  window.addEventListener("till-queue-changed", render);
  window.addEventListener("storage", (event) => { if (event.key === STORE || event.key === SENT) render(); });
  window.addEventListener("online", () => { render(); flush({ force: true }); });
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) flush(); });
  setInterval(() => flush(), 15000);
  flush();
}

// What every till page shares: the session (a signed-in cashier or a till's POS key),
// the API client, the header, the owner-only navigation and the screen-reader announcer.

import { Api, ApiError, Session, explain as explainCommon, format, t } from "/static/common/api.js";

export const PREFIX = "/merchant";
const POS_KEY = "kp_till_pos_key";
const ME_KEY = "kp_till_me";
export const lang = (document.documentElement.lang || "nl").slice(0, 2);
export const locale = document.documentElement.lang || "nl-BE";

export const session = new Session("kp_till_tokens");

export function posKey() { return localStorage.getItem(POS_KEY) || ""; }
export function setPosKey(value) {
  if (value) localStorage.setItem(POS_KEY, value); else localStorage.removeItem(POS_KEY);
}
export function signedIn() { return session.signedIn || Boolean(posKey()); }

// A request that hangs on a bad network blocks the queue at the till; after this long
// it counts as offline. The request may still land: every value-moving call carries an
// idempotency key, so the later retry gets the original answer instead of a second effect.
const TIMEOUT_MS = 12000;

class TillApi extends Api {
  request(method, path, options = {}) {
    const key = posKey();
    const headers = { ...(options.headers || {}) };
    if (key && !session.signedIn) headers["X-API-Key"] = key;
    const call = super.request(method, path, { ...options, headers });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new ApiError(0, { code: "network_error", detail: "timeout" })), TIMEOUT_MS);
    });
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }
}

export const api = new TillApi({ session, onSignedOut: () => goToLogin("expired") });

export function goToLogin(reason) {
  if (location.pathname === `${PREFIX}/login`) return;
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`${PREFIX}/login?next=${next}${reason ? `&reason=${reason}` : ""}`);
}

export function cachedMe() {
  try { return JSON.parse(sessionStorage.getItem(ME_KEY)) || null; } catch { return null; }
}

export async function loadMe() {
  const me = await api.get("/auth/me");
  sessionStorage.setItem(ME_KEY, JSON.stringify(me));
  return me;
}

export const TILL_ROLES = ["cashier", "merchant_owner"];
export function isOwner(me) { return Boolean(me && me.role === "merchant_owner"); }

export async function signOut() {
  const tokens = session.tokens;
  if (tokens && tokens.refresh_token) {
    try { await api.post("/auth/logout", { refresh_token: tokens.refresh_token }, { auth: false }); } catch { /* signed out locally anyway */ }
  }
  session.signOut();
  setPosKey("");
  sessionStorage.removeItem(ME_KEY);
  location.assign(`${PREFIX}/login?reason=signed_out`);
}

// Problem codes in the page's language, with the numbers some problems carry.
export function explain(error) {
  if (error instanceof ApiError) {
    const p = error.problem || {};
    if (error.code === "card_pin_wrong" && p.attempts_left !== undefined) {
      return format(t.error_card_pin_wrong_left, { n: p.attempts_left });
    }
    if (error.code === "card_locked" && p.locked_until) {
      return format(t.error_card_locked_until, { time: formatTime(p.locked_until) });
    }
    if (!t[`error_${error.code}`] && error.status >= 500) return t.error_generic;
  }
  return explainCommon(error);
}

export function formatTime(iso) {
  return new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone: "Europe/Brussels" }).format(new Date(iso));
}
export function euro(cents) {
  return new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" }).format(cents / 100);
}
export function number(value) { return new Intl.NumberFormat(locale).format(value); }

export function announce(message) {
  const region = document.getElementById("announcer");
  if (!region) return;
  // Clearing first makes a screen reader repeat a message equal to the previous one.
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 50);
}

// An undo or refund also takes back the municipality's bonus, as far as the shopper still
// has points; what was already spent stays with the shopper. Empty when there was no bonus.
export function bonusNote(reversal) {
  const parts = [];
  if (reversal.bonus_points > 0) parts.push(format(t.reversal_bonus_back, { points: number(reversal.bonus_points) }));
  if (reversal.bonus_points_kept > 0) parts.push(format(t.reversal_bonus_kept, { points: number(reversal.bonus_points_kept) }));
  return parts.join(" ");
}

export function show(element, visible = true) { if (element) element.hidden = !visible; }
export const $ = (id) => document.getElementById(id);

export function countdown(element, expiresAt, onDone) {
  const end = new Date(expiresAt).getTime();
  let timer = null;
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    element.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left <= 0) { clearInterval(timer); if (onDone) onDone(); }
  };
  tick();
  timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}

// Every page but sign-in: make sure someone is signed in, fill the header, show the
// owner's pages to owners. Resolves to the principal (from /auth/me).
export async function startPage() {
  if (!signedIn()) { goToLogin(); return new Promise(() => {}); }
  let me = cachedMe();
  const fresh = loadMe().then((value) => { me = value; paintHeader(value); return value; }).catch((error) => {
    if (error instanceof ApiError && error.status === 401) goToLogin("expired");
    return me;
  });
  if (!me) me = await fresh;
  if (me) paintHeader(me);
  const out = $("sign-out");
  if (out) { out.hidden = false; out.addEventListener("click", confirmSignOut); }
  return me;
}

function paintHeader(me) {
  if (!me) return;
  const who = $("who");
  if (who) {
    const role = me.api_key_id ? t.role_till_key : t[`role_${me.role}`] || me.role;
    who.textContent = `${me.display_name || me.email || ""} · ${role}`;
    who.hidden = false;
  }
  document.querySelectorAll("[data-owner-only]").forEach((el) => { el.hidden = !isOwner(me); });
}

async function confirmSignOut() {
  const { waitingCount } = await import("./queue.js");
  const waiting = waitingCount();
  if (waiting > 0 && !window.confirm(format(t.sign_out_waiting, { n: waiting }))) return;
  await signOut();
}

export { ApiError, format, t };

// What every page of the shopper app shares: the signed-in session, the API client,
// the last known wallet for offline use, form helpers, sign-out and the service worker.
import { Api, ApiError, Session, explain, format, formatEuro, formatNumber, t } from "/static/common/api.js";

export const config = JSON.parse(document.getElementById("app-config").textContent);
export const lang = config.lang;
export const locale = { nl: "nl-BE", fr: "fr-BE", en: "en-BE" }[lang] || "nl-BE";
export const session = new Session("kp_shopper");

// A 401 means the session is over (a wrong password typed to confirm something is a 403,
// but older servers said 401 invalid_credentials).
class ShopperApi extends Api {
  async request(method, path, options = {}) {
    try {
      return await super.request(method, path, options);
    } catch (error) {
      if (error.status === 401 && options.auth !== false && !["invalid_credentials", "password_incorrect"].includes(error.code)) {
        session.signOut();
        goToLogin("expired");
      }
      throw error;
    }
  }
}
export const api = new ShopperApi({ session });
export { ApiError, explain, format, t };

const WALLET_KEY = "kp_shopper_wallet";

export function goToLogin(reason) {
  const next = location.pathname + location.search;
  const query = new URLSearchParams({ next });
  if (reason) query.set("reason", reason);
  location.replace(`/app/login?${query}`);
}

export function points(value) {
  return format(Math.abs(value) === 1 ? t.points_one : t.points_many, { n: formatNumber(value, locale) });
}
export function euro(cents) { return formatEuro(cents, locale); }

// --- the last known wallet, for a phone without network -----------------------------
export function rememberWallet(wallet) {
  try { localStorage.setItem(WALLET_KEY, JSON.stringify({ wallet, at: new Date().toISOString() })); } catch { /* full */ }
}
export function lastWallet() {
  try { return JSON.parse(localStorage.getItem(WALLET_KEY)); } catch { return null; }
}

// {wallet, stale, at}: live when the network answers, else the last one this phone saw
// (from the service worker's copy or, without a worker, from localStorage).
export async function loadWallet() {
  try {
    const wallet = await api.get("/me/wallet");
    if (wallet && wallet.offline_stored_at) return { wallet, stale: true, at: wallet.offline_stored_at };
    rememberWallet(wallet);
    return { wallet, stale: false, at: null };
  } catch (error) {
    const last = lastWallet();
    if (error instanceof ApiError && error.offline && last) return { wallet: last.wallet, stale: true, at: last.at };
    throw error;
  }
}

export function staleText(at) {
  return format(t.balance_stale, { time: new Intl.DateTimeFormat(locale, {
    dateStyle: "short", timeStyle: "short", timeZone: "Europe/Brussels" }).format(new Date(at)) });
}

// --- forms -------------------------------------------------------------------------
export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((el) => { el.hidden = true; el.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}
export function fieldError(id, message) {
  const input = document.getElementById(id);
  const error = document.getElementById(`${id}-error`);
  error.textContent = message;
  error.hidden = false;
  input.setAttribute("aria-invalid", "true");
  return input;
}
export function formError(id, message) {
  const element = document.getElementById(id);
  element.textContent = message;
  element.hidden = false;
}
// Shows each problem next to its field and moves focus to the first one.
export function reportInvalid(problems) {
  const inputs = problems.map(([id, message]) => fieldError(id, message));
  if (inputs.length) inputs[0].focus();
  return inputs.length > 0;
}
export async function withBusy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try { return await work(); } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
export function value(id) { return document.getElementById(id).value.trim(); }

export function setLanguageCookie(code) {
  document.cookie = `kp_lang=${code}; path=/; max-age=31536000; samesite=lax`;
}

// --- sign-out ----------------------------------------------------------------------
export async function forgetThisPhone() {
  localStorage.removeItem(WALLET_KEY);
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage("forget-wallet");
  }
  if (window.caches) await caches.delete("kp-shopper-data").catch(() => null);
}

export async function signOut() {
  const tokens = session.tokens;
  if (tokens && tokens.refresh_token) {
    await api.post("/auth/logout", { refresh_token: tokens.refresh_token }, { auth: false }).catch(() => null);
  }
  session.signOut();
  await forgetThisPhone();
  location.replace("/app/login?reason=signed_out");
}

// --- on every page -----------------------------------------------------------------
if (config.signed_in && !session.signedIn) goToLogin();

document.querySelectorAll("[data-action='sign-out']").forEach((button) => {
  button.addEventListener("click", () => signOut());
});

// The offline copies of the pages are in the language they were fetched in.
export function relocaliseOfflinePages() {
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage("refresh-pages");
  }
}

// The shared language switch links to ?lang=xx; keep the page's own query (a reset token).
document.querySelectorAll(".lang-switch a[data-lang]").forEach((link) => {
  const query = new URLSearchParams(location.search);
  query.set("lang", link.dataset.lang);
  link.href = `${location.pathname}?${query}`;
  link.addEventListener("click", () => { setLanguageCookie(link.dataset.lang); relocaliseOfflinePages(); });
});

document.querySelectorAll("input[data-show-password]").forEach((box) => {
  box.addEventListener("change", () => {
    document.getElementById(box.dataset.showPassword).type = box.checked ? "text" : "password";
  });
});

const offlineBanner = document.getElementById("offline-banner");
function showConnection() { if (offlineBanner) offlineBanner.hidden = navigator.onLine; }
window.addEventListener("online", showConnection);
window.addEventListener("offline", showConnection);
showConnection();

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => null);
  });
}

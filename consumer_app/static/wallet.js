import {
  api, euro, explain, format, loadWallet, locale, points, staleText, t,
} from "./app.js";
import { formatNumber } from "/static/common/api.js";
import { historyItem } from "./history.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
let cursor = null;

function formatDay(isoDate) {
  return new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: "Europe/Brussels" })
    .format(new Date(isoDate.length === 10 ? `${isoDate}T12:00:00Z` : isoDate));
}

function listItems(list, texts) {
  list.replaceChildren(...texts.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
}

function renderWallet({ wallet, stale, at }) {
  const balance = $("balance");
  balance.textContent = formatNumber(wallet.balance, locale);
  balance.dataset.points = String(wallet.balance);
  $("balance-value").textContent = format(t.balance_worth, { euro: euro(wallet.value_cents) });
  const available = $("balance-available");
  available.hidden = !wallet.pending;
  if (wallet.pending) {
    available.textContent = format(t.balance_available, { available: points(wallet.available), pending: points(wallet.pending) });
  }
  const holds = wallet.holds || [];
  $("holds-section").hidden = holds.length === 0;
  listItems($("holds"), holds.map((hold) => format(hold.merchant_name ? t.hold_line_at : t.hold_line, {
    points: points(hold.points), shop: hold.merchant_name || "",
  })));
  const expiring = wallet.expiring || [];
  $("expiring-section").hidden = expiring.length === 0;
  listItems($("expiring"), expiring.map((lot) => format(t.expiring_line, {
    points: points(lot.points), date: formatDay(lot.expires_on),
  })));
  $("balance-stale").hidden = !stale;
  if (stale) $("balance-stale").textContent = staleText(at);
}

async function refreshWallet() {
  try {
    renderWallet(await loadWallet());
    $("wallet-error").hidden = true;
  } catch (error) {
    $("wallet-error").textContent = explain(error);
    $("wallet-error").hidden = false;
  }
}

async function loadHistory({ more = false } = {}) {
  const list = $("history");
  const button = $("history-more");
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (more && cursor) query.set("cursor", cursor);
  list.setAttribute("aria-busy", "true");
  button.disabled = true;
  try {
    const page = await api.get(`/me/history?${query}`);
    const items = (page.items || []).map(historyItem);
    if (more) list.append(...items); else list.replaceChildren(...items);
    cursor = page.next_cursor || null;
    button.hidden = !cursor;
    $("history-empty").hidden = list.children.length > 0;
    $("history-error").hidden = true;
    if (more) {
      $("history-status").textContent = format(t.history_loaded, { n: items.length });
      if (items[0]) items[0].focus();  // the next entry to read, not back to the top
    }
  } catch (error) {
    $("history-error").textContent = explain(error);
    $("history-error").hidden = false;
  } finally {
    list.setAttribute("aria-busy", "false");
    button.disabled = false;
  }
}

async function loadProfile() {
  try {
    const profile = await api.get("/me/profile");
    const greeting = $("greeting");
    const welcome = new URLSearchParams(location.search).has("welcome");
    if (profile.first_name) {
      greeting.textContent = format(welcome ? t.welcome_new : t.greeting, { name: profile.first_name });
      greeting.hidden = false;
    }
    const verified = profile.email_verified ?? (profile.email_verified_at ? true : undefined);
    $("verify-banner").hidden = verified !== false;
  } catch { /* the greeting and banner are extras; the wallet matters */ }
}

$("history-more").addEventListener("click", () => loadHistory({ more: true }));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") refreshWallet();
});
window.addEventListener("online", () => { refreshWallet(); loadHistory(); });

refreshWallet();
loadHistory();
loadProfile();

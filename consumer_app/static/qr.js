// "Mijn QR": a short-lived signed token as a big QR code that renews itself before it
// expires, with the short code for a cashier to type. Renewal pauses while the page is
// hidden (no tokens minted for nobody) and says so when there is no network.
import { api, explain, format, lastWallet, loadWallet, points, staleText, t } from "./app.js";

const $ = (id) => document.getElementById(id);
const image = $("qr-image");
const progress = $("qr-progress");
const countdown = $("qr-countdown");
// Screen readers hear "renewed" at most this often; the picture changes every ~45 s.
const ANNOUNCE_EVERY_MS = 3 * 60 * 1000;
const RETRY_MS = 15_000;

let refreshTimer = null;
let tickTimer = null;
let refreshAt = 0;
let expiresAt = 0;
let lastAnnounced = 0;
let lastBalance = null;
let objectUrl = null;
let wakeLock = null;

function spell(code) {
  // "AB12-CD34" read as "A B 1 2, C D 3 4".
  return code.split("-").map((part) => part.split("").join(" ")).join(", ");
}

function announce(message) {
  $("qr-announce").textContent = message;
  lastAnnounced = Date.now();
}

function tick() {
  const now = Date.now();
  const left = Math.max(0, Math.ceil((refreshAt - now) / 1000));
  progress.value = left;
  const expired = expiresAt && now >= expiresAt;
  image.classList.toggle("expired", Boolean(expired));
  if (expired) {
    countdown.textContent = t.qr_expired;
    image.alt = t.qr_expired;
  } else if (navigator.onLine) {
    countdown.textContent = format(t.qr_renews_in, { s: left });
  } else {
    countdown.textContent = format(t.qr_valid_offline, { s: Math.ceil((expiresAt - now) / 1000) });
  }
}

function show(qr) {
  const now = Date.now();
  const renewIn = Math.max(5, Number(qr.refresh_in_seconds) || 30) * 1000;
  const validFor = Date.parse(qr.expires_at) - now;
  // A phone clock that is off must not make a fresh code look expired.
  expiresAt = now + (validFor > renewIn ? validFor : renewIn + 10_000);
  refreshAt = now + renewIn;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(new Blob([qr.qr_svg], { type: "image/svg+xml" }));
  image.src = objectUrl;
  image.alt = format(t.qr_alt, { code: spell(qr.short_code) });
  image.hidden = false;
  image.dataset.expiresAt = qr.expires_at;
  $("qr-placeholder").hidden = true;
  $("qr-frame").setAttribute("aria-busy", "false");
  $("short-code").textContent = qr.short_code;
  $("short-code-spoken").textContent = format(t.short_code_spoken, { code: spell(qr.short_code) });
  progress.max = Math.round(renewIn / 1000);
  $("qr-error").hidden = true;
  $("qr-retry").hidden = true;
  $("qr-offline").hidden = true;
  const first = lastAnnounced === 0;
  if (first || now - lastAnnounced > ANNOUNCE_EVERY_MS) announce(first ? t.qr_ready : t.qr_renewed);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(renew, renewIn);
  tick();
}

function showOffline() {
  $("qr-offline").hidden = false;
  const last = lastWallet();
  if (last && lastBalance === null) showBalance(last.wallet, true, last.at);
  tick();
}

function showBalance(wallet, stale, at) {
  const text = points(wallet.balance) + (stale ? ` — ${staleText(at)}` : "");
  $("qr-balance").textContent = text;
  $("qr-balance").dataset.points = String(wallet.balance);
  // Points arriving while the cashier scans are news worth saying.
  if (!stale && lastBalance !== null && wallet.balance !== lastBalance) {
    announce(format(t.balance_now, { points: points(wallet.balance) }));
  }
  if (!stale) lastBalance = wallet.balance;
}

async function refreshBalance() {
  try {
    const { wallet, stale, at } = await loadWallet();
    showBalance(wallet, stale, at);
  } catch { /* the code matters more than the balance */ }
}

async function renew() {
  clearTimeout(refreshTimer);
  if (document.visibilityState === "hidden") return;
  if (!navigator.onLine) { showOffline(); return; }
  try {
    show(await api.post("/me/qr", {}));
    refreshBalance();
  } catch (error) {
    if (error.offline) {
      showOffline();
    } else {
      $("qr-error").textContent = explain(error);
      $("qr-error").hidden = false;
      $("qr-retry").hidden = false;
    }
    refreshTimer = setTimeout(renew, RETRY_MS);
  }
}

async function keepScreenOn() {
  try {
    if ("wakeLock" in navigator && document.visibilityState === "visible") wakeLock = await navigator.wakeLock.request("screen");
  } catch { wakeLock = null; }
}

$("qr-retry").addEventListener("click", renew);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    renew();
    keepScreenOn();
  } else {
    clearTimeout(refreshTimer);
  }
});
window.addEventListener("online", renew);
window.addEventListener("offline", showOffline);

tickTimer = setInterval(tick, 1000);
keepScreenOn();
if (navigator.onLine) renew(); else showOffline();
refreshBalance();

// "Scan een code": read a shop's claim QR with the phone camera and collect its points.
// BarcodeDetector decodes in the browser where it exists; elsewhere (Chromium on Linux)
// a small JPEG of the camera picture goes to /app/decode-qr every FRAME_MS until one
// decodes. Typing or pasting the code always works as well.
import { api, clearErrors, explain, fieldError, format, loadWallet, locale, points, t } from "./app.js";
import { formatNumber, newIdempotencyKey } from "/static/common/api.js";

const $ = (id) => document.getElementById(id);
const FRAME_MS = 400;
const FRAME_EDGE = 800;  // px: enough for a QR filling part of the picture, ~50 kB as JPEG
const video = $("camera-video");
const status = $("camera-status");
const result = $("claim-result");
const input = $("scan-input");

let stream = null;
let detector = null;
let scanning = false;
let shownBalance = null;

// The same code sent twice (double tap, retry after a dropped connection, a reload)
// carries the same idempotency key, so the points arrive once.
function keyFor(text) {
  const store = "kp_claim_keys";
  let keys = {};
  try { keys = JSON.parse(sessionStorage.getItem(store)) || {}; } catch { keys = {}; }
  if (!keys[text]) {
    keys[text] = newIdempotencyKey("claim");
    try { sessionStorage.setItem(store, JSON.stringify(keys)); } catch { /* private mode */ }
  }
  return keys[text];
}

function showBalance(balance, animate) {
  const element = $("scan-balance");
  element.dataset.points = String(balance);
  const from = shownBalance;
  shownBalance = balance;
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (!animate || from === null || from === balance || reduced) {
    element.textContent = points(balance);
    return;
  }
  const started = performance.now();
  const step = (now) => {
    const share = Math.min(1, (now - started) / 900);
    const current = Math.round(from + (balance - from) * share);
    element.textContent = share < 1 ? formatNumber(current, locale) : points(balance);
    if (share < 1) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

async function refreshBalance(animate = false) {
  try {
    const { wallet } = await loadWallet();
    showBalance(wallet.balance, animate);
  } catch { /* shown again on the next success */ }
}

function showResult(kind, heading, detail) {
  result.className = `card claim-result ${kind}`;
  const title = document.createElement("p");
  title.className = "result-title";
  title.textContent = heading;
  result.replaceChildren(title);
  if (detail) {
    const more = document.createElement("p");
    more.textContent = detail;
    result.append(more);
  }
  result.dataset.state = kind;
  result.focus();
}

async function claim(raw) {
  const text = raw.trim();
  if (/^KP[WC]1:/i.test(text)) return showResult("error", t.scan_wrong_code, t.scan_wrong_code_detail);
  if (!/^KPK1:/i.test(text)) return showResult("error", t.scan_not_kernpunt, t.scan_input_hint);
  result.className = "card claim-result busy";
  result.dataset.state = "busy";
  result.textContent = t.claim_busy;
  try {
    const claimed = await api.post("/me/claims", { qr_text: text }, { idempotencyKey: keyFor(text) });
    showResult("success", format(t.claim_done, { points: points(claimed.points) }),
      claimed.merchant_name ? format(t.claim_from, { shop: claimed.merchant_name }) : "");
    input.value = "";
    await refreshBalance(true);
  } catch (error) {
    showResult("error", t.claim_failed, explain(error));
  }
}

async function decodeOnServer() {
  const canvas = document.createElement("canvas");
  const scale = Math.min(1, FRAME_EDGE / Math.max(video.videoWidth, video.videoHeight));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.75));
  if (!blob) return null;
  try {
    // With the shopper's token, like the API: only a signed-in shopper may send frames.
    const data = await api.request("POST", "/decode-qr", {
      base: "/app", body: blob, headers: { "Content-Type": "image/jpeg" },
    });
    return (data && data.text) || null;
  } catch (error) {
    if (error.status === 422) return null;  // no code in this frame: try the next one
    throw error;
  }
}

async function decodeFrame() {
  if (detector) {
    try {
      const codes = await detector.detect(video);
      return codes.length ? codes[0].rawValue : null;
    } catch {
      detector = null;  // some builds list the API but cannot run it: use the server
    }
  }
  return decodeOnServer();
}

async function scanLoop() {
  if (!scanning) return;
  let text = null;
  if (video.readyState >= 2 && video.videoWidth) {
    try { text = await decodeFrame(); } catch { text = null; }
  }
  if (!scanning) return;
  if (text) {
    stopCamera();
    status.textContent = t.camera_found;
    await claim(text);
    return;
  }
  setTimeout(scanLoop, FRAME_MS);
}

async function startCamera() {
  result.textContent = "";
  result.className = "card claim-result";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    status.textContent = t.camera_unavailable;
    input.focus();
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } }, audio: false,
    });
  } catch (error) {
    status.textContent = error && error.name === "NotAllowedError" ? t.camera_denied : t.camera_unavailable;
    input.focus();
    return;
  }
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch { detector = null; }
  }
  video.srcObject = stream;
  $("camera-box").hidden = false;
  $("camera-start").hidden = true;
  $("camera-stop").hidden = false;
  await video.play().catch(() => null);
  status.textContent = t.camera_looking;
  scanning = true;
  setTimeout(scanLoop, FRAME_MS);
}

function stopCamera() {
  scanning = false;
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  video.srcObject = null;
  $("camera-box").hidden = true;
  $("camera-stop").hidden = true;
  $("camera-start").hidden = false;
}

$("camera-start").addEventListener("click", startCamera);
$("camera-stop").addEventListener("click", () => {
  stopCamera();
  status.textContent = t.camera_stopped;
  $("camera-start").focus();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden" && scanning) {
    stopCamera();
    status.textContent = t.camera_stopped;
  }
});

$("scan-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(event.target);
  if (!input.value.trim()) {
    fieldError("scan-input", t.scan_input_required).focus();
    return;
  }
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try { await claim(input.value); } finally { button.disabled = false; }
});

refreshBalance();

// The scan field (keyboard-wedge scanners type the QR text and press Enter; a cashier
// may type a short code or card number) and the camera. With the browser's
// BarcodeDetector the frames are decoded on the device; without it (Chromium on Linux)
// downscaled JPEG frames go to /merchant/decode-qr until the first hit.

import { $, PREFIX, announce, api, show, t } from "./till.js";

const FRAME_EVERY_MS = 400;
const FRAME_WIDTH = 640;

export function setupScanner({ onScan }) {
  const form = $("scan-form");
  const input = $("scan");
  const error = $("scan-error");
  const cameraButton = $("camera-button");
  const panel = $("camera-panel");
  const video = $("camera-video");
  const status = $("camera-status");
  let stream = null;
  let loop = null;
  let busy = false;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) { error.textContent = t.scan_empty; input.focus(); return; }
    if (busy) return;
    busy = true;
    error.textContent = "";
    form.setAttribute("aria-busy", "true");
    try { await onScan(text); } finally { busy = false; form.removeAttribute("aria-busy"); }
  });

  function stopCamera() {
    clearTimeout(loop); loop = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    show(panel, false);
    cameraButton.setAttribute("aria-expanded", "false");
  }

  async function hit(text) {
    stopCamera();
    input.value = text;
    announce(t.camera_found);
    form.requestSubmit();
  }

  async function detectorFor() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch { return null; }
  }

  async function frameBlob(canvas) {
    const scale = Math.min(1, FRAME_WIDTH / (video.videoWidth || FRAME_WIDTH));
    canvas.width = Math.round((video.videoWidth || FRAME_WIDTH) * scale);
    canvas.height = Math.round((video.videoHeight || 480) * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.75));
  }

  async function startCamera() {
    error.textContent = "";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      error.textContent = t.camera_unavailable; return;
    }
    show(panel, true);
    cameraButton.setAttribute("aria-expanded", "true");
    status.textContent = t.camera_starting;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false });
    } catch (problem) {
      stopCamera();
      error.textContent = problem && problem.name === "NotAllowedError" ? t.camera_denied : t.camera_unavailable;
      input.focus();
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    status.textContent = t.camera_hint;
    $("camera-close").focus();
    const detector = await detectorFor();
    const canvas = document.createElement("canvas");
    const step = async () => {
      if (!stream) return;
      try {
        if (video.readyState >= 2) {
          if (detector) {
            const codes = await detector.detect(video);
            if (codes.length && codes[0].rawValue) { hit(codes[0].rawValue); return; }
          } else {
            const blob = await frameBlob(canvas);
            if (blob && stream) {
              // Signed in like every till call (token or POS key): frames cost server CPU.
              const data = await api.request("POST", "/decode-qr", {
                base: PREFIX, body: blob, headers: { "Content-Type": "image/jpeg" },
              });
              if (data && data.text && stream) { hit(data.text); return; }
            }
          }
        }
      } catch { /* a lost frame: try the next one */ }
      if (stream) loop = setTimeout(step, detector ? 150 : FRAME_EVERY_MS);
    };
    step();
  }

  cameraButton.addEventListener("click", () => (stream ? stopCamera() : startCamera()));
  $("camera-close").addEventListener("click", () => { stopCamera(); input.focus(); });
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") { stopCamera(); input.focus(); } });

  return {
    input,
    reset() { stopCamera(); input.value = ""; error.textContent = ""; },
    focus() { input.focus(); },
    stopCamera,
    showError(message) { error.textContent = message; input.select(); input.focus(); },
  };
}

// A scanner types wherever the focus is. When it is on nothing that takes text (the
// cashier tapped the page), the first key goes to the scan field instead of being lost.
export function routeStrayKeys(isScanStep, beforeFocus) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) return;
    const target = event.target;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    if (event.key === " " && target && target.tagName === "BUTTON") return;
    if (!isScanStep()) {
      if (!beforeFocus || !beforeFocus()) return;
    }
    $("scan").focus();
  });
}

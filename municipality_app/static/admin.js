// What every municipality page shares: session, API client, header, read-only mode for
// auditors, a confirmation dialog, table helpers, authenticated downloads.

import { Api, ApiError, Session, explain, format, t, toast } from "/static/common/api.js";

export { ApiError, explain, format, t, toast };
export const PREFIX = "/municipality";
export const locale = document.documentElement.lang || "nl-BE";
export const session = new Session("kp_municipality_tokens");
export const api = new Api({ session, onSignedOut: () => goToLogin("expired") });
export const ROLES = ["municipality_admin", "auditor"];
export const $ = (id) => document.getElementById(id);

export function goToLogin(reason) {
  if (location.pathname === `${PREFIX}/login`) return;
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`${PREFIX}/login?next=${next}${reason ? `&reason=${reason}` : ""}`);
}

export const euro = (cents) => new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" }).format(cents / 100);
export const number = (value) => new Intl.NumberFormat(locale).format(value);
export const dateTime = (iso) => new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Brussels" }).format(new Date(iso));
export const monthName = (year, month) => new Intl.DateTimeFormat(locale, { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, 1)));

// Every page but the public ones: somebody of the municipality must be signed in.
// Resolves to /auth/me; an auditor gets the page without any change buttons.
export async function startPage() {
  if (!session.signedIn) { goToLogin(); return new Promise(() => {}); }
  let me;
  try {
    me = await api.get("/auth/me");
  } catch (error) {
    goToLogin(error instanceof ApiError && error.status === 401 ? "expired" : "");
    return new Promise(() => {});
  }
  if (!ROLES.includes(me.role)) { session.signOut(); goToLogin(); return new Promise(() => {}); }
  const who = $("who");
  if (who) { who.textContent = `${me.display_name || me.email} · ${t[`role_${me.role}`] || me.role}`; who.hidden = false; }
  const out = $("sign-out");
  if (out) { out.hidden = false; out.addEventListener("click", signOut); }
  const canWrite = me.role === "municipality_admin";
  document.querySelectorAll("[data-write]").forEach((element) => { element.hidden = !canWrite; });
  if (!canWrite && $("read-only")) $("read-only").hidden = false;
  return { ...me, canWrite };
}

export async function signOut() {
  const tokens = session.tokens;
  if (tokens && tokens.refresh_token) {
    try { await api.post("/auth/logout", { refresh_token: tokens.refresh_token }, { auth: false }); } catch { /* signed out locally anyway */ }
  }
  session.signOut();
  location.assign(`${PREFIX}/login?reason=signed_out`);
}

// Ask before a change; with `reason` the admin must give one (min. 3 characters).
export function confirmAction(message, { reason = false } = {}) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = message;
  $("confirm-reason-row").hidden = !reason;
  $("confirm-reason").value = "";
  $("confirm-reason").required = reason;
  return new Promise((resolve) => {
    const done = () => {
      dialog.removeEventListener("close", done);
      const ok = dialog.returnValue === "ok";
      const text = $("confirm-reason").value.trim();
      if (ok && reason && text.length < 3) { $("confirm-reason").focus(); resolve(null); return; }
      resolve(ok ? { reason: text } : null);
    };
    dialog.addEventListener("close", done);
    dialog.showModal();
    (reason ? $("confirm-reason") : dialog.querySelector("[value=ok]")).focus();
  });
}

export function cell(text, { label = "", className = "" } = {}) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  if (label) td.dataset.label = label;
  if (className) td.className = className;
  return td;
}

export function button(text, onClick, { secondary = false, testid = "" } = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (secondary) b.className = "secondary";
  if (testid) b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

// PDFs, CSVs and SEPA files need the bearer token: fetch, then hand the blob to the browser.
export async function download(path, filename) {
  const response = await api.request("GET", path, { raw: true, headers: { Accept: "*/*" } });
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function csvText(header, rows) {
  const quote = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n;]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(quote).join(",")).join("\r\n") + "\r\n";
}

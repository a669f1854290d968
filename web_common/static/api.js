// The browser side of the Kernpunt API: JSON in and out, problem+json errors as
// ApiError with a stable `code`, bearer tokens kept per app, one silent refresh when
// the access token has expired, and idempotency keys made on the device.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || (status === 0 ? "network_error" : `http_${status}`);
    this.problem = problem || {};
  }
  get offline() { return this.status === 0; }
}

export function newIdempotencyKey(prefix = "web") {
  const random = (crypto.randomUUID && crypto.randomUUID()) ||
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}-${random}`;
}

export class Session {
  constructor(storageKey) {
    this.storageKey = storageKey;
  }
  get tokens() {
    try { return JSON.parse(localStorage.getItem(this.storageKey)) || null; } catch { return null; }
  }
  set tokens(value) {
    if (value) localStorage.setItem(this.storageKey, JSON.stringify(value));
    else localStorage.removeItem(this.storageKey);
  }
  get signedIn() { return Boolean(this.tokens && this.tokens.access_token); }
  signOut() { this.tokens = null; }
}

export class Api {
  constructor({ session, base = "/api/v1", onSignedOut = () => {} }) {
    this.session = session;
    this.base = base;
    this.onSignedOut = onSignedOut;
    this.refreshing = null;
  }

  // `base` reaches an app's own endpoints (e.g. "/merchant") with the same sign-in; a
  // Blob body (a camera frame) is sent as it is, with the Content-Type given in headers.
  async request(method, path, { body, idempotencyKey, headers = {}, auth = true, raw = false, base = this.base } = {}) {
    const binary = typeof Blob !== "undefined" && body instanceof Blob;
    const send = async () => {
      const h = { Accept: "application/json, application/problem+json", ...headers };
      if (body !== undefined && !binary) h["Content-Type"] = "application/json";
      if (idempotencyKey) h["Idempotency-Key"] = idempotencyKey;
      const tokens = this.session && this.session.tokens;
      if (auth && tokens && tokens.access_token) h.Authorization = `Bearer ${tokens.access_token}`;
      let response;
      try {
        response = await fetch(base + path, {
          method, headers: h, body: body === undefined || binary ? body : JSON.stringify(body), credentials: "same-origin",
        });
      } catch (networkError) {
        throw new ApiError(0, { code: "network_error", detail: String(networkError) });
      }
      return response;
    };
    let response = await send();
    if (response.status === 401 && auth && this.session && this.session.tokens && this.session.tokens.refresh_token) {
      const problem = await response.clone().json().catch(() => ({}));
      if (problem.code === "token_expired" && (await this.refresh())) response = await send();
    }
    if (raw && response.ok) return response;
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401 && auth) this.onSignedOut();
      throw new ApiError(response.status, data);
    }
    return data;
  }

  async refresh() {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          const tokens = await this.request("POST", "/auth/refresh", {
            body: { refresh_token: this.session.tokens.refresh_token }, auth: false,
          });
          this.session.tokens = tokens;
          return true;
        } catch {
          this.session.signOut();
          return false;
        } finally {
          setTimeout(() => { this.refreshing = null; }, 0);
        }
      })();
    }
    return this.refreshing;
  }

  get(path, options) { return this.request("GET", path, options); }
  post(path, body, options = {}) { return this.request("POST", path, { ...options, body }); }
  patch(path, body, options = {}) { return this.request("PATCH", path, { ...options, body }); }
  delete(path, body, options = {}) { return this.request("DELETE", path, { ...options, body }); }
}

// Texts of the page's language, rendered by the server into <script id="i18n">.
export const t = (() => {
  try { return JSON.parse(document.getElementById("i18n").textContent); } catch { return {}; }
})();

export function format(template, values = {}) {
  return String(template).replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
}

export function explain(error) {
  // A problem code the page knows in its own language, else the server's own words.
  if (error instanceof ApiError) {
    return t[`error_${error.code}`] || error.message || t.error_generic;
  }
  return t.error_generic || String(error);
}

export function toast(message, { timeout = 4000 } = {}) {
  const element = document.getElementById("toast");
  if (!element) return;
  element.textContent = message;
  element.classList.add("show");
  clearTimeout(element._timer);
  element._timer = setTimeout(() => element.classList.remove("show"), timeout);
}

const zone = "Europe/Brussels";
export function formatDateTime(iso, lang) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone: zone }).format(new Date(iso));
}
export function formatDate(iso, lang) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeZone: zone }).format(new Date(iso));
}
export function formatEuro(cents, lang) {
  return new Intl.NumberFormat(lang, { style: "currency", currency: "EUR" }).format(cents / 100);
}
export function formatNumber(value, lang) {
  return new Intl.NumberFormat(lang).format(value);
}

// The language switch remembers the choice for the next visit.
document.querySelectorAll(".lang-switch a[data-lang]").forEach((link) => {
  link.addEventListener("click", () => {
    document.cookie = `kp_lang=${link.dataset.lang}; path=/; max-age=31536000; samesite=lax`;
  });
});

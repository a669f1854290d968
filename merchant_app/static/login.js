// Sign-in for a cashier or an owner, or a till set up once with a POS key.

import { $, ApiError, PREFIX, TILL_ROLES, api, explain, loadMe, session, setPosKey, signedIn, t } from "./till.js";

const params = new URLSearchParams(location.search);

function next() {
  const wanted = params.get("next") || "";
  // Only pages of this app: never an open redirect.
  return wanted.startsWith(`${PREFIX}/`) && !wanted.startsWith("//") ? wanted : `${PREFIX}/`;
}

const reason = params.get("reason");
if (reason && t[`login_reason_${reason}`]) {
  $("login-notice").textContent = t[`login_reason_${reason}`];
  $("login-notice").hidden = false;
}

async function acceptOrRefuse(errorElement) {
  const me = await loadMe();
  if (!TILL_ROLES.includes(me.role)) {
    session.signOut(); setPosKey("");
    errorElement.textContent = t.login_not_shop;
    return;
  }
  location.assign(next());
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("login-error");
  const email = $("login-email").value.trim();
  const password = $("login-password").value;
  if (!email || !password) { error.textContent = t.login_missing; (email ? $("login-password") : $("login-email")).focus(); return; }
  const tenant = $("login-tenant").value.trim();
  error.textContent = "";
  $("login-submit").disabled = true;
  try {
    setPosKey("");
    const tokens = await api.post("/auth/login", { email, password, ...(tenant ? { tenant } : {}) }, { auth: false });
    session.tokens = tokens;
    await acceptOrRefuse(error);
  } catch (problem) {
    // E.g. the owner of a suspended shop: signed in, but the till refuses it.
    session.signOut();
    error.textContent = explain(problem);
    $("login-password").select();
    $("login-password").focus();
  } finally {
    $("login-submit").disabled = false;
  }
});

$("key-login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("key-login-error");
  const key = $("login-pos-key").value.trim();
  if (!key) { error.textContent = t.key_login_missing; $("login-pos-key").focus(); return; }
  error.textContent = "";
  session.signOut();
  setPosKey(key);
  try {
    await acceptOrRefuse(error);
  } catch (problem) {
    setPosKey("");
    error.textContent = problem instanceof ApiError && problem.status === 401 ? t.key_login_refused : explain(problem);
    $("login-pos-key").focus();
  }
});

if (signedIn() && reason !== "expired") {
  // Already signed in on this device: straight to the till.
  loadMe().then(() => location.assign(next())).catch(() => {});
}

// Sign-in for the municipality's administrators and auditors.

import { $, ApiError, PREFIX, ROLES, api, explain, session, t } from "./admin.js";

const params = new URLSearchParams(location.search);
const reason = params.get("reason");
if (reason && t[`login_reason_${reason}`]) { $("login-notice").textContent = t[`login_reason_${reason}`]; $("login-notice").hidden = false; }

function next() {
  const wanted = params.get("next") || "";
  // Only pages of this app: never an open redirect.
  return wanted.startsWith(`${PREFIX}/`) && !wanted.startsWith("//") ? wanted : `${PREFIX}/`;
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
    const tokens = await api.post("/auth/login", { email, password, ...(tenant ? { tenant } : {}) }, { auth: false });
    if (!ROLES.includes(tokens.role)) { error.textContent = t.login_not_municipality; return; }
    session.tokens = tokens;
    location.assign(next());
  } catch (problem) {
    error.textContent = problem instanceof ApiError ? explain(problem) : t.error_generic;
    $("login-password").select();
  } finally {
    $("login-submit").disabled = false;
  }
});
$("login-email").focus();

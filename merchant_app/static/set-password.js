// A new shop owner chooses a password through the invitation link, then lands in the till.

import { $, PREFIX, api, explain, loadMe, session, t } from "./till.js";

const token = new URLSearchParams(location.search).get("token") || "";
// The token must not linger in the address bar or the history once read.
history.replaceState(null, "", location.pathname);
if (!token) $("set-password-error").textContent = t.set_password_no_token;

$("set-password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("set-password-error");
  error.textContent = "";
  $("set-password-submit").disabled = true;
  try {
    session.tokens = await api.post("/merchant-invitations/accept", { token, password: $("new-password").value }, { auth: false });
    await loadMe();
    location.assign(`${PREFIX}/shop`);
  } catch (problem) {
    error.textContent = explain(problem);
    $("new-password").focus();
  } finally {
    $("set-password-submit").disabled = false;
  }
});

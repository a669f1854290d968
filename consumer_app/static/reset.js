import { api, clearErrors, explain, formError, reportInvalid, t, withBusy } from "./app.js";

const token = new URLSearchParams(location.search).get("token");
const form = document.getElementById("reset-form");
const done = document.getElementById("reset-done");
if (!token) {
  form.hidden = true;
  document.getElementById("reset-missing").hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const password = document.getElementById("reset-password").value;
  const repeat = document.getElementById("reset-repeat").value;
  const problems = [];
  if (password.length < 10) problems.push(["reset-password", t.password_hint]);
  else if (password !== repeat) problems.push(["reset-repeat", t.passwords_differ]);
  if (reportInvalid(problems)) return;
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    try {
      await api.post("/auth/password-reset/confirm", { token, new_password: password }, { auth: false });
      form.hidden = true;
      done.hidden = false;
      done.focus();
    } catch (error) {
      formError("reset-error", explain(error));
    }
  });
});

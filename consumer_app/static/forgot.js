import { api, clearErrors, config, explain, formError, reportInvalid, t, value, withBusy } from "./app.js";

const form = document.getElementById("forgot-form");
const done = document.getElementById("forgot-done");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const email = value("forgot-email");
  if (reportInvalid(/^\S+@\S+\.\S+$/.test(email) ? [] : [["forgot-email", t.email_invalid]])) return;
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    try {
      // Always 202, whether or not the address has an account (no enumeration).
      await api.post("/auth/password-reset", { tenant: config.tenant, email }, { auth: false });
      form.hidden = true;
      done.hidden = false;
      done.focus();
    } catch (error) {
      formError("forgot-error", explain(error));
    }
  });
});

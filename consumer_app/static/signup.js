import {
  api, clearErrors, config, explain, fieldError, formError, reportInvalid, session, setLanguageCookie, t, value,
  withBusy,
} from "./app.js";

const FIELD_OF_ERROR = {
  email_taken: "signup-email", email_invalid: "signup-email", password_too_weak: "signup-password",
};

const form = document.getElementById("signup-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const body = {
    tenant: config.tenant,
    first_name: value("signup-first-name"),
    email: value("signup-email"),
    password: document.getElementById("signup-password").value,
    language: document.getElementById("signup-language").value,
    consent: document.getElementById("signup-consent").checked,
  };
  const postcode = value("signup-postcode");
  if (postcode) body.postcode = postcode;
  const problems = [];
  if (!body.first_name) problems.push(["signup-first-name", t.first_name_required]);
  if (!/^\S+@\S+\.\S+$/.test(body.email)) problems.push(["signup-email", t.email_invalid]);
  if (body.password.length < 10) problems.push(["signup-password", t.password_hint]);
  if (postcode && !/^\d{4}$/.test(postcode)) problems.push(["signup-postcode", t.postcode_invalid]);
  if (!body.consent) problems.push(["signup-consent", t.consent_required]);
  if (reportInvalid(problems)) return;
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    try {
      const tokens = await api.post("/signup", body, { auth: false });
      session.tokens = tokens;
      setLanguageCookie(body.language);
      location.replace("/app/?welcome=1");
    } catch (error) {
      const field = FIELD_OF_ERROR[error.code];
      if (field) fieldError(field, explain(error)).focus();
      else formError("signup-error", explain(error));
    }
  });
});

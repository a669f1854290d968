import {
  api, clearErrors, config, explain, formError, reportInvalid, session, setLanguageCookie, t, value, withBusy,
} from "./app.js";

const query = new URLSearchParams(location.search);
const notice = document.getElementById("login-notice");
const reasons = { expired: t.login_expired, signed_out: t.login_signed_out, deleted: t.login_deleted };
if (reasons[query.get("reason")]) {
  notice.textContent = reasons[query.get("reason")];
  notice.hidden = false;
}

// Only a page of this app, never another site (no open redirect).
function nextPage() {
  const next = query.get("next") || "";
  return next.startsWith("/app/") && !next.startsWith("/app/login") ? next : "/app/";
}

if (session.signedIn && !query.get("reason")) location.replace(nextPage());

const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const email = value("login-email");
  const password = document.getElementById("login-password").value;
  const problems = [];
  if (!email) problems.push(["login-email", t.email_required]);
  if (!password) problems.push(["login-password", t.password_required]);
  if (reportInvalid(problems)) return;
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    try {
      const tokens = await api.post("/auth/login", { tenant: config.tenant, email, password }, { auth: false });
      if (tokens.role !== "shopper") {
        formError("login-error", t.login_not_shopper);
        return;
      }
      session.tokens = tokens;
      try {
        // The account's language wins over this phone's: it is what the shopper chose.
        const profile = await api.get("/me/profile");
        if (profile && profile.language) setLanguageCookie(profile.language);
      } catch { /* the profile is a nicety here */ }
      location.replace(nextPage());
    } catch (error) {
      formError("login-error", explain(error));
      document.getElementById("login-password").focus();
    }
  });
});

// Profile (name, language, postcode) and password change.
import {
  api, clearErrors, config, relocaliseOfflinePages, session, explain, fieldError, format, formError, reportInvalid, setLanguageCookie, t, value,
  withBusy,
} from "./app.js";

const $ = (id) => document.getElementById(id);
const profileForm = $("profile-form");
const passwordForm = $("password-form");
let loaded = null;

async function loadProfile() {
  try {
    loaded = await api.get("/me/profile");
    $("profile-first-name").value = loaded.first_name || "";
    $("profile-postcode").value = loaded.postcode || "";
    if (loaded.language) $("profile-language").value = loaded.language;
    if (loaded.email) $("profile-email").textContent = format(t.signed_in_as, { email: loaded.email });
  } catch (error) {
    formError("profile-error", explain(error));
  }
}

if (new URLSearchParams(location.search).has("saved")) $("profile-saved").textContent = t.saved;

profileForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(profileForm);
  $("profile-saved").textContent = "";
  const body = {
    first_name: value("profile-first-name"),
    language: $("profile-language").value,
    postcode: value("profile-postcode") || null,
  };
  const problems = [];
  if (!body.first_name) problems.push(["profile-first-name", t.first_name_required]);
  if (body.postcode && !/^\d{4}$/.test(body.postcode)) problems.push(["profile-postcode", t.postcode_invalid]);
  if (reportInvalid(problems)) return;
  await withBusy(profileForm.querySelector("button[type=submit]"), async () => {
    try {
      loaded = await api.patch("/me/profile", body);
      if (body.language !== config.lang) {
        // The app speaks the new language from the next page on: show it at once.
        setLanguageCookie(body.language);
        relocaliseOfflinePages();
        location.replace(`/app/profile?lang=${body.language}&saved=1`);
        return;
      }
      $("profile-saved").textContent = t.saved;
    } catch (error) {
      formError("profile-error", explain(error));
    }
  });
});

passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(passwordForm);
  $("password-saved").textContent = "";
  const current = $("password-current").value;
  const fresh = $("password-new").value;
  const problems = [];
  if (!current) problems.push(["password-current", t.password_required]);
  if (fresh.length < 10) problems.push(["password-new", t.password_hint]);
  else if (fresh !== $("password-repeat").value) problems.push(["password-repeat", t.passwords_differ]);
  if (reportInvalid(problems)) return;
  await withBusy(passwordForm.querySelector("button[type=submit]"), async () => {
    try {
      await api.post("/auth/change-password", {
        current_password: current, new_password: fresh, refresh_token: (session.tokens || {}).refresh_token,
      });
      passwordForm.reset();
      $("password-saved").textContent = t.password_changed;
    } catch (error) {
      if (["password_incorrect", "invalid_credentials"].includes(error.code)) fieldError("password-current", t.current_password_wrong).focus();
      else if (error.code === "password_too_weak") fieldError("password-new", explain(error)).focus();
      else formError("password-error", explain(error));
    }
  });
});

loadProfile();

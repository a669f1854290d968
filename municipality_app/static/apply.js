// The public application form a shop fills in; no sign-in.

import { $, api, explain, format, t } from "./admin.js";

const form = $("apply-form");
const params = new URLSearchParams(location.search);
const tenant = params.get("tenant") || form.dataset.tenant;

try {
  const options = await api.get(`/merchant-applications/form?tenant=${encodeURIComponent(tenant)}`, { auth: false });
  const village = $("a-village");
  if (options.villages.length) {
    options.villages.forEach((name) => village.append(new Option(name, name)));
  } else {
    // A town without a village list takes a free text.
    const input = document.createElement("input");
    input.id = "a-village"; input.name = "village"; input.required = true; input.maxLength = 100;
    village.replaceWith(input);
  }
} catch (error) {
  $("apply-error").textContent = explain(error);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("apply-error");
  error.textContent = "";
  const missing = [...form.querySelectorAll("[required]")].find((field) => !field.value.trim());
  if (missing) { error.textContent = t.required_missing; missing.focus(); return; }
  const body = { tenant };
  for (const [name, value] of new FormData(form)) body[name] = String(value).trim();
  $("apply-submit").disabled = true;
  try {
    const received = await api.post("/merchant-applications", body, { auth: false });
    form.hidden = true;
    $("apply-done").textContent = format(t.apply_done, { name: received.name });
    $("apply-done").hidden = false;
    $("apply-done").focus();
  } catch (problem) {
    error.textContent = explain(problem);
    const field = { vat_number_invalid: "a-vat", iban_invalid: "a-iban", village_unknown: "a-village", phone_invalid: "a-contact-phone", email_invalid: "a-contact-email" }[problem.code];
    if (field) $(field).focus();
  } finally {
    $("apply-submit").disabled = false;
  }
});

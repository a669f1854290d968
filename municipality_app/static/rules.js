// The scheme's rules (PATCH /tenant): points per euro and per category, minimum purchase,
// daily cap, expiry, till hold timeout, point value. Auditors see them read-only.

import { $, api, euro, format, number, startPage, t, toast } from "./admin.js";
import { FieldErrors, centsToEuroText, readCents, readInteger } from "./fields.js";

const me = await startPage();
const form = $("rules-form");
const errors = new FieldErrors(form);
const field = (name) => form.elements[name];
let current = null;

function show(tenant) {
  current = tenant;
  field("points_per_euro").value = tenant.points_per_euro;
  field("min_purchase_cents").value = centsToEuroText(tenant.min_purchase_cents);
  field("daily_cap_points").value = tenant.daily_cap_points ?? "";
  field("point_value_cents").value = tenant.point_value_cents;
  field("points_expiry_days").value = tenant.points_expiry_days;
  field("hold_timeout_seconds").value = tenant.hold_timeout_seconds;
  form.querySelectorAll("[data-category]").forEach((input) => {
    input.value = tenant.category_points_per_euro[input.dataset.category] ?? "";
  });
  example();
}

// What the default rate means in practice, updated while typing.
function example() {
  const rate = Number(field("points_per_euro").value);
  const value = Number(field("point_value_cents").value);
  if (!Number.isFinite(rate) || !Number.isFinite(value)) { $("rules-example").textContent = ""; return; }
  const points = Math.floor((2500 * rate) / 100);
  $("rules-example").textContent = format(t.rules_example, { points: number(points), value: euro(points * value) });
}

// Only what changed is sent: the audit log then shows exactly the change.
function read() {
  errors.clear();
  const body = {};
  const wanted = {
    points_per_euro: readInteger(field("points_per_euro"), errors),
    min_purchase_cents: readCents(field("min_purchase_cents"), errors),
    daily_cap_points: readInteger(field("daily_cap_points"), errors, { empty: null }),
    point_value_cents: readInteger(field("point_value_cents"), errors),
    points_expiry_days: readInteger(field("points_expiry_days"), errors),
    hold_timeout_seconds: readInteger(field("hold_timeout_seconds"), errors),
  };
  const categories = {};
  form.querySelectorAll("[data-category]").forEach((input) => {
    const rate = readInteger(input, errors, { empty: null });
    if (rate !== null && rate !== undefined) categories[input.dataset.category] = rate;
  });
  if (errors.count) return null;
  for (const [name, value] of Object.entries(wanted)) {
    if (value !== current[name]) body[name] = value;
  }
  const before = current.category_points_per_euro;
  const same = Object.keys(categories).length === Object.keys(before).length &&
    Object.entries(categories).every(([c, rate]) => before[c] === rate);
  if (!same) body.category_points_per_euro = categories;
  return body;
}

form.addEventListener("input", example);
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("rules-error").textContent = "";
  const body = read();
  if (!body) { $("rules-error").textContent = t.fix_fields; return; }
  if (!Object.keys(body).length) { toast(t.rules_unchanged); return; }
  // The API reads null as "unchanged" except for the cap, where null removes it.
  try {
    show(await api.patch("/tenant", body));
    toast(t.rules_saved);
  } catch (error) {
    $("rules-error").textContent = errors.fromApi(error);
  }
});

try {
  show(await api.get("/tenant"));
  $("rules-fields").disabled = !me.canWrite;
} catch (error) {
  $("rules-error").textContent = errors.fromApi(error);
}

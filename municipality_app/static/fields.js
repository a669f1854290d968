// Form fields shared by the rules and campaign screens: whole numbers and euro amounts
// read with their own checks, and the API's validation errors shown next to the field
// they are about (the API names it by its location, e.g. body.category_points_per_euro.bakery).

import { ApiError, explain, format, t } from "./admin.js";

export class FieldErrors {
  constructor(form) {
    this.form = form;
    this.count = 0;
  }

  clear() {
    this.count = 0;
    this.form.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; });
    this.form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  }

  // True when a message could be put next to its field.
  set(name, message) {
    const slot = this.form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!slot) return false;
    slot.textContent = message;
    const input = this.form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (this.count === 0) input.focus();
    }
    this.count += 1;
    return true;
  }

  // A 422 from the API: each error next to its field; what has no field comes back as text.
  fromApi(error) {
    if (!(error instanceof ApiError) || error.code !== "validation_error") {
      return explain(error) + (error instanceof ApiError && error.code === "invalid_campaign" && error.problem.detail ? ` ${error.problem.detail}` : "");
    }
    const loose = [];
    for (const item of error.problem.errors || []) {
      const loc = (item.loc || []).filter((part) => part !== "body");
      const input = this.form.querySelector(`[name="${CSS.escape(loc.join("."))}"]`);
      const message = input ? rangeMessage(input) || item.msg : item.msg;
      if (!this.set(loc.join("."), message) && !this.set(String(loc[0] ?? ""), message)) loose.push(item.msg);
    }
    return this.count ? [t.fix_fields, ...loose].join(" ") : explain(error);
  }
}

function rangeMessage(input) {
  if (input.type !== "number") return "";
  if (input.step && input.step !== "1") return t.field_amount;
  return format(t.field_range, { min: input.min, max: input.max });
}

// A whole number from an input, checked against its min/max; "" gives `empty`.
export function readInteger(input, errors, { empty = undefined } = {}) {
  const text = input.value.trim();
  if (text === "") {
    if (input.required) { errors.set(input.name, t.field_required); return undefined; }
    return empty;
  }
  const value = Number(text);
  if (!Number.isInteger(value) || value < Number(input.min) || value > Number(input.max)) {
    errors.set(input.name, rangeMessage(input));
    return undefined;
  }
  return value;
}

// Euros typed with a comma or a point, to cents.
export function readCents(input, errors) {
  const text = input.value.trim().replace(",", ".");
  if (text === "" && !input.required) return 0;
  if (!/^\d+(\.\d{1,2})?$/.test(text) || Number(text) > Number(input.max || Infinity)) {
    errors.set(input.name, t.field_amount);
    return undefined;
  }
  return Math.round(Number(text) * 100);
}

export const centsToEuroText = (cents) => (cents / 100).toFixed(2);

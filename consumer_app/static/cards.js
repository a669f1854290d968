// Register a physical Kernpunt card: its points move into this wallet.
import { api, clearErrors, explain, fieldError, format, formError, points, reportInvalid, t, withBusy } from "./app.js";
import { newIdempotencyKey } from "/static/common/api.js";

const $ = (id) => document.getElementById(id);
const form = $("card-form");
const FIELD_OF_ERROR = {
  card_unknown: "card-number", card_number_invalid: "card-number", card_already_registered: "card-number",
  card_blocked: "card-number", card_pin_wrong: "card-pin", card_locked: "card-pin",
};
let pending = null;  // {body, key}: a retry of the same card and PIN reuses its key

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) { digit *= 2; if (digit > 9) digit -= 9; }
    sum += digit;
  }
  return sum % 10 === 0;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  $("card-result").hidden = true;
  const number = $("card-number").value.replace(/[\s-]/g, "");
  const pin = $("card-pin").value.trim();
  const problems = [];
  if (!/^\d{13}$/.test(number) || !luhnValid(number)) problems.push(["card-number", t.card_number_invalid]);
  if (!/^\d{4,8}$/.test(pin)) problems.push(["card-pin", t.card_pin_invalid]);
  if (reportInvalid(problems)) return;
  const body = { number, pin };
  if (!pending || pending.body.number !== number || pending.body.pin !== pin) {
    pending = { body, key: newIdempotencyKey("card") };
  }
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    try {
      const registered = await api.post("/me/cards", body, { idempotencyKey: pending.key });
      pending = null;
      form.reset();
      const moved = registered && Number.isInteger(registered.points_moved) ? registered.points_moved : null;
      $("card-result").textContent = moved === null ? t.card_done
        : format(t.card_done_points, { points: points(moved) });
      $("card-result").hidden = false;
      $("card-result").focus();
    } catch (error) {
      let message = explain(error);
      if (error.code === "card_pin_wrong" && error.problem.attempts_left !== undefined) {
        message = format(t.card_attempts_left, { n: error.problem.attempts_left });
      }
      const field = FIELD_OF_ERROR[error.code];
      if (field) fieldError(field, message).focus();
      else formError("card-error", message);
    }
  });
});

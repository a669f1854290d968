// The on-screen keypad and the amount fields it types into. The field stays a real
// input (labelled, readable by a screen reader, typed into by a physical keyboard);
// the keypad only edits its value and keeps the focus where it was.

const MAX_EURO_DIGITS = 5; // up to 99 999,99 euro at one till

// "12,5" -> "12,5"; "12.555" -> "12,55"; letters dropped; one comma at most.
export function cleanEuro(text) {
  let value = String(text).replace(/\./g, ",").replace(/[^0-9,]/g, "");
  const comma = value.indexOf(",");
  if (comma >= 0) value = value.slice(0, comma + 1) + value.slice(comma + 1).replace(/,/g, "").slice(0, 2);
  let [whole, fraction] = comma >= 0 ? [value.slice(0, comma), value.slice(comma)] : [value, ""];
  whole = whole.replace(/^0+(?=\d)/, "").slice(0, MAX_EURO_DIGITS);
  if (whole === "" && fraction) whole = "0";
  return whole + fraction;
}

export function cleanDigits(text, max = 7) {
  return String(text).replace(/\D/g, "").replace(/^0+(?=\d)/, "").slice(0, max);
}

// Integer cents of a cleaned euro text, or null when there is no amount.
export function euroToCents(text) {
  const value = cleanEuro(text);
  if (!value || value === "0," || !/\d/.test(value)) return null;
  const [whole, fraction = ""] = value.split(",");
  return Number(whole || "0") * 100 + Number((fraction + "00").slice(0, 2));
}

export function centsToText(cents) {
  const whole = Math.floor(cents / 100);
  const fraction = cents % 100;
  return fraction ? `${whole},${String(fraction).padStart(2, "0").replace(/0$/, "")}` : String(whole);
}

// kind: "euro" | "digits"
export function attachAmount(input, { kind = "euro", max = 7 } = {}) {
  const clean = () => (input.dataset.kind === "digits" ? cleanDigits(input.value, max) : cleanEuro(input.value));
  input.dataset.kind = kind;
  input.addEventListener("input", () => {
    const cleaned = clean();
    if (cleaned !== input.value) input.value = cleaned;
  });
  const pad = document.querySelector(`.keypad[data-target="${input.id}"]`);
  if (!pad) return;
  pad.addEventListener("mousedown", (event) => {
    // A tap on a key must not take the focus from the field (the physical keyboard keeps working).
    if (event.target.closest("button")) event.preventDefault();
  });
  pad.addEventListener("click", (event) => {
    const key = event.target.closest("button[data-key]");
    if (!key || key.disabled) return;
    const k = key.dataset.key;
    if (k === "back") input.value = input.value.slice(0, -1);
    else if (k === "clear") input.value = "";
    else input.value += k;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    if (navigator.vibrate) navigator.vibrate(10);
  });
}

export function setKeypadComma(input, enabled) {
  const comma = document.querySelector(`.keypad[data-target="${input.id}"] [data-key=","]`);
  if (comma) comma.disabled = !enabled;
}

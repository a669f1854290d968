// One line of the wallet history in words: what happened, where, and the signed points.
import { format, locale, points, t } from "./app.js";

// Transfer kinds a wallet sees (backend/ledger/accounts.py FLOWS).
const KINDS = ["earn", "redeem", "bonus", "expiry", "forfeit", "wallet_merge"];

function kindLabel(kind) {
  return KINDS.includes(kind) ? t[`kind_${kind}`] : t.kind_other;
}

export function isReversal(item) {
  return item.kind === "reversal" || Boolean(item.reversal_of);
}

export function describe(item) {
  const kind = item.kind === "reversal" ? item.reversed_kind : item.kind;
  let what = kindLabel(kind);
  if (item.merchant_name) what = format(t.history_at, { what, shop: item.merchant_name });
  if (isReversal(item)) what = format(t.history_reversal, { what });
  return what;
}

export function signedPoints(value) {
  // A sign in words and symbols, so nothing depends on colour alone.
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${points(Math.abs(value))}`;
}

export function historyItem(item) {
  const li = document.createElement("li");
  li.className = `entry ${item.points >= 0 ? "in" : "out"}${isReversal(item) ? " reversal" : ""}`;
  li.dataset.kind = item.kind;
  li.dataset.points = String(item.points);
  if (item.reversal_of) li.dataset.reversalOf = String(item.reversal_of);
  li.tabIndex = -1;
  const what = document.createElement("span");
  what.className = "what";
  what.textContent = describe(item);
  const amount = document.createElement("span");
  amount.className = "amount";
  amount.textContent = signedPoints(item.points);
  const when = document.createElement("time");
  when.className = "when";
  when.dateTime = item.created_at;
  when.textContent = new Intl.DateTimeFormat(locale, {
    dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Brussels",
  }).format(new Date(item.created_at));
  li.append(what, amount, when);
  return li;
}

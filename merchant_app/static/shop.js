// The owner's page: the float (prepaid points) with a low-float warning, the shop's
// cashiers, and the POS keys of its tills.

import { $, announce, api, euro, explain, format, formatTime, isOwner, number, show, startPage, t } from "./till.js";
import { startQueue } from "./queue.js";

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.entries(props).forEach(([k, v]) => {
    if (k === "dataset") Object.assign(node.dataset, v); else if (k in node) node[k] = v; else node.setAttribute(k, v);
  });
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

async function loadFloat() {
  try {
    const float = await api.get("/till/float");
    $("float-available").textContent = number(float.available ?? float.balance);
    const parts = [format(t.float_balance, { points: number(float.balance) })];
    if (float.credit_limit) parts.push(format(t.float_credit, { points: number(float.credit_limit) }));
    $("float-detail").textContent = parts.join(" · ");
    show($("float-low"), Boolean(float.low));
    $("float-error").textContent = "";
  } catch (error) {
    $("float-error").textContent = explain(error);
  }
}

async function loadStaff(me) {
  try {
    const page = await api.get(`/users?role=cashier&merchant_id=${me.merchant_id}`);
    const users = page.items || [];
    $("staff-list").replaceChildren(...(users.length ? users.map((u) => el("li", { dataset: { testid: "staff-row" } },
      el("strong", {}, u.display_name || u.email), ` · ${u.email}`, u.is_active ? "" : ` · ${t.staff_inactive}`))
      : [el("li", { className: "hint" }, t.staff_none)]));
  } catch (error) {
    $("staff-list").replaceChildren(el("li", { className: "error" }, explain(error)));
  }
}

async function loadKeys(me) {
  try {
    const keys = await api.get(`/merchants/${me.merchant_id}/pos-keys`);
    $("pos-key-list").replaceChildren(...(keys.length ? keys.map((key) => keyRow(me, key)) : [el("li", { className: "hint" }, t.keys_none)]));
  } catch (error) {
    $("pos-key-list").replaceChildren(el("li", { className: "error" }, explain(error)));
  }
}

function keyRow(me, key) {
  const li = el("li", { dataset: { testid: "pos-key-row", keyId: String(key.id) } },
    el("strong", {}, key.name), ` · ${key.prefix}… · ${format(t.keys_created_on, { time: formatTime(key.created_at) })}`);
  if (key.revoked_at) {
    li.append(` · ${t.keys_revoked}`);
    li.classList.add("revoked");
    return li;
  }
  const revoke = el("button", { type: "button", className: "danger", textContent: t.keys_revoke, dataset: { testid: "pos-key-revoke" },
    "aria-label": format(t.keys_revoke_named, { name: key.name }) });
  revoke.addEventListener("click", async () => {
    if (!window.confirm(format(t.keys_revoke_confirm, { name: key.name }))) return;
    revoke.disabled = true;
    try {
      await api.delete(`/merchants/${me.merchant_id}/pos-keys/${key.id}`);
      announce(format(t.keys_revoked_announce, { name: key.name }));
      await loadKeys(me);
    } catch (error) {
      revoke.disabled = false;
      $("pos-key-error").textContent = explain(error);
    }
  });
  li.append(" ", revoke);
  return li;
}

function setup(me) {
  $("staff-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const error = $("staff-error");
    if (!form.reportValidity()) return;
    error.textContent = "";
    $("staff-submit").disabled = true;
    try {
      const user = await api.post("/users", {
        email: $("staff-email").value.trim(), password: $("staff-password").value, role: "cashier",
        merchant_id: me.merchant_id, display_name: $("staff-name").value.trim(), language: $("staff-language").value,
      });
      form.reset();
      announce(format(t.staff_created, { name: user.display_name || user.email }));
      await loadStaff(me);
    } catch (problem) {
      error.textContent = explain(problem);
    } finally {
      $("staff-submit").disabled = false;
    }
  });

  $("pos-key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("pos-key-error");
    const name = $("pos-key-name").value.trim();
    if (!name) { error.textContent = t.keys_name_missing; $("pos-key-name").focus(); return; }
    error.textContent = "";
    $("pos-key-submit").disabled = true;
    try {
      const created = await api.post(`/merchants/${me.merchant_id}/pos-keys`, { name });
      $("pos-key-name").value = "";
      $("pos-key-value").value = created.key;
      show($("pos-key-created"), true);
      $("pos-key-created").focus();
      announce(t.keys_once);
      await loadKeys(me);
    } catch (problem) {
      error.textContent = explain(problem);
    } finally {
      $("pos-key-submit").disabled = false;
    }
  });

  $("pos-key-copy").addEventListener("click", async () => {
    const value = $("pos-key-value");
    try {
      await navigator.clipboard.writeText(value.value);
    } catch {
      value.select();
      document.execCommand("copy");
    }
    announce(t.copied);
  });
}

startPage().then((me) => {
  startQueue();
  if (!isOwner(me)) { show($("shop-owner-only"), true); return; }
  show($("shop-sections"), true);
  setup(me);
  loadFloat();
  loadStaff(me);
  loadKeys(me);
});

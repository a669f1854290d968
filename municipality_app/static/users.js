// Staff of the municipality and of its shops; administrators add users.

import { $, api, cell, explain, startPage, t, toast } from "./admin.js";

const me = await startPage();
let cursor = null;
const merchantNames = new Map();

async function loadMerchants() {
  const page = await api.get("/merchants?status=active&limit=200");
  page.items.forEach((m) => { merchantNames.set(m.id, m.name); $("u-merchant").append(new Option(m.name, m.id)); });
}

async function load(reset) {
  const page = await api.get(`/users?limit=50${!reset && cursor ? `&cursor=${cursor}` : ""}`);
  const body = $("user-table").tBodies[0];
  if (reset) body.replaceChildren();
  for (const user of page.items) {
    const tr = document.createElement("tr");
    tr.append(
      cell(user.email, { label: t.email }),
      cell(user.display_name, { label: t.display_name }),
      cell(t[`role_${user.role}`] || user.role, { label: t.role }),
      cell(user.merchant_id ? merchantNames.get(user.merchant_id) || `#${user.merchant_id}` : "—", { label: t.merchant }),
      cell(user.is_active ? t.yes : t.no, { label: t.active }),
    );
    body.append(tr);
  }
  cursor = page.next_cursor;
  $("more").hidden = !cursor;
}

$("user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const role = $("u-role").value;
  const merchant = $("u-merchant").value;
  $("user-error").textContent = "";
  try {
    await api.post("/users", {
      email: $("u-email").value.trim(),
      display_name: $("u-name").value.trim(),
      role,
      password: $("u-password").value,
      ...(["merchant_owner", "cashier"].includes(role) && merchant ? { merchant_id: Number(merchant) } : {}),
    });
    $("user-form").reset();
    toast(t.user_created);
    await load(true);
  } catch (error) {
    $("user-error").textContent = explain(error);
  }
});
$("more").addEventListener("click", () => load(false));

try {
  await loadMerchants();
  await load(true);
} catch (error) {
  toast(explain(error));
}
void me;

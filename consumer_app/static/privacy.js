// Download my data; delete my account (after saying how many points are lost).
import {
  api, clearErrors, euro, explain, fieldError, format, formError, forgetThisPhone, loadWallet, points,
  reportInvalid, session, t, withBusy,
} from "./app.js";

const $ = (id) => document.getElementById(id);

async function showPointsAtStake() {
  const element = $("delete-points");
  try {
    const { wallet } = await loadWallet();
    element.dataset.points = String(wallet.balance);
    element.textContent = wallet.balance > 0
      ? format(t.delete_points_lost, { points: points(wallet.balance), euro: euro(wallet.value_cents) })
      : t.delete_no_points;
  } catch {
    element.textContent = t.delete_points_unknown;
  }
}

$("export-button").addEventListener("click", async (event) => {
  const status = $("export-status");
  status.textContent = t.export_busy;
  await withBusy(event.currentTarget, async () => {
    try {
      const response = await api.request("GET", "/me/export", { raw: true });
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `kernpunt-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      status.textContent = t.export_done;
    } catch (error) {
      status.textContent = explain(error);
    }
  });
});

const form = $("delete-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  const password = $("delete-password").value;
  const problems = [];
  if (!password) problems.push(["delete-password", t.password_required]);
  if (!$("delete-confirm").checked) problems.push(["delete-confirm", t.delete_confirm_required]);
  if (reportInvalid(problems)) return;
  await withBusy(form.querySelector("button[type=submit]"), async () => {
    try {
      await api.delete("/me", { password, confirm: true });
      session.signOut();
      await forgetThisPhone();
      location.replace("/app/login?reason=deleted");
    } catch (error) {
      if (["password_incorrect", "invalid_credentials"].includes(error.code)) fieldError("delete-password", t.current_password_wrong).focus();
      else formError("delete-error", explain(error));
    }
  });
});

showPointsAtStake();

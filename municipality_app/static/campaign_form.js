// The campaign editor: one form for a new campaign and for changing one. Times are typed
// and shown in Brussels time; empty lists mean "no restriction", as in the API.

import { $, api, format, t, toast } from "./admin.js";
import { brusselsInputValue } from "./brussels.js";
import { FieldErrors, readInteger } from "./fields.js";

const form = $("camp-form");
const errors = new FieldErrors(form);
const LISTS = ["weekdays", "categories", "villages", "merchant_ids"];
let editing = null; // the campaign being changed, or null for a new one
let onSaved = () => {};

function checkbox(name, value, label) {
  const wrap = document.createElement("label");
  wrap.className = "check";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = name;
  input.value = value;
  wrap.append(input, ` ${label}`);
  return wrap;
}

// Villages and shops come from the API; they are added before each group's error slot.
export function fillChoices({ villages, merchants }) {
  const villageSet = $("c-villages");
  villages.forEach((v) => villageSet.insertBefore(checkbox("villages", v, v), villageSet.querySelector(".field-error")));
  const shopSet = $("c-merchants");
  merchants.forEach((m) => shopSet.insertBefore(checkbox("merchant_ids", m.id, `${m.name} (${m.village})`), shopSet.querySelector(".field-error")));
}

function syncKinds() {
  const fixed = form.elements.kind.value === "fixed";
  const welcome = form.elements.trigger.value === "signup";
  $("c-multiplier-row").hidden = fixed;
  $("c-fixed-row").hidden = !fixed;
  $("c-earn-only").hidden = welcome;
  $("c-welcome-hint").hidden = !welcome;
  // A welcome bonus is fixed points only; a saved campaign keeps its kind (the API
  // changes fields, it cannot swap a multiplier for fixed points).
  form.querySelectorAll("[name=kind]").forEach((input) => {
    input.disabled = Boolean(editing) || (welcome && input.value === "multiplier");
  });
  if (welcome && !fixed) { form.elements.kind.value = "fixed"; syncKinds(); }
}
form.addEventListener("change", (event) => { if (["kind", "trigger"].includes(event.target.name)) syncKinds(); });

const checked = (name) => [...form.querySelectorAll(`[name="${name}"]:checked`)].map((input) => input.value);

function setChecked(name, values) {
  const wanted = new Set((values || []).map(String));
  form.querySelectorAll(`[name="${name}"]`).forEach((input) => { input.checked = wanted.has(input.value); });
}

export function openEditor(campaign, saved) {
  editing = campaign;
  onSaved = saved;
  errors.clear();
  $("camp-form-error").textContent = "";
  form.reset();
  $("camp-form-heading").textContent = campaign ? format(t.camp_edit_heading, { name: campaign.name }) : t.camp_new;
  const c = campaign || {};
  form.elements.name.value = c.name || "";
  form.elements.description.value = c.description || "";
  form.elements.trigger.value = c.trigger || "earn";
  form.querySelectorAll("[name=trigger]").forEach((input) => { input.disabled = Boolean(campaign); });
  form.elements.kind.value = c.fixed_points ? "fixed" : "multiplier";
  form.elements.multiplier_percent.value = c.multiplier_percent || 200;
  form.elements.fixed_points.value = c.fixed_points || "";
  form.elements.starts_at.value = brusselsInputValue(c.starts_at || Date.now());
  form.elements.ends_at.value = c.ends_at ? brusselsInputValue(c.ends_at) : "";
  LISTS.forEach((name) => setChecked(name, c[name]));
  form.elements.first_purchase_only.checked = Boolean(c.first_purchase_only);
  form.elements.active.checked = campaign ? campaign.active : true;
  syncKinds();
  $("camp-editor").hidden = false;
  $("camp-form-heading").focus();
}

function closeEditor() {
  $("camp-editor").hidden = true;
  editing = null;
}
$("camp-cancel").addEventListener("click", closeEditor);

function read() {
  errors.clear();
  const fixed = form.elements.kind.value === "fixed";
  const welcome = form.elements.trigger.value === "signup";
  const name = form.elements.name.value.trim();
  if (name.length < 2) errors.set("name", t.field_required);
  const body = {
    name,
    description: form.elements.description.value.trim(),
    multiplier_percent: fixed ? null : readInteger(form.elements.multiplier_percent, errors),
    fixed_points: fixed ? readInteger(form.elements.fixed_points, errors) : null,
    starts_at: form.elements.starts_at.value || null,
    ends_at: form.elements.ends_at.value || null,
    weekdays: welcome ? [] : checked("weekdays").map(Number),
    categories: welcome ? [] : checked("categories"),
    villages: welcome ? [] : checked("villages"),
    merchant_ids: welcome ? [] : checked("merchant_ids").map(Number),
    first_purchase_only: !welcome && form.elements.first_purchase_only.checked,
    active: form.elements.active.checked,
  };
  if (!body.starts_at) errors.set("starts_at", t.field_required);
  if (!editing) body.trigger = form.elements.trigger.value;
  return errors.count ? null : body;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("camp-form-error").textContent = "";
  const body = read();
  if (!body) { $("camp-form-error").textContent = t.fix_fields; return; }
  try {
    const saved = editing ? await api.patch(`/campaigns/${editing.id}`, body) : await api.post("/campaigns", body);
    toast(editing ? t.camp_updated : t.camp_created);
    const wasNew = !editing;
    closeEditor();
    await onSaved(saved, wasNew);
  } catch (error) {
    $("camp-form-error").textContent = errors.fromApi(error);
  }
});

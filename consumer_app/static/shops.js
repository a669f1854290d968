// Participating shops with a search that waits for the typing to pause and says how
// many shops it found.
import { api, config, explain, format, t } from "./app.js";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 350;
const search = $("shop-search");
const village = $("shop-village");
let timer = null;
let latest = 0;

function words(prefix, code) {
  return t[`${prefix}_${code}`] || code;
}

function shopItem(shop) {
  const li = document.createElement("li");
  li.className = "shop";
  li.dataset.shopId = String(shop.id);
  const name = document.createElement("h2");
  name.className = "shop-name";
  name.textContent = shop.name;
  const kind = document.createElement("p");
  kind.className = "shop-kind";
  if (shop.shopping) {
    // Run or fun in words (and a shape), never by colour alone.
    const badge = document.createElement("span");
    badge.className = `badge shopping-${shop.shopping}`;
    badge.dataset.shopping = shop.shopping;
    badge.textContent = words("shopping", shop.shopping);
    kind.append(badge, " ");
  }
  if (shop.category && shop.category !== shop.shopping) kind.append(words("category", shop.category));
  const where = document.createElement("p");
  where.className = "shop-where";
  where.textContent = [shop.address, shop.village].filter(Boolean).join(", ");
  li.append(name, kind, where);
  return li;
}

function fillVillages(shops) {
  if (village.options.length > 1) return;
  const names = [...new Set(shops.map((shop) => shop.village).filter(Boolean))].sort();
  for (const name of names) village.append(new Option(name, name));
}

async function load() {
  const ticket = ++latest;
  const query = new URLSearchParams({ tenant: config.tenant });
  if (search.value.trim()) query.set("q", search.value.trim());
  if (village.value) query.set("village", village.value);
  $("shop-list").setAttribute("aria-busy", "true");
  try {
    const page = await api.get(`/shops?${query}`, { auth: false });
    if (ticket !== latest) return;  // a newer search is on its way
    const shops = page.items || [];
    if (!search.value.trim() && !village.value) fillVillages(shops);
    $("shop-list").replaceChildren(...shops.map(shopItem));
    $("shop-count").textContent = shops.length === 0 ? t.shops_none
      : format(shops.length === 1 ? t.shops_count_one : t.shops_count, { n: shops.length });
    $("shop-error").hidden = true;
  } catch (error) {
    if (ticket !== latest) return;
    $("shop-error").textContent = explain(error);
    $("shop-error").hidden = false;
  } finally {
    if (ticket === latest) $("shop-list").setAttribute("aria-busy", "false");
  }
}

search.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(load, DEBOUNCE_MS);
});
village.addEventListener("change", load);
$("shop-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  load();
});

load();

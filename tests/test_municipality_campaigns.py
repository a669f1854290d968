"""The rules and campaign screens of /municipality over HTTP (no browser): both pages in
three languages, in the navigation, without placeholders; their scripts served with every
import resolved; complete texts; and the API contract the scripts rely on (field names,
where validation errors land, Brussels times, funding once per key, the preview)."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import municipality_app
from backend.campaigns.schemas import CampaignFields, CampaignOut
from backend.tenants.schemas import TenantUpdate
from municipality_app.texts import TEXTS
from municipality_app.texts_campaigns import CAMPAIGN_TEXTS
from tests.fixtures.factories import World, new_key

API = "/api/v1"
APP_DIR = Path(municipality_app.__file__).resolve().parent
STATIC = APP_DIR / "static"
PAGES = {"/municipality/rules": ("rules", "rules-form"), "/municipality/campaigns": ("campaigns", "camp-table")}
SCRIPTS = ["rules.js", "campaigns.js", "campaign_form.js", "fields.js", "brussels.js"]
HTML_LANG = {"nl": "nl-BE", "fr": "fr-BE", "en": "en"}


@pytest.fixture(params=["nl", "fr", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("path", PAGES)
async def test_the_pages_render_in_each_language(client: httpx.AsyncClient, path: str, lang: str) -> None:
    page, own_test_id = PAGES[path]
    response = await client.get(path, params={"lang": lang})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    html = response.text
    texts = TEXTS[lang]
    assert f'<html lang="{HTML_LANG[lang]}">' in html
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert html_lib.unescape(title) == f"{texts[f'title_{page}']} · {texts['app_name']}"
    assert f'src="/municipality/static/{page}.js"' in html and f'data-testid="{own_test_id}"' in html
    assert 'href="/municipality/static/campaigns.css"' in html and 'href="/municipality/static/admin.css"' in html
    main = html_lib.unescape(_main(html))
    assert texts[f"title_{page}"] in main
    if lang != "nl":  # the page's own words are translated, not Dutch left behind
        assert TEXTS["nl"]["camp_preview_heading" if page == "campaigns" else "rules_save"] not in main
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate element ids"
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{target}"' in html, target
    for described in re.findall(r'aria-describedby="([^"]+)"', html):
        for target in described.split():
            assert f'id="{target}"' in html, target


async def test_both_pages_are_in_every_staff_page_navigation(client: httpx.AsyncClient) -> None:
    for path in ("/municipality/", "/municipality/merchants", "/municipality/audit", *PAGES):
        html = (await client.get(path, params={"lang": "fr"})).text
        assert re.search(r'<a href="/municipality/rules" data-testid="nav-rules"[^>]*>Règles</a>', html), path
        assert re.search(r'<a href="/municipality/campaigns" data-testid="nav-campaigns"[^>]*>Campagnes</a>', html), path
    assert 'data-testid="nav-rules"' not in (await client.get("/municipality/login")).text


async def test_no_placeholders_and_changes_are_for_administrators_only(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        main = _main((await client.get(path)).text)
        assert re.search(r"\b(todo|lorem|placeholder page|coming soon|not implemented|xxx)\b", main, re.IGNORECASE) is None
        assert main.count("<button") >= 1 and "<form" in main
        # Buttons that change something start hidden; admin.js reveals them for administrators.
        for tag in re.findall(r"<[^>]*\bdata-write\b[^>]*>", main):
            assert " hidden" in tag, tag
    rules = _main((await client.get("/municipality/rules")).text)
    # The rule fields stay disabled until the script knows the role (auditors: read-only).
    assert re.search(r'<fieldset id="rules-fields" disabled>', rules)
    assert "rules-fields\").disabled = !me.canWrite" in (STATIC / "rules.js").read_text()
    campaigns = _main((await client.get("/municipality/campaigns")).text)
    assert re.search(r'<button[^>]*id="camp-new"[^>]*data-write hidden', campaigns)
    assert "if (me.canWrite)" in (STATIC / "campaigns.js").read_text()


def _exports(source: str) -> set[str]:
    names = set(re.findall(r"export (?:async )?(?:function|class|const|let) ([\w$]+)", source))
    for group in re.findall(r"export \{([^}]+)\}", source):
        names.update(part.strip().split(" as ")[-1] for part in group.split(","))
    return names


async def test_scripts_are_served_and_every_import_resolves(client: httpx.AsyncClient) -> None:
    for name in [*SCRIPTS, "campaigns.css"]:
        response = await client.get(f"/municipality/static/{name}")
        assert response.status_code == 200, name
        assert ("css" if name.endswith(".css") else "javascript") in response.headers["content-type"]
    for name in SCRIPTS:
        source = (STATIC / name).read_text(encoding="utf-8")
        for group, target in re.findall(r'import \{([^}]+)\} from "([^"]+\.js)"', source):
            url = target if target.startswith("/") else f"/municipality/static/{target.removeprefix('./')}"
            served = await client.get(url)
            assert served.status_code == 200, f"{name} imports {target}"
            wanted = {part.strip() for part in group.split(",") if part.strip()}
            assert wanted <= _exports(served.text), f"{name}: {wanted - _exports(served.text)} not in {target}"
        assert not re.search(r'from\s+"https?://', source)


def _used_keys() -> set[str]:
    used: set[str] = set()
    for file in [*(STATIC / name for name in SCRIPTS), APP_DIR / "templates" / "rules.html", APP_DIR / "templates" / "campaigns.html"]:
        used.update(re.findall(r"\bt\.([a-z][a-z0-9_]*)", file.read_text(encoding="utf-8")))
    return used


def test_texts_are_complete_in_three_languages_and_clash_with_nothing() -> None:
    from municipality_app import texts as base

    keys = set(CAMPAIGN_TEXTS["nl"])
    for lang_code in ("nl", "fr", "en"):
        words = CAMPAIGN_TEXTS[lang_code]
        assert set(words) == keys and all(v.strip() for v in words.values()), lang_code
        for key, value in words.items():
            assert set(re.findall(r"\{(\w+)\}", value)) == set(re.findall(r"\{(\w+)\}", CAMPAIGN_TEXTS["nl"][key]))
            assert TEXTS[lang_code][key] == value, (lang_code, key)
    assert not keys & set(base._T), "a campaign text reuses a key of texts.py"
    assert _used_keys() <= set(TEXTS["nl"]) | {"points", "choose"}
    # Keys the scripts build at run time.
    statuses = CampaignOut.model_fields["status"].annotation.__args__
    dynamic = {f"camp_status_{s}" for s in statuses} | {f"day_{d}" for d in range(1, 8)}
    dynamic |= {"confirm_camp_stop", "confirm_camp_start", "error_invalid_campaign", "error_unknown_merchant"}
    assert dynamic <= keys


async def test_the_forms_name_the_api_fields_so_errors_land_next_to_them(client: httpx.AsyncClient) -> None:
    rules = (await client.get("/municipality/rules")).text
    for field in ("points_per_euro", "min_purchase_cents", "daily_cap_points", "points_expiry_days",
                  "hold_timeout_seconds", "point_value_cents"):
        assert field in TenantUpdate.model_fields
        assert f'name="{field}"' in rules and f'data-error-for="{field}"' in rules, field
    for category in ("bakery", "books", "services"):
        assert f'data-error-for="category_points_per_euro.{category}"' in rules
    campaigns = (await client.get("/municipality/campaigns")).text
    for field in ("name", "multiplier_percent", "fixed_points", "starts_at", "ends_at", "weekdays",
                  "categories", "villages", "merchant_ids"):
        assert field in CampaignFields.model_fields
        assert f'data-error-for="{field}"' in campaigns, field
    for field in ("first_purchase_only", "active", "trigger", "description"):
        assert f'name="{field}"' in campaigns, field


async def test_rule_errors_come_back_located_at_a_field_the_page_has(client: httpx.AsyncClient, world: World) -> None:
    rules = (await client.get("/municipality/rules")).text
    bad = {"points_per_euro": -1, "hold_timeout_seconds": 5, "category_points_per_euro": {"bakery": 20_000}}
    response = await client.patch(f"{API}/tenant", json=bad, headers=world.headers("admin"))
    assert response.status_code == 422 and response.json()["code"] == "validation_error"
    located = {".".join(str(p) for p in e["loc"] if p != "body") for e in response.json()["errors"]}
    assert located == {"points_per_euro", "hold_timeout_seconds", "category_points_per_euro.bakery"}
    for name in located:
        assert f'data-error-for="{name}"' in rules, name
    # What the page sends on save: only the changes; an empty cap field removes the cap.
    body = {"min_purchase_cents": 250, "daily_cap_points": None, "category_points_per_euro": {"bakery": 2}}
    saved = await client.patch(f"{API}/tenant", json=body, headers=world.headers("admin"))
    assert saved.status_code == 200, saved.text
    assert saved.json()["min_purchase_cents"] == 250 and saved.json()["category_points_per_euro"] == {"bakery": 2}
    assert (await client.patch(f"{API}/tenant", json=body, headers=world.headers("auditor"))).status_code == 403


async def test_a_campaign_as_the_screen_makes_it_funds_once_and_shows_in_the_preview(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = world.headers("admin")
    # datetime-local values, without an offset: Brussels time. 2026-12-05 is a Saturday.
    body = {"name": "Zaterdag dubbel", "description": "", "trigger": "earn", "multiplier_percent": 200,
            "fixed_points": None, "starts_at": "2026-12-01T00:00", "ends_at": "2027-01-01T00:00",
            "weekdays": [6], "categories": ["bakery"], "villages": [], "merchant_ids": [],
            "first_purchase_only": False, "active": True}
    created = await client.post(f"{API}/campaigns", json=body, headers=admin)
    assert created.status_code == 201, created.text
    campaign = created.json()
    starts = datetime.fromisoformat(campaign["starts_at"])
    assert starts == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # midnight in Brussels
    # The dialog's key is made once per intended top-up: a retry books nothing twice.
    key = {"Idempotency-Key": new_key("campaign-fund")}
    first = await client.post(f"{API}/campaigns/{campaign['id']}/fund", json={"points": 500}, headers={**admin, **key})
    again = await client.post(f"{API}/campaigns/{campaign['id']}/fund", json={"points": 500}, headers={**admin, **key})
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    detail = (await client.get(f"{API}/campaigns/{campaign['id']}", headers=world.headers("auditor"))).json()
    assert detail["budget"]["funded"] == 500 and detail["budget"]["left"] == 500

    preview = await client.post(
        f"{API}/campaigns/preview",
        json={"merchant_id": world.bakery.id, "purchase_cents": 2500, "at": "2026-12-05T10:00"},
        headers=world.headers("auditor"),
    )
    assert preview.status_code == 200, preview.text
    result = preview.json()
    [bonus] = result["bonuses"]
    assert bonus["campaign_name"] == "Zaterdag dubbel" and bonus["bonus_points"] == result["base_points"] > 0
    assert result["total_points"] == 2 * result["base_points"]
    sunday = await client.post(
        f"{API}/campaigns/preview",
        json={"merchant_id": world.bakery.id, "purchase_cents": 2500, "at": "2026-12-06T10:00"},
        headers=admin,
    )
    assert sunday.json()["bonuses"] == []


async def test_the_audit_page_day_filter_is_accepted_by_the_endpoint(client: httpx.AsyncClient, world: World) -> None:
    # audit.js sends the start of Brussels days as UTC instants with a Z, "to" exclusive.
    await client.patch(f"{API}/tenant", json={"points_per_euro": 3}, headers=world.headers("admin"))
    wide = {"from": "2000-01-01T23:00:00.000Z", "to": "2100-01-01T23:00:00.000Z", "q": "points_per_euro"}
    found = await client.get(f"{API}/audit", params=wide, headers=world.headers("auditor"))
    assert found.status_code == 200, found.text
    assert [e["action"] for e in found.json()["items"]] == ["tenant.update"]
    past = await client.get(f"{API}/audit", params={**wide, "to": "2001-01-01T23:00:00.000Z"}, headers=world.headers("auditor"))
    assert past.status_code == 200 and past.json()["items"] == []
    script = (STATIC / "audit.js").read_text()
    assert "brusselsDayStart(nextDay(" in script and "T23:59:59" not in script

"""The municipality's web app at /municipality over HTTP (no browser): every page in
three languages, no placeholders, static files and module imports, complete texts; and
the owner's set-password page the invitation e-mail links to."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import httpx
import pytest

import municipality_app
from municipality_app.routes import PAGES as ROUTES
from municipality_app.texts import TEXTS

APP_DIR = Path(municipality_app.__file__).resolve().parent
PAGES = {
    # path: (page name, a test id only that page has)
    "/municipality/": ("overview", "liability"),
    "/municipality/dashboard": ("dashboard", "figures"),
    "/municipality/merchants": ("merchants", "merchant-table"),
    "/municipality/users": ("users", "user-form"),
    "/municipality/cards": ("cards", "batch-form"),
    "/municipality/settlement": ("settlement", "close-form"),
    "/municipality/reconciliation": ("reconciliation", "recon-table"),
    "/municipality/rules": ("rules", "rules-form"),
    "/municipality/campaigns": ("campaigns", "camp-table"),
    "/municipality/audit": ("audit", "audit-table"),
    "/municipality/login": ("login", "login-submit"),
    "/municipality/apply": ("apply", "apply-form"),
}
HTML_LANG = {"nl": "nl-BE", "fr": "fr-BE", "en": "en"}


@pytest.fixture(params=["nl", "fr", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


def test_every_route_is_tested() -> None:
    assert {("/municipality" + path).rstrip("/") or "/" for path, _ in ROUTES.values()} == {
        path.rstrip("/") for path in PAGES
    } | {"/municipality"}


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders_in_each_language(client: httpx.AsyncClient, path: str, lang: str) -> None:
    page, own_test_id = PAGES[path]
    response = await client.get(path, params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert f'<html lang="{HTML_LANG[lang]}">' in html
    texts = TEXTS[lang]
    title = re.search(r"<title>(.*?)</title>", html).group(1)
    assert html_lib.unescape(title) == f"{texts[f'title_{page}']} · {texts['app_name']}"
    assert f'src="/municipality/static/{page}.js"' in html
    assert f'data-testid="{own_test_id}"' in html
    assert 'href="/municipality/static/admin.css"' in html
    assert '"app_name": "' + texts["app_name"] + '"' in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate element ids"
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{target}"' in html, f"label for a missing field: {target}"


async def test_public_pages_have_no_staff_navigation_and_staff_pages_do(client: httpx.AsyncClient) -> None:
    for path, (page, _) in PAGES.items():
        html = (await client.get(path)).text
        has_nav = 'data-testid="nav-merchants"' in html
        assert has_nav is (page not in {"login", "apply"}), path


async def test_change_controls_start_hidden_until_the_role_is_known(client: httpx.AsyncClient) -> None:
    # An auditor never sees them: admin.js reveals [data-write] only for administrators.
    for path in ("/municipality/users", "/municipality/cards", "/municipality/settlement"):
        html = (await client.get(path)).text
        for tag in re.findall(r"<[^>]*\bdata-write\b[^>]*>", html):
            assert " hidden" in tag, (path, tag)
    admin_js = (APP_DIR / "static" / "admin.js").read_text()
    assert 'me.role === "municipality_admin"' in admin_js


async def test_pages_are_not_placeholders(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        html = (await client.get(path)).text
        main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        assert re.search(r"\b(todo|lorem|placeholder page|coming soon|not implemented)\b", main, re.I) is None
        assert main.count("<button") >= 1 and main.count("<form") + main.count("<table") >= 1


async def test_the_apply_form_names_every_field_of_the_api(client: httpx.AsyncClient) -> None:
    html = (await client.get("/municipality/apply")).text
    for name in ("name", "category", "village", "address", "postcode", "vat_number", "iban",
                 "contact_name", "contact_email", "contact_phone", "language"):
        assert f'name="{name}"' in html, name
    assert 'autocomplete="email"' in html


def _module_files() -> list[Path]:
    return sorted((APP_DIR / "static").glob("*.js"))


async def test_static_scripts_and_styles_are_served(client: httpx.AsyncClient) -> None:
    assert len(_module_files()) >= len(PAGES)
    for file in _module_files():
        response = await client.get(f"/municipality/static/{file.name}")
        assert response.status_code == 200, file.name
        assert "javascript" in response.headers["content-type"]
    css = await client.get("/municipality/static/admin.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert (await client.get("/municipality/static/nothing-here.js")).status_code == 404


async def test_every_module_import_resolves_and_names_are_exported(client: httpx.AsyncClient) -> None:
    exports: dict[str, set[str]] = {}
    for file in _module_files():
        source = file.read_text(encoding="utf-8")
        names = set(re.findall(r"export (?:async )?(?:function|class|const|let) ([\w$]+)", source))
        for group in re.findall(r"export \{([^}]+)\}", source):
            names.update(part.strip().split(" as ")[-1] for part in group.split(","))
        exports[f"./{file.name}"] = names
    for file in _module_files():
        source = file.read_text(encoding="utf-8")
        for target in re.findall(r'(?:from|import)\s*\(?\s*"([^"]+\.js)"', source):
            url = target if target.startswith("/") else f"/municipality/static/{target.removeprefix('./')}"
            assert (await client.get(url)).status_code == 200, f"{file.name} imports {target}"
        for group, target in re.findall(r'import \{([^}]+)\} from "(\./[^"]+)"', source):
            wanted = {part.strip() for part in group.split(",") if part.strip()}
            assert wanted <= exports[target], f"{file.name}: {wanted - exports[target]} not in {target}"


def test_charts_are_our_own_svg_with_a_table_and_csv() -> None:
    charts = (APP_DIR / "static" / "charts.js").read_text()
    assert "http://www.w3.org/2000/svg" in charts and "dataTable" in charts and "text/csv" in charts
    assert not re.search(r'from\s+"https?://', charts)


def _used_text_keys() -> set[str]:
    used: set[str] = set()
    for file in [*_module_files(), *(APP_DIR / "templates").glob("*.html")]:
        used.update(re.findall(r"\bt\.([a-z][a-z0-9_]*)", file.read_text(encoding="utf-8")))
    return used


def test_three_languages_have_the_same_texts_and_every_used_text_exists() -> None:
    from web_common.texts import COMMON

    keys = set(TEXTS["nl"])
    for lang_code, texts in TEXTS.items():
        assert set(texts) == keys, lang_code
        assert all(value.strip() for value in texts.values()), lang_code
        for key, value in texts.items():
            assert set(re.findall(r"\{(\w+)\}", value)) == set(re.findall(r"\{(\w+)\}", TEXTS["nl"][key])), (lang_code, key)
    assert not _used_text_keys() - (keys | set(COMMON["nl"]))


def test_the_app_is_a_client_of_the_api_only() -> None:
    for file in APP_DIR.rglob("*.py"):
        source = file.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+backend\b", source, re.MULTILINE), file.name


async def test_the_invitation_link_opens_the_set_password_page(client: httpx.AsyncClient, lang: str) -> None:
    from merchant_app.texts import TEXTS as MERCHANT_TEXTS

    response = await client.get("/merchant/set-password", params={"token": "abc", "lang": lang})
    assert response.status_code == 200
    html = response.text
    assert 'data-testid="set-password-form"' in html and 'autocomplete="new-password"' in html
    assert 'src="/merchant/static/set-password.js"' in html
    assert MERCHANT_TEXTS[lang]["set_password_intro"].replace("'", "&#39;") in html
    assert 'data-testid="nav-earn"' not in html
    script = await client.get("/merchant/static/set-password.js")
    assert script.status_code == 200 and "/merchant-invitations/accept" in script.text

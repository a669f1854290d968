"""The shopper app at /app over HTTP: pages in three languages, PWA files, QR decoding.

Browser behaviour (camera, service worker at work, accessibility audit) lives in
tests/browser/; here every page, text and file the browser will ask for is checked.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import segno
from fastapi import FastAPI
from PIL import Image

import consumer_app
from consumer_app.decode import MAX_UPLOAD_BYTES
from consumer_app.pages import PAGES
from consumer_app.texts import TEXTS
from tests.fixtures.factories import World
from web_common.texts import COMMON

APP_DIR = Path(consumer_app.__file__).resolve().parent
HTML_LANG = {"nl": "nl-BE", "fr": "fr-BE", "en": "en"}
PAGE_PATHS = ["/app" + page.path for page in PAGES]
PLACEHOLDER = re.compile(r"\b(todo|fixme|lorem ipsum|coming soon|placeholder page|under construction)\b", re.IGNORECASE)


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # Its own cookie jar: a chosen language must not leak into other tests' requests.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _html_lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "no <html lang>"
    return match.group(1)


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
@pytest.mark.parametrize("path", PAGE_PATHS)
async def test_every_page_renders_in_each_language(client: httpx.AsyncClient, path: str, lang: str) -> None:
    response = await client.get(path, params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == HTML_LANG[lang]
    html = response.text
    assert _html_lang(html) == HTML_LANG[lang]
    name = next(page.name for page in PAGES if "/app" + page.path == path)
    assert f"<title>{TEXTS[lang]['title_' + name]}".replace("'", "&#39;") in html
    assert re.search(r"<h1[^>]*>[^<]+</h1>", html), "a page needs its own heading"
    assert f'src="/app/static/{name}.js?v=' in html
    assert 'href="/app/manifest.webmanifest"' in html
    assert not PLACEHOLDER.search(html)
    # The visible page has real content: more than the shared header and an empty form.
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.DOTALL)
    assert len(body.split()) >= 15


async def test_dutch_is_the_default_and_the_browser_or_cookie_can_change_it(client: httpx.AsyncClient) -> None:
    assert _html_lang((await client.get("/app/login")).text) == "nl-BE"
    french = await client.get("/app/login", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert _html_lang(french.text) == "fr-BE"
    chosen = await client.get("/app/login", params={"lang": "en"})
    assert "kp_lang=en" in chosen.headers["set-cookie"]
    client.cookies.set("kp_lang", "en")
    remembered = await client.get("/app/shops", headers={"Accept-Language": "fr"})
    assert _html_lang(remembered.text) == "en"


async def test_app_without_slash_goes_inside_the_service_worker_scope(client: httpx.AsyncClient) -> None:
    response = await client.get("/app", params={"lang": "fr"}, follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/app/?lang=fr"


def test_texts_are_complete_in_three_languages() -> None:
    keys = set(TEXTS["nl"])
    assert set(TEXTS["fr"]) == keys
    assert set(TEXTS["en"]) == keys
    for lang, table in TEXTS.items():
        for key, text in table.items():
            assert text.strip(), f"{lang}.{key} is empty"
            # The same placeholders in every language, or a page shows "{n}".
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", TEXTS["nl"][key])), key
    # A page shows French, not Dutch: translations are not copies (names and codes aside).
    copies = [k for k in keys if TEXTS["fr"][k] == TEXTS["nl"][k] and len(TEXTS["nl"][k]) > 12]
    assert copies == []


def test_every_text_a_page_or_script_uses_exists() -> None:
    used: set[str] = set()
    for path in [*APP_DIR.glob("templates/*.html"), *APP_DIR.glob("static/*.js")]:
        source = path.read_text()
        used |= set(re.findall(r"\bt\.([a-z_0-9]+)", source))
        used |= set(re.findall(r'\bt\["([a-z_0-9]+)"\]', source))
    used |= {f"title_{page.name}" for page in PAGES}
    used |= {f"nav_{name}" for name in ("wallet", "qr", "scan", "shops", "profile")}
    known = set(TEXTS["nl"]) | set(COMMON["nl"])
    assert used - known == set()
    for lang in ("fr", "en"):
        assert used - (set(TEXTS[lang]) | set(COMMON[lang])) == set()


async def test_scripts_and_their_imports_are_served(client: httpx.AsyncClient) -> None:
    seen: set[str] = set()
    queue = [f"/app/static/{page.name}.js" for page in PAGES]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "javascript" in response.headers["content-type"]
        for target in re.findall(r'from\s+"([^"]+)"', response.text):
            queue.append(target if target.startswith("/") else "/app/static/" + target.removeprefix("./"))
    assert "/static/common/api.js" in seen
    assert (await client.get("/app/static/app.css")).status_code == 200


async def test_key_elements_carry_stable_test_ids(client: httpx.AsyncClient) -> None:
    expected = {
        "/app/": ["balance", "balance-value", "history-list", "history-more", "verify-banner"],
        "/app/qr": ["qr-image", "short-code", "qr-countdown", "qr-announce", "qr-offline", "qr-balance"],
        "/app/scan": ["scan-input", "scan-submit", "camera-start", "claim-result", "scan-balance"],
        "/app/shops": ["shop-search", "shop-count", "shop-list"],
        "/app/cards": ["card-number", "card-pin", "card-submit", "card-result"],
        "/app/privacy": ["export-button", "delete-points", "delete-password", "delete-confirm", "delete-submit"],
        "/app/profile": ["profile-language", "profile-postcode", "password-submit"],
        "/app/login": ["login-email", "login-password", "login-submit"],
        "/app/signup": ["signup-email", "signup-password", "signup-first-name", "signup-language", "signup-consent"],
    }
    for path, ids in expected.items():
        html = (await client.get(path)).text
        for test_id in ids:
            assert f'data-testid="{test_id}"' in html, (path, test_id)


async def test_every_input_has_a_label(client: httpx.AsyncClient) -> None:
    for path in PAGE_PATHS:
        html = (await client.get(path)).text
        for match in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
            attributes = match.group(2)
            if 'type="checkbox"' in attributes:
                continue  # wrapped in its <label>
            input_id = re.search(r'id="([^"]+)"', attributes)
            assert input_id, (path, match.group(0))
            assert f'for="{input_id.group(1)}"' in html, (path, input_id.group(1))


async def test_signup_shows_the_consent_text_and_asks_explicitly(client: httpx.AsyncClient) -> None:
    html = (await client.get("/app/signup", params={"lang": "nl"})).text
    assert TEXTS["nl"]["consent_text"] in html
    checkbox = re.search(r'<input type="checkbox" id="signup-consent"[^>]*>', html)
    assert checkbox and "checked" not in checkbox.group(0)


async def test_manifest_makes_the_app_installable(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/manifest.webmanifest", params={"lang": "fr"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    for field in ("name", "short_name", "start_url", "scope", "display", "icons", "theme_color", "background_color"):
        assert manifest[field], field
    assert manifest["start_url"].startswith(manifest["scope"]) and manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "fr-BE"
    pngs = [icon for icon in manifest["icons"] if icon["type"] == "image/png"]
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in pngs}
    assert any(icon.get("purpose") == "maskable" for icon in pngs)
    for icon in manifest["icons"]:
        loaded = await client.get(icon["src"])
        assert loaded.status_code == 200, icon["src"]
        assert loaded.headers["content-type"].startswith(icon["type"])
        if icon["type"] == "image/png":
            with Image.open(io.BytesIO(loaded.content)) as image:
                assert image.format == "PNG"
                assert "x".join(map(str, image.size)) == icon["sizes"]
    assert (await client.get("/app/icons/icon-100.png")).status_code == 404


async def test_service_worker_is_served_for_the_app_scope(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/app/"
    assert "no-cache" in response.headers["cache-control"]
    source = response.text
    version = re.search(r'const VERSION = "([0-9a-f]+)"', source)
    assert version, "the cache is versioned"
    page = (await client.get("/app/")).text
    assert f"?v={version.group(1)}" in page, "pages and worker agree on the asset version"
    # Never anything but GET in a cache: claims and earns must reach the server.
    assert 'if (request.method !== "GET") return;' in source
    assert "/api/v1/me/wallet" in source
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))
    assert "/app/" in shell and "/app/qr" in shell
    assert not any("token=" in url or url.startswith("/api/") for url in shell)
    for url in shell:
        assert (await client.get(url)).status_code == 200, url


def _qr_png(text: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(text, micro=False, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


@pytest.fixture
def shopper(world: World) -> dict[str, str]:
    """The decoder takes a shopper's sign-in, like the rest of the app's API."""
    return world.headers("shopper")


async def test_decode_reads_a_qr_code_from_png_and_jpeg(client: httpx.AsyncClient, shopper: dict[str, str]) -> None:
    text = "KPK1:eyJjIjo0Mn0.c2lnbmF0dXJl"
    png = _qr_png(text)
    response = await client.post("/app/decode-qr", content=png, headers={**shopper, "Content-Type": "image/png"})
    assert response.status_code == 200
    assert response.json() == {"text": text}
    # As the scan page sends it: a JPEG of a camera frame with the code off-centre.
    frame = Image.new("RGB", (800, 600), (200, 190, 170))
    with Image.open(io.BytesIO(_qr_png(text, scale=6))) as code:
        frame.paste(code.convert("RGB"), (300, 120))
    jpeg = io.BytesIO()
    frame.save(jpeg, format="JPEG", quality=75)
    response = await client.post("/app/decode-qr", content=jpeg.getvalue(), headers={**shopper, "Content-Type": "image/jpeg"})
    assert response.status_code == 200
    assert response.json()["text"] == text


async def test_decode_refuses_junk_wrong_types_and_oversize(client: httpx.AsyncClient, shopper: dict[str, str]) -> None:
    blank = io.BytesIO()
    Image.new("L", (400, 300), 255).save(blank, format="PNG")
    cases = [
        (blank.getvalue(), "image/png", 422, "no_code_found"),
        (b"\x89PNG\r\n\x1a\n this is not an image", "image/png", 422, "no_code_found"),
        (_qr_png("KPK1:x"), "image/jpeg", 422, "no_code_found"),  # says JPEG, is PNG
        (_qr_png("KPK1:x"), "application/octet-stream", 415, "unsupported_media_type"),
        (b"<svg/>", "image/svg+xml", 415, "unsupported_media_type"),
        (b"\xff" * (MAX_UPLOAD_BYTES + 1), "image/jpeg", 413, "image_too_large"),
    ]
    for body, content_type, status, code in cases:
        response = await client.post("/app/decode-qr", content=body, headers={**shopper, "Content-Type": content_type})
        assert response.status_code == status, (content_type, status)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
    # Few bytes, many pixels: refused before decoding a decompression bomb.
    huge = io.BytesIO()
    Image.new("1", (5000, 5000), 1).save(huge, format="PNG")
    assert len(huge.getvalue()) < MAX_UPLOAD_BYTES
    response = await client.post("/app/decode-qr", content=huge.getvalue(), headers={**shopper, "Content-Type": "image/png"})
    assert response.status_code == 413
    assert (await client.get("/app/decode-qr")).status_code == 405


async def test_decode_needs_a_signed_in_shopper(client: httpx.AsyncClient, world: World) -> None:
    text = "KPK1:eyJjIjo0Mn0.c2lnbmF0dXJl"
    png = _qr_png(text)
    for headers in ({}, {"Authorization": "Bearer expired-or-forged"}):
        response = await client.post("/app/decode-qr", content=png, headers={**headers, "Content-Type": "image/png"})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
    for who in ("cashier", "admin"):
        response = await client.post("/app/decode-qr", content=png, headers={**world.headers(who), "Content-Type": "image/png"})
        assert response.status_code == 403, who
    response = await client.post("/app/decode-qr", content=png, headers={**world.headers("shopper"), "Content-Type": "image/png"})
    assert response.status_code == 200 and response.json() == {"text": text}


def test_the_app_is_a_client_of_the_api_not_of_backend_services() -> None:
    for path in APP_DIR.rglob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+backend\b", source, re.MULTILINE), path

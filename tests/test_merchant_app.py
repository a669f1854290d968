"""The cashier web app at /merchant over HTTP (no browser): pages in three languages,
their static files, complete texts, and the camera-frame QR decoder."""

from __future__ import annotations

import html as html_lib
import io
import re
from pathlib import Path

import httpx
import pytest
import segno
from PIL import Image

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import merchant_app
from backend.core.db import transaction
from merchant_app.decode import MAX_UPLOAD_BYTES
from merchant_app.texts import TEXTS
from tests.fixtures.auth import create_pos_key
from tests.fixtures.factories import World
from tests.fixtures.till import set_merchant_status

APP_DIR = Path(merchant_app.__file__).resolve().parent
PAGES = {
    # path: (page name, a test id only that page has)
    "/merchant/": ("earn", "confirm-button"),
    "/merchant/spend": ("spend", "capture-button"),
    "/merchant/claim": ("claim", "claim-qr"),
    "/merchant/today": ("today", "today-earns"),
    "/merchant/shop": ("shop", "pos-key-form"),
    "/merchant/login": ("login", "login-submit"),
}
HTML_LANG = {"nl": "nl-BE", "fr": "fr-BE", "en": "en"}
# Test ids the browser tests drive; renaming one breaks them.
STABLE_TEST_IDS = {
    "/merchant/": [
        "scanner-input",
        "scan-submit",
        "camera-button",
        "camera-panel",
        "amount-form",
        "amount-input",
        "key-0",
        "key-5",
        "key-9",
        "key-comma",
        "key-back",
        "confirm-button",
        "result-panel",
        "result-points",
        "result-capped",
        "new-sale-button",
        "undo-button",
        "shopper-name",
        "offline-badge",
        "queue-list",
        "queue-failed",
        "nav-spend",
        "nav-today",
    ],
    "/merchant/spend": [
        "scanner-input",
        "camera-button",
        "redeem-form",
        "available-points",
        "mode-points",
        "mode-euro",
        "redeem-amount",
        "pin-input",
        "pin-key-1",
        "redeem-confirm",
        "hold-panel",
        "hold-points",
        "redeem-discount",
        "hold-countdown",
        "capture-button",
        "void-button",
        "spend-result",
        "spend-result-detail",
    ],
    "/merchant/claim": ["claim-amount", "claim-confirm", "claim-qr", "claim-status"],
    "/merchant/today": ["today-totals", "total-earn-count", "today-earns", "today-redemptions"],
    "/merchant/shop": [
        "float-balance",
        "float-low",
        "staff-list",
        "staff-form",
        "pos-key-list",
        "pos-key-form",
        "pos-key-value",
        "pos-key-copy",
    ],
    "/merchant/login": [
        "login-email",
        "login-password",
        "login-tenant",
        "login-submit",
        "login-pos-key",
        "key-login-submit",
    ],
}


def qr_png(text: str, *, scale: int = 6) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


# ------------------------------------------------------------------------- pages


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders_in_each_language(
    client: httpx.AsyncClient, path: str, lang: str
) -> None:
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
    assert f'src="/merchant/static/{page}.js"' in html
    assert f'data-testid="{own_test_id}"' in html
    assert 'href="/static/common/base.css"' in html
    assert 'href="/merchant/static/merchant.css"' in html
    # The page's language's texts reach the scripts.
    assert '"app_name": "' + texts["app_name"] + '"' in html


@pytest.mark.parametrize("path", PAGES)
async def test_pages_carry_the_stable_test_ids(client: httpx.AsyncClient, path: str) -> None:
    html = (await client.get(path)).text
    missing = [tid for tid in STABLE_TEST_IDS[path] if f'data-testid="{tid}"' not in html]
    assert not missing
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate element ids"
    for target in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{target}"' in html, f"label for a missing field: {target}"


async def test_dutch_is_the_default_and_the_browser_or_cookie_choose_otherwise(
    client: httpx.AsyncClient,
) -> None:
    assert '<html lang="nl-BE">' in (await client.get("/merchant/")).text
    french = await client.get("/merchant/", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert '<html lang="fr-BE">' in french.text
    english = await client.get("/merchant/spend", headers={"Cookie": "kp_lang=en"})
    assert '<html lang="en">' in english.text
    assert "Pay with points" in english.text


async def test_bare_paths_lead_to_the_earn_page(client: httpx.AsyncClient) -> None:
    for path in ("/merchant", "/merchant/earn"):
        response = await client.get(path)
        assert response.status_code in (307, 308)
        assert response.headers["location"].endswith("/merchant/")


async def test_sign_in_page_offers_the_default_municipality(client: httpx.AsyncClient, app) -> None:
    html = (await client.get("/merchant/login")).text
    assert f'value="{app.state.settings.default_tenant}"' in html
    assert 'autocomplete="current-password"' in html


async def test_pages_are_not_placeholders(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        html = (await client.get(path)).text
        main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        assert (
            re.search(
                r"\b(todo|lorem|placeholder page|coming soon|not implemented)\b",
                main,
                re.IGNORECASE,
            )
            is None
        )
        assert main.count("<button") >= 1 and main.count("<form") + main.count("<ul") >= 1


# ------------------------------------------------------------------ static files


def _module_files() -> list[Path]:
    return sorted((APP_DIR / "static").glob("*.js"))


async def test_static_scripts_and_styles_are_served(client: httpx.AsyncClient) -> None:
    assert _module_files()
    for file in _module_files():
        response = await client.get(f"/merchant/static/{file.name}")
        assert response.status_code == 200, file.name
        assert "javascript" in response.headers["content-type"]
    css = await client.get("/merchant/static/merchant.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    common = await client.get("/static/common/api.js")
    assert common.status_code == 200
    assert (await client.get("/merchant/static/nothing-here.js")).status_code == 404


async def test_every_module_import_resolves(client: httpx.AsyncClient) -> None:
    for file in _module_files():
        source = file.read_text(encoding="utf-8")
        for target in re.findall(r'(?:from|import)\s*\(?\s*"([^"]+\.js)"', source):
            url = (
                target
                if target.startswith("/")
                else f"/merchant/static/{target.removeprefix('./')}"
            )
            assert (await client.get(url)).status_code == 200, f"{file.name} imports {target}"


async def test_imported_names_are_exported() -> None:
    exports: dict[str, set[str]] = {}
    for file in _module_files():
        source = file.read_text(encoding="utf-8")
        names = set(re.findall(r"export (?:async )?(?:function|class|const|let) ([\w$]+)", source))
        for group in re.findall(r"export \{([^}]+)\}", source):
            names.update(part.strip().split(" as ")[-1] for part in group.split(","))
        exports[f"./{file.name}"] = names
    for file in _module_files():
        source = file.read_text(encoding="utf-8")
        for group, target in re.findall(r'import \{([^}]+)\} from "(\./[^"]+)"', source):
            wanted = {part.strip() for part in group.split(",") if part.strip()}
            assert wanted <= exports[target], (
                f"{file.name}: {wanted - exports[target]} not in {target}"
            )


# ------------------------------------------------------------------------ texts


def _used_text_keys() -> set[str]:
    used: set[str] = set()
    for file in _module_files():
        used.update(re.findall(r"\bt\.([a-z][a-z0-9_]*)", file.read_text(encoding="utf-8")))
    for file in (APP_DIR / "templates").glob("*.html"):
        used.update(re.findall(r"\bt\.([a-z][a-z0-9_]*)", file.read_text(encoding="utf-8")))
    return used


def test_three_languages_have_the_same_texts() -> None:
    assert set(TEXTS) == {"nl", "fr", "en"}
    keys = set(TEXTS["nl"])
    for lang, texts in TEXTS.items():
        assert set(texts) == keys, lang
        assert all(value.strip() for value in texts.values()), lang
        for key, value in texts.items():
            assert set(re.findall(r"\{(\w+)\}", value)) == set(
                re.findall(r"\{(\w+)\}", TEXTS["nl"][key])
            ), (lang, key)


def test_every_text_a_page_uses_exists() -> None:
    from web_common.texts import COMMON

    known = set(TEXTS["nl"]) | set(COMMON["nl"])
    missing = _used_text_keys() - known
    assert not missing
    for page, _ in PAGES.values():
        assert f"title_{page}" in known
        if page != "login":
            assert f"nav_{page}" in known


def test_every_problem_of_the_till_contract_is_explained() -> None:
    contract = (
        Path(merchant_app.__file__).resolve().parents[1] / "docs" / "till-and-wallet-api.md"
    ).read_text()
    errors_line = contract.split("Errors include", 1)[1].split("\n\n", 1)[0]
    # `attempts_left` and `locked_until` are fields of problems, not codes.
    codes = set(re.findall(r"`([a-z_]+)`", errors_line)) - {"attempts_left", "locked_until"}
    assert {"token_expired", "card_pin_wrong", "daily_cap_reached"} <= codes
    for lang, texts in TEXTS.items():
        assert not {f"error_{code}" for code in codes} - set(texts), lang


def test_the_app_is_a_client_of_the_api_only() -> None:
    for file in APP_DIR.rglob("*.py"):
        source = file.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+backend\b", source, re.MULTILINE), file.name


# ------------------------------------------------------------------- QR decoder


@pytest.fixture
def staff(world: World) -> dict[str, str]:
    """The decoder takes the till's sign-in, like the API it sits next to."""
    return world.headers("cashier")


async def test_decoder_reads_a_qr_png(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    text = "KPW1:eyJhbGciOiJIUzI1NiJ9.test-token.signature"
    response = await client.post(
        "/merchant/decode-qr", content=qr_png(text), headers={**staff, "Content-Type": "image/png"}
    )
    assert response.status_code == 200
    assert response.json() == {"text": text}


async def test_decoder_reads_a_downscaled_jpeg_camera_frame(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    # What the page sends: the QR somewhere in a grey 640x480 frame, JPEG-compressed.
    code = Image.open(io.BytesIO(qr_png("KPC1:2000000000018", scale=5))).convert("RGB")
    frame = Image.new("RGB", (640, 480), (128, 128, 128))
    frame.paste(code, (200, 100))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=75)
    response = await client.post(
        "/merchant/decode-qr", content=buffer.getvalue(), headers={**staff, "Content-Type": "image/jpeg"}
    )
    assert response.status_code == 200
    assert response.json() == {"text": "KPC1:2000000000018"}


async def test_decoder_answers_null_for_a_frame_without_a_code(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (240, 240, 240)).save(buffer, format="JPEG")
    response = await client.post(
        "/merchant/decode-qr", content=buffer.getvalue(), headers={**staff, "Content-Type": "image/jpeg"}
    )
    assert response.status_code == 200
    assert response.json() == {"text": None}


async def test_decoder_rejects_junk(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    for body in (b"not a picture at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b""):
        response = await client.post(
            "/merchant/decode-qr", content=body, headers={**staff, "Content-Type": "image/png"}
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "image_unreadable"


async def test_decoder_takes_images_only(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    png = qr_png("KPW1:x")
    for content_type in ("text/plain", "application/octet-stream", "image/svg+xml"):
        response = await client.post(
            "/merchant/decode-qr", content=png, headers={**staff, "Content-Type": content_type}
        )
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"
    assert (await client.post("/merchant/decode-qr", content=png, headers=staff)).status_code == 415


async def test_decoder_refuses_oversize_uploads(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    big = b"\xff\xd8" + b"\x00" * MAX_UPLOAD_BYTES
    response = await client.post(
        "/merchant/decode-qr", content=big, headers={**staff, "Content-Type": "image/jpeg"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    async def chunks():
        # No Content-Length: the limit holds while reading the stream.
        for _ in range(4):
            yield b"\x00" * (MAX_UPLOAD_BYTES // 3)

    streamed = await client.post(
        "/merchant/decode-qr", content=chunks(), headers={**staff, "Content-Type": "image/jpeg"}
    )
    assert streamed.status_code == 413


async def test_decoder_refuses_a_decompression_bomb(client: httpx.AsyncClient, staff: dict[str, str]) -> None:
    # A small PNG that would unpack to 16k x 16k pixels.
    buffer = io.BytesIO()
    Image.new("1", (16_000, 16_000), 1).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < MAX_UPLOAD_BYTES
    response = await client.post(
        "/merchant/decode-qr", content=buffer.getvalue(), headers={**staff, "Content-Type": "image/png"}
    )
    assert response.status_code == 422


async def test_decoder_needs_the_tills_sign_in(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    text = "KPW1:eyJhbGciOiJIUzI1NiJ9.signed-in.signature"
    png = {"content": qr_png(text)}
    image = {"Content-Type": "image/png"}
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "kp_pos_nonsense"}):
        response = await client.post("/merchant/decode-qr", **png, headers={**headers, **image})
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    for who in ("shopper", "admin"):
        response = await client.post("/merchant/decode-qr", **png, headers={**world.headers(who), **image})
        assert response.status_code == 403, who
    async with transaction(sessionmaker) as session:
        _, raw_key = await create_pos_key(
            session, tenant_id=world.tenant.id, merchant_id=world.bakery.id, commit=False
        )
    for headers in (world.headers("cashier"), world.headers("owner"), {"X-API-Key": raw_key}):
        response = await client.post("/merchant/decode-qr", **png, headers={**headers, **image})
        assert response.status_code == 200 and response.json() == {"text": text}
    await set_merchant_status(sessionmaker, world.bakery.id, "suspended")
    response = await client.post("/merchant/decode-qr", **png, headers={**world.headers("cashier"), **image})
    assert response.status_code == 403 and response.json()["code"] == "merchant_suspended"

"""The HTML pages of the shopper app; each is a shell whose ES module calls the API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import web_common
from consumer_app.texts import TEXTS
from web_common import LANGUAGE_COOKIE, negotiate_language, templates_for
from web_common.texts import texts

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = templates_for(HERE / "templates")

router = APIRouter(prefix="/app", include_in_schema=False)


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    signed_in: bool  # the page sends a signed-out visitor to the sign-in page
    nav: bool = True  # shows the bottom navigation
    offline: bool = True  # part of the shell the service worker keeps for offline use


PAGES = (
    Page("wallet", "/", signed_in=True),
    Page("qr", "/qr", signed_in=True),
    Page("scan", "/scan", signed_in=True),
    Page("shops", "/shops", signed_in=False),
    Page("profile", "/profile", signed_in=True),
    Page("cards", "/cards", signed_in=True),
    Page("privacy", "/privacy", signed_in=True),
    Page("login", "/login", signed_in=False, nav=False),
    Page("signup", "/signup", signed_in=False, nav=False),
    Page("forgot", "/forgot", signed_in=False, nav=False),
    Page("verify", "/verify", signed_in=False, nav=False, offline=False),
    Page("reset", "/reset", signed_in=False, nav=False, offline=False),
)

# The bottom navigation, in order: (page name, text key).
NAV = (
    ("wallet", "nav_wallet"),
    ("qr", "nav_qr"),
    ("scan", "nav_scan"),
    ("shops", "nav_shops"),
    ("profile", "nav_profile"),
)


@lru_cache(maxsize=1)
def asset_version() -> str:
    """Changes whenever a static file changes: busts caches and names the SW cache."""
    digest = hashlib.sha256()
    for directory in (STATIC_DIR, Path(web_common.__file__).resolve().parent / "static"):
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    digest.update((HERE / "templates" / "sw.js").read_bytes())
    return digest.hexdigest()[:12]


def page_url(page: Page) -> str:
    return "/app" + page.path


def shell_urls() -> list[str]:
    """What the service worker stores at install so the app opens offline."""
    version = asset_version()
    urls = [page_url(page) for page in PAGES if page.offline]
    urls += [f"/static/common/{name}" for name in ("base.css", "api.js")]
    for path in sorted(STATIC_DIR.iterdir()):
        if path.suffix in {".js", ".css"}:
            # Pages ask for ?v=; modules import each other without it.
            urls += [f"/app/static/{path.name}?v={version}", f"/app/static/{path.name}"]
    urls += ["/app/manifest.webmanifest", "/app/icons/icon-192.png"]
    return urls


def render(request: Request, page: Page) -> HTMLResponse:
    lang = negotiate_language(request)
    settings = request.app.state.settings
    response = templates.TemplateResponse(
        request,
        f"{page.name}.html",
        {
            "lang": lang,
            "t": texts(lang, TEXTS),
            "page": page,
            "nav": NAV if page.nav else (),
            "version": asset_version(),
            "tenant": settings.default_tenant,
        },
        headers={"Content-Language": web_common.HTML_LANG[lang], "Cache-Control": "no-cache"},
    )
    if request.query_params.get("lang") == lang:
        # A chosen language sticks, also for visitors without JavaScript.
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=31_536_000, samesite="lax", path="/")
    return response


def _add_page_route(page: Page) -> None:
    async def show(request: Request) -> Response:
        return render(request, page)

    show.__name__ = f"page_{page.name}"
    router.add_api_route(page.path, show, methods=["GET"], response_class=HTMLResponse)


for _page in PAGES:
    _add_page_route(_page)


@router.get("", response_class=RedirectResponse)
async def app_root(request: Request) -> RedirectResponse:
    # The service worker's scope is /app/, which /app itself is not inside.
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/app/{query}", status_code=308)

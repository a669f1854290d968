"""What the web apps share: templates, language negotiation, the API client, base styles.

The apps (``consumer_app`` at /app, ``merchant_app`` at /merchant) are server-rendered
shells whose pages call the JSON API from the browser; nothing here imports backend
services. Each app calls ``install_common(app)`` once, which serves these files under
``/static/common``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

HERE = Path(__file__).resolve().parent
LANGUAGES = ("nl", "fr", "en")
HTML_LANG = {"nl": "nl-BE", "fr": "fr-BE", "en": "en"}
LANGUAGE_COOKIE = "kp_lang"


def templates_for(app_templates: Path) -> Jinja2Templates:
    """Templates of one app, falling back to the shared base templates."""
    templates = Jinja2Templates(directory=str(app_templates))
    templates.env.loader = ChoiceLoader(
        [FileSystemLoader(str(app_templates)), FileSystemLoader(str(HERE / "templates"))]
    )
    templates.env.globals["html_lang"] = HTML_LANG
    templates.env.globals["languages"] = LANGUAGES
    return templates


def negotiate_language(request: Request) -> str:
    """?lang=, then the cookie the language switch sets, then Accept-Language; Dutch by default."""
    wanted = request.query_params.get("lang")
    if wanted in LANGUAGES:
        return wanted
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    for part in request.headers.get("accept-language", "").lower().split(","):
        code = part.split(";")[0].strip()[:2]
        if code in LANGUAGES:
            return code
    return "nl"


def render_shell(
    templates: Jinja2Templates,
    request: Request,
    *,
    template: str,
    app_texts: dict[str, dict[str, str]],
    context: dict[str, Any],
) -> HTMLResponse:
    """A staff app's page shell in the negotiated language, never served from a cache.

    Pages hold no data (the browser fetches it), but a shared till or office computer
    must not show the previous user's screen from the cache after sign-out.
    """
    from web_common.texts import texts

    lang = negotiate_language(request)
    settings = getattr(request.app.state, "settings", None)
    full_context = {
        "lang": lang,
        "t": texts(lang, app_texts),
        "default_tenant": getattr(settings, "default_tenant", ""),
        **context,
    }
    response = templates.TemplateResponse(request, template, full_context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = HTML_LANG[lang]
    return response


def require_sign_in(*roles: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency for an app's own endpoint: the caller must be signed in to the API
    (bearer token or POS key) with one of ``roles``. The check itself belongs to the
    backend, which puts it on ``app.state``; without it every request is refused."""
    allowed = frozenset(roles)

    async def signed_in(request: Request) -> Any:
        authenticate = getattr(request.app.state, "authenticate_web_request", None)
        if authenticate is None:
            raise HTTPException(status_code=401, detail="Sign-in is not available here.")
        return await authenticate(request, roles=allowed)

    return signed_in


def install_common(app: FastAPI) -> None:
    if getattr(app.state, "web_common_installed", False):
        return
    app.mount("/static/common", StaticFiles(directory=str(HERE / "static")), name="common-static")
    app.state.web_common_installed = True

"""What makes /app installable: the web manifest, the service worker and the icons.

The icons are drawn here (Pillow for PNG, the same shapes as SVG) so no binary file
lives in the repository. The service worker is served from /app/sw.js, so its scope is
/app/, and carries the asset version in its cache name.
"""

from __future__ import annotations

import io
from functools import lru_cache

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image, ImageDraw

from consumer_app.pages import asset_version, shell_urls, templates
from consumer_app.texts import TEXTS
from web_common import HTML_LANG, negotiate_language
from web_common.texts import texts

router = APIRouter(prefix="/app", include_in_schema=False)

THEME = "#0b4f3c"
BACKGROUND = "#f3f5f7"
ICON_SIZES = (192, 512)

# The icon on a 100 x 100 grid: a white coin with a green K on the theme colour.
COIN = (50, 50, 36)
K_SHAPES = (
    ((34, 28), (44, 28), (44, 72), (34, 72)),
    ((44, 49), (60, 28), (72, 28), (51, 55)),
    ((49, 47), (72, 72), (60, 72), (44, 56)),
)


def icon_svg(*, maskable: bool = False) -> str:
    radius = 0 if maskable else 18
    arms = "".join(
        f'<polygon points="{" ".join(f"{x},{y}" for x, y in shape)}" fill="{THEME}"/>'
        for shape in K_SHAPES
    )
    cx, cy, r = COIN
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" rx="{radius}" fill="{THEME}"/>'
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#ffffff"/>{arms}</svg>'
    )


@lru_cache(maxsize=8)
def icon_png(size: int, maskable: bool = False) -> bytes:
    scale = size * 4 / 100  # drawn four times larger, then scaled down for smooth edges
    big = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    radius = 0 if maskable else round(18 * scale)
    draw.rounded_rectangle((0, 0, size * 4 - 1, size * 4 - 1), radius=radius, fill=THEME)
    cx, cy, r = COIN
    draw.ellipse(((cx - r) * scale, (cy - r) * scale, (cx + r) * scale, (cy + r) * scale), fill="#ffffff")
    for shape in K_SHAPES:
        draw.polygon([(x * scale, y * scale) for x, y in shape], fill=THEME)
    out = io.BytesIO()
    big.resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


_LONG_CACHE = {"Cache-Control": "public, max-age=86400"}


@router.get("/icons/icon-{size}.png")
async def icon(size: int) -> Response:
    if size not in ICON_SIZES:
        raise HTTPException(status_code=404)
    return Response(icon_png(size), media_type="image/png", headers=_LONG_CACHE)


@router.get("/icons/maskable-512.png")
async def maskable_icon() -> Response:
    return Response(icon_png(512, maskable=True), media_type="image/png", headers=_LONG_CACHE)


@router.get("/icons/icon.svg")
async def svg_icon() -> Response:
    return Response(icon_svg(), media_type="image/svg+xml", headers=_LONG_CACHE)


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> JSONResponse:
    lang = negotiate_language(request)
    t = texts(lang, TEXTS)
    body = {
        "id": "/app/",
        "name": t["app_name"],
        "short_name": "Kernpunt",
        "description": t["app_description"],
        "lang": HTML_LANG[lang],
        "start_url": "/app/",
        "scope": "/app/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND,
        "theme_color": THEME,
        "icons": [
            *(
                {"src": f"/app/icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
                for size in ICON_SIZES
            ),
            {"src": "/app/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": "/app/icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
        "shortcuts": [
            {"name": t["nav_qr"], "url": "/app/qr", "icons": [{"src": "/app/icons/icon-192.png", "sizes": "192x192"}]},
            {"name": t["nav_scan"], "url": "/app/scan", "icons": [{"src": "/app/icons/icon-192.png", "sizes": "192x192"}]},
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


@router.get("/sw.js")
async def service_worker(request: Request) -> Response:
    source = templates.get_template("sw.js").render(version=asset_version(), shell=shell_urls())
    return Response(
        source,
        media_type="text/javascript; charset=utf-8",
        headers={"Service-Worker-Allowed": "/app/", "Cache-Control": "no-cache"},
    )

"""The cashier app's pages and its frame decoder."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from merchant_app import HERE, PREFIX
from merchant_app.decode import IMAGE_TYPES, MAX_UPLOAD_BYTES, Busy, NotAnImage, decode_qr
from merchant_app.texts import TEXTS
from web_common import render_shell, require_sign_in, templates_for

router = APIRouter(include_in_schema=False)
templates = templates_for(HERE / "templates")

# name -> (path, template); the order is the order of the navigation.
PAGES: dict[str, tuple[str, str]] = {
    "earn": ("/", "earn.html"),
    "spend": ("/spend", "spend.html"),
    "claim": ("/claim", "claim.html"),
    "today": ("/today", "today.html"),
    "shop": ("/shop", "shop.html"),
    "insight": ("/insight", "insight.html"),
    "login": ("/login", "login.html"),
    # The new owner's invitation link from the municipality's approval e-mail.
    "set-password": ("/set-password", "set_password.html"),
}
OUTSIDE_NAV = {"login", "set-password"}


def _render(request: Request, page: str) -> HTMLResponse:
    return render_shell(
        templates,
        request,
        template=PAGES[page][1],
        app_texts=TEXTS,
        context={
            "page": page,
            "prefix": PREFIX,
            "nav": [(name, PREFIX + path) for name, (path, _) in PAGES.items() if name not in OUTSIDE_NAV],
            "outside_nav": page in OUTSIDE_NAV,
        },
    )


def _page(name: str):
    async def show(request: Request) -> HTMLResponse:
        return _render(request, name)

    show.__name__ = f"page_{name}"
    return show


for _name, (_path, _template) in PAGES.items():
    router.add_api_route(_path, _page(_name), methods=["GET"], response_class=HTMLResponse)


@router.get("/earn")
async def earn_alias() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


def _problem(status: int, code: str, title: str) -> JSONResponse:
    return JSONResponse(
        {
            "type": f"https://kernpunt.be/problems/{code}",
            "title": title,
            "status": status,
            "code": code,
        },
        status_code=status,
        media_type="application/problem+json",
    )


# The same sign-in as the till API: decoding costs CPU, so only the shop's staff (or its
# till key) may send frames; a shop that is not active is refused like everywhere else.
TILL_STAFF = require_sign_in("cashier", "merchant_owner")


@router.post("/decode-qr", dependencies=[Depends(TILL_STAFF)])
async def decode_frame(request: Request) -> Response:
    """The text of the QR code in one camera frame (the raw image is the body).

    ``{"text": "..."}`` when a code was found, ``{"text": null}`` when not (the page
    sends the next frame).
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        return _problem(415, "unsupported_media_type", "Send a JPEG, PNG, WebP, GIF or BMP picture")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPLOAD_BYTES):
        return _problem(413, "payload_too_large", "A frame may be at most 1.5 MB")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPLOAD_BYTES:
            return _problem(413, "payload_too_large", "A frame may be at most 1.5 MB")
    if not body:
        return _problem(422, "image_unreadable", "The picture is empty")
    try:
        text = await run_in_threadpool(decode_qr, bytes(body))
    except NotAnImage:
        return _problem(422, "image_unreadable", "This is not a picture we can read")
    except Busy:
        return _problem(503, "service_busy", "Decoding other frames; send the next one")
    return JSONResponse({"text": text}, headers={"Cache-Control": "no-store"})

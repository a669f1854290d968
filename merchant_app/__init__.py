"""The cashier web app at /merchant: earn, spend, claim codes, today's sales, the shop.

Server-rendered shells in three languages; the pages talk to the JSON API from the
browser, so nothing here imports backend services. The one server-side job of its own
is decoding camera frames for browsers without ``BarcodeDetector`` (``/merchant/decode-qr``,
for signed-in staff only: the sign-in check comes from the backend through ``web_common``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import web_common

HERE = Path(__file__).resolve().parent
PREFIX = "/merchant"


def install(app: FastAPI) -> None:
    from merchant_app.routes import router

    web_common.install_common(app)
    app.mount(
        f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="merchant-static"
    )
    app.include_router(router, prefix=PREFIX)

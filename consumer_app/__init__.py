"""The shopper web app at /app: wallet, "Mijn QR", claim-code scanning, shops, privacy.

Server-rendered page shells in nl/fr/en whose ES modules call the JSON API under
/api/v1 from the browser; this package never imports backend services. It adds one
endpoint of its own, ``POST /app/decode-qr``, because Chromium on Linux has no
BarcodeDetector and the camera frames need decoding somewhere.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import web_common
from consumer_app.decode import router as decode_router
from consumer_app.pages import STATIC_DIR
from consumer_app.pages import router as pages_router
from consumer_app.pwa import router as pwa_router

__all__ = ["install"]


def install(app: FastAPI) -> None:
    web_common.install_common(app)
    # Mounted before the page routes so /app/static/* never reaches a page handler.
    app.mount("/app/static", StaticFiles(directory=str(STATIC_DIR)), name="consumer-static")
    app.include_router(pwa_router)
    app.include_router(decode_router)
    app.include_router(pages_router)

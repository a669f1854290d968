"""The municipality's web app at /municipality: shops and applications, users, cards,
settlement, reconciliation, the audit log, an overview, and the public application form.

Server-rendered shells in three languages; the pages call the JSON API from the
browser, so nothing here imports backend services. Charts are SVG drawn by our own
small module (static/charts.js), each with a table alternative and a CSV export.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import web_common

HERE = Path(__file__).resolve().parent
PREFIX = "/municipality"


def install(app: FastAPI) -> None:
    from municipality_app.routes import router

    web_common.install_common(app)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="municipality-static")
    app.include_router(router, prefix=PREFIX)

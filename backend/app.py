"""The FastAPI application: API under /api/v1, health probes, the web apps."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from backend.config import Settings, get_settings
from backend.core.db import create_engine, make_sessionmaker
from backend.core.errors import install_error_handlers
from backend.core.logging import RequestIdMiddleware, configure_logging

logger = logging.getLogger("kernpunt")

API_PREFIX = "/api/v1"


def _include_routers(app: FastAPI) -> None:
    # Imported here so importing backend.app stays cheap for the CLI.
    from backend.audit.router import router as audit_router
    from backend.auth.router import router as auth_router
    from backend.campaigns.router import router as campaigns_router
    from backend.cards.router import router as cards_router
    from backend.health import router as health_router
    from backend.ledger.router import router as ledger_router
    from backend.merchants.router import router as merchants_router
    from backend.notifications.router import router as outbox_router
    from backend.payments.router import router as payments_router
    from backend.reports.insight_router import router as insight_router
    from backend.reports.router import router as reports_router
    from backend.settlement.router import router as settlement_router
    from backend.tenants.router import router as tenants_router
    from backend.till.router import router as till_router
    from backend.wallets.account_router import router as shopper_account_router
    from backend.wallets.router import router as wallet_router
    from backend.welcome import router as welcome_router

    app.include_router(health_router)
    app.include_router(welcome_router)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(tenants_router, prefix=API_PREFIX)
    app.include_router(ledger_router, prefix=API_PREFIX)
    app.include_router(cards_router, prefix=API_PREFIX)
    app.include_router(till_router, prefix=API_PREFIX)
    app.include_router(shopper_account_router, prefix=API_PREFIX)
    app.include_router(wallet_router, prefix=API_PREFIX)
    app.include_router(outbox_router, prefix=API_PREFIX)
    app.include_router(payments_router, prefix=API_PREFIX)
    app.include_router(settlement_router, prefix=API_PREFIX)
    app.include_router(campaigns_router, prefix=API_PREFIX)
    app.include_router(audit_router, prefix=API_PREFIX)
    app.include_router(reports_router, prefix=API_PREFIX)
    app.include_router(insight_router, prefix=API_PREFIX)
    app.include_router(merchants_router, prefix=API_PREFIX)


def _install_web_apps(app: FastAPI, names: tuple[str, ...]) -> None:
    """Mount the web apps named in settings; backend never imports them directly."""
    import importlib

    from backend.auth.deps import authenticate_web_request

    # How an app's own endpoint checks the caller's sign-in (web_common.require_sign_in).
    app.state.authenticate_web_request = authenticate_web_request
    for name in names:
        module = importlib.import_module(name)
        install = getattr(module, "install", None)
        if install is None:
            logger.debug("web app %s has nothing to install yet", name)
            continue
        install(app)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size, echo=settings.database_echo)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        if engine.dialect.name == "sqlite":
            # Readers need no write lock: a second engine whose transactions BEGIN DEFERRED.
            read_engine = create_engine(settings.database_url, sqlite_write_lock=False)
            app.state.read_engine = read_engine
            app.state.read_sessionmaker = make_sessionmaker(read_engine)
        else:
            app.state.read_engine = engine
            app.state.read_sessionmaker = app.state.sessionmaker
        # Everything loaded so far lives as long as the process: keep it out of the
        # cyclic GC, whose full collections would otherwise walk every SQLAlchemy and
        # FastAPI object and show up as 100 ms pauses in the tail latency.
        gc.collect()
        gc.freeze()
        # A request allocates thousands of short-lived objects; collecting the young
        # generation every 700 allocations costs more than it frees.
        gc.set_threshold(20_000, 20, 50)
        background: list[asyncio.Task[None]] = []
        if settings.scheduler_enabled:
            from backend.jobs import run_scheduler

            background.append(asyncio.create_task(run_scheduler(app.state.sessionmaker, settings)))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
            if app.state.read_engine is not engine:
                await app.state.read_engine.dispose()
            await engine.dispose()

    app = FastAPI(
        title="Kernpunt",
        version="0.1.0",
        summary="Municipality-wide savings points: earn in local shops, spend in any shop of the town.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    _include_routers(app)
    _install_web_apps(app, settings.web_apps)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (one app per worker process)."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    return create_app(settings)

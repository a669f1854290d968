"""Alembic from Python: the CLI's ``db upgrade`` and the readiness probe use this."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from backend.config import PROJECT_ROOT


def _alembic_dir() -> Path:
    candidates = [
        Path(os.environ["KERNPUNT_ALEMBIC_DIR"]) if os.environ.get("KERNPUNT_ALEMBIC_DIR") else None,
        PROJECT_ROOT / "alembic",
        Path.cwd() / "alembic",
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("Cannot find the alembic/ migrations folder; set KERNPUNT_ALEMBIC_DIR.")


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_alembic_dir()))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Run in a thread or a plain process: alembic/env.py starts its own event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)

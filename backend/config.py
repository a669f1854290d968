"""Runtime configuration, read from the environment (prefix ``KERNPUNT_``).

Dev mode (the default for ``make run``) may invent secrets so a first start needs no
setup; production mode refuses to start without them, because a generated signing key
would silently log everybody out at every restart and differ between workers.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "kernpunt.db"


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable service."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KERNPUNT_", env_file=None, extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"
    database_pool_size: int = 20
    database_echo: bool = False

    # Signing keys for access tokens as {"kid": "secret", ...}; the first kid signs,
    # every kid verifies, so a key can be rotated without logging everybody out.
    jwt_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    secret_key: str | None = None
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    # Tenant defaults, copied into a new tenant's settings at creation.
    point_value_cents: int = 1
    points_per_euro: int = 1
    hold_timeout_seconds: int = 300
    points_expiry_days: int = 730
    default_tenant: str = "sint-gillis-waas"

    # Background jobs inside the server (hold expiry, ledger sealing).
    scheduler_enabled: bool = True
    sealer_interval_seconds: float = 2.0
    # Points expiry and the 30-day warning e-mails (KERNPUNT_EXPIRY_ENABLED=false switches
    # the scheduler step off; `kernpunt jobs expire` still works). At most once per interval.
    expiry_enabled: bool = True
    expiry_interval_seconds: float = 3600.0

    # Web apps mounted next to the API (each package has an ``install(app)`` function).
    web_apps: tuple[str, ...] = ("consumer_app", "merchant_app", "municipality_app")

    # Outgoing mail: without an SMTP host the outbox only writes messages to the log (dev).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Kernpunt <noreply@kernpunt.invalid>"
    smtp_starttls: bool = True
    # Where the consumer app is reachable; links in e-mails point here.
    public_url: str = "http://localhost:8000"

    # Stripe (merchant float top-ups). Without a secret key the top-up endpoints answer
    # 503 payments_unavailable instead of refusing to start: a town may settle by bank only.
    # The API base points the client elsewhere (localstripe in tests).
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _parse_jwt_keys(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return {}
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError("KERNPUNT_JWT_KEYS must be JSON like {\"k1\": \"secret\"}") from exc
        return value

    @field_validator("point_value_cents", "points_per_euro", "hold_timeout_seconds")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive integer")
        return value

    @model_validator(mode="after")
    def _require_production_secrets(self) -> "Settings":
        if self.env == "production":
            if not self.jwt_keys and not self.secret_key:
                raise ConfigurationError(
                    "KERNPUNT_ENV=production needs KERNPUNT_JWT_KEYS (or KERNPUNT_SECRET_KEY); "
                    "refusing to start with a generated signing key."
                )
            for kid, secret in self.jwt_keys.items():
                if len(secret) < 32:
                    raise ConfigurationError(f"JWT key {kid!r} is shorter than 32 characters.")
            if self.secret_key is not None and len(self.secret_key) < 32:
                raise ConfigurationError("KERNPUNT_SECRET_KEY is shorter than 32 characters.")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_keys(self) -> dict[str, str]:
        """kid -> secret, the first entry being the one that signs new tokens."""
        if self.jwt_keys:
            return dict(self.jwt_keys)
        if self.secret_key:
            return {"k1": self.secret_key}
        return {"dev": _dev_secret()}


def _dev_secret() -> str:
    # Persisted next to the dev database so tokens survive a restart of `make run`
    # and are shared by all workers.
    path = DEFAULT_SQLITE_PATH.parent / "dev-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()

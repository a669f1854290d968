"""Configuration from the environment: production refuses to start without its secrets."""

from __future__ import annotations

import pytest

from backend.config import ConfigurationError, Settings


def test_production_without_signing_keys_is_a_start_up_error(monkeypatch):
    monkeypatch.delenv("KERNPUNT_JWT_KEYS", raising=False)
    monkeypatch.delenv("KERNPUNT_SECRET_KEY", raising=False)
    with pytest.raises((ConfigurationError, ValueError), match="KERNPUNT_JWT_KEYS"):
        Settings(env="production")


def test_production_refuses_a_short_key():
    with pytest.raises((ConfigurationError, ValueError), match="shorter than 32"):
        Settings(env="production", jwt_keys={"k1": "short"})


def test_keys_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("KERNPUNT_ENV", "production")
    monkeypatch.setenv("KERNPUNT_JWT_KEYS", '{"new": "' + "n" * 40 + '", "old": "' + "o" * 40 + '"}')
    settings = Settings()
    assert list(settings.signing_keys()) == ["new", "old"]


def test_malformed_keys_are_reported(monkeypatch):
    monkeypatch.setenv("KERNPUNT_JWT_KEYS", "{not json")
    with pytest.raises(ValueError, match="KERNPUNT_JWT_KEYS must be JSON"):
        Settings()


def test_dev_mode_generates_and_keeps_a_secret():
    settings = Settings(env="dev")
    first = settings.signing_keys()
    assert Settings(env="dev").signing_keys() == first
    assert len(next(iter(first.values()))) >= 32


def test_point_value_must_be_positive():
    with pytest.raises(ValueError):
        Settings(point_value_cents=0)

"""The ``kernpunt`` command line against a fresh database per test, on SQLite and PostgreSQL.

Commands run in-process through click's CliRunner with the environment a shell would
give them; the database is inspected and tampered with through a plain synchronous
engine, the way somebody with database access (and no business there) would do it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from backend.app import create_app
from backend.cli import cli
from backend.config import Settings
from backend.demo.logins import DEMO_LOGINS, DEMO_TENANT_SLUG
from tests.fixtures.databases import backend_params, fresh_database, run_alembic, sqlite_url, sync_url, table_names

TEST_JWT_KEYS = {"k1": "test-signing-key-0123456789-abcdefghijklmnop"}


def invoke(url: str | None, *args: str, env: dict[str, str | None] | None = None, input: str | None = None) -> Any:
    environment: dict[str, str | None] = {
        "KERNPUNT_ENV": "test",
        "KERNPUNT_LOG_JSON": "false",
        "KERNPUNT_JWT_KEYS": None,
        "KERNPUNT_SECRET_KEY": None,
    }
    if url is not None:
        environment["KERNPUNT_DATABASE_URL"] = url
    environment.update(env or {})
    result = CliRunner().invoke(cli, list(args), env=environment, input=input, catch_exceptions=False)
    return result


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def scalar(url: str, statement: str, **params: Any) -> Any:
    return sql(url, statement, **params)[0][0]


@pytest.fixture(params=backend_params())
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def migrated_db(empty_db: str) -> str:
    run_alembic(empty_db, "upgrade", "head")
    return empty_db


@pytest.fixture
def demo_db(migrated_db: str) -> str:
    result = invoke(migrated_db, "demo")
    assert result.exit_code == 0, result.output
    return migrated_db


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_help_of_every_command_works_even_when_misconfigured() -> None:
    paths = list(_command_paths(cli))
    assert {("serve",), ("db", "upgrade"), ("demo",), ("ledger", "verify"), ("users", "create-admin")} <= set(paths)
    for path in paths:
        # Production without signing keys: the commands refuse to run, but help still shows.
        result = invoke(None, *path, "--help", env={"KERNPUNT_ENV": "production"})
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: " in result.output, path


def test_console_script_is_installed() -> None:
    script = shutil.which("kernpunt", path=str(Path(sys.executable).parent))
    assert script is not None, "the kernpunt console script is not installed (pip install -e .)"
    done = subprocess.run([script, "ledger", "verify", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--tenant" in done.stdout


@pytest.mark.parametrize("args", [("tenants", "list"), ("serve",), ("db", "upgrade")])
def test_configuration_errors_are_one_clear_line(args: tuple[str, ...], tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "never-created.db")
    result = invoke(url, *args, env={"KERNPUNT_ENV": "production"})
    assert result.exit_code == 1, result.output
    assert "KERNPUNT_JWT_KEYS" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "never-created.db").exists()

    result = invoke(url, *args, env={"KERNPUNT_ENV": "staging"})
    assert result.exit_code == 1
    assert "KERNPUNT_ENV" in result.output and "Traceback" not in result.output


def test_db_upgrade_on_an_empty_database(empty_db: str, tmp_path: Path) -> None:
    before = invoke(empty_db, "ledger", "verify")
    assert before.exit_code == 1
    assert "kernpunt db upgrade" in before.output and "Traceback" not in before.output

    result = invoke(empty_db, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert {"tenant", "account", "transfer", "entry", "ledger_seal", "user_account"} <= table_names(empty_db)
    assert invoke(empty_db, "db", "upgrade").exit_code == 0  # a second run changes nothing
    current = invoke(empty_db, "db", "current")
    assert current.exit_code == 0, current.output

    listed = invoke(empty_db, "tenants", "list")
    assert listed.exit_code == 0 and "No municipalities" in listed.output
    verified = invoke(empty_db, "ledger", "verify")
    assert verified.exit_code == 0 and "No municipalities" in verified.output

    if empty_db.startswith("sqlite"):
        # The default SQLite file lives in ./var, which may not exist yet.
        nested = tmp_path / "not" / "yet" / "var" / "kernpunt.db"
        assert invoke(sqlite_url(nested), "db", "upgrade").exit_code == 0
        assert nested.exists()


def test_demo_twice_keeps_one_town_and_verifies(demo_db: str) -> None:
    tenants = scalar(demo_db, "SELECT count(*) FROM tenant")
    transfers = scalar(demo_db, "SELECT count(*) FROM transfer")
    assert tenants == 1 and transfers > 300

    again = invoke(demo_db, "demo", "--if-empty")
    assert again.exit_code == 0, again.output
    for login in DEMO_LOGINS:
        assert login.email in again.output and login.password in again.output

    refused = invoke(demo_db, "demo")
    assert refused.exit_code == 1
    assert "already exists" in refused.output and "Traceback" not in refused.output

    assert scalar(demo_db, "SELECT count(*) FROM tenant") == 1
    assert scalar(demo_db, "SELECT count(*) FROM transfer") == transfers

    verified = invoke(demo_db, "ledger", "verify")
    assert verified.exit_code == 0, verified.output
    assert f"{DEMO_TENANT_SLUG}: OK" in verified.output
    assert invoke(demo_db, "ledger", "verify", "--tenant", DEMO_TENANT_SLUG).exit_code == 0
    unknown = invoke(demo_db, "ledger", "verify", "--tenant", "nergensdorp")
    assert unknown.exit_code == 1 and "nergensdorp" in unknown.output


def test_demo_town_content(demo_db: str) -> None:
    users = {row.email: row for row in sql(demo_db, "SELECT email, role, merchant_id FROM user_account")}
    bakery = scalar(demo_db, "SELECT id FROM merchant WHERE name = 'Bakkerij De Wilde'")
    for login in DEMO_LOGINS:
        assert users[login.email].role == login.role
        if login.role in ("merchant_owner", "cashier"):
            assert users[login.email].merchant_id == bakery
    assert scalar(demo_db, "SELECT count(*) FROM merchant") >= 10
    assert scalar(demo_db, "SELECT count(DISTINCT category) FROM merchant") == 11
    assert scalar(demo_db, "SELECT count(*) FROM shopper") == 40
    an = sql(demo_db, "SELECT s.first_name, s.postcode, s.village FROM shopper s JOIN user_account u "
                      "ON u.id = s.user_id WHERE u.email = 'an.peeters@example.be'")
    assert an and an[0].first_name == "An" and an[0].postcode == "9170"

    floats = scalar(demo_db, "SELECT count(*) FROM account WHERE type = 'merchant_float'")
    funded = scalar(demo_db, "SELECT count(DISTINCT credit_account_id) FROM transfer WHERE kind = 'topup'")
    assert funded == floats
    kinds = dict(sql(demo_db, "SELECT kind, count(*) FROM transfer GROUP BY kind"))
    assert kinds["earn"] > 300 and kinds["redeem"] > 10
    assert kinds["reversal"] >= 2 and kinds["payout"] == 1
    holds = dict(sql(demo_db, "SELECT status, count(*) FROM hold GROUP BY status"))
    assert holds.get("voided") == 1 and holds["captured"] == kinds["redeem"] and "pending" not in holds
    assert scalar(demo_db, "SELECT count(*) FROM ledger_seal") == sum(kinds.values())

    points_per_euro = scalar(demo_db, "SELECT points_per_euro FROM tenant")
    earns = sql(demo_db, "SELECT amount, meta, created_at FROM transfer WHERE kind = 'earn'")
    for earn in earns:
        meta = earn.meta if isinstance(earn.meta, dict) else json.loads(earn.meta)
        assert earn.amount == meta["purchase_cents"] * points_per_euro // 100
    # Points earned in one shop are spent in another.
    spent_elsewhere = scalar(
        demo_db,
        "SELECT count(*) FROM transfer r JOIN account w ON w.id = r.debit_account_id "
        "JOIN account shop ON shop.id = r.credit_account_id WHERE r.kind = 'redeem' AND EXISTS ("
        " SELECT 1 FROM transfer e JOIN account f ON f.id = e.debit_account_id"
        " WHERE e.kind = 'earn' AND e.credit_account_id = w.id AND f.merchant_id <> shop.merchant_id)",
    )
    assert spent_elsewhere > 0


def test_verify_fails_when_a_balance_shard_is_changed_behind_the_ledger(demo_db: str) -> None:
    account_id = scalar(demo_db, "SELECT min(account_id) FROM account_balance WHERE balance > 0")
    sql(
        demo_db,
        "UPDATE account_balance SET balance = balance + 1 WHERE account_id = :a "
        "AND slot = (SELECT min(slot) FROM account_balance WHERE account_id = :a)",
        a=account_id,
    )
    result = invoke(demo_db, "ledger", "verify")
    assert result.exit_code == 1, result.output
    assert f"account {account_id}: cached balance" in result.output
    assert "sum to 1, not 0" in result.output
    assert "PROBLEM" in result.output and "Traceback" not in result.output


def test_verify_fails_when_a_sealed_transfer_is_altered(demo_db: str) -> None:
    transfer_id = scalar(
        demo_db,
        "SELECT min(t.id) FROM transfer t JOIN ledger_seal s ON s.transfer_id = t.id WHERE t.kind = 'earn'",
    )
    if demo_db.startswith("sqlite"):
        sql(demo_db, "DROP TRIGGER transfer_no_update")
    else:
        sql(demo_db, "ALTER TABLE transfer DISABLE TRIGGER USER")
    sql(demo_db, "UPDATE transfer SET description = 'Niets aan de hand' WHERE id = :t", t=transfer_id)

    result = invoke(demo_db, "ledger", "verify")
    assert result.exit_code == 1, result.output
    assert f"transfer {transfer_id} (link" in result.output and "altered" in result.output
    assert result.output.count("  PROBLEM:") == 1  # the balances still add up: only the chain knows


def test_create_admin_can_sign_in_through_the_api(migrated_db: str) -> None:
    args = ("users", "create-admin", "--tenant", "gemeente-test", "--email", "Beheer@Gemeente-Test.be")
    missing = invoke(migrated_db, *args, "--password", "een-lang-wachtwoord")
    assert missing.exit_code == 1 and "--create-tenant" in missing.output

    created = invoke(
        migrated_db, *args, "--create-tenant", "--tenant-name", "Gemeente Test", input="een-lang-wachtwoord\n" * 2
    )
    assert created.exit_code == 0, created.output
    assert "beheer@gemeente-test.be" in created.output

    duplicate = invoke(migrated_db, *args, "--password", "nog-een-wachtwoord")
    assert duplicate.exit_code == 1
    assert "already has an account" in duplicate.output and "Traceback" not in duplicate.output
    weak = invoke(migrated_db, "users", "create-admin", "--tenant", "gemeente-test", "--email", "a@b.be",
                  "--password", "kort")
    assert weak.exit_code == 1 and "Traceback" not in weak.output

    auditor = invoke(migrated_db, "users", "create-admin", "--tenant", "gemeente-test", "--email", "audit@b.be",
                     "--password", "een-lang-wachtwoord", "--role", "auditor")
    assert auditor.exit_code == 0, auditor.output
    assert invoke(migrated_db, "tenants", "create", "--slug", "gemeente-test", "--name", "X").exit_code == 1
    listed = invoke(migrated_db, "tenants", "list")
    assert "gemeente-test" in listed.output and "2 user(s)" in listed.output

    settings = Settings(env="test", database_url=migrated_db, jwt_keys=TEST_JWT_KEYS, scheduler_enabled=False)
    login, me = asyncio.run(_sign_in(settings, "gemeente-test", "beheer@gemeente-test.be", "een-lang-wachtwoord"))
    assert login.status_code == 200, login.text
    assert login.json()["role"] == "municipality_admin"
    assert me.status_code == 200, me.text


async def _sign_in(settings: Settings, tenant: str, email: str, password: str) -> tuple[httpx.Response, httpx.Response]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            login = await client.post(
                "/api/v1/auth/login", json={"tenant": tenant, "email": email, "password": password}
            )
            token = login.json().get("access_token", "")
            me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    return login, me


def test_seal_and_jobs_run_once(migrated_db: str) -> None:
    assert invoke(migrated_db, "tenants", "create", "--slug", "gemeente-leeg", "--name", "Leeg").exit_code == 0
    sealed = invoke(migrated_db, "ledger", "seal")
    assert sealed.exit_code == 0 and "gemeente-leeg: sealed 0" in sealed.output
    ran = invoke(migrated_db, "jobs", "run-once")
    assert ran.exit_code == 0 and "sealed 0" in ran.output

"""The API's frame: probes, problem documents, request ids, OpenAPI, the welcome page."""

from __future__ import annotations

import json
import logging

import httpx

from backend.app import create_app
from backend.core.errors import PROBLEM_MEDIA_TYPE
from backend.core.logging import JsonFormatter
from tests.conftest import make_settings
from tests.fixtures.databases import fresh_database, run_alembic


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["migrations"] == "head"


async def test_readyz_reports_a_database_behind_its_migrations(tmp_path):
    with fresh_database("sqlite", tmp_path) as url:
        run_alembic(url, "upgrade", "head")
        run_alembic(url, "downgrade", "-1")
        app = create_app(make_settings(url))
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json()["migrations"] == "behind"


async def test_readyz_reports_an_unreachable_database(tmp_path):
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_unknown_route_and_method_are_problem_documents(client):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert missing.json()["code"] == "not_found"
    wrong_method = await client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"


async def test_validation_errors_are_problem_documents_with_field_locations(client, world):
    response = await client.post(
        "/api/v1/transfers",
        json={"kind": "earn", "debit_account_id": "x", "amount": -1},
        headers=world.headers(**{"Idempotency-Key": "validation-test-1"}),
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert body["code"] == "validation_error"
    locations = {tuple(error["loc"]) for error in body["errors"]}
    assert ("body", "debit_account_id") in locations
    assert ("body", "credit_account_id") in locations
    assert ("body", "amount") in locations


async def test_malformed_json_is_a_problem_document(client, world):
    response = await client.post(
        "/api/v1/transfers",
        content=b"{not json",
        headers=world.headers(**{"Idempotency-Key": "validation-test-2", "Content-Type": "application/json"}),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_request_id_is_echoed_and_carried_into_problems_and_logs(client, caplog):
    caplog.set_level(logging.INFO, logger="kernpunt.access")
    response = await client.get("/api/v1/accounts", headers={"X-Request-ID": "req-abc-123"})
    assert response.headers["x-request-id"] == "req-abc-123"
    assert response.json()["request_id"] == "req-abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    access = [r for r in caplog.records if r.name == "kernpunt.access" and getattr(r, "path", "") == "/api/v1/accounts"]
    assert access, "the request was not logged"
    line = json.loads(JsonFormatter().format(access[-1]))
    assert line["status"] == 401
    assert line["method"] == "GET"


async def test_a_hostile_request_id_is_replaced(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert response.headers["x-request-id"] != "<script>alert(1)</script>"


async def test_openapi_lists_the_problem_codes_of_an_endpoint(client):
    spec = (await client.get("/openapi.json")).json()
    post = spec["paths"]["/api/v1/transfers"]["post"]
    assert "insufficient_funds" in post["responses"]["409"]["description"]
    assert "idempotency_key_missing" in post["responses"]["400"]["description"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert (await client.get("/docs")).status_code == 200


async def test_welcome_page_is_dutch_by_default_and_switches_language(client):
    page = await client.get("/")
    assert page.status_code == 200
    assert '<html lang="nl-BE">' in page.text
    for link in ('href="/app"', 'href="/merchant"', 'href="/municipality"', 'href="/docs"'):
        assert link in page.text
    french = await client.get("/?lang=fr")
    assert '<html lang="fr-BE">' in french.text
    english = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text


async def test_welcome_page_lists_demo_logins_only_in_dev(database_url):
    from backend.demo.logins import DEMO_LOGINS

    for env, shown in (("dev", True), ("test", False)):
        app = create_app(make_settings(database_url, env=env))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            page = await http.get("/")
        assert (DEMO_LOGINS[0].email in page.text) is shown

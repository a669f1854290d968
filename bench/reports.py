"""``make bench-reports``: dashboard latency on the large demo town while earns keep arriving.

A benchmark, not a test. For each database (PostgreSQL, then SQLite) it builds the large
town in a throwaway database (``--reuse`` keeps and reuses it between runs), starts
``kernpunt serve`` on it, signs in as the demo admin, keeps posting earns through the
ledger (``--earn-rate`` a second, each with its rollup row, like the till), and measures
p50/p95 of every dashboard endpoint (sequential requests, default period = 28 days, plus
a one-year summary). Prints one table per database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KERNPUNT = str(ROOT / ".venv" / "bin" / "kernpunt")
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ENDPOINTS = ["summary", "spend-per-week", "fun-run", "villages", "heatmap", "circulation", "top-merchants",
             "retention", "campaigns"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(url: str, *args: str) -> None:
    subprocess.run([KERNPUNT, *args], check=True, env={**os.environ, "KERNPUNT_DATABASE_URL": url})


async def pg_database(name: str, reuse: bool) -> tuple[str, bool]:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and reuse:
            return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", False
        if exists:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", True
    finally:
        await conn.close()


def sqlite_database(path: Path, reuse: bool) -> tuple[str, bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and reuse:
        return f"sqlite+aiosqlite:///{path}", False
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path}", True


def build(url: str, args: argparse.Namespace) -> float:
    run(url, "db", "upgrade")
    started = time.monotonic()
    run(url, "demo", "--shoppers", str(args.shoppers), "--merchants", str(args.merchants), "--months",
        str(args.months), "--seed", str(args.seed))
    return time.monotonic() - started


async def earn_load(url: str, rate: float, stop: asyncio.Event, counter: list[int]) -> None:
    """Earns straight through the ledger service (with the rollup in the same transaction)."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from backend.core.db import create_engine, make_sessionmaker, transaction
    from backend.ledger import service as ledger
    from backend.ledger.models import Account
    from backend.tenants.models import Tenant

    engine = create_engine(url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session:
        tenant_id = (await session.execute(select(Tenant.id).where(Tenant.slug == "sint-gillis-waas"))).scalar_one()
        floats = [(r.id, r.merchant_id) for r in await session.execute(
            select(Account.id, Account.merchant_id).where(Account.tenant_id == tenant_id, Account.type == "merchant_float"))]
        wallets = list((await session.execute(select(Account.id).where(
            Account.tenant_id == tenant_id, Account.type == "shopper_wallet"))).scalars())
    rng = random.Random(5)
    try:
        while not stop.is_set():
            started = time.monotonic()
            float_id, merchant_id = rng.choice(floats)
            cents = rng.randrange(300, 8000)
            try:
                async with transaction(sessionmaker) as session:
                    await ledger.post_transfer(
                        session, tenant_id=tenant_id, idempotency_key=f"bench-{uuid.uuid4().hex}", kind="earn",
                        debit_account_id=float_id, credit_account_id=rng.choice(wallets), amount=cents // 100,
                        meta={"purchase_cents": cents, "merchant_id": merchant_id})
                counter[0] += 1
            except Exception as exc:  # noqa: BLE001 - a float may run dry; keep loading
                counter[1] += 1
                if counter[1] < 3:
                    print(f"  earn failed: {type(exc).__name__}: {exc}"[:200], file=sys.stderr)
            await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
    finally:
        await engine.dispose()


async def measure(url: str, label: str, args: argparse.Namespace) -> list[tuple[str, float, float, int]]:
    port = free_port()
    env = {**os.environ, "KERNPUNT_DATABASE_URL": url, "KERNPUNT_SCHEDULER_ENABLED": "false",
           "KERNPUNT_LOG_LEVEL": "warning", "KERNPUNT_WEB_APPS": "[]"}  # the API alone
    server = subprocess.Popen([KERNPUNT, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    stop, counter = asyncio.Event(), [0, 0]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code < 500:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
            login = await client.post("/api/v1/auth/login", json={
                "tenant": "sint-gillis-waas", "email": "admin@sint-gillis-waas.be", "password": "kernpunt-admin"})
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            load = asyncio.create_task(earn_load(url, args.earn_rate, stop, counter))
            today = date.today()
            year = {"from": (today - timedelta(days=365)).isoformat(), "to": (today - timedelta(days=1)).isoformat()}
            cases = [(name, f"/api/v1/reports/{name}", {}) for name in ENDPOINTS]
            cases.append(("summary (365 days)", "/api/v1/reports/summary", year))
            cases.append(("summary ?category=fun", "/api/v1/reports/summary", {"category": "fun"}))
            cases.append(("summary (365 days) fun", "/api/v1/reports/summary", {**year, "category": "fun"}))
            cases.append(("spend-per-week (365 days)", "/api/v1/reports/spend-per-week", year))
            cases.append(("heatmap (csv)", "/api/v1/reports/heatmap", {"format": "csv"}))
            campaigns = (await client.get("/api/v1/reports/campaigns", headers=headers)).json()
            if campaigns:
                cases.append(("campaign uplift", f"/api/v1/reports/campaigns/{campaigns[0]['account_id']}/uplift", {}))
            merchant = (await client.get("/api/v1/reports/top-merchants", headers=headers)).json()["rows"][0]
            cases.append(("merchant insight", f"/api/v1/merchants/{merchant['merchant_id']}/insight", {}))
            results = []
            for name, path, params in cases:
                timings = []
                for i in range(args.requests + 3):
                    started = time.perf_counter()
                    response = await client.get(path, params=params, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if i >= 3:
                        timings.append(elapsed)
                timings.sort()
                p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
                results.append((name, statistics.median(timings), p95, len(timings)))
            stop.set()
            await load
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=20)
    limit = 300 if label == "PostgreSQL" else 1000
    print(f"\n{label}: {counter[0]} earns posted during the run ({counter[1]} failed); target p95 < {limit} ms")
    print(f"{'endpoint':<28}{'p50 ms':>10}{'p95 ms':>10}{'n':>6}  ok")
    for name, p50, p95, n in results:
        print(f"{name:<28}{p50:>10.1f}{p95:>10.1f}{n:>6}  {'yes' if p95 < limit else 'NO'}")
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the generated towns between runs")
    parser.add_argument("--shoppers", type=int, default=20000)
    parser.add_argument("--merchants", type=int, default=250)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=40, help="measured requests per endpoint")
    parser.add_argument("--earn-rate", type=float, default=10.0, help="earns per second during the measurement")
    parser.add_argument("--only", choices=["postgresql", "sqlite"], help="measure one database")
    args = parser.parse_args()
    if args.only != "sqlite":
        url, fresh = await pg_database("kernpunt_bench_reports", args.reuse)
        if fresh:
            print(f"PostgreSQL: generated in {build(url, args):.0f} s")
        await measure(url, "PostgreSQL", args)
    if args.only != "postgresql":
        url, fresh = sqlite_database(ROOT / "var" / "bench" / "reports.db", args.reuse)
        if fresh:
            print(f"SQLite: generated in {build(url, args):.0f} s")
        await measure(url, "SQLite", args)


if __name__ == "__main__":
    asyncio.run(main())

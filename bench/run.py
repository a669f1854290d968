#!/usr/bin/env python3
"""Ledger benchmark: earn transfers through the HTTP API versus the same SQL run raw.

A benchmark, not a test (``make bench``; never part of ``make test``). Steps:

1. create a throwaway PostgreSQL database ``kernpunt_bench_<hex>`` and migrate it;
2. seed one tenant, one admin, N merchant floats (funded evenly over their balance
   shards) and M shopper wallets, directly through the Python services;
3. start the API (``kernpunt serve``, 2 workers, production settings, scheduler off);
4. drive ``POST /api/v1/transfers`` (kind "earn", unique Idempotency-Key, random float
   and wallet, 1..50 points) with ``wrk``: 8 clients and 32 clients spread over all
   floats, and 32 clients all debiting ONE hot float;
5. run the statements the service issues for one transfer with ``pgbench`` at the same
   client counts (the raw database ceiling on this machine);
6. print a summary (transfers/s, p50/p99, non-2xx, HTTP/raw ratio) and write it to
   ``var/bench-<timestamp>.json``; drop the database.

The PostgreSQL server comes from ``--server-url``, else ``KERNPUNT_TEST_DATABASE_URL``,
else ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``. wrk is installed with
apt-get when missing and running as root.

Note: wrk, uvicorn and PostgreSQL share the machine, so the numbers are a relative
measure (HTTP overhead over the raw SQL, hot versus spread), not a capacity figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy.engine import make_url  # noqa: E402

from tests.fixtures.databases import (  # noqa: E402
    BENCH_DB_PREFIX,
    create_postgres_database,
    drop_postgres_database,
    postgres_reachable,
    run_alembic,
)

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TENANT_SLUG = "bench-town"
ADMIN_EMAIL = "admin@bench-town.be"
TRANSFERS_PATH = "/api/v1/transfers"
MAX_EARN = 50


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- seeding


@dataclass
class Seed:
    tenant_id: int
    admin_password: str
    funding_id: int
    float_ids: list[int]
    wallet_ids: list[int]
    float_shards: int
    wallet_shards: int
    funded_per_float: int


async def _seed(url: str, *, floats: int, wallets: int, per_shard: int) -> Seed:
    from sqlalchemy import text

    import backend.models  # noqa: F401
    from backend.auth.service import create_user
    from backend.core.db import create_engine, make_sessionmaker, transaction
    from backend.ledger import service as ledger
    from backend.ledger.models import AccountType
    from backend.merchants.models import Merchant
    from backend.wallets.models import Shopper
    from backend.tenants.service import create_tenant

    password = secrets.token_urlsafe(24)
    engine = create_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with transaction(sessionmaker) as session:
            tenant = await create_tenant(session, slug=TENANT_SLUG, name="Bench Town")
            await create_user(
                session,
                tenant_id=tenant.id,
                email=ADMIN_EMAIL,
                password=password,
                role="municipality_admin",
                display_name="Bench admin",
            )
            funding = await ledger.find_account(session, tenant_id=tenant.id, code="funding")
            # Real shops and shoppers own the accounts, as in a town: the reports'
            # rollup keys its rows by shop and shopper, and anonymous accounts would all
            # land on one row and measure that contention instead.
            merchants = []
            for i in range(floats):
                merchant = Merchant(tenant_id=tenant.id, name=f"Bench shop {i}", category="bakery", village="Meerdonk")
                session.add(merchant)
                merchants.append(merchant)
            await session.flush()
            # Floats first, in one run, so their ids are contiguous (pgbench picks them by range).
            float_accounts = [
                await ledger.open_account(
                    session,
                    tenant_id=tenant.id,
                    account_type=AccountType.MERCHANT_FLOAT,
                    name=f"Float {merchant.name}",
                    code=f"merchant:{merchant.id}:float",
                    merchant_id=merchant.id,
                )
                for merchant in merchants
            ]
            for merchant in merchants:
                await ledger.open_account(
                    session,
                    tenant_id=tenant.id,
                    account_type=AccountType.MERCHANT_REDEEMED,
                    name=f"Redeemed at {merchant.name}",
                    code=f"merchant:{merchant.id}:redeemed",
                    merchant_id=merchant.id,
                )
            wallet_accounts = []
            for i in range(wallets):
                shopper = Shopper(tenant_id=tenant.id, first_name=f"Bench{i}")
                session.add(shopper)
                await session.flush()
                wallet_accounts.append(
                    await ledger.open_shopper_wallet(session, tenant_id=tenant.id, shopper_id=shopper.id)
                )
            tenant_id, funding_id = tenant.id, funding.id
            float_ids = [a.id for a in float_accounts]
            wallet_ids = [a.id for a in wallet_accounts]
            float_shards = float_accounts[0].shard_count
            wallet_shards = wallet_accounts[0].shard_count

        # Fund every float with one real "topup" transfer (entries included), spreading
        # the credit evenly over the float's shards so the earn hot path finds points in
        # whichever shard it picks (a single-shard credit would send most debits down
        # the rebalancing slow path and measure that instead).
        amount = per_shard * float_shards
        async with transaction(sessionmaker) as session:
            for float_id in float_ids:
                await ledger.post_transfer(
                    session,
                    tenant_id=tenant_id,
                    idempotency_key=f"bench-fund-{float_id}",
                    kind="topup",
                    debit_account_id=funding_id,
                    credit_account_id=float_id,
                    amount=amount,
                    description="bench funding",
                    balance_legs=False,
                )
            await session.execute(
                text("UPDATE account_balance SET balance = balance - :total WHERE account_id = :aid AND slot = 0"),
                {"total": amount * len(float_ids), "aid": funding_id},
            )
            await session.execute(
                text("UPDATE account_balance SET balance = balance + :per WHERE account_id = ANY(:ids)"),
                {"per": per_shard, "ids": float_ids},
            )
        return Seed(
            tenant_id=tenant_id,
            admin_password=password,
            funding_id=funding_id,
            float_ids=float_ids,
            wallet_ids=wallet_ids,
            float_shards=float_shards,
            wallet_shards=wallet_shards,
            funded_per_float=amount,
        )
    finally:
        await engine.dispose()


async def _verify(url: str, tenant_id: int) -> dict[str, Any]:
    from sqlalchemy import text

    from backend.core.db import create_engine, make_sessionmaker, transaction

    engine = create_engine(url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            out: dict[str, Any] = {}
            out["transfers"] = (
                await session.execute(text("SELECT count(*) FROM transfer WHERE tenant_id = :t"), {"t": tenant_id})
            ).scalar_one()
            try:
                from backend.ledger.verify import verify_tenant

                report = await verify_tenant(session, tenant_id=tenant_id)
                out["verify_problems"] = list(report.problems)
            except ImportError:
                out["verify_problems"] = None
            return out
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, *, db_url: str, workers: int, port: int, log_path: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        env = {
            **os.environ,
            "KERNPUNT_DATABASE_URL": db_url,
            "KERNPUNT_ENV": "production",
            "KERNPUNT_JWT_KEYS": json.dumps({"bench": secrets.token_hex(32)}),
            "KERNPUNT_LOG_LEVEL": "WARNING",
            # The sealer runs as in production: hashing the chain must not slow earns.
            "KERNPUNT_SCHEDULER_ENABLED": os.environ.get("BENCH_SCHEDULER", "true"),
            "KERNPUNT_ACCESS_TOKEN_TTL_SECONDS": "7200",
        }
        # The production entry point: one process per worker, each with its own
        # SO_REUSEPORT socket (see backend/server.py).
        kernpunt = REPO / ".venv" / "bin" / "kernpunt"
        if not kernpunt.exists():
            kernpunt = Path(sys.executable).with_name("kernpunt")
        cmd = [str(kernpunt), "serve", "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port)]
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server not healthy after {timeout:.0f}s; see {self.log_path}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


def http_json(method: str, url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


# --------------------------------------------------------------------------- wrk

WRK_LUA = r"""
-- generated by bench/run.py
local floats = {%(floats)s}
local wallets = {%(wallets)s}
local run_id = "%(run_id)s"
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer %(token)s",
}
local counter = 0
local threads = {}

-- globals (readable from done() through thread:get)
non2xx = 0
first_error = nil

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  math.randomseed(os.time() * 1009 + tid * 7919)
  for i = 1, 10 do math.random() end
end

function request()
  counter = counter + 1
  headers["Idempotency-Key"] = string.format("%%s-%%d-%%d", run_id, tid, counter)
  local body = string.format(
    '{"debit_account_id":%%d,"credit_account_id":%%d,"amount":%%d,"kind":"earn"}',
    floats[math.random(#floats)], wallets[math.random(#wallets)], math.random(%(max_earn)d))
  return wrk.format("POST", "%(path)s", headers, body)
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_error == nil then
      first_error = tostring(status) .. " " .. string.sub(tostring(body or ""), 1, 400)
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  local err = ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local e = t:get("first_error")
    if e ~= nil and err == "" then err = e end
  end
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"max_us":%%d,"mean_us":%%.1f,"connect_errors":%%d,"read_errors":%%d,"write_errors":%%d,"timeouts":%%d}\n',
    summary.requests, summary.duration, bad, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
  if err ~= "" then io.write("WRKERR " .. string.gsub(err, "\n", " ") .. "\n") end
end
"""


def ensure_tool(name: str, apt_package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"{name} missing: apt-get install -y {apt_package}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", apt_package], check=False, env=env)
        if not shutil.which(name):
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", apt_package], check=False, env=env)
        path = shutil.which(name)
        if path:
            return path
    sys.exit(f"bench: {name} is required (apt-get install {apt_package})")


@dataclass
class RunResult:
    tool: str
    scenario: str
    clients: int
    duration_s: float
    transfers: int
    transfers_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    non2xx: int = 0
    errors: int = 0
    first_error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_wrk(
    wrk: str, *, base: str, token: str, floats: list[int], wallets: list[int], clients: int,
    duration: int, scenario: str, workdir: Path, threads: int,
) -> RunResult:
    script = workdir / f"earn-{scenario}-{clients}.lua"
    script.write_text(
        WRK_LUA
        % {
            "floats": ",".join(map(str, floats)),
            "wallets": ",".join(map(str, wallets)),
            "run_id": f"wrk-{secrets.token_hex(6)}",
            "token": token,
            "max_earn": MAX_EARN,
            "path": TRANSFERS_PATH,
        }
    )
    cmd = [
        wrk, f"-t{min(threads, clients)}", f"-c{clients}", f"-d{duration}s", "--timeout", "10s",
        "-s", str(script), base,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    stats_line = next((line for line in proc.stdout.splitlines() if line.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or stats_line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    stats = json.loads(stats_line[len("WRKJSON "):])
    err_line = next((line for line in proc.stdout.splitlines() if line.startswith("WRKERR ")), None)
    seconds = stats["duration_us"] / 1e6
    socket_errors = stats["connect_errors"] + stats["read_errors"] + stats["write_errors"] + stats["timeouts"]
    ok = stats["requests"] - stats["non2xx"]
    return RunResult(
        tool="http",
        scenario=scenario,
        clients=clients,
        duration_s=round(seconds, 2),
        transfers=ok,
        transfers_per_s=round(ok / seconds, 1) if seconds else 0.0,
        p50_ms=round(stats["p50_us"] / 1000, 2),
        p99_ms=round(stats["p99_us"] / 1000, 2),
        non2xx=stats["non2xx"],
        errors=socket_errors,
        first_error=err_line[len("WRKERR "):] if err_line else None,
        extra={"requests": stats["requests"], "p90_ms": round(stats["p90_us"] / 1000, 2),
               "max_ms": round(stats["max_us"] / 1000, 2)},
    )


# --------------------------------------------------------------------------- pgbench

# The statements backend/ledger/transfers.py + balances.py issue for one earn once the
# account metadata is cached: insert the transfer (idempotent), debit a random shard of
# the float (conditional on its floor), credit the wallet's shard, write two entries.
# Floats have lower ids than wallets here, so the debit goes first, as in the service.
PGBENCH_SCRIPT = r"""
\set d random(:fmin, :fmax)
\set c random(:wmin, :wmax)
\set amt random(1, %(max_earn)d)
\set neg -1 * :amt
\set s random(0, :fshards - 1)
\set ws random(0, :wshards - 1)
BEGIN;
INSERT INTO transfer (tenant_id, idempotency_key, request_hash, kind, debit_account_id, credit_account_id, amount, reverses_transfer_id, hold_id, description, meta, created_by_user_id, created_at) VALUES (:tenant, 'pgb-' || gen_random_uuid()::text, '%(hash)s', 'earn', :d, :c, :amt, NULL, NULL, NULL, '{}', :uid, now()) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id AS tid \gset
UPDATE account_balance SET balance = balance - :amt WHERE account_id = :d AND slot = :s AND (floor IS NULL OR balance - pending - :amt >= floor) RETURNING slot;
UPDATE account_balance SET balance = balance + :amt WHERE account_id = :c AND slot = :ws RETURNING slot;
INSERT INTO entry (tenant_id, transfer_id, account_id, amount, created_at) VALUES (:tenant, :tid, :d, :neg, now()), (:tenant, :tid, :c, :amt, now());
COMMIT;
"""


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def run_pgbench(
    pgbench: str, *, db_url: str, seed: Seed, float_ids: list[int], clients: int, duration: int,
    scenario: str, workdir: Path, threads: int,
) -> RunResult:
    if float_ids != list(range(float_ids[0], float_ids[-1] + 1)):
        raise RuntimeError("float ids are not contiguous; pgbench's random(min, max) cannot pick them")
    if seed.wallet_ids != list(range(seed.wallet_ids[0], seed.wallet_ids[-1] + 1)):
        raise RuntimeError("wallet ids are not contiguous; pgbench's random(min, max) cannot pick them")
    script = workdir / "earn.sql"
    script.write_text(PGBENCH_SCRIPT % {"max_earn": MAX_EARN, "hash": "b" * 64})
    url = make_url(db_url)
    logdir = workdir / f"pgbench-{scenario}-{clients}"
    logdir.mkdir()
    cmd = [
        pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(threads, clients)),
        "-T", str(duration), "-f", str(script), "-l", "--log-prefix", str(logdir / "tx"),
        "-D", f"tenant={seed.tenant_id}", "-D", "uid=1",
        "-D", f"fmin={float_ids[0]}", "-D", f"fmax={float_ids[-1]}", "-D", f"fshards={seed.float_shards}",
        "-D", f"wmin={seed.wallet_ids[0]}", "-D", f"wmax={seed.wallet_ids[-1]}", "-D", f"wshards={seed.wallet_shards}",
        "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
        url.database or "postgres",
    ]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{tail}")
    tps_match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", proc.stdout)
    done_match = re.search(r"number of transactions actually processed: (\d+)", proc.stdout)
    failed_match = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    latencies: list[float] = []
    for path in logdir.iterdir():
        with path.open() as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]) / 1000)
    latencies.sort()
    processed = int(done_match.group(1)) if done_match else len(latencies)
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    return RunResult(
        tool="raw",
        scenario=scenario,
        clients=clients,
        duration_s=float(duration),
        transfers=processed,
        transfers_per_s=round(float(tps_match.group(1)), 1) if tps_match else round(processed / duration, 1),
        p50_ms=round(p50, 2) if p50 is not None else None,
        p99_ms=round(p99, 2) if p99 is not None else None,
        errors=int(failed_match.group(1)) if failed_match else 0,
        extra={"mean_ms": round(statistics.fmean(latencies), 2) if latencies else None},
    )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-url", default=os.environ.get("KERNPUNT_TEST_DATABASE_URL") or DEFAULT_SERVER_URL,
                        help="PostgreSQL server URL (a throwaway database is created on it)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of HTTP warm-up before measuring (default 3)")
    parser.add_argument("--clients", default="8,32", help="client counts for the spread scenario (default 8,32)")
    parser.add_argument("--hot-clients", default="32", help="client counts for the one-hot-float scenario (default 32)")
    parser.add_argument("--floats", type=int, default=200)
    parser.add_argument("--wallets", type=int, default=2000)
    parser.add_argument("--fund-per-shard", type=int, default=10**9, help="points put in every float shard")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk/pgbench threads (default 2)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default var/bench-<timestamp>.json)")
    return parser.parse_args(argv)


def _ints(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def print_summary(results: list[RunResult]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    keys = []
    for r in results:
        if (r.scenario, r.clients) not in keys:
            keys.append((r.scenario, r.clients))
    for scenario, clients in keys:
        http = next((r for r in results if r.tool == "http" and r.scenario == scenario and r.clients == clients), None)
        raw = next((r for r in results if r.tool == "raw" and r.scenario == scenario and r.clients == clients), None)
        ratio = (
            round(http.transfers_per_s / raw.transfers_per_s, 3)
            if http and raw and raw.transfers_per_s
            else None
        )
        rows.append({
            "scenario": scenario,
            "clients": clients,
            "http_transfers_per_s": http.transfers_per_s if http else None,
            "http_p50_ms": http.p50_ms if http else None,
            "http_p99_ms": http.p99_ms if http else None,
            "http_non2xx": http.non2xx if http else None,
            "http_socket_errors": http.errors if http else None,
            "raw_transfers_per_s": raw.transfers_per_s if raw else None,
            "raw_p50_ms": raw.p50_ms if raw else None,
            "raw_p99_ms": raw.p99_ms if raw else None,
            "http_over_raw": ratio,
        })

    def fmt(value: Any, width: int) -> str:
        text = "-" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))
        return text.rjust(width)

    header = (
        f"{'scenario':<10}{'clients':>8}{'HTTP tx/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'non2xx':>8}"
        f"{'raw tx/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'HTTP/raw':>10}"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = "-" if row["http_over_raw"] is None else f"{row['http_over_raw'] * 100:.0f}%"
        print(
            f"{row['scenario']:<10}{fmt(row['clients'], 8)}{fmt(row['http_transfers_per_s'], 11)}"
            f"{fmt(row['http_p50_ms'], 9)}{fmt(row['http_p99_ms'], 9)}{fmt(row['http_non2xx'], 8)}"
            f"{fmt(row['raw_transfers_per_s'], 10)}{fmt(row['raw_p50_ms'], 9)}{fmt(row['raw_p99_ms'], 9)}"
            f"{ratio:>10}"
        )
    print()
    return rows


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if make_url(args.server_url).get_backend_name() != "postgresql":
        sys.exit("bench: --server-url must be a PostgreSQL URL")
    error = postgres_reachable(args.server_url)
    if error is not None:
        sys.exit(f"bench: PostgreSQL at {make_url(args.server_url)!r} is unreachable: {error}")
    wrk = None if args.skip_http else ensure_tool("wrk", "wrk")
    pgbench = None if args.skip_raw else ensure_tool("pgbench", "postgresql-contrib")

    started = datetime.now(UTC)
    results: list[RunResult] = []
    notes: dict[str, Any] = {}
    db_url = create_postgres_database(args.server_url, prefix=BENCH_DB_PREFIX)
    log(f"database {make_url(db_url).database}")
    server: Server | None = None
    workdir = Path(tempfile.mkdtemp(prefix="kernpunt-bench-"))
    try:
        run_alembic(db_url, "upgrade", "head")
        t0 = time.monotonic()
        seed = asyncio.run(_seed(db_url, floats=args.floats, wallets=args.wallets, per_shard=args.fund_per_shard))
        log(
            f"seeded {len(seed.float_ids)} floats ({seed.float_shards} shards, {seed.funded_per_float} points each) "
            f"and {len(seed.wallet_ids)} wallets in {time.monotonic() - t0:.1f}s"
        )
        hot = [seed.float_ids[0]]
        scenarios = [("spread", c, seed.float_ids) for c in _ints(args.clients)]
        scenarios += [("hot", c, hot) for c in _ints(args.hot_clients)]

        if not args.skip_http:
            assert wrk is not None
            server = Server(db_url=db_url, workers=args.workers, port=free_port(), log_path=workdir / "server.log")
            server.wait_ready()
            status, body = http_json(
                "POST", f"{server.base}/api/v1/auth/login",
                {"tenant": TENANT_SLUG, "email": ADMIN_EMAIL, "password": seed.admin_password},
            )
            if status != 200 or not isinstance(body, dict) or "access_token" not in body:
                raise RuntimeError(f"login failed: {status} {body}")
            token = body["access_token"]
            log(f"server up on {server.base} ({args.workers} workers)")
            if args.warmup > 0:
                run_wrk(wrk, base=server.base, token=token, floats=seed.float_ids, wallets=seed.wallet_ids,
                        clients=8, duration=args.warmup, scenario="warmup", workdir=workdir, threads=args.threads)
            before = asyncio.run(_verify(db_url, seed.tenant_id))["transfers"]
            for scenario, clients, floats in scenarios:
                log(f"HTTP  {scenario:<6} {clients:>3} clients, {args.duration}s ...")
                result = run_wrk(wrk, base=server.base, token=token, floats=floats, wallets=seed.wallet_ids,
                                 clients=clients, duration=args.duration, scenario=scenario, workdir=workdir,
                                 threads=args.threads)
                log(f"      {result.transfers_per_s} transfers/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, "
                    f"non-2xx {result.non2xx}, socket errors {result.errors}")
                if result.first_error:
                    log(f"      first non-2xx: {result.first_error}")
                results.append(result)
            server.stop()
            server = None
            check = asyncio.run(_verify(db_url, seed.tenant_id))
            responses_2xx = sum(r.transfers for r in results if r.tool == "http")
            in_db = check["transfers"] - before
            # wrk stops without counting responses still in flight, which the server
            # commits anyway: up to one per connection per run.
            in_flight = sum(r.clients for r in results if r.tool == "http")
            notes["http_2xx_responses"] = responses_2xx
            notes["http_transfers_in_db"] = in_db
            if not responses_2xx <= in_db <= responses_2xx + in_flight:
                log(f"WARNING: {in_db} transfers in the database for {responses_2xx} 2xx responses")
            problems = check["verify_problems"]
            if problems is not None:
                # The scheduler (and so the sealer) is off during the benchmark.
                unsealed = [p for p in problems if "not sealed" in p]
                real = [p for p in problems if "not sealed" not in p]
                notes["ledger_verify_problems"] = real
                notes["ledger_unsealed"] = unsealed
                if real:
                    log(f"WARNING: ledger verify found problems: {real[:5]}")
                else:
                    log(f"ledger verify: balances and entries agree ({in_db} HTTP transfers; sealer off)")

        if not args.skip_raw:
            assert pgbench is not None
            for scenario, clients, floats in scenarios:
                log(f"raw   {scenario:<6} {clients:>3} clients, {args.duration}s ...")
                result = run_pgbench(pgbench, db_url=db_url, seed=seed, float_ids=floats, clients=clients,
                                     duration=args.duration, scenario=scenario, workdir=workdir, threads=args.threads)
                log(f"      {result.transfers_per_s} transfers/s, p50 {result.p50_ms} ms, p99 {result.p99_ms} ms")
                results.append(result)
    except BaseException:
        if server is not None:
            log(f"server log tail:\n{server.tail()}")
        raise
    finally:
        if server is not None:
            server.stop()
        if args.keep_db:
            log(f"kept database: {db_url}")
        else:
            drop_postgres_database(db_url)
        shutil.rmtree(workdir, ignore_errors=True)

    rows = print_summary(results)
    output = args.output or REPO / "var" / f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "started_at": started.isoformat(),
                "git_commit": git_commit(),
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
                "config": {
                    "duration_s": args.duration, "workers": args.workers, "floats": args.floats,
                    "wallets": args.wallets, "threads": args.threads,
                },
                "summary": rows,
                "runs": [asdict(r) for r in results],
                "notes": notes,
            },
            indent=2,
        )
        + "\n"
    )
    log(f"wrote {output.relative_to(REPO) if output.is_relative_to(REPO) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

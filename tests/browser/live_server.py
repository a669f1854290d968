"""A real Kernpunt server for the browser tests: ``kernpunt serve`` in a subprocess.

The database is a fresh migrated SQLite file seeded with the demo town (``kernpunt
demo``) plus a cashier for a second shop, so two tills of different shops can serve
the same shopper. The server runs in dev mode (the demo sign-ins are shown and work)
with the scheduler on, exactly as ``make run`` would, on a free port.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.fixtures.databases import REPO_ROOT, run_alembic, sqlite_url

_SCRIPT = Path(sys.executable).parent / "kernpunt"
KERNPUNT = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from backend.cli import main; main()"]
)

# A second shop's till (the demo town only has sign-ins for Bakkerij De Wilde).
SECOND_SHOP = "Slagerij Van Damme"
SECOND_CASHIER_EMAIL = "kassa@slagerij-vandamme.be"
SECOND_CASHIER_PASSWORD = "kernpunt-kassa-2"

JWT_KEYS = {"browser": "browser-tests-signing-key-0123456789abcdef"}


@dataclass
class LiveServer:
    url: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str) -> dict[str, str]:
    # The developer's own KERNPUNT_* settings (database, secrets) must not leak in;
    # KERNPUNT_WEB_APPS may, to serve a subset while an app is broken mid-change.
    env = {key: value for key, value in os.environ.items() if not key.startswith("KERNPUNT_")}
    if "KERNPUNT_WEB_APPS" in os.environ:
        env["KERNPUNT_WEB_APPS"] = os.environ["KERNPUNT_WEB_APPS"]
    env.update(
        KERNPUNT_ENV="dev",
        KERNPUNT_DATABASE_URL=database_url,
        KERNPUNT_JWT_KEYS=json.dumps(JWT_KEYS),  # dev would otherwise write var/dev-secret
        KERNPUNT_SCHEDULER_ENABLED="true",
        KERNPUNT_LOG_JSON="false",
        KERNPUNT_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # Serve the working tree even when the editable install predates a new package.
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
        ),
    )
    return env


async def _add_second_cashier(database_url: str) -> None:
    from sqlalchemy import select

    from backend.auth import service as auth_service
    from backend.auth.models import Role
    from backend.core.db import create_engine, make_sessionmaker, transaction
    from backend.demo.logins import DEMO_TENANT_SLUG
    from backend.merchants.models import Merchant
    from backend.tenants.models import Tenant

    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            tenant = (
                await session.execute(select(Tenant).where(Tenant.slug == DEMO_TENANT_SLUG))
            ).scalar_one()
            merchant = (
                await session.execute(
                    select(Merchant).where(
                        Merchant.tenant_id == tenant.id, Merchant.name == SECOND_SHOP
                    )
                )
            ).scalar_one()
            await auth_service.create_user(
                session,
                tenant_id=tenant.id,
                email=SECOND_CASHIER_EMAIL,
                password=SECOND_CASHIER_PASSWORD,
                role=Role.CASHIER,
                merchant_id=merchant.id,
                display_name="Kassa Slagerij",
            )
    finally:
        await engine.dispose()


def prepare_database(directory: Path) -> str:
    """A migrated SQLite database with the demo town; returns its URL."""
    url = sqlite_url(directory / "browser.db")
    run_alembic(url, "upgrade", "head")
    seeded = subprocess.run(
        [*KERNPUNT, "demo"],
        check=False,
        env=server_env(url),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if seeded.returncode != 0:
        raise RuntimeError(
            f"kernpunt demo failed ({seeded.returncode}):\n{seeded.stdout}\n{seeded.stderr}"
        )
    # Playwright's sync API runs an event loop in this thread: seed from another one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _add_second_cashier(url)).result()
    return url


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(database_url: str, log_path: Path, *, timeout: float = 60.0) -> LiveServer:
    """Start ``kernpunt serve`` on a free port and wait until /readyz answers 200."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between the probe and the bind
        port = free_port()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [*KERNPUNT, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=server_env(database_url),
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it stops any child too
            )
        server = LiveServer(f"http://127.0.0.1:{port}", database_url, log_path, process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _ready(server.url):
                return server
            time.sleep(0.1)
        last_error = server.log_tail()
        stop_server(server)
    raise RuntimeError(f"kernpunt serve did not become ready; log {log_path}:\n{last_error}")


def stop_server(server: LiveServer, *, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, SIGKILL it when it does not stop in time."""
    process = server.process
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=grace)

"""``kernpunt serve --workers N``: several processes on one port, stopped cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fixtures.databases import fresh_database, run_alembic


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status


def test_serve_with_two_workers_answers_and_stops_on_sigterm(tmp_path: Path):
    kernpunt = Path(sys.executable).with_name("kernpunt")
    port = _free_port()
    with fresh_database("sqlite", tmp_path) as url:
        run_alembic(url, "upgrade", "head")
        env = {**os.environ, "KERNPUNT_DATABASE_URL": url, "KERNPUNT_ENV": "test", "KERNPUNT_LOG_LEVEL": "WARNING",
               "KERNPUNT_SCHEDULER_ENABLED": "false"}
        process = subprocess.Popen(
            [str(kernpunt), "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(f"http://127.0.0.1:{port}/readyz") == 200:
                        break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        os.killpg(process.pid, signal.SIGKILL)
                        output, _ = process.communicate(timeout=10)
                        raise AssertionError(f"the server did not come up:\n{output.decode(errors='replace')}")
                    time.sleep(0.2)
            # Many short connections land on both workers; every one is answered.
            assert all(_get(f"http://127.0.0.1:{port}/healthz") == 200 for _ in range(40))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, "a worker is still listening"
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_serve_gives_up_when_workers_cannot_start(tmp_path: Path):
    kernpunt = Path(sys.executable).with_name("kernpunt")
    env = {**os.environ, "KERNPUNT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite", "KERNPUNT_ENV": "test",
           "KERNPUNT_WEB_APPS": '["no_such_web_app"]', "KERNPUNT_SCHEDULER_ENABLED": "false"}
    process = subprocess.Popen(
        [str(kernpunt), "serve", "--workers", "2", "--port", str(_free_port())],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        assert process.wait(timeout=90) != 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

"""Serving with several worker processes, each with its own listening socket.

uvicorn's ``--workers`` shares one socket between the workers, and the kernel then
hands most long-lived connections to whichever worker happens to be awake: under load
one worker queues twice the requests of the other and tail latency doubles. Here every
worker binds the port with ``SO_REUSEPORT``, so the kernel spreads connections evenly
across the workers. The parent only supervises: it restarts a worker that dies and
stops them all on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import time
from typing import Any

logger = logging.getLogger("kernpunt.server")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, uvicorn_options: dict[str, Any], ready: Any) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                ready.set()  # tells the parent this worker got past start-up

    from backend.config import get_settings
    from backend.core.logging import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, json_logs=settings.log_json)
    sock = _listening_socket(host, port)
    config = uvicorn.Config("backend.app:app_factory", factory=True, **uvicorn_options)
    Server(config).run(sockets=[sock])


def run_workers(*, host: str, port: int, workers: int, uvicorn_options: dict[str, Any]) -> None:
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - not on Linux
        import uvicorn

        uvicorn.run("backend.app:app_factory", factory=True, host=host, port=port, workers=workers, **uvicorn_options)
        return
    # Fail here, in the parent, when the port is taken, rather than in every worker.
    _listening_socket(host, port).close()
    context = multiprocessing.get_context("spawn")
    processes: list[multiprocessing.process.BaseProcess] = []
    stopping = False

    readiness: dict[int, Any] = {}

    def start(index: int) -> multiprocessing.process.BaseProcess:
        readiness[index] = context.Event()
        process = context.Process(target=_worker, args=(host, port, uvicorn_options, readiness[index]), daemon=False)
        process.start()
        return process

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    processes.extend(start(index) for index in range(workers))
    failed_starts = 0
    exit_code = 0
    while not stopping:
        time.sleep(0.5)
        for index, process in enumerate(processes):
            if process.is_alive() or stopping:
                continue
            # A worker that dies before it ever served (an import error, a bad setting)
            # will die again: give up instead of restarting it forever. However slow the
            # start-up (a busy machine), a worker that never got ready counts.
            if not readiness[index].is_set():
                failed_starts += 1
            if failed_starts >= 3 * workers:
                logger.error("workers keep exiting at start-up (last exit code %s); stopping", process.exitcode)
                exit_code = 1
                stop(signal.SIGTERM, None)
                break
            logger.warning("worker %s exited with %s; starting a new one", process.pid, process.exitcode)
            processes[index] = start(index)
    deadline = time.monotonic() + 30
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
    if exit_code:
        raise SystemExit(exit_code)

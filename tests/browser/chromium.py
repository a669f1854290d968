"""Finding the Chromium the browser tests drive, and the flags it runs with.

``playwright install`` cannot download browsers on our machines, so the tests drive
Debian's ``chromium`` package (``make test-deps`` installs it when we are root). A
missing browser is a visible skip on a developer machine and a failure in CI
(``CI=true``), so the browser half of the suite can never silently disappear.
``KERNPUNT_CHROMIUM=/path/to/chromium`` overrides the search (``/nonexistent`` simulates
a machine without Chromium).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page

CHROMIUM_ENV = "KERNPUNT_CHROMIUM"
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

# Without the background-networking flags Chromium keeps calling Google services, which
# on a closed network means a flood of failing connections and slow starts.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)

# A test waiting longer than this for an element on a local server has found a bug.
DEFAULT_TIMEOUT_MS = 10_000

INSTALL_HINT = "install it with `apt-get install chromium` (as root `make test-deps` does that)"


def ci_required() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def find_chromium() -> tuple[str | None, str]:
    """(executable, "") when found, else (None, why not)."""
    override = os.environ.get(CHROMIUM_ENV, "").strip()
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path), ""
        return None, f"{CHROMIUM_ENV}={override} is not an executable file"
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found, ""
    return None, f"Chromium not found (looked for {', '.join(CANDIDATES)})"


def require_chromium() -> str:
    """The Chromium executable, or skip the calling test (fail it in CI)."""
    executable, why = find_chromium()
    if executable is None:
        message = f"browser tests need Chromium: {why}; {INSTALL_HINT}"
        if ci_required():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return executable


def watch_errors(context: BrowserContext) -> BrowserContext:
    """Print the pages' uncaught errors and console errors (pytest shows them on failure).

    A page whose module failed to load just sits there; the console says why.
    """

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: print(f"[page error] {page.url}: {error}"))

        def console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                print(f"[console.{message.type}] {page.url}: {message.text}")

        page.on("console", console)

    for page in context.pages:
        watch(page)
    context.on("page", watch)
    return context

"""Browser tests: a real server, Debian's Chromium driven by Playwright, phone-sized pages.

- ``live_server``: one ``kernpunt serve`` per session on a fresh demo-town database.
- ``browser``/``context``/``page`` (pytest-playwright) launch /usr/bin/chromium with our
  flags; every context is a 360x780 phone (device scale 2, touch, nl-BE, Brussels).
- ``camera_browser``: a browser of its own whose fake camera plays a Y4M made from a
  QR text, for the camera scanning path.
- ``shot``: ``shot(page, "step")`` saves test-artifacts/screenshots/<test>-<step>.png.
- ``a11y``: ``a11y(page, "name")`` runs axe-core and fails on serious/critical issues.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.browser.a11y import check_accessibility
from tests.browser.camera import qr_video
from tests.browser.chromium import CHROMIUM_ARGS, DEFAULT_TIMEOUT_MS, require_chromium, watch_errors
from tests.browser.live_server import LiveServer, prepare_database, start_server, stop_server
from tests.fixtures.databases import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 780},
    "screen": {"width": 360, "height": 780},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "nl-BE",
    "timezone_id": "Europe/Brussels",
}

CAMERA_ARGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in the main thread for as long
    # as its session fixture lives, and pytest-asyncio cannot run a test while another
    # loop runs: the browser tests go last, so Playwright starts after every async test.
    here = Path(__file__).parent
    browser_items = [item for item in items if Path(str(item.fspath)).is_relative_to(here)]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    others = [item for item in items if not Path(str(item.fspath)).is_relative_to(here)]
    items[:] = others + browser_items


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Chromium against a live server (tests/browser)"
    )


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    return require_chromium()


@pytest.fixture(scope="session")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], chromium_executable: str
) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": chromium_executable,
        "args": [*CHROMIUM_ARGS, *browser_type_launch_args.get("args", [])],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, **PHONE}


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    context = watch_errors(new_context())
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


@pytest.fixture
def new_phone(new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """Another phone (a fresh context: own storage, own sign-in) -> its first page."""

    def open_phone(**overrides: Any) -> Page:
        context = watch_errors(new_context(**overrides))
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        return context.new_page()

    return open_phone


# --------------------------------------------------------------------------- fake camera


@pytest.fixture
def camera_browser(
    playwright: Playwright,
    browser_type_launch_args: dict[str, Any],
    tmp_path: Path,
) -> Iterator[Callable[[str], Browser]]:
    """``launch(qr_text)`` -> a new Chromium whose camera shows the QR of ``qr_text``.

    Chromium reads the video file once at launch, so every video needs its own browser.
    Render it right before launching: wallet tokens live about a minute.
    """
    launched: list[Browser] = []

    def launch(qr_text: str) -> Browser:
        video = qr_video(tmp_path / f"camera-{len(launched)}.y4m", qr_text)
        args = [
            *browser_type_launch_args["args"],
            *CAMERA_ARGS,
            f"--use-file-for-fake-video-capture={video}",
        ]
        browser = playwright.chromium.launch(**{**browser_type_launch_args, "args": args})
        launched.append(browser)
        return browser

    yield launch
    for browser in launched:
        browser.close()


@pytest.fixture
def camera_phone(
    camera_browser: Callable[[str], Browser], browser_context_args: dict[str, Any]
) -> Iterator[Callable[..., Page]]:
    """``open(qr_text, **context_overrides)`` -> a phone page whose camera sees that QR."""
    contexts: list[BrowserContext] = []

    def open_phone(qr_text: str, **overrides: Any) -> Page:
        browser = camera_browser(qr_text)
        options = {**browser_context_args, "permissions": ["camera"], **overrides}
        context = watch_errors(browser.new_context(**options))
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database_url = prepare_database(tmp_path_factory.mktemp("browser-db"))
    server = start_server(database_url, ARTIFACTS / "live-server.log")
    try:
        yield server
    finally:
        stop_server(server)


# --------------------------------------------------------------------------- artifacts


def _test_name(request: pytest.FixtureRequest) -> str:
    # Only one browser ever runs, so its "chromium" parameter is noise in file names.
    name = re.sub(r"\[chromium-?|-chromium\]", "[", request.node.name).replace("[]", "")
    return _slug(name.replace("[", "-").replace("]", ""))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``shot(page, "step")`` saves a viewport screenshot; ``full_page=True`` for all of it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = _test_name(request)

    def take(page: Page, step: str, *, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{test_name}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="initial")
        return path

    return take


@pytest.fixture
def a11y(request: pytest.FixtureRequest) -> Callable[[Page, str], list[dict[str, Any]]]:
    """``a11y(page, "screen")``: axe-core WCAG A/AA; fails on serious/critical violations."""
    test_name = _test_name(request)

    def check(page: Page, screen: str) -> list[dict[str, Any]]:
        return check_accessibility(page, f"{test_name}-{_slug(screen)}")

    return check

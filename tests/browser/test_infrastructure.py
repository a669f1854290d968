"""The browser-test machinery itself: phone pages, axe, screenshots, the fake camera."""

from __future__ import annotations

import base64
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser import chromium
from tests.browser.a11y import check_accessibility
from tests.browser.camera import camera_frame, decode_qr, write_y4m

CAMERA_PAGE = (
    "http://localhost:8999/camera-check"  # localhost is a secure context: getUserMedia works
)
CAMERA_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>camera</title></head>
<body style="margin:0"><main><video id="video" playsinline muted autoplay width="320" height="240"></video>
<canvas id="frame" width="640" height="480" style="width:320px;height:240px"></canvas></main></body></html>"""


def test_chromium_override_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(chromium.CHROMIUM_ENV, "/nonexistent/chromium")
    assert chromium.find_chromium() == (
        None,
        f"{chromium.CHROMIUM_ENV}=/nonexistent/chromium is not an executable file",
    )
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and browser tests need Chromium"):
        chromium.require_chromium()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="browser tests need Chromium"):
        chromium.require_chromium()


def test_y4m_frames_round_trip(tmp_path) -> None:
    text = f"KPW1:{uuid.uuid4().hex}"
    path = write_y4m(tmp_path / "one.y4m", [camera_frame(text)] * 2)
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg"
    frame_size = len(b"FRAME\n") + 640 * 480 * 3 // 2
    assert len(rest) == 2 * frame_size
    from PIL import Image

    luma = Image.frombytes("L", (640, 480), rest[len(b"FRAME\n") : len(b"FRAME\n") + 640 * 480])
    assert decode_qr(luma) == [text]


def test_welcome_page_on_a_phone(page: Page, shot, a11y) -> None:
    page.goto("/")
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("() => document.documentElement.lang").startswith("nl")
    assert page.evaluate("() => window.innerWidth") == 360
    # Nothing may stick out sideways on a 360 px phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    shot(page, "welcome")
    shot(page, "welcome-full", full_page=True)
    a11y(page, "welcome")


def test_axe_fails_on_serious_violations(page: Page) -> None:
    # The check must be able to fail: a picture without text and a field without a label.
    page.set_content(
        '<html lang="en"><head><title>bad</title></head><body><main><h1>Bad</h1>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>'
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        check_accessibility(page, "known-bad-page")
    assert "image-alt" in str(failure.value) and "label" in str(failure.value)


def test_fake_camera_shows_the_qr_to_get_user_media(camera_phone, shot) -> None:
    text = f"KPW1:camera-check-{uuid.uuid4().hex}"
    page = camera_phone(text)
    page.route(
        CAMERA_PAGE,
        lambda route: route.fulfill(status=200, content_type="text/html", body=CAMERA_HTML),
    )
    page.goto(CAMERA_PAGE)
    settings = page.evaluate(
        """async () => {
            const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
            const video = document.getElementById('video');
            video.srcObject = stream;
            await video.play();
            await new Promise((done) => video.requestVideoFrameCallback ? video.requestVideoFrameCallback(done) : setTimeout(done, 300));
            document.getElementById('frame').getContext('2d').drawImage(video, 0, 0, 640, 480);
            const track = stream.getVideoTracks()[0];
            return {label: track.label, ...track.getSettings()};
        }"""
    )
    assert (settings["width"], settings["height"]) == (640, 480), settings
    shot(page, "camera")
    assert decode_qr(page.locator("#frame").screenshot()) == [text]
    frame_png = page.evaluate("() => document.getElementById('frame').toDataURL('image/png')")
    assert decode_qr(base64.b64decode(frame_png.split(",", 1)[1])) == [text]

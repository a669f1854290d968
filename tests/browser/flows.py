"""What a shopper and a cashier do in the two web apps, by the apps' stable test ids,
and a small JSON client for setting up data through the API.

consumer_app (/app): signup-*, balance, nav-*, qr-image, short-code, qr-balance.
merchant_app (/merchant): login-*, scanner-input, camera-button, amount-form,
amount-input, key-<digit>/key-comma, confirm-button, result-points, redeem-*, mode-*,
hold-panel, redeem-discount, capture-button, spend-result, today totals.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
from playwright.sync_api import Page, expect

from backend.demo.logins import DEMO_LOGINS, DEMO_TENANT_SLUG
from tests.browser.camera import decode_qr
from tests.browser.live_server import SECOND_CASHIER_EMAIL, SECOND_CASHIER_PASSWORD

SHOPPER_PASSWORD = "spaarvarken-2026"


@dataclass(frozen=True)
class Login:
    email: str
    password: str


def _demo_login(role: str) -> Login:
    login = next(login for login in DEMO_LOGINS if login.role == role)
    return Login(login.email, login.password)


BAKERY_CASHIER = _demo_login("cashier")  # Bakkerij De Wilde
BUTCHER_CASHIER = Login(SECOND_CASHIER_EMAIL, SECOND_CASHIER_PASSWORD)  # Slagerij Van Damme
DEMO_SHOPPER = _demo_login("shopper")


def new_shopper_email() -> str:
    return f"browser-{uuid.uuid4().hex[:10]}@example.be"


# --------------------------------------------------------------------------- shopper app


def sign_up(page: Page, *, first_name: str, email: str, password: str = SHOPPER_PASSWORD) -> None:
    page.goto("/app/signup")
    page.get_by_test_id("signup-first-name").fill(first_name)
    page.get_by_test_id("signup-email").fill(email)
    page.get_by_test_id("signup-password").fill(password)
    page.get_by_test_id("signup-postcode").fill("9170")
    page.get_by_test_id("signup-consent").check()
    page.get_by_test_id("signup-submit").click()
    expect(page).to_have_url(re.compile(r"/app/(\?.*)?$"))


def shopper_sign_in(page: Page, *, email: str, password: str = SHOPPER_PASSWORD) -> None:
    page.goto("/app/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/app/(\?.*)?$"))


def wallet_balance(page: Page, expected: int) -> None:
    """Open the wallet and wait until it shows ``expected`` points."""
    page.goto("/app/")
    expect(page.get_by_test_id("balance")).to_have_text(points_text(expected))


def points_text(points: int) -> str:
    # nl-BE groups thousands with a dot: 1.250
    return f"{points:,}".replace(",", ".")


def current_qr_text(page: Page) -> str:
    """The text of the QR the wallet shows now, read from its picture like a scanner would."""
    if not page.url.rstrip("/").endswith("/app/qr"):
        page.get_by_test_id("nav-qr").click()
    image = page.get_by_test_id("qr-image")
    expect(image).to_be_visible()
    expect(page.get_by_test_id("short-code")).to_have_text(
        re.compile(r"^[0-9A-Z]{4}-?[0-9A-Z]{4}$")
    )
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    texts = decode_qr(image.screenshot(animations="disabled"))
    assert len(texts) == 1, f"expected one QR code in the wallet's picture, found {texts!r}"
    return texts[0]


# --------------------------------------------------------------------------- till app


def cashier_sign_in(page: Page, login: Login) -> None:
    page.goto("/merchant/login")
    page.get_by_test_id("login-email").fill(login.email)
    page.get_by_test_id("login-password").fill(login.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/merchant/$"))
    expect(page.get_by_test_id("scanner-input")).to_be_visible()


def scan_by_typing(page: Page, text: str) -> None:
    """What a keyboard-wedge scanner does: type the QR text into the focused field, Enter."""
    field = page.get_by_test_id("scanner-input")
    expect(field).to_be_focused()
    field.press_sequentially(text)
    field.press("Enter")


def tap_amount(page: Page, amount: str, *, field_testid: str = "amount-input") -> None:
    """Tap ``amount`` (e.g. "24,50") on the on-screen keypad."""
    for key in amount:
        page.get_by_test_id("key-comma" if key == "," else f"key-{key}").click()
    expect(page.get_by_test_id(field_testid)).to_have_value(amount)


# --------------------------------------------------------------------------- API set-up


class ApiClient:
    """Data set-up through the public API (tests drive the UI for what they assert)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", timeout=15)

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict, token: str | None = None, key: bool = False) -> dict:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = f"browser-{uuid.uuid4().hex}"
        response = self.http.post(path, json=body, headers=headers)
        assert response.status_code < 300, f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    def login(self, login: Login) -> str:
        body = {"tenant": DEMO_TENANT_SLUG, "email": login.email, "password": login.password}
        return self._post("/auth/login", body)["access_token"]

    def sign_up(self, *, first_name: str, email: str, password: str = SHOPPER_PASSWORD) -> str:
        body = {
            "tenant": DEMO_TENANT_SLUG,
            "email": email,
            "password": password,
            "first_name": first_name,
            "language": "nl",
            "consent": True,
        }
        return self._post("/signup", body)["access_token"]

    def login_shopper(self, email: str, password: str = SHOPPER_PASSWORD) -> str:
        return self.login(Login(email, password))

    def wallet_qr(self, shopper_token: str) -> str:
        return self._post("/me/qr", {}, shopper_token)["qr_text"]

    def earn(self, cashier_token: str, *, scan: str, purchase_cents: int) -> dict:
        body = {"scan": scan, "purchase_cents": purchase_cents}
        return self._post("/till/earns", body, cashier_token, key=True)

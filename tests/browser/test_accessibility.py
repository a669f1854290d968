"""axe-core (WCAG 2.x A/AA) on the main screens of both apps, at phone size.

Signed-in screens reuse one signed-in phone per app (a module-scoped browser context:
signing in once keeps the module fast). Each screen is also saved as a screenshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.chromium import DEFAULT_TIMEOUT_MS, watch_errors
from tests.browser.flows import (
    BAKERY_CASHIER,
    ApiClient,
    cashier_sign_in,
    new_shopper_email,
    scan_by_typing,
    shopper_sign_in,
    tap_amount,
)


@pytest.fixture(scope="module")
def api(base_url: str) -> Iterator[ApiClient]:
    client = ApiClient(base_url)
    yield client
    client.close()


def _phone(browser: Browser, browser_context_args: dict[str, Any]) -> BrowserContext:
    context = watch_errors(browser.new_context(**browser_context_args))
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


@pytest.fixture(scope="module")
def shopper_phone(
    browser: Browser, browser_context_args: dict[str, Any], api: ApiClient
) -> Iterator[BrowserContext]:
    """A phone with a new shopper (signed up through the API) who already has points."""
    context = _phone(browser, browser_context_args)
    page = context.new_page()
    email = new_shopper_email()
    shopper = api.sign_up(first_name="Hanne", email=email)
    api.earn(api.login(BAKERY_CASHIER), scan=api.wallet_qr(shopper), purchase_cents=5_000)
    shopper_sign_in(page, email=email)
    page.close()
    context.shopper_token = shopper  # type: ignore[attr-defined]
    yield context
    context.close()


@pytest.fixture(scope="module")
def cashier_phone(
    browser: Browser, browser_context_args: dict[str, Any]
) -> Iterator[BrowserContext]:
    context = _phone(browser, browser_context_args)
    page = context.new_page()
    cashier_sign_in(page, BAKERY_CASHIER)
    page.close()
    yield context
    context.close()


@pytest.fixture
def fresh_page(request: pytest.FixtureRequest) -> Iterator[Callable[[BrowserContext], Page]]:
    pages: list[Page] = []

    def open_page(context: BrowserContext) -> Page:
        page = context.new_page()
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


# ------------------------------------------------------------------ shopper app

SIGNED_OUT_SHOPPER_SCREENS = {
    "login": ("/app/login", "login-submit"),
    "signup": ("/app/signup", "signup-submit"),
    "shops": ("/app/shops", "shop-list"),
}

SIGNED_IN_SHOPPER_SCREENS = {
    "wallet": ("/app/", "balance"),
    "qr": ("/app/qr", "qr-image"),
    "shops-signed-in": ("/app/shops", "shop-list"),
    "profile": ("/app/profile", "nav-profile"),
}


@pytest.mark.parametrize("screen", SIGNED_OUT_SHOPPER_SCREENS)
def test_shopper_screen_signed_out(screen: str, page: Page, shot, a11y) -> None:
    path, testid = SIGNED_OUT_SHOPPER_SCREENS[screen]
    page.goto(path)
    expect(page.get_by_test_id(testid)).to_be_visible()
    page.wait_for_load_state("networkidle")
    shot(page, screen)
    a11y(page, f"app-{screen}")


@pytest.mark.parametrize("screen", SIGNED_IN_SHOPPER_SCREENS)
def test_shopper_screen_signed_in(
    screen: str, shopper_phone: BrowserContext, fresh_page, shot, a11y
) -> None:
    path, testid = SIGNED_IN_SHOPPER_SCREENS[screen]
    page = fresh_page(shopper_phone)
    page.goto(path)
    expect(page.get_by_test_id(testid)).to_be_visible()
    page.wait_for_load_state("networkidle")
    if screen == "wallet":
        expect(page.get_by_test_id("balance")).to_have_text("50")
    shot(page, screen)
    a11y(page, f"app-{screen}")


# ------------------------------------------------------------------ till app


def test_till_login(page: Page, shot, a11y) -> None:
    page.goto("/merchant/login")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    shot(page, "login")
    a11y(page, "merchant-login")


@pytest.mark.parametrize("screen", ["earn", "spend", "today"])
def test_till_screen(screen: str, cashier_phone: BrowserContext, fresh_page, shot, a11y) -> None:
    page = fresh_page(cashier_phone)
    page.goto("/merchant/" if screen == "earn" else f"/merchant/{screen}")
    expect(
        page.get_by_test_id("scanner-input" if screen != "today" else "today-totals")
    ).to_be_visible()
    page.wait_for_load_state("networkidle")
    if screen == "today":
        expect(page.get_by_test_id("total-earn-count")).not_to_have_text("–")
    shot(page, screen, full_page=screen == "today")
    a11y(page, f"merchant-{screen}")


def test_till_earn_keypad_and_result(
    cashier_phone: BrowserContext,
    shopper_phone: BrowserContext,
    api: ApiClient,
    fresh_page,
    shot,
    a11y,
) -> None:
    page = fresh_page(cashier_phone)
    page.goto("/merchant/")
    scan_by_typing(page, api.wallet_qr(shopper_phone.shopper_token))  # type: ignore[attr-defined]
    expect(page.get_by_test_id("amount-form")).to_be_visible()
    tap_amount(page, "7,35")
    shot(page, "amount")
    a11y(page, "merchant-earn-amount")
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_test_id("result-points")).to_have_text("7")
    shot(page, "result")
    a11y(page, "merchant-earn-result")


def test_till_spend_amount_and_hold(
    cashier_phone: BrowserContext,
    shopper_phone: BrowserContext,
    api: ApiClient,
    fresh_page,
    shot,
    a11y,
) -> None:
    page = fresh_page(cashier_phone)
    page.goto("/merchant/spend")
    scan_by_typing(page, api.wallet_qr(shopper_phone.shopper_token))  # type: ignore[attr-defined]
    expect(page.get_by_test_id("redeem-form")).to_be_visible()
    tap_amount(page, "0,10", field_testid="redeem-amount")
    shot(page, "amount")
    a11y(page, "merchant-spend-amount")
    page.get_by_test_id("redeem-confirm").click()
    expect(page.get_by_test_id("hold-panel")).to_be_visible()
    shot(page, "hold")
    a11y(page, "merchant-spend-hold")
    page.get_by_test_id("void-button").click()  # leave the shopper's points as they were
    expect(page.get_by_test_id("spend-result")).to_be_visible()

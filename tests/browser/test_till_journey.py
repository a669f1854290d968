"""The whole till story in real browsers on phone-sized screens.

A shopper signs up and shows her QR; the bakery's cashier earns by "scanning" it with a
keyboard-wedge scanner (typing the QR text + Enter); the butcher's cashier earns with
the camera (Chromium's fake camera plays a video of the shopper's current QR); the
wallet shows the sum; the bakery then takes points off a purchase (hold, "Betaald"),
and the wallet shows what is left. Every screen is saved as a screenshot.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.flows import (
    BAKERY_CASHIER,
    BUTCHER_CASHIER,
    cashier_sign_in,
    current_qr_text,
    new_shopper_email,
    points_text,
    scan_by_typing,
    sign_up,
    tap_amount,
    wallet_balance,
)

# points_per_euro is 1 in the demo town: floor(cents / 100) points, 1 point = 1 cent.
TYPED_PURCHASE, TYPED_POINTS = "24,50", 24
CAMERA_PURCHASE, CAMERA_POINTS = "12", 12
SPEND_POINTS = 20
SPEND_DISCOUNT = "0,20"  # euro


def test_shopper_earns_at_two_tills_and_spends(page, new_phone, camera_phone, shot) -> None:
    shopper = page
    first_name = "Fien"

    # --- the shopper signs up and opens "Mijn QR"
    sign_up(shopper, first_name=first_name, email=new_shopper_email())
    expect(shopper.get_by_test_id("balance")).to_have_text("0")
    shot(shopper, "01-shopper-wallet-new")
    qr_text = current_qr_text(shopper)
    assert qr_text.startswith("KPW1:"), qr_text
    shot(shopper, "02-shopper-qr")

    # --- the bakery's cashier scans with a keyboard-wedge scanner
    bakery = new_phone()
    cashier_sign_in(bakery, BAKERY_CASHIER)
    shot(bakery, "03-bakery-earn-scan")
    scan_by_typing(bakery, qr_text)
    expect(bakery.get_by_test_id("amount-form")).to_be_visible()
    expect(bakery.get_by_test_id("shopper-name")).to_contain_text(first_name)
    tap_amount(bakery, TYPED_PURCHASE)
    shot(bakery, "04-bakery-earn-amount")
    bakery.get_by_test_id("confirm-button").click()
    expect(bakery.get_by_test_id("result-panel")).to_be_visible()
    expect(bakery.get_by_test_id("result-points")).to_have_text(points_text(TYPED_POINTS))
    shot(bakery, "05-bakery-earned")

    # --- the butcher's cashier scans with the camera; the video is made from the QR
    # the wallet shows right now (tokens live about a minute)
    camera_text = current_qr_text(shopper)
    assert camera_text.startswith("KPW1:")
    butcher = camera_phone(camera_text)
    cashier_sign_in(butcher, BUTCHER_CASHIER)
    # Hold the first camera frame on its way to the server's decoder until the preview
    # has been photographed; then it goes on unchanged and the real decoder reads it.
    held: list = []
    holding = [True]

    def hold_frames(route) -> None:
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    butcher.route("**/merchant/decode-qr", hold_frames)
    butcher.get_by_test_id("camera-button").click()
    expect(butcher.get_by_test_id("camera-panel")).to_be_visible()
    butcher.wait_for_function("() => document.getElementById('camera-video').readyState >= 2")
    while not held:
        butcher.wait_for_timeout(50)
    shot(butcher, "06-butcher-camera")
    holding[0] = False
    for route in held:
        route.continue_()
    expect(butcher.get_by_test_id("amount-form")).to_be_visible(timeout=20_000)
    expect(butcher.get_by_test_id("shopper-name")).to_contain_text(first_name)
    tap_amount(butcher, CAMERA_PURCHASE)
    butcher.get_by_test_id("confirm-button").click()
    expect(butcher.get_by_test_id("result-points")).to_have_text(points_text(CAMERA_POINTS))
    shot(butcher, "07-butcher-earned")

    # --- the wallet shows both earns
    earned = TYPED_POINTS + CAMERA_POINTS
    wallet_balance(shopper, earned)
    expect(shopper.get_by_test_id("history-list")).to_contain_text("Slagerij Van Damme")
    expect(shopper.get_by_test_id("history-list")).to_contain_text("Bakkerij De Wilde")
    shot(shopper, "08-shopper-wallet-earned")

    # --- the bakery takes points off a purchase: scan, points, discount, "Betaald"
    spend_text = current_qr_text(shopper)
    bakery.get_by_test_id("nav-spend").click()
    expect(bakery).to_have_url(re.compile(r"/merchant/spend$"))
    shot(bakery, "09-bakery-spend-scan")
    scan_by_typing(bakery, spend_text)
    expect(bakery.get_by_test_id("redeem-form")).to_be_visible()
    expect(bakery.get_by_test_id("available-points")).to_have_text(points_text(earned))
    bakery.get_by_test_id("mode-points").check()
    tap_amount(bakery, str(SPEND_POINTS), field_testid="redeem-amount")
    shot(bakery, "10-bakery-spend-amount")
    bakery.get_by_test_id("redeem-confirm").click()
    expect(bakery.get_by_test_id("hold-panel")).to_be_visible()
    expect(bakery.get_by_test_id("hold-points")).to_have_text(points_text(SPEND_POINTS))
    expect(bakery.get_by_test_id("redeem-discount")).to_contain_text(SPEND_DISCOUNT)
    capture = bakery.get_by_test_id("capture-button")
    expect(capture).to_have_text(re.compile("Betaald"))
    shot(bakery, "11-bakery-spend-hold")
    capture.click()
    expect(bakery.get_by_test_id("spend-result")).to_be_visible()
    expect(bakery.get_by_test_id("spend-result-detail")).to_contain_text(SPEND_DISCOUNT)
    shot(bakery, "12-bakery-spend-done")

    # --- the wallet shows what is left; the bakery's day list has both sales
    wallet_balance(shopper, earned - SPEND_POINTS)
    shot(shopper, "13-shopper-wallet-after-spend")
    bakery.get_by_test_id("nav-today").click()
    # The day list names no shopper (privacy); the sale shows by its amount and points.
    expect(bakery.get_by_test_id("today-earns")).to_contain_text(f"€ {TYPED_PURCHASE}")
    expect(bakery.get_by_test_id("today-earns")).to_contain_text(f"{TYPED_POINTS} punten")
    expect(bakery.get_by_test_id("today-redemptions")).to_contain_text(f"{SPEND_POINTS} punten")
    shot(bakery, "14-bakery-today", full_page=True)

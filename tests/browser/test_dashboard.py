"""The municipality dashboard in a real browser on the demo town, at phone size.

The demo administrator signs in through the municipality's sign-in page; the page's
headline figures must equal what the reports API answers (fetched here with the same
administrator's token), every chart is drawn as SVG with its table and its CSV link,
suppressed cells read "—" and never 0, the filters land in the address, and axe finds
no serious or critical problem on the dashboard or on the other municipality pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from backend.demo.logins import DEMO_LOGINS, DEMO_TENANT_SLUG
from tests.browser.chromium import DEFAULT_TIMEOUT_MS, watch_errors

ADMIN = next(login for login in DEMO_LOGINS if login.email == "admin@sint-gillis-waas.be")
CHARTS = ("spend_week", "fun_run", "villages", "heatmap", "circulation", "top", "retention", "uplift")
CHART_REPORTS = {
    "spend_week": "spend-per-week", "fun_run": "fun-run", "villages": "villages", "heatmap": "heatmap",
    "circulation": "circulation", "top": "top-merchants", "retention": "retention",
}
OTHER_PAGES = {
    "merchants": ("/municipality/merchants", "merchant-table"),
    "users": ("/municipality/users", "user-form"),
    "cards": ("/municipality/cards", "batch-form"),
    "settlement": ("/municipality/settlement", "close-form"),
    "audit": ("/municipality/audit", "audit-form"),
}


def sign_in_as_admin(page: Page) -> None:
    page.goto("/municipality/login")
    page.get_by_test_id("login-email").fill(ADMIN.email)
    page.get_by_test_id("login-password").fill(ADMIN.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/municipality/$"))
    expect(page.get_by_test_id("who")).to_be_visible()


@pytest.fixture(scope="module")
def admin_phone(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    context = watch_errors(browser.new_context(**browser_context_args))
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    sign_in_as_admin(page)
    page.close()
    yield context
    context.close()


@pytest.fixture(scope="module")
def reports(base_url: str) -> Iterator[httpx.Client]:
    """The reports API as the demo administrator."""
    with httpx.Client(base_url=f"{base_url}/api/v1", timeout=30) as http:
        tokens = http.post("/auth/login", json={"tenant": DEMO_TENANT_SLUG, "email": ADMIN.email, "password": ADMIN.password})
        assert tokens.status_code == 200, tokens.text
        http.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
        yield http


@pytest.fixture
def dashboard(admin_phone: BrowserContext) -> Iterator[Page]:
    page = admin_phone.new_page()
    yield page
    page.close()


def open_dashboard(page: Page, query: str = "") -> None:
    page.goto(f"/municipality/dashboard{query}")
    expect(page.locator("body[data-dashboard-ready='true']")).to_have_count(1)


def digits(text: str) -> int:
    found = re.sub(r"\D", "", text)
    assert found, f"no number in {text!r}"
    return int(found)


def test_the_headline_figures_equal_the_api(dashboard: Page, reports: httpx.Client, shot) -> None:
    open_dashboard(dashboard)
    summary = reports.get("/reports/summary").json()
    assert len(summary["rows"]) == 12
    shown_any = 0
    for row in summary["rows"]:
        figure = dashboard.get_by_test_id(f"fig-{row['figure']}")
        text = figure.inner_text().strip()
        if row["value"] is None:
            assert text == "—", (row, text)
            continue
        assert digits(text) == row["value"], (row["figure"], text, row["value"])
        shown_any += 1
        if row["unit"] == "cents":
            assert "€" in text, text
        previous = dashboard.get_by_test_id(f"prev-{row['figure']}").inner_text()
        if row["previous"] is not None:
            assert digits(previous.split("·")[0]) == row["previous"], (row["figure"], previous)
    assert shown_any >= 6, "the demo town should show most headline figures"
    assert summary["rows"][0]["value"], "the demo town has local spend in the default period"
    period = summary["period"]
    expect(dashboard.get_by_test_id("dash-from")).to_have_value(period["from"])
    expect(dashboard.get_by_test_id("dash-to")).to_have_value(period["to"])
    expect(dashboard.get_by_test_id("dash-privacy")).to_contain_text(str(summary["k"]))
    shot(dashboard, "figures")
    shot(dashboard, "full", full_page=True)


def test_every_chart_is_drawn_with_a_table_and_the_api_csv(dashboard: Page, reports: httpx.Client, shot) -> None:
    open_dashboard(dashboard)
    for chart in CHARTS:
        container = dashboard.get_by_test_id(f"chart-{chart}")
        expect(container).to_have_attribute("aria-busy", "false")
        title = dashboard.locator(f"#chart-{chart}-heading").inner_text()
        assert title.strip(), chart
        if chart in CHART_REPORTS and not reports.get(f"/reports/{CHART_REPORTS[chart]}").json()["rows"]:
            expect(container).to_have_text("Geen gegevens in deze periode.")
            continue
        if chart == "uplift" and not [c for c in reports.get("/reports/campaigns").json() if c["bonuses"]]:
            expect(container).to_have_text("Nog geen campagnes met bonussen.")
            continue
        svg = container.locator("svg[role='img']")
        expect(svg).to_have_count(1)
        assert svg.get_attribute("aria-label").startswith(title.split(":")[0].strip()), chart
        assert container.locator("svg rect, svg circle").count() > 0, chart
        table = container.get_by_test_id("chart-table")
        table.locator("summary").click()
        expect(table.locator("table caption")).to_be_visible()
        assert table.locator("tbody tr").count() > 0, chart
        csv = container.get_by_test_id("csv-link")
        assert re.search(r"^/api/v1/reports/.+format=csv", csv.get_attribute("href")), chart
    container = dashboard.get_by_test_id("chart-heatmap")
    container.scroll_into_view_if_needed()
    shot(dashboard, "heatmap")
    with dashboard.expect_download() as download_info:
        dashboard.get_by_test_id("chart-spend_week").get_by_test_id("csv-link").click()
    path = download_info.value.path()
    assert path is not None
    with open(path, encoding="utf-8") as file:
        header = file.readline().strip()
    assert header == ",".join(reports.get("/reports/spend-per-week").json()["columns"])


def test_suppressed_cells_read_as_a_dash_never_as_zero(dashboard: Page, reports: httpx.Client) -> None:
    open_dashboard(dashboard)
    for chart, report in (("villages", "villages"), ("circulation", "circulation"), ("spend_week", "spend-per-week")):
        rows = reports.get(f"/reports/{report}").json()["rows"]
        suppressed = sum(1 for row in rows if row["suppressed"])
        container = dashboard.get_by_test_id(f"chart-{chart}")
        if not rows:
            continue
        dashes = container.locator("table td.suppressed")
        # spend per week shows four measures per suppressed week; a matrix one per cell.
        per_row = 4 if chart == "spend_week" else 1
        assert dashes.count() == suppressed * per_row, chart
        for index in range(dashes.count()):
            assert dashes.nth(index).text_content() == "—"
        if chart != "spend_week":  # the matrices write each cell's value into the picture too
            assert container.locator("svg text", has_text="—").count() == suppressed, chart
        note = container.get_by_test_id("suppressed-note")
        if suppressed:
            expect(note).to_contain_text("te weinig klanten om te tonen")
        else:
            expect(note).to_have_count(0)


def test_the_filters_are_reflected_in_the_address(dashboard: Page, reports: httpx.Client, shot) -> None:
    open_dashboard(dashboard)
    dashboard.get_by_test_id("dash-category").select_option("fun")
    dashboard.get_by_test_id("dash-apply").click()
    expect(dashboard).to_have_url(re.compile(r"/municipality/dashboard\?(.*&)?category=fun"))
    expect(dashboard.locator("body[data-dashboard-ready='true']")).to_have_count(1)
    url = dashboard.url
    assert "village=" not in url and "merchant_id=" not in url  # empty filters stay out
    expect(dashboard.get_by_test_id("dash-category")).to_have_value("fun")
    period = re.search(r"from=([\d-]+)&to=([\d-]+)", url)
    assert period, url
    fun = reports.get("/reports/summary", params={"category": "fun", "from": period[1], "to": period[2]}).json()
    spend = next(row for row in fun["rows"] if row["figure"] == "local_spend")
    text = dashboard.get_by_test_id("fig-local_spend").inner_text()
    assert (text == "—") if spend["value"] is None else digits(text) == spend["value"]
    dashboard.get_by_test_id("dash-preset").select_option("7")
    expect(dashboard).to_have_url(re.compile(r"from=\d{4}-\d{2}-\d{2}&to=\d{4}-\d{2}-\d{2}&category=fun"))
    expect(dashboard.locator("body[data-dashboard-ready='true']")).to_have_count(1)
    shot(dashboard, "filtered")


def test_the_dashboard_is_accessible(dashboard: Page, a11y) -> None:
    open_dashboard(dashboard)
    for details in dashboard.locator("details[data-testid='chart-table']").all():
        details.locator("summary").click()  # the tables count too
    a11y(dashboard, "municipality-dashboard")


def test_the_sign_in_page_is_accessible(page: Page, shot, a11y) -> None:
    page.goto("/municipality/login")
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    shot(page, "login")
    a11y(page, "municipality-login")


@pytest.mark.parametrize("screen", OTHER_PAGES)
def test_the_other_municipality_pages_are_accessible(screen: str, dashboard: Page, shot, a11y) -> None:
    path, testid = OTHER_PAGES[screen]
    dashboard.goto(path)
    expect(dashboard.get_by_test_id(testid)).to_be_visible()
    dashboard.wait_for_load_state("networkidle")
    shot(dashboard, screen)
    a11y(dashboard, f"municipality-{screen}")


def test_retention_by_sign_up_month_over_a_longer_period(dashboard: Page, reports: httpx.Client, shot, a11y) -> None:
    # The demo's shoppers signed up before its six weeks of history: 90 days hold their cohorts.
    default = reports.get("/reports/summary").json()["period"]
    start = (date.fromisoformat(default["to"]) - timedelta(days=89)).isoformat()
    period = {"from": start, "to": default["to"]}
    rows = reports.get("/reports/retention", params=period).json()["rows"]
    assert rows, "the demo town has sign-ups in the last 90 days"
    open_dashboard(dashboard, f"?from={period['from']}&to={period['to']}")
    container = dashboard.get_by_test_id("chart-retention")
    expect(container.locator("svg[role='img'] path")).to_have_count(len({row["cohort"] for row in rows}))
    cells = container.locator("table tbody td")
    shown = [cell.text_content() for cell in cells.all()]
    rates = [row["rate_pct"] for row in rows]
    assert sum(1 for text in shown if text == "—") == sum(1 for rate in rates if rate is None)
    container.scroll_into_view_if_needed()
    shot(dashboard, "retention")
    a11y(dashboard, "municipality-dashboard-90-days")

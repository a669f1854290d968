"""The municipality dashboard page (/municipality/dashboard) over HTTP: it renders in
three languages with its filters, headline figures and chart containers; its scripts
are served and their imports resolve; its texts are complete; it reads only the
reports API. The browser test (tests/browser/test_dashboard.py) checks the figures."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import httpx
import pytest

import municipality_app
from municipality_app.texts import TEXTS
from municipality_app.texts_dashboard import DASHBOARD_TEXTS

STATIC = Path(municipality_app.__file__).resolve().parent / "static"
FIGURES = ("local_spend", "purchases", "average_basket", "active_shoppers", "new_shoppers", "returning_shoppers",
           "points_issued", "points_redeemed", "points_expired", "campaign_budget_used", "outstanding_points", "liability")
CHARTS = ("spend_week", "fun_run", "villages", "heatmap", "circulation", "top", "retention", "uplift")
HTML_LANG = {"nl": "nl-BE", "fr": "fr-BE", "en": "en"}


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
async def test_the_dashboard_renders_in_each_language(client: httpx.AsyncClient, lang: str) -> None:
    response = await client.get("/municipality/dashboard", params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    texts = TEXTS[lang]
    assert f'<html lang="{HTML_LANG[lang]}">' in page
    title = html_lib.unescape(re.search(r"<title>(.*?)</title>", page).group(1))
    assert title == f"{texts['title_dashboard']} · {texts['app_name']}"
    main = html_lib.unescape(page.split('<main id="main"', 1)[1].split("</main>", 1)[0])
    for figure in FIGURES:
        assert f'data-testid="fig-{figure}"' in main and texts[f"fig_{figure}"] in main
    for chart in CHARTS:
        assert f'data-testid="chart-{chart}"' in main and texts[f"chart_{chart}"] in main
    # The filters are a GET form whose field names are the API's query parameters.
    for name in ("from", "to", "category", "village", "merchant_id"):
        assert f'name="{name}"' in main
    assert 'method="get"' in main and texts["dash_cat_fun"] in main and texts["dash_preset_28"] in main
    assert f'data-testid="nav-dashboard" aria-current="page">{texts["nav_dashboard"]}<' in html_lib.unescape(page)
    assert 'src="/municipality/static/dashboard.js"' in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "duplicate element ids"
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert f'id="{target}"' in page, target


async def test_the_dashboard_is_not_a_placeholder(client: httpx.AsyncClient) -> None:
    page = (await client.get("/municipality/dashboard")).text
    main = page.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    assert re.search(r"\b(todo|lorem|placeholder|coming soon|not implemented)\b", main, re.IGNORECASE) is None
    assert "{{" not in main and "{%" not in main
    assert main.count("<section") >= 9 and "<form" in main and "<button" in main


async def test_every_other_staff_page_links_to_the_dashboard(client: httpx.AsyncClient) -> None:
    for path in ("/municipality/", "/municipality/merchants", "/municipality/audit"):
        assert 'href="/municipality/dashboard" data-testid="nav-dashboard"' in (await client.get(path)).text


async def test_the_scripts_are_served_and_their_imports_resolve(client: httpx.AsyncClient) -> None:
    exports: dict[str, set[str]] = {}
    for name in ("admin.js", "charts.js", "dashboard.js"):
        response = await client.get(f"/municipality/static/{name}")
        assert response.status_code == 200 and "javascript" in response.headers["content-type"], name
        exports[name] = set(re.findall(r"export (?:async )?(?:function|class|const|let) ([\w$]+)", response.text))
        for group in re.findall(r"export \{([^}]+)\}", response.text):
            exports[name].update(part.strip().split(" as ")[-1] for part in group.split(","))
    for name in ("charts.js", "dashboard.js"):
        source = (await client.get(f"/municipality/static/{name}")).text
        for group, target in re.findall(r'import \{([^}]+)\} from "\./([^"]+)"', source):
            wanted = {part.strip() for part in group.split(",") if part.strip()}
            assert wanted <= exports[target], f"{name}: {wanted - exports[target]} not in {target}"
    assert {"barChart", "stackedBarChart", "lineChart", "heatMap", "dataTable", "apiCsvLink"} <= exports["charts.js"]


def test_the_dashboard_reads_the_reports_api_and_never_shows_a_suppressed_cell_as_zero() -> None:
    script = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    for report in ("summary", "spend-per-week", "fun-run", "villages", "heatmap", "circulation", "top-merchants", "retention"):
        assert f'"{report}"' in script, report
    assert "/reports/campaigns" in script and 'format: "csv"' in script
    charts = (STATIC / "charts.js").read_text(encoding="utf-8")
    assert 'SUPPRESSED = "—"' in charts and "t.dash_suppressed" in charts
    assert not re.search(r'from\s+"https?://', charts + script)
    # Suppressed measures are kept as null all the way to the table (never `|| 0`).
    assert "row.suppressed ? null" in script


def test_dashboard_texts_are_complete_in_three_languages() -> None:
    for key, (nl, fr, en) in DASHBOARD_TEXTS.items():
        assert nl.strip() and fr.strip() and en.strip(), key
        assert set(re.findall(r"\{(\w+)\}", nl)) == set(re.findall(r"\{(\w+)\}", fr)) == set(re.findall(r"\{(\w+)\}", en)), key
    used = set()
    for file in (STATIC / "dashboard.js", STATIC / "charts.js", STATIC.parent / "templates" / "dashboard.html"):
        used.update(re.findall(r"\bt\.([a-z][a-z0-9_]*)", file.read_text(encoding="utf-8")))
        used.update(re.findall(r"t\['([a-z_]+)' ~", file.read_text(encoding="utf-8")))
    for lang in ("nl", "fr", "en"):
        assert {key for key in used if not key.endswith("_")} <= set(TEXTS[lang]) | {"points", "show_table", "download_csv"}, lang
        assert DASHBOARD_TEXTS.keys() <= TEXTS[lang].keys()

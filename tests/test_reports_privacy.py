"""k-anonymity: small cells are suppressed, and so is whatever would let a total reveal them."""

from __future__ import annotations

import pytest

from backend.core.db import transaction
from backend.reports.privacy import suppress
from tests.fixtures.factories import World
from tests.reports_data import add_shopper, earn, new_town

PERIOD = {"from": "2026-03-02", "to": "2026-03-08"}


def test_primary_and_complementary_suppression_in_one_dimension() -> None:
    rows = [{"cell": c, "shoppers": n, "spend": n * 100} for c, n in (("a", 9), ("b", 2), ("c", 6), ("d", 0))]
    suppress(rows, k=5, measures=("spend",))
    assert [(r["cell"], r["suppressed"], r["spend"], r["shoppers"]) for r in rows] == [
        ("a", False, 900, 9), ("b", True, None, None), ("c", True, None, None), ("d", False, 0, 0)]


def test_matrix_rows_and_columns_never_have_a_single_suppressed_cell() -> None:
    cells = {("x", "p"): 7, ("x", "q"): 3, ("x", "r"): 8, ("y", "p"): 9, ("y", "q"): 10, ("y", "r"): 6}
    rows = [{"row": r, "col": c, "shoppers": n, "v": n} for (r, c), n in cells.items()]
    suppress(rows, k=5, measures=("v",), groupings=(lambda r: r["row"], lambda r: r["col"]))
    hidden = {(r["row"], r["col"]) for r in rows if r["suppressed"]}
    # (x,q) is small; row x then loses its smallest other cell (x,p); columns p and q each
    # had one hidden cell, so (y,p) and (y,q) follow; row y then has two: stable.
    assert hidden == {("x", "q"), ("x", "p"), ("y", "p"), ("y", "q")}
    for key in ("row", "col"):
        for value in {r[key] for r in rows}:
            assert sum(r["suppressed"] for r in rows if r[key] == value) != 1


def test_no_suppression_when_every_cell_is_large_enough() -> None:
    rows = [{"shoppers": 5, "v": 1}, {"shoppers": 12, "v": 2}]
    suppress(rows, k=5, measures=("v",))
    assert not any(r["suppressed"] for r in rows)


@pytest.fixture
async def small_town(world: World, sessionmaker):
    """Six Sint-Gillis shoppers at the bakery, two Meerdonk shoppers at the bakery, six at the bookshop."""
    async with transaction(sessionmaker) as session:
        town = await new_town(session, world.tenant)
        for i in range(6):
            await add_shopper(session, town, f"G{i}", "Sint-Gillis", "2026-01-01T10:00")
            await earn(session, town, f"G{i}", "Bakkerij", "2026-03-03T09:10", 1000 + i)
        for i in range(6):
            await add_shopper(session, town, f"M{i}", "Meerdonk", "2026-01-01T10:00")
            await earn(session, town, f"M{i}", "Boekhandel", "2026-03-04T15:10", 2000)
        for i in range(2):
            await earn(session, town, f"M{i}", "Bakkerij", "2026-03-05T10:10", 500)
    return town


async def test_village_matrix_suppresses_the_small_cell_and_its_complements(client, world, small_town) -> None:
    response = await client.get("/api/v1/reports/villages", params=PERIOD, headers=world.headers("admin"))
    assert response.status_code == 200
    body = response.json()
    assert body["k"] == 5
    cells = {(r["home_village"], r["shop_village"]): r for r in body["rows"]}
    small = cells[("Meerdonk", "Sint-Gillis")]
    assert small["suppressed"] is True and small["spend_cents"] is None and small["shoppers"] is None
    # Row Meerdonk's total (the Meerdonk shoppers' spend) and column Sint-Gillis's total
    # would reveal it: their other cells are suppressed too.
    assert cells[("Meerdonk", "Meerdonk")]["suppressed"] is True
    assert cells[("Sint-Gillis", "Sint-Gillis")]["suppressed"] is True


async def test_heatmap_hides_a_small_hour_and_one_more(client, world, small_town) -> None:
    response = await client.get("/api/v1/reports/heatmap", params=PERIOD, headers=world.headers("auditor"))
    rows = {(r["weekday"], r["hour"]): r for r in response.json()["rows"]}
    assert rows[(3, 10)]["suppressed"] is True and rows[(3, 10)]["purchases"] is None  # Thursday 10h: 2 shoppers
    assert rows[(1, 9)]["suppressed"] is True  # the smaller visible cell (6 shoppers, less spend than Wed 15h)
    assert rows[(2, 15)] == {"weekday": 2, "hour": 15, "purchases": 6, "spend_cents": 12000, "shoppers": 6,
                             "suppressed": False}


async def test_headline_figures_of_a_small_group_are_suppressed(client, world, small_town) -> None:
    response = await client.get("/api/v1/reports/summary", params={**PERIOD, "village": "Sint-Gillis",
                                                                   "from": "2026-03-05", "to": "2026-03-05"},
                                headers=world.headers("admin"))
    figures = {r["figure"]: r for r in response.json()["rows"]}
    assert figures["local_spend"]["value"] is None and figures["local_spend"]["suppressed"] is True
    assert figures["active_shoppers"]["value"] is None


async def test_csv_shows_suppressed_cells_as_empty(client, world, small_town) -> None:
    response = await client.get("/api/v1/reports/heatmap", params={**PERIOD, "format": "csv"},
                                headers=world.headers("admin"))
    lines = response.text.splitlines()
    assert "3,10,,,,true" in lines


async def test_k_is_set_per_municipality(client, world, small_town) -> None:
    response = await client.put("/api/v1/reports/settings", json={"k_anonymity": 2}, headers=world.headers("admin"))
    assert response.status_code == 200
    response = await client.get("/api/v1/reports/heatmap", params=PERIOD, headers=world.headers("admin"))
    assert not any(r["suppressed"] for r in response.json()["rows"])
    assert response.json()["k"] == 2
    bad = await client.put("/api/v1/reports/settings", json={"k_anonymity": 1}, headers=world.headers("admin"))
    assert bad.status_code == 422

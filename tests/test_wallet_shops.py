"""GET /shops: the public list of participating shops."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.db import transaction
from backend.merchants.models import Merchant, MerchantStatus
from backend.tenants.models import Tenant
from tests.fixtures.ledger import assert_problem
from tests.fixtures.wallets import API, new_tenant

SHOPS = [
    ("Bakkerij De Wilde", "bakery", "Sint-Gillis", "Kerkstraat 1"),
    ("apotheek Meerdonk", "pharmacy", "Meerdonk", "Dorp 3"),
    ("Boekhandel 't Pleintje", "books", "De Klinge", "Klingedorp 5"),
    ("Modehuis Lena", "fashion", "Sint-Pauwels", "Kerkstraat 20"),
    ("Café Sport 100%", "horeca", "Sint-Gillis", "Markt 2"),
]


async def _town(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    tenant = await new_tenant(sessionmaker)
    async with transaction(sessionmaker) as session:
        for name, category, village, address in SHOPS:
            session.add(
                Merchant(
                    tenant_id=tenant.id,
                    name=name,
                    category=category,
                    village=village,
                    address=address,
                )
            )
        for status in (MerchantStatus.PENDING, MerchantStatus.SUSPENDED, MerchantStatus.REJECTED):
            session.add(
                Merchant(
                    tenant_id=tenant.id,
                    name=f"Hidden {status}",
                    category="bakery",
                    village="Sint-Gillis",
                    status=status,
                )
            )
    return tenant


async def _names(client: httpx.AsyncClient, **params: object) -> list[str]:
    response = await client.get(f"{API}/shops", params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_lists_active_shops_by_name_without_signing_in(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await _town(sessionmaker)
    other = await _town(sessionmaker)
    response = await client.get(f"{API}/shops", params={"tenant": tenant.slug})
    items = response.json()["items"]
    assert [i["name"] for i in items] == [
        "apotheek Meerdonk",
        "Bakkerij De Wilde",
        "Boekhandel 't Pleintje",
        "Café Sport 100%",
        "Modehuis Lena",
    ]
    assert {i["id"] for i in items}.isdisjoint(
        {
            i["id"]
            for i in (await client.get(f"{API}/shops", params={"tenant": other.slug})).json()[
                "items"
            ]
        }
    )
    bakery = items[1]
    assert bakery == {
        "id": bakery["id"],
        "name": "Bakkerij De Wilde",
        "category": "bakery",
        "shopping": "run",
        "village": "Sint-Gillis",
        "address": "Kerkstraat 1",
        "postcode": "",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "kerkSTRAAT"}, ["Bakkerij De Wilde", "Modehuis Lena"]),
        ({"q": "meerdonk"}, ["apotheek Meerdonk"]),
        ({"q": "klinge"}, ["Boekhandel 't Pleintje"]),
        ({"q": "100%"}, ["Café Sport 100%"]),
        ({"q": "_"}, []),
        ({"category": "run"}, ["apotheek Meerdonk", "Bakkerij De Wilde"]),
        ({"category": "fun"}, ["Boekhandel 't Pleintje", "Modehuis Lena"]),
        ({"category": "horeca"}, ["Café Sport 100%"]),
        ({"village": "sint-gillis"}, ["Bakkerij De Wilde", "Café Sport 100%"]),
        ({"village": "Sint-Gillis", "category": "run", "q": "bak"}, ["Bakkerij De Wilde"]),
    ],
)
async def test_search_and_filters(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    params: dict[str, str],
    expected: list[str],
) -> None:
    tenant = await _town(sessionmaker)
    assert await _names(client, tenant=tenant.slug, **params) == expected


async def test_pages_through_every_shop_once(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await _town(sessionmaker)
    seen, cursor = [], None
    while True:
        params = {"tenant": tenant.slug, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (await client.get(f"{API}/shops", params=params)).json()
        seen.extend(i["name"] for i in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == await _names(client, tenant=tenant.slug)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"tenant": "no-such-town"}, 404, "tenant_not_found"),
        ({"category": "weapons"}, 422, "validation_error"),
        ({"limit": 0}, 422, "validation_error"),
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"q": "x" * 101}, 422, "validation_error"),
    ],
)
async def test_bad_queries(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    params: dict[str, object],
    status: int,
    code: str,
) -> None:
    tenant = await _town(sessionmaker)
    assert_problem(
        await client.get(f"{API}/shops", params={"tenant": tenant.slug, **params}), status, code
    )

"""A large Sint-Gillis-Waas built procedurally: shops, shoppers and their habits, from a seed.

Villages and their weights follow the real municipality (Sint-Gillis is the centre and
the largest; Sint-Pauwels, De Klinge and Meerdonk are smaller); a few shoppers live in
neighbouring towns. Shops get realistic categories (many cafés and restaurants, a bakery
in every village), closing days, and shoppers get home villages, a weekly rhythm and a
small set of favourite shops, mostly in their own village.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from backend.demo.town import POSTCODE, PROFILES
from backend.merchants.models import FUN_SHOPPING, RUN_SHOPPING
from backend.merchants.models import MerchantCategory as C

VILLAGE_WEIGHTS = {"Sint-Gillis": 0.46, "Sint-Pauwels": 0.22, "De Klinge": 0.17, "Meerdonk": 0.10}
OUTSIDE = (("Stekene", "9190"), ("Beveren", "9120"), ("Sint-Niklaas", "9100"))
CATEGORY_WEIGHTS = {
    C.BAKERY: 10, C.BUTCHER: 6, C.GROCERY: 8, C.PHARMACY: 5, C.FASHION: 12, C.SHOES: 4, C.BOOKS: 3,
    C.GIFTS: 6, C.SPORTS: 4, C.HORECA: 28, C.SERVICES: 14,
}
SHOP_WORD = {
    C.BAKERY: "Bakkerij", C.BUTCHER: "Slagerij", C.GROCERY: "Buurtsuper", C.PHARMACY: "Apotheek",
    C.FASHION: "Mode", C.SHOES: "Schoenen", C.BOOKS: "Boekhandel", C.GIFTS: "Cadeaus", C.SPORTS: "Sport",
    C.HORECA: "Café", C.SERVICES: "Kapsalon",
}
SURNAMES = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
            "De Smet", "Dubois", "Hermans", "Aerts", "Van Damme", "Verstraete", "De Bock", "Smet", "Van Hoeck",
            "Bauwens", "Verhulst", "De Wilde", "Van Puyvelde", "Heyman", "Rombaut", "Van Goethem", "Cools")
STREETS = ("Kerkstraat", "Stationsstraat", "Dorpstraat", "Molenstraat", "Heirweg", "Pastorijstraat",
           "Hogenakkerstraat", "Kapelstraat", "Nieuwstraat", "Gentstraat")
FIRST_NAMES = ("Jan", "Els", "Koen", "Sofie", "Bart", "Lien", "Wim", "Katrien", "Tom", "Griet", "Pieter", "Ann",
               "Luc", "Inge", "Eva", "Ward", "Fien", "Rik", "Mieke", "Bram", "Jolien", "Seppe", "Hanne", "Marc")


@dataclass(frozen=True)
class LargeMerchant:
    name: str
    category: str
    village: str
    address: str
    closed_weekday: int | None  # besides Sunday, when only bakeries (mornings) and horeca open

    @property
    def kind(self) -> str:
        return "run" if self.category in RUN_SHOPPING else "fun" if self.category in FUN_SHOPPING else self.category


@dataclass
class LargeShopper:
    first_name: str
    village: str
    postcode: str
    joined: datetime
    leaves_day: int  # day offset after which they stop shopping (churn); huge = never
    visits_per_week: float
    favourites: list[int]
    cum_weights: list[float]


def _pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def make_merchants(rng: random.Random, count: int) -> list[LargeMerchant]:
    merchants = []
    for village in VILLAGE_WEIGHTS:  # every village has a bakery and a café
        merchants.append((C.BAKERY, village))
        merchants.append((C.HORECA, village))
    while len(merchants) < count:
        merchants.append((_pick(rng, CATEGORY_WEIGHTS), _pick(rng, VILLAGE_WEIGHTS)))
    result = []
    for index, (category, village) in enumerate(merchants[:count]):
        closed = None if category == C.HORECA and rng.random() < 0.5 else rng.choice((0, 0, 0, 1, 2, None))
        name = f"{SHOP_WORD[category]} {rng.choice(SURNAMES)} {index + 1}"
        address = f"{rng.choice(STREETS)} {rng.randint(1, 180)}"
        result.append(LargeMerchant(name, category, village, address, closed))
    return result


def make_shoppers(rng: random.Random, count: int, merchants: list[LargeMerchant], start: date, days: int
                  ) -> list[LargeShopper]:
    by_village: dict[str, list[int]] = {}
    for i, merchant in enumerate(merchants):
        by_village.setdefault(merchant.village, []).append(i)
    run = [i for i, m in enumerate(merchants) if m.kind == "run"]
    fun = [i for i, m in enumerate(merchants) if m.kind == "fun"]
    horeca = [i for i, m in enumerate(merchants) if m.category == C.HORECA]
    services = [i for i, m in enumerate(merchants) if m.category == C.SERVICES]
    start_at = datetime.combine(start, time(0), tzinfo=UTC)
    shoppers = []
    for _ in range(count):
        if rng.random() < 0.05:
            village, postcode = rng.choice(OUTSIDE)
            home = "Sint-Gillis"
        else:
            village, postcode = _pick(rng, VILLAGE_WEIGHTS), POSTCODE
            home = village
        # 45% joined in the year before the history; the rest sign up during it.
        offset = -rng.randint(1, 365) if rng.random() < 0.45 else rng.randint(0, days - 1)
        joined = start_at + timedelta(days=offset, seconds=rng.randrange(7 * 3600, 20 * 3600))
        local_run = [i for i in by_village.get(home, []) if i in set(run)] or run
        picks: list[int] = []
        picks += rng.sample(local_run, min(len(local_run), rng.randint(1, 3)))
        picks += rng.sample(run, min(len(run), 1))
        picks += rng.sample(fun, min(len(fun), rng.randint(0, 4)))
        picks += rng.sample(horeca, min(len(horeca), rng.randint(0, 3)))
        picks += rng.sample(services, min(len(services), rng.randint(0, 1)))
        picks = sorted(set(picks))
        weights, total = [], 0.0
        for i in picks:
            weight = PROFILES[merchants[i].category].visit_weight * rng.uniform(0.4, 1.6)
            if merchants[i].village == home:
                weight *= 2.5
            total += weight
            weights.append(total)
        churn = rng.random() < 0.3
        leaves = max(offset, 0) + rng.randint(20, 200) if churn else 10**9
        shoppers.append(LargeShopper(rng.choice(FIRST_NAMES), village, postcode, joined, leaves,
                                     rng.lognormvariate(0.15, 0.55), picks, weights))
    return shoppers

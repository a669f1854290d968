"""What a demo town is made of: shops, shoppers and how each kind of shop is visited.

The small town below is modelled on Sint-Gillis-Waas (postcode 9170: Sint-Gillis,
De Klinge, Meerdonk, Sint-Pauwels). The shops are invented; only the villages are real.
A ``TownSpec`` is plain data so a later generator can build a large town procedurally
and hand it to the same history simulator (``backend.demo.history``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.demo.logins import DEMO_TENANT_NAME, DEMO_TENANT_SLUG
from backend.merchants.models import MerchantCategory as C

POSTCODE = "9170"
VILLAGES = ("Sint-Gillis", "De Klinge", "Meerdonk", "Sint-Pauwels")
# Away from the main village: a campaign of the demo ("Sjop in je dorp") brings them custom.
OUTLYING_VILLAGES = ("De Klinge", "Meerdonk")


@dataclass(frozen=True)
class CategoryProfile:
    """How a kind of shop is used: basket size in cents and how often people come."""

    low_cents: int
    mode_cents: int
    high_cents: int
    visit_weight: float  # relative chance a shopper's visit goes to this kind of shop
    topup_points: int  # the float package the shop buys at a time
    opens: float = 9.0  # local hours; the busiest hour shapes when purchases happen
    closes: float = 18.0
    busiest: float = 15.0


PROFILES: dict[str, CategoryProfile] = {
    C.BAKERY: CategoryProfile(250, 900, 3_500, 5.0, 2_500, opens=6.5, closes=18.5, busiest=8.5),
    C.BUTCHER: CategoryProfile(800, 2_400, 7_500, 2.5, 2_500, opens=8.0, busiest=11.0),
    C.GROCERY: CategoryProfile(1_000, 3_500, 12_000, 3.0, 5_000, opens=8.0, closes=19.0, busiest=17.0),
    C.PHARMACY: CategoryProfile(500, 1_900, 6_000, 1.2, 2_500),
    C.FASHION: CategoryProfile(2_500, 7_500, 24_000, 0.6, 5_000),
    C.SHOES: CategoryProfile(4_500, 9_000, 18_000, 0.3, 5_000),
    C.BOOKS: CategoryProfile(900, 2_200, 6_500, 0.7, 2_500),
    C.GIFTS: CategoryProfile(1_000, 2_800, 9_000, 0.5, 2_500),
    C.SPORTS: CategoryProfile(1_500, 5_500, 20_000, 0.4, 5_000),
    C.HORECA: CategoryProfile(700, 3_200, 11_000, 1.3, 2_500, opens=10.0, closes=22.0, busiest=19.0),
    C.SERVICES: CategoryProfile(1_800, 3_900, 9_500, 0.6, 2_500),
}


@dataclass(frozen=True)
class MerchantSpec:
    name: str
    category: str
    village: str
    address: str
    postcode: str = POSTCODE
    closed_weekday: int | None = None  # 0 = Monday; nobody trades on Sunday anyway
    vat_number: str | None = None
    iban: str | None = None
    has_demo_logins: bool = False  # owner and cashier from DEMO_LOGINS belong here
    in_pilot: bool = False  # took part in the pilot before the history (backend.demo.pilot)


@dataclass(frozen=True)
class ShopperSpec:
    first_name: str
    village: str
    postcode: str = POSTCODE
    last_name: str = ""
    login_email: str | None = None  # the shopper sign-in from DEMO_LOGINS
    in_pilot: bool = False  # saved in the pilot; some of those points lapse in the history
    visits_per_week: float | None = None  # None: drawn at random; 0: never shops in the history
    spends_points: bool = True  # False: only saves, so their oldest points lapse in time


@dataclass(frozen=True)
class TownSpec:
    slug: str
    name: str
    merchants: tuple[MerchantSpec, ...]
    shoppers: tuple[ShopperSpec, ...]
    weeks: int = 6
    profiles: dict[str, CategoryProfile] = field(default_factory=lambda: dict(PROFILES))


SMALL_TOWN_MERCHANTS: tuple[MerchantSpec, ...] = (
    MerchantSpec("Bakkerij De Wilde", C.BAKERY, "Sint-Gillis", "Kerkstraat 14", closed_weekday=0,
                 vat_number="BE0466678678", iban="BE43063112458401", has_demo_logins=True),
    MerchantSpec("Bakkerij Smet", C.BAKERY, "Sint-Pauwels", "Dorpstraat 3", closed_weekday=2,
                 vat_number="BE0406229268", iban="BE02363113005040"),
    MerchantSpec("Slagerij Van Damme", C.BUTCHER, "Sint-Gillis", "Stationsstraat 41", closed_weekday=0,
                 vat_number="BE0846171976", iban="BE83096202205615"),
    MerchantSpec("Buurtwinkel 't Klinske", C.GROCERY, "De Klinge", "Klingedorp 22",
                 vat_number="BE0700875973", iban="BE51063325757862", in_pilot=True),
    MerchantSpec("Apotheek Meerdonk", C.PHARMACY, "Meerdonk", "Meerdonkdorp 8",
                 vat_number="BE0406502551", iban="BE69103462574678", in_pilot=True),
    MerchantSpec("Modehuis Verstraete", C.FASHION, "Sint-Gillis", "Stationsstraat 77", closed_weekday=0,
                 vat_number="BE0420869439", iban="BE31001624920455"),
    MerchantSpec("Schoenen De Bock", C.SHOES, "Sint-Pauwels", "Kerkstraat 5", closed_weekday=0,
                 vat_number="BE0568134146", iban="BE55363374051844"),
    MerchantSpec("Boekhandel 't Leeshuis", C.BOOKS, "Sint-Gillis", "Kerkstraat 30",
                 vat_number="BE0451102854", iban="BE30063935504411"),
    MerchantSpec("Cadeauwinkel De Waaslander", C.GIFTS, "Sint-Pauwels", "Pastorijstraat 12", closed_weekday=0,
                 vat_number="BE0519829334", iban="BE76103979275995"),
    MerchantSpec("Sport Goossens", C.SPORTS, "De Klinge", "Heirweg 61", closed_weekday=0,
                 vat_number="BE0503893719", iban="BE31068298268155"),
    MerchantSpec("Brasserie De Linde", C.HORECA, "Meerdonk", "Meerdonkdorp 1", closed_weekday=1,
                 vat_number="BE0512878986", iban="BE44363225661345"),
    MerchantSpec("Kapsalon Lien", C.SERVICES, "Sint-Gillis", "Stationsstraat 12", closed_weekday=0,
                 vat_number="BE0831316031", iban="BE50063893678718"),
)

# (first name, village, postcode); a few come from neighbouring towns to shop here.
_SHOPPERS: tuple[tuple[str, str, str], ...] = (
    ("Jan", "Sint-Gillis", POSTCODE), ("Els", "Sint-Gillis", POSTCODE), ("Koen", "Sint-Gillis", POSTCODE),
    ("Sofie", "Sint-Gillis", POSTCODE), ("Bart", "Sint-Gillis", POSTCODE), ("Lien", "Sint-Gillis", POSTCODE),
    ("Wim", "Sint-Gillis", POSTCODE), ("Katrien", "Sint-Gillis", POSTCODE), ("Tom", "Sint-Gillis", POSTCODE),
    ("Griet", "Sint-Gillis", POSTCODE), ("Pieter", "Sint-Gillis", POSTCODE), ("Marleen", "Sint-Gillis", POSTCODE),
    ("Dirk", "Sint-Gillis", POSTCODE), ("Hilde", "Sint-Gillis", POSTCODE), ("Stijn", "Sint-Gillis", POSTCODE),
    ("Nele", "Sint-Gillis", POSTCODE), ("Joris", "Sint-Gillis", POSTCODE),
    ("Ann", "Sint-Pauwels", POSTCODE), ("Luc", "Sint-Pauwels", POSTCODE), ("Inge", "Sint-Pauwels", POSTCODE),
    ("Geert", "Sint-Pauwels", POSTCODE), ("Sarah", "Sint-Pauwels", POSTCODE), ("Kris", "Sint-Pauwels", POSTCODE),
    ("Eva", "De Klinge", POSTCODE), ("Maarten", "De Klinge", POSTCODE), ("Leen", "De Klinge", POSTCODE),
    ("Jef", "De Klinge", POSTCODE), ("Lotte", "De Klinge", POSTCODE),
    ("Ward", "Meerdonk", POSTCODE), ("Fien", "Meerdonk", POSTCODE), ("Rik", "Meerdonk", POSTCODE),
    ("Mieke", "Meerdonk", POSTCODE), ("Bram", "Meerdonk", POSTCODE),
    ("Jolien", "Stekene", "9190"), ("Frank", "Beveren", "9120"), ("Ilse", "Sint-Niklaas", "9100"),
    ("Seppe", "Stekene", "9190"), ("Hanne", "Kemzeke", "9190"), ("Marc", "Sint-Niklaas", "9100"),
)

# The pilot's savers: villagers of the two pilot shops, none with a sign-in (no e-mail to warn).
# Those who pay with points spend their oldest (pilot) points first; two stopped shopping
# after the pilot and four only ever save, so at least six see pilot points lapse: enough
# for the dashboard to show the expired points (it hides figures of fewer than k = 5 people).
_PILOT_SHOPPERS = frozenset({"Eva", "Maarten", "Leen", "Jef", "Ward", "Fien", "Rik", "Mieke"})
_GONE_QUIET = frozenset({"Jef", "Rik"})
_ONLY_SAVE = frozenset({"Maarten", "Leen", "Ward", "Mieke"})

SMALL_TOWN_SHOPPERS: tuple[ShopperSpec, ...] = (
    ShopperSpec("An", "Sint-Gillis", POSTCODE, last_name="Peeters", login_email="an.peeters@example.be"),
    *(ShopperSpec(first, village, postcode, in_pilot=first in _PILOT_SHOPPERS,
                  visits_per_week=0.0 if first in _GONE_QUIET else None, spends_points=first not in _ONLY_SAVE)
      for first, village, postcode in _SHOPPERS),
)


def small_town() -> TownSpec:
    """The demo town of ``kernpunt demo``: 12 shops, 40 shoppers, six weeks."""
    return TownSpec(
        slug=DEMO_TENANT_SLUG,
        name=DEMO_TENANT_NAME,
        merchants=SMALL_TOWN_MERCHANTS,
        shoppers=SMALL_TOWN_SHOPPERS,
    )

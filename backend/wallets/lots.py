"""Which points of a wallet expire when: first in, first out, as pure functions.

Every credit to a wallet (an earn, a bonus, points given back by a reversal, a card's
points merged in) is a *lot* that lapses ``expiry_days`` after it arrived. Every debit
(a redemption, an expiry, a forfeit, the reversal of an earn) eats the lots that lapse
soonest first, so the points a shopper keeps are always the youngest ones.

Movements are given in ledger order (entry id). Under concurrency a debit can carry a
smaller id than the credit that paid for it; such a debit is remembered as a shortfall
that the next credits absorb, so the result never depends on that race.

The wallet view shows the next 60 days from these lots; the expiry job uses the same
lots to post ``expiry`` transfers for those whose date has passed.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
EXPIRING_HORIZON = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Movement:
    """One wallet entry: ``points`` > 0 is a credit (a new lot), < 0 a debit."""

    at: datetime
    points: int


@dataclass(frozen=True, slots=True)
class Lot:
    expires_at: datetime
    points: int


def open_lots(movements: Iterable[Movement], *, expiry_days: int) -> list[Lot]:
    """The lots still (partly) in the wallet after all movements, soonest to lapse first."""
    lifetime = timedelta(days=expiry_days)
    # Parallel sorted lists: expiry instants and the points left in each lot.
    expiries: list[datetime] = []
    remaining: list[int] = []
    shortfall = 0
    for movement in movements:
        if movement.points > 0:
            points = movement.points
            absorbed = min(points, shortfall)
            shortfall -= absorbed
            points -= absorbed
            if points:
                expires_at = movement.at + lifetime
                # After equal expiries: of two lots lapsing together the older stays first.
                index = bisect.bisect_right(expiries, expires_at)
                expiries.insert(index, expires_at)
                remaining.insert(index, points)
        elif movement.points < 0:
            owed = -movement.points
            while owed and remaining:
                taken = min(owed, remaining[0])
                owed -= taken
                remaining[0] -= taken
                if remaining[0] == 0:
                    del expiries[0]
                    del remaining[0]
            shortfall += owed
    return [Lot(expires_at=e, points=p) for e, p in zip(expiries, remaining, strict=True)]


def due_lots(lots: Iterable[Lot], *, until: datetime) -> list[Lot]:
    """Lots lapsing at or before ``until`` (for the expiry job: ``until=now``)."""
    return [lot for lot in lots if lot.expires_at <= until]


def expiring_by_day(
    lots: Iterable[Lot], *, now: datetime, horizon: timedelta = EXPIRING_HORIZON
) -> list[tuple[date, int]]:
    """Points lapsing within ``horizon`` of ``now``, per Brussels calendar day, soonest first.

    Lots already past their date (the expiry job has not run yet) are included: they
    are the first to go.
    """
    per_day: dict[date, int] = {}
    for lot in due_lots(lots, until=now + horizon):
        day = lot.expires_at.astimezone(BRUSSELS).date()
        per_day[day] = per_day.get(day, 0) + lot.points
    return sorted(per_day.items())

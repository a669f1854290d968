"""The demo town's pilot before its history, and the expiry that pilot causes in it.

Points lapse ``points_expiry_days`` after they were earned (two years by default), far
longer than the six weeks the demo simulates. So the municipality started with a pilot in
two village shops that long ago: a few shoppers saved there, and what they never spent
lapses during the history, where the expiry job moves it to breakage. Which points lapse
is decided by the expiry job's own lots (``backend.wallets.lots``, first in, first out),
kept here per wallet from the same movements the ledger will hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.wallets.lots import Movement, open_lots

LOCAL_TZ = ZoneInfo("Europe/Brussels")
# The pilot's purchases lapse on these days of the history (offsets, inclusive), so the
# expiry runs after them fall inside the dashboard's default period (the last 28 days).
LAPSE_OFFSETS = (13, 33)
PILOT_EARNS = (2, 4)  # purchases per pilot shopper, inclusive
LAUNCHED_BEFORE_PILOT = timedelta(days=7)  # the municipality and its pilot shops joined then
EXPIRY_HOUR = 1.5  # Brussels time of the nightly expiry run
SATURDAY = 5


def has_pilot(expiry_days: int) -> bool:
    """Only when points live longer than the history: shorter, its own points lapse in it."""
    return expiry_days > LAPSE_OFFSETS[1]


def pilot_days(start: date, expiry_days: int) -> list[date]:
    """The pilot's shopping days whose points lapse in the history: its Saturdays, when the
    village shops took part (three of them, so the expiry job has three nights of work)."""
    first = start - timedelta(days=expiry_days) + timedelta(days=LAPSE_OFFSETS[0])
    last = start - timedelta(days=expiry_days) + timedelta(days=LAPSE_OFFSETS[1])
    return [first + timedelta(days=n) for n in range((last - first).days + 1)
            if (first + timedelta(days=n)).weekday() == SATURDAY]


def launched(start: date, expiry_days: int) -> datetime:
    first = pilot_days(start, expiry_days)[0]
    return datetime.combine(first, time(9), tzinfo=UTC) - LAUNCHED_BEFORE_PILOT


class WalletLots:
    """Every wallet's movements in posting order (which is entry order), for its lots."""

    def __init__(self, wallets: int, *, expiry_days: int) -> None:
        self.expiry_days = expiry_days
        self.lifetime = timedelta(days=expiry_days)
        self.movements: list[list[Movement]] = [[] for _ in range(wallets)]

    def credit(self, wallet: int, at: datetime, points: int) -> None:
        self.movements[wallet].append(Movement(at=at, points=points))

    def debit(self, wallet: int, at: datetime, points: int) -> None:
        self.movements[wallet].append(Movement(at=at, points=-points))

    def lapsed(self, wallet: int, *, today: date) -> list[tuple[date, int]]:
        """Points per lapse day before ``today``, as ``expiry.service.expire_wallet`` finds them."""
        movements = self.movements[wallet]
        if not movements or movements[0].at + self.lifetime >= datetime.combine(today, time(0), tzinfo=UTC):
            return []  # nothing in this wallet is old enough (the usual case: skip the lots)
        due: dict[date, int] = {}
        for lot in open_lots(movements, expiry_days=self.expiry_days):
            day = lot.expires_at.astimezone(LOCAL_TZ).date()
            if day < today:
                due[day] = due.get(day, 0) + lot.points
        return sorted(due.items())

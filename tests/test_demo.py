"""The demo town's planned history, checked without a database: deterministic, and only
plans what the ledger will accept (the database side is covered by tests/test_cli.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from backend.demo.history import LOCAL_TZ, Earn, HistorySimulator, Payout, Redeem, Reversal, Topup
from backend.demo.logins import DEMO_LOGINS
from backend.demo.town import small_town

START = date(2026, 10, 12)  # spans the end of summer time (25 October)


def plan(seed: int = 1) -> tuple[HistorySimulator, list]:
    simulator = HistorySimulator(
        small_town(), seed=seed, start=START, days=42, points_per_euro=1, point_value_cents=1, key_prefix=f"t{seed}"
    )
    events = [event for _day, day_events in simulator.history() for event in day_events]
    return simulator, events + simulator.closing()


def test_the_same_seed_plans_the_same_history() -> None:
    assert plan(1)[1] == plan(1)[1]
    assert plan(1)[1] != plan(2)[1]


def test_small_town_matches_the_demo_logins() -> None:
    town = small_town()
    assert 10 <= len(town.merchants) <= 14 and len(town.shoppers) == 40
    assert {m.category for m in town.merchants} == set(town.profiles)
    assert [m.name for m in town.merchants if m.has_demo_logins] == ["Bakkerij De Wilde"]
    shopper_logins = {login.email for login in DEMO_LOGINS if login.role == "shopper"}
    assert {s.login_email for s in town.shoppers if s.login_email} == shopper_logins
    assert len({m.name for m in town.merchants}) == len(town.merchants)


def test_the_plan_never_overdraws_and_respects_the_week() -> None:
    simulator, events = plan()
    town = simulator.spec
    floats = [0] * len(town.merchants)
    wallets = [0] * len(town.shoppers)
    redeemed = [0] * len(town.merchants)
    by_key = {}
    weekdays: Counter[int] = Counter()
    for event in events:
        if isinstance(event, Topup):
            floats[event.merchant] += event.points
        elif isinstance(event, Earn):
            local = event.at.astimezone(LOCAL_TZ)
            assert local.weekday() != 6, "no Sunday trading"
            assert town.merchants[event.merchant].closed_weekday != local.weekday()
            assert event.points == event.purchase_cents // 100
            floats[event.merchant] -= event.points
            wallets[event.shopper] += event.points
            weekdays[local.weekday()] += 1
        elif isinstance(event, Redeem):
            assert event.captured is None or 0 < event.captured <= event.held
            assert event.held <= wallets[event.shopper]
            wallets[event.shopper] -= event.captured or 0
            redeemed[event.merchant] += event.captured or 0
        elif isinstance(event, Payout):
            redeemed[event.merchant] -= event.points
        elif isinstance(event, Reversal):
            target = by_key[event.target_key]
            amount = event.amount or (target.points if isinstance(target, Earn) else target.captured)
            if isinstance(target, Earn):
                wallets[target.shopper] -= amount
                floats[target.merchant] += amount
            else:
                redeemed[target.merchant] -= amount
                wallets[target.shopper] += amount
        assert min(floats) >= 0 and min(wallets) >= 0 and min(redeemed) >= 0, event
        by_key[event.key] = event
    assert weekdays.most_common(1)[0][0] == 5, "Saturday is the busiest day"
    kinds = Counter(type(event).__name__ for event in events)
    assert kinds["Payout"] == 1 and kinds["Reversal"] == 2
    assert sum(1 for e in events if isinstance(e, Redeem) and e.captured is None) == 1
    assert {e.merchant for e in events if isinstance(e, Topup)} == set(range(len(town.merchants)))
    # Every timestamp is aware UTC, in the planned weeks.
    for event in events:
        if hasattr(event, "at"):
            assert event.at.utcoffset() == timedelta(0)
            assert START <= event.at.astimezone(LOCAL_TZ).date() < START + timedelta(days=42)

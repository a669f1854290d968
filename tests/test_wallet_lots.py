"""FIFO expiry lots: examples and properties against a point-by-point reference model."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.wallets.lots import Lot, Movement, due_lots, expiring_by_day, open_lots

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_no_movements_no_lots() -> None:
    assert open_lots([], expiry_days=365) == []


def test_each_credit_is_a_lot_expiring_after_the_period() -> None:
    lots = open_lots([Movement(day(0), 100), Movement(day(10), 50)], expiry_days=365)
    assert lots == [Lot(day(365), 100), Lot(day(375), 50)]


def test_debits_eat_the_oldest_lot_first() -> None:
    movements = [Movement(day(0), 100), Movement(day(10), 50), Movement(day(20), -120)]
    assert open_lots(movements, expiry_days=365) == [Lot(day(375), 30)]


def test_a_debit_only_eats_lots_that_existed_before_it() -> None:
    movements = [Movement(day(0), 10), Movement(day(1), -10), Movement(day(2), 40)]
    assert open_lots(movements, expiry_days=30) == [Lot(day(32), 40)]


def test_a_debit_ahead_of_its_credit_in_ledger_order_is_absorbed_by_the_next_credit() -> None:
    # Concurrent commits can give a debit a smaller entry id than the credit paying it.
    movements = [Movement(day(0), -30), Movement(day(0), 50), Movement(day(1), 20)]
    assert open_lots(movements, expiry_days=10) == [Lot(day(10), 20), Lot(day(11), 20)]


def test_lots_ordered_by_expiry_even_when_credits_arrive_out_of_time_order() -> None:
    # Ledger order (entry id) and created_at can disagree (e.g. back-dated postings).
    movements = [Movement(day(5), 10), Movement(day(1), 10), Movement(day(9), -15)]
    assert open_lots(movements, expiry_days=100) == [Lot(day(105), 5)]


def test_zero_points_change_nothing() -> None:
    assert open_lots([Movement(day(0), 0), Movement(day(1), 5)], expiry_days=1) == [Lot(day(2), 5)]


def test_due_lots_include_the_boundary() -> None:
    lots = [Lot(day(1), 3), Lot(day(2), 4)]
    assert due_lots(lots, until=day(1)) == [Lot(day(1), 3)]
    assert due_lots(lots, until=day(0)) == []


def test_expiring_groups_by_brussels_day_within_sixty_days() -> None:
    late_evening_utc = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 1 February in Brussels
    lots = [
        Lot(day(-3), 7),  # overdue, not swept yet: still listed, first
        Lot(late_evening_utc, 5),
        Lot(late_evening_utc + timedelta(minutes=10), 6),
        Lot(day(60), 8),  # exactly at the horizon
        Lot(day(61), 9),  # beyond
    ]
    assert expiring_by_day(lots, now=day(0)) == [
        (date(2025, 12, 29), 7),
        (date(2026, 2, 1), 11),
        (date(2026, 3, 2), 8),
    ]


# --------------------------------------------------------------------------- properties

movement_lists = st.lists(
    st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=-30, max_value=30)),
    max_size=40,
)


def _reference(movements: list[Movement], expiry_days: int) -> list[datetime]:
    """Point by point: every point knows when it lapses; a debit takes the soonest."""
    points: list[datetime] = []
    owed = 0
    for movement in movements:
        if movement.points > 0:
            fresh = [movement.at + timedelta(days=expiry_days)] * movement.points
            absorbed = min(owed, len(fresh))
            owed -= absorbed
            points.extend(fresh[absorbed:])
            points.sort()
        else:
            for _ in range(-movement.points):
                if points:
                    points.pop(0)
                else:
                    owed += 1
    return points


def _expand(lots: list[Lot]) -> list[datetime]:
    return [lot.expires_at for lot in lots for _ in range(lot.points)]


@settings(max_examples=300, deadline=None)
@given(raw=movement_lists, expiry_days=st.integers(min_value=1, max_value=800))
def test_matches_the_point_by_point_model(raw: list[tuple[int, int]], expiry_days: int) -> None:
    movements = [Movement(day(d), p) for d, p in raw]
    lots = open_lots(movements, expiry_days=expiry_days)
    assert _expand(lots) == _reference(movements, expiry_days)


@settings(max_examples=300, deadline=None)
@given(raw=movement_lists, expiry_days=st.integers(min_value=1, max_value=800))
def test_lots_add_up_to_the_balance_when_the_wallet_never_went_negative(
    raw: list[tuple[int, int]], expiry_days: int
) -> None:
    # Keep only debits the running balance covers, as the ledger's floor guarantees.
    movements, balance = [], 0
    for d, p in raw:
        if balance + p >= 0:
            movements.append(Movement(day(d), p))
            balance += p
    lots = open_lots(movements, expiry_days=expiry_days)
    assert sum(lot.points for lot in lots) == balance
    assert all(lot.points > 0 for lot in lots)
    assert [lot.expires_at for lot in lots] == sorted(lot.expires_at for lot in lots)
    # What lapses within the horizon is a part of the balance, never more.
    assert sum(p for _, p in expiring_by_day(lots, now=day(200))) <= balance


@settings(max_examples=200, deadline=None)
@given(
    credits=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
    spent=st.integers(min_value=0, max_value=500),
)
def test_the_points_kept_are_the_youngest(credits: list[int], spent: int) -> None:
    movements = [Movement(day(i), p) for i, p in enumerate(credits)]
    spent = min(spent, sum(credits))
    lots = open_lots([*movements, Movement(day(len(credits)), -spent)], expiry_days=30)
    kept = _expand(lots)
    everything = _expand([Lot(m.at + timedelta(days=30), m.points) for m in movements])
    assert kept == everything[spent:]

"""k-anonymity: no published cell may describe fewer than k distinct shoppers.

A cell with 1..k-1 shoppers is suppressed (its measures become null and it is flagged).
Complementary suppression: a group of cells whose total is published elsewhere (a whole
one-dimensional chart, a row or a column of a matrix) must not contain exactly one
suppressed cell, or the total minus the others would reveal it; the smallest published
cell of such a group is suppressed as well, repeatedly, until no group has exactly one.
Cells with no shoppers at all (zero) describe nobody and stay visible.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

SHOPPERS = "shoppers"
FLAG = "suppressed"


def _describes_people(row: dict[str, Any]) -> bool:
    return (row.get(SHOPPERS) or 0) > 0


def suppress(
    rows: list[dict[str, Any]],
    *,
    k: int,
    measures: Sequence[str],
    groupings: Sequence[Callable[[dict[str, Any]], Hashable]] = (lambda row: None,),
) -> list[dict[str, Any]]:
    """Flag and blank the cells of ``rows`` (in place; returned for convenience).

    ``groupings`` maps a row to the group(s) whose totals are published: by default the
    whole table is one group.
    """
    hidden = [_describes_people(row) and row[SHOPPERS] < k for row in rows]
    changed = True
    while changed:
        changed = False
        for grouping in groupings:
            groups: dict[Hashable, list[int]] = {}
            for index, row in enumerate(rows):
                if _describes_people(row):
                    groups.setdefault(grouping(row), []).append(index)
            for members in groups.values():
                if sum(hidden[i] for i in members) != 1:
                    continue
                visible = [i for i in members if not hidden[i]]
                if not visible:
                    continue
                smallest = min(visible, key=lambda i: (rows[i][SHOPPERS], *(rows[i].get(m) or 0 for m in measures)))
                hidden[smallest] = True
                changed = True
    for row, hide in zip(rows, hidden, strict=True):
        row[FLAG] = hide
        if hide:
            for measure in (*measures, SHOPPERS):
                row[measure] = None
    return rows


def guard(value: int | None, *, shoppers: int, k: int) -> int | None:
    """A single figure describing ``shoppers`` people: hidden when 1..k-1 of them."""
    return None if 0 < shoppers < k else value

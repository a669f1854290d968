"""Reporting tables: one activity rollup kept in step with the ledger, and per-tenant settings.

``report_activity`` holds, per Brussels day and hour, per shop and per shopper, what
happened: purchases registered at earn (count, cents, points), bonus points, points
redeemed and points expired. It is written in the same transaction as the transfer that
causes it (``backend.reports.rollup.apply_transfer`` is called by ``post_transfer``), so
it never runs behind the ledger, and ``backend.reports.rollup.check`` compares it with a
full recomputation from the transfers. Keeping the shopper id (never shown) makes exact
distinct-shopper counts possible, which the k-anonymity rule needs for every cell.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, SmallInteger
from sqlmodel import Field, SQLModel

NO_MERCHANT = 0  # expiries belong to no shop


class ReportActivity(SQLModel, table=True):
    __tablename__ = "report_activity"
    __table_args__ = (
        Index("ix_report_activity_shopper", "tenant_id", "shopper_id", "kind", "day"),
        Index("ix_report_activity_merchant", "tenant_id", "merchant_id", "kind", "day"),
    )

    tenant_id: int = Field(sa_type=BigInteger, primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)  # earn, bonus, redeem, expiry
    day: date = Field(sa_type=Date, primary_key=True)  # Europe/Brussels calendar day
    merchant_id: int = Field(sa_type=BigInteger, primary_key=True)
    shopper_id: int = Field(sa_type=BigInteger, primary_key=True)
    hour: int = Field(sa_type=SmallInteger, primary_key=True)  # Brussels wall-clock hour
    # For a redemption: the category of the shop where the shopper last earned before it.
    source_category: str = Field(default="", max_length=32, primary_key=True)
    weekday: int = Field(sa_type=SmallInteger)  # 0 = Monday
    week: date = Field(sa_type=Date)  # the Monday of ``day``
    month: date = Field(sa_type=Date)  # the first of ``day``'s month
    n: int = Field(default=0)  # purchases (earn) or transfers (other kinds), net of full reversals
    cents: int = Field(default=0, sa_type=BigInteger)  # purchase amount registered at earn
    points: int = Field(default=0, sa_type=BigInteger)


class ReportShopperMonth(SQLModel, table=True):
    """One shopper's month: on which days they were active, per kind, and the month's sums.

    Derived from ``report_activity`` and written in the same transaction (see
    ``backend.reports.shopper_months``). The dashboard's headline figures count distinct
    shoppers over periods of up to years; scanning one row per shopper and month (a day
    bitmask: bit d-1 is day d) instead of one per purchase keeps a year's summary fast, and
    keying by shopper means no two tills ever update the same row.
    """

    __tablename__ = "report_shopper_month"

    tenant_id: int = Field(sa_type=BigInteger, primary_key=True)
    month: date = Field(sa_type=Date, primary_key=True)  # the first of a Brussels month
    shopper_id: int = Field(sa_type=BigInteger, primary_key=True)
    # A day's bit is set while that day has a rollup row of the kind with points left
    # (a fully reversed purchase made nobody active).
    earn_days: int = Field(default=0)
    bonus_days: int = Field(default=0)
    redeem_days: int = Field(default=0)
    expiry_days: int = Field(default=0)
    purchases: int = Field(default=0)
    spend_cents: int = Field(default=0, sa_type=BigInteger)
    earn_points: int = Field(default=0, sa_type=BigInteger)
    bonus_points: int = Field(default=0, sa_type=BigInteger)
    redeem_points: int = Field(default=0, sa_type=BigInteger)
    expiry_points: int = Field(default=0, sa_type=BigInteger)


class ReportSetting(SQLModel, table=True):
    """Per-municipality report settings; a tenant without a row uses the defaults."""

    __tablename__ = "report_setting"

    tenant_id: int = Field(sa_type=BigInteger, primary_key=True, foreign_key="tenant.id")
    k_anonymity: int = Field(default=5)

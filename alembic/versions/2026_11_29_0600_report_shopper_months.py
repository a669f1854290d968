"""Reports: per-shopper monthly rollup (day bitmasks and sums) for fast headline figures

Revision ID: 9a3e5d71c2b4
Revises: c4d2a7e19b30
Create Date: 2026-11-29 06:00:00+00:00

The table is filled from report_activity on upgrade, so an existing town's dashboard is
right from the first request after the migration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9a3e5d71c2b4'
down_revision: str | None = 'c4d2a7e19b30'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('earn', 'bonus', 'redeem', 'expiry')


def upgrade() -> None:
    op.create_table(
        'report_shopper_month',
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('shopper_id', sa.BigInteger(), nullable=False),
        *(sa.Column(f'{kind}_days', sa.Integer(), nullable=False) for kind in KINDS),
        sa.Column('purchases', sa.Integer(), nullable=False),
        sa.Column('spend_cents', sa.BigInteger(), nullable=False),
        *(sa.Column(f'{kind}_points', sa.BigInteger(), nullable=False) for kind in KINDS),
        sa.PrimaryKeyConstraint('tenant_id', 'month', 'shopper_id', name=op.f('pk_report_shopper_month')),
    )
    _backfill()


def _backfill() -> None:
    """One row per (tenant, month, shopper) from the activity rows, in SQL on both databases."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        day_of_month = 'CAST(EXTRACT(DAY FROM day) AS INTEGER)'
    else:
        day_of_month = "CAST(strftime('%d', day) AS INTEGER)"
    # Per (tenant, month, shopper, kind, day) first, so that each day's bit is added once.
    days = ', '.join(
        f"SUM(CASE WHEN kind = '{kind}' AND active THEN bit ELSE 0 END) AS {kind}_days" for kind in KINDS)
    points = ', '.join(f"SUM(CASE WHEN kind = '{kind}' THEN points ELSE 0 END) AS {kind}_points" for kind in KINDS)
    op.execute(f"""
        INSERT INTO report_shopper_month (tenant_id, month, shopper_id, {', '.join(f'{k}_days' for k in KINDS)},
                                          purchases, spend_cents, {', '.join(f'{k}_points' for k in KINDS)})
        SELECT tenant_id, month, shopper_id, {days},
               SUM(CASE WHEN kind = 'earn' THEN n ELSE 0 END), SUM(CASE WHEN kind = 'earn' THEN cents ELSE 0 END),
               {points}
        FROM (
            SELECT tenant_id, month, shopper_id, kind, (1 << ({day_of_month} - 1)) AS bit,
                   MAX(CASE WHEN points <> 0 THEN 1 ELSE 0 END) = 1 AS active,
                   SUM(n) AS n, SUM(cents) AS cents, SUM(points) AS points
            FROM report_activity
            GROUP BY tenant_id, month, shopper_id, kind, day
        ) AS per_day
        GROUP BY tenant_id, month, shopper_id
    """)


def downgrade() -> None:
    op.drop_table('report_shopper_month')

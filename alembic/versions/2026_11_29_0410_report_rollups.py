"""Reports: the activity rollup kept in step with the ledger, and per-tenant report settings

Revision ID: 5e1f0c2a9b7d
Revises: 772ac0bb0a3e
Create Date: 2026-11-29 04:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5e1f0c2a9b7d'
down_revision: str | None = '772ac0bb0a3e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'report_activity',
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('merchant_id', sa.BigInteger(), nullable=False),
        sa.Column('shopper_id', sa.BigInteger(), nullable=False),
        sa.Column('hour', sa.SmallInteger(), nullable=False),
        sa.Column('source_category', sa.String(length=32), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('week', sa.Date(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('cents', sa.BigInteger(), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'kind', 'day', 'merchant_id', 'shopper_id', 'hour', 'source_category'),
    )
    op.create_index('ix_report_activity_shopper', 'report_activity', ['tenant_id', 'shopper_id', 'kind', 'day'])
    op.create_index('ix_report_activity_merchant', 'report_activity', ['tenant_id', 'merchant_id', 'kind', 'day'])
    op.create_table(
        'report_setting',
        sa.Column('tenant_id', sa.BigInteger(), sa.ForeignKey('tenant.id'), nullable=False),
        sa.Column('k_anonymity', sa.Integer(), nullable=False, server_default='5'),
        sa.PrimaryKeyConstraint('tenant_id'),
    )


def downgrade() -> None:
    op.drop_table('report_setting')
    op.drop_index('ix_report_activity_merchant', table_name='report_activity')
    op.drop_index('ix_report_activity_shopper', table_name='report_activity')
    op.drop_table('report_activity')

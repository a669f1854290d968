"""Won Stripe disputes: reinstated cents on a top-up, points given back, cancelled float debt

Revision ID: c4d2a7e19b30
Revises: 81206cf34010
Create Date: 2026-11-29 05:28:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = 'c4d2a7e19b30'
down_revision: str | None = '81206cf34010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # server_default: existing rows start at zero (nothing was ever given back).
    with op.batch_alter_table('topup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reinstated_cents', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reinstated_points', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('debt_cancelled_points', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(
            batch_op.f('ck_topup_given_back_within_taken'),
            'reinstated_cents >= 0 AND reinstated_points >= 0 AND debt_cancelled_points >= 0'
            ' AND reinstated_points + debt_cancelled_points <= clawed_back_points + debt_points',
        )
    with op.batch_alter_table('float_debt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_points', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.create_check_constraint(
            batch_op.f('ck_float_debt_cancelled_within'),
            'cancelled_points >= 0 AND collected_points + cancelled_points <= points',
        )


def downgrade() -> None:
    with op.batch_alter_table('float_debt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_float_debt_cancelled_within'), type_='check')
        batch_op.drop_column('cancelled_points')
    with op.batch_alter_table('topup', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_topup_given_back_within_taken'), type_='check')
        batch_op.drop_column('debt_cancelled_points')
        batch_op.drop_column('reinstated_points')
        batch_op.drop_column('reinstated_cents')

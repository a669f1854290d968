"""Merchant onboarding: contact details and status reason on merchant; the tenant's villages

Revision ID: 772ac0bb0a3e
Revises: 759d904aadde
Create Date: 2026-11-29 03:44:47.951929+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op
from backend.core.types import UTCDateTime

revision: str = '772ac0bb0a3e'
down_revision: str | None = '759d904aadde'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults fill the rows that exist already (shops added before onboarding).
    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('status_changed_at', UTCDateTime(), nullable=True))

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('villages', sa.JSON(), nullable=False, server_default='[]'))



def downgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('villages')

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_column('status_changed_at')
        batch_op.drop_column('status_reason')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_name')


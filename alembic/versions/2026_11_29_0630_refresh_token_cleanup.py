"""Refresh tokens: indexes for the clean-up job (expires_at, revoked_at)

Revision ID: 5e0b7c3a91d2
Revises: 9a3e5d71c2b4
Create Date: 2026-11-29 06:30:00+00:00

The job (backend/auth/housekeeping.py) deletes long-expired and long-revoked rows in
batches; without these indexes every batch would scan the whole table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5e0b7c3a91d2'
down_revision: str | None = '9a3e5d71c2b4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_token_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_refresh_token_revoked_at'), ['revoked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_token_revoked_at'))
        batch_op.drop_index(batch_op.f('ix_refresh_token_expires_at'))

"""append-only ledger: refuse UPDATE and DELETE of transfers, entries and seals

Revision ID: a9f1c2d3e4b5
Revises: 52ea3e6aa9ea
Create Date: 2026-11-29 02:40:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a9f1c2d3e4b5"
down_revision: str | None = "52ea3e6aa9ea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("transfer", "entry", "ledger_seal")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION kernpunt_refuse_ledger_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'kernpunt: % is append-only; correct with a reversing transfer',
                    TG_TABLE_NAME USING ERRCODE = 'P0001';
            END $$
            """
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION kernpunt_refuse_ledger_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION kernpunt_refuse_ledger_change()"
            )
    else:
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'kernpunt: {table} is append-only; "
                    "correct with a reversing transfer'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS kernpunt_refuse_ledger_change()")
    else:
        for table in APPEND_ONLY_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")

"""The webhook bridge: its session counters and its dead letters.

Revision ID: 0003_bridge
Revises: 0002 (0002_local_reputation)
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_bridge"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bridge_state",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("started_at_ms", sa.BigInteger, nullable=False),
        sa.Column("delivered_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failed_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("last_error_at_ms", sa.BigInteger, nullable=True),
        sa.Column("last_delivered_cursor", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "bridge_dead_letters",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_cursor", sa.BigInteger, nullable=False, unique=True),
        sa.Column("hook_path", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_http_status", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("first_attempt_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("bridge_dead_letters")
    op.drop_table("bridge_state")

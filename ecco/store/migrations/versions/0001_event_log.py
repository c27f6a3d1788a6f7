"""The event log and consumer cursors.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "cursor",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("direction", sa.SmallInteger, nullable=False),
        sa.Column("peer_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("message_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("request_id", sa.String(160), nullable=False, server_default=""),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_type_cursor", "events", ["type", "cursor"])
    op.create_table(
        "consumer_cursors",
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consumer_cursors")
    op.drop_index("ix_events_type_cursor", table_name="events")
    op.drop_table("events")

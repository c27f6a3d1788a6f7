"""Local reputation: this node's job outcomes per peer (upstream-ecco §7.6).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "local_reputation",
        sa.Column("peer_id", sa.String(128), primary_key=True),
        sa.Column("local_score", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total_jobs", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("successful_jobs", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failed_jobs", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_interaction_at_ms", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("local_reputation")

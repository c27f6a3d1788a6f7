"""Payments: ledger, invoice queue, settlements, expected invoices, processed proofs, agreements and stored
results of idempotent calls (upstream-ecco §9.9).

Revision ID: 0004_payments
Revises: 0003_bridge
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_payments"
down_revision = "0003_bridge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_ledger",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("amount_wei", sa.String(80), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("token_address", sa.String(42), nullable=False, server_default=""),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("recipient", sa.String(42), nullable=False),
        sa.Column("payer", sa.String(128), nullable=False),
        sa.Column("peer_id", sa.String(128), nullable=False, server_default=""),
        sa.Column("job_id", sa.String(200), nullable=False),
        sa.Column("invoice_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("tx_hash", sa.String(66), nullable=False, server_default=""),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("settled_at_ms", sa.BigInteger, nullable=True),
        sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_payment_ledger_invoice", "payment_ledger", ["invoice_id", "direction"])
    op.create_index("ix_payment_ledger_created", "payment_ledger", ["created_at_ms"])
    op.create_table(
        "payment_queue",
        sa.Column("invoice_id", sa.String(200), primary_key=True),
        sa.Column("invoice", sa.Text, nullable=False),
        sa.Column("issuer", sa.String(128), nullable=False, server_default=""),
        sa.Column("queued_at_ms", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("settlement_id", sa.String(36), nullable=True),
        sa.Column("proof_sent", sa.SmallInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_payment_queue_state", "payment_queue", ["state", "queued_at_ms"])
    op.create_table(
        "payment_settlements",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("recipient", sa.String(42), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("token_address", sa.String(42), nullable=False, server_default=""),
        sa.Column("total_wei", sa.String(80), nullable=False),
        sa.Column("invoice_ids", sa.Text, nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False, unique=True),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("finished_at_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_payment_settlements_status", "payment_settlements", ["status"])
    op.create_table(
        "expected_invoices",
        sa.Column("job_id", sa.String(200), primary_key=True),
        sa.Column("peer_id", sa.String(128), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "processed_payment_proofs",
        sa.Column("tx_hash", sa.String(66), primary_key=True),
        sa.Column("invoice_id", sa.String(200), primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("processed_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "payment_agreements",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "payment_results",
        sa.Column("key", sa.String(240), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("payment_results")
    op.drop_table("payment_agreements")
    op.drop_table("processed_payment_proofs")
    op.drop_table("expected_invoices")
    op.drop_table("payment_settlements")
    op.drop_table("payment_queue")
    op.drop_table("payment_ledger")

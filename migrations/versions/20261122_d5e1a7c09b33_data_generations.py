"""data generations: a token per topic of data, renewed by every write to it

Revision ID: d5e1a7c09b33
Revises: b7d20f5e91c4
Create Date: 2026-11-22 16:50:00

"""

import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "d5e1a7c09b33"
down_revision = "b7d20f5e91c4"
branch_labels = None
depends_on = None


def upgrade():
    # Workers keep figures worked out from the data until a topic's token changes
    # (d2w.core.generations); each topic starts with a token of its own.
    table = op.create_table(
        "data_generations",
        sa.Column("topic", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_data_generations")),
    )
    op.bulk_insert(table, [{"topic": topic, "token": secrets.token_hex(16)} for topic in ("programme", "seats", "audit")])


def downgrade():
    op.drop_table("data_generations")

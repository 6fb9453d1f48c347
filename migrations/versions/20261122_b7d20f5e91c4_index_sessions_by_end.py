"""sessions by their end: an index on programme_sessions.ends_at

Revision ID: b7d20f5e91c4
Revises: a41c9e07d3b2
Create Date: 2026-11-22 14:30:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "b7d20f5e91c4"
down_revision = "a41c9e07d3b2"
branch_labels = None
depends_on = None


def upgrade():
    # "Upcoming" sessions are those that have not ended: the sessions list counted them by
    # reading every session.
    with op.batch_alter_table("programme_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programme_sessions_ends_at"), ["ends_at"], unique=False)


def downgrade():
    with op.batch_alter_table("programme_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_sessions_ends_at"))

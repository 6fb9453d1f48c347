"""pairs keep their last meeting date; open action items indexed by due date

Revision ID: 8f3c1d7e2b51
Revises: 5b1e7c2a9d40
Create Date: 2026-11-22 09:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "8f3c1d7e2b51"
down_revision = "5b1e7c2a9d40"
branch_labels = None
depends_on = None


def upgrade():
    # The health page found lapsed pairs by asking the logs for every active pair's latest
    # meeting (42 ms on PostgreSQL with 3,500 pairs); the pair now keeps that date itself.
    with op.batch_alter_table("mentor_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_met_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE mentor_assignments SET last_met_on = "
        "(SELECT max(met_on) FROM mentoring_logs WHERE mentoring_logs.assignment_id = mentor_assignments.id)"
    )
    with op.batch_alter_table("mentoring_action_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentoring_action_items_open_due",
            ["due_on", "assignment_id"],
            unique=False,
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("mentoring_action_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_mentoring_action_items_open_due",
            sqlite_where=sa.text("done_at IS NULL"),
            postgresql_where=sa.text("done_at IS NULL"),
        )
    with op.batch_alter_table("mentor_assignments", schema=None) as batch_op:
        batch_op.drop_column("last_met_on")

"""people by role: an index on users (role, lower(name))

Revision ID: a41c9e07d3b2
Revises: 8f3c1d7e2b51
Create Date: 2026-11-22 15:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a41c9e07d3b2"
down_revision = "8f3c1d7e2b51"
branch_labels = None
depends_on = None


def upgrade():
    # The mentors list and the people lists filtered by role count and list people of one role
    # by name: without an index every person was read (the mentors list's count was a quarter of
    # its page at 5,000 candidates); with this one, both read only that role's entries, in order.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_role_lower_name", ["role", sa.text("lower(name)")], unique=False)


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_role_lower_name")

"""the audit log's data-generation token spread over 16 rows

Revision ID: 2d3ed682fdcf
Revises: d5e1a7c09b33
Create Date: 2026-11-22 23:55:00

"""

import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "2d3ed682fdcf"
down_revision = "d5e1a7c09b33"
branch_labels = None
depends_on = None

STRIPES = 16
_TABLE = sa.table("data_generations", sa.column("topic", sa.String), sa.column("token", sa.String))


def upgrade():
    # Every audited read renews the audit log's token: one row would make two such requests
    # queue on its lock until the first's commit reached the disk (d2w.core.generations.STRIPES).
    op.execute(_TABLE.delete().where(_TABLE.c.topic == "audit"))
    op.bulk_insert(_TABLE, [{"topic": f"audit/{n}", "token": secrets.token_hex(16)} for n in range(STRIPES)])


def downgrade():
    op.execute(_TABLE.delete().where(_TABLE.c.topic.like("audit/%")))
    op.bulk_insert(_TABLE, [{"topic": "audit", "token": secrets.token_hex(16)}])

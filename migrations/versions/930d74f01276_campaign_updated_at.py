"""campaign updated_at: when what the public sees of a campaign last changed

The API's Last-Modified. Existing campaigns take their latest known change: closed,
published or created.

Revision ID: 930d74f01276
Revises: 3c92eab680b1
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '930d74f01276'
down_revision = '3c92eab680b1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    campaigns = sa.table('campaigns', sa.column('updated_at', sa.DateTime()), sa.column('created_at', sa.DateTime()),
                         sa.column('published_at', sa.DateTime()), sa.column('closed_at', sa.DateTime()))
    # The latest of the three (COALESCE of nested CASEs works alike on SQLite and PostgreSQL).
    latest = sa.case(
        (sa.and_(campaigns.c.closed_at.is_not(None),
                 campaigns.c.closed_at >= sa.func.coalesce(campaigns.c.published_at, campaigns.c.created_at)),
         campaigns.c.closed_at),
        (sa.and_(campaigns.c.published_at.is_not(None), campaigns.c.published_at >= campaigns.c.created_at),
         campaigns.c.published_at),
        else_=campaigns.c.created_at,
    )
    op.execute(campaigns.update().values(updated_at=latest))
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('updated_at')

"""declined requests to sign a statement are deleted in time

A declined request kept the requester's names, role line and country for as long
as the statement existed. It is now deleted STATEMENT_DECLINED_DAYS after the
decision (so the organisers can still look back at what they declined lately),
which needs the time of the decision. Requests declined before this revision have
no recorded time: they count as declined now, the latest they can have been, so
none goes sooner than the setting promises.

Revision ID: 68948c74610a
Revises: 335282519736
Create Date: 2026-11-30 10:41:47.021479

"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '68948c74610a'
down_revision = '335282519736'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declined_at', sa.DateTime(), nullable=True))

    signatories = sa.table('signatories', sa.column('state', sa.String), sa.column('declined_at', sa.DateTime))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.execute(signatories.update().where(signatories.c.state == 'declined').values(declined_at=now))


def downgrade():
    with op.batch_alter_table('signatories', schema=None) as batch_op:
        batch_op.drop_column('declined_at')

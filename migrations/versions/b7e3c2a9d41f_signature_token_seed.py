"""signatures.token_seed: one set of links per signature, the same in every mail

Revision ID: b7e3c2a9d41f
Revises: b7e4c2a91d05
Create Date: 2026-11-30 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3c2a9d41f'
down_revision = 'b7e4c2a91d05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_seed', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('token_seed')

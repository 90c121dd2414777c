"""organisation public profile: slug, contact, texts per language

Revision ID: b7e4c2a91d05
Revises: 6e1836270e7f
Create Date: 2026-11-30 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4c2a91d05'
down_revision = '6e1836270e7f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slug', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=320), server_default='', nullable=False))
        batch_op.add_column(sa.Column('website', sa.String(length=300), server_default='', nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_organisations_slug'), ['slug'])

    op.create_table('organisation_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('privacy', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_texts_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_texts')),
    sa.UniqueConstraint('organisation_id', 'locale', name=op.f('uq_organisation_texts_organisation_id'))
    )


def downgrade():
    op.drop_table('organisation_texts')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_organisations_slug'), type_='unique')
        batch_op.drop_column('website')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('slug')

"""updates, unsubscribe tokens, erasure requests, retention days

Revision ID: dcbcb5e2be77
Revises: 57b4ca1ddcc0
Create Date: 2026-11-29 22:55:15.845345

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'dcbcb5e2be77'
down_revision = '57b4ca1ddcc0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('erasure_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_key', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_erasure_requests_token_hash'))
    )
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_requests_email_key'), ['email_key'], unique=False)

    op.create_table('updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'sending', 'sent', name='updatestate', native_enum=False, length=24), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('test_sent_at', sa.DateTime(), nullable=True),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('sending_started_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('queued_through_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_signature_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('recipient_counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_updates_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['organisers.id'], name=op.f('fk_updates_created_by_id_organisers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['organisers.id'], name=op.f('fk_updates_sent_by_id_organisers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_updates'))
    )
    with op.batch_alter_table('updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_updates_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_updates_state', ['state'], unique=False)

    op.create_table('unsubscribe_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_unsubscribe_tokens_signature_id_signatures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unsubscribe_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_unsubscribe_tokens_token_hash'))
    )
    with op.batch_alter_table('unsubscribe_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unsubscribe_tokens_signature_id'), ['signature_id'], unique=False)

    op.create_table('update_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['update_id'], ['updates.id'], name=op.f('fk_update_texts_update_id_updates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_update_texts')),
    sa.UniqueConstraint('update_id', 'locale', name=op.f('uq_update_texts_update_id'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.alter_column('email_key',
               existing_type=sa.VARCHAR(length=64),
               nullable=True)
        batch_op.create_index('ix_signatures_campaign_id_id', ['campaign_id', 'id'], unique=False)



def downgrade():
    # Signatures whose e-mail key was already dropped by retention cannot go back
    # to NOT NULL; downgrading is only for databases that never ran retention.
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_signatures_campaign_id_id')
        batch_op.alter_column('email_key',
               existing_type=sa.VARCHAR(length=64),
               nullable=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('retention_days')

    op.drop_table('update_texts')
    with op.batch_alter_table('unsubscribe_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unsubscribe_tokens_signature_id'))

    op.drop_table('unsubscribe_tokens')
    with op.batch_alter_table('updates', schema=None) as batch_op:
        batch_op.drop_index('ix_updates_state')
        batch_op.drop_index(batch_op.f('ix_updates_campaign_id'))

    op.drop_table('updates')
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_requests_email_key'))

    op.drop_table('erasure_requests')

"""erasure finds requests to be named on a statement

"Erase my data" must reach what someone gave when they asked to be named on a
statement, as it reaches their signatures. A request keeps its address only until
the organiser's decision is mailed, so each signatory now keeps the keyed hash of
the address (as signatures do) to be found by, and a statement's mail names its
signatory in the outbox, so erasing can cancel and scrub it. Requests that still
hold their address get its key here; those decided before this revision have no
address left and cannot be found (their withdraw link still works).

Revision ID: 335282519736
Revises: d9719e9211af
Create Date: 2026-11-30 10:17:35.631417

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '335282519736'
down_revision = 'd9719e9211af'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatory_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_signatory_id'), ['signatory_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_signatory_id_signatories'), 'signatories', ['signatory_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('signatories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_signatories_email_key'), ['email_key'], unique=False)

    # The key is keyed with the app's DATA_KEY: `flask db upgrade` runs in the app.
    from campaign.privacy.keys import email_key
    from campaign.signatures.emails import canonical_email

    signatories = sa.table('signatories', sa.column('id', sa.Integer), sa.column('email', sa.String),
                           sa.column('email_key', sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(signatories.c.id, signatories.c.email)
                        .where(signatories.c.email.is_not(None))).all()
    for signatory_id, email in rows:
        try:
            key = email_key(canonical_email(email))
        except ValueError:
            continue
        conn.execute(signatories.update().where(signatories.c.id == signatory_id).values(email_key=key))


def downgrade():
    with op.batch_alter_table('signatories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatories_email_key'))
        batch_op.drop_column('email_key')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_signatory_id_signatories'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_signatory_id'))
        batch_op.drop_column('signatory_id')

"""quote messages and declined quotes

Staff ask the customer a question about a quote and the customer answers on the quote page
(quote_messages). Staff may decline to quote: the quote keeps the reason code and a note.

Revision ID: 307ff02400b6
Revises: 7b1d2e4f9a30
Create Date: 2026-12-07 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '307ff02400b6'
down_revision = '7b1d2e4f9a30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quote_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_quote_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_messages_quote_id_quotes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_messages'))
    )
    with op.batch_alter_table('quote_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_messages_quote_id'), ['quote_id'], unique=False)

    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decline_reason', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('decline_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_column('decline_note')
        batch_op.drop_column('decline_reason')

    with op.batch_alter_table('quote_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_messages_quote_id'))

    op.drop_table('quote_messages')

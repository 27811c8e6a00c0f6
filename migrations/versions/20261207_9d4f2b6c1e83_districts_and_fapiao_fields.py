"""districts on addresses; fapiao type, registered address and phone on invoice profiles

Addresses name their district or county (GB/T 2260 code); rows saved before stay empty and the next
order asks for it. Invoice profiles say which VAT invoice they want (normal for every existing row,
which needed nothing more) and, for a special one, the company's registered address and phone.

Revision ID: 9d4f2b6c1e83
Revises: 84d30ec4c56e
Create Date: 2026-12-07 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d4f2b6c1e83'
down_revision = '84d30ec4c56e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shipping_addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district', sa.String(length=6), nullable=True))

    with op.batch_alter_table('invoice_profiles', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('fapiao_type', sa.String(length=16), server_default='normal', nullable=False)
        )
        batch_op.add_column(sa.Column('company_address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('company_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('district', sa.String(length=6), nullable=True))


def downgrade():
    with op.batch_alter_table('invoice_profiles', schema=None) as batch_op:
        batch_op.drop_column('district')
        batch_op.drop_column('company_phone')
        batch_op.drop_column('company_address')
        batch_op.drop_column('fapiao_type')

    with op.batch_alter_table('shipping_addresses', schema=None) as batch_op:
        batch_op.drop_column('district')

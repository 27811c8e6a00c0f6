"""notice receipts: texted_at

When an incident notice (policy 3.2) was sent to the recipient by text message; empty for
receipts of accounts without a phone and for every receipt made before notices were texted.

Revision ID: 5c3e9a1f7d20
Revises: 8ac448414c8f
Create Date: 2026-12-07 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c3e9a1f7d20'
down_revision = '45c92242d6de'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('texted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.drop_column('texted_at')

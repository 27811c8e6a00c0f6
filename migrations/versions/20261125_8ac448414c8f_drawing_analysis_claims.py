"""drawing analysis claims

When a worker claimed a drawing, and how many analyses were started: a claim that grows old
lost its worker, and services/analysis_recovery.py frees it. Existing rows get no claim time (a
drawing still "measuring" then counts as stale) and 0 attempts.

Revision ID: 8ac448414c8f
Revises: 2dbe7d451884
Create Date: 2026-11-25 14:29:23.763979

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8ac448414c8f'
down_revision = '2dbe7d451884'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('drawings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('analysis_attempts', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('drawings', schema=None) as batch_op:
        batch_op.drop_column('analysis_attempts')
        batch_op.drop_column('claimed_at')

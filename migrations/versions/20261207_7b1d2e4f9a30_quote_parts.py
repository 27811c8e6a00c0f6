"""quote parts: options per part, drawings attached to parts, the ordered total

Each part (a drawing not attached to another) carries its own process, material, finish,
quantity, tolerance, threads and inspection; existing parts take their quote's options. A 2D
drawing attached to a part points at it (part_of_id). The quote keeps the total of the lead
time the customer ordered.

Revision ID: 7b1d2e4f9a30
Revises: 5c3e9a1f7d20
Create Date: 2026-12-07 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b1d2e4f9a30'
down_revision = '5c3e9a1f7d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('drawings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('part_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('process', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('material', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('finish', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('quantity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tolerance', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('threads', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('inspection', sa.String(length=10), nullable=True))
        batch_op.create_index(batch_op.f('ix_drawings_part_of_id'), ['part_of_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_drawings_part_of_id_drawings'), 'drawings', ['part_of_id'], ['id'],
            ondelete='SET NULL',
        )
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordered_total', sa.Numeric(precision=12, scale=2), nullable=True))

    quote = "(SELECT quotes.{0} FROM quotes WHERE quotes.id = drawings.quote_id)"
    op.execute(
        "UPDATE drawings SET "
        + ", ".join(f"{c} = " + quote.format(c) for c in ("process", "material", "finish", "quantity"))
        + ", tolerance = 'iso2768m', threads = 0, inspection = 'standard'"
    )
    op.execute(
        "UPDATE quotes SET ordered_total = CASE WHEN lead_choice = 'expedited' "
        "AND expedite_total IS NOT NULL THEN expedite_total ELSE total END "
        "WHERE status = 'ordered'"
    )


def downgrade():
    with op.batch_alter_table('quotes', schema=None) as batch_op:
        batch_op.drop_column('ordered_total')
    with op.batch_alter_table('drawings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_drawings_part_of_id_drawings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_drawings_part_of_id'))
        for column in ('inspection', 'threads', 'tolerance', 'quantity', 'finish', 'material',
                       'process', 'part_of_id'):
            batch_op.drop_column(column)

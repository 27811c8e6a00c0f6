"""drawing viewer meshes

Where a drawing's 3D viewer mesh is stored and its data key, wrapped like the preview's. Drawings
analysed before have none (the quote page shows their preview image only). A downgrade forgets
the keys; the storage sweep then removes the blobs no row refers to.

Revision ID: e211461f2cfd
Revises: ed896863646d
Create Date: 2026-12-07 06:17:50.902213

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e211461f2cfd'
down_revision = 'ed896863646d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('drawings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mesh_blob_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('mesh_key_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('mesh_wrapped_key', sa.LargeBinary(), nullable=True))
        batch_op.create_index(batch_op.f('ix_drawings_mesh_key_id'), ['mesh_key_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_drawings_mesh_blob_id'), ['mesh_blob_id'])


def downgrade():
    with op.batch_alter_table('drawings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_drawings_mesh_blob_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_drawings_mesh_key_id'))
        batch_op.drop_column('mesh_wrapped_key')
        batch_op.drop_column('mesh_key_id')
        batch_op.drop_column('mesh_blob_id')

"""proved phones

A phone number is one account's only once proved by an SMS code: the unique index on
`users.phone` becomes a partial one over proved numbers (`phone_verified_at IS NOT NULL`), so a
number typed at e-mail registration (unproved) neither blocks its real owner nor tells the typist
that the number is registered. `phone_verifications.purpose` binds a code to the workflow it was
sent for (sign_up, sign_in, reauth, prove); codes already issued were all for the WeChat sign-up.

Revision ID: 5b7e1c9a2f40
Revises: 86e02918a4cb
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b7e1c9a2f40'
down_revision = '86e02918a4cb'
branch_labels = None
depends_on = None

PROVED = sa.text('phone_verified_at IS NOT NULL')


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone'))
        batch_op.create_index(batch_op.f('ix_users_phone'), ['phone'], unique=False)
        batch_op.create_index('uq_users_proved_phone', ['phone'], unique=True, sqlite_where=PROVED, postgresql_where=PROVED)

    with op.batch_alter_table('phone_verifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), server_default='sign_up', nullable=False))


def downgrade():
    with op.batch_alter_table('phone_verifications', schema=None) as batch_op:
        batch_op.drop_column('purpose')

    # an unproved number that repeats keeps only its oldest claim: the old unique index needs it
    op.execute(
        'UPDATE users SET phone = NULL WHERE phone_verified_at IS NULL AND phone IS NOT NULL '
        'AND EXISTS (SELECT 1 FROM users AS other WHERE other.phone = users.phone '
        'AND other.id <> users.id AND (other.phone_verified_at IS NOT NULL OR other.id < users.id))'
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('uq_users_proved_phone', sqlite_where=PROVED, postgresql_where=PROVED)
        batch_op.drop_index(batch_op.f('ix_users_phone'))
        batch_op.create_index(batch_op.f('ix_users_phone'), ['phone'], unique=True)

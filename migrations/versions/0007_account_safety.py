"""Account safety: wrong passwords in a row are counted on the account (users.failed_logins), and enough of them
lock it until users.locked_until (accounts/services.py, authenticate); users.deleted_at marks an account its person
deleted (accounts/deletion.py: the row stays, anonymised).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 21:12:10.465955

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')

"""concurrency: rectifications carry a version (optimistic lock)

Revision ID: 0005_concurrency
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005_concurrency'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rectification') as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('rectification') as batch_op:
        batch_op.drop_column('version')

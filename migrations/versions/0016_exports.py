"""exports written in the background: what was asked, its progress and its file

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:50:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'export',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('params_json', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('done_rows', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=100), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', UTCDateTime(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('heartbeat_at', UTCDateTime(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('host', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'],
                                name=op.f('fk_export_requested_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export')),
    )
    with op.batch_alter_table('export', schema=None) as batch_op:
        batch_op.create_index('ix_export_state', ['state'], unique=False)
        batch_op.create_index('ix_export_requested_by_id', ['requested_by_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('export', schema=None) as batch_op:
        batch_op.drop_index('ix_export_requested_by_id')
        batch_op.drop_index('ix_export_state')
    op.drop_table('export')

"""several hosts: the singleton jobs' claim rows, idempotency keys of API requests

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:20:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job_claim',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('slot', UTCDateTime(), nullable=True),
        sa.Column('host', sa.String(length=100), nullable=False),
        sa.Column('claimed_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_job_claim')),
    )
    op.create_table(
        'idempotency_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_idempotency_key_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
        sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotency_key_user_id_key')),
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_key_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('idempotency_key')
    op.drop_table('job_claim')

"""several hosts: the singleton jobs' claim rows

Revision ID: 0010_hosts
Revises: 0009
Create Date: 2026-12-06 06:20:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0010_hosts'
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


def downgrade() -> None:
    op.drop_table('job_claim')

"""the operator's screen: entries shown, opened or copied during a call

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:20:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'call_entry_use',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.String(length=10), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_call_entry_use_by_id_user_account')),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_call_entry_use_call_id_call')),
        sa.ForeignKeyConstraint(['entry_id'], ['kb_entry.id'], name=op.f('fk_call_entry_use_entry_id_kb_entry')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_entry_use')),
        sa.UniqueConstraint('call_id', 'entry_id', 'action', name=op.f('uq_call_entry_use_call_id_entry_id_action')),
    )


def downgrade() -> None:
    op.drop_table('call_entry_use')

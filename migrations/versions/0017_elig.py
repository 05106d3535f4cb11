"""eligibility: a household check (初步研判) saved on a call and copied onto the ticket made from it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:50:00
"""

import sqlalchemy as sa
from alembic import op

from core.db import UTCDateTime

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'eligibility_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('household_json', sa.Text(), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=False),
        sa.Column('kb_revision', sa.Integer(), nullable=False),
        sa.Column('rules_version', sa.String(length=20), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('checked_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_eligibility_check_call_id_call')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_eligibility_check_created_by_id_user_account')),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_eligibility_check_ticket_id_ticket')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_check')),
    )
    with op.batch_alter_table('eligibility_check', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_check_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eligibility_check_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('eligibility_check', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_check_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_eligibility_check_call_id'))
    op.drop_table('eligibility_check')

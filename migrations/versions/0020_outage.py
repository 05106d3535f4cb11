"""the ticket's call: an index, so the calls list finds each call's tickets without scanning them all

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 09:50:00
"""

from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_call_id'), ['call_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_call_id'))

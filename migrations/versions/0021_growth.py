"""growth: indexes for two years of data: call (status, started_at, outcome) (the metrics count a period's
calls from the index alone), ticket_event (action, at) (a period's callbacks); ticket.call_id is 0020 outage's

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:30:00
"""

from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index('ix_call_status_started_at_outcome', ['status', 'started_at', 'outcome'], unique=False)
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_event_action_at', ['action', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_event_action_at')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index('ix_call_status_started_at_outcome')

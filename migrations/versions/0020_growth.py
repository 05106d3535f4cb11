"""growth: indexes for two years of data: ticket.call_id (the calls list loads each page's tickets by
call), call (status, started_at, outcome) (the metrics count a period's calls from the index alone),
ticket_event (action, at) (a period's callbacks)

Revision ID: 0020_growth
Revises: 0019
Create Date: 2026-12-06 10:30:00

Without it the calls list's ticket load scanned the whole ticket table once per page (2.7 s on deep pages
at two years' data).
"""

from alembic import op

revision = '0020_growth'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_call_id', ['call_id'], unique=False)
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index('ix_call_status_started_at_outcome', ['status', 'started_at', 'outcome'], unique=False)
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_event_action_at', ['action', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_event_action_at')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index('ix_call_status_started_at_outcome')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_call_id')

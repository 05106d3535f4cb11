"""audit page filters: each filter with the chain position, so a filtered page is an index range

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:30:00
"""

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (actor_id, seq) serves everything (actor_id) did, and pages a person's events newest first.
    op.drop_index('ix_audit_event_actor_id', table_name='audit_event')
    op.create_index('ix_audit_event_actor_seq', 'audit_event', ['actor_id', 'seq'], unique=False)
    op.create_index('ix_audit_event_action_seq', 'audit_event', ['action', 'seq'], unique=False)
    op.create_index('ix_audit_event_entity_type_seq', 'audit_event', ['entity_type', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_event_entity_type_seq', table_name='audit_event')
    op.drop_index('ix_audit_event_action_seq', table_name='audit_event')
    op.drop_index('ix_audit_event_actor_seq', table_name='audit_event')
    op.create_index('ix_audit_event_actor_id', 'audit_event', ['actor_id'], unique=False)

"""live calls: telephony's answered/ended times, transcripts, the assist's anchor, missed-call callbacks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:45:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('assist_entry_id', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('transcript_chars', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('transcript_purged_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('callback_done_at', UTCDateTime(), nullable=True))

    op.create_table(
        'transcript_segment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('segment_id', sa.String(length=64), nullable=False),
        sa.Column('speaker', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('start_ms', sa.Integer(), nullable=False),
        sa.Column('end_ms', sa.Integer(), nullable=False),
        sa.Column('final', sa.Boolean(), nullable=False),
        sa.Column('received_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_transcript_segment_call_id_call')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_segment')),
        sa.UniqueConstraint('call_id', 'segment_id', name=op.f('uq_transcript_segment_call_id_segment_id')),
    )
    with op.batch_alter_table('transcript_segment', schema=None) as batch_op:
        batch_op.create_index('ix_transcript_segment_received_at', ['received_at'], unique=False)

    op.create_table(
        'callback_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_callback_attempt_by_id_user_account')),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_callback_attempt_call_id_call')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_attempt')),
    )
    with op.batch_alter_table('callback_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_attempt_call_id'), ['call_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('callback_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_attempt_call_id'))
    op.drop_table('callback_attempt')
    with op.batch_alter_table('transcript_segment', schema=None) as batch_op:
        batch_op.drop_index('ix_transcript_segment_received_at')
    op.drop_table('transcript_segment')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('callback_done_at')
        batch_op.drop_column('transcript_purged_at')
        batch_op.drop_column('transcript_chars')
        batch_op.drop_column('assist_entry_id')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('answered_at')

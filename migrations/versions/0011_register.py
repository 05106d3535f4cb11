"""kb register and review: policy documents, entry flags, changes awaiting approval, reviews; parameter kinds

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:05:29.461894
"""

from alembic import op
import sqlalchemy as sa
import core.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_policy_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['kb_policy_document.id'], name=op.f('fk_kb_policy_document_superseded_by_id_kb_policy_document')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_policy_document')),
    sa.UniqueConstraint('title', name=op.f('uq_kb_policy_document_title'))
    )
    op.create_table('kb_entry_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=10), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('data_json', sa.Text(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=False),
    sa.Column('applied_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_kb_entry_change_author_id_user_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_kb_entry_change_decided_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_entry_change'))
    )
    with op.batch_alter_table('kb_entry_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entry_change_entry_id'), ['entry_id'], unique=False)

    op.create_table('kb_entry_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=10), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('flagged_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('cleared_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('cleared_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cleared_by_id'], ['user_account.id'], name=op.f('fk_kb_entry_flag_cleared_by_id_user_account')),
    sa.ForeignKeyConstraint(['document_id'], ['kb_policy_document.id'], name=op.f('fk_kb_entry_flag_document_id_kb_policy_document')),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entry.id'], name=op.f('fk_kb_entry_flag_entry_id_kb_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_entry_flag'))
    )
    with op.batch_alter_table('kb_entry_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entry_flag_entry_id'), ['entry_id'], unique=False)

    op.create_table('kb_entry_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entry.id'], name=op.f('fk_kb_entry_review_entry_id_kb_entry')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user_account.id'], name=op.f('fk_kb_entry_review_reviewer_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_entry_review'))
    )
    with op.batch_alter_table('kb_entry_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entry_review_entry_id'), ['entry_id'], unique=False)

    with op.batch_alter_table('kb_parameter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='text', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('kb_parameter', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('kb_entry_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entry_review_entry_id'))

    op.drop_table('kb_entry_review')
    with op.batch_alter_table('kb_entry_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entry_flag_entry_id'))

    op.drop_table('kb_entry_flag')
    with op.batch_alter_table('kb_entry_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entry_change_entry_id'))

    op.drop_table('kb_entry_change')
    op.drop_table('kb_policy_document')

"""spot checks: rubric versions (a call keeps the one it was scored with), rectification evidence files,
the reason a close-out has none, and a notice's editable issuer

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 06:40:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rubric_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('weights_json', sa.Text(), nullable=False),
        sa.Column('faults_json', sa.Text(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('proposed_at', UTCDateTime(), nullable=False),
        sa.Column('proposed_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                                name=op.f('fk_rubric_version_decided_by_id_user_account')),
        sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'],
                                name=op.f('fk_rubric_version_proposed_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rubric_version')),
        sa.UniqueConstraint('number', name=op.f('uq_rubric_version_number')),
    )
    with op.batch_alter_table('rubric_version', schema=None) as batch_op:
        batch_op.create_index('ix_rubric_version_state', ['state'], unique=False)

    op.create_table(
        'rectification_evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rectification_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=10), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('stored_name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['rectification_id'], ['rectification.id'],
                                name=op.f('fk_rectification_evidence_rectification_id_rectification')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'],
                                name=op.f('fk_rectification_evidence_uploaded_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_evidence')),
        sa.UniqueConstraint('stored_name', name=op.f('uq_rectification_evidence_stored_name')),
    )
    with op.batch_alter_table('rectification_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_rectification_evidence_rectification_id', ['rectification_id'], unique=False)

    with op.batch_alter_table('mystery_call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rubric_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_mystery_call_rubric_version_id_rubric_version'),
                                    'rubric_version', ['rubric_version_id'], ['id'])
    with op.batch_alter_table('rectification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_evidence_reason', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer', sa.String(length=100), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('issuer')
    with op.batch_alter_table('rectification', schema=None) as batch_op:
        batch_op.drop_column('no_evidence_reason')
    with op.batch_alter_table('mystery_call', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_mystery_call_rubric_version_id_rubric_version'), type_='foreignkey')
        batch_op.drop_column('rubric_version_id')
    with op.batch_alter_table('rectification_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_rectification_evidence_rectification_id')
    op.drop_table('rectification_evidence')
    with op.batch_alter_table('rubric_version', schema=None) as batch_op:
        batch_op.drop_index('ix_rubric_version_state')
    op.drop_table('rubric_version')

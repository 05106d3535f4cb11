"""tickets: the dispatch catalogue (versioned), merged tickets (并单) and their callers

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 09:45:00
"""

from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dispatch_catalogue_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_dispatch_catalogue_version_created_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_catalogue_version')),
        sa.UniqueConstraint('number', name=op.f('uq_dispatch_catalogue_version_number')),
    )
    op.create_table(
        'dispatch_matter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=50), nullable=False),
        sa.Column('entry_id', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('level', sa.String(length=20), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('cohandling_json', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_dispatch_matter_unit_id_unit')),
        sa.ForeignKeyConstraint(['version_id'], ['dispatch_catalogue_version.id'],
                                name=op.f('fk_dispatch_matter_version_id_dispatch_catalogue_version')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_matter')),
    )
    with op.batch_alter_table('dispatch_matter', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_matter_version_id', ['version_id'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ticket_merged_into_id_ticket'), 'ticket', ['merged_into_id'], ['id'])

    op.create_table(
        'ticket_contact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('source_ticket_id', sa.Integer(), nullable=False),
        sa.Column('source_state', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('merged_by_id', sa.Integer(), nullable=True),
        sa.Column('merged_at', UTCDateTime(), nullable=False),
        sa.Column('split_by_id', sa.Integer(), nullable=True),
        sa.Column('split_at', UTCDateTime(), nullable=True),
        sa.Column('callback_at', UTCDateTime(), nullable=True),
        sa.Column('satisfaction', sa.String(length=20), nullable=True),
        sa.Column('callback_note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['merged_by_id'], ['user_account.id'],
                                name=op.f('fk_ticket_contact_merged_by_id_user_account')),
        sa.ForeignKeyConstraint(['source_ticket_id'], ['ticket.id'],
                                name=op.f('fk_ticket_contact_source_ticket_id_ticket')),
        sa.ForeignKeyConstraint(['split_by_id'], ['user_account.id'],
                                name=op.f('fk_ticket_contact_split_by_id_user_account')),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_contact_ticket_id_ticket')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_contact')),
    )
    with op.batch_alter_table('ticket_contact', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_contact_ticket_id', ['ticket_id'], unique=False)
        batch_op.create_index('ix_ticket_contact_source_ticket_id', ['source_ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_contact_source_ticket_id')
        batch_op.drop_index('ix_ticket_contact_ticket_id')
    op.drop_table('ticket_contact')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ticket_merged_into_id_ticket'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
    with op.batch_alter_table('dispatch_matter', schema=None) as batch_op:
        batch_op.drop_index('ix_dispatch_matter_version_id')
    op.drop_table('dispatch_matter')
    op.drop_table('dispatch_catalogue_version')

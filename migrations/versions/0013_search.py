"""search: matters outside the knowledge base (with their usual department) and notes on near-neighbour entry pairs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:30:00
"""

from alembic import op
import sqlalchemy as sa

import core.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_outside_matter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter', sa.String(length=50), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('terms_json', sa.Text(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_outside_matter')),
    sa.UniqueConstraint('matter', name=op.f('uq_kb_outside_matter_matter'))
    )
    op.create_table('kb_pair_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_a', sa.String(length=10), nullable=False),
    sa.Column('entry_b', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('question', sa.String(length=200), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_a'], ['kb_entry.id'], name=op.f('fk_kb_pair_note_entry_a_kb_entry')),
    sa.ForeignKeyConstraint(['entry_b'], ['kb_entry.id'], name=op.f('fk_kb_pair_note_entry_b_kb_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_pair_note')),
    sa.UniqueConstraint('entry_a', 'entry_b', name=op.f('uq_kb_pair_note_entry_a_entry_b'))
    )


def downgrade() -> None:
    op.drop_table('kb_pair_note')
    op.drop_table('kb_outside_matter')

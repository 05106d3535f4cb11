"""data: mask phone and ID numbers in searches logged before queries were masked on the way in

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:45:00
"""

from alembic import op
import sqlalchemy as sa

from core.masking import mask_numbers


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

search_log = sa.table('kb_search_log', sa.column('id', sa.Integer), sa.column('query', sa.String),
                      sa.column('normalized', sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.select(search_log.c.id, search_log.c.query, search_log.c.normalized)
                            .where(search_log.c.id > last).order_by(search_log.c.id).limit(1000)).all()
        if not rows:
            break
        for row_id, query, normalized in rows:
            masked = mask_numbers(query)[:500], mask_numbers(normalized)[:500]
            if masked != (query, normalized):
                conn.execute(search_log.update().where(search_log.c.id == row_id)
                             .values(query=masked[0], normalized=masked[1]))
        last = rows[-1].id


def downgrade() -> None:
    # The numbers are gone on purpose: nothing to restore.
    pass

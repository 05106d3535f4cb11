"""audit: keyed chain (head marks events written before the key), append-only triggers on PostgreSQL

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

# Events are never changed or deleted; the head moves forward one event at a time and is never deleted.
# TRUNCATE is not a row operation: the README's role is simply not granted it.
PG_TRIGGERS = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 OR (OLD.keyed AND NOT NEW.keyed) THEN
        RAISE EXCEPTION 'the audit head only moves forward one event at a time (% to %)', OLD.seq, NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
"""


def upgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyed', sa.Boolean(), server_default=sa.true(), nullable=False))
    # Events written so far carry an unkeyed SHA-256: the first write under the key seals them.
    op.execute("UPDATE audit_head SET keyed = false WHERE seq > 0")
    # The head exists from the start, so a missing head always means it was deleted.
    op.execute(sa.text("INSERT INTO audit_head (id, seq, hash, keyed) SELECT 1, 0, :genesis, true "
                       "WHERE NOT EXISTS (SELECT 1 FROM audit_head)").bindparams(genesis=GENESIS))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_head_forward_only ON audit_head")
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_head_forward_only()")
        op.execute("DROP FUNCTION audit_event_append_only()")
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('keyed')

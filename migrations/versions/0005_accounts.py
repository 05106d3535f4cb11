"""accounts: server-side log-in sessions, token expiry, login attempt outcomes, admin unlock

Revision ID: 0005
Revises: 0004
"""

from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
import core.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: Tokens issued before expiry existed keep working this long after the upgrade (the default lifetime).
EXISTING_TOKEN_DAYS = 180


def upgrade() -> None:
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_login_session_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_login_session_key_hash'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_failures_cleared_at', core.db.UTCDateTime(), nullable=True))

    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=False, server_default='failed'))
    attempt = sa.table('login_attempt', sa.column('success', sa.Boolean()), sa.column('outcome', sa.String()))
    op.execute(attempt.update().where(attempt.c.success.is_(True)).values(outcome='ok'))

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', core.db.UTCDateTime(), nullable=True))
    token = sa.table('api_token', sa.column('expires_at', core.db.UTCDateTime()))
    op.execute(token.update().values(expires_at=datetime.now(UTC) + timedelta(days=EXISTING_TOKEN_DAYS)))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=core.db.UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_column('outcome')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('login_failures_cleared_at')
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))
    op.drop_table('login_session')

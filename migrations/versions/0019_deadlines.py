"""deadlines: time-limit presets (versioned) replace the per-row deadline policy; due times stored as the
midnight after the last working day become the end of that working day (17:30)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:30:00

Until now a limit counted from a weekend or holiday day, and every callback limit, was stored as 00:00 of
the day after the last working day ("办结 2026-12-14 00:00" for a Friday limit). Those values move back to
the end of that last working day (HOTLINE_WORKDAY_END, default 17:30 Beijing time). A first-contact limit
that is a whole number of hours after the ticket was opened is a wall-clock limit and is left alone; limits
at another time of day already name their working day and are kept. The downgrade restores the tables,
not the old midnights.
"""

import json
import os
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

from core.calendar import WorkCalendar, parse_workday_end
from core.clock import LOCAL
from core.db import UTCDateTime

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

KINDS = ("consult", "help", "complaint", "proxy_application")
URGENCIES = ("urgent", "normal")
#: The code defaults as they stood before this revision (tickets/policy.py), frozen here.
CLOSURE_DAYS = {"consult": 3, "help": 5, "complaint": 13, "proxy_application": 5}
PRESET_NAME = "现行默认"
DUE_COLUMNS = ("first_contact_due_at", "closure_due_at", "callback_due_at")
PRESET_DESCRIPTION = "由原“工单时限”设置转来（含管理员修改）。"


def _frozen_default(kind: str, urgency: str) -> dict:
    if urgency == "urgent":
        return {"first_contact_amount": 2, "first_contact_unit": "hours", "closure_amount": 1}
    return {"first_contact_amount": 1, "first_contact_unit": "working_days", "closure_amount": CLOSURE_DAYS[kind]}


def _copy_policies(conn) -> None:
    rows = {(r.kind, r.urgency): r for r in conn.execute(sa.text(
        "select kind, urgency, first_contact_amount, first_contact_unit, closure_working_days, callback_working_days "
        "from deadline_policy"))}
    if not rows:
        return  # a fresh database: `flask init` loads the shipped presets
    table = []
    for kind in KINDS:
        for urgency in URGENCIES:
            row = rows.get((kind, urgency))
            cell = _frozen_default(kind, urgency) if row is None else {
                "first_contact_amount": row.first_contact_amount, "first_contact_unit": row.first_contact_unit,
                "closure_amount": row.closure_working_days}
            table.append({"callback_working_days": row.callback_working_days if row is not None else 1,
                          "closure_unit": "working_days", "kind": kind, "urgency": urgency, **cell})
    text = json.dumps(table, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    now = datetime.now(UTC)
    preset = sa.table("deadline_preset", sa.column("id", sa.Integer), sa.column("name", sa.String),
                      sa.column("description", sa.Text), sa.column("active", sa.Boolean),
                      sa.column("table_json", sa.Text), sa.column("version", sa.Integer),
                      sa.column("created_at", UTCDateTime), sa.column("updated_at", UTCDateTime))
    version = sa.table("deadline_preset_version", sa.column("preset_id", sa.Integer),
                       sa.column("version", sa.Integer), sa.column("name", sa.String),
                       sa.column("table_json", sa.Text), sa.column("saved_at", UTCDateTime))
    preset_id = conn.execute(preset.insert().values(
        name=PRESET_NAME, description=PRESET_DESCRIPTION, active=True, table_json=text, version=1, created_at=now,
        updated_at=now).returning(preset.c.id)).scalar()
    conn.execute(version.insert().values(preset_id=preset_id, version=1, name=PRESET_NAME, table_json=text,
                                         saved_at=now))


def _end_of_day_before(value, calendar: WorkCalendar):
    """A due time at local midnight → the end of the last working day before that date; else None."""
    local = value.astimezone(LOCAL)
    if local.time() != time(0, 0):
        return None
    day = local.date() - timedelta(days=1)
    for _ in range(60):
        if calendar.is_working_day(day):
            return calendar.end_of_day(day)
        day -= timedelta(days=1)
    return None


def _move_midnights(conn) -> None:
    override = sa.table("workday_override", sa.column("day", sa.Date), sa.column("working", sa.Boolean))
    overrides = {r.day: bool(r.working) for r in conn.execute(sa.select(override.c.day, override.c.working))}
    calendar = WorkCalendar(overrides, workday_end=parse_workday_end(os.environ.get("HOTLINE_WORKDAY_END")))
    ticket = sa.table("ticket", sa.column("id", sa.Integer), sa.column("created_at", UTCDateTime),
                      *(sa.column(name, UTCDateTime) for name in DUE_COLUMNS))
    for t in conn.execute(sa.select(ticket)).all():
        values = {}
        for column in DUE_COLUMNS:
            due = getattr(t, column)
            if due is None:
                continue
            if column == "first_contact_due_at" and (due - t.created_at) % timedelta(hours=1) == timedelta(0):
                continue  # a wall-clock limit in hours
            moved = _end_of_day_before(due, calendar)
            if moved is not None:
                values[column] = moved
        if values:
            conn.execute(ticket.update().where(ticket.c.id == t.id).values(**values))
    task = sa.table("ticket_task", sa.column("id", sa.Integer), sa.column("due_at", UTCDateTime))
    for row in conn.execute(sa.select(task.c.id, task.c.due_at)).all():
        moved = _end_of_day_before(row.due_at, calendar)
        if moved is not None:
            conn.execute(task.update().where(task.c.id == row.id).values(due_at=moved))


def upgrade() -> None:
    op.create_table(
        'deadline_preset',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('table_json', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                                name=op.f('fk_deadline_preset_updated_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_preset')),
        sa.UniqueConstraint('name', name=op.f('uq_deadline_preset_name')),
    )
    op.create_table(
        'deadline_preset_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('preset_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('table_json', sa.Text(), nullable=False),
        sa.Column('saved_at', UTCDateTime(), nullable=False),
        sa.Column('saved_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['preset_id'], ['deadline_preset.id'],
                                name=op.f('fk_deadline_preset_version_preset_id_deadline_preset')),
        sa.ForeignKeyConstraint(['saved_by_id'], ['user_account.id'],
                                name=op.f('fk_deadline_preset_version_saved_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_preset_version')),
        sa.UniqueConstraint('preset_id', 'version', name=op.f('uq_deadline_preset_version_preset_id_version')),
    )
    conn = op.get_bind()
    _copy_policies(conn)
    op.drop_table('deadline_policy')
    _move_midnights(conn)


def downgrade() -> None:
    op.create_table(
        'deadline_policy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('urgency', sa.String(length=10), nullable=False),
        sa.Column('first_contact_amount', sa.Integer(), nullable=False),
        sa.Column('first_contact_unit', sa.String(length=20), nullable=False),
        sa.Column('closure_working_days', sa.Integer(), nullable=False),
        sa.Column('callback_working_days', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                                name=op.f('fk_deadline_policy_updated_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_policy')),
        sa.UniqueConstraint('kind', 'urgency', name=op.f('uq_deadline_policy_kind_urgency')),
    )
    op.drop_table('deadline_preset_version')
    op.drop_table('deadline_preset')

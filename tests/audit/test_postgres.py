"""PostgreSQL's append-only triggers, and the app running as a role without UPDATE/DELETE on the audit trail."""

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from audit import services as audit
from tests.audit.builders import head, record_events

pytestmark = pytest.mark.pg_only
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def pg(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the triggers and roles are PostgreSQL's")
    return db


def _refused(db, sql: str) -> str:
    with pytest.raises(DBAPIError) as err, db.begin_nested():
        db.execute(text(sql))
    return str(err.value)


def test_triggers_refuse_changing_or_deleting_events(pg):
    record_events(2)
    assert "append-only: UPDATE refused" in _refused(pg, "UPDATE audit_event SET actor_name = 'x'")
    assert "append-only: DELETE refused" in _refused(pg, "DELETE FROM audit_event")


def test_head_only_moves_forward_one_event_and_cannot_be_deleted(pg):
    record_events(2)
    assert "moves forward" in _refused(pg, "UPDATE audit_head SET seq = seq - 1")
    assert "moves forward" in _refused(pg, "UPDATE audit_head SET hash = 'x'")
    assert "moves forward" in _refused(pg, "UPDATE audit_head SET keyed = false")
    assert "cannot be deleted" in _refused(pg, "DELETE FROM audit_head")
    before = head(pg).seq
    record_events(3)  # the app's own writes go on
    assert head(pg).seq == before + 3 and audit.verify().ok


def _readme_grants(role: str) -> list[str]:
    block = next(b for b in re.findall(r"```sql\n(.*?)```", README.read_text(), re.S) if "audit_event" in b)
    lines = [line for line in block.splitlines() if line.strip() and not line.strip().startswith("--")]
    return [s.strip().replace("hotline_app", role) for s in " ".join(lines).split(";") if s.strip()]


def test_the_app_runs_as_the_readme_role_which_cannot_change_the_trail(pg):
    role = f"hotline_app_{uuid.uuid4().hex[:8]}"
    for statement in _readme_grants(role):  # created and granted inside the test's transaction, rolled back after
        pg.execute(text(statement))
    pg.execute(text(f"SET LOCAL ROLE {role}"))
    record_events(2)
    assert audit.verify().ok
    for sql in ("UPDATE audit_event SET actor_name = 'x'", "DELETE FROM audit_event", "TRUNCATE audit_event",
                "DELETE FROM audit_head", "TRUNCATE audit_head", "ALTER TABLE audit_event DISABLE TRIGGER USER"):
        message = _refused(pg, sql)
        assert "permission denied" in message or "must be owner" in message, sql

import threading

import pytest
from sqlalchemy import select, text

from audit import services as audit
from audit.models import AuditEvent
from core import clock
from tests.audit.builders import as_database_owner
from tests.builders import make_user


def _record(n=3):
    for i in range(n):
        audit.record("update", "thing", i, actor=None, now=clock.now(), changes={"after": {"n": i}})


def test_chain_verifies_when_intact(db):
    _record()
    result = audit.verify()
    assert result.ok and result.count >= 3


def test_changed_row_is_detected_and_named(db):
    _record()
    target = db.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1).offset(1)).scalar_one()
    as_database_owner(db)
    db.execute(text("UPDATE audit_event SET changes = :c WHERE id = :id"), {"c": '{"n":99}', "id": target.id})
    seq = target.seq
    db.expire_all()
    result = audit.verify()
    assert not result.ok and result.broken_seq == seq and "changed" in result.reason


def test_deleted_row_is_detected(db):
    _record()
    target = db.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1).offset(1)).scalar_one()
    seq = target.seq
    as_database_owner(db)
    db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": target.id})
    db.expire_all()
    result = audit.verify()
    assert not result.ok and result.broken_seq == seq + 1


def test_truncated_tail_is_detected(db):
    _record()
    last = db.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    as_database_owner(db)
    db.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": last.id})
    db.expire_all()
    assert not audit.verify().ok


def test_orm_cannot_update_or_delete_events(db):
    _record(1)
    ev = db.execute(select(AuditEvent).limit(1)).scalar_one()
    ev.action = "tampered"
    with pytest.raises(PermissionError):
        db.flush()
    db.rollback()
    ev = db.execute(select(AuditEvent).limit(1)).scalar_one()
    db.delete(ev)
    with pytest.raises(PermissionError):
        db.flush()


def test_event_carries_actor_origin_and_diff(db):
    user = make_user("admin")
    with audit.origin("req-12345678", "192.0.2.7"):
        ev = audit.record("update", "unit", 7, actor=user, now=clock.now(),
                          changes=audit.diff({"name": "甲", "phone": "1"}, {"name": "乙", "phone": "1"}))
    assert (ev.actor_name, ev.actor_role, ev.request_id, ev.client_addr) == (user.username, "admin", "req-12345678",
                                                                             "192.0.2.7")
    assert ev.changes == '{"after":{"name":"乙"},"before":{"name":"甲"}}'


def test_parallel_writers_never_fork_the_chain(committing_app, backend):
    """Eight threads append at once; the chain stays one line (meaningful on PostgreSQL)."""
    errors = []
    barrier = threading.Barrier(8)

    def writer(i):
        try:
            with committing_app.app_context():
                from core.db import session

                barrier.wait(timeout=10)
                for j in range(5):
                    audit.record("update", "race", f"{i}-{j}", actor=None, now=clock.now())
                    session.commit()
                session.remove()
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with committing_app.app_context():
        result = audit.verify()
        from core.db import session

        count = session.execute(select(AuditEvent).where(AuditEvent.entity_type == "race")).all()
        session.remove()
    assert result.ok, result.reason
    assert len(count) == 40


def test_the_app_gives_the_audit_trail_its_settings_in_each_app_context(app):
    from pathlib import Path

    with app.app_context():
        assert audit.settings() == audit.AuditSettings(key=app.config["AUDIT_KEY"],
                                                       checkpoint_file=Path(app.config["AUDIT_CHECKPOINT_FILE"]))
        app.config["AUDIT_KEY"] = "n" * 64  # read each time: a changed setting counts at once
        assert audit.settings().key == "n" * 64
    with pytest.raises(RuntimeError, match="no audit settings"):
        audit.settings()


def test_the_audit_page_counts_every_event_it_pages_through(db):
    _record(5)
    audit.record("close", "thing", 99, actor=None, now=clock.now())
    everything = db.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).scalars().all()
    assert audit.count_events(audit.EventFilter()) == len(everything) >= 6
    assert audit.count_events(audit.EventFilter(action="close")) == 1
    assert audit.count_events(audit.EventFilter(action="update", entity_type="thing")) == 5

    first = audit.page_of_events(audit.EventFilter(), size=2)
    assert first.total == len(everything) and first.newer_count == 0
    deeper = audit.page_of_events(audit.EventFilter(), before=first.older, size=2)
    assert deeper.total == len(everything) and deeper.newer_count == 2
    assert [e.seq for e in deeper.events] == everything[2:4]
    updates = audit.page_of_events(audit.EventFilter(action="update"), before=everything[1], size=2)
    assert updates.total == 5 and updates.newer_count == 1  # the newest update, above this page

"""Every way the security review tampered with the trail makes `flask audit verify` exit 1 naming what broke.

The attacker has full rights on the database (triggers stepped around, see `as_database_owner`) but not
the audit key, which lives outside the database.
"""

import hashlib
import hmac
import json

from sqlalchemy import text

from audit import services as audit
from audit.models import AuditEvent
from core import clock
from tests.audit.builders import (
    as_database_owner,
    events,
    head,
    publish_checkpoint,
    record_events,
    set_head,
    sha256_of,
)


def _verify(runner):
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def _rewrite_from(db, first_seq: int, **changes) -> None:
    """Change event `first_seq` and re-hash it and every later event with plain SHA-256, relinking the chain
    and moving the head: what passed the old, unkeyed verify."""
    prev = None
    for ev in events(db):
        if ev.seq < first_seq:
            prev = ev.hash
            continue
        if ev.seq == first_seq and changes:
            sets = ", ".join(f"{k} = :{k}" for k in changes)
            db.execute(text(f"UPDATE audit_event SET {sets} WHERE id = :id"), {**changes, "id": ev.id})
        db.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :tmp WHERE id = :id"),
                   {"p": prev or audit.GENESIS, "tmp": f"tmp{ev.id}", "id": ev.id})
        prev = sha256_of(db, ev.id)
        db.execute(text("UPDATE audit_event SET hash = :h WHERE id = :id"), {"h": prev, "id": ev.id})
    set_head(db, events(db)[-1].seq, prev)


def _insert(db, ev: AuditEvent) -> None:
    db.execute(text("INSERT INTO audit_event (seq, at, actor_id, actor_name, actor_role, action, entity_type, "
                    "entity_id, changes, request_id, client_addr, prev_hash, hash) VALUES (:seq, :at, NULL, '', '', "
                    ":action, :entity_type, :entity_id, :changes, '', '', :prev_hash, :hash)"),
               {"seq": ev.seq, "at": ev.at.replace(tzinfo=None), "action": ev.action, "entity_type": ev.entity_type,
                "entity_id": ev.entity_id, "changes": ev.changes, "prev_hash": ev.prev_hash, "hash": ev.hash})


def _forged(db, sign) -> AuditEvent:
    last = head(db)
    ev = AuditEvent(seq=last.seq + 1, at=clock.now(), actor_id=None, actor_name="", actor_role="", action="delete",
                    entity_type="user", entity_id="7", changes="{}", request_id="", client_addr="",
                    prev_hash=last.hash)
    ev.hash = sign(audit._event_body(ev))
    return ev


def test_intact_chain_verifies_and_holds_to_its_latest_checkpoint(runner, db):
    record_events()
    cp = publish_checkpoint(db)
    record_events(2)
    code, out = _verify(runner)
    assert code == 0 and "intact" in out and f"latest checkpoint ({cp.count} events" in out


def test_changed_event_is_named(runner, db):
    record_events(5)
    target = events(db)[-3]
    as_database_owner(db)
    db.execute(text("UPDATE audit_event SET actor_name = 'someone_else' WHERE id = :id"), {"id": target.id})
    code, out = _verify(runner)
    assert code == 1 and f"event #{target.seq} (id {target.id})" in out and "does not match its MAC" in out


def test_rewrite_rehashed_with_sha256_is_named_at_the_changed_event(runner, db):
    record_events(5)
    target = events(db)[-3]
    as_database_owner(db)
    _rewrite_from(db, target.seq, changes='{"after":{"n":99}}')
    code, out = _verify(runner)
    assert code == 1 and f"event #{target.seq} (id {target.id})" in out and "does not match its MAC" in out


def test_whole_trail_rehashed_from_the_first_event_is_named(runner, db):
    record_events(2)
    as_database_owner(db)
    _rewrite_from(db, 1, actor_name="nobody")
    code, out = _verify(runner)
    assert code == 1 and "at event #1:" in out and "not sealed" in out


def test_forged_event_appended_with_a_recomputed_hash_is_named(runner, db):
    record_events()
    as_database_owner(db)
    forged = _forged(db, lambda body: hashlib.sha256(body.encode()).hexdigest())
    _insert(db, forged)
    set_head(db, forged.seq, forged.hash)
    code, out = _verify(runner)
    assert code == 1 and f"event #{forged.seq}" in out and "without the audit key" in out


def test_forged_event_signed_with_a_guessed_key_is_named(runner, db):
    record_events()
    as_database_owner(db)
    forged = _forged(db, lambda body: hmac.new(b"test-secret", body.encode(), hashlib.sha256).hexdigest())
    _insert(db, forged)
    set_head(db, forged.seq, forged.hash)
    code, out = _verify(runner)
    assert code == 1 and f"event #{forged.seq}" in out


def _truncate_tail_after_a_checkpoint(db):
    """Events recorded and checkpointed, then the last two cut off with the head rewound to match."""
    record_events(4)
    cp = publish_checkpoint(db)
    kept = events(db)[-3]
    kept_seq, kept_hash = kept.seq, kept.hash
    as_database_owner(db)
    db.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": kept_seq})
    set_head(db, kept_seq, kept_hash)
    return cp, kept_seq


def test_tail_truncated_with_the_head_rewound_fails_against_the_checkpoint(runner, db):
    cp, kept_seq = _truncate_tail_after_a_checkpoint(db)
    code, out = _verify(runner)
    assert code == 1 and f"event #{kept_seq + 1}" in out
    assert f"recorded {cp.count} events" in out and f"events {kept_seq + 1}–{cp.count} were removed" in out


def test_emptying_both_tables_fails(runner, db):
    record_events()
    publish_checkpoint(db)
    as_database_owner(db)
    db.execute(text("DELETE FROM audit_event"))
    db.execute(text("DELETE FROM audit_head"))
    code, out = _verify(runner)
    assert code == 1 and "head row is missing" in out and "intact" not in out


def test_emptying_the_events_and_resetting_the_head_fails_against_the_checkpoint(runner, db):
    record_events()
    cp = publish_checkpoint(db)
    as_database_owner(db)
    db.execute(text("DELETE FROM audit_event"))
    set_head(db, 0, audit.GENESIS)
    code, out = _verify(runner)
    assert code == 1 and f"recorded {cp.count} events but the chain has 0" in out


def test_missing_head_fails_even_before_any_checkpoint(runner, db):
    record_events()
    as_database_owner(db)
    db.execute(text("DELETE FROM audit_head"))
    code, out = _verify(runner)
    assert code == 1 and "head row is missing" in out


def test_an_event_replaced_before_the_checkpoint_is_named(runner, db):
    """Re-signing needs the key; but a chain rebuilt from a copy (say, an old backup) differs from the checkpoint."""
    record_events(2)
    cp = publish_checkpoint(db)
    as_database_owner(db)
    db.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": "f" * 64})
    db.execute(text("UPDATE audit_event SET hash = :h WHERE seq = :s"), {"h": "f" * 64, "s": cp.count})
    code, out = _verify(runner)
    assert code == 1 and f"event #{cp.count}" in out


def test_a_changed_checkpoint_line_is_named(app, runner, db):
    record_events()
    publish_checkpoint(db)
    path = audit.checkpoint_path()
    line = json.loads(path.read_text())
    path.write_text(json.dumps({**line, "count": line["count"] - 1}) + "\n")
    code, out = _verify(runner)
    assert code == 1 and "line 1 does not match its signature" in out


def test_a_checkpoint_signed_with_another_key_is_named_as_such(app, runner, db):
    record_events()
    publish_checkpoint(db)
    app.config["AUDIT_KEY"] = "k" * 64
    code, out = _verify(runner)
    assert code == 1 and "signed with another audit key" in out


def test_tail_truncated_and_then_written_over_by_the_app_is_named_at_the_checkpoint(runner, db):
    cp, kept_seq = _truncate_tail_after_a_checkpoint(db)
    record_events(5)  # the desk goes on writing: the count passes the checkpoint's again
    code, out = _verify(runner)
    assert code == 1 and f"event #{cp.count}" in out and "not the event the checkpoint" in out

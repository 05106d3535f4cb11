"""Checkpoints: the head published outside the database after a commit, by the scheduler, `flask audit
checkpoint` and each notice publication; and a database made before the audit key, sealed on upgrade."""

import json
from datetime import date, datetime

from sqlalchemy import select, text

from audit import services as audit
from audit.models import AuditEvent
from core import clock, migrate
from tests.audit.builders import head, publish_checkpoint, record_events


def test_a_checkpoint_is_written_only_when_its_transaction_commits(db):
    record_events()
    audit.checkpoint_on_commit("test", clock.now())
    db.rollback()
    assert not audit.checkpoint_path().exists()
    record_events()
    cp = publish_checkpoint(db)
    assert (cp.count, cp.head, cp.reason) == (head(db).seq, head(db).hash, "test")
    assert audit.checkpoint_path().stat().st_mode & 0o077 == 0


def test_the_checkpoint_command_appends_a_signed_line(runner, db):
    record_events()
    result = runner.invoke(args=["audit", "checkpoint"])
    line = json.loads(audit.checkpoint_path().read_text())
    assert result.exit_code == 0 and f"checkpoint: {head(db).seq} events" in result.output
    assert line["count"] == head(db).seq and line["key"] == audit.key_id() and len(line["mac"]) == 64


def test_the_scheduler_job_checkpoints_only_when_the_head_moved(db):
    assert audit.checkpoint_job(clock.now()).startswith("audit checkpoint at event")
    db.commit()
    assert audit.checkpoint_job(clock.now()) == ""
    db.commit()
    record_events(1)
    db.commit()
    assert audit.checkpoint_job(clock.now()) == f"audit checkpoint at event {head(db).seq}"
    db.commit()
    assert [cp.count for cp in audit.read_checkpoints()[0]] == [head(db).seq - 1, head(db).seq]


def test_publishing_a_notice_publishes_a_checkpoint_printed_on_the_notice(app, client, login, db):
    from spotchecks import notices
    from tests.spotchecks.builders import SETTINGS, at_local, make_fault

    supervisor = make_fault(day=date(2026, 11, 23)).supervisor
    notice, _ = notices.draft_notice(actor=supervisor, now=at_local(2026, 11, 27, 18, 0), kind="daily",
                                     day=date(2026, 11, 23))
    notices.publish(actor=supervisor, now=at_local(2026, 11, 27, 18, 30), notice=notice, settings=SETTINGS)
    published = db.execute(select(AuditEvent).where(AuditEvent.action == "publish",
                                                    AuditEvent.entity_id == str(notice.id))).scalar_one()
    assert audit.checkpoint_for(f"notice:{notice.id}") is None  # not before the commit
    db.commit()
    cp = audit.checkpoint_for(f"notice:{notice.id}")
    assert cp.count == published.seq and cp.head == published.hash
    login("supervisor")
    page = client.get(f"/spotchecks/notices/{notice.id}/print").get_data(as_text=True)
    assert f"审计校验点：截至第 {cp.count} 条审计记录，校验码 {cp.head[:16]}" in page


def _legacy_event(seq: int, prev: str, entity_id: str = "") -> dict:
    ev = AuditEvent(seq=seq, at=clock.local_to_utc(datetime(2026, 11, 20, 9, seq)), actor_id=None, actor_name="",
                    actor_role="", action="create", entity_type="unit", entity_id=entity_id or str(seq),
                    changes="{}", request_id="", client_addr="", prev_hash=prev)
    ev.hash = audit._legacy_hash(ev)
    return {"seq": seq, "at": ev.at.replace(tzinfo=None), "entity_id": ev.entity_id, "prev": prev, "hash": ev.hash}


def test_a_database_made_before_the_audit_key_is_sealed_on_upgrade_and_then_holds(tmp_path):
    from app import create_app

    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "test-secret"})
    engine = app.extensions["hotline.engine"]
    migrate.upgrade(engine, "0004")
    legacy = []
    with engine.begin() as conn:  # what the unkeyed chain wrote
        for seq in (1, 2, 3):
            legacy.append(_legacy_event(seq, legacy[-1]["hash"] if legacy else audit.GENESIS))
            conn.execute(text("INSERT INTO audit_event (seq, at, actor_name, actor_role, action, entity_type, "
                              "entity_id, changes, request_id, client_addr, prev_hash, hash) VALUES (:seq, :at, '', "
                              "'', 'create', 'unit', :entity_id, '{}', '', '', :prev, :hash)"), legacy[-1])
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :h)"), {"h": legacy[-1]["hash"]})
    migrate.upgrade(engine)
    runner = app.test_cli_runner()
    unsealed = runner.invoke(args=["audit", "verify"])
    assert unsealed.exit_code == 1 and "events 1–3 were written before the audit key" in unsealed.output
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    sealed = runner.invoke(args=["audit", "verify"])
    assert sealed.exit_code == 0 and "intact: 4 events" in sealed.output
    with engine.begin() as conn:
        seal = conn.execute(text("SELECT action, changes FROM audit_event WHERE seq = 4")).one()
        assert seal.action == "seal" and json.loads(seal.changes) == {"legacy_events": 3,
                                                                      "legacy_head": legacy[-1]["hash"]}
        # a sealed legacy event rewritten and re-hashed, later ones relinked: the seal no longer matches
        second = _legacy_event(2, legacy[0]["hash"], entity_id="x")
        third = _legacy_event(3, second["hash"])
        for row in (second, third):
            conn.execute(text("UPDATE audit_event SET entity_id = :entity_id, prev_hash = :prev, hash = :hash "
                              "WHERE seq = :seq"), row)
    rewritten = runner.invoke(args=["audit", "verify"])
    assert rewritten.exit_code == 1 and "event #4" in rewritten.output and "link" in rewritten.output
    engine.dispose()


def test_the_scheduler_runs_the_checkpoint_job_at_the_configured_interval(app, db):
    import composition
    from core import scheduler

    job = next(j for j in composition.JOBS if j.name == "audit_checkpoint")
    app.config["AUDIT_CHECKPOINT_MINUTES"] = 15
    assert job.trigger(app).interval.total_seconds() == 15 * 60 and job.catch_up
    assert scheduler.run_job(app, job) == f"audit checkpoint at event {head(db).seq}"
    assert audit.latest_checkpoint().reason == "scheduler"

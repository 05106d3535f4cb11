from sqlalchemy import select

from core.models import User


def test_users_create_and_token(runner, db):
    result = runner.invoke(args=["users", "create", "clerk1", "--role", "operator", "--password", "Passw0rd1"])
    assert result.exit_code == 0, result.output
    token = runner.invoke(args=["users", "token", "clerk1"])
    assert token.exit_code == 0 and token.output.strip().startswith("hd_")
    assert db.execute(select(User).where(User.username == "clerk1")).scalar_one()


def test_users_create_rejects_bad_role_and_unknown_unit(runner):
    assert runner.invoke(args=["users", "create", "x1", "--role", "boss"]).exit_code != 0
    result = runner.invoke(args=["users", "create", "cw9", "--role", "caseworker", "--unit", "999999"])
    assert result.exit_code != 0 and "单位不存在" in result.output


def test_token_for_unknown_user_fails(runner):
    result = runner.invoke(args=["users", "token", "nobody"])
    assert result.exit_code != 0 and "no such user" in result.output


def test_audit_verify_reports_intact(runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_audit_verify_exits_1_naming_a_tampered_event(runner, db):
    from sqlalchemy import select, text

    from audit.models import AuditEvent
    from tests.audit.builders import as_database_owner

    runner.invoke(args=["users", "create", "tamper1", "--role", "operator", "--password", "Passw0rd1"])
    target = db.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    seq = target.seq
    as_database_owner(db)
    db.execute(text("UPDATE audit_event SET actor_name = 'someone_else' WHERE id = :id"), {"id": target.id})
    db.expire_all()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"event #{seq}" in result.output


def test_users_token_takes_a_lifetime(runner, db):
    from datetime import timedelta

    from core.models import ApiToken

    runner.invoke(args=["users", "create", "clerk2", "--role", "operator", "--password", "Passw0rd1"])
    result = runner.invoke(args=["users", "token", "clerk2", "--days", "30"])
    assert result.exit_code == 0 and result.output.strip().startswith("hd_") and "30 days" in result.output
    token = db.execute(select(ApiToken).join(User).where(User.username == "clerk2")).scalar_one()
    assert token.expires_at - token.created_at == timedelta(days=30)
    assert runner.invoke(args=["users", "token", "clerk2", "--days", "0"]).exit_code != 0


def test_scheduler_runs_the_jobs_the_app_was_composed_with(app, runner):
    import composition

    assert [j.name for j in app.extensions["hotline.jobs"]] == [j.name for j in composition.JOBS]
    unknown = runner.invoke(args=["scheduler", "--once", "nope"])
    assert unknown.exit_code != 0 and "ticket_deadlines" in unknown.output and "audit_checkpoint" in unknown.output
    ran = runner.invoke(args=["scheduler", "--once", "purge_login_attempts"])
    assert ran.exit_code == 0 and "purged" in ran.output

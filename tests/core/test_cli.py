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

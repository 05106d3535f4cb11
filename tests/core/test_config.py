from pathlib import Path

import pytest

from core import config


def test_defaults_use_sqlite_under_instance(tmp_path):
    cfg = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})
    assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'hotline.db'}"
    assert cfg["SESSION_MINUTES"] == 480


def test_generated_secret_key_is_kept_in_instance(tmp_path):
    first = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (Path(tmp_path) / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("name, value", [
    ("HOTLINE_SESSION_MINUTES", "ten"),
    ("HOTLINE_SESSION_MINUTES", "0"),
    ("HOTLINE_SECURE_COOKIES", "maybe"),
    ("HOTLINE_ENV", "staging"),
    ("HOTLINE_DATABASE_URL", "mysql://x"),
    ("HOTLINE_PLAN_WEEKDAY_TIME", "25:00"),
])
def test_bad_value_names_the_variable(tmp_path, name, value):
    with pytest.raises(config.ConfigError, match=name):
        config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), name: value})


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(config.ConfigError, match="HOTLINE_SECRET_KEY"):
        config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_ENV": "production"})


def test_a_shared_postgresql_database_needs_keys_set_for_every_host(tmp_path):
    pg = {"HOTLINE_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql+psycopg://app@db.example:5432/hotline"}
    with pytest.raises(config.ConfigError, match="HOTLINE_SECRET_KEY and HOTLINE_AUDIT_KEY must be set"):
        config.load(environ=pg)
    with pytest.raises(config.ConfigError, match="HOTLINE_AUDIT_KEY must be set when DATABASE_URL is PostgreSQL"):
        config.load(environ={**pg, "HOTLINE_SECRET_KEY": "s" * 64})
    assert not (Path(tmp_path) / "secret_key").exists() and not (Path(tmp_path) / "audit_key").exists()
    cfg = config.load(environ={**pg, "HOTLINE_SECRET_KEY": "s" * 64, "HOTLINE_AUDIT_KEY": "a" * 40})
    assert cfg["SECRET_KEY"] == "s" * 64 and cfg["AUDIT_KEY"] == "a" * 40


def test_production_refuses_to_start_without_audit_key(tmp_path):
    with pytest.raises(config.ConfigError, match="HOTLINE_AUDIT_KEY"):
        config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_ENV": "production",
                             "HOTLINE_SECRET_KEY": "s" * 64})
    assert not (Path(tmp_path) / "audit_key").exists()


def test_generated_audit_key_is_kept_in_instance_apart_from_the_secret_key(tmp_path):
    first = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})
    second = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path)})
    assert first["AUDIT_KEY"] == second["AUDIT_KEY"] != first["SECRET_KEY"]
    assert (Path(tmp_path) / "audit_key").stat().st_mode & 0o077 == 0
    assert first["AUDIT_CHECKPOINT_FILE"] == str(Path(tmp_path) / "audit_checkpoints.jsonl")


def test_short_audit_key_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="HOTLINE_AUDIT_KEY is too short"):
        config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_AUDIT_KEY": "secret"})


def test_plain_database_url_switches_database(tmp_path):
    cfg = config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_ENV": "testing",
                               "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"})
    assert cfg["DATABASE_URL"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_module_app_exits_with_message_on_bad_config(monkeypatch, capsys):
    import app as app_module

    monkeypatch.setenv("HOTLINE_SESSION_MINUTES", "abc")
    monkeypatch.setattr(app_module, "_app", None)
    with pytest.raises(SystemExit) as exc:
        app_module.app  # noqa: B018
    assert exc.value.code == 2
    assert "HOTLINE_SESSION_MINUTES" in capsys.readouterr().err


def test_instance_folder_and_its_files_are_private_whatever_the_umask(tmp_path):
    import os

    instance = tmp_path / "fresh" / "instance"
    old = os.umask(0o022)
    try:
        cfg = config.load(environ={"HOTLINE_INSTANCE_PATH": str(instance)})
        from sqlalchemy import create_engine, text

        engine = create_engine(cfg["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        engine.dispose()
    finally:
        os.umask(old)
    assert instance.stat().st_mode & 0o777 == 0o700
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (instance / "hotline.db").stat().st_mode & 0o777 == 0o600


def test_an_existing_open_instance_folder_and_key_are_tightened(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    (instance / "secret_key").write_text("k" * 64)
    (instance / "secret_key").chmod(0o644)
    assert config.load(environ={"HOTLINE_INSTANCE_PATH": str(instance)})["SECRET_KEY"] == "k" * 64
    assert instance.stat().st_mode & 0o777 == 0o700
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("env, secure", [
    ({"HOTLINE_ENV": "production", "HOTLINE_SECRET_KEY": "k", "HOTLINE_AUDIT_KEY": "a" * 32}, True),
    ({"HOTLINE_ENV": "production", "HOTLINE_SECRET_KEY": "k", "HOTLINE_AUDIT_KEY": "a" * 32,
      "HOTLINE_SECURE_COOKIES": "0"}, False),
    ({}, False),
    ({"HOTLINE_SECURE_COOKIES": "yes"}, True),
])
def test_secure_cookies_default_on_in_production_only(tmp_path, env, secure):
    assert config.load(environ={"HOTLINE_INSTANCE_PATH": str(tmp_path), **env})["SECURE_COOKIES"] is secure


def test_the_app_refuses_to_start_on_postgresql_without_its_keys(tmp_path, monkeypatch, capsys):
    import app as app_module

    for name in ("HOTLINE_SECRET_KEY", "HOTLINE_AUDIT_KEY", "HOTLINE_ENV", "HOTLINE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.example:5432/hotline")
    with pytest.raises(SystemExit) as stopped:
        app_module._module_app()
    assert stopped.value.code == 2
    assert "HOTLINE_SECRET_KEY and HOTLINE_AUDIT_KEY must be set when DATABASE_URL is PostgreSQL" in \
        capsys.readouterr().err

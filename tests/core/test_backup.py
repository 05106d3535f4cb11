"""`flask backup create` / `backup restore`: a consistent copy that a fresh instance restores and verifies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from audit.models import AuditEvent
from core import backup, clock, migrate
from core.db import session, transaction
from core.models import Unit
from tests.conftest import PG_URL


def _app(instance: Path, url: str, uploads: Path | None = None):
    from app import create_app

    return create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
                       "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                       **({"UPLOAD_DIR": str(uploads)} if uploads else {})})


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        try:
            return (session.execute(select(func.count(AuditEvent.id))).scalar_one(),
                    session.execute(select(func.count(Unit.id))).scalar_one())
        finally:
            session.remove()


def _populate(app) -> None:
    """A small instance: units, some audit events, a checkpoint and an uploaded file."""
    migrate.upgrade(app.extensions["hotline.engine"])
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "clerk", "--role", "operator", "--password", "Passw0rd1"]).exit_code == 0
    with app.app_context():
        from core import seed

        with transaction():
            seed.load_units(now=clock.now())
        session.remove()
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    upload = Path(app.instance_path) / "uploads" / "tickets" / "abc123.pdf"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"%PDF-1.4 evidence")
    (upload.parent / ".abc.part").write_bytes(b"half")  # a half-written file is left out


@pytest.fixture
def pg_restore_url():
    """An empty PostgreSQL database beside the test one, dropped afterwards."""
    if not PG_URL:
        pytest.skip("PostgreSQL pass needs TEST_DATABASE_URL")
    name = PG_URL.rsplit("/", 1)[1] + "_restore"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _round_trip(tmp_path, source_url: str, target_url: str) -> None:
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    source = _app(tmp_path / "a", source_url)
    _populate(source)
    events, units = _counts(source)
    folder = tmp_path / "backup"
    made = source.test_cli_runner().invoke(args=["backup", "create", str(folder)])
    assert made.exit_code == 0, made.output
    manifest = json.loads((folder / "manifest.json").read_text())
    paths = {f["path"] for f in manifest["files"]}
    assert "uploads/tickets/abc123.pdf" in paths and not any(".part" in p for p in paths)
    assert "audit_key" in manifest["keys_included"] and "audit_checkpoints.jsonl" in paths
    assert oct((folder / "audit_key").stat().st_mode & 0o777) == "0o600"

    target = _app(tmp_path / "b", target_url, uploads=tmp_path / "shared-mount")  # HOTLINE_UPLOAD_DIR
    restored = target.test_cli_runner().invoke(args=["backup", "restore", str(folder)])
    assert restored.exit_code == 0, restored.output
    assert "audit trail intact" in restored.output
    assert (tmp_path / "shared-mount" / "tickets" / "abc123.pdf").read_bytes() == b"%PDF-1.4 evidence"
    # A new process (fresh config, the restored keys) serves the same data and verifies, with the
    # restore's own event appended.
    fresh = _app(tmp_path / "b", target_url)
    assert _counts(fresh) == (events + 1, units)  # the restore's event (backup_create came after the snapshot)
    verified = fresh.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "intact" in verified.output, verified.output
    # Restoring again into the now-populated instance is refused, nothing touched.
    again = fresh.test_cli_runner().invoke(args=["backup", "restore", str(folder)])
    assert again.exit_code != 0 and "not empty" in again.output
    for app in (source, target, fresh):
        app.extensions["hotline.engine"].dispose()


def test_sqlite_backup_restores_on_a_fresh_instance_and_verifies(tmp_path):
    _round_trip(tmp_path, f"sqlite:///{tmp_path / 'a' / 'hotline.db'}", f"sqlite:///{tmp_path / 'b' / 'hotline.db'}")


def test_postgresql_backup_restores_on_a_fresh_database_and_verifies(tmp_path, pg_restore_url):
    source_url = PG_URL.rsplit("/", 1)[0] + "/" + pg_restore_url.rsplit("/", 1)[1] + "_src"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = source_url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(tmp_path, source_url, pg_restore_url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_damaged_backup_is_refused(tmp_path):
    source = _app(tmp_path / "a", f"sqlite:///{tmp_path / 'a' / 'hotline.db'}")
    _populate(source)
    folder = tmp_path / "backup"
    assert source.test_cli_runner().invoke(args=["backup", "create", str(folder)]).exit_code == 0
    upload = folder / "uploads" / "tickets" / "abc123.pdf"
    upload.write_bytes(b"%PDF-1.4 tampered")
    target = _app(tmp_path / "b", f"sqlite:///{tmp_path / 'b' / 'hotline.db'}")
    refused = target.test_cli_runner().invoke(args=["backup", "restore", str(folder)])
    assert refused.exit_code != 0 and "damaged" in refused.output
    assert not (tmp_path / "b" / "uploads").exists()
    # An existing folder is never written into.
    again = source.test_cli_runner().invoke(args=["backup", "create", str(folder)])
    assert again.exit_code != 0 and "not empty" in again.output


def test_a_backup_keyed_by_the_environment_needs_the_same_key_to_restore(tmp_path):
    from app import create_app

    key = "k" * 40
    source = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'a' / 'hotline.db'}",
                         "INSTANCE_PATH": str(tmp_path / "a"), "SECRET_KEY": "s", "AUDIT_KEY": key})
    _populate(source)
    folder = tmp_path / "backup"
    made = source.test_cli_runner().invoke(args=["backup", "create", str(folder)])
    assert made.exit_code == 0 and "keys included: none" in made.output
    other = _app(tmp_path / "b", f"sqlite:///{tmp_path / 'b' / 'hotline.db'}")  # a generated key
    refused = other.test_cli_runner().invoke(args=["backup", "restore", str(folder)])
    assert refused.exit_code != 0 and "HOTLINE_AUDIT_KEY" in refused.output


def test_nightly_backups_keep_the_newest(tmp_path):
    folder = tmp_path / "backups"
    for day in range(1, 6):
        (folder / f"hotline-202612{day:02d}-024700").mkdir(parents=True)
        (folder / f"hotline-202612{day:02d}-024700" / "manifest.json").write_text("{}")
    (folder / "notes").mkdir()
    removed = backup.prune(folder, keep=3)
    assert [p.name for p in removed] == ["hotline-20261201-024700", "hotline-20261202-024700"]
    assert sorted(p.name for p in folder.iterdir()) == ["hotline-20261203-024700", "hotline-20261204-024700",
                                                       "hotline-20261205-024700", "notes"]


def test_the_nightly_job_backs_up_inside_its_own_write_transaction(app, tmp_path):
    """The job holds its slot's claim (SQLite's write lock) while the snapshot is read on other connections."""
    from core import scheduler

    app.config["BACKUP_DIR"] = str(tmp_path / "nightly")
    app.config["BACKUP_KEEP"] = 1
    job = next(j for j in scheduler.jobs_of(app) if j.name == "nightly_backup")
    first = scheduler.run_job(app, job, force=True)
    assert first.startswith("backup written to") and "0 old backups deleted" in first, first
    with clock.freeze(clock.now().replace(microsecond=0) + timedelta(seconds=2)):
        second = scheduler.run_job(app, job, force=True)
    assert "1 old backups deleted" in second, second
    assert len(list((tmp_path / "nightly").iterdir())) == 1

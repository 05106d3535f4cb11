"""Backups a city can restore: the database copied consistently while the app runs, the uploaded files,
the audit checkpoints, and a manifest that says what is inside and lets a restore check every byte.

SQLite is copied with its online backup API (a consistent snapshot, the WAL included — a plain `cp` of
hotline.db while the app runs misses what is still in hotline.db-wal, or copies a torn page); PostgreSQL
with `pg_dump --format=custom` (one snapshot) and restored with `pg_restore` into an empty database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from audit import services as audit
from audit.services import key_id_of
from core.config import upload_dir
from core.errors import DomainError

FORMAT = 1
MANIFEST = "manifest.json"
#: Instance files a backup carries beside the database (the generated keys only when the app uses them).
KEY_FILES = ("secret_key", "audit_key")
#: Transient files under uploads/ that a backup leaves out (half-written files, staged imports).
_SKIP_PREFIXES = (".",)


class BackupError(DomainError):
    status = 400
    code = "backup_failed"


@dataclass(frozen=True)
class Source:
    """What one instance consists of, as a backup or restore sees it."""

    engine: Engine
    instance: Path
    #: The uploaded files (HOTLINE_UPLOAD_DIR), backed up and restored as uploads/.
    uploads: Path
    checkpoint_file: Path
    secret_key: str
    audit_key: str

    def generated(self, name: str) -> bool:
        """Whether the app uses the key generated into instance/`name` (not one set in the environment)."""
        path = self.instance / name
        value = self.secret_key if name == "secret_key" else self.audit_key
        return path.is_file() and path.read_text().strip() == value


def source_of(app: object) -> Source:
    """This app's instance as a backup sees it."""
    config = app.config  # type: ignore[attr-defined]
    return Source(engine=app.extensions["hotline.engine"], instance=Path(app.instance_path),  # type: ignore[attr-defined]
                  uploads=upload_dir(config), checkpoint_file=Path(config["AUDIT_CHECKPOINT_FILE"]), secret_key=config["SECRET_KEY"],
                  audit_key=config["AUDIT_KEY"])


def default_target(app: object, now: datetime) -> Path:
    from core.clock import to_local

    config = app.config  # type: ignore[attr-defined]
    folder = Path(config["BACKUP_DIR"] or Path(app.instance_path) / "backups")  # type: ignore[attr-defined]
    return folder / f"hotline-{to_local(now):%Y%m%d-%H%M%S}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _kind(engine: Engine) -> str:
    return engine.dialect.name


def _libpq_url(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database URL as pg_dump and pg_restore take it, and the password in their environment."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as err:
        raise BackupError(f"{args[0]} is not installed (the PostgreSQL client tools are needed)") from err
    if done.returncode != 0:
        raise BackupError(f"{args[0]} failed: {done.stderr.strip()[:500]}")


def _schema_revision(engine: Engine) -> str:
    # Read-only: on SQLite a scheduled backup runs inside its job's write transaction on another connection.
    with engine.connect().execution_options(read_only=True) as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return ""
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""


def _copy_tree(source: Path, target: Path) -> list[Path]:
    copied: list[Path] = []
    if not source.is_dir():
        return copied
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if not path.is_file() or any(part.startswith(_SKIP_PREFIXES) for part in rel.parts):
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
        copied.append(dest)
    return copied


def create(src: Source, target: Path, *, now: datetime) -> dict:
    """Write a backup of `src` into the new folder `target` (0700); returns its manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"the backup folder {target} exists and is not empty")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    kind = _kind(src.engine)
    try:
        if kind == "sqlite":
            database = target / "hotline.db"
            source = sqlite3.connect(f"file:{src.engine.url.database}?mode=ro", uri=True)
            copy = sqlite3.connect(database)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        elif kind == "postgresql":
            database = target / "database.dump"
            url, env = _libpq_url(src.engine)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={database}", url], env)
        else:
            raise BackupError(f"no backup for a {kind} database")
        files = [database, *_copy_tree(src.uploads, target / "uploads")]
        if src.checkpoint_file.exists():
            shutil.copy2(src.checkpoint_file, target / "audit_checkpoints.jsonl")
            files.append(target / "audit_checkpoints.jsonl")
        keys = []
        for name in KEY_FILES:
            if src.generated(name):
                shutil.copy2(src.instance / name, target / name)
                os.chmod(target / name, 0o600)
                files.append(target / name)
                keys.append(name)
        manifest = {
            "format": FORMAT, "created_at": now.isoformat(), "database": kind,
            "schema_revision": _schema_revision(src.engine), "audit_key_id": key_id_of(src.audit_key),
            "keys_included": keys,
            "files": [{"path": p.relative_to(target).as_posix(), "size": p.stat().st_size, "sha256": _sha256(p)}
                      for p in files],
        }
        (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        return manifest
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def read_manifest(folder: Path) -> dict:
    """The backup's manifest, after checking every file it lists against its size and SHA-256."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as err:
        raise BackupError(f"the manifest of {folder} is unreadable: {err}") from err
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for item in files:
        file = folder / item["path"]
        if not file.is_file() or file.stat().st_size != item["size"] or _sha256(file) != item["sha256"]:
            raise BackupError(f"the backup is damaged: {item['path']} is missing or does not match the manifest")
    return manifest


def _is_empty(engine: Engine) -> bool:
    with engine.connect().execution_options(read_only=True) as conn:
        return not [t for t in inspect(conn).get_table_names() if t != "alembic_version"]


def restore(src: Source, folder: Path) -> list[str]:
    """Restore the backup in `folder` into this (empty) instance; returns what was done, line by line.

    Keys: a backup that carries the generated keys puts them in place (the instance must not have data of
    its own); one whose keys came from the environment needs the same HOTLINE_AUDIT_KEY here."""
    manifest = read_manifest(folder)
    kind = _kind(src.engine)
    if manifest["database"] != kind:
        raise BackupError(f"this is a {manifest['database']} backup; this instance uses {kind}")
    if not _is_empty(src.engine):
        raise BackupError("the database of this instance is not empty: restore only into a new, empty instance")
    keys = [name for name in manifest.get("keys_included", []) if src.generated(name)]
    audit_key = (folder / "audit_key").read_text().strip() if "audit_key" in keys else src.audit_key
    if key_id_of(audit_key) != manifest.get("audit_key_id"):
        raise BackupError(f"the backup's audit trail is keyed with key {manifest.get('audit_key_id')}, this "
                          f"instance uses key {key_id_of(src.audit_key)}: set HOTLINE_AUDIT_KEY to the "
                          "backed-up instance's key before restoring")
    done = []
    for name in keys:
        shutil.copy2(folder / name, src.instance / name)
        os.chmod(src.instance / name, 0o600)
        done.append(f"restored instance/{name}")
    if kind == "sqlite":
        src.engine.dispose()
        source = sqlite3.connect(f"file:{folder / 'hotline.db'}?mode=ro", uri=True)
        dest = sqlite3.connect(src.engine.url.database)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()
    else:
        url, env = _libpq_url(src.engine)
        src.engine.dispose()
        _run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
              f"--dbname={url}", str(folder / "database.dump")], env)
    done.append(f"restored the {kind} database (schema {manifest['schema_revision'] or 'unknown'})")
    uploads = _copy_tree(folder / "uploads", src.uploads)
    done.append(f"restored {len(uploads)} uploaded files")
    if (folder / "audit_checkpoints.jsonl").exists():
        if src.checkpoint_file.exists() and src.checkpoint_file.stat().st_size:
            raise BackupError(f"{src.checkpoint_file} already holds checkpoints of another trail")
        src.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / "audit_checkpoints.jsonl", src.checkpoint_file)
        done.append("restored the audit checkpoints")
    return done


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups (folders with a manifest) under `folder`."""
    backups = sorted((p for p in folder.iterdir() if (p / MANIFEST).is_file()), key=lambda p: p.name) \
        if folder.is_dir() else []
    removed = backups[:-keep] if keep > 0 else backups
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def record_created(target: Path, manifest: dict, *, now: datetime) -> None:
    """The audit event of a backup (written after the snapshot, so not inside it)."""
    audit.record("backup_create", "backup", target.name, actor=None, now=now,
                 changes={"path": str(target), "database": manifest["database"], "files": len(manifest["files"]),
                          "bytes": sum(f["size"] for f in manifest["files"])})


def record_restored(folder: Path, *, now: datetime) -> None:
    audit.record("backup_restore", "backup", folder.name, actor=None, now=now, changes={"path": str(folder)})


def nightly(app: object, now: datetime, keep: int) -> str:
    """The scheduled backup: a new folder under BACKUP_DIR, then all but the `keep` newest deleted."""
    target = default_target(app, now)
    manifest = create(source_of(app), target, now=now)
    record_created(target, manifest, now=now)
    removed = prune(target.parent, keep)
    return f"backup written to {target} ({len(manifest['files'])} files); {len(removed)} old backups deleted"

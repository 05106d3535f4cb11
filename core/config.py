"""Configuration: defaults here, overridden by HOTLINE_* environment variables parsed strictly."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def _parse_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r}: expected a number from {low} to {high}")
    return value


def _parse_str(name: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(f"{name} is set but empty")
    return raw.strip()


def _parse_key(name: str, raw: str) -> str:
    value = _parse_str(name, raw)
    if len(value) < 32:
        raise ConfigError(f"{name} is too short: use at least 32 random characters (e.g. python -c "
                          "'import secrets; print(secrets.token_hex(32))')")
    return value


def _parse_choice(choices: tuple[str, ...]):
    def parse(name: str, raw: str) -> str:
        if raw.strip() not in choices:
            raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
        return raw.strip()

    return parse


def _parse_db_url(name: str, raw: str) -> str:
    value = _parse_str(name, raw)
    if not value.startswith(("sqlite:", "postgresql")):
        raise ConfigError(f"{name}={raw!r}: expected a sqlite:/// or postgresql+psycopg:// URL")
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://"):]
    return value


def _parse_hhmm(name: str, raw: str) -> str:
    parts = raw.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise ConfigError(f"{name}={raw!r}: expected a time HH:MM")
    return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


def _parse_int_pairs(name: str, raw: str) -> dict[str, int]:
    """"late=10,wrong=40" → {"late": 10, "wrong": 40}, whole numbers 0–1000. Which keys are known is the
    owning area's business: the spot-check rubric refuses an unknown one when the app starts."""
    result: dict[str, int] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"{name}={raw!r}: expected key=number pairs such as late=10,wrong=40")
        result[key] = _parse_int(name, value, 0, 1000)
    return result


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    parse: Any
    doc: str


def _int(low: int, high: int):
    return lambda name, raw: _parse_int(name, raw, low, high)


#: Every setting the app reads, with its environment variable HOTLINE_<KEY>.
SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", _parse_choice(("development", "production", "testing")),
            "development, production or testing; production refuses to start without the secret and audit keys"),
    Setting("SECRET_KEY", None, _parse_str, "session signing key (generated into instance/ when unset outside production)"),
    Setting("AUDIT_KEY", None, _parse_key,
            "key of the audit trail's HMAC chain, kept outside the database (generated into instance/audit_key "
            "when unset outside production); losing it means the trail can no longer be verified"),
    Setting("AUDIT_CHECKPOINT_FILE", None, _parse_str,
            "file the audit checkpoints are appended to; default instance/audit_checkpoints.jsonl "
            "(best on storage the database's users cannot write)"),
    Setting("AUDIT_CHECKPOINT_MINUTES", 60, _int(1, 24 * 60), "how often the scheduler publishes an audit checkpoint"),
    Setting("DATABASE_URL", None, _parse_db_url, "SQLAlchemy URL; default sqlite:///instance/hotline.db"),
    Setting("DB_CONNECT_TIMEOUT", 5, _int(1, 120), "seconds to wait for a PostgreSQL connection before the request fails"),
    Setting("DB_STATEMENT_TIMEOUT", 60, _int(1, 3600),
            "seconds a PostgreSQL statement may run; a stalled network is noticed after DB_CONNECT_TIMEOUT × 2"),
    Setting("DB_POOL_TIMEOUT", 10, _int(1, 300), "seconds a request waits for a free connection of the pool"),
    Setting("INSTANCE_PATH", None, _parse_str, "folder for the SQLite file, secret key, search index, uploads"),
    Setting("SESSION_MINUTES", 480, _int(5, 7 * 24 * 60), "idle minutes before a login session expires"),
    Setting("LOGIN_MAX_FAILURES", 5, _int(1, 100), "failed logins of one user name within the window before that account is locked"),
    Setting("LOGIN_MAX_FAILURES_PER_ADDRESS", 20, _int(1, 10000),
            "failed logins from one client address within the window before that address is slowed down "
            "(each further try waits 1, 2, 4 … s); accounts behind a shared address are not locked"),
    Setting("LOGIN_THROTTLE_MAX_SECONDS", 60, _int(1, 3600), "longest wait the address slow-down imposes between tries"),
    Setting("LOCKOUT_MINUTES", 15, _int(1, 24 * 60), "the sliding window failures are counted in (a lock ends when they age out)"),
    Setting("SECURE_COOKIES", None, _parse_bool,
            "send session cookies only over HTTPS; default on when ENV=production, off otherwise "
            "(set 0 for a plain-http intranet deployment)"),
    Setting("API_TOKEN_DAYS", 180, _int(1, 3650), "default lifetime of a new API token, in days"),
    Setting("TRUST_PROXY", False, _parse_bool, "take the client address from X-Forwarded-For (behind a reverse proxy)"),
    Setting("SCHEDULER_TIMEZONE", "Asia/Shanghai", _parse_str, "time zone of scheduled jobs"),
    Setting("PLAN_WEEKDAY_TIME", "08:00", _parse_hhmm, "time on Monday when the weekly spot-check plan is made"),
    Setting("SPOTCHECK_DAILY_QUOTA", 30, _int(1, 37), "spot-check calls planned per working day (raised for a week it cannot cover)"),
    Setting("SPOTCHECK_OUTSIDE_PERCENT", 10, _int(0, 50), "share of spot-check calls placed just outside service hours, in %"),
    Setting("SPOTCHECK_RECTIFY_DAYS", 5, _int(1, 60), "working days a unit has to rectify a spot-check fault"),
    Setting("SPOTCHECK_SUMMONS_FAULTS", 2, _int(1, 50), "faulty spot checks of one unit that propose a summons ..."),
    Setting("SPOTCHECK_SUMMONS_WEEKS", 4, _int(1, 52), "... within this many weeks"),
    Setting("SPOTCHECK_SUMMONS_OVERDUE_DAYS", 5, _int(1, 60), "working days a rectification may be overdue before a summons is proposed"),
    Setting("SPOTCHECK_RUBRIC", {}, _parse_int_pairs,
            "mystery-call rubric overrides, e.g. ring=15,late=10,anonymous=10,partial=20,wrong=40,deflect=20,attitude=5,poor_attitude=2,pass=60 (late+anonymous+wrong+deflect+4×attitude = 100)"),
    Setting("SPOTCHECK_NOTICE_PREFIX", "绥民救通", _parse_str, "notice number prefix: 绥民救通〔2026〕12号"),
    Setting("SPOTCHECK_ISSUER", "绥化市民政局", _parse_str, "issuing unit printed on notices"),
    Setting("WORKDAY_END", "17:30", _parse_hhmm,
            "when a working day ends (下班): a limit counted in working days falls due then on its last day"),
    Setting("DEADLINE_OVERDUE_MARGIN_DAYS", 2, _int(0, 60),
            "working days a ticket may be overdue before the weekly notice lists it to supervisors"),
    Setting("SATISFACTION_FLOOR", 85, _int(0, 100),
            "a unit whose callbacks are (basically) satisfied less often than this, in %, is flagged on the metrics page"),
    Setting("REPLY_RATE_FLOOR", 92, _int(0, 100),
            "a unit that closes (replies to) fewer of its due tickets on time than this, in %, is flagged on the metrics page"),
    Setting("KB_REVIEW_REQUIRED", True, _parse_bool,
            "a KB change that would go live waits for a second kb_editor's approval (admins may publish alone, audited)"),
    Setting("KB_REVIEW_DUE_DAYS", 30, _int(0, 365), "days ahead of an entry's review date it joins the due-for-review list"),
    Setting("SEARCH_INDEX_POLL_SECONDS", 2, _int(1, 3600), "how often web workers check the KB revision"),
    Setting("SEARCH_REVISION_SECONDS", 1, _int(0, 60),
            "how long a web worker's searches trust the KB revision they last read (0: read it for every search); "
            "a change made on another worker or host (an entry retired, a parameter edited) reaches them within it"),
    Setting("SEARCH_LOG_BATCH_SECONDS", 1, _int(0, 60),
            "how long a web worker gathers search-log rows before writing them in one transaction (0: after each "
            "search); a worker that is killed loses at most this much of the log"),
    Setting("SEARCH_LOG_RETENTION_DAYS", 90, _int(1, 3650), "days the search log is kept before the nightly purge"),
    Setting("TRANSCRIPT_RETENTION_DAYS", 180, _int(1, 3650),
            "days a call's transcript is kept before the nightly purge deletes it (audited)"),
    Setting("TRANSCRIPT_GRACE_SECONDS", 60, _int(0, 3600),
            "seconds after a call ended during which late transcript segments are still accepted"),
    Setting("CALL_EVENTS_PER_SECOND", 100, _int(1, 100000),
            "call events and transcript posts one API token may make per second, per web worker (429 beyond)"),
    Setting("CALL_EVENTS_BURST", 200, _int(1, 100000), "... and how many it may make at once before that rate applies"),
    Setting("TICKET_OBJECTION_WORKING_DAYS", 1, _int(0, 30),
            "working days after a dispatch within which the first owner may object to it (派单异议)"),
    Setting("TICKET_DISPUTE_PAUSES_CLOSURE", True, _parse_bool,
            "the closure (and first-contact) limits move later by the time a dispatch objection waited for a decision"),
    Setting("TICKET_MERGE_WINDOW_DAYS", 30, _int(1, 365),
            "days back an open ticket of the same caller, ID number or person and matter is offered for merging (并单)"),
    Setting("LOG_FORMAT", "json", _parse_choice(("json", "text")),
            "server and scheduler logs: one JSON object per line (with the request id), or plain text"),
    Setting("LOG_LEVEL", "info", _parse_choice(("debug", "info", "warning", "error")),
            "lowest level logged (info includes one line per request)"),
    Setting("BACKUP_DIR", None, _parse_str, "folder of the nightly backups; default instance/backups (best another disk)"),
    Setting("BACKUP_KEEP", 7, _int(1, 365), "nightly backups kept (older ones are deleted after a new one is made)"),
    Setting("MAX_UPLOAD_MB", 20, _int(1, 200), "largest accepted upload, in MB"),
    Setting("UPLOAD_DIR", None, _parse_str,
            "folder of ticket attachments, rectification evidence and staged imports; default instance/uploads "
            "(with several app hosts, one shared mount every host reads and writes, e.g. NFS)"),
    Setting("EXPORT_DIR", None, _parse_str,
            "folder of finished exports; default exports/ in the upload folder (shared by every host)"),
    Setting("EXPORT_INLINE_ROWS", 2000, _int(0, 1_000_000),
            "exports up to this many rows download at once; larger ones are written in the background"),
)

DISPLAY_TIMEZONE = "Asia/Shanghai"


def current(key: str, default: Any = None) -> Any:
    """A setting of the running app (the default outside one): how domain services read a setting
    without knowing of Flask."""
    from flask import current_app, has_app_context

    return current_app.config.get(key, default) if has_app_context() else default


def load(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the configuration: defaults, then HOTLINE_* variables, then explicit overrides."""
    env = os.environ if environ is None else environ
    cfg: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    for s in SETTINGS:
        name = f"HOTLINE_{s.key}"
        if name in env:
            cfg[s.key] = s.parse(name, env[name])
    if cfg["DATABASE_URL"] is None and "DATABASE_URL" in env:
        cfg["DATABASE_URL"] = _parse_db_url("DATABASE_URL", env["DATABASE_URL"])
    if overrides:
        cfg.update(overrides)

    instance = Path(cfg["INSTANCE_PATH"] or DEFAULT_INSTANCE)
    cfg["INSTANCE_PATH"] = str(instance)
    if cfg["DATABASE_URL"] is None:
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'hotline.db'}"
    if cfg["SECURE_COOKIES"] is None:
        cfg["SECURE_COOKIES"] = cfg["ENV"] == "production"
    ensure_instance(instance)
    _prepare_sqlite_file(cfg["DATABASE_URL"])
    if cfg["DATABASE_URL"].startswith("postgresql") and cfg["ENV"] != "testing":
        missing = [f"HOTLINE_{key}" for key in ("SECRET_KEY", "AUDIT_KEY") if not cfg[key]]
        if missing:
            raise ConfigError(f"{' and '.join(missing)} must be set when DATABASE_URL is PostgreSQL: several app "
                              "hosts share the database, and each needs the same keys (a key generated into one "
                              "host's instance/ would log users out on the others and break the audit chain)")
    if not cfg["SECRET_KEY"]:
        if cfg["ENV"] == "production":
            raise ConfigError("HOTLINE_SECRET_KEY must be set in production (HOTLINE_ENV=production)")
        cfg["SECRET_KEY"] = _instance_secret(instance)
    if not cfg["AUDIT_KEY"]:
        if cfg["ENV"] == "production":
            raise ConfigError("HOTLINE_AUDIT_KEY must be set in production (HOTLINE_ENV=production)")
        cfg["AUDIT_KEY"] = _instance_secret(instance, "audit_key")
    cfg["AUDIT_CHECKPOINT_FILE"] = str(cfg["AUDIT_CHECKPOINT_FILE"] or instance / "audit_checkpoints.jsonl")
    cfg["UPLOAD_DIR"] = str(cfg["UPLOAD_DIR"] or instance / "uploads")
    return cfg


def upload_dir(config: Any, area: str = "") -> Path:
    """Where uploaded files are kept (HOTLINE_UPLOAD_DIR), or an area's folder in it: the one place every
    reader and writer of uploads (attachments, evidence, staged imports, backups) asks."""
    root = Path(config["UPLOAD_DIR"])
    return root / area if area else root


def ensure_instance(instance: Path) -> None:
    """instance/ holds the secret key, the database, uploads and the audit checkpoints: only the
    app's own system user may enter it (0700), whatever the umask; a folder we own that others can
    read is tightened."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = instance.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        instance.chmod(info.st_mode & 0o700)


def _prepare_sqlite_file(url: str) -> None:
    """Create a new SQLite file 0600 before SQLite does (it would follow the umask); its journal and
    WAL files take the database file's permissions."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return
    path = Path(url[len("sqlite:///"):].split("?", 1)[0])
    if path.name and not path.exists() and path.parent.is_dir():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _instance_secret(instance: Path, name: str = "secret_key") -> str:
    """The embedded default keeps generated keys in instance/ (0600) so sessions and the audit chain
    survive restarts."""
    ensure_instance(instance)
    path = instance / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    elif path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
        path.chmod(0o600)
    return path.read_text().strip()

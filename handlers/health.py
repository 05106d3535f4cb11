"""`/healthz`: the app is alive (never touches the database, answers at once even in an outage);
`/readyz`: it can serve — the database answers within a second and the search index is ready."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from core import db

bp = Blueprint("health", __name__)

#: How long /readyz waits for the database.
PROBE_SECONDS = 1


@bp.route("/healthz")
def healthz():
    return jsonify({"status": "ok"})


def _probe_engine():
    """A connection-per-probe engine whose every wait is bounded by PROBE_SECONDS (PostgreSQL), so that a
    stalled network makes the probe fail fast instead of hanging like the requests it reports on."""
    engine = current_app.extensions.get("hotline.probe_engine")
    if engine is None:
        url = current_app.config["DATABASE_URL"]
        engine = db.make_engine(url, poolclass=NullPool, connect_timeout=PROBE_SECONDS,
                                statement_timeout=PROBE_SECONDS) if not url.startswith("sqlite") else db.engine()
        current_app.extensions["hotline.probe_engine"] = engine
    return engine


def _database() -> str:
    try:
        with _probe_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means the database is not usable
        return type(err).__name__
    return "ok"


def _search_index() -> str:
    from kb import index

    holder = index.holder_for(current_app)
    return "ok" if holder.info is not None or index.read_pointer(holder.root) is not None else "building"


@bp.route("/readyz")
def readyz():
    started = time.monotonic()
    checks = {"database": _database(), "search_index": _search_index()}
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if ready else "unavailable", **checks,
            "took_ms": round((time.monotonic() - started) * 1000)}
    return jsonify(body), 200 if ready else 503

"""`/healthz`: the app is alive (never touches the database, answers at once even in an outage);
`/readyz`: it can serve — the database answers within a second and the search index is ready;
`/metrics`: Prometheus figures, for a scraper on this host or a signed-in admin."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from core import db, monitoring

bp = Blueprint("health", __name__)
request_log = logging.getLogger("hotline.request")

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


#: Addresses of a scraper running on this host.
LOCAL = frozenset({"127.0.0.1", "::1"})


@bp.route("/metrics")
def metrics():
    local = request.remote_addr in LOCAL and "X-Forwarded-For" not in request.headers
    if not local and not (current_user.is_authenticated and current_user.has_role("admin")):
        abort(403)
    body, content_type = monitoring.exposition()
    return Response(body, content_type=content_type)


def init_app(app: Flask) -> None:
    """Count and time every request by endpoint (the route's name, never the raw path)."""

    @app.before_request
    def _clock_in() -> None:
        g.monitor_started = time.perf_counter()

    @app.after_request
    def _clock_out(response):
        started = g.pop("monitor_started", None)
        if started is not None and request.endpoint != "static":
            seconds = time.perf_counter() - started
            monitoring.observe_request(request.endpoint or "unmatched", request.method, response.status_code, seconds)
            if request_log.isEnabledFor(logging.INFO):
                user = g.get("_login_user")
                request_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                    "method": request.method, "path": request.path, "endpoint": request.endpoint or "",
                    "status": response.status_code, "ms": round(seconds * 1000, 1),
                    "user_id": getattr(user, "id", None)})
        return response

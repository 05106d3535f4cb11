"""What every blueprint shares: the role check, JSON errors, reading forms, the acting user."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from core import clock, db, monitoring
from core.errors import DomainError, Forbidden
from core.xlsx import MIMETYPE as XLSX


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, **extra: Any):
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


def actor():
    """The signed-in user (pages) or the token's user (API)."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def now():
    return clock.now()


#: Characters browsers drop from URLs (C0 controls, DEL) before parsing them: "/\t/evil" is "//evil".
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`: the only `next=` a redirect follows.

    Control characters are stripped first (a browser would), then the URL must have no scheme and
    no host, its path must start with one "/" and nothing may contain a backslash (read as "/").
    """
    cleaned = _URL_CONTROL.sub("", target or "").strip()
    if not cleaned.startswith("/") or cleaned.startswith("//") or "\\" in cleaned:
        return default
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def roles_required(*roles: str) -> Callable:
    """Allow only these roles (admins always); others get 403, recorded in the audit trail."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                if wants_json():
                    if g.get("api_session_refused"):
                        return api_session_refused()
                    abort(401)
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if roles and not current_user.has_role(*roles):
                g.denied = {"roles": list(roles)}
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator


login_required = roles_required()

#: Endpoints open to the telephony service account besides its own call-event views: logging out and
#: the API's documentation, the static files and the health check.
TELEPHONY_OPEN = frozenset({"static", "accounts.logout", "health.healthz", "health.readyz", "tickets_api.openapi"})


def telephony_fence() -> None:
    """The telephony account may post call events and transcripts and nothing else: every other page
    and API endpoint, even those open to any signed-in user (or to anyone), answers it 403 (audited).
    Deny by default, so a view added later is fenced too."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in TELEPHONY_OPEN:
        return
    if not current_user.is_authenticated or current_user.role != "telephony":
        return
    from flask import current_app

    view = current_app.view_functions.get(endpoint)
    if "telephony" not in getattr(view, "required_roles", ()):
        g.denied = {"roles": list(getattr(view, "required_roles", ())), "telephony": True}
        abort(403)


def api_session_refused():
    """403 for an API call that came with the browser's session but not from our own page with the
    CSRF header (see app._init_api_guard); recorded in the audit trail."""
    g.security_event = {"action": "csrf_failed",
                        "changes": {"reason": g.get("api_session_refused", ""), "method": request.method, "api": True}}
    return json_error(403, "csrf_failed", "接口请求来源无法确认：网页会话调用接口须来自本站页面并带CSRF令牌；"
                                          "其他系统请使用API令牌（Authorization: Bearer）")


def note_refusal(err: DomainError) -> None:
    """A refusal for want of rights goes to the audit trail, whichever area refused (the commit point
    writes it after the request's own changes are rolled back)."""
    if isinstance(err, Forbidden):
        g.security_event = {"action": "permission_denied", "changes": {"method": request.method, "reason": err.message}}


def refusals(view: Callable) -> Callable:
    """A view whose refused service call answers with its message: JSON in the API, the error page
    otherwise (a 4xx, so nothing commits; a permission refusal is audited)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        try:
            return view(*args, **kwargs)
        except DomainError as err:
            return refused(err)

    return wrapped


def refused(err: DomainError, page: Callable | None = None):
    """Answer a refused service call with its message and its 4xx status (so nothing commits): JSON in
    the API; on pages `page` re-rendered with the message, or the error page."""
    return domain_error_response(err, page or (lambda: render_template("error.html", status=err.status,
                                                                       message=err.message)))


def domain_error_response(err: DomainError, template_response: Callable | None = None):
    """A DomainError as JSON (API) or as a flash message plus the re-rendered form (pages).

    Whatever the service changed before it refused is rolled back here, so the redirect (a 3xx,
    which the commit point would otherwise commit) never saves half an operation.
    """
    from core.db import session

    session.rollback()
    note_refusal(err)
    if wants_json():
        extra = {"field": err.field} if err.field else {}
        return json_error(err.status, err.code, err.message, **extra)
    flash(err.message, "error")
    if template_response is not None:
        return template_response(), err.status
    return redirect(request.referrer or url_for("home.index"))


def form_int(name: str, *, required: bool = False, label: str = "") -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        if required:
            raise DomainError(f"请填写{label or name}", field=name)
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(f"{label or name}应为数字", field=name) from None


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 with a JSON error."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("请求体必须是JSON对象", code="bad_json", status=400)
    return data


def writes(view: Callable) -> Callable:
    """Mark a GET view that records something (an audited export): its request takes the write lock
    at its start like a POST, instead of reading without it (see app._mark_transaction)."""
    view.writes = True  # type: ignore[attr-defined]
    return view


def cleans_own_input(view: Callable) -> Callable:
    """Mark a view that takes control characters in its form and handles them itself (the log-in
    counts and audits a NUL user name as a failed attempt) instead of handlers.inputs refusing them."""
    view.cleans_own_input = True  # type: ignore[attr-defined]
    return view


def serves_offline(view: Callable) -> Callable:
    """Mark a view that goes on answering while the database is down (the searches): its user comes from
    the recently signed-in (core.accounts.recent) and its data from this host's search index."""
    view.serves_offline = True  # type: ignore[attr-defined]
    return view


def offline_allowed() -> bool:
    return getattr(current_app.view_functions.get(request.endpoint or ""), "serves_offline", False)


def database_failed(err: Exception) -> None:
    """Note a request the database failed: the first of an outage is logged, the rest only counted."""
    monitoring.DATABASE_DOWN.inc()
    if db.outage.failed():
        first_line = (str(getattr(err, "orig", None) or err).strip().splitlines() or [""])[0]
        current_app.logger.error("database unavailable (%s: %s); failures are counted, not logged, until it "
                                 "answers", type(err).__name__, first_line[:200])


def go_offline(err: Exception) -> None:
    """The database failed a request that goes on without it (a search, the card, the navigation): note the
    failure, drop the broken session and remember for the rest of the request (g.database_error is the
    error to answer with where nothing can be served without the database)."""
    database_failed(err)
    db.session.remove()
    g.database_down, g.database_error = True, err


#: Rows on one page of a list that grows (rectifications, notices, the unanswered report).
PAGE_SIZE = 50


def paged(fetch: Callable[[int, int], list]) -> tuple[list, int, bool]:
    """One page of a list: `fetch(limit, offset)` asked for one row more than a page, to know whether a next
    page exists. Returns (rows, page number, whether there is more); the page comes from ?page=N."""
    raw = (request.args.get("page") or "").strip()
    page = min(int(raw), 10000) if raw.isdigit() and int(raw) >= 1 else 1
    rows = fetch(PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE




def xlsx_download(body: bytes, name: str):
    """A workbook sent as a download named `name`-<local time>.xlsx."""
    stamp = clock.to_local(clock.now()).strftime("%Y%m%d-%H%M")
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename={name}-{stamp}.xlsx"})

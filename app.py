"""Hotline Desk (热线坐席助手): the Flask application factory."""

from __future__ import annotations

import re
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, appcontext_popped, appcontext_pushed, g, render_template, request
from flask import session as http_session
from flask_login import AnonymousUserMixin, LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import ValidationError

from audit import services as audit
from core import accounts, clock, config, db, logs
from core.errors import DomainError
from handlers import common, health, idempotency, inputs

csrf = CSRFProtect()
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

HTTP_MESSAGES = {
    400: "请求无效",
    401: "请先登录",
    403: "没有权限访问此页面",
    404: "页面不存在",
    405: "不支持此操作方式",
    409: "数据已被他人修改,请刷新后重试",
    413: "上传的文件太大",
    422: "提交的内容有误",
    429: "操作过于频繁,请稍后再试",
    500: "服务器内部错误,请稍后重试;如多次出现请联系管理员",
}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    cfg = config.load(overrides)
    if cfg["ENV"] != "testing":
        logs.setup(cfg["LOG_FORMAT"], cfg["LOG_LEVEL"])
    app = Flask(__name__, instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(cfg)
    app.config.update(
        SECRET_KEY=cfg["SECRET_KEY"],
        TESTING=cfg["ENV"] == "testing",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=cfg["SESSION_MINUTES"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg["SECURE_COOKIES"],
        SESSION_COOKIE_NAME="hotline_session",
        MAX_CONTENT_LENGTH=cfg["MAX_UPLOAD_MB"] * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if cfg["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]

    db.init_app(app)
    _init_audit(app)
    csrf.init_app(app)
    _init_login(app)
    _init_request_cycle(app)
    _init_api_guard(app)
    app.before_request(common.telephony_fence)
    _init_security_headers(app)
    inputs.init_app(app)
    idempotency.init_app(app)  # after the request cycle's hooks: keeps the answer before the commit point
    health.init_app(app)
    _init_errors(app)
    _init_templates(app)
    _register_blueprints(app)
    _register_cli(app)
    _compose(app)
    return app


def _compose(app: Flask) -> None:
    """The areas' scheduled jobs (core.scheduler.jobs_of) and exports (core.exports.kinds)."""
    import composition

    app.extensions["hotline.jobs"] = list(composition.JOBS)
    app.extensions["hotline.exports"] = {kind.name: kind for kind in composition.EXPORTS}


def _init_audit(app: Flask) -> None:
    """Give the audit trail its key and checkpoint file in each of this app's contexts (requests, CLI
    commands, jobs); read from the config each time, so a changed setting counts at once."""

    def source() -> audit.AuditSettings:
        return audit.AuditSettings(key=app.config["AUDIT_KEY"],
                                   checkpoint_file=Path(app.config["AUDIT_CHECKPOINT_FILE"]))

    def pushed(_sender: Flask, **_extra: Any) -> None:
        audit.push_settings(source)

    def popped(_sender: Flask, **_extra: Any) -> None:
        audit.pop_settings()

    appcontext_pushed.connect(pushed, app)
    appcontext_popped.connect(popped, app)
    app.extensions["hotline.audit_settings"] = (pushed, popped)  # the signals hold their receivers weakly


def _bearer_token(req) -> str | None:
    """The bearer token of an API request, or None when it brings none."""
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or not header.startswith("Bearer "):
        return None
    return header[len("Bearer "):].strip()


def _init_login(app: Flask) -> None:
    from handlers.accounts import SESSION_KEY

    manager = LoginManager(app)
    manager.login_view = "accounts.login"
    manager.login_message = "请先登录"
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def _load(session_id: str):
        if _bearer_token(request) is not None or g.get("api_session_refused"):
            return None  # an API call with a token is the token's, whatever cookie comes along
        key = http_session.get(SESSION_KEY, "")
        try:
            return accounts.load_session_user(session_id, key)
        except db.UNAVAILABLE as err:
            user = _offline_user(err, lambda: accounts.recent_session_user(session_id, key))
            if user is None:
                raise
            return user

    @manager.request_loader
    def _from_token(req):
        raw = _bearer_token(req)
        if raw is None:
            return None
        if common.offline_allowed():
            # A search trusts a token this process resolved a moment ago (accounts.TOKEN_CACHE_SECONDS)
            # instead of asking the database on every keystroke's request.
            user = accounts.recent_token_user(raw, clock.now(), within=accounts.TOKEN_CACHE_SECONDS)
            if user is not None:
                return user
        try:
            return accounts.user_for_token(raw, clock.now())
        except db.UNAVAILABLE as err:
            user = _offline_user(err, lambda: accounts.recent_token_user(raw, clock.now()))
            if user is None:
                raise
            return user


def _offline_user(err: Exception, recall):
    """The user a search goes on with while the database is down: the one this process saw with the same
    session or token within the last minute (None for every other page, which then answers 503)."""
    if not common.offline_allowed():
        return None
    user = recall()
    if user is not None:
        common.go_offline(err)
    return user


def _init_request_cycle(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        # Our own id, always: a client-chosen one could collide with or impersonate another request
        # in the audit trail. The client's own (if well-formed) is kept beside it for the logs.
        g.request_id = uuid.uuid4().hex
        supplied = request.headers.get("X-Request-ID", "")
        g.client_request_id = supplied if _REQUEST_ID.match(supplied) else ""
        audit.set_origin(g.request_id, common.client_address())
        if _bearer_token(request) is None:
            # (an API call with a token has no log-in session: marking one would sign and send a cookie)
            http_session.permanent = True
        _mark_transaction(app)
        # Each request resolves its own user; an app context reused across requests (tests) must not
        # carry the previous request's user over, nor its finding that the database was down.
        for name in ("_login_user", "database_down", "database_error"):
            g.pop(name, None)

    @app.teardown_request
    def _end_reading(_exc: BaseException | None) -> None:
        token = g.pop("db_reading", None)
        if token is not None:
            db.done_reading(token)

    @app.after_request
    def _commit_point(response):
        """The request's one commit: success commits, any error status rolls back.

        Security events (refusals, CSRF failures) are written after the rollback, on their own; a
        handler whose error answer must keep its writes (a throttled log-in) sets g.keep_writes.
        """
        used = db.session.registry.has() and db.session().in_transaction()
        try:
            if response.status_code < 400 or g.pop("keep_writes", False):
                db.session.commit()
            else:
                db.session.rollback()
        except db.UNAVAILABLE as err:
            return _database_unavailable(app, err)
        if used and response.status_code < 500:
            _database_answered(app)
        security = g.pop("security_event", None)
        if security is not None:

            def _record(_db):
                audit.record(security["action"], "request", request.path, actor=common.actor(),
                             now=clock.now(), changes=security["changes"])
        db.run_queued_writes(_record if security is not None else None)
        if current_user.is_authenticated and not request.path.startswith("/api/"):
            response.set_cookie("hotline_seen", "1", httponly=True, samesite="Lax",
                                secure=app.config["SESSION_COOKIE_SECURE"])
        return response


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _mark_transaction(app: Flask) -> None:
    """Reads never take SQLite's write lock; a request that may change something takes it once, at
    its start (see core.db)."""
    view = app.view_functions.get(request.endpoint or "")
    g.db_reading = db.reading(request.method in SAFE_METHODS and not getattr(view, "writes", False))


#: Fetch metadata values that mean "this page's own script" (or a URL typed into the address bar).
_SAME_ORIGIN_FETCH = ("same-origin", "none")


def _same_origin(req) -> bool:
    """Whether the browser says the request comes from one of our own pages: Sec-Fetch-Site when it
    sends it, else Origin, else Referer. No evidence at all counts as cross-site."""
    site = req.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in _SAME_ORIGIN_FETCH
    own = urlsplit(req.host_url)
    for header in ("Origin", "Referer"):
        value = req.headers.get(header)
        if value:
            theirs = urlsplit(value)
            return (theirs.scheme, theirs.netloc) == (own.scheme, own.netloc)
    return False


def _init_api_guard(app: Flask) -> None:
    @app.before_request
    def _api_session_guard() -> None:
        """/api/v1/ is for bearer tokens. A browser's session cookie counts there only when the request
        comes from our own page and carries the CSRF token in X-CSRFToken: otherwise any site the user
        visits could make the browser call the API with the user's session. A request that fails the
        check is served as anonymous (public endpoints still answer); one that needs a user gets 403
        csrf_failed (handlers.common.roles_required)."""
        if not request.path.startswith("/api/") or _bearer_token(request) is not None:
            return
        if "_user_id" not in http_session or not app.config.get("WTF_CSRF_ENABLED", True):
            return
        reason = ""
        if not _same_origin(request):
            reason = "cross-origin"
        else:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError as err:
                reason = str(err)
        if reason:
            g.api_session_refused = reason
            g.pop("_login_user", None)


def _init_security_headers(app: Flask) -> None:
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
           "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

    @app.after_request
    def _security_headers(response):
        """Headers every answer carries; pages and API answers for a signed-in user are never stored
        by the browser or a proxy (they hold personal data: names, phone numbers, ID numbers)."""
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static" and (request.path.startswith("/api/") or current_user.is_authenticated):
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        headers["X-Request-ID"] = g.get("request_id", "")
        return response


def _render_error(status: int, message: str | None = None, code: str | None = None):
    message = message or HTTP_MESSAGES.get(status, "请求无法完成")
    if common.wants_json():
        return common.json_error(status, code or _code(status), message)
    return render_template("error.html", status=status, message=message), status


def _database_unavailable(app: Flask, err: Exception):
    """A Chinese 503 (JSON in the API) instead of a bare 500 while the database is down; the outage is
    logged once per worker, not once per request."""
    common.database_failed(err)
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool discards it
        db.session.remove()
    g._login_user = AnonymousUserMixin()  # the page must not ask the database who is signed in
    g.pop("security_event", None)
    response = app.make_response(_render_error(503, "数据库暂不可用，检索仍可使用。其他操作请稍后重试；"
                                                    "请记下来电人的号码和诉求，恢复后补录。", "database_unavailable"))
    response.headers["Retry-After"] = "5"
    return response


def _database_answered(app: Flask) -> None:
    ended = db.outage.answered()
    if ended is not None:
        app.logger.warning("database available again after %.0f s (%d requests refused meanwhile)", *ended)


def _init_errors(app: Flask) -> None:
    render_error = _render_error

    @app.errorhandler(CSRFError)
    def _csrf(err: CSRFError):
        g.security_event = {"action": "csrf_failed", "changes": {"reason": err.description, "method": request.method}}
        return render_error(400, "页面已过期或表单无效,请刷新页面后重新提交", "csrf_failed")

    @app.errorhandler(403)
    def _forbidden(err: HTTPException):
        g.security_event = {"action": "permission_denied",
                            "changes": {"method": request.method, **g.get("denied", {})}}
        return render_error(403)

    @app.errorhandler(DomainError)
    def _domain(err: DomainError):
        common.note_refusal(err)
        return render_error(err.status, err.message, err.code)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(err: Exception):
        # A value the database cannot store (an integer beyond 64 bits, a NUL on PostgreSQL) that
        # slipped past handlers.inputs: the request was bad, not the server.
        app.logger.warning("refused a value the database cannot store in %s %s: %s", request.method,
                           request.path, err)
        return render_error(400, "请求中含有无法保存的数值或字符")

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        status = err.code or 500
        message = None
        if status == 400 and err.description and "browser (or proxy) sent" not in err.description:
            message = err.description
        return render_error(status, message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _database_down(err: Exception):
        return _database_unavailable(app, err)

    @app.errorhandler(Exception)
    def _crash(err: Exception):
        app.logger.exception("unhandled error in %s %s (request %s, client's id %s)", request.method, request.path,
                             g.get("request_id", ""), g.get("client_request_id", "") or "-")
        return render_error(500)


def _code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
            429: "too_many_requests"}.get(status, "server_error")


def _init_templates(app: Flask) -> None:
    from handlers import filters

    filters.register(app)


def _register_blueprints(app: Flask) -> None:
    from handlers import accounts as accounts_bp
    from handlers import api as api_bp
    from handlers import audit as audit_bp
    from handlers import (
        calendar,
        casework,
        dispatch,
        eligibility,
        exports,
        health,
        home,
        kb,
        presets,
        spotchecks,
        tickets,
        units,
    )

    for module in (home, accounts_bp, units, calendar, audit_bp, health, kb, eligibility, tickets, casework,
                   dispatch, presets, spotchecks, exports, api_bp):
        app.register_blueprint(module.bp)
        api = getattr(module, "api_bp", None)
        if api is not None:
            app.register_blueprint(api)
            csrf.exempt(api)
    app.register_blueprint(spotchecks.hotlines_bp)  # the public hotline directory at /hotlines (no login)
    csrf.exempt(api_bp.bp)


def _register_cli(app: Flask) -> None:
    from audit import cli as audit_cli
    from core import cli as core_cli
    from kb import cli as kb_cli
    from spotchecks import cli as spotchecks_cli
    from tickets import cli as tickets_cli

    for module in (core_cli, audit_cli, kb_cli, tickets_cli, spotchecks_cli):
        module.register(app)


def _module_app() -> Flask:
    try:
        return create_app()
    except config.ConfigError as err:
        print(f"配置错误 / configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


_app: Flask | None = None


def __getattr__(name: str) -> Any:
    """`app` is built on first use, so importing create_app (tests, tools) has no side effects."""
    global _app
    if name == "app":
        if _app is None:
            _app = _module_app()
        return _app
    raise AttributeError(name)

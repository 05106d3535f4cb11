"""Log-in and log-out, one's own password, and the admin pages for accounts and tokens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as http_session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from core import accounts, units
from core.db import session
from core.errors import DomainError
from core.models import ROLES, ApiToken, User
from handlers.common import (
    actor,
    cleans_own_input,
    client_address,
    domain_error_response,
    form_int,
    login_required,
    now,
    roles_required,
    safe_next,
)

bp = Blueprint("accounts", __name__, url_prefix="/accounts")


def _policy() -> accounts.LockoutPolicy:
    cfg = current_app.config
    return accounts.LockoutPolicy(cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                                  cfg["LOCKOUT_MINUTES"], cfg["LOGIN_THROTTLE_MAX_SECONDS"])


#: Where Flask-Login's user id is joined by this log-in's key (checked by the user loader).
SESSION_KEY = "login_session"


def _next() -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), url_for("home.index"))


def _begin_session(user: User, key: str) -> None:
    """A fresh session at log-in: whatever the cookie held before (a CSRF token, data planted by
    someone else) is dropped, so the session key and the CSRF token are new."""
    http_session.clear()
    g.pop("csrf_token", None)
    login_user(user)
    http_session[SESSION_KEY] = key
    http_session.permanent = True


def _insecure_cookie_warning() -> str:
    """Secure cookies over plain http: the browser drops the session cookie and log-in cannot stick."""
    if current_app.config["SESSION_COOKIE_SECURE"] and not request.is_secure:
        return ("本系统设置为只通过HTTPS保存登录状态，当前为HTTP连接，登录后将无法保持。"
                "请改用HTTPS地址访问；内网HTTP部署请由管理员设置HOTLINE_SECURE_COOKIES=0。")
    return ""


def _login_page(username: str = "", status: int = 200):
    return render_template("accounts/login.html", username=username[:50],
                           cookie_warning=_insecure_cookie_warning()), status


@bp.route("/login", methods=["GET", "POST"])
@cleans_own_input
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_next())
        if request.cookies.get("hotline_seen"):
            flash("登录已过期,请重新登录", "info")
        response = current_app.make_response(_login_page())
        response.delete_cookie("hotline_seen")
        return response
    username = request.form.get("username", "")
    result = accounts.authenticate(username=username, password=request.form.get("password", ""),
                                   address=client_address(), now=now(), policy=_policy())
    if result.user is None:
        flash(result.message, "error")
        if result.retry_after:
            g.keep_writes = True  # the refused attempt is recorded although the answer is a 429
            response = current_app.make_response(_login_page(username, 429))
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        return _login_page(username)
    _begin_session(result.user, result.session_key)
    return redirect(_next())


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    accounts.logout(actor=actor(), now=now(), session_key=http_session.get(SESSION_KEY, ""))
    logout_user()
    http_session.clear()
    flash("已退出登录", "info")
    response = redirect(url_for("accounts.login"))
    response.delete_cookie("hotline_seen")
    return response


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "POST":
        if request.form.get("new", "") != request.form.get("confirm", ""):
            flash("两次输入的新密码不一致", "error")
            return render_template("accounts/password.html"), 422
        user = actor()
        try:
            key = accounts.change_own_password(actor=user, now=now(), current=request.form.get("current", ""),
                                               new=request.form.get("new", ""), address=client_address())
        except DomainError as err:
            return domain_error_response(err, lambda: render_template("accounts/password.html"))
        _begin_session(user, key)  # this browser goes on with a new session; the others have ended
        flash("密码已修改；其他设备上的登录和该账号的API令牌均已失效", "success")
        return redirect(url_for("home.index"))
    return render_template("accounts/password.html")


# --- admin ---------------------------------------------------------------------------------------

@bp.route("/users")
@roles_required("admin")
def users():
    role = request.args.get("role", "")
    query = select(User).order_by(User.active.desc(), User.role, User.username)
    if role in ROLES:
        query = query.where(User.role == role)
    return render_template("accounts/users.html", users=session.execute(query).scalars().all(), roles=ROLES,
                           role=role)


def _user_form(user: User | None = None):
    return render_template("accounts/user_form.html", user=user, roles=ROLES,
                           units=units.list_units(active_only=True), form=request.form)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user():
    if request.method == "GET":
        return _user_form()
    try:
        user = accounts.create_user(
            actor=actor(), now=now(), username=request.form.get("username", ""), role=request.form.get("role", ""),
            password=request.form.get("password", ""), display_name=request.form.get("display_name", ""),
            unit_id=form_int("unit_id", label="单位"), phone=request.form.get("phone", ""))
    except DomainError as err:
        return domain_error_response(err, _user_form)
    flash(f"已创建账号 {user.username}", "success")
    return redirect(url_for("accounts.user", user_id=user.id))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user(user_id: int):
    target = session.get(User, user_id)
    if target is None:
        return render_template("error.html", status=404, message="用户不存在"), 404
    tokens = session.execute(select(ApiToken).where(ApiToken.user_id == target.id)
                             .order_by(ApiToken.id.desc())).scalars().all()
    page = lambda **extra: render_template("accounts/user.html", user=target, roles=ROLES, tokens=tokens,  # noqa: E731
                                           units=units.list_units(active_only=True), form=request.form, at=now(), **extra)
    if request.method == "GET":
        return page()
    try:
        op = request.form.get("op")
        if op == "update":
            accounts.update_user(actor=actor(), now=now(), user=target,
                                 display_name=request.form.get("display_name", ""),
                                 role=request.form.get("role", ""), unit_id=form_int("unit_id", label="单位"),
                                 phone=request.form.get("phone", ""))
            flash("已保存", "success")
        elif op in ("disable", "enable"):
            accounts.set_active(actor=actor(), now=now(), user=target, active=op == "enable")
            flash("已启用账号" if op == "enable" else "已停用账号,其登录和令牌均已失效", "success")
        elif op == "reset_password":
            new_password = request.form.get("password") or accounts.generate_password()
            accounts.reset_password(actor=actor(), now=now(), user=target, password=new_password)
            return page(new_password=new_password)
        elif op == "unlock":
            accounts.unlock(actor=actor(), now=now(), user=target)
            flash("已解锁，该账号可立即重新登录", "success")
        elif op == "issue_token":
            days = form_int("days", label="有效期(天)") or current_app.config["API_TOKEN_DAYS"]
            raw = accounts.issue_token(actor=actor(), now=now(), user=target, label=request.form.get("label", ""),
                                       days=days)
            tokens = session.execute(select(ApiToken).where(ApiToken.user_id == target.id)
                                     .order_by(ApiToken.id.desc())).scalars().all()
            return render_template("accounts/user.html", user=target, roles=ROLES, tokens=tokens,
                                   units=units.list_units(active_only=True), form={}, new_token=raw, at=now())
        elif op == "revoke_token":
            token = session.get(ApiToken, form_int("token_id", required=True, label="令牌"))
            if token is None or token.user_id != target.id:
                raise DomainError("令牌不存在")
            accounts.revoke_token(actor=actor(), now=now(), token=token)
            flash("令牌已吊销", "success")
        else:
            raise DomainError("未知操作")
    except DomainError as err:
        return domain_error_response(err, page)
    return redirect(url_for("accounts.user", user_id=target.id))

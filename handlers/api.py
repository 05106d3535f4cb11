"""The JSON API under /api/v1/ (bearer tokens): shared parts and the account/unit endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core import units
from core.db import session
from core.models import ROLES, User
from handlers.common import actor, json_error, login_required

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/me")
@login_required
def me():
    user = actor()
    return jsonify({"id": user.id, "username": user.username, "name": user.display_name, "role": user.role,
                    "unit_id": user.unit_id})


@bp.route("/units")
@login_required
def list_units():
    return jsonify({"units": [
        {"id": u.id, "name": u.name, "level": u.level, "kind": u.kind, "area": u.area, "parent_id": u.parent_id}
        for u in units.list_units(active_only=True)]})


#: Whom each role may list, and why: the desk picks caseworkers as owners and telephony names the
#: operator a call was put through to; caseworkers only see the caseworkers tickets move between.
_LISTABLE_ROLES = {"operator": ("caseworker", "operator"), "supervisor": ("caseworker", "operator"),
                   "caseworker": ("caseworker",), "kb_editor": ()}


@bp.route("/users")
@login_required
def list_users():
    """Active accounts for pickers: id, name and unit. Admins also get login names and roles; the
    others only the roles their work needs, and never phone numbers or login names."""
    user = actor()
    is_admin = user.role == "admin"
    allowed = tuple(ROLES) if is_admin else _LISTABLE_ROLES.get(user.role, ())
    role = request.args.get("role")
    if role and role not in allowed:
        return json_error(403, "forbidden", "无权查看该角色的账号")
    unit = request.args.get("unit")
    if unit and not unit.isdigit():
        return json_error(400, "bad_request", "unit 参数应为单位编号")
    query = (select(User).options(joinedload(User.unit)).where(User.active.is_(True), User.role.in_((role,) if role else allowed))
             .order_by(User.id))
    if unit:
        query = query.where(User.unit_id == int(unit))

    def row(u: User) -> dict:
        shown = {"id": u.id, "name": u.display_name, "unit_id": u.unit_id, "unit": u.unit.name if u.unit else ""}
        if is_admin:
            shown.update(username=u.username, role=u.role)
        return shown

    return jsonify({"users": [row(u) for u in session.execute(query).scalars()]})

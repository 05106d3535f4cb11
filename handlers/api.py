"""The JSON API under /api/v1/ (bearer tokens): shared parts and the account/unit endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from core import accounts, units
from core.errors import DomainError
from core.models import User
from handlers.common import actor, domain_error_response, json_error, login_required
from handlers.openapi import api_doc
from handlers.schemas import accounts as schemas

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/me")
@login_required
@api_doc("当前令牌对应的账号", tags=("accounts",), responses={200: schemas.Me})
def me():
    user = actor()
    return jsonify({"id": user.id, "username": user.username, "name": user.display_name, "role": user.role,
                    "unit_id": user.unit_id})


@bp.route("/units")
@login_required
@api_doc("在用单位（派单选择用）", tags=("accounts",), responses={200: schemas.Units})
def list_units():
    return jsonify({"units": [
        {"id": u.id, "name": u.name, "level": u.level, "kind": u.kind, "area": u.area, "parent_id": u.parent_id}
        for u in units.list_units(active_only=True)]})


@bp.route("/users")
@login_required
@api_doc("在用账号（派单选择用）：承办人员；接线员、督查人员另可查接线员；登录名和角色仅管理员可见",
         tags=("accounts",), query=schemas.UserQuery, responses={200: schemas.Users}, errors=(400, 403))
def list_users():
    """Active accounts for pickers: id, name and unit. Admins also get login names and roles; the
    others only the roles their work needs, and never phone numbers or login names."""
    user = actor()
    unit = request.args.get("unit")
    if unit and not unit.isdigit():
        return json_error(400, "bad_request", "unit 参数应为单位编号")
    try:
        found = accounts.listable_users(user, role=request.args.get("role") or None,
                                        unit_id=int(unit) if unit else None)
    except DomainError as err:
        return domain_error_response(err)

    def row(u: User) -> dict:
        shown = {"id": u.id, "name": u.display_name, "unit_id": u.unit_id, "unit": u.unit.name if u.unit else ""}
        if user.role == "admin":
            shown.update(username=u.username, role=u.role)
        return shown

    return jsonify({"users": [row(u) for u in found]})

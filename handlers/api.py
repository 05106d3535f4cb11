"""The JSON API under /api/v1/ (bearer tokens): shared parts and the account/unit endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from core import units
from core.db import session
from core.models import User
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


@bp.route("/users")
@login_required
def list_users():
    query = select(User).where(User.active.is_(True)).order_by(User.id)
    role = request.args.get("role")
    if role:
        query = query.where(User.role == role)
    unit = request.args.get("unit")
    if unit:
        if not unit.isdigit():
            return json_error(400, "bad_request", "unit 参数应为单位编号")
        query = query.where(User.unit_id == int(unit))
    return jsonify({"users": [{"id": u.id, "name": u.display_name, "username": u.username, "role": u.role,
                               "unit_id": u.unit_id} for u in session.execute(query).scalars()]})

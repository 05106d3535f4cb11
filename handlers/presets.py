"""Time-limit presets (工单时限): the admins' page at /tickets/policies and the API at /api/v1/presets."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from core.db import session
from core.errors import DomainError
from handlers.common import (
    actor,
    domain_error_response,
    json_body,
    json_error,
    note_refusal,
    now,
    refusals,
    roles_required,
)
from handlers.openapi import api_doc
from handlers.schemas import dispatch as schemas
from tickets import policy, presets
from tickets.models import FIRST_CONTACT_UNITS, KINDS, URGENCIES

bp = Blueprint("presets", __name__, url_prefix="/tickets/policies")
api_bp = Blueprint("presets_api", __name__, url_prefix="/api/v1/presets")

_PARTS = ("first_contact", "closure", "callback")


def _refused(err: DomainError, page=None):
    """A refusal; a refused preset's API answer lists every problem at once."""
    if isinstance(err, presets.PresetError) and request.path.startswith("/api/"):
        session.rollback()
        note_refusal(err)
        return json_error(err.status, err.code, err.message, field=err.field, problems=err.problems)
    return domain_error_response(err, page)


def _form_limits(form) -> list[dict[str, Any]]:
    """The page's grid (one amount and unit per cell, named kind.urgency.part) as table rows; an empty
    cell stays out, so the table's check names it as a gap."""
    rows = []
    for kind in KINDS:
        for urgency in URGENCIES:
            row: dict[str, Any] = {"kind": kind, "urgency": urgency}
            for part in _PARTS:
                amount = (form.get(f"{kind}.{urgency}.{part}_amount") or "").strip()
                unit = form.get(f"{kind}.{urgency}.{part}_unit") or "working_days"
                if amount:
                    row[part] = [amount, unit]
            rows.append(row)
    return rows


def _page(**extra: Any):
    return render_template("presets/index.html", presets=presets.list_presets(), active=presets.active_preset(),
                           policies=policy.list_policies(), kinds=KINDS, urgencies=URGENCIES,
                           units=FIRST_CONTACT_UNITS, examples=presets.examples(), **extra)


@bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    """The presets, the active one's table, a form for a new preset (copied from one shipped or saved)."""
    if request.method == "POST":
        try:
            preset = presets.create_preset(actor=actor(), now=now(), name=request.form.get("name"),
                                           description=request.form.get("description", ""),
                                           limits=_form_limits(request.form))
        except DomainError as err:
            return _refused(err, lambda: _page(form=request.form))
        flash(f"已保存新预设：{preset.name}（未启用）", "success")
        return redirect(url_for("presets.edit", preset_id=preset.id))
    return _page(form=None)


@bp.route("/<int:preset_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(preset_id: int):
    preset = presets.get_preset(preset_id)

    def page():
        return render_template("presets/edit.html", preset=preset, policies=presets.policies_of(preset),
                               kinds=KINDS, urgencies=URGENCIES, units=FIRST_CONTACT_UNITS,
                               form=request.form if request.method == "POST" else None)

    if request.method == "POST":
        try:
            if request.form.get("op") == "activate":
                presets.activate(actor=actor(), now=now(), preset=preset)
                flash(f"已启用：{preset.name}（新工单按此预设计算时限，已有工单时限不变）", "success")
            else:
                presets.update_preset(actor=actor(), now=now(), preset=preset, version=request.form.get("version"),
                                      name=request.form.get("name"), description=request.form.get("description"),
                                      limits=_form_limits(request.form))
                flash(f"已保存：{preset.name}（第{preset.version}版）", "success")
        except DomainError as err:
            return _refused(err, page)
        return redirect(url_for("presets.edit", preset_id=preset.id))
    return page()


# --- API ---------------------------------------------------------------------------------------

@api_bp.route("", methods=["GET", "POST"])
@roles_required("admin")
@refusals
@api_doc("办理时限预设（广东式、北京式等）", methods=("GET",), tags=("presets",), responses={200: schemas.Presets},
         errors=(403,))
@api_doc("新建时限预设：每种类型和紧急程度都要有时限", methods=("POST",), tags=("presets",), body=schemas.PresetWrite,
         validate=False, responses={201: schemas.Preset}, errors=(403, 422))
def api_presets():
    if request.method == "GET":
        return jsonify({"presets": [presets.preset_json(p) for p in presets.list_presets()]})
    data = json_body()
    try:
        preset = presets.create_preset(actor=actor(), now=now(), name=data.get("name"), limits=data.get("limits"),
                                       description=data.get("description", ""))
    except DomainError as err:
        return _refused(err)
    return jsonify(presets.preset_json(preset)), 201


@api_bp.route("/<int:preset_id>", methods=["GET", "PUT"])
@roles_required("admin")
@refusals
@api_doc("一个时限预设", methods=("GET",), tags=("presets",), responses={200: schemas.Preset}, errors=(403, 404))
@api_doc("修改时限预设（带读到的版本）", methods=("PUT",), tags=("presets",), body=schemas.PresetWrite, validate=False,
         responses={200: schemas.Preset}, errors=(403, 404, 409, 422))
def api_preset(preset_id: int):
    preset = presets.get_preset(preset_id)
    if request.method == "PUT":
        data = json_body()
        try:
            presets.update_preset(actor=actor(), now=now(), preset=preset, version=data.get("version"),
                                  limits=data.get("limits"), name=data.get("name"),
                                  description=data.get("description"))
        except DomainError as err:
            return _refused(err)
    return jsonify(presets.preset_json(preset))


@api_bp.route("/<int:preset_id>/activate", methods=["POST"])
@roles_required("admin")
@refusals
@api_doc("启用时限预设（同时只有一个启用）", tags=("presets",), responses={200: schemas.Preset}, errors=(403, 404))
def api_activate(preset_id: int):
    preset = presets.activate(actor=actor(), now=now(), preset=presets.get_preset(preset_id))
    return jsonify(presets.preset_json(preset))

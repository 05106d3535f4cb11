"""Admin pages for units (单位)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from core import units
from core.errors import DomainError
from core.models import UNIT_KINDS, UNIT_LEVELS
from handlers.common import actor, domain_error_response, form_int, now, roles_required

bp = Blueprint("units", __name__, url_prefix="/units")


@bp.route("/")
@roles_required("admin", "supervisor")
def index():
    area = request.args.get("area") or None
    return render_template("units/index.html", units=units.list_units(area=area), areas=units.areas(), area=area,
                           levels=UNIT_LEVELS, kinds=UNIT_KINDS)


def _form(unit=None):
    return render_template("units/form.html", unit=unit, areas=units.areas(), levels=UNIT_LEVELS, kinds=UNIT_KINDS,
                           parents=units.list_units(active_only=True), form=request.form)


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new():
    if request.method == "GET":
        return _form()
    try:
        unit = units.create_unit(actor=actor(), now=now(), name=request.form.get("name", ""),
                                 level=request.form.get("level", ""), kind=request.form.get("kind", ""),
                                 area=request.form.get("area", ""), parent_id=form_int("parent_id", label="上级单位"),
                                 code=request.form.get("code"), phone=request.form.get("phone", ""),
                                 address=request.form.get("address", ""))
    except DomainError as err:
        return domain_error_response(err, _form)
    flash(f"已添加单位 {unit.name}", "success")
    return redirect(url_for("units.index", area=unit.area))


@bp.route("/<int:unit_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(unit_id: int):
    unit = units.get_unit(unit_id)
    if request.method == "GET":
        return _form(unit)
    try:
        units.update_unit(actor=actor(), now=now(), unit=unit, name=request.form.get("name", ""),
                          phone=request.form.get("phone", ""), address=request.form.get("address", ""),
                          active=request.form.get("active") == "1")
    except DomainError as err:
        return domain_error_response(err, lambda: _form(unit))
    flash("已保存", "success")
    return redirect(url_for("units.index", area=unit.area))

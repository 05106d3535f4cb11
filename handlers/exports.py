"""Exports: what a person asked to export, its progress while a scheduler writes it, and the download."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, send_file, url_for

from core import exports
from core.exports import Requested
from core.models import ROLES
from handlers.common import actor, refused, roles_required
from handlers.openapi import api_doc
from handlers.schemas import dispatch as schemas

bp = Blueprint("exports", __name__, url_prefix="/exports")
api_bp = Blueprint("exports_api", __name__, url_prefix="/api/v1")
ANYONE = tuple(role for role in ROLES if role != "telephony")


def deliver(asked: Requested):
    """A small export is the response itself; a queued one sends the person to watch it."""
    if asked.file is not None:
        return send_file(asked.file, mimetype=asked.kind.mimetype, as_attachment=True,
                         download_name=asked.filename)
    return redirect(url_for("exports.show", export_id=asked.export.id))


@bp.route("/")
@roles_required(*ANYONE)
def index():
    return render_template("exports/index.html", exports=exports.exports_of(actor()))


@bp.route("/<int:export_id>")
@roles_required(*ANYONE)
def show(export_id: int):
    try:
        export = exports.export_for(actor(), export_id)
    except exports.ExportError as err:
        return refused(err)
    return render_template("exports/show.html", export=export)


@bp.route("/<int:export_id>/download")
@roles_required(*ANYONE)
def download(export_id: int):
    try:
        export = exports.export_for(actor(), export_id)
        path = exports.file_of(export)
    except exports.ExportError as err:
        return refused(err)
    kind = exports.kinds().get(export.kind)
    return send_file(path, mimetype=kind.mimetype if kind else "application/octet-stream", as_attachment=True,
                     download_name=export.filename)


@api_bp.route("/exports")
@roles_required(*ANYONE)
@api_doc("我的导出（较大的导出在后台生成）", tags=("exports",), responses={200: schemas.Exports}, errors=(403,))
def api_list():
    """The caller's recent exports, newest first."""
    return jsonify({"exports": [exports.as_json(e) for e in exports.exports_of(actor())]})


@api_bp.route("/exports/<int:export_id>")
@roles_required(*ANYONE)
@api_doc("一个导出的进度；生成后给出下载地址", tags=("exports",), responses={200: schemas.Export}, errors=(403, 404))
def api_show(export_id: int):
    """One export's state and progress (the export page polls it)."""
    try:
        export = exports.export_for(actor(), export_id)
    except exports.ExportError as err:
        return refused(err)
    data = exports.as_json(export)
    if export.state == "done":
        data["download_url"] = url_for("exports.download", export_id=export.id)
    return jsonify(data)

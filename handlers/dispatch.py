"""The dispatch catalogue's pages (/tickets/catalogue), the supervisor's desk (/tickets/desk), and their API:
the catalogue, the owner it proposes, and the merge candidates of a caller (blueprints `dispatch`, `dispatch_api`).
Objections, merges and splits are actions of the one action table (POST /api/v1/tickets/{id}/actions)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from core import clock, units
from core.errors import DomainError
from core.models import UNIT_LEVELS
from handlers.common import XLSX, actor, json_body, json_error, now, refusals, refused, roles_required, writes
from handlers.openapi import api_doc
from handlers.schemas import dispatch as schemas
from kb.models import CATEGORIES
from tickets import catalogue, merging, presenters, queries
from tickets.models import KINDS

bp = Blueprint("dispatch", __name__, url_prefix="/tickets")
api_bp = Blueprint("dispatch_api", __name__, url_prefix="/api/v1")

#: Who may read the catalogue (admins edit it).
READERS = ("operator", "supervisor")


def merge_settings() -> merging.MergeSettings:
    """The repeat-request window and rules as configured (the ticket pages use it too)."""
    return merging.MergeSettings.from_config(current_app.config)


# --- pages ---------------------------------------------------------------------------------------

def _catalogue_page(status: int = 200, errors: list[str] | None = None, form: Any = None):
    number = request.args.get("version", "")
    shown = catalogue.get_version(int(number)) if number.isdigit() else catalogue.current_version()
    current = catalogue.current_version()
    return render_template(
        "tickets/catalogue.html", shown=shown, current=current, versions=catalogue.versions(),
        describe=catalogue.describe, categories=CATEGORIES, kinds=KINDS, levels=UNIT_LEVELS,
        units=units.list_units(active_only=True), all_units={u.id: u for u in units.list_units()},
        sources=catalogue.SOURCES, errors=errors, form=form or {},
        editing=_editing()), status


def _editing() -> int | None:
    """The matter whose form is open: ?edit=, or the one a refused change was for."""
    raw = request.values.get("edit") or request.form.get("matter_id") or ""
    return int(raw) if raw.isdigit() else None


@bp.route("/catalogue")
@roles_required(*READERS)
@refusals
def catalogue_page():
    return _catalogue_page()


def _matter_form() -> dict[str, Any]:
    form = request.form
    return {"category": form.get("category", ""), "entry_id": form.get("entry_id", ""), "kind": form.get("kind", ""),
            "level": form.get("level", ""), "unit_id": form.get("unit_id", ""),
            "cohandling_ids": form.getlist("cohandling_ids"), "note": form.get("matter_note", "")}


@bp.route("/catalogue/matters", methods=["POST"])
@roles_required("admin")
def catalogue_put():
    try:
        version = catalogue.put_matter(actor=actor(), now=now(), matter_id=request.form.get("matter_id"),
                                       row=_matter_form(), note=request.form.get("note", ""))
    except DomainError as err:
        return refused(err, lambda e=err: _catalogue_page(e.status, form=request.form)[0])
    flash(f"派单目录已更新为第{version.number}版", "success")
    return redirect(url_for("dispatch.catalogue_page"))


@bp.route("/catalogue/matters/<int:matter_id>/delete", methods=["POST"])
@roles_required("admin")
def catalogue_delete(matter_id: int):
    try:
        version = catalogue.remove_matter(actor=actor(), now=now(), matter_id=matter_id,
                                          note=request.form.get("note", ""))
    except DomainError as err:
        return refused(err, lambda e=err: _catalogue_page(e.status)[0])
    flash(f"已删除该事项，派单目录为第{version.number}版", "success")
    return redirect(url_for("dispatch.catalogue_page"))


@bp.route("/catalogue/export.xlsx")
@writes
@roles_required(*READERS)
@refusals
def catalogue_export():
    stamp = clock.to_local(now()).strftime("%Y%m%d")
    return Response(catalogue.export_xlsx(actor=actor(), now=now()), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=dispatch-catalogue-{stamp}.xlsx"})


def _upload() -> bytes:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise catalogue.CatalogueImportError(["请选择要导入的xlsx文件"])
    if not upload.filename.lower().endswith(".xlsx"):
        raise catalogue.CatalogueImportError(["只能导入.xlsx文件"])
    return upload.read(catalogue.MAX_BYTES + 1)


@bp.route("/catalogue/import", methods=["POST"])
@roles_required("admin")
def catalogue_import():
    try:
        version = catalogue.import_xlsx(_upload(), actor=actor(), now=now(), note=request.form.get("note", ""))
    except catalogue.CatalogueImportError as err:
        return refused(err, lambda e=err: _catalogue_page(e.status, errors=e.errors)[0])
    except DomainError as err:
        return refused(err, lambda e=err: _catalogue_page(e.status, errors=[e.message])[0])
    flash(f"导入完成：派单目录为第{version.number}版，共{len(version.matters)}条事项", "success")
    return redirect(url_for("dispatch.catalogue_page"))


@bp.route("/desk")
@roles_required("supervisor")
def desk():
    """The supervisor's desk: tickets whose matter is outside the catalogue, waiting for a dispatch decision."""
    return render_template("tickets/desk.html", tickets=catalogue.desk_tickets(), now=now())


# --- API -----------------------------------------------------------------------------------------

@api_bp.route("/tickets/catalogue", methods=["GET", "PUT"])
@roles_required(*READERS)
@refusals
@api_doc("派单目录（现行版本）", methods=("GET",), tags=("dispatch",), responses={200: schemas.VersionAnswer},
         errors=(403,))
@api_doc("整张派单目录写成新的一版（管理员）", methods=("PUT",), tags=("dispatch",), body=schemas.CatalogueWrite,
         validate=False, responses={200: schemas.VersionAnswer}, errors=(403, 422))
def api_catalogue():
    """GET the catalogue in force; PUT {"matters": [...], "note"?} writes a new version (admins)."""
    if request.method == "PUT":
        data = json_body()
        matters = data.get("matters")
        if not isinstance(matters, list):
            raise DomainError("请提供matters数组", field="matters", status=400, code="bad_json")
        catalogue.save_version(actor=actor(), now=now(), rows=matters, source="api", note=str(data.get("note") or ""))
    current = catalogue.current_version()
    return jsonify({"version": catalogue.version_json(current) if current else None})


@api_bp.route("/tickets/catalogue/matters", methods=["POST"])
@api_bp.route("/tickets/catalogue/matters/<int:matter_id>", methods=["PUT", "DELETE"])
@roles_required("admin")
@refusals
@api_doc("新增一个事项（新的一版）", methods=("POST",), tags=("dispatch",), body=schemas.MatterWrite, validate=False,
         responses={201: schemas.VersionAnswer}, errors=(403, 422))
@api_doc("修改一个事项（新的一版）", methods=("PUT",), tags=("dispatch",), body=schemas.MatterWrite, validate=False,
         responses={200: schemas.VersionAnswer}, errors=(403, 404, 422))
@api_doc("删除一个事项（新的一版）", methods=("DELETE",), tags=("dispatch",), responses={200: schemas.VersionAnswer},
         errors=(403, 404))
def api_catalogue_matter(matter_id: int | None = None):
    """Add (POST), change (PUT) or remove (DELETE) one matter: each a new version."""
    if request.method == "DELETE":
        version = catalogue.remove_matter(actor=actor(), now=now(), matter_id=matter_id)
    else:
        data = json_body()
        version = catalogue.put_matter(actor=actor(), now=now(), matter_id=matter_id, row=data,
                                       note=str(data.get("version_note") or ""), source="api")
    return jsonify({"version": catalogue.version_json(version)}), 201 if request.method == "POST" else 200


@api_bp.route("/tickets/catalogue/versions")
@roles_required(*READERS)
@refusals
@api_doc("派单目录的各版本", tags=("dispatch",), responses={200: schemas.Versions}, errors=(403,))
def api_catalogue_versions():
    return jsonify({"versions": [catalogue.version_json(v, with_matters=False) for v in catalogue.versions()]})


@api_bp.route("/tickets/catalogue/versions/<int:number>")
@roles_required(*READERS)
@refusals
@api_doc("派单目录的某一版及其事项", tags=("dispatch",), responses={200: schemas.VersionAnswer}, errors=(403, 404))
def api_catalogue_version(number: int):
    return jsonify({"version": catalogue.version_json(catalogue.get_version(number))})


@api_bp.route("/tickets/catalogue/import", methods=["POST"])
@roles_required("admin")
@refusals
@api_doc("从Excel导入派单目录：全部导入或全不导入，错误一次列全", tags=("dispatch",),
         upload=("multipart/form-data", {"type": "object", "required": ["file"], "properties": {
             "file": {"type": "string", "format": "binary"}, "note": {"type": "string"}}}),
         responses={201: schemas.VersionAnswer},
         errors={403: None, 422: "文件有错：error.errors列出每个错误的工作表、行、列和原因，未导入任何内容"})
def api_catalogue_import():
    """multipart/form-data with the xlsx as `file`: all rows or nothing; 422 lists every error."""
    try:
        version = catalogue.import_xlsx(_upload(), actor=actor(), now=now(), note=request.form.get("note", ""))
    except catalogue.CatalogueImportError as err:
        return json_error(err.status, err.code, err.message, errors=err.errors)
    return jsonify({"version": catalogue.version_json(version)}), 201


@api_bp.route("/tickets/catalogue/export.xlsx")
@writes
@roles_required(*READERS)
@refusals
@api_doc("导出派单目录（Excel，可改后再导入）", tags=("dispatch",),
         responses={200: (XLSX, "派单目录")},
         errors=(403,))
def api_catalogue_export():
    return Response(catalogue.export_xlsx(actor=actor(), now=now()), mimetype=XLSX)


def _entry_ids() -> list[str]:
    raw = request.args.get("entry_ids", "")
    ids = [p.strip() for p in raw.split(",") if p.strip()]
    call_id = request.args.get("call_id", "")
    if call_id.isdigit():
        from tickets.calls import get_call

        ids += get_call(int(call_id)).kb_entry_ids
    return ids


@api_bp.route("/tickets/proposal")
@roles_required("operator", "supervisor")
@refusals
@api_doc("按派单目录建议首派单位和责任人（接线员确认）", tags=("dispatch",), query=schemas.ProposalQuery,
         responses={200: schemas.Proposal}, errors=(400, 403))
def api_proposal():
    """The first owner the catalogue proposes for a new ticket: ?township_id&topic&kind[&entry_ids][&call_id]."""
    proposal = catalogue.propose(request.args.get("township_id"), request.args.get("topic", ""),
                                 request.args.get("kind", ""), _entry_ids())
    return jsonify(proposal.as_json())


@api_bp.route("/tickets/desk")
@roles_required("supervisor")
@refusals
@api_doc("督查人员待派单：不在派单目录的工单", tags=("dispatch",), responses={200: schemas.Desk}, errors=(403,))
def api_desk():
    user = actor()
    return jsonify({"tickets": [presenters.ticket_summary(t, user, now()) for t in catalogue.desk_tickets()]})


@api_bp.route("/tickets/merge-candidates")
@roles_required("operator", "supervisor")
@refusals
@api_doc("可并单的在办工单（同一来电人或同一人同一事项，在并单期限内）", tags=("dispatch",),
         query=schemas.MergeQuery, responses={200: schemas.Candidates}, errors=(403,))
def api_merge_candidates():
    """Open tickets a new request could join: ?citizen_phone&citizen_id_number&citizen_name&topic."""
    args = request.args
    found = merging.candidates(now=now(), phone=args.get("citizen_phone", args.get("phone", "")),
                               id_number=args.get("citizen_id_number", ""), name=args.get("citizen_name", ""),
                               topic=args.get("topic", ""), settings=merge_settings())
    return jsonify({"window_days": merge_settings().window_days, "candidates": [merging.merge_json(c) for c in found]})


@api_bp.route("/tickets/<int:ticket_id>/merge-candidates")
@roles_required("operator", "supervisor")
@refusals
@api_doc("这张工单可并入的在办工单", tags=("dispatch",), responses={200: schemas.Candidates}, errors=(403, 404))
def api_ticket_merge_candidates(ticket_id: int):
    ticket = queries.viewable_ticket(ticket_id, actor())
    found = merging.candidates_for(ticket, now=now(), settings=merge_settings())
    return jsonify({"window_days": merge_settings().window_days, "candidates": [merging.merge_json(c) for c in found]})

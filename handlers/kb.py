"""Knowledge-base pages (blueprint `kb`, URL prefix /kb): the operator's search page, browse, entry,
editor, history, parameters, synonyms, import/export, the unanswered-searches report; and the
search API (`api_bp`, /api/v1/kb/search)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from core import clock, db
from core.errors import DomainError
from handlers.common import actor, domain_error_response, login_required, now, roles_required, writes
from kb import index as search_index
from kb import lookup, scope, services, transfer
from kb.models import CATEGORIES, FIELD_LABELS, LEVELS, STATUSES

bp = Blueprint("kb", __name__, url_prefix="/kb")
api_bp = Blueprint("kb_api", __name__, url_prefix="/api/v1")
EDITORS = ("kb_editor",)


def _is_editor() -> bool:
    return current_user.has_role(*EDITORS)


@bp.route("/")
@login_required
def index():
    category = request.args.get("category") or None
    status = None if _is_editor() else "published"
    all_entries = services.entries(status=status)
    counts = {c: sum(e.category == c for e in all_entries) for c in CATEGORIES}
    shown = [e for e in all_entries if not category or e.category == category]
    due = services.review_due(clock.today_local()) if _is_editor() else []
    return render_template("kb/index.html", entries=shown, counts=counts, category=category, statuses=STATUSES,
                           due=due, due_ids={e.id for e in due}, total=len(all_entries))


def _visible_entry(entry_id: str):
    entry = services.get_entry(entry_id)
    if entry.status != "published" and not _is_editor():
        abort(404)
    return entry


@bp.route("/<entry_id>")
@login_required
def entry(entry_id: str):
    entry = _visible_entry(entry_id)
    states = services.parameter_states(clock.today_local())
    used = [states[n] for n in services.parameters_used(entry) if n in states]
    return render_template("kb/entry.html", entry=entry, data=entry.as_data(),
                           render=lambda text: services.render(text, states), used=used, statuses=STATUSES,
                           labels=FIELD_LABELS, review_due=entry.review_date and entry.review_date < clock.today_local())


def _form_data() -> dict:
    form = request.form
    return {"id": form.get("id", ""), "category": form.get("category", ""), "question": form.get("question", ""),
            "similar": form.get("similar", ""), "keywords": form.get("keywords", ""), "answer": form.get("answer", ""),
            "detail": form.get("detail", ""), "policy_basis": form.get("policy_basis", ""),
            "level": form.get("level", ""), "eligibility": form.get("eligibility", ""),
            "materials": form.get("materials", ""), "process": form.get("process", ""),
            "handling_unit": form.get("handling_unit", ""), "contact": form.get("contact", ""),
            "status": form.get("status", "draft"), "review_date": form.get("review_date", "")}


def _editor_page(entry=None, data=None, preview=None, status=200, version=None, conflict=None):
    """The editor; `version` is the one the form started from, sent back with every save."""
    if data is None:
        data = entry.as_data() if entry else {"status": "draft", "level": "国家", "similar": [], "keywords": [],
                                              "policy_basis": []}
    states = services.parameter_states(clock.today_local())
    return render_template("kb/edit.html", entry=entry, data=data, preview=preview, categories=CATEGORIES,
                           levels=LEVELS, statuses=STATUSES, params=states, note=request.form.get("note", ""),
                           version=version if version is not None else (entry.version if entry else None),
                           conflict=conflict, render=lambda text: services.render(text, states)), status


def _started_from() -> int:
    raw = request.form.get("version", "").strip()
    if not raw.isdigit():
        raise services.KbError("页面缺少版本号，请刷新页面后重新编辑", status=400, field="version")
    return int(raw)


def _edit(entry=None):
    if request.method == "GET":
        return _editor_page(entry)
    raw = _form_data()
    started_from = None
    if entry is not None:
        raw["id"] = entry.id
    try:
        started_from = _started_from() if entry is not None else None
        if request.form.get("op") == "preview":
            return _editor_page(entry, services.clean_entry(raw), preview=True, version=started_from)
        saved, changed = services.save_entry(actor=actor(), now=now(), data=raw, note=request.form.get("note", ""),
                                             create_only=entry is None, base_version=started_from)
    except services.StaleEntry as err:
        # Nothing was written: show what the others changed, and keep what this person typed.
        db.session.rollback()
        flash(err.message, "error")
        return _editor_page(entry, raw, status=409, version=entry.version,
                            conflict=services.changes_since(entry, err.started_from))
    except DomainError as err:
        flash(err.message, "error")
        return _editor_page(entry, raw, status=400 if err.status == 400 else 422, version=started_from)
    flash(f"已保存为第{saved.version}版" if changed else "内容没有变化,未生成新版本", "success" if changed else "info")
    return redirect(url_for("kb.entry", entry_id=saved.id))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    return _edit()


@bp.route("/<entry_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(entry_id: str):
    return _edit(services.get_entry(entry_id))


@bp.route("/<entry_id>/status", methods=["POST"])
@roles_required(*EDITORS)
def status(entry_id: str):
    entry = services.get_entry(entry_id)
    try:
        services.set_status(actor=actor(), now=now(), entry=entry, status=request.form.get("status", ""),
                            note=request.form.get("note", ""))
    except DomainError as err:
        return domain_error_response(err)
    flash(f"已设为“{STATUSES[entry.status]}”", "success")
    return redirect(url_for("kb.entry", entry_id=entry.id))


@bp.route("/<entry_id>/history")
@roles_required(*EDITORS)
def history(entry_id: str):
    entry = services.get_entry(entry_id)
    versions = list(reversed(entry.versions))
    number = request.args.get("v", type=int) or entry.version
    chosen = next((v for v in entry.versions if v.number == number), None)
    if chosen is None:
        abort(404)
    previous = next((v for v in entry.versions if v.number == number - 1), None)
    diffs = services.version_diff(previous.data if previous else {}, chosen.data)
    return render_template("kb/history.html", entry=entry, versions=versions, chosen=chosen, diffs=diffs)


@bp.route("/<entry_id>/restore", methods=["POST"])
@roles_required(*EDITORS)
def restore(entry_id: str):
    entry = services.get_entry(entry_id)
    try:
        services.restore_version(actor=actor(), now=now(), entry=entry,
                                 number=request.form.get("number", type=int) or 0, note=request.form.get("note", ""))
    except DomainError as err:
        return domain_error_response(err)
    flash(f"已恢复为新的第{entry.version}版", "success")
    return redirect(url_for("kb.history", entry_id=entry.id))


# --- parameters and synonyms ---------------------------------------------------------------------

@bp.route("/parameters", methods=["GET", "POST"])
@roles_required("kb_editor", "supervisor")
def parameters():
    today = clock.today_local()
    if request.method == "POST":
        if not current_user.has_role():
            abort(403)
        try:
            raw_date = request.form.get("effective_date", "").strip()
            try:
                effective = date.fromisoformat(raw_date) if raw_date else today
            except ValueError:
                raise services.KbError("生效日期格式应为 年-月-日") from None
            name = request.form.get("name", "")
            services.set_parameter(actor=actor(), now=now(), name=name, value=request.form.get("value", ""),
                                   unit=request.form.get("unit", ""), effective_date=effective,
                                   source=request.form.get("source", ""), today=today)
        except DomainError as err:
            return domain_error_response(err)
        flash(f"已更新参数 {name}", "success")
        return redirect(url_for("kb.parameters") + f"#p-{name}")
    return render_template("kb/parameters.html", states=services.parameter_states(today),
                           usage=services.parameter_usage(), today=today,
                           can_edit=current_user.has_role())


@bp.route("/synonyms", methods=["GET", "POST"])
@roles_required(*EDITORS)
def synonyms():
    if request.method == "POST":
        try:
            op = request.form.get("op", "save")
            if op == "delete":
                services.delete_synonym(actor=actor(), now=now(), synonym_id=request.form.get("id", type=int) or 0)
                flash("已删除", "success")
            else:
                services.save_synonym(actor=actor(), now=now(), term=request.form.get("term", ""),
                                      canonical_term=request.form.get("canonical", ""),
                                      note=request.form.get("note", ""),
                                      synonym_id=request.form.get("id", type=int))
                flash("已保存,检索即时生效", "success")
        except DomainError as err:
            return domain_error_response(err, lambda: render_template("kb/synonyms.html",
                                                                      synonyms=services.synonyms(), form=request.form))
        return redirect(url_for("kb.synonyms"))
    return render_template("kb/synonyms.html", synonyms=services.synonyms(), form={})


# --- what the knowledge base does not cover, and near-neighbour pairs ------------------------------

@bp.route("/matters", methods=["GET", "POST"])
@roles_required(*EDITORS)
def matters():
    if request.method == "POST":
        try:
            if request.form.get("op") == "delete":
                scope.delete_matter(actor=actor(), now=now(), matter_id=request.form.get("id", type=int) or 0)
                flash("已删除", "success")
            else:
                scope.save_matter(actor=actor(), now=now(), matter=request.form.get("matter", ""),
                                  department=request.form.get("department", ""), terms=request.form.get("terms", ""),
                                  note=request.form.get("note", ""), matter_id=request.form.get("id", type=int))
                flash("已保存，检索即时生效", "success")
        except DomainError as err:
            return domain_error_response(err, lambda: render_template("kb/matters.html", matters=scope.matters(),
                                                                      form=request.form))
        return redirect(url_for("kb.matters"))
    return render_template("kb/matters.html", matters=scope.matters(),
                           form=scope.matter_form(request.args.get("edit", type=int)))


def _pairs_page(form: dict, status: int = 200):
    end = clock.now()
    return render_template("kb/pairs.html", notes=scope.pair_notes(), form=form,
                           offered=scope.confused_pairs(end - timedelta(days=30), end),
                           questions=scope.entry_questions()), status


@bp.route("/pairs", methods=["GET", "POST"])
@roles_required(*EDITORS)
def pairs():
    if request.method == "POST":
        try:
            if request.form.get("op") == "delete":
                scope.delete_pair_note(actor=actor(), now=now(), note_id=request.form.get("id", type=int) or 0)
                flash("已删除", "success")
            else:
                scope.save_pair_note(actor=actor(), now=now(), entry_a=request.form.get("entry_a", ""),
                                     entry_b=request.form.get("entry_b", ""), note=request.form.get("note", ""),
                                     question=request.form.get("question", ""))
                flash("已保存，检索即时生效", "success")
        except DomainError as err:
            return domain_error_response(err, lambda: _pairs_page(request.form)[0])
        return redirect(url_for("kb.pairs"))
    return _pairs_page({k: request.args.get(k, "") for k in ("entry_a", "entry_b", "note", "question")})


# --- import and export ---------------------------------------------------------------------------

def _upload_dir() -> Path:
    return Path(current_app.instance_path) / "uploads"


@bp.route("/import", methods=["GET", "POST"])
@roles_required("kb_editor")
def import_():
    if request.method == "GET":
        return render_template("kb/import.html", plan=None, errors=None)
    try:
        if request.form.get("token") and request.form.get("cancel"):
            transfer.discard_staged(_upload_dir(), request.form["token"])
            flash("已取消导入", "success")
            return redirect(url_for("kb.import_"))
        if request.form.get("token"):
            plan = transfer.apply_staged(_upload_dir(), request.form["token"], request.form.get("filename", ""),
                                         actor=actor(), now=now())
            flash(f"导入完成:新增{plan.created}条,修改{plan.updated}条,无变化{plan.unchanged}条", "success")
            return redirect(url_for("kb.index"))
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise transfer.ImportError_(["请选择要导入的文件"])
        token, plan = transfer.stage_upload(_upload_dir(), upload.filename,
                                            upload.read(transfer.MAX_IMPORT_BYTES + 1), now=now())
    except transfer.ImportError_ as err:
        db.session.rollback()
        return render_template("kb/import.html", plan=None, errors=err.errors), 422
    return render_template("kb/import.html", plan=plan, errors=None, token=token, filename=upload.filename)


@bp.route("/export.<fmt>")
@writes
@roles_required("kb_editor", "supervisor")
def export(fmt: str):
    body = transfer.export_file(actor=actor(), now=now(), fmt=fmt, everything=_is_editor())
    stamp = clock.to_local(now()).strftime("%Y%m%d")
    mimetype = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "jsonl": "application/x-ndjson; charset=utf-8"}[fmt]
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=kb-{stamp}.{fmt}"})


# --- search ----------------------------------------------------------------------------------------

SEARCHERS = ("operator", "kb_editor", "supervisor", "caseworker")


def _search_json(query: str, limit: int, *, source: str, session_key: str = ""):
    holder = search_index.holder_for(current_app)
    engine = holder.engine(current_app)
    result = lookup.search(engine, query, limit)
    payload = lookup.as_json(result, lookup.clean_query(query), holder.parameter_states(clock.today_local()),
                             holder.answers())
    if payload["query"]:
        user, at = actor(), now()
        # A search only reads; its log is written once the request's transaction has ended.
        db.after_request_write(lambda log_db: lookup.log_search(
            actor=user, now=at, query=query, result=result, source=source, session_key=session_key, db=log_db))
    return payload


@bp.route("/search")
@roles_required(*SEARCHERS)
def search():
    return render_template("kb/search.html", q=request.args.get("q", ""))


@bp.route("/search.json")
@roles_required(*SEARCHERS)
def search_json():
    try:
        limit = lookup.check_limit(request.args.get("limit"), default=8)
    except DomainError as err:
        return domain_error_response(err)
    return jsonify(_search_json(request.args.get("q", ""), limit, source="page",
                                session_key=request.args.get("sid", "")))


@bp.route("/search/opened", methods=["POST"])
@roles_required(*SEARCHERS)
def search_opened():
    lookup.log_open(actor=actor(), now=now(), session_key=request.form.get("sid", ""),
                    entry_id=request.form.get("id", ""))
    return jsonify({"ok": True})


@bp.route("/<entry_id>/card")
@roles_required(*SEARCHERS)
def card(entry_id: str):
    """The entry as a panel for the search page (answer script first)."""
    entry = _visible_entry(entry_id)
    states = search_index.holder_for(current_app).parameter_states(clock.today_local())
    return render_template("kb/_card.html", entry=entry, data=entry.as_data(), labels=FIELD_LABELS,
                           render=lambda text: services.render(text, states))


@bp.route("/report")
@roles_required("kb_editor", "supervisor")
def report():
    today = clock.today_local()
    try:
        start = date.fromisoformat(request.args["from"]) if request.args.get("from") else today - timedelta(days=30)
        end = date.fromisoformat(request.args["to"]) if request.args.get("to") else today
    except ValueError:
        flash("日期格式应为 年-月-日", "error")
        start, end = today - timedelta(days=30), today
    lo, hi = clock.local_to_utc(datetime.combine(start, time())), clock.local_to_utc(datetime.combine(end + timedelta(days=1), time()))
    return render_template("kb/report.html", rows=lookup.unanswered(lo, hi), totals=lookup.totals(lo, hi),
                           start=start, end=end)


@api_bp.route("/kb/search")
@roles_required()
def api_search():
    limit = lookup.check_limit(request.args.get("limit"))
    return jsonify(_search_json(request.args.get("q", ""), limit, source="api"))

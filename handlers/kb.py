"""Knowledge-base pages (blueprint `kb`, URL prefix /kb): the operator's search page, browse, entry,
editor, history, parameters, synonyms, import/export, the unanswered-searches report; and the
search API (`api_bp`, /api/v1/kb/search)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from core import clock, config, db
from core.errors import DomainError
from handlers.common import (
    XLSX,
    actor,
    domain_error_response,
    go_offline,
    json_body,
    login_required,
    now,
    paged,
    roles_required,
    serves_offline,
    writes,
)
from handlers.openapi import api_doc
from handlers.schemas import kb as schemas
from kb import index as search_index
from kb import lookup, register, review, scope, services, transfer
from kb.models import (
    CATEGORIES,
    CHANGE_STATES,
    FIELD_LABELS,
    LEVELS,
    PARAMETER_KINDS,
    POLICY_STATUSES,
    REVIEW_KINDS,
    STATUSES,
)

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


def _review_settings() -> review.ReviewSettings:
    return review.ReviewSettings.from_config(current_app.config)


def _renderer(states):
    """Parameters filled in for a page: an unset one as a highlighted gap, linked for admins to the
    parameters page where they set it."""
    link = url_for("kb.parameters") + "#p-__NAME__" if current_user.role == "admin" else None
    return lambda text: services.render_html(text, states, link)


@bp.route("/<entry_id>")
@login_required
def entry(entry_id: str):
    entry = _visible_entry(entry_id)
    today = clock.today_local()
    states = services.parameter_states(today)
    used = [states[n] for n in services.parameters_used(entry) if n in states]
    data = entry.as_data()
    return render_template("kb/entry.html", entry=entry, data=data, render=_renderer(states), used=used,
                           statuses=STATUSES, labels=FIELD_LABELS, view=review.entry_view(data, states),
                           review_kinds=REVIEW_KINDS, today=today, next_review=today + timedelta(days=365),
                           review_due=entry.review_date and entry.review_date < today)


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
    view = review.entry_view(data, states, saved=False) if preview else None
    return render_template("kb/edit.html", entry=entry, data=data, preview=preview, categories=CATEGORIES,
                           levels=LEVELS, statuses=STATUSES, params=states, note=request.form.get("note", ""),
                           version=version if version is not None else (entry.version if entry else None),
                           conflict=conflict, render=_renderer(states), view=view,
                           pending=review.pending_for(entry.id) if entry else None,
                           review_required=_review_settings().required), status


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
        result = review.submit(actor=actor(), now=now(), data=raw, note=request.form.get("note", ""),
                               settings=_review_settings(), create_only=entry is None, base_version=started_from,
                               emergency=request.form.get("emergency") == "1")
    except services.StaleEntry as err:
        # Nothing was written: show what the others changed, and keep what this person typed.
        db.session.rollback()
        flash(err.message, "error")
        return _editor_page(entry, raw, status=409, version=entry.version,
                            conflict=services.changes_since(entry, err.started_from))
    except DomainError as err:
        flash(err.message, "error")
        return _editor_page(entry, raw, status=err.status if err.status in (400, 403, 409) else 422,
                            version=started_from)
    return _after_submit(result)


def _after_submit(result: review.Submitted):
    if result.change is not None:
        flash(f"已提交审核(第{result.change.id}号修改):另一位知识库编辑审核通过后才会发布,"
              "在此之前接线员看到的仍是当前版本", "success")
        if result.entry_id and services.session.get(services.Entry, result.entry_id) is None:
            return redirect(url_for("kb.change", change_id=result.change.id))
    elif result.changed:
        flash(f"已保存为第{result.entry.version}版", "success")
    else:
        flash("内容没有变化,未生成新版本", "info")
    return redirect(url_for("kb.entry", entry_id=result.entry_id))


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
        result = review.set_status(actor=actor(), now=now(), entry=entry, status=request.form.get("status", ""),
                                   note=request.form.get("note", ""), settings=_review_settings(),
                                   emergency=request.form.get("emergency") == "1")
    except DomainError as err:
        return domain_error_response(err)
    if result.change is None:
        flash(f"已设为“{STATUSES[entry.status]}”", "success")
        return redirect(url_for("kb.entry", entry_id=entry.id))
    return _after_submit(result)


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
    return render_template("kb/history.html", entry=entry, versions=versions, chosen=chosen, diffs=diffs,
                           reviews=review.reviews_of(entry.id), review_kinds=REVIEW_KINDS)


@bp.route("/<entry_id>/restore", methods=["POST"])
@roles_required(*EDITORS)
def restore(entry_id: str):
    entry = services.get_entry(entry_id)
    try:
        result = review.restore(actor=actor(), now=now(), entry=entry, number=request.form.get("number", type=int) or 0,
                                note=request.form.get("note", ""), settings=_review_settings())
    except DomainError as err:
        return domain_error_response(err)
    if result.change is not None:
        return _after_submit(result)
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
                           usage=services.parameter_usage(), today=today, kinds=PARAMETER_KINDS,
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
    return config.upload_dir(current_app.config)


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
        try:
            review.check_import(plan, actor=actor(), settings=_review_settings())
        except transfer.ImportError_:
            transfer.discard_staged(_upload_dir(), token)
            raise
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
    mimetype = {"xlsx": XLSX,
                "jsonl": "application/x-ndjson; charset=utf-8"}[fmt]
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=kb-{stamp}.{fmt}"})


# --- search ----------------------------------------------------------------------------------------

SEARCHERS = ("operator", "kb_editor", "supervisor", "caseworker")


def _unless_database_down(read):
    """`read()`, or None when the database is down (found earlier in this request, or now): the request then
    goes on from this host's search index."""
    if g.get("database_down"):
        return None
    try:
        return read()
    except db.UNAVAILABLE as err:
        go_offline(err)
        return None


def _search_json(query: str, limit: int, *, source: str, session_key: str = ""):
    holder = search_index.holder_for(current_app)

    def read():
        engine, revision = holder.engine(current_app), holder.revision()
        return (lookup.search(engine, query, limit, revision=revision, published=holder.published(revision)),
                holder.parameter_states(clock.today_local(), revision), holder.answers())

    found = _unless_database_down(read)
    if found is not None:
        result, states, answers = found
    else:
        # This host's index answers alone, with the parameters and answer scripts as last read.
        engine, states, answers = holder.offline()
        result = lookup.search(engine, query, limit, offline=True)
    payload = lookup.as_json(result, lookup.clean_query(query), states, answers)
    if payload["query"]:
        user, at = actor(), now()
        # A search only reads; its log is written once the request's transaction has ended (or, while
        # the database is down, by the first request after it is back). The API's rows are gathered for
        # one write a second; the page's are written at once, since the entry the operator opens next is
        # noted on its row (search_opened).
        db.after_request_write(lambda log_db: lookup.log_search(
            actor=user, now=at, query=query, result=result, source=source, session_key=session_key, db=log_db),
            keep=True, gather=0 if session_key else current_app.config["SEARCH_LOG_BATCH_SECONDS"])
    return payload


@bp.route("/search")
@serves_offline
@roles_required(*SEARCHERS)
def search():
    return render_template("kb/search.html", q=request.args.get("q", ""))


@bp.route("/search.json")
@serves_offline
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
@serves_offline
@roles_required(*SEARCHERS)
def card(entry_id: str):
    """The entry as a panel for the search page and the call panel (answer script first); while the
    database is down, the copy kept with this host's search index, marked as such."""
    holder = search_index.holder_for(current_app)

    def online():
        entry = _visible_entry(entry_id)
        states = holder.parameter_states(clock.today_local())
        data = entry.as_data()
        return render_template("kb/_card.html", data=data, labels=FIELD_LABELS, render=_renderer(states),
                               view=review.entry_view(data, states), review_kinds=REVIEW_KINDS)

    page = _unless_database_down(online)
    if page is not None:
        return page
    kept = holder.offline_card(entry_id)
    if kept is None:  # a draft, or an unknown id: only the database knows
        raise g.database_error
    data, states = kept
    return render_template("kb/_card.html", data=data, labels=FIELD_LABELS, render=_renderer(states),
                           view=review.offline_view(data, states), review_kinds=REVIEW_KINDS,
                           offline_since=datetime.fromtimestamp(holder.info.built_at, UTC))


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
    rows, page, more = paged(lambda limit, offset: lookup.unanswered(lo, hi, limit=limit, offset=offset))
    return render_template("kb/report.html", rows=rows, page=page, more=more, totals=lookup.totals(lo, hi),
                           start=start, end=end)


@api_bp.route("/kb/search")
@serves_offline
@roles_required()
@api_doc("知识库检索：来电人的话 → 推荐条目和答复口径", tags=("kb",), query=schemas.SearchQuery,
         responses={200: schemas.SearchResult}, errors=(400,))
def api_search():
    limit = lookup.check_limit(request.args.get("limit"))
    return jsonify(_search_json(request.args.get("q", ""), limit, source="api"))


# --- review before publish, the due-for-review list, the policy register (issue 13) ----------------

@bp.route("/changes")
@roles_required(*EDITORS)
def changes():
    return render_template("kb/changes.html", changes=review.pending_changes())


@bp.route("/changes/<int:change_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def change(change_id: int):
    item = review.get_change(change_id)
    if request.method == "GET":
        return render_template("kb/change.html", change=item, diffs=review.change_diff(item), states=CHANGE_STATES)
    op, note = request.form.get("op", ""), request.form.get("note", "")
    try:
        if op == "approve":
            entry = review.approve(actor=actor(), now=now(), change=item, note=note)
            flash(f"已审核通过,{entry.id}第{entry.version}版已发布", "success")
            return redirect(url_for("kb.entry", entry_id=entry.id))
        if op == "reject":
            review.reject(actor=actor(), now=now(), change=item, note=note)
            flash("已退回,提交人会在待审核列表中看到退回原因", "success")
        elif op == "withdraw":
            review.withdraw(actor=actor(), now=now(), change=item)
            flash("已撤回", "success")
        else:
            raise services.KbError("未知操作", status=400)
    except DomainError as err:
        return domain_error_response(err, lambda: render_template(
            "kb/change.html", change=review.get_change(change_id), diffs=review.change_diff(item),
            states=CHANGE_STATES))
    return redirect(url_for("kb.changes"))


@bp.route("/due")
@roles_required(*EDITORS)
def due():
    today = clock.today_local()
    settings = _review_settings()
    return render_template("kb/due.html", items=review.due_for_review(today, settings), today=today,
                           days=settings.due_days, review_kinds=REVIEW_KINDS)


@bp.route("/<entry_id>/recheck", methods=["POST"])
@roles_required(*EDITORS)
def recheck(entry_id: str):
    entry = services.get_entry(entry_id)
    try:
        raw = request.form.get("review_date", "").strip()
        try:
            next_review = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise services.KbError("下次复核日期格式应为 年-月-日", field="review_date") from None
        review.recheck(actor=actor(), now=now(), entry=entry, note=request.form.get("note", ""),
                       next_review=next_review, today=clock.today_local())
    except DomainError as err:
        return domain_error_response(err)
    flash("已记录复核确认", "success")
    return redirect(url_for("kb.entry", entry_id=entry.id))


def _document_form() -> dict:
    form = request.form
    return {k: form.get(k, "") for k in ("title", "number", "issuer", "level", "effective_date", "status",
                                         "superseded_by_id", "note")}


def _register_page(doc=None, form=None, status=200):
    entries_now = services.entries()
    docs = register.documents()
    return render_template("kb/register.html", docs=docs, doc=doc, form=form, levels=LEVELS,
                           statuses=POLICY_STATUSES, unmatched=register.unmatched(entries_now),
                           dependents={d.id: register.dependents(d, entries_now) for d in docs}), status


@bp.route("/register", methods=["GET", "POST"])
@roles_required(*EDITORS)
def register_page():
    if request.method == "GET":
        return _register_page()
    try:
        doc, _ = register.save_document(actor=actor(), now=now(), data=_document_form())
    except DomainError as err:
        return domain_error_response(err, lambda: _register_page(form=request.form)[0])
    flash(f"已登记《{doc.title}》", "success")
    return redirect(url_for("kb.register_page") + f"#d-{doc.id}")


@bp.route("/register/<int:doc_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def document(doc_id: int):
    doc = register.get_document(doc_id)
    if request.method == "GET":
        return _register_page(doc=doc)
    try:
        doc, flagged = register.save_document(actor=actor(), now=now(), data=_document_form(), doc_id=doc_id)
    except DomainError as err:
        return domain_error_response(err, lambda: _register_page(doc=register.get_document(doc_id),
                                                                 form=request.form)[0])
    flash(f"已保存《{doc.title}》" + (f";{flagged}个依据它的条目已标记为待复核" if flagged else ""), "success")
    return redirect(url_for("kb.register_page") + f"#d-{doc.id}")


# --- the review API: the same four-eyes rule as the pages ------------------------------------------

def _change_json(item) -> dict:
    return {"id": item.id, "entry_id": item.entry_id, "state": item.state, "base_version": item.base_version,
            "note": item.note, "author": {"id": item.author_id, "name": item.author.display_name},
            "created_at": item.created_at.isoformat(), "applied_version": item.applied_version,
            "decision_note": item.decision_note}


@api_bp.route("/kb/changes")
@roles_required(*EDITORS)
@api_doc("待审核的知识库修改（知识库编辑）", tags=("kb",), responses={200: schemas.Changes}, errors=(403,))
def api_changes():
    return jsonify({"changes": [_change_json(c) for c in review.pending_changes()]})


@api_bp.route("/kb/entries/<entry_id>/changes", methods=["POST"])
@roles_required(*EDITORS)
@api_doc("提交条目修改：需另一位编辑审核后发布（202）；紧急发布先生效后复核", tags=("kb",),
         body=schemas.ChangeSubmitted, validate=False,
         responses={202: (schemas.ChangeAnswer, "待审核"), 200: (schemas.ChangeAnswer, "已保存或无变化")},
         errors=(400, 403, 404, 409, 422),
         description="其余字段为条目本身的字段（与读取条目时相同），未知字段返回400；version为您编辑的条目版本。")
def api_submit_change(entry_id: str):
    """Submit a change: the entry's fields (all of them, as GET would give), `note` and `version`."""
    try:
        body = json_body()
        entry = services.get_entry(entry_id)
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise services.KbError("version 应为整数:您编辑的条目版本", code="bad_request", status=400,
                                   field="version")
        fields = {k: v for k, v in body.items() if k not in ("note", "version", "emergency")}
        unknown = sorted(set(fields) - set(entry.as_data()))
        if unknown:
            raise services.KbError(f"未知字段:{'、'.join(unknown)}", code="unknown_fields", status=400,
                                   field=unknown[0])
        result = review.submit(actor=actor(), now=now(), data=entry.as_data() | fields | {"id": entry.id},
                               note=str(body.get("note") or ""), settings=_review_settings(),
                               base_version=version, emergency=body.get("emergency") is True)
    except DomainError as err:
        return domain_error_response(err)
    if result.change is not None:
        return jsonify({"status": "pending_review", "change": _change_json(result.change)}), 202
    return jsonify({"status": "saved" if result.changed else "unchanged", "entry_id": result.entry_id,
                    "version": result.entry.version})


@api_bp.route("/kb/changes/<int:change_id>/<any(approve, reject, withdraw):op>", methods=["POST"])
@roles_required(*EDITORS)
@api_doc("审核知识库修改：approve通过（发布）、reject退回、withdraw撤回（提交人）；不能审核自己的修改",
         tags=("kb",), body=schemas.Decision, body_required=False, responses={200: schemas.Decided},
         errors=(403, 404, 409, 422))
def api_decide_change(change_id: int, op: str, body: schemas.Decision):
    try:
        item = review.get_change(change_id)
        note = body.note or ""
        if op == "approve":
            review.approve(actor=actor(), now=now(), change=item, note=note)
        elif op == "reject":
            review.reject(actor=actor(), now=now(), change=item, note=note)
        else:
            review.withdraw(actor=actor(), now=now(), change=item)
    except DomainError as err:
        return domain_error_response(err)
    return jsonify({"change": _change_json(item)})

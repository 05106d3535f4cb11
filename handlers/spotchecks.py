"""Pages of the spotchecks area (blueprint `spotchecks`, URL prefix /spotchecks), the public hotline
directory (blueprint `hotlines`, /hotlines, no login) and the spot-check JSON API (`api_bp`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

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
    send_file,
    url_for,
)
from flask_login import current_user

from audit import services as audit
from core import clock, config, humanize
from core.errors import Conflict, DomainError, NotFound
from core.uploads import MEDIA, content_disposition
from handlers.common import (
    XLSX,
    actor,
    domain_error_response,
    form_int,
    json_body,
    now,
    paged,
    roles_required,
    writes,
)
from handlers.openapi import api_doc
from handlers.schemas import spotchecks as schemas
from spotchecks import charts, dashboard, directory, hotlines, notices, reports, rubrics, services, transfer
from spotchecks.models import (
    CORRECTNESS,
    IDENTIFIED,
    NOTICE_KINDS,
    RECTIFICATION_STATES,
    SUMMONS_STATES,
    Hotline,
    MysteryCall,
    Rectification,
    SpotcheckItem,
)
from spotchecks.rubric import BOUNDS, CRITERIA, FAULT_TYPES
from spotchecks.settings import SpotcheckSettings

bp = Blueprint("spotchecks", __name__, url_prefix="/spotchecks")
api_bp = Blueprint("spotchecks_api", __name__, url_prefix="/api/v1")
hotlines_bp = Blueprint("hotlines", __name__)

SUPERVISORS = ("supervisor",)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
WEEKDAYS = "一二三四五六日"


def _settings() -> SpotcheckSettings:
    """The spot-check settings and rubric the services take, from the running app's config."""
    return SpotcheckSettings.from_config(current_app.config)


def _today() -> date:
    return clock.today_local()


def _this_week() -> str:
    return services.week_of(_today())


def _date_arg(raw: str | None, label: str, default: date | None = None) -> date | None:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise services.SpotcheckError(f"{label}格式应为 年-月-日") from None


@bp.app_template_filter("spot_due")
def _duedate(value: datetime | None) -> str:
    """A deadline stored as the end of a day (24:00), shown as that day."""
    if value is None:
        return ""
    return clock.to_local(value - timedelta(seconds=1)).strftime("%Y-%m-%d")


@bp.app_template_filter("spot_due_day")
def _due_day(value: datetime | None) -> str:
    """A deadline stored as the end of a day, shown as that day with its weekday: 11月30日（星期一）."""
    if value is None:
        return ""
    return humanize.day_with_weekday(clock.to_local(value - timedelta(seconds=1)).date(), year=True)


@bp.app_template_filter("spot_weekday")
def _weekday(value: date) -> str:
    return f"周{WEEKDAYS[value.weekday()]}"


@bp.app_context_processor
def _home_summary() -> dict[str, Any]:
    """`spotchecks_home()` for the home page partial: the day's work for supervisors and caseworkers."""

    def summary() -> dict[str, Any] | None:
        user = actor()
        return dashboard.home(user, now()) if user is not None else None

    return {"spotchecks_home": summary}


# --- overview and plans ----------------------------------------------------------------------------

@bp.route("/")
@roles_required(*SUPERVISORS)
def index():
    return render_template("spotchecks/index.html", **dashboard.front_page(actor(), now()))


@bp.route("/plan", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def plan():
    week = request.values.get("week") or _this_week()
    if request.method == "POST":
        try:
            seed = form_int("seed", label="随机种子")
            result = services.create_plan(actor=actor(), now=now(), week=week, seed=seed, settings=_settings())
        except DomainError as err:
            return domain_error_response(err)
        if result.created:
            flash(f"已生成{humanize.week_label(result.plan.week)}抽查计划，共{result.created}条", "success")
            if result.plan.warning:
                flash(result.plan.warning, "warning")
        else:
            flash(f"{humanize.week_label(result.plan.week)}已有抽查计划，未重复生成", "info")
        return redirect(url_for("spotchecks.plan", week=result.plan.week))
    try:
        year, number = services.parse_week(week)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("spotchecks.plan"))
    key = services.week_key(year, number)
    the_plan = services.plan_for_week(key)
    items = services.plan_items(the_plan) if the_plan else []
    only_mine = request.args.get("mine") == "1"
    shown = [i for i in items if not only_mine or i.supervisor_id == actor().id]
    days: dict[date, list[SpotcheckItem]] = {}
    for item in shown:
        days.setdefault(item.day, []).append(item)
    monday = date.fromisocalendar(year, number, 1)
    prev_week = services.week_of(monday - timedelta(days=7))
    next_week = services.week_of(monday + timedelta(days=7))
    per_area = Counter(i.hotline.unit.area for i in items)
    return render_template("spotchecks/plan.html", week=key, plan=the_plan, items=items, days=days,
                           per_area=per_area, prev_week=prev_week, next_week=next_week, only_mine=only_mine,
                           supervisors=services.active_supervisors(), now=now(),
                           total_hotlines=len(hotlines.hotlines(active_only=True)))


@bp.route("/items/<int:item_id>/move", methods=["POST"])
@roles_required(*SUPERVISORS)
def move(item_id: int):
    item = services.get_item(item_id)
    try:
        day = _date_arg(request.form.get("day"), "日期")
        if day is None:
            raise services.SpotcheckError("请选择日期", field="day")
        try:
            at = time.fromisoformat(request.form.get("time", "").strip())
        except ValueError:
            raise services.SpotcheckError("时间格式应为 时:分", field="time") from None
        services.move_item(actor=actor(), now=now(), item=item, day=day, at=at, reason=request.form.get("reason", ""),
                           supervisor_id=form_int("supervisor_id", label="督查人员"))
    except DomainError as err:
        return domain_error_response(err)
    flash(f"已调整“{item.hotline.name}”的抽查时间", "success")
    return redirect(url_for("spotchecks.plan", week=item.week) + f"#item-{item.id}")


@bp.route("/items/<int:item_id>/swap", methods=["POST"])
@roles_required(*SUPERVISORS)
def swap(item_id: int):
    item = services.get_item(item_id)
    try:
        other = services.get_item(form_int("other_id", required=True, label="互换的任务编号"))
        services.swap_items(actor=actor(), now=now(), first=item, second=other, reason=request.form.get("reason", ""))
    except DomainError as err:
        return domain_error_response(err)
    flash(f"已互换“{item.hotline.name}”与“{other.hotline.name}”的抽查时间", "success")
    return redirect(url_for("spotchecks.plan", week=item.week) + f"#item-{item.id}")


# --- logging a mystery call ------------------------------------------------------------------------

def _started_at(raw: Any) -> datetime:
    text = str(raw or "").strip()
    if not text:
        raise services.SpotcheckError("请填写开始时间", field="started_at")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise services.SpotcheckError("开始时间格式应为 年-月-日 时:分", field="started_at") from None
    return clock.local_to_utc(value) if value.tzinfo is None else value


def _int_or_none(raw: Any, label: str, field: str) -> int | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        raise services.SpotcheckError(f"{label}应为整数", field=field) from None


def _flag(raw: Any) -> bool:
    return raw is True or str(raw).strip().lower() in ("1", "true", "yes", "on", "是")


def call_input(data: Mapping[str, Any]) -> services.CallInput:
    """Parse the logging form or an API body into the service's input."""
    ring = _int_or_none(data.get("ring_seconds"), "响铃时长", "ring_seconds")
    if ring is None:
        raise services.SpotcheckError("请填写响铃时长（秒）", field="ring_seconds")
    if "connected" not in data or str(data.get("connected")).strip() == "":
        raise services.SpotcheckError("请选择是否接通", field="connected")
    return services.CallInput(
        started_at=_started_at(data.get("started_at")), ring_seconds=ring, connected=_flag(data.get("connected")),
        identified=str(data.get("identified") or ""), answerer=str(data.get("answerer") or ""),
        question_entry_id=str(data.get("question_entry_id") or ""), correctness=str(data.get("correctness") or ""),
        deflected=_flag(data.get("deflected")), attitude=_int_or_none(data.get("attitude"), "服务态度", "attitude"),
        notes=str(data.get("notes") or ""), recording_ref=str(data.get("recording_ref") or ""))


def _log_page(item: SpotcheckItem, status: int = 200):
    entry, script = services.question_and_script(item, request.values.get("question_entry_id") or "", today=_today())
    rectification = services.open_rectification_of(item.hotline_id) if item.recheck else None
    default_start = clock.to_local(now()).strftime("%Y-%m-%dT%H:%M")
    return render_template("spotchecks/log.html", item=item, entry=entry, script=script,
                           entries=services.published_entries(), identified=IDENTIFIED, correctness=CORRECTNESS,
                           rubric=rubrics.current(_settings())[1], form=request.form, default_start=default_start,
                           rectification=rectification), status


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def log(item_id: int):
    item = services.get_item(item_id)
    if item.call is not None:
        if request.method == "POST":
            return domain_error_response(Conflict("该抽查任务已登记过结果，不能重复登记"))
        return redirect(url_for("spotchecks.call", call_id=item.call.id))
    if request.method == "GET":
        return _log_page(item)
    try:
        result = services.log_call(actor=actor(), now=now(), item=item, data=call_input(request.form),
                                  settings=_settings())
    except DomainError as err:
        return domain_error_response(err, lambda: _log_page(item)[0])
    if result.faults:
        flash(f"已登记：{result.score}分，不合格（{'、'.join(result.fault_labels)}），已生成整改事项", "warning")
    else:
        flash(f"已登记：{result.score}分，{'合格' if result.passed else '不合格'}", "success")
    return redirect(url_for("spotchecks.call", call_id=result.id))


@bp.route("/calls/<int:call_id>")
@roles_required(*SUPERVISORS)
def call(call_id: int):
    result = services.get_call(call_id)
    rect = services.rectification_of_call(call_id)
    return render_template("spotchecks/call.html", call=result, rect=rect, identified=IDENTIFIED,
                           correctness=CORRECTNESS, description=services.describe_call(result))


# --- notices ---------------------------------------------------------------------------------------

@bp.route("/notices")
@roles_required(*SUPERVISORS)
def notice_list():
    rows, page, more = paged(lambda limit, offset: notices.notices(limit=limit, offset=offset))
    return render_template("spotchecks/notices.html", notices=rows, page=page, more=more, kinds=NOTICE_KINDS,
                           today=_today())


@bp.route("/notices/draft", methods=["POST"])
@roles_required(*SUPERVISORS)
def notice_draft():
    try:
        day = _date_arg(request.form.get("day"), "日期", _today())
        notice, created = notices.draft_notice(actor=actor(), now=now(), kind=request.form.get("kind", "daily"), day=day)
    except DomainError as err:
        return domain_error_response(err)
    flash("已起草通报，请核对后发布" if created else "该期通报已存在", "success" if created else "info")
    return redirect(url_for("spotchecks.notice", notice_id=notice.id))


@bp.route("/notices/<int:notice_id>", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def notice(notice_id: int):
    item = notices.get_notice(notice_id)

    def page():
        problems = notices.check_figures(item, request.form.get("body")) if item.status == "draft" else []
        return render_template("spotchecks/notice.html", notice=item, form=request.form, problems=problems,
                               issuer=item.issuer or _settings().issuer)

    if request.method == "GET":
        return page()
    text = {name: request.form.get(name, "") for name in ("title", "recipients", "body", "issuer")}
    try:
        op = request.form.get("op", "save")
        if op == "regenerate":
            notices.regenerate(actor=actor(), now=now(), notice=item)
            flash("已按最新抽查结果重新生成正文", "success")
        elif op == "publish":  # what is on the screen, edits included
            notices.publish(actor=actor(), now=now(), notice=item, settings=_settings(),
                            confirmed=request.form.get("confirmed") == "1", **text)
            flash(f"已发布，文号{item.number}", "success")
        else:
            notices.update_notice(actor=actor(), now=now(), notice=item, **text)
            flash("已保存草稿", "success")
    except DomainError as err:
        return domain_error_response(err, page)
    return redirect(url_for("spotchecks.notice", notice_id=item.id))


@bp.route("/notices/<int:notice_id>.docx")
@writes
@roles_required(*SUPERVISORS)
def notice_word(notice_id: int):
    item = notices.get_notice(notice_id)
    data = notices.export_docx(actor=actor(), now=now(), notice=item, settings=_settings())
    name = f"{item.number or '通报草稿'}.docx"
    disposition = f"attachment; filename=notice-{item.id}.docx; filename*=UTF-8''{quote(name)}"
    return Response(data, mimetype=DOCX, headers={"Content-Disposition": disposition})


@bp.route("/notices/<int:notice_id>/print")
@roles_required(*SUPERVISORS)
def notice_print(notice_id: int):
    item = notices.get_notice(notice_id)
    return render_template("spotchecks/notice_print.html", notice=item, doc=notices.document(item, _settings()),
                           checkpoint=audit.checkpoint_for(f"notice:{item.id}"))


# --- rectification ---------------------------------------------------------------------------------

def _evidence_store() -> services.EvidenceStore:
    return services.EvidenceStore(directory=config.upload_dir(current_app.config, "spotchecks"),
                                  max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024)


def _uploads() -> list[services.Upload]:
    return [(f.filename, f.stream) for f in request.files.getlist("files") if f and f.filename]


def _visible_rect(rect_id: int) -> Rectification:
    rect = services.get_rectification(rect_id)
    if not services.can_see(actor(), rect):
        abort(403)
    return rect


@bp.route("/rectifications")
@roles_required("supervisor", "caseworker")
def rectification_list():
    state = request.args.get("state", "")
    area = request.args.get("area", "")
    overdue = request.args.get("overdue") == "1"
    rows, page, more = paged(lambda limit, offset: services.rectifications(
        state=state if state in RECTIFICATION_STATES else "", unit_ids=services.scope_of(actor()), area=area,
        overdue_only=overdue, now=now(), limit=limit, offset=offset))
    return render_template("spotchecks/rectifications.html", rows=rows, page=page, more=more,
                           states=RECTIFICATION_STATES, state=state,
                           area=area, overdue=overdue, areas=hotlines.area_order(), now=now(),
                           is_overdue=services.is_overdue)


@bp.route("/rectifications/<int:rect_id>", methods=["GET", "POST"])
@roles_required("supervisor", "caseworker")
def rectification(rect_id: int):
    rect = _visible_rect(rect_id)

    def page():
        history, _ = audit.find_events(audit.EventFilter(entity_type="rectification", entity_id=str(rect.id)), limit=50)
        return render_template("spotchecks/rectification.html", rect=rect, form=request.form, history=history,
                               overdue=services.is_overdue(rect, now()), can_answer=services.can_answer(actor(), rect),
                               is_supervisor=current_user.has_role(*SUPERVISORS), media=MEDIA,
                               accept=",".join(f".{ext}" for kind in services.EVIDENCE_KINDS
                                               for ext in MEDIA[kind].extensions))

    if request.method == "GET":
        return page()
    op = request.form.get("op", "")
    # The version the form started from: a form older than the row gets 409 and changes nothing.
    version = request.form.get("version", "")
    try:
        if op == "answer":
            services.answer_rectification(actor=actor(), now=now(), rect=rect, response=request.form.get("response", ""),
                                          evidence=request.form.get("evidence", ""), version=version,
                                          uploads=_uploads(), store=_evidence_store())
            flash("已报送整改情况，等待督查人员核验", "success")
        elif op in ("close", "return", "edit") and not current_user.has_role(*SUPERVISORS):
            abort(403)
        elif op == "close":
            services.close_out(actor=actor(), now=now(), rect=rect, evidence=request.form.get("evidence", ""),
                               version=version, uploads=_uploads(), store=_evidence_store(),
                               no_evidence_reason=request.form.get("no_evidence_reason", ""))
            flash(f"整改事项{rect.code}已销号", "success")
        elif op == "return":
            services.return_rectification(actor=actor(), now=now(), rect=rect, reason=request.form.get("reason", ""),
                                          version=version)
            flash("已退回，请单位重新整改", "success")
        elif op == "edit":
            services.edit_rectification(actor=actor(), now=now(), rect=rect,
                                        responsible_person=request.form.get("responsible_person", ""),
                                        measure=request.form.get("measure", ""),
                                        deadline=_date_arg(request.form.get("deadline"), "整改期限"), version=version)
            flash("已保存整改要求", "success")
        else:
            raise services.SpotcheckError("未知操作")
    except DomainError as err:
        return domain_error_response(err, page)
    return redirect(url_for("spotchecks.rectification", rect_id=rect.id))


# --- the rubric --------------------------------------------------------------------------------------

@bp.route("/rubric", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def rubric():
    settings = _settings()
    version, in_force = rubrics.current(settings)

    def page():
        return render_template("spotchecks/rubric.html", version=version, rubric=in_force, form=request.form,
                               pending=rubrics.pending(), versions=rubrics.versions(), criteria=CRITERIA,
                               bounds=BOUNDS, faults=FAULT_TYPES, is_admin=current_user.role == "admin")

    if request.method == "GET":
        return page()
    try:
        proposed = rubrics.propose(actor=actor(), now=now(), rubric=rubrics.parse(request.form, in_force),
                                   reason=request.form.get("reason", ""), base=in_force)
    except DomainError as err:
        return domain_error_response(err, page)
    flash(f"已提交评分标准第{proposed.number}版，待管理员审批后生效", "success")
    return redirect(url_for("spotchecks.rubric"))


@bp.route("/rubric/<int:version_id>/decide", methods=["POST"])
@roles_required("admin")
def rubric_decide(version_id: int):
    version = rubrics.get_version(version_id)
    try:
        if request.form.get("op") == "approve":
            rubrics.approve(actor=actor(), now=now(), version=version, note=request.form.get("note", ""))
            flash(f"评分标准第{version.number}版已批准，此后登记的抽查按此评分", "success")
        else:
            rubrics.reject(actor=actor(), now=now(), version=version, note=request.form.get("note", ""))
            flash(f"评分标准第{version.number}版未批准", "info")
    except DomainError as err:
        return domain_error_response(err)
    return redirect(url_for("spotchecks.rubric"))


@bp.route("/rectifications/<int:rect_id>/evidence/<int:evidence_id>")
@roles_required("supervisor", "caseworker")
def evidence(rect_id: int, evidence_id: int):
    """An evidence file, for whoever may see its rectification, shown inline (never run by the browser)."""
    item = services.get_evidence(_visible_rect(rect_id), evidence_id)
    response = send_file(_evidence_store().path(item), mimetype=item.content_type, conditional=True, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(item.filename, "inline")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- summons ---------------------------------------------------------------------------------------

@bp.route("/summons", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def summons_list():
    if request.method == "POST":
        created = services.propose_summonses(now=now(), settings=_settings())
        flash(f"按约谈规则检查完毕，新增{len(created)}条约谈建议", "success" if created else "info")
        return redirect(url_for("spotchecks.summons_list"))
    state = request.args.get("state", "")
    return render_template("spotchecks/summons_list.html", rows=services.summons_list(state=state),
                           states=SUMMONS_STATES, state=state, rule=services.summons_rule(_settings()))


@bp.route("/summons/<int:summons_id>", methods=["GET", "POST"])
@roles_required(*SUPERVISORS)
def summons(summons_id: int):
    item = services.get_summons(summons_id)
    page = lambda: render_template("spotchecks/summons.html", summons=item, form=request.form,  # noqa: E731
                                   today=_today())
    if request.method == "GET":
        return page()
    try:
        if request.form.get("op") == "dismiss":
            services.dismiss_summons(actor=actor(), now=now(), summons=item, reason=request.form.get("reason", ""))
            flash("已记录不予约谈", "success")
        else:
            services.confirm_summons(actor=actor(), now=now(), summons=item,
                                     held_on=_date_arg(request.form.get("held_on"), "约谈日期"),
                                     attendees=request.form.get("attendees", ""),
                                     outcome=request.form.get("outcome", ""), leader=request.form.get("leader", ""))
            flash("已登记约谈情况", "success")
    except DomainError as err:
        return domain_error_response(err, page)
    return redirect(url_for("spotchecks.summons", summons_id=item.id))


# --- the hotline registry --------------------------------------------------------------------------

@bp.route("/hotlines")
@roles_required(*SUPERVISORS)
def registry():
    rows = hotlines.hotlines()
    query = request.args.get("q", "").strip()
    if query:
        keys = {listing.id: listing for listing in directory.listings()}
        rows = [h for h in rows if h.id in keys and directory.matches(keys[h.id], query)]
    return render_template("spotchecks/hotlines.html", rows=rows, q=query, can_edit=current_user.role == "admin")


def _hotline_form(hotline: Hotline | None, status: int = 200):
    units = hotlines.units_for_hotlines()
    return render_template("spotchecks/hotline_form.html", hotline=hotline, units=units, form=request.form), status


def _hotline_data() -> dict[str, Any]:
    form = request.form
    return {"unit_id": form.get("unit_id", ""), "name": form.get("name", ""), "number": form.get("number", ""),
            "service_hours": form.get("service_hours", ""), "contact": form.get("contact", ""),
            "leader": form.get("leader", ""), "leader_title": form.get("leader_title", ""),
            "active": form.get("active") == "1"}


@bp.route("/hotlines/new", methods=["GET", "POST"])
@roles_required("admin")
def hotline_new():
    if request.method == "GET":
        return _hotline_form(None)
    try:
        hotline = hotlines.create_hotline(actor=actor(), now=now(), data=_hotline_data())
    except DomainError as err:
        flash(err.message, "error")
        return _hotline_form(None, err.status)
    flash(f"已新增热线 {hotline.name}", "success")
    return redirect(url_for("spotchecks.registry"))


@bp.route("/hotlines/<int:hotline_id>", methods=["GET", "POST"])
@roles_required("admin")
def hotline_edit(hotline_id: int):
    hotline = hotlines.get_hotline(hotline_id)
    if request.method == "GET":
        return _hotline_form(hotline)
    try:
        hotlines.update_hotline(actor=actor(), now=now(), hotline=hotline, data=_hotline_data())
    except DomainError as err:
        flash(err.message, "error")
        return _hotline_form(hotline, err.status)
    flash("已保存", "success")
    return redirect(url_for("spotchecks.registry"))


@bp.route("/hotlines/export.xlsx")
@writes
@roles_required(*SUPERVISORS)
def hotline_export():
    stamp = clock.to_local(now()).strftime("%Y%m%d")
    return Response(transfer.export_hotlines(actor=actor(), now=now()), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=hotlines-{stamp}.xlsx"})


@bp.route("/hotlines/import", methods=["GET", "POST"])
@roles_required("admin")
def hotline_import():
    if request.method == "GET":
        return render_template("spotchecks/hotline_import.html", errors=None)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise transfer.HotlineImportError(["请选择要导入的xlsx文件"])
        if not upload.filename.lower().endswith(".xlsx"):
            raise transfer.HotlineImportError(["只能导入.xlsx文件"])
        counts = transfer.import_xlsx(upload.read(transfer.MAX_BYTES + 1), actor=actor(), now=now())
    except transfer.HotlineImportError as err:
        return render_template("spotchecks/hotline_import.html", errors=err.errors), 422
    except DomainError as err:
        return render_template("spotchecks/hotline_import.html", errors=[err.message]), 422
    flash(f"导入完成：新增{counts['created']}条，修改{counts['updated']}条，无变化{counts['unchanged']}条", "success")
    return redirect(url_for("spotchecks.registry"))


# --- reports ---------------------------------------------------------------------------------------

def _report_range() -> tuple[date, date]:
    weeks = request.args.get("weeks", type=int) or 8
    weeks = max(1, min(weeks, 52))
    start, end = reports.weeks_ending(_today(), weeks)
    try:
        start = _date_arg(request.args.get("from"), "开始日期", start)
        end = _date_arg(request.args.get("to"), "结束日期", end)
    except DomainError as err:
        flash(err.message, "error")
    if end < start:
        start, end = end, start
    if (end - start).days > 400:
        start = end - timedelta(days=400)
    return start, end


@bp.route("/reports")
@roles_required(*SUPERVISORS)
def report():
    start, end = _report_range()
    data = reports.build(start, end, now())
    labels = [w.short_label for w in data.weeks]
    week_chart = charts.line_chart(labels, [
        charts.Series("接通率", [w.connection_rate for w in data.weeks]),
        charts.Series("合格率", [w.pass_rate for w in data.weeks])], title="按周接通率与合格率", y_max=100, unit="%")
    county_chart = charts.bar_chart([c.label for c in data.counties], [
        charts.Series("接通率", [c.connection_rate for c in data.counties]),
        charts.Series("合格率", [c.pass_rate for c in data.counties])], title="按县（市、区）接通率与合格率",
        y_max=100, unit="%")
    fault_chart = charts.bar_chart(labels, [charts.Series(label, data.fault_counts[key])
                                            for key, label in FAULT_TYPES.items()], title="问题类型（按周）", stacked=True)
    return render_template("spotchecks/reports.html", report=data, week_chart=week_chart, county_chart=county_chart,
                           fault_chart=fault_chart, faults=FAULT_TYPES, start=start, end=end)


@bp.route("/reports.xlsx")
@writes
@roles_required(*SUPERVISORS)
def report_xlsx():
    start, end = _report_range()
    return Response(reports.export(actor=actor(), now=now(), start=start, end=end), mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=spotchecks-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"})


# --- the public directory --------------------------------------------------------------------------

@hotlines_bp.route("/hotlines")
def public_directory():
    """The directory for callers: counties collapsed, each opened by its anchor; a search lists what it found."""
    query = request.args.get("q", "").strip()[:50]
    rows = directory.listings()
    read, found = directory.search(rows, query) if query else (None, [])
    return render_template("hotlines/index.html", counties=directory.counties(rows), q=query, read=read,
                           found=directory.counties(found) if query else [], shown=len(found), total=len(rows),
                           needs=directory.NEEDS, city_line=directory.CITY_SERVICE_LINE,
                           updated=directory.last_updated(rows))


@hotlines_bp.route("/hotlines/<int:hotline_id>/poster")
def hotline_poster(hotline_id: int):
    """One A4 page for a village notice board: the line, its hours, the county line and the directory's QR code."""
    poster = directory.poster(hotline_id)
    if poster is None:
        abort(404)
    link = url_for("hotlines.public_directory", _external=True)
    return render_template("hotlines/poster.html", poster=poster, link=link, qr=directory.qr_svg(link),
                           city_line=directory.CITY_SERVICE_LINE, today=_today())


# --- JSON API --------------------------------------------------------------------------------------

def _item_json(item: SpotcheckItem) -> dict[str, Any]:
    return {"id": item.id, "hotline_id": item.hotline_id, "hotline": item.hotline.name, "number": item.hotline.number,
            "date": item.day.isoformat(), "time": clock.to_local(item.planned_at).strftime("%H:%M"),
            "supervisor": item.supervisor.username, "recheck": item.recheck, "outside_hours": item.outside_hours,
            "call_id": item.call.id if item.call else None}


def _call_json(result: MysteryCall) -> dict[str, Any]:
    rect = services.rectification_of_call(result.id)
    return {"id": result.id, "item_id": result.item_id, "hotline_id": result.hotline_id,
            "started_at": result.started_at.isoformat(), "connected": result.connected, "score": result.score,
            "passed": result.passed, "faults": result.faults, "fault_labels": result.fault_labels,
            "rectification_id": rect.id if rect else None}


@api_bp.route("/spotchecks/plan")
@roles_required(*SUPERVISORS)
@api_doc("某周的抽查计划（督查人员）", tags=("spot checks",), query=schemas.PlanQuery, responses={200: schemas.Plan},
         errors=(400, 403, 404))
def api_plan():
    year, number = services.parse_week(request.args.get("week") or _this_week())
    the_plan = services.plan_for_week(services.week_key(year, number))
    if the_plan is None:
        raise NotFound(f"{services.week_key(year, number)}尚无抽查计划")
    return jsonify({"week": the_plan.week, "seed": the_plan.seed, "quota": the_plan.quota,
                    "warning": the_plan.warning or None,
                    "items": [_item_json(i) for i in services.plan_items(the_plan)]})


@api_bp.route("/spotchecks/items/<int:item_id>/result", methods=["POST"])
@roles_required(*SUPERVISORS)
@api_doc("登记一次暗访抽查的结果（督查人员）；未通过的自动开出整改", tags=("spot checks",),
         body=schemas.CallLogged, validate=False, responses={201: (schemas.MysteryCall, "已登记")},
         errors=(400, 403, 404, 409, 422),
         description="与网页表单共用同一读取规则（是否接通等也接受“1”“是”），由服务逐项核对。")
def api_log(item_id: int):
    body = json_body()
    item = services.get_item(item_id)
    result = services.log_call(actor=actor(), now=now(), item=item, data=call_input(body), settings=_settings())
    return jsonify(_call_json(result)), 201


@api_bp.route("/hotlines")
@roles_required()
@api_doc("热线号码目录", tags=("spot checks",), responses={200: schemas.Hotlines})
def api_hotlines():
    return jsonify({"hotlines": [{"id": h.id, "name": h.name, "number": h.number, "area": h.unit.area,
                                  "unit": h.unit.name, "unit_id": h.unit_id, "level": h.level,
                                  "service_hours": h.service_hours, "active": h.active}
                                 for h in hotlines.hotlines()]})


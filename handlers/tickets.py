"""Pages of the tickets area (blueprint `tickets`, URL prefix /tickets) and its JSON API (`api_bp`)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from functools import wraps
from pathlib import Path
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
    send_file,
    url_for,
)
from markupsafe import Markup

from core import clock, config, exports, humanize, units
from core.calendar import shared_calendar
from core.errors import DomainError
from core.uploads import content_disposition
from handlers import casework, streams
from handlers import exports as exports_view
from handlers.common import (
    XLSX,
    actor,
    json_body,
    json_error,
    login_required,
    now,
    refusals,
    refused,
    roles_required,
    writes,
)
from handlers.dispatch import merge_settings
from handlers.filters import person_unit
from handlers.openapi import ERRORS, api_doc
from handlers.openapi import document as api_document
from handlers.schemas import base
from handlers.schemas import calls as schemas
from handlers.schemas import tickets as ticket_schemas
from handlers.throttle import TokenBucket, retry_after
from tickets import (
    actions,
    catalogue,
    changes,
    deadlines,
    disputes,
    floors,
    live,
    merging,
    metrics,
    policy,
    presenters,
    queries,
    services,
)
from tickets import calls as hotline_calls
from tickets import stream as call_stream
from tickets.models import (
    CALLBACK_OUTCOMES,
    KINDS,
    OUTCOMES,
    SATISFACTION,
    STATES,
    URGENCIES,
    Call,
)

bp = Blueprint("tickets", __name__, url_prefix="/tickets")
api_bp = Blueprint("tickets_api", __name__, url_prefix="/api/v1")

PAGE_SIZE = 50
#: The ticket board and its export, and the metrics (page, workbook, API): the roles the navigation shows
#: the 工单 and 统计 pages to, so no role reaches data through a URL its pages do not offer.
#: A version refused as stale: the 409 tells what changed since (handlers.casework.stale_refusals).
STALE = "版本已过期（他人已修改），未做任何修改：error中另有your_version、current_version和changes（此后的每一步：谁、何时、做了什么）"
BOARD_ROLES = ("operator", "supervisor")
METRICS_ROLES = ("supervisor",)


def _uploads() -> Path:
    return config.upload_dir(current_app.config, "tickets")


def _max_upload() -> int:
    return current_app.config.get("TICKET_ATTACHMENT_MAX_BYTES") or services.MAX_ATTACHMENT_BYTES


def _dispute_settings() -> disputes.DisputeSettings:
    return disputes.DisputeSettings.from_config(current_app.config)


def _action_options() -> dict[str, Any]:
    """What the deployment's settings give the actions that take them (see actions.Action.options)."""
    return {"dispute_settings": _dispute_settings()}


def _local_date(raw: str | None, label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise DomainError(f"{label}应为日期,格式如2026-11-23", status=400) from None


def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    return int(raw) if raw.isdigit() else None


# --- template helpers --------------------------------------------------------------------------

@bp.app_template_filter("time_left")
def time_left_filter(ticket) -> Markup:
    """A badge with the current limit as people say it: 办结剩余 3 个工作日, titled 12月11日（周五）下班前."""
    current = deadlines.current(ticket, clock.now(), shared_calendar())
    if current is None:
        return Markup("")
    css = "bad" if current["overdue"] else "warn" if current["seconds_left"] < 24 * 3600 else "good"
    return Markup('<span class="badge {}">{}{}</span> <span class="small muted nowrap">{}时限 {}</span>').format(
        css, current["label"], current["remaining_text"], current["label"], current["due_text"])


@bp.app_template_filter("due_text")
def due_text_filter(due) -> str:
    """12月11日（周五）下班前 (empty for no deadline)."""
    return deadlines.due_text(due, shared_calendar(), clock.now()) if due else ""


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"tickets_home": _home_summary, "phone_for": queries.phone_for, "id_number_for": queries.id_number_for,
            "call_number_for": queries.call_number_for, "sees_full_numbers": queries.sees_full_numbers,
            "sees_call_numbers": queries.sees_call_numbers}


def _home_summary() -> dict[str, Any]:
    """What the home page shows of the tickets area (called lazily by templates/tickets/_home.html)."""
    user = actor()
    return queries.home_summary(user, now()) if user is not None else {}


# --- calls (pages) ----------------------------------------------------------------------------

def _call_page(status: int = 200, form: Any = None, error: DomainError | None = None):
    user = actor()
    calls = hotline_calls.find_calls(operator=user, limit=10)
    return render_template("tickets/call_new.html", calls=calls, outcomes=OUTCOMES,
                           has_search="kb.search" in current_app.view_functions,
                           call_form=form if form is not None else request.form, call_error=error), status


@bp.route("/calls/new")
@roles_required("operator", "supervisor")
def new_call():
    return _call_page(form={})


@bp.route("/calls", methods=["POST"])
@roles_required("operator", "supervisor")
def record_call():
    form = request.form
    try:
        call = hotline_calls.record_call(
            actor=actor(), now=now(), outcome=form.get("outcome"), caller_number=form.get("caller_number", ""),
            caller_name=form.get("caller_name", ""), question=form.get("question", ""),
            kb_entry_ids=form.get("kb_entry_ids", ""), duration_seconds=form.get("duration"),
            call_id=int(form["call_id"]) if form.get("call_id", "").isdigit() else None)
    except DomainError as err:
        return refused(err, lambda e=err: _call_page(e.status, error=e)[0])
    if call.outcome == "ticket":
        flash("来电已记录,请填写工单并派单", "success")
        return redirect(url_for("tickets.new", call_id=call.id))
    flash(f"来电已记录({call.outcome_label})", "success")
    target = form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("tickets.new_call"))


@bp.route("/calls/list")
@roles_required("operator", "supervisor")
def calls():
    page = max(_int_arg("page") or 1, 1)
    outcome = request.args.get("outcome", "")
    outcome = outcome if outcome in OUTCOMES else ""
    rows = hotline_calls.find_calls(outcome=outcome, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render_template("tickets/calls.html", calls=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE, page=page,
                           outcomes=OUTCOMES, outcome=outcome)


def _missed_page(status: int = 200):
    return render_template("tickets/missed.html", calls=hotline_calls.missed_calls(),
                           outcomes=CALLBACK_OUTCOMES), status


@bp.route("/calls/missed")
@roles_required("operator", "supervisor")
def missed():
    """The callback queue (漏接回拨): missed calls not yet called back, oldest first."""
    return _missed_page()


@bp.route("/calls/<int:call_id>/callback", methods=["POST"])
@roles_required("operator", "supervisor")
def callback(call_id: int):
    try:
        call = hotline_calls.get_call(call_id)
        attempt = hotline_calls.record_callback(actor=actor(), now=now(), call=call,
                                                outcome=request.form.get("outcome"), note=request.form.get("note", ""))
    except DomainError as err:
        return refused(err, lambda e=err: _missed_page(e.status)[0])
    flash(f"已登记回拨：{attempt.outcome_label}", "success")
    return redirect(url_for("tickets.missed"))


# --- tickets (pages) --------------------------------------------------------------------------

def _board_filter(args) -> queries.BoardFilter:
    start = _local_date(args.get("from"), "开始日期")
    end = _local_date(args.get("to"), "结束日期")
    return queries.BoardFilter(
        state=args.get("state", "") if args.get("state") in STATES else "",
        unit_id=int(args["unit"]) if (args.get("unit") or "").isdigit() else None,
        overdue=args.get("overdue") == "1",
        kind=args.get("kind", "") if args.get("kind") in KINDS else "",
        start=metrics.local_range(start, start)[0] if start else None,
        end=metrics.local_range(end, end)[1] if end else None,
        q=(args.get("q") or "")[:50])


@bp.route("/")
@roles_required(*BOARD_ROLES)
def board():
    try:
        flt = _board_filter(request.args)
    except DomainError as err:
        flash(err.message, "error")
        flt = queries.BoardFilter()
    page = max(_int_arg("page") or 1, 1)
    tickets, total = queries.find_tickets(flt, now=now(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("tickets/board.html", tickets=tickets, total=total, page=page, page_size=PAGE_SIZE,
                           args=request.args, states=STATES, kinds=KINDS, units=units.list_units(active_only=True),
                           now=now(), export_args={k: v for k, v in request.args.items() if k != "page"})


@bp.route("/export.xlsx")
@writes
@roles_required(*BOARD_ROLES)
@refusals
def board_export():
    asked = exports.request_export(actor=actor(), now=now(), kind="ticket_board",
                                   params={"filter": _board_filter(request.args)})
    return exports_view.deliver(asked)


@bp.route("/mine")
@roles_required("caseworker")
def mine():
    owned, cohandled = queries.my_tickets(actor(), now())
    return render_template("tickets/mine.html", owned=owned, cohandled=cohandled, now=now())


def _form_page(status: int = 200, form: Any = None, call: Call | None = None, error: DomainError | None = None,
               draft: dict[str, Any] | None = None, merge_candidates: list[merging.Candidate] | None = None):
    form = request.form if form is None else form
    township_id = form.get("township_id")
    topic = form.get("topic", "")
    suggestions = queries.suggest_owners(int(township_id), topic) if str(township_id or "").isdigit() else []
    proposal = catalogue.propose(township_id, topic, form.get("kind", ""), call.kb_entry_ids if call else []) \
        if str(township_id or "").isdigit() else None
    if proposal is not None:
        suggestions = _proposed_first(proposal, suggestions)
    from kb.models import CATEGORIES

    caseworkers = queries.active_caseworkers()
    all_units = units.list_units(active_only=True)
    return render_template(
        "tickets/form.html", form=form, call=call, kinds=KINDS, urgencies=URGENCIES, topics=CATEGORIES,
        townships=[u for u in all_units if u.level == "township"], units=all_units, caseworkers=caseworkers,
        suggestions=suggestions, policies={(p.kind, p.urgency): p for p in policy.list_policies()},
        error=error, draft=draft or {}, from_transcript=_from_transcript(form), proposal=proposal,
        describe=catalogue.describe, merge_candidates=merge_candidates or []), status


def _proposed_first(proposal: catalogue.Proposal, others: list[queries.Suggestion]) -> list[queries.Suggestion]:
    """The catalogue's people first, then the other suggestions."""
    seen = {s.user.id for s in proposal.owners}
    return [*proposal.owners, *(s for s in others if s.user.id not in seen)][:8]


def _from_transcript(form: Any) -> dict[str, str]:
    """The ticket form's fields filled from the call's transcript, each with the caller's words (kept in a
    hidden field, so the marks survive a refused save)."""
    raw = form.get("from_transcript", "") if hasattr(form, "get") else ""
    marks: dict[str, str] = {}
    for part in str(raw).split("|"):
        name, _, words = part.partition("=")
        if name in hotline_calls.TICKET_DRAFT_FIELDS:
            marks[name] = words[:200]
    return marks


@bp.route("/new", methods=["GET", "POST"])
@roles_required("operator", "supervisor")
@refusals
def new():
    raw_call = request.values.get("call_id", "")
    call = hotline_calls.get_call(int(raw_call)) if raw_call.isdigit() else None
    if request.method == "GET":
        prefill: dict[str, Any] = {}
        draft: dict[str, Any] = {}
        if call is not None:
            user = actor()
            state = live.assist_state(call=call, viewer=user, now=now(), engine=None, call_json={})
            draft = state["draft"] or {}
            prefill = hotline_calls.ticket_prefill(call, draft, sees_numbers=live.sees_full_transcript(user, call))
        return _form_page(form=prefill, call=call, draft=draft)
    form = request.form
    fields = dict(
        kind=form.get("kind"), urgency=form.get("urgency"),
        citizen_name=form.get("citizen_name", ""), citizen_phone=form.get("citizen_phone", ""),
        citizen_id_number=form.get("citizen_id_number", ""), township_id=form.get("township_id"),
        description=form.get("description", ""), topic=form.get("topic", ""), call_id=form.get("call_id"),
        directory=_uploads(), max_bytes=_max_upload(),
        uploads=[(f.filename, f.stream) for f in request.files.getlist("files") if f and f.filename])
    if form.get("merge_into"):
        return _create_merged(form.get("merge_into"), fields, call)
    if not form.get("new_anyway"):
        offer = merging.candidates(now=now(), phone=form.get("citizen_phone", "") or (call.caller_number if call else ""),
                                   id_number=form.get("citizen_id_number", ""), name=form.get("citizen_name", ""),
                                   topic=form.get("topic", ""), settings=merge_settings())
        if offer:  # a repeat request: offer merging before a second case is opened
            return _form_page(call=call, merge_candidates=offer)
    try:
        ticket = services.create_ticket(actor=actor(), now=now(), owner_id=form.get("user_id"), **fields)
    except DomainError as err:
        return refused(err, lambda e=err: _form_page(e.status, call=call, error=e)[0])
    flash(f"已创建工单 {ticket.number}" + (f",已派给{ticket.first_owner.display_name}" if ticket.first_owner else ""),
          "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _create_merged(into: Any, fields: dict[str, Any], call: Call | None):
    try:
        target, made = merging.create_merged(actor=actor(), now=now(), into=into, **fields)
    except DomainError as err:
        return refused(err, lambda e=err: _form_page(e.status, call=call, error=e)[0])
    flash(f"重复诉求已并入工单 {target.number}（本次诉求记为 {made.number}，已并单）", "success")
    return redirect(url_for("tickets.show", ticket_id=target.id))


def _ticket_page(ticket, status: int = 200, **extra: Any):
    user = actor()
    caseworkers = queries.active_caseworkers()
    settings = _dispute_settings()
    dispute = disputes.dispute_summary(ticket, now(), settings)
    proposal = catalogue.propose_for(ticket) if ticket.state == "pending_dispatch" else None
    suggestions = queries.dispatch_suggestions(ticket)
    return render_template(
        "tickets/ticket.html", ticket=ticket, now=now(), user=user, satisfaction=SATISFACTION,
        units=units.list_units(active_only=True), caseworkers=caseworkers,
        suggestions=_proposed_first(proposal, suggestions) if proposal else suggestions, proposal=proposal,
        describe=catalogue.describe, dispute=dispute, dispute_text=humanize.duration(dispute["seconds"]),
        objection_deadline=disputes.objection_deadline(ticket, settings) if dispute["objection_deadline"] else None,
        merge_candidates=merging.candidates_for(ticket, now=now(), settings=merge_settings())
        if user is not None and user.has_role("operator", "supervisor") else [],
        offered={a.name: a for a in actions.available(user, ticket)}, summary=presenters.event_summary,
        action_label=actions.label, states_label=presenters.state_label,
        people=changes.people_by_id(e.actor_id for e in ticket.events), **extra), status


def _refused_on_page(err: DomainError, ticket_id: int):
    """The ticket page again, as it now stands, with the refusal's message and status (for a stale version
    also what changed meanwhile and the posted text, kept to resubmit); only the error page for someone
    who may not see the ticket (a co-handler whose task is over)."""
    ticket = queries.get_ticket(ticket_id)
    if not queries.can_view(actor(), ticket):
        return refused(err)
    return refused(err, lambda: _ticket_page(ticket, err.status, **casework.stale_context(err, ticket))[0])


@bp.route("/<int:ticket_id>")
@login_required
@refusals
def show(ticket_id: int):
    return _ticket_page(queries.viewable_ticket(ticket_id, actor()))


@bp.route("/<int:ticket_id>/dispatch", methods=["POST"])
@roles_required("operator", "supervisor")
def dispatch(ticket_id: int):
    try:
        ticket = queries.get_ticket(ticket_id)
        catalogue.dispatch(actor=actor(), now=now(), ticket=ticket, user_id=request.form.get("user_id"),
                           version=request.form.get("version"), note=request.form.get("note", ""),
                           add_to_catalogue=request.form.get("add_to_catalogue") == "1")
    except DomainError as err:
        return _refused_on_page(err, ticket_id)
    added = request.form.get("add_to_catalogue") == "1"
    current = catalogue.current_version() if added else None
    flash(f"已派单给{person_unit(ticket.first_owner)}"
          + (f"；该事项已加入派单目录（第{current.number}版）" if current else ""), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.route("/<int:ticket_id>/action", methods=["POST"])
@login_required
def action(ticket_id: int):
    try:
        ticket = queries.viewable_ticket(ticket_id, actor())
        actions.run(actor=actor(), now=now(), ticket=ticket, data=request.form.to_dict(), options=_action_options())
    except DomainError as err:
        return _refused_on_page(err, ticket_id)
    done = actions.get(request.form.get("action", ""))
    label = done.label if done is not None else "操作"
    flash(f"{label}：已完成", "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.route("/<int:ticket_id>/attachments", methods=["POST"])
@login_required
def upload(ticket_id: int):
    try:
        ticket = queries.viewable_ticket(ticket_id, actor())
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise DomainError("请选择要上传的文件", field="file")
        services.add_attachment(actor=actor(), now=now(), ticket=ticket, filename=upload.filename,
                                stream=upload.stream, directory=_uploads(), max_bytes=_max_upload())
    except DomainError as err:
        return _refused_on_page(err, ticket_id)
    flash("附件已上传", "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.route("/attachments/<int:attachment_id>")
@login_required
@refusals
def attachment(attachment_id: int):
    att = queries.viewable_attachment(attachment_id, actor())
    response = send_file(services.attachment_path(att, _uploads()), mimetype=att.content_type)
    # Built here, not by send_file: names stored before they were sanitized may hold CR/LF or NUL.
    response.headers["Content-Disposition"] = content_disposition(att.filename)
    return response


# --- metrics, policies, calendar, notifications (pages) ---------------------------------------

def _metrics_range(args) -> tuple[date, date]:
    return metrics.period(_local_date(args.get("from"), "开始日期"), _local_date(args.get("to"), "结束日期"),
                          clock.today_local())


@bp.route("/metrics")
@roles_required(*METRICS_ROLES)
@refusals
def metrics_page():
    start, end = _metrics_range(request.args)
    figures = metrics.compute(start, end, now())
    states = [(STATES[k], v) for k, v in figures["tickets"]["by_state"].items()]
    return render_template("tickets/metrics.html", m=figures, start=start, end=end, outcomes=OUTCOMES,
                           floors=_floors(start, end),
                           states=STATES, satisfaction=SATISFACTION,
                           day_chart=metrics.rate_chart(figures["by_day"], "date"),
                           week_chart=metrics.rate_chart(figures["by_week"], "week"),
                           state_chart=metrics.bar_chart(states))


def _floors(start: date, end: date) -> dict[str, Any]:
    """The callback floors and the units' rates against them (flagged units first)."""
    cfg = current_app.config
    return {"satisfaction_floor": cfg["SATISFACTION_FLOOR"], "reply_rate_floor": cfg["REPLY_RATE_FLOOR"],
            "units": floors.unit_floors(start, end, now(), satisfaction_floor=cfg["SATISFACTION_FLOOR"],
                                        reply_floor=cfg["REPLY_RATE_FLOOR"])}


@bp.route("/metrics.xlsx")
@writes
@roles_required(*METRICS_ROLES)
@refusals
def metrics_export():
    start, end = _metrics_range(request.args)
    figures = services.export_metrics(actor=actor(), now=now(), start=start, end=end)
    return Response(metrics.to_xlsx(figures),
                    mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename=metrics-{start}-{end}.xlsx"})


@bp.route("/calendar", methods=["GET", "POST"])
def calendar():
    """The calendar moved to /calendar: old bookmarks follow (301), an old form's POST keeps its method (308)."""
    return redirect(url_for("calendar.index", **request.args), code=301 if request.method == "GET" else 308)


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    if request.method == "POST":
        raw = request.form.get("notification_id", "")
        services.mark_read(actor=actor(), now=now(), notification_id=int(raw) if raw.isdigit() else None)
        target = request.form.get("next", "")
        if target.startswith("/tickets/") and not target.startswith("//"):
            return redirect(target)
        return redirect(url_for("tickets.notifications"))
    return render_template("tickets/notifications.html", items=queries.notifications_for(actor()))


# --- JSON API ---------------------------------------------------------------------------------

def _first(data: dict[str, Any], *names: str) -> Any:
    return next((data[n] for n in names if data.get(n) not in (None, "")), None)


#: What the document says of every call-event endpoint, and the refusals they share.
EVENTS_NOTE = ("通话事件接口只接受话务平台账号（`flask --app app users create NAME --role telephony`）的令牌，该账号访问"
               "其他任何页面和接口均为403。字段名唯一、不设别名，未知字段返回400并列出字段名。每个令牌每个服务进程"
               "每秒HOTLINE_CALL_EVENTS_PER_SECOND次（突发HOTLINE_CALL_EVENTS_BURST次），超出返回429和Retry-After，"
               "被拒的请求不写入任何内容。")
EVENTS_ERRORS = {400: None, 403: None, 422: None, 429: ERRORS[429]}


def call_events(view):
    """A call-event endpoint: the telephony service account's (admins may too), rate-limited per API
    token in this worker's memory (429 with Retry-After; see handlers.throttle), refusals as JSON."""

    @wraps(view)
    def limited(*args: Any, **kwargs: Any):
        config = current_app.config
        bucket = current_app.extensions.get("hotline.call_events_bucket")
        if bucket is None or (bucket.rate, bucket.burst) != (config["CALL_EVENTS_PER_SECOND"],
                                                            config["CALL_EVENTS_BURST"]):
            bucket = TokenBucket(config["CALL_EVENTS_PER_SECOND"], config["CALL_EVENTS_BURST"])
            current_app.extensions["hotline.call_events_bucket"] = bucket
        header = request.headers.get("Authorization", "")
        key = hashlib.sha256(header.encode()).hexdigest() if header.startswith("Bearer ") else f"user:{actor().id}"
        wait = bucket.take(key)
        if wait:
            response = json_error(429, "too_many_requests", "通话事件提交过于频繁，请按Retry-After稍后重试")
            response.headers["Retry-After"] = retry_after(wait)
            return response
        return view(*args, **kwargs)

    return roles_required("telephony")(refusals(limited))


def _call_body(call: Call) -> dict[str, Any]:
    return presenters.call_json(call, actor())


@api_bp.route("/calls", methods=["POST"])
@call_events
@api_doc("话务平台通报来电（振铃）；同一external_id再次通报返回同一来电（200）", tags=("call events",),
         description=EVENTS_NOTE, body=schemas.Announce, errors={**EVENTS_ERRORS, 404: None},
         responses={201: (schemas.Call, "已创建"), 200: (schemas.Call, "该通话已通报过，未做修改")})
def api_calls(body: schemas.Announce):
    """Telephony announces a ringing call: 201 with the call, 200 with the same call for a repeated external_id."""
    call, created = hotline_calls.announce_call(actor=actor(), now=now(), caller_number=body.caller_number,
                                                external_id=body.external_id, operator=body.operator,
                                                rang_at=body.rang_at)
    return jsonify(_call_body(call)), 201 if created else 200


@api_bp.route("/calls/<int:call_id>/<any(answered, ended):event>", methods=["POST"])
@call_events
@api_doc("话务平台：来电已接通（振铃时长由此计算）或已挂断（通话时长由此计算；未接通即挂断的进入漏接回拨）；"
         "重复通报返回200且不修改", tags=("call events",), description=EVENTS_NOTE, body=schemas.CallEvent,
         responses={200: schemas.Call},
         errors={**EVENTS_ERRORS, 404: None, 409: "接通：该来电已未接挂断（call_ended）"})
def api_call_event(call_id: int, event: str, body: schemas.CallEvent):
    """Telephony's answered and ended events; a repeat changes nothing (200), answering after an unanswered end is 409."""
    call = live.get_call_for_update(call_id)
    mark = hotline_calls.call_answered if event == "answered" else hotline_calls.call_ended
    mark(actor=actor(), now=now(), call=call, at=body.at)
    return jsonify(_call_body(call))


def _engine():
    """This worker's search engine, or None while the index is being built (segments are kept anyway)."""
    from kb import index as search_index

    try:
        return search_index.holder_for(current_app).engine(current_app)
    except DomainError:
        return None


@api_bp.route("/calls/<int:call_id>/transcript", methods=["POST"])
@call_events
@api_doc("话务平台：语音识别的转写片段，返回当前的辅助状态", tags=("call events",), body=schemas.Transcript,
         max_bytes=live.MAX_REQUEST_BYTES, responses={200: schemas.Assist},
         description=("按片段id幂等：未定稿（final=false）的片段被同id的新版本替换，定稿的不会被未定稿版本替换；"
                      "乱序到达无妨，读取时按start_ms排序。一次请求全部通过校验才写入。"
                      f"每段不超过{live.MAX_SEGMENT_CHARS}字，每通来电合计不超过{live.MAX_CALL_CHARS}字（超出413），"
                      f"一次最多{live.MAX_SEGMENTS}段。挂断后HOTLINE_TRANSCRIPT_GRACE_SECONDS（默认60）秒内仍接收迟到的片段，"
                      "之后409 call_ended；未接来电409 call_missed。" + EVENTS_NOTE),
         errors={**EVENTS_ERRORS, 404: None, 409: "通话已结束超过宽限期、未接来电或转写已删除", 413: "转写过长"})
def api_call_transcript(call_id: int, body: schemas.Transcript):
    """ASR segments of the call → 200 with the assist state."""
    call = live.get_call_for_update(call_id)
    live.add_segments(call=call, now=now(), segments=[s.model_dump() for s in body.segments],
                      grace=timedelta(seconds=current_app.config["TRANSCRIPT_GRACE_SECONDS"]))
    return jsonify(live.assist_state(call=call, viewer=actor(), now=now(), engine=_engine(),
                                     call_json=_call_body(call), remember=True))


@api_bp.route("/calls/<int:call_id>/assist")
@roles_required("operator", "supervisor")
@refusals
@api_doc("来电辅助：转写、知识库推荐（偏重来电人最近的话，首位稳定）、诉求、智能填单（接线员、督查人员）",
         tags=("calls",), responses={200: schemas.Assist}, errors=(403, 404),
         description=("转写中的电话和身份证号码：本通来电的接线员、督查人员、管理员及由此来电所建工单的"
                      "首派责任人看到完整号码（非本通接线员的完整读取记入审计日志），其他人遮挡。"))
def api_call_assist(call_id: int):
    """The live call as the operator's screen shows it: transcript, suggestions, needs, draft."""
    call = hotline_calls.get_call(call_id)
    return jsonify(live.assist_state(call=call, viewer=actor(), now=now(), engine=_engine(),
                                     call_json=_call_body(call)))


@api_bp.route("/calls/record", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
@api_doc("接线员记录一次没有话务平台通报的来电", tags=("calls",), body=schemas.RecordNew,
         responses={201: (schemas.Call, "已记录")}, errors=(403, 422))
def api_record_new_call(body: schemas.RecordNew):
    """An operator records a call telephony never announced (typed only)."""
    call = hotline_calls.record_call(actor=actor(), now=now(), **body.model_dump())
    return jsonify(presenters.call_json(call, actor(), with_tickets=True)), 201


@api_bp.route("/calls/<int:call_id>/record", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
@api_doc("接线员记录已通报来电的结果（时长取自接通、挂断事件）", tags=("calls",), body=schemas.Record,
         responses={200: schemas.Call}, errors=(403, 404, 409, 422))
def api_record_call(call_id: int, body: schemas.Record):
    """An operator records what came of an announced call."""
    call = hotline_calls.record_call(actor=actor(), now=now(), call_id=call_id, **body.model_dump())
    return jsonify(presenters.call_json(call, actor(), with_tickets=True))


@api_bp.route("/calls/missed")
@roles_required("operator", "supervisor")
@refusals
@api_doc("漏接回拨：尚未回拨的未接来电，按振铃先后", tags=("calls",), responses={200: schemas.Calls}, errors=(403,))
def api_missed():
    """The callback queue (漏接回拨): missed calls not yet called back, oldest first."""
    user = actor()
    return jsonify({"calls": [presenters.call_json(c, user) for c in hotline_calls.missed_calls()]})


@api_bp.route("/calls/<int:call_id>/callback", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
@api_doc("登记一次回拨（已回拨接通、无需回拨则移出漏接回拨）", tags=("calls",), body=schemas.Callback,
         responses={200: schemas.Call}, errors=(403, 404, 409, 422))
def api_callback(call_id: int, body: schemas.Callback):
    """Record one callback of a missed call: {"outcome", "note"?}."""
    call = hotline_calls.get_call(call_id)
    hotline_calls.record_callback(actor=actor(), now=now(), call=call, outcome=body.outcome, note=body.note)
    return jsonify(presenters.call_json(call, actor()))


@api_bp.route("/calls/<int:call_id>")
@roles_required("operator", "supervisor")
@refusals
@api_doc("来电详情", tags=("calls",), responses={200: schemas.Call}, errors=(403, 404))
def api_call(call_id: int):
    call = hotline_calls.get_call(call_id)
    return jsonify(presenters.call_json(call, actor(), with_tickets=True))


@api_bp.route("/calls/incoming")
@roles_required("operator", "supervisor")
@refusals
@api_doc("待接听的来电（接线员页面轮询）", tags=("calls",), responses={200: schemas.Calls}, errors=(403,))
def api_incoming():
    """Calls telephony announced that are not yet recorded (the operator's page polls this)."""
    user = actor()
    return jsonify({"calls": [presenters.call_json(c, user, with_tickets=True)
                              for c in hotline_calls.incoming_calls(user, now())]})


@api_bp.route("/calls/stream")
@roles_required(*call_stream.ROLES)
@refusals
@api_doc("来电实时推送（Server-Sent Events，接线员页面用）", tags=("calls",),
         description=("事件：call（转给本人或无人接的来电振铃、接通、挂断，或其转写和辅助有变：data为辅助状态）、"
                      "gone（已记录、漏接或过期）、bye（连接到期，请重连）；以注释行保持连接。"
                      "每个服务进程的连接数有上限，满了返回503，页面改为定时刷新。"),
         responses={200: ("text/event-stream", "事件流")}, errors={403: None, 503: "实时推送连接已满"})
def api_call_stream():
    """Server-sent events for the operator's page: `call` (a call routed to them or to nobody rang, was
    answered, ended, or its transcript and assist moved: the assist state), `gone` (recorded, missed or
    expired) and `bye` (the connection's lifetime is over: reconnect). Heartbeat comments keep it open.
    Polls in short read-only sessions; nothing is held open between polls."""
    watch = call_stream.Watch(user_id=actor().id)
    return streams.event_stream("calls", lambda: call_stream.poll(watch, now=clock.now(), engine=_engine()))


@api_bp.route("/calls/<int:call_id>/entries", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
@api_doc("记录通话中展示、打开或复制了哪条知识库条目（本通来电的接线员）", tags=("calls",), body=schemas.EntryUse,
         responses={201: (schemas.EntryUses, "已记录"), 200: (schemas.EntryUses, "已记录过，未做修改")},
         errors=(403, 404, 422))
def api_call_entry_use(call_id: int, body: schemas.EntryUse):
    """The operator's page notes an entry shown, opened or copied during the call: {"entry_id", "action"}."""
    call = hotline_calls.get_call(call_id)
    created = hotline_calls.note_entry_use(actor=actor(), now=now(), call=call, entry_id=body.entry_id,
                                           action=body.action)
    uses = [{"entry_id": u.entry_id, "action": u.action, "at": presenters.iso(u.at)}
            for u in hotline_calls.entry_uses(call)]
    return jsonify({"call_id": call.id, "uses": uses}), 201 if created else 200


@api_bp.route("/calls/lookup")
@roles_required("operator", "supervisor")
@refusals
@api_doc("按号码查询未办结工单（重复来电）", tags=("calls",), query=schemas.LookupQuery,
         responses={200: schemas.Lookup}, errors=(400, 403))
def api_lookup():
    """A repeat caller's open tickets, by phone number."""
    return jsonify({"tickets": presenters.open_tickets_json(request.args.get("number", ""), actor())})


@api_bp.route("/tickets", methods=["GET", "POST"])
@login_required
@refusals
@api_doc("工单列表（承办人员为本人的工单）", methods=("GET",), tags=("tickets",), query=ticket_schemas.TicketList,
         responses={200: ticket_schemas.Tickets}, errors=(400, 403))
@api_doc("创建工单（可同时派单）", methods=("POST",), tags=("tickets",), body=ticket_schemas.TicketNew, validate=False,
         responses={201: (ticket_schemas.Ticket, "已创建")}, errors=(400, 403, 404, 422),
         description="字段另有通俗写法（name、phone、township、中文类别），由服务逐项核对。")
def api_tickets():
    user = actor()
    if request.method == "GET":
        found, total = queries.visible_tickets(user, _board_filter(request.args), now=now(),
                                               limit=min(_int_arg("limit") or 100, 500), offset=_int_arg("offset") or 0)
        return jsonify({"total": total, "tickets": [presenters.ticket_summary(t, user, now()) for t in found]})
    data = json_body()
    fields = dict(
        kind=data.get("kind"), urgency=data.get("urgency", "normal"),
        citizen_name=_first(data, "citizen_name", "name") or "",
        citizen_phone=_first(data, "citizen_phone", "phone") or "",
        citizen_id_number=_first(data, "citizen_id_number", "id_number") or "",
        township_id=_first(data, "township_id", "township"), description=data.get("description") or "",
        topic=data.get("topic") or "", call_id=data.get("call_id"))
    if data.get("merge_into") not in (None, ""):
        target, made = merging.create_merged(actor=user, now=now(), into=data["merge_into"], **fields)
        return jsonify({**presenters.ticket_json(target, user, now()),
                        "merged_ticket": {"id": made.id, "number": made.number, "state": made.state}}), 201
    ticket = services.create_ticket(actor=user, now=now(), owner_id=_first(data, "user_id", "owner_id"), **fields)
    offer = merging.candidates_for(ticket, now=now(), settings=merge_settings())
    return jsonify({**presenters.ticket_json(ticket, user, now()),
                    "merge_candidates": [merging.merge_json(c) for c in offer],
                    "proposal": catalogue.propose_for(ticket).as_json() if ticket.first_owner is None else None}), 201


@api_bp.route("/tickets/<int:ticket_id>")
@login_required
@refusals
@api_doc("工单详情（含时间线）", tags=("tickets",), responses={200: ticket_schemas.Ticket}, errors=(403, 404))
def api_ticket(ticket_id: int):
    return jsonify(presenters.ticket_json(queries.viewable_ticket(ticket_id, actor()), actor(), now()))


@api_bp.route("/tickets/<int:ticket_id>/dispatch", methods=["POST"])
@login_required
@casework.stale_refusals
@api_doc("派单：首次派单确定首派责任人", tags=("tickets",), body=ticket_schemas.Dispatch,
         responses={200: ticket_schemas.Ticket}, errors={403: None, 404: None, 409: STALE, 422: None})
def api_dispatch(ticket_id: int, body: ticket_schemas.Dispatch):
    ticket = queries.viewable_ticket(ticket_id, actor())
    catalogue.dispatch(actor=actor(), now=now(), ticket=ticket, user_id=body.user_id, version=body.version,
                       note=body.note or "", add_to_catalogue=body.add_to_catalogue is True)
    return jsonify(presenters.ticket_json(ticket, actor(), now()))


@api_bp.route("/tickets/<int:ticket_id>/actions", methods=["POST"])
@login_required
@casework.stale_refusals
@api_doc("办理操作：签收、协办、办结、回访、重新办理、督办、延期、退单/改派", tags=("tickets",),
         body=ticket_schemas.TicketAction, validate=False, responses={200: ticket_schemas.Ticket},
         errors={400: None, 403: None, 404: None, 409: STALE, 422: None},
         description=("accept、contact、close、cohandle、withdraw_task、request_extension、request_return仅限首派责任人；"
                      "complete_task限协办单位人员或首派责任人；callback、reopen限接线员、督查人员；"
                      "escalate、approve_extension、approve_return限督查人员。各操作按操作表读取自己的参数"
                      "（另有通俗写法，如resolution_note），由操作表逐项核对。"))
def api_action(ticket_id: int):
    data = json_body()
    ticket = queries.viewable_ticket(ticket_id, actor())
    actions.run(actor=actor(), now=now(), ticket=ticket, data=data, options=_action_options())
    return jsonify(presenters.ticket_json(ticket, actor(), now()))


@api_bp.route("/tickets/<int:ticket_id>/attachments", methods=["POST"])
@login_required
@refusals
@api_doc("上传附件（PDF/JPG/PNG/DOCX/XLSX，按内容识别类型，有大小上限）", tags=("tickets",),
         upload=("multipart/form-data", {"type": "object", "required": ["file"], "properties": {
             "file": {"type": "string", "format": "binary"}}}),
         responses={201: (ticket_schemas.Upload, "已上传")}, errors={403: None, 404: None, 413: "文件太大", 422: None})
def api_upload(ticket_id: int):
    ticket = queries.viewable_ticket(ticket_id, actor())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise DomainError("请以multipart/form-data上传文件,字段名为file", field="file", status=400)
    att = services.add_attachment(actor=actor(), now=now(), ticket=ticket, filename=upload.filename,
                                  stream=upload.stream, directory=_uploads(), max_bytes=_max_upload())
    return jsonify({"id": att.id, "filename": att.filename, "size": att.size, "content_type": att.content_type,
                    "ticket": presenters.ticket_json(ticket, actor(), now())}), 201


@api_bp.route("/tickets/suggestions")
@roles_required("operator", "supervisor")
@refusals
@api_doc("按乡镇和问题类别推荐承办人", tags=("tickets",), query=ticket_schemas.SuggestionQuery,
         responses={200: ticket_schemas.OwnerSuggestions}, errors=(403,))
def api_suggestions():
    """Caseworkers to dispatch to, by township and topic."""
    found = queries.suggest_owners(_int_arg("township_id"), request.args.get("topic", ""))
    proposal = catalogue.propose(_int_arg("township_id"), request.args.get("topic", ""), request.args.get("kind", ""))
    found = _proposed_first(proposal, found)
    return jsonify({"suggestions": [{**presenters.person(s.user), "unit": s.user.unit.name if s.user.unit else "",
                                     "reason": s.reason} for s in found], "catalogue": proposal.as_json()})


@api_bp.route("/metrics")
@roles_required(*METRICS_ROLES)
@refusals
@api_doc("统计：在线答复率（按日、按周）、工单、时限、满意度、按单位和人员（督查人员、管理员）", tags=("metrics",),
         query=ticket_schemas.MetricsQuery, responses={200: ticket_schemas.Metrics}, errors=(400, 403))
def api_metrics():
    start, end = _metrics_range(request.args)
    return jsonify({**metrics.compute(start, end, now()), "floors": _floors(start, end)})


@api_bp.route("/notifications", methods=["GET", "POST"])
@login_required
@refusals
@api_doc("本人的站内通知", methods=("GET",), tags=("notifications",), query=ticket_schemas.NotificationQuery,
         responses={200: ticket_schemas.Notifications})
@api_doc("标记已读（{\"id\"}或全部）", methods=("POST",), tags=("notifications",), body=ticket_schemas.MarkRead,
         body_required=False, responses={200: ticket_schemas.MarkedRead})
def api_notifications(body: ticket_schemas.MarkRead | None = None):
    """GET one's notifications (newest first); POST {"id"} (or nothing: all) marks them read."""
    user = actor()
    if body is not None:
        changed = services.mark_read(actor=user, now=now(), notification_id=body.id)
        return jsonify({"marked_read": changed})
    items = queries.notifications_for(user, unread_only=request.args.get("unread") == "1")
    return jsonify({"unread": queries.unread_count(user), "notifications": [
        {"id": n.id, "kind": n.kind, "message": queries.text_for(user, n.message, n.ticket), "ticket_id": n.ticket_id,
         "created_at": presenters.iso(n.created_at), "read_at": presenters.iso(n.read_at)} for n in items]})


@api_bp.route("/openapi.json")
@api_doc("本文档：由各接口的声明生成", tags=("meta",), public=True, responses={200: base.Plain})
def openapi():
    return jsonify(api_document(current_app, request.url_root.rstrip("/")))


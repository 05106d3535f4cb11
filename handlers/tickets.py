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

from core import clock, units
from core.errors import DomainError
from core.uploads import content_disposition
from handlers import casework, streams
from handlers.common import (
    actor,
    json_body,
    json_error,
    login_required,
    now,
    refusals,
    refused,
    roles_required,
    writes,
    xlsx_download,
)
from handlers.throttle import TokenBucket, retry_after
from tickets import actions, changes, live, metrics, policy, presenters, queries, services, shapes
from tickets import calls as hotline_calls
from tickets import stream as call_stream
from tickets.models import (
    CALLBACK_OUTCOMES,
    FIRST_CONTACT_UNITS,
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
BOARD_ROLES = ("operator", "supervisor")
METRICS_ROLES = ("supervisor",)


def _uploads() -> Path:
    return Path(current_app.instance_path) / "uploads" / "tickets"


def _max_upload() -> int:
    return current_app.config.get("TICKET_ATTACHMENT_MAX_BYTES") or services.MAX_ATTACHMENT_BYTES


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
    """A badge with the time left on the ticket's current limit (or how long it is overdue)."""
    current = ticket.current_deadline()
    if current is None:
        return Markup("")
    limit, due = current
    label = {"first_contact": "首次联系", "closure": "办结", "callback": "回访"}[limit]
    delta = due - clock.now()
    overdue = delta.total_seconds() < 0
    text = _duration(abs(delta))
    css = "bad" if overdue else "warn" if delta < timedelta(hours=24) else "good"
    words = f"{label}已超期{text}" if overdue else f"{label}剩余{text}"
    return Markup('<span class="badge {}" title="{}时限:{}">{}</span>').format(
        css, label, clock.to_local(due).strftime("%Y-%m-%d %H:%M"), words)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{mins}分"
    return f"{mins}分钟"


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
    tickets = services.export_tickets(actor=actor(), now=now(), flt=_board_filter(request.args))
    return xlsx_download(presenters.board_xlsx(tickets, actor(), now()), "tickets")


@bp.route("/mine")
@roles_required("caseworker")
def mine():
    owned, cohandled = queries.my_tickets(actor(), now())
    return render_template("tickets/mine.html", owned=owned, cohandled=cohandled, now=now())


def _form_page(status: int = 200, form: Any = None, call: Call | None = None, error: DomainError | None = None,
               draft: dict[str, Any] | None = None):
    form = request.form if form is None else form
    township_id = form.get("township_id")
    topic = form.get("topic", "")
    suggestions = queries.suggest_owners(int(township_id), topic) if str(township_id or "").isdigit() else []
    from kb.models import CATEGORIES

    caseworkers = queries.active_caseworkers()
    all_units = units.list_units(active_only=True)
    return render_template(
        "tickets/form.html", form=form, call=call, kinds=KINDS, urgencies=URGENCIES, topics=CATEGORIES,
        townships=[u for u in all_units if u.level == "township"], units=all_units, caseworkers=caseworkers,
        suggestions=suggestions, policies={(p.kind, p.urgency): p for p in policy.list_policies()},
        error=error, draft=draft or {}, from_transcript=_from_transcript(form)), status


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
    try:
        ticket = services.create_ticket(
            actor=actor(), now=now(), kind=form.get("kind"), urgency=form.get("urgency"),
            citizen_name=form.get("citizen_name", ""), citizen_phone=form.get("citizen_phone", ""),
            citizen_id_number=form.get("citizen_id_number", ""), township_id=form.get("township_id"),
            description=form.get("description", ""), topic=form.get("topic", ""), call_id=form.get("call_id"),
            owner_id=form.get("user_id"), directory=_uploads(), max_bytes=_max_upload(),
            uploads=[(f.filename, f.stream) for f in request.files.getlist("files") if f and f.filename])
    except DomainError as err:
        return refused(err, lambda e=err: _form_page(e.status, call=call, error=e)[0])
    flash(f"已创建工单 {ticket.number}" + (f",已派给{ticket.first_owner.display_name}" if ticket.first_owner else ""),
          "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _ticket_page(ticket, status: int = 200, **extra: Any):
    user = actor()
    caseworkers = queries.active_caseworkers()
    return render_template(
        "tickets/ticket.html", ticket=ticket, now=now(), user=user, satisfaction=SATISFACTION,
        units=units.list_units(active_only=True), caseworkers=caseworkers,
        suggestions=queries.dispatch_suggestions(ticket),
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
        services.dispatch(actor=actor(), now=now(), ticket=ticket, user_id=request.form.get("user_id"),
                          version=request.form.get("version"), note=request.form.get("note", ""))
    except DomainError as err:
        return _refused_on_page(err, ticket_id)
    flash(f"已派单给{ticket.first_owner.display_name}", "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.route("/<int:ticket_id>/action", methods=["POST"])
@login_required
def action(ticket_id: int):
    try:
        ticket = queries.viewable_ticket(ticket_id, actor())
        actions.run(actor=actor(), now=now(), ticket=ticket, data=request.form.to_dict())
    except DomainError as err:
        return _refused_on_page(err, ticket_id)
    done = actions.get(request.form.get("action", ""))
    label = done.label if done is not None else "操作"
    flash(f"{label}:已完成", "success")
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
                           states=STATES, satisfaction=SATISFACTION,
                           day_chart=metrics.rate_chart(figures["by_day"], "date"),
                           week_chart=metrics.rate_chart(figures["by_week"], "week"),
                           state_chart=metrics.bar_chart(states))


@bp.route("/metrics.xlsx")
@writes
@roles_required(*METRICS_ROLES)
@refusals
def metrics_export():
    start, end = _metrics_range(request.args)
    figures = services.export_metrics(actor=actor(), now=now(), start=start, end=end)
    return Response(metrics.to_xlsx(figures),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename=metrics-{start}-{end}.xlsx"})


@bp.route("/policies", methods=["GET", "POST"])
@roles_required("admin")
def policies():
    page = lambda: render_template("tickets/policies.html", policies=policy.list_policies(),  # noqa: E731
                                   kinds=KINDS, urgencies=URGENCIES, units=FIRST_CONTACT_UNITS)
    if request.method == "POST":
        form = request.form
        try:
            policy.update_policy(
                actor=actor(), now=now(), kind=form.get("kind", ""), urgency=form.get("urgency", ""),
                first_contact_amount=_form_number(form, "first_contact_amount", "首次联系时限"),
                first_contact_unit=form.get("first_contact_unit", ""),
                closure_working_days=_form_number(form, "closure_working_days", "办结时限"),
                callback_working_days=_form_number(form, "callback_working_days", "回访时限"))
        except DomainError as err:
            return refused(err, page)
        flash(f"已保存:{KINDS.get(form.get('kind', ''), '')}/{URGENCIES.get(form.get('urgency', ''), '')}", "success")
        return redirect(url_for("tickets.policies"))
    return page()


def _form_number(form, name: str, label: str) -> int:
    raw = (form.get(name) or "").strip()
    if not raw.isdigit():
        raise DomainError(f"{label}应为正整数", field=name)
    return int(raw)


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
def api_calls():
    """Telephony announces a ringing call: 201 with the call, 200 with the same call for a repeated external_id."""
    data = shapes.parse(json_body(), live.ANNOUNCE)
    call, created = hotline_calls.announce_call(actor=actor(), now=now(), caller_number=data["caller_number"],
                                                external_id=data["external_id"], operator=data["operator"],
                                                rang_at=data["rang_at"])
    return jsonify(_call_body(call)), 201 if created else 200


@api_bp.route("/calls/<int:call_id>/<any(answered, ended):event>", methods=["POST"])
@call_events
def api_call_event(call_id: int, event: str):
    """Telephony's answered and ended events; a repeat changes nothing (200), answering after an unanswered end is 409."""
    data = shapes.parse(json_body(), live.EVENT)
    call = live.get_call_for_update(call_id)
    mark = hotline_calls.call_answered if event == "answered" else hotline_calls.call_ended
    mark(actor=actor(), now=now(), call=call, at=data["at"])
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
def api_call_transcript(call_id: int):
    """ASR segments of the call → 200 with the assist state."""
    if (request.content_length or 0) > live.MAX_REQUEST_BYTES:
        raise DomainError(f"请求体不能超过{live.MAX_REQUEST_BYTES // 1024}KB", code="too_large", status=413)
    data = shapes.parse(json_body(), live.TRANSCRIPT)
    call = live.get_call_for_update(call_id)
    live.add_segments(call=call, now=now(), segments=data["segments"],
                      grace=timedelta(seconds=current_app.config["TRANSCRIPT_GRACE_SECONDS"]))
    return jsonify(live.assist_state(call=call, viewer=actor(), now=now(), engine=_engine(),
                                     call_json=_call_body(call), remember=True))


@api_bp.route("/calls/<int:call_id>/assist")
@roles_required("operator", "supervisor")
@refusals
def api_call_assist(call_id: int):
    """The live call as the operator's screen shows it: transcript, suggestions, needs, draft."""
    call = hotline_calls.get_call(call_id)
    return jsonify(live.assist_state(call=call, viewer=actor(), now=now(), engine=_engine(),
                                     call_json=_call_body(call)))


@api_bp.route("/calls/record", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
def api_record_new_call():
    """An operator records a call telephony never announced (typed only)."""
    data = shapes.parse(json_body(), live.RECORD_NEW)
    call = hotline_calls.record_call(actor=actor(), now=now(), **data)
    return jsonify(presenters.call_json(call, actor(), with_tickets=True)), 201


@api_bp.route("/calls/<int:call_id>/record", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
def api_record_call(call_id: int):
    """An operator records what came of an announced call."""
    data = shapes.parse(json_body(), live.RECORD)
    call = hotline_calls.record_call(actor=actor(), now=now(), call_id=call_id, **data)
    return jsonify(presenters.call_json(call, actor(), with_tickets=True))


@api_bp.route("/calls/missed")
@roles_required("operator", "supervisor")
@refusals
def api_missed():
    """The callback queue (漏接回拨): missed calls not yet called back, oldest first."""
    user = actor()
    return jsonify({"calls": [presenters.call_json(c, user) for c in hotline_calls.missed_calls()]})


@api_bp.route("/calls/<int:call_id>/callback", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
def api_callback(call_id: int):
    """Record one callback of a missed call: {"outcome", "note"?}."""
    data = shapes.parse(json_body(), live.CALLBACK)
    call = hotline_calls.get_call(call_id)
    hotline_calls.record_callback(actor=actor(), now=now(), call=call, outcome=data["outcome"], note=data["note"])
    return jsonify(presenters.call_json(call, actor()))


@api_bp.route("/calls/<int:call_id>")
@roles_required("operator", "supervisor")
@refusals
def api_call(call_id: int):
    call = hotline_calls.get_call(call_id)
    return jsonify(presenters.call_json(call, actor(), with_tickets=True))


@api_bp.route("/calls/incoming")
@roles_required("operator", "supervisor")
@refusals
def api_incoming():
    """Calls telephony announced that are not yet recorded (the operator's page polls this)."""
    user = actor()
    return jsonify({"calls": [presenters.call_json(c, user, with_tickets=True)
                              for c in hotline_calls.incoming_calls(user, now())]})


@api_bp.route("/calls/stream")
@roles_required(*call_stream.ROLES)
@refusals
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
def api_call_entry_use(call_id: int):
    """The operator's page notes an entry shown, opened or copied during the call: {"entry_id", "action"}."""
    data = shapes.parse(json_body(), hotline_calls.ENTRY_USE)
    call = hotline_calls.get_call(call_id)
    created = hotline_calls.note_entry_use(actor=actor(), now=now(), call=call, entry_id=data["entry_id"],
                                           action=data["action"])
    uses = [{"entry_id": u.entry_id, "action": u.action, "at": presenters.iso(u.at)}
            for u in hotline_calls.entry_uses(call)]
    return jsonify({"call_id": call.id, "uses": uses}), 201 if created else 200


@api_bp.route("/calls/lookup")
@roles_required("operator", "supervisor")
@refusals
def api_lookup():
    """A repeat caller's open tickets, by phone number."""
    return jsonify({"tickets": presenters.open_tickets_json(request.args.get("number", ""), actor())})


@api_bp.route("/tickets", methods=["GET", "POST"])
@login_required
@refusals
def api_tickets():
    user = actor()
    if request.method == "GET":
        found, total = queries.visible_tickets(user, _board_filter(request.args), now=now(),
                                               limit=min(_int_arg("limit") or 100, 500), offset=_int_arg("offset") or 0)
        return jsonify({"total": total, "tickets": [presenters.ticket_summary(t, user, now()) for t in found]})
    data = json_body()
    ticket = services.create_ticket(
        actor=user, now=now(), kind=data.get("kind"), urgency=data.get("urgency", "normal"),
        citizen_name=_first(data, "citizen_name", "name") or "",
        citizen_phone=_first(data, "citizen_phone", "phone") or "",
        citizen_id_number=_first(data, "citizen_id_number", "id_number") or "",
        township_id=_first(data, "township_id", "township"), description=data.get("description") or "",
        topic=data.get("topic") or "", call_id=data.get("call_id"), owner_id=_first(data, "user_id", "owner_id"))
    return jsonify(presenters.ticket_json(ticket, user, now())), 201


@api_bp.route("/tickets/<int:ticket_id>")
@login_required
@refusals
def api_ticket(ticket_id: int):
    return jsonify(presenters.ticket_json(queries.viewable_ticket(ticket_id, actor()), actor(), now()))


@api_bp.route("/tickets/<int:ticket_id>/dispatch", methods=["POST"])
@login_required
@casework.stale_refusals
def api_dispatch(ticket_id: int):
    data = json_body()
    ticket = queries.viewable_ticket(ticket_id, actor())
    services.dispatch(actor=actor(), now=now(), ticket=ticket, user_id=_first(data, "user_id", "owner_id"),
                      version=data.get("version"), note=data.get("note") or "")
    return jsonify(presenters.ticket_json(ticket, actor(), now()))


@api_bp.route("/tickets/<int:ticket_id>/actions", methods=["POST"])
@login_required
@casework.stale_refusals
def api_action(ticket_id: int):
    data = json_body()
    ticket = queries.viewable_ticket(ticket_id, actor())
    actions.run(actor=actor(), now=now(), ticket=ticket, data=data)
    return jsonify(presenters.ticket_json(ticket, actor(), now()))


@api_bp.route("/tickets/<int:ticket_id>/attachments", methods=["POST"])
@login_required
@refusals
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
def api_suggestions():
    """Caseworkers to dispatch to, by township and topic."""
    found = queries.suggest_owners(_int_arg("township_id"), request.args.get("topic", ""))
    return jsonify({"suggestions": [{**presenters.person(s.user), "unit": s.user.unit.name if s.user.unit else "",
                                     "reason": s.reason} for s in found]})


@api_bp.route("/metrics")
@roles_required(*METRICS_ROLES)
@refusals
def api_metrics():
    start, end = _metrics_range(request.args)
    return jsonify(metrics.compute(start, end, now()))


@api_bp.route("/notifications", methods=["GET", "POST"])
@login_required
@refusals
def api_notifications():
    """GET one's notifications (newest first); POST {"id"} (or nothing: all) marks them read."""
    user = actor()
    if request.method == "POST":
        data = request.get_json(silent=True) or {}
        raw = data.get("id") if isinstance(data, dict) else None
        changed = services.mark_read(actor=user, now=now(), notification_id=raw if isinstance(raw, int) else None)
        return jsonify({"marked_read": changed})
    items = queries.notifications_for(user, unread_only=request.args.get("unread") == "1")
    return jsonify({"unread": queries.unread_count(user), "notifications": [
        {"id": n.id, "kind": n.kind, "message": queries.text_for(user, n.message, n.ticket), "ticket_id": n.ticket_id,
         "created_at": presenters.iso(n.created_at), "read_at": presenters.iso(n.read_at)} for n in items]})


@api_bp.route("/openapi.json")
def openapi():
    from tickets.openapi import document

    return jsonify(document(request.url_root.rstrip("/")))


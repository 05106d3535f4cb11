"""Eligibility hints: `POST /api/v1/eligibility` for the call panel and scripts, the facts heard in the caller's
words, a check saved on a call (carried into the ticket made from it), and `/eligibility/rules` for
kb_editors to read every programme's rule in plain Chinese."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from core import clock
from core.errors import DomainError
from eligibility import asking, services
from handlers.common import actor, json_body, now, refusals, roles_required
from tickets import calls as hotline_calls

bp = Blueprint("eligibility", __name__, url_prefix="/eligibility")
api_bp = Blueprint("eligibility_api", __name__, url_prefix="/api/v1")

#: Who may ask: those who talk to callers or answer for the rules.
ASKERS = ("operator", "supervisor", "caseworker", "kb_editor")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"eligibility_check_for_ticket": services.for_ticket, "eligibility_fact_labels": asking.LABELS}


def _only(body: dict[str, Any], name: str) -> Any:
    """The one field `name` of a JSON body (an unknown field or a missing one is a 400 naming it)."""
    unknown = sorted(set(body) - {name})
    if unknown:
        raise DomainError(f"不认识的字段：{'、'.join(unknown)}", code="unknown_fields", status=400, field=unknown[0])
    if name not in body:
        raise DomainError(f"缺少 {name}", code="bad_request", status=400, field=name)
    return body[name]


@bp.route("/rules")
@roles_required("kb_editor", "supervisor", "operator")
def rules():
    return render_template("eligibility/rules.html", rules=services.rule_pages())


@api_bp.route("/eligibility", methods=["POST"])
@roles_required(*ASKERS)
@refusals
def api_assess():
    """{"household": {...}} → the programmes with verdicts, reasons, missing facts, entries; what to ask next."""
    return jsonify(services.assess(_only(json_body(), "household"), today=clock.today_local()))


@api_bp.route("/eligibility/heard", methods=["POST"])
@roles_required(*ASKERS)
@refusals
def api_heard():
    """{"text": the caller's words} → {"household": facts heard, "sources": [{"fact", "text"}]} (the form's pre-fill)."""
    text = _only(json_body(), "text")
    if not isinstance(text, str) or len(text) > 20000:
        raise DomainError("text 应为不超过20000字的文字", code="bad_request", status=400, field="text")
    return jsonify(services.from_words(text))


@api_bp.route("/calls/<int:call_id>/eligibility", methods=["GET", "POST"])
@roles_required("operator", "supervisor")
@refusals
def api_call_check(call_id: int):
    """GET: the call's latest saved check (or null). POST {"household"}: save a check on the call → 201."""
    call = hotline_calls.get_call(call_id)
    if request.method == "GET":
        return jsonify({"check": services.check_json(services.latest_for_call(call.id))})
    check = services.save_check(actor=actor(), now=now(), call=call, data=_only(json_body(), "household"),
                                today=clock.today_local())
    return jsonify(services.check_json(check)), 201


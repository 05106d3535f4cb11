"""Eligibility hints: `POST /api/v1/eligibility` for the call panel and scripts, the facts heard in the caller's
words, a check saved on a call (carried into the ticket made from it), and `/eligibility/rules` for
kb_editors to read every programme's rule in plain Chinese."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from core import clock
from eligibility import asking, services
from handlers.common import actor, now, refusals, roles_required
from handlers.openapi import api_doc
from handlers.schemas import eligibility as schemas
from tickets import calls as hotline_calls

bp = Blueprint("eligibility", __name__, url_prefix="/eligibility")
api_bp = Blueprint("eligibility_api", __name__, url_prefix="/api/v1")

#: Who may ask: those who talk to callers or answer for the rules.
ASKERS = ("operator", "supervisor", "caseworker", "kb_editor")
NOTICE = "初步研判，仅供参考，以乡镇（街道）和民政部门审核确认为准。未知的事实不填，不会被猜测。"


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"eligibility_check_for_ticket": services.for_ticket, "eligibility_fact_labels": asking.LABELS}


@bp.route("/rules")
@roles_required("kb_editor", "supervisor", "operator")
def rules():
    return render_template("eligibility/rules.html", rules=services.rule_pages())


@api_bp.route("/eligibility", methods=["POST"])
@roles_required(*ASKERS)
@refusals
@api_doc("资格提示：按来电人讲到的家庭情况，给出各项救助的初步研判、依据和还要问的", tags=("eligibility",),
         body=schemas.Ask, responses={200: schemas.Assessment}, errors=(403,), description=NOTICE)
def api_assess(body: schemas.Ask):
    """{"household": {...}} → the programmes with verdicts, reasons, missing facts, entries; what to ask next."""
    return jsonify(services.assess(body.household, today=clock.today_local()))


@api_bp.route("/eligibility/heard", methods=["POST"])
@roles_required(*ASKERS)
@refusals
@api_doc("从来电人的话里听出家庭情况（研判表的预填）", tags=("eligibility",), body=schemas.Heard,
         responses={200: schemas.HeardFacts}, errors=(403,))
def api_heard(body: schemas.Heard):
    """{"text": the caller's words} → {"household": facts heard, "sources": [{"fact", "text"}]} (the form's pre-fill)."""
    return jsonify(services.from_words(body.text))


@api_bp.route("/calls/<int:call_id>/eligibility")
@roles_required("operator", "supervisor")
@refusals
@api_doc("来电最近一次保存的初步研判（没有时为null）", tags=("eligibility",), responses={200: schemas.CallCheck},
         errors=(403, 404))
def api_call_check(call_id: int):
    call = hotline_calls.get_call(call_id)
    return jsonify({"check": services.check_json(services.latest_for_call(call.id))})


@api_bp.route("/calls/<int:call_id>/eligibility", methods=["POST"])
@roles_required("operator", "supervisor")
@refusals
@api_doc("把初步研判保存到来电上（由此来电建的工单会带上它）", tags=("eligibility",), body=schemas.Ask,
         responses={201: schemas.Check}, errors=(403, 404), description=NOTICE)
def api_save_check(call_id: int, body: schemas.Ask):
    call = hotline_calls.get_call(call_id)
    check = services.save_check(actor=actor(), now=now(), call=call, data=body.household, today=clock.today_local())
    return jsonify(services.check_json(check)), 201

"""Eligibility hints: `POST /api/v1/eligibility` for the call panel and scripts, `/eligibility/rules` for
kb_editors to read every programme's rule in plain Chinese."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from core import clock
from eligibility import services
from handlers.common import refusals, roles_required
from handlers.openapi import api_doc
from handlers.schemas import eligibility as schemas

bp = Blueprint("eligibility", __name__, url_prefix="/eligibility")
api_bp = Blueprint("eligibility_api", __name__, url_prefix="/api/v1")

#: Who may ask: those who talk to callers or answer for the rules.
ASKERS = ("operator", "supervisor", "caseworker", "kb_editor")


@bp.route("/rules")
@roles_required("kb_editor", "supervisor", "operator")
def rules():
    return render_template("eligibility/rules.html", rules=services.rule_pages())


@api_bp.route("/eligibility", methods=["POST"])
@roles_required(*ASKERS)
@refusals
@api_doc("资格提示：按来电人讲到的家庭情况，给出各项救助的初步研判、依据和还要问的", tags=("eligibility",),
         body=schemas.Ask, responses={200: schemas.Assessment}, errors=(403,),
         description="初步研判，仅供参考，以乡镇（街道）和民政部门审核确认为准。未知的事实不填，不会被猜测。")
def api_assess(body: schemas.Ask):
    """{"household": {...}} → the programmes with verdicts, reasons, missing facts, entries; what to ask next."""
    return jsonify(services.assess(body.household, today=clock.today_local()))

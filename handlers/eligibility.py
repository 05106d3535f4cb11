"""Eligibility hints: `POST /api/v1/eligibility` for the call panel and scripts, `/eligibility/rules` for
kb_editors to read every programme's rule in plain Chinese."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from core import clock
from core.errors import DomainError
from eligibility import services
from handlers.common import json_body, refusals, roles_required

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
def api_assess():
    """{"household": {...}} → the programmes with verdicts, reasons, missing facts, entries; what to ask next."""
    body = json_body()
    unknown = sorted(set(body) - {"household"})
    if unknown:
        raise DomainError(f"不认识的字段：{'、'.join(unknown)}", code="unknown_fields", status=400, field=unknown[0])
    if "household" not in body:
        raise DomainError("缺少 household", code="bad_request", status=400, field="household")
    return jsonify(services.assess(body["household"], today=clock.today_local()))

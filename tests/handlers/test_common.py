"""The one idiom at the HTTP edge: a refused service call answered by handlers.common."""

from __future__ import annotations

from flask import g

from core.errors import DomainError, Forbidden
from handlers import common


def test_a_permission_refusal_answered_by_any_area_is_noted_for_the_audit_trail(app):
    with app.test_request_context("/spotchecks/rectifications/1", method="POST"):
        response = common.domain_error_response(Forbidden("只有督查人员可以销号"))
        assert response.status_code == 302
        assert g.security_event == {"action": "permission_denied",
                                    "changes": {"method": "POST", "reason": "只有督查人员可以销号"}}


def test_other_refusals_are_not_security_events(app):
    with app.test_request_context("/kb/new", method="POST"):
        common.domain_error_response(DomainError("请填写问题"))
        assert "security_event" not in g


def test_a_refusal_raised_out_of_a_view_is_audited_by_the_commit_point(app, client, login, db):
    from sqlalchemy import select

    from audit.models import AuditEvent

    @common.refusals
    def refuse():
        raise Forbidden("不能这样做")

    # The app is shared by the whole session: earlier tests have served requests, after which Flask
    # refuses new routes; this probe route is the test's own, added for it alone.
    app._got_first_request = False
    app.add_url_rule("/_probe/refuse", "probe_refuse", refuse, methods=["POST"])
    login("operator")
    response = client.post("/_probe/refuse")
    assert response.status_code == 403 and "不能这样做" in response.get_data(as_text=True)
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "permission_denied",
                                               AuditEvent.entity_id == "/_probe/refuse")).first()

"""Races on notices and rectifications, on real commits: a stale screen or a parallel submit changes nothing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from audit.models import AuditEvent
from core.db import session
from core.errors import Conflict
from core.models import User
from spotchecks import notices, services
from spotchecks.models import Notice, NoticeCounter, Rectification
from tests.builders import make_user
from tests.races import http_race, in_new_session, race
from tests.spotchecks.builders import SETTINGS, at_local, make_fault

NOW = at_local(2026, 11, 27, 18, 30)

#: Close-outs here test concurrency, not evidence: each states why it has no file.
NO_FILE = "复拨未录音，已现场核实"


def _events(entity_type: str, action: str) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == entity_type, AuditEvent.action == action)).scalar_one()


def _draft(app) -> dict:
    def make() -> dict:
        supervisor = make_fault(day=date(2026, 11, 23)).supervisor
        notice, _ = notices.draft_notice(actor=supervisor, now=NOW, kind="daily", day=date(2026, 11, 23))
        session.flush()
        return {"notice": notice.id, "supervisor": supervisor.id}

    return in_new_session(app, make)


def _answered(app) -> dict:
    """A rectification its unit has answered, waiting for a supervisor's close-out."""
    def make() -> dict:
        call = make_fault()
        rect = session.execute(select(Rectification).where(Rectification.call_id == call.id)).scalar_one()
        services.answer_rectification(actor=make_user("caseworker", unit_id=rect.unit_id), now=NOW, rect=rect,
                                      response="已调整值班", evidence="值班表")
        return {"rect": rect.id, "version": rect.version, "supervisor": call.supervisor_id}

    return in_new_session(app, make)


def _publish(ids: dict) -> Notice:
    return notices.publish(actor=session.get(User, ids["supervisor"]), now=NOW,
                           notice=notices.get_notice(ids["notice"]), settings=SETTINGS)


def test_a_second_publisher_with_the_draft_on_screen_takes_no_number(committing_app):
    app = committing_app
    ids = _draft(app)
    with app.app_context():
        supervisor, notice = session.get(User, ids["supervisor"]), notices.get_notice(ids["notice"])
        session.commit()  # the draft is on this person's screen while another publishes it
        in_new_session(app, lambda: _publish(ids))
        with pytest.raises(Conflict, match=re.escape("已由他人发布（绥民救通〔2026〕1号）")):
            notices.publish(actor=supervisor, now=NOW, notice=notice, settings=SETTINGS, title=notice.title,
                            recipients=notice.recipients, body=notice.body + "\n特此通报。")
        session.rollback()
        assert session.get(NoticeCounter, 2026).last_number == 1
        published = notices.get_notice(ids["notice"])
        assert published.number == "绥民救通〔2026〕1号" and "特此通报" not in published.body
        assert _events("notice", "publish") == 1


@pytest.mark.pg_only
def test_twenty_parallel_publishes_of_one_notice_consume_one_number(committing_app, backend):
    app = committing_app
    ids = _draft(app)

    def publish(_index, ready) -> str:
        supervisor, notice = session.get(User, ids["supervisor"]), notices.get_notice(ids["notice"])
        assert notice.status == "draft"
        ready()
        return notices.publish(actor=supervisor, now=NOW, notice=notice, settings=SETTINGS).number

    results = race(app, backend, 20, publish)
    assert results.count("绥民救通〔2026〕1号") == 1
    assert all(isinstance(r, Conflict) and "已由他人发布" in r.message for r in results if isinstance(r, Conflict))
    assert sum(isinstance(r, Conflict) for r in results) == 19
    with app.app_context():
        assert session.get(NoticeCounter, 2026).last_number == 1
        assert _events("notice", "publish") == 1


def test_a_close_out_from_a_stale_form_is_refused_with_the_current_version(committing_app):
    app = committing_app
    ids = _answered(app)
    with app.app_context():
        supervisor, rect = session.get(User, ids["supervisor"]), services.get_rectification(ids["rect"])
        session.commit()  # the form is on screen while another supervisor closes the item out

        def close_elsewhere():
            services.close_out(actor=make_user("supervisor"), now=NOW, rect=services.get_rectification(ids["rect"]),
                               evidence="11月27日复拨,接听规范", version=ids["version"],
                               no_evidence_reason=NO_FILE)

        in_new_session(app, close_elsewhere)
        message = f"该整改已被他人更新（当前版本为{ids['version'] + 1}），请刷新后重试"
        with pytest.raises(Conflict, match=re.escape(message)):
            services.close_out(actor=supervisor, now=NOW, rect=rect, evidence="复拨正常", version=ids["version"],
                           no_evidence_reason=NO_FILE)
        session.rollback()
        closed = services.get_rectification(ids["rect"])
        assert closed.close_note == "11月27日复拨,接听规范" and closed.version == ids["version"] + 1
        assert _events("rectification", "close_out") == 1


def test_the_rectification_page_answers_a_stale_form_with_409_and_keeps_the_row(committing_app):
    app = committing_app
    ids = _answered(app)
    client = app.test_client()
    with app.app_context():
        user = make_user("supervisor", password="Passw0rd!")
        session.commit()
        username = user.username
        session.remove()
    client.post("/accounts/login", data={"username": username, "password": "Passw0rd!"})
    page = client.get(f"/spotchecks/rectifications/{ids['rect']}").get_data(as_text=True)
    assert f'name="version" value="{ids["version"]}"' in page
    in_new_session(app, lambda: services.return_rectification(
        actor=session.get(User, ids["supervisor"]), now=NOW, rect=services.get_rectification(ids["rect"]),
        reason="佐证不足"))
    response = client.post(f"/spotchecks/rectifications/{ids['rect']}",
                           data={"op": "close", "evidence": "复拨正常", "version": ids["version"], "no_evidence_reason": NO_FILE})
    assert response.status_code == 409
    assert f"该整改已被他人更新（当前版本为{ids['version'] + 1}），请刷新后重试" in response.get_data(as_text=True)
    with app.app_context():
        rect = services.get_rectification(ids["rect"])
        assert (rect.state, rect.returned_count, rect.close_note) == ("returned", 1, "")
        assert _events("rectification", "close_out") == 0


@pytest.mark.pg_only
def test_twenty_parallel_close_outs_and_returns_one_wins_and_counters_hold(committing_app, backend):
    app = committing_app
    ids = _answered(app)

    def decide(index, ready) -> str:
        supervisor, rect = session.get(User, ids["supervisor"]), services.get_rectification(ids["rect"])
        ready()
        if index % 2:
            services.return_rectification(actor=supervisor, now=NOW, rect=rect, reason="佐证不足",
                                          version=ids["version"])
            return "returned"
        services.close_out(actor=supervisor, now=NOW, rect=rect, evidence="复拨正常", version=ids["version"],
                           no_evidence_reason=NO_FILE)
        return "closed"

    results = race(app, backend, 20, decide)
    winners = [r for r in results if not isinstance(r, Conflict)]
    assert len(winners) == 1, results
    with app.app_context():
        rect = services.get_rectification(ids["rect"])
        assert rect.state == winners[0] and rect.version == ids["version"] + 1
        assert rect.returned_count == (1 if winners[0] == "returned" else 0)
        assert _events("rectification", "close_out") + _events("rectification", "return") == 1


def test_a_summons_decided_by_another_supervisor_meanwhile_is_not_decided_twice(committing_app):
    app = committing_app

    def propose() -> dict:
        call = make_fault()  # its rectification is left unanswered, so a summons is proposed
        summons = services.propose_summonses(now=at_local(2026, 12, 9, 9, 0), settings=SETTINGS)[0]
        return {"summons": summons.id, "supervisor": call.supervisor_id}

    ids = in_new_session(app, propose)
    now = at_local(2026, 12, 10, 16, 0)
    with app.app_context():
        supervisor, summons = session.get(User, ids["supervisor"]), services.get_summons(ids["summons"])
        session.commit()  # the proposal is on this supervisor's screen while another one dismisses it
        in_new_session(app, lambda: services.dismiss_summons(
            actor=session.get(User, ids["supervisor"]), now=now, summons=services.get_summons(ids["summons"]),
            reason="单位已整改到位"))
        with pytest.raises(Conflict, match="已由他人处理"):
            services.confirm_summons(actor=supervisor, now=now, summons=summons, held_on=date(2026, 12, 10),
                                     attendees="王局长", outcome="表态整改")
        session.rollback()
        decided = services.get_summons(ids["summons"])
        assert (decided.state, decided.outcome, decided.attendees) == ("dismissed", "单位已整改到位", "")
        assert _events("summons", "hold") == 0 and _events("summons", "dismiss") == 1


@pytest.mark.pg_only
def test_twenty_supervisors_publishing_one_notice_over_http_take_one_number(committing_app):
    app = committing_app
    ids = _draft(app)
    form = in_new_session(app, lambda: {"op": "publish", **{name: getattr(notices.get_notice(ids["notice"]), name)
                                                           for name in ("title", "recipients", "body")}})
    names = in_new_session(app, lambda: [make_user("supervisor").username for _ in range(20)])
    codes = http_race(app, names, lambda _index, client: client.post(
        f"/spotchecks/notices/{ids['notice']}", data=form).status_code)
    assert sorted(codes) == [302] + [409] * 19, codes
    with app.app_context():
        assert session.get(NoticeCounter, 2026).last_number == 1 and _events("notice", "publish") == 1
        assert notices.get_notice(ids["notice"]).number == "绥民救通〔2026〕1号"


@pytest.mark.pg_only
def test_twenty_supervisors_closing_out_one_rectification_over_http_record_one_close_out(committing_app):
    app = committing_app
    ids = _answered(app)
    names = in_new_session(app, lambda: [make_user("supervisor").username for _ in range(20)])
    codes = http_race(app, names, lambda index, client: client.post(
        f"/spotchecks/rectifications/{ids['rect']}",
        data={"op": "close", "evidence": f"第{index}人复拨正常", "version": ids["version"],
              "no_evidence_reason": NO_FILE}).status_code)
    assert sorted(codes) == [302] + [409] * 19, codes
    with app.app_context():
        rect = services.get_rectification(ids["rect"])
        assert rect.state == "closed" and rect.version == ids["version"] + 1
        assert _events("rectification", "close_out") == 1

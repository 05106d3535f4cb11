"""Review before publish: a second kb_editor approves what goes live; re-checks and the due list."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from core.errors import DomainError
from kb import review, services
from kb.models import EntryChange
from tests.builders import make_user
from tests.kb.builders import entry_data, make_entry, upload_export_with

ON = review.ReviewSettings(required=True)


def _change(entry, editor, answer="新的口径。请到乡镇申请。"):
    return review.submit(actor=editor, now=clock.now(), data=entry.as_data() | {"answer": answer}, note="更新口径",
                         settings=ON, base_version=entry.version)


def test_a_change_to_a_published_entry_waits_for_a_second_editor(db):
    author, second = make_user("kb_editor"), make_user("kb_editor")
    entry = make_entry(answer="旧口径。")
    result = _change(entry, author)
    assert result.change is not None and result.change.state == "pending"
    db.expire_all()
    assert services.get_entry(entry.id).answer == "旧口径。" and entry.version == 1
    approved = review.approve(actor=second, now=clock.now(), change=result.change, note="核对无误")
    assert approved.answer == "新的口径。请到乡镇申请。" and approved.version == 2
    assert approved.versions[-1].actor_name == author.username
    last = review.last_review(entry.id)
    assert (last.reviewer_id, last.kind, last.version) == (second.id, "approve", 2)


def test_approving_ones_own_change_is_refused_and_nothing_written(db):
    author = make_user("kb_editor")
    entry = make_entry(answer="旧口径。")
    change = _change(entry, author).change
    with pytest.raises(DomainError, match="不能审核自己提交的修改") as err:
        review.approve(actor=author, now=clock.now(), change=change)
    assert err.value.status == 403 and err.value.code == "own_change"
    db.expire_all()
    assert services.get_entry(entry.id).answer == "旧口径。" and change.state == "pending"


def test_a_draft_is_saved_at_once_and_retiring_needs_no_second_editor(db):
    editor = make_user("kb_editor")
    result = review.submit(actor=editor, now=clock.now(), data=entry_data(status="draft"), note="新建", settings=ON)
    assert result.change is None and result.entry.status == "draft"
    published = make_entry()
    retired = review.set_status(actor=editor, now=clock.now(), entry=published, status="retired", note="政策废止",
                                settings=ON)
    assert retired.change is None and published.status == "retired"


def test_publishing_a_draft_goes_through_review(db):
    author, second = make_user("kb_editor"), make_user("kb_editor")
    draft = make_entry(status="draft")
    change = review.set_status(actor=author, now=clock.now(), entry=draft, status="published", note="发布",
                               settings=ON).change
    assert change is not None and draft.status == "draft"
    review.approve(actor=second, now=clock.now(), change=change)
    assert draft.status == "published"


def test_with_review_switched_off_a_change_goes_live_at_once(db):
    entry = make_entry(answer="旧口径。")
    result = review.submit(actor=make_user("kb_editor"), now=clock.now(), data=entry.as_data() | {"answer": "新口径。"},
                           note="改", settings=review.ReviewSettings(required=False), base_version=1)
    assert result.change is None and entry.answer == "新口径。"


def test_an_admin_may_publish_alone_in_an_emergency_audited_as_such(db):
    admin, editor = make_user("admin"), make_user("kb_editor")
    entry = make_entry(answer="旧口径。")
    result = review.submit(actor=admin, now=clock.now(), data=entry.as_data() | {"answer": "紧急更正的口径。"},
                           note="标准错误", settings=ON, base_version=1, emergency=True)
    assert result.change is None and entry.answer == "紧急更正的口径。"
    assert review.last_review(entry.id).kind == "emergency"
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "emergency_publish",
                                               AuditEvent.entity_id == entry.id)).scalars().first()
    with pytest.raises(DomainError, match="只有管理员"):
        review.submit(actor=editor, now=clock.now(), data=entry.as_data() | {"answer": "再改。"}, note="x",
                      settings=ON, base_version=entry.version, emergency=True)


def test_a_second_change_while_one_waits_is_refused(db):
    author = make_user("kb_editor")
    entry = make_entry()
    _change(entry, author)
    with pytest.raises(DomainError, match="已有一项待审核的修改"):
        _change(entry, make_user("kb_editor"), answer="另一版口径。")


def test_approving_a_change_overtaken_by_another_version_is_refused(db):
    author, second, admin = make_user("kb_editor"), make_user("kb_editor"), make_user("admin")
    entry = make_entry()
    change = _change(entry, author).change
    services.save_entry(actor=admin, now=clock.now(), data=entry.as_data() | {"answer": "别处改的。"}, note="x")
    with pytest.raises(DomainError, match="不能直接通过"):
        review.approve(actor=second, now=clock.now(), change=change)


def test_reject_needs_a_reason_and_the_author_withdraws_instead(db):
    author, second = make_user("kb_editor"), make_user("kb_editor")
    change = _change(make_entry(), author).change
    with pytest.raises(DomainError, match="退回原因"):
        review.reject(actor=second, now=clock.now(), change=change, note=" ")
    with pytest.raises(DomainError, match="撤回"):
        review.reject(actor=author, now=clock.now(), change=change, note="不要了")
    review.reject(actor=second, now=clock.now(), change=change, note="依据文号有误")
    assert change.state == "rejected" and change.decision_note == "依据文号有误"


def test_recheck_records_the_reviewer_moves_the_review_date_and_needs_a_future_date(db):
    editor, today = make_user("kb_editor"), clock.today_local()
    entry = make_entry(review_date="2020-01-01")
    with pytest.raises(DomainError, match="晚于今天"):
        review.recheck(actor=editor, now=clock.now(), entry=entry, note="核对", next_review=today, today=today)
    review.recheck(actor=editor, now=clock.now(), entry=entry, note="已与现行文件核对",
                   next_review=today + timedelta(days=365), today=today)
    assert entry.review_date == today + timedelta(days=365)
    assert review.last_review(entry.id).kind == "recheck"


def test_due_list_has_overdue_and_soon_due_entries_not_later_ones(db):
    today = clock.today_local()
    overdue = make_entry(review_date="2020-01-01")
    soon = make_entry(review_date=(today + timedelta(days=10)).isoformat())
    later = make_entry(review_date=(today + timedelta(days=300)).isoformat())
    ids = [i.entry.id for i in review.due_for_review(today, ON)]
    assert overdue.id in ids and soon.id in ids and later.id not in ids
    assert next(i for i in review.due_for_review(today, ON) if i.entry.id == overdue.id).overdue


# --- pages and the API --------------------------------------------------------------------------

def _form(entry, **changes):
    data = entry.as_data()
    form = {k: v for k, v in data.items() if not isinstance(v, list)}
    form |= {"similar": "\n".join(data["similar"]), "keywords": "\n".join(data["keywords"]),
             "policy_basis": "\n".join(f"{b['name']}|{b['number']}|{b['article']}" for b in data["policy_basis"]),
             "note": "页面修改", "op": "save", "version": entry.version}
    return form | changes


def test_editor_page_submits_for_review_and_own_approval_is_refused_on_the_page(client, login, db):
    entry = make_entry(answer="旧口径。")
    db.commit()
    author = login("kb_editor")
    response = client.post(f"/kb/{entry.id}/edit", data=_form(entry, answer="页面上改的口径。"), follow_redirects=True)
    assert "已提交审核" in response.get_data(as_text=True)
    db.expire_all()
    assert services.get_entry(entry.id).answer == "旧口径。"
    change = db.execute(select(EntryChange).where(EntryChange.entry_id == entry.id)).scalar_one()
    assert change.author_id == author.id
    page = client.get(f"/kb/changes/{change.id}").get_data(as_text=True)
    assert "您本人不能审核" in page and "审核通过并发布" not in page
    refused = client.post(f"/kb/changes/{change.id}", data={"op": "approve"})
    assert refused.status_code == 403 and "不能审核自己提交的修改" in refused.get_data(as_text=True)
    db.expire_all()
    assert services.get_entry(entry.id).answer == "旧口径。"


def test_a_second_editor_approves_on_the_page_and_the_entry_shows_the_reviewer(client, login, db):
    author = make_user("kb_editor")
    entry = make_entry(answer="旧口径。")
    change = _change(entry, author, answer="审核后的口径。").change
    db.commit()
    second = login("kb_editor")
    assert "审核" in client.get("/kb/changes").get_data(as_text=True)
    response = client.post(f"/kb/changes/{change.id}", data={"op": "approve", "note": "核对无误"})
    assert response.status_code == 302
    page = client.get(f"/kb/{entry.id}").get_data(as_text=True)
    assert "审核后的口径。" in page and f"最近审核：{second.display_name}" in page


def test_api_submit_then_own_approval_refused_then_another_editor_approves(client, bearer, db):
    author, second = make_user("kb_editor"), make_user("kb_editor")
    entry = make_entry(answer="旧口径。")
    db.commit()
    mine, theirs = bearer(author), bearer(second)
    response = client.post(f"/api/v1/kb/entries/{entry.id}/changes", headers=mine,
                           json={"answer": "接口改的口径。", "note": "接口修改", "version": 1})
    assert response.status_code == 202 and response.json["status"] == "pending_review"
    change_id = response.json["change"]["id"]
    own = client.post(f"/api/v1/kb/changes/{change_id}/approve", headers=mine, json={})
    assert own.status_code == 403 and own.json["error"]["code"] == "own_change"
    db.expire_all()
    assert services.get_entry(entry.id).answer == "旧口径。"
    listed = client.get("/api/v1/kb/changes", headers=theirs).json["changes"]
    assert any(c["id"] == change_id for c in listed)
    ok = client.post(f"/api/v1/kb/changes/{change_id}/approve", headers=theirs, json={"note": "可以"})
    assert ok.status_code == 200 and ok.json["change"]["state"] == "approved"
    db.expire_all()
    assert services.get_entry(entry.id).answer == "接口改的口径。"


@pytest.mark.parametrize("body, code", [
    ({"answer": "x", "note": "n"}, "bad_request"),
    ({"answer": "x", "note": "n", "version": 1, "colour": "red"}, "unknown_fields"),
    ({"answer": "", "note": "n", "version": 1}, "invalid"),
])
def test_api_refuses_bad_changes_with_a_json_error(client, bearer, db, body, code):
    editor = make_user("kb_editor")
    entry = make_entry()
    db.commit()
    response = client.post(f"/api/v1/kb/entries/{entry.id}/changes", headers=bearer(editor), json=body)
    assert response.status_code in (400, 422) and response.json["error"]["code"] == code


def test_operators_may_not_use_the_review_api(client, bearer, db):
    response = client.get("/api/v1/kb/changes", headers=bearer(make_user("operator")))
    assert response.status_code == 403


def test_due_page_lists_an_overdue_entry(client, login, db):
    entry = make_entry(review_date="2020-01-01")
    db.commit()
    login("kb_editor")
    body = client.get("/kb/due").get_data(as_text=True)
    assert entry.id in body and "已过期" in body


@pytest.mark.pg_only
def test_twenty_editors_submitting_one_entry_at_once_leave_one_change_waiting(committing_app):
    """The others are told a change is already waiting (409); none fails, none slips in beside it."""
    from tests.kb.test_concurrency import _form as concurrency_form
    from tests.races import http_race, in_new_session

    app = committing_app
    entry_id = in_new_session(app, lambda: make_entry().id)
    form = in_new_session(app, lambda: concurrency_form(services.get_entry(entry_id)) | {"version": "1"})
    names = in_new_session(app, lambda: [make_user("kb_editor").username for _ in range(20)])
    codes = http_race(app, names, lambda index, client: client.post(
        f"/kb/{entry_id}/edit", data=form | {"answer": f"第{index}人的口径。"}).status_code)
    assert sorted(codes) == [302] + [409] * 19, codes
    with app.app_context():
        waiting = services.session.execute(select(EntryChange).where(EntryChange.entry_id == entry_id)).scalars().all()
        assert len(waiting) == 1 and services.get_entry(entry_id).version == 1
        services.session.remove()


def test_an_editors_import_may_not_put_published_changes_live(client, login, db):
    login("kb_editor")
    response = upload_export_with(client, "F2", "导入后的口径。")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "不经审核直接上线" in body and 'name="token"' not in body
    db.expire_all()
    assert services.get_entry("Q001").answer != "导入后的口径。"

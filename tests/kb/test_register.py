"""The policy register: documents, links from entries, flags when a document is superseded, refusals."""

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from core.errors import DomainError
from kb import register, review
from kb.models import PolicyDocument
from tests.builders import make_user
from tests.kb.builders import make_entry


def _doc(title="测试救助办法", **overrides):
    data = {"title": title, "number": "测试〔2026〕1号", "issuer": "测试机关", "level": "国家", "status": "有效"}
    doc, _ = register.save_document(actor=None, now=clock.now(), data=data | overrides)
    return doc


def _basis(name):
    return [{"name": name, "number": "", "article": "第一条"}]


def test_the_bundled_seed_holds_the_law_with_its_confirmed_dates(db):
    law = register.by_title()[register.title_key("中华人民共和国社会救助法")]
    assert law.status == "有效" and law.effective_date.isoformat() == "2026-07-01"
    assert "主席令第七十五号" in law.number and "tv.cctv.com" in law.note
    assert register.by_title()[register.title_key("黑龙江省低收入人口认定办法（暂行）")].level == "省"


def test_basis_links_match_titles_ignoring_brackets_and_spaces(db):
    doc = _doc("测试 救助办法")
    links = register.basis_links([{"name": "《测试救助办法》", "number": "", "article": "第三条"},
                                  {"name": "不存在的文件", "number": "", "article": ""}])
    assert links[0].document.id == doc.id and links[1].document is None


def test_entries_with_an_unmatched_basis_are_listed(db):
    _doc()
    matched = make_entry(policy_basis=_basis("测试救助办法"))
    unmatched = make_entry(policy_basis=_basis("没登记的通知"))
    found = dict((e.id, names) for e, names in register.unmatched())
    assert found.get(unmatched.id) == ["没登记的通知"] and matched.id not in found


def test_marking_a_document_superseded_flags_its_entries_and_shows_operators_a_notice(db, client, login):
    old, new = _doc("旧救助办法"), _doc("新救助法")
    resting = make_entry(policy_basis=_basis("旧救助办法"))
    other = make_entry(policy_basis=_basis("新救助法"))
    _, flagged = register.save_document(actor=make_user("kb_editor"), now=clock.now(), doc_id=old.id,
                                        data=register._as_audit(old) | {"status": "被替代",
                                                                        "superseded_by_id": new.id})
    assert flagged == 1
    assert [f.reason for f in register.open_flags(resting.id)] == ["政策依据《旧救助办法》已被《新救助法》替代"]
    assert register.open_flags(other.id) == []
    assert resting.id in [i.entry.id for i in review.due_for_review(clock.today_local(), review.ReviewSettings())]
    db.commit()
    login("operator")
    for url in (f"/kb/{resting.id}", f"/kb/{resting.id}/card"):
        assert "本条待编辑复核" in client.get(url).get_data(as_text=True)


def test_a_recheck_clears_the_notice(db):
    old = _doc("将废止的办法")
    entry = make_entry(policy_basis=_basis("将废止的办法"))
    register.save_document(actor=None, now=clock.now(), doc_id=old.id, data=register._as_audit(old) | {"status": "已废止"})
    assert register.open_flags(entry.id)
    today = clock.today_local()
    review.recheck(actor=make_user("kb_editor"), now=clock.now(), entry=entry, note="已改依新法",
                   next_review=today.replace(year=today.year + 1), today=today)
    assert register.open_flags(entry.id) == []


def test_a_document_superseding_itself_is_refused(db):
    doc = _doc()
    with pytest.raises(DomainError, match="不能被它自己替代"):
        register.save_document(actor=None, now=clock.now(), doc_id=doc.id,
                               data=register._as_audit(doc) | {"status": "被替代", "superseded_by_id": doc.id})
    db.expire_all()
    assert db.get(PolicyDocument, doc.id).status == "有效"


def test_a_supersession_cycle_is_refused(db):
    a, b, c = _doc("甲办法"), _doc("乙办法"), _doc("丙办法")
    register.save_document(actor=None, now=clock.now(), doc_id=a.id,
                           data=register._as_audit(a) | {"status": "被替代", "superseded_by_id": b.id})
    register.save_document(actor=None, now=clock.now(), doc_id=b.id,
                           data=register._as_audit(b) | {"status": "被替代", "superseded_by_id": c.id})
    with pytest.raises(DomainError, match="循环"):
        register.save_document(actor=None, now=clock.now(), doc_id=c.id,
                               data=register._as_audit(c) | {"status": "被替代", "superseded_by_id": a.id})


@pytest.mark.parametrize("overrides, message", [
    ({"title": ""}, "文件名称不能为空"), ({"level": "县"}, "层级无效"), ({"status": "作废"}, "状态无效"),
    ({"status": "被替代"}, "请选择替代它的文件"), ({"effective_date": "去年"}, "生效日期格式"),
])
def test_bad_documents_are_refused_naming_the_problem(db, overrides, message):
    with pytest.raises(DomainError, match=message):
        _doc(**({"title": "某办法"} | overrides))


def test_document_changes_are_audited(db):
    doc = _doc("审计测试办法")
    event = db.execute(select(AuditEvent).where(AuditEvent.entity_type == "kb_policy_document",
                                                AuditEvent.entity_id == str(doc.id))).scalars().first()
    assert event is not None and "审计测试办法" in event.changes


def test_register_page_adds_a_document_and_refuses_a_cycle_with_a_message(client, login, db):
    login("kb_editor")
    form = {"title": "页面登记的办法", "number": "", "issuer": "", "level": "省", "effective_date": "",
            "status": "有效", "superseded_by_id": "", "note": "测试"}
    assert client.post("/kb/register", data=form).status_code == 302
    doc = register.by_title()[register.title_key("页面登记的办法")]
    response = client.post(f"/kb/register/{doc.id}", data=form | {"status": "被替代", "superseded_by_id": str(doc.id)})
    assert response.status_code == 422 and "不能被它自己替代" in response.get_data(as_text=True)
    assert "政策依据未在登记簿中的条目" in client.get("/kb/register").get_data(as_text=True)


def test_operators_cannot_open_the_register(client, login):
    login("operator")
    assert client.get("/kb/register").status_code == 403

"""Levels in the search API and pages, the matters and pair-note pages kb_editors keep, and `kb eval`
/ `kb search` on a fresh instance."""

import json

import pytest
from sqlalchemy import select

from audit.models import AuditEvent
from core import clock
from kb import scope
from kb.models import OutsideMatter, PairNote, SearchLog
from tests.builders import make_user


@pytest.fixture
def token(bearer):
    return bearer(make_user("operator"))


def _audited(db, entity_type: str, entity_id) -> list[str]:
    return list(db.execute(select(AuditEvent.action).where(AuditEvent.entity_type == entity_type,
                                                           AuditEvent.entity_id == str(entity_id))
                           .order_by(AuditEvent.id)).scalars())


def test_api_result_has_level_reason_and_department(client, token):
    body = client.get("/api/v1/kb/search?q=公积金怎么提取出来", headers=token).get_json()
    assert body["level"] == "out_of_scope" and body["confident"] is False
    assert body["level_label"] == "不在知识库" and "住房公积金" in body["reason"]
    assert body["dispatch_to"] == "市住房公积金管理中心"
    sure = client.get("/api/v1/kb/search?q=申请低保需要准备哪些材料", headers=token).get_json()
    assert sure["level"] == "sure" and sure["confident"] is True and sure["dispatch_to"] is None


def test_page_json_carries_the_level(client, login):
    login("operator")
    body = client.get("/kb/search.json?q=低保标准是多少").get_json()
    assert body["level"] in ("sure", "maybe", "out_of_scope") and body["reason"]
    assert body["confident"] == (body["level"] == "sure")


def test_matters_page_adds_edits_and_deletes_with_audit(client, login, db):
    login("kb_editor")
    response = client.post("/kb/matters", data={"matter": "测试事项", "department": "测试局",
                                                "terms": "测试甲乙、测试丙丁"})
    assert response.status_code == 302
    row = db.execute(select(OutsideMatter).where(OutsideMatter.matter == "测试事项")).scalar_one()
    assert row.terms == ["测试甲乙", "测试丙丁"]
    assert "测试甲乙" in client.get(f"/kb/matters?edit={row.id}").get_data(as_text=True)
    client.post("/kb/matters", data={"id": row.id, "matter": "测试事项", "department": "另一局", "terms": "测试甲乙"})
    db.expire_all()
    assert db.get(OutsideMatter, row.id).department == "另一局"
    client.post("/kb/matters", data={"op": "delete", "id": row.id})
    assert db.get(OutsideMatter, row.id) is None
    assert _audited(db, "kb_outside_matter", row.id) == ["create", "update", "delete"]


def test_matters_page_refuses_bad_input_in_chinese_and_writes_nothing(client, login, db):
    login("kb_editor")
    before = len(scope.matters())
    response = client.post("/kb/matters", data={"matter": "缺部门", "department": "", "terms": "缺部门说法"})
    assert response.status_code == 422 and "承办部门" in response.get_data(as_text=True)
    response = client.post("/kb/matters", data={"matter": "说法太短", "department": "某局", "terms": "甲"})
    assert response.status_code == 422 and "2到20个字" in response.get_data(as_text=True)
    assert len(scope.matters()) == before


def test_operators_may_not_edit_matters_or_pairs(client, login):
    login("operator")
    assert client.get("/kb/matters").status_code == 403
    assert client.post("/kb/pairs", data={"entry_a": "Q064", "entry_b": "Q065"}).status_code == 403


def test_an_edited_matter_reaches_the_next_search(client, login, token, db):
    q = "/api/v1/kb/search?q=我家的羊驼跑丢了找谁"
    assert client.get(q, headers=token).get_json()["dispatch_to"] != "测试动物局"
    login("kb_editor")
    client.post("/kb/matters", data={"matter": "动物走失", "department": "测试动物局", "terms": "羊驼"})
    db.commit()
    body = client.get(q, headers=token).get_json()
    assert body["level"] == "out_of_scope" and body["dispatch_to"] == "测试动物局"


def test_pair_note_is_saved_once_per_pair_and_shown_when_the_two_are_close(client, login, db):
    login("kb_editor")
    data = {"entry_a": "Q065", "entry_b": "Q064", "note": "看本人困难还是需要护理", "question": "是本人残疾还是家里人需要护理？"}
    assert client.post("/kb/pairs", data=data).status_code == 302
    assert client.post("/kb/pairs", data={**data, "note": "改过的区别"}).status_code == 302
    rows = db.execute(select(PairNote)).scalars().all()
    assert [(r.entry_a, r.entry_b, r.note) for r in rows] == [("Q064", "Q065", "改过的区别")]
    assert _audited(db, "kb_pair_note", rows[0].id) == ["create", "update"]
    assert client.post("/kb/pairs", data={**data, "entry_b": "Q065"}).status_code == 422


def test_pairs_page_offers_pairs_operators_mixed_up(client, login, db):
    user = make_user("operator")
    for i in range(2):
        db.add(SearchLog(at=clock.now(), user_id=user.id, query=f"残疾补贴{i}", result_ids='["Q064", "Q065"]',
                         opened_id="Q065", source="page"))
    db.commit()
    login("kb_editor")
    page = client.get("/kb/pairs").get_data(as_text=True)
    assert "entry_a=Q064&amp;entry_b=Q065" in page


def test_eval_reports_levels_and_confused_pairs(runner, tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("query\texpected\ttype\n申请低保需要准备哪些材料\tQ002\tkeyword\n公积金怎么提取出来\t-\toos\n",
                    encoding="utf-8")
    result = runner.invoke(args=["kb", "eval", str(path)])
    assert result.exit_code == 0, result.output
    assert "by level (in scope): 确定 1 queries, first answer right 1.000" in result.output
    assert "by level (out of scope): 确定 0.000 (0); 可能 0.000 (0); 不在知识库 1.000 (1)" in result.output


def test_eval_and_search_work_on_a_fresh_instance(tmp_path):
    """A fresh clone: no `flask init` was run; the commands create the schema and load the bundled KB."""
    from app import create_app

    app = create_app({"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret"})
    path = tmp_path / "q.tsv"
    path.write_text("query\texpected\ttype\n申请低保需要准备哪些材料\tQ002\tkeyword\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "eval", str(path)])
    assert result.exit_code == 0, result.output
    assert "top-1 1.000" in result.stdout and "loading the bundled data" in result.stderr
    again = runner.invoke(args=["kb", "search", "--jsonl"], input="低保标准是多少\n")
    assert again.exit_code == 0 and "loading" not in again.stderr
    assert json.loads(again.stdout)["level"] in ("sure", "maybe")
    app.extensions["hotline.engine"].dispose()

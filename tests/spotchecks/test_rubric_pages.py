"""The rubric page: supervisors propose, admins approve; bad weights get a clear message and change nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from spotchecks.models import RubricVersion
from spotchecks.rubric import FAULT_TYPES, Rubric


def _form(**changes) -> dict:
    rubric = Rubric()
    data = {name: str(value) for name, value in rubric.weights().items()}
    data |= {f"label_{k}": rubric.label(k) for k in FAULT_TYPES} | {f"measure_{k}": rubric.measures[k] for k in FAULT_TYPES}
    data["reason"] = "依据GB/T 33358调整"
    return data | {k: str(v) for k, v in changes.items()}


def test_a_supervisor_proposes_and_an_admin_approves_on_the_page(client, login, db):
    login("supervisor")
    page = client.get("/spotchecks/rubric").get_data(as_text=True)
    assert "出厂标准" in page and "响铃超过15秒才接听" in page and "合计须为100分" in page
    response = client.post("/spotchecks/rubric", data=_form(late=15, anonymous=5), follow_redirects=True)
    assert "已提交评分标准第1版，待管理员审批后生效" in response.get_data(as_text=True)
    login("admin")
    version = db.execute(select(RubricVersion)).scalar_one()
    response = client.post(f"/spotchecks/rubric/{version.id}/decide", data={"op": "approve", "note": "同意"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "评分标准第1版已批准" in page and "现行标准 · 第1版" in page and "扣15分" in page


def test_weights_that_do_not_add_up_are_refused_with_a_clear_message(client, login, db):
    login("supervisor")
    response = client.post("/spotchecks/rubric", data=_form(wrong=50))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "评分标准未提交：各项分值合计应为100分，现为110分" in page
    assert 'value="50"' in page  # the form keeps what was typed
    assert db.execute(select(func.count()).select_from(RubricVersion)).scalar_one() == 0
    response = client.post("/spotchecks/rubric", data=_form(ring="十五"))
    assert response.status_code == 422 and "“十五”不是整数" in response.get_data(as_text=True)


def test_caseworkers_cannot_reach_the_rubric_and_supervisors_cannot_approve(client, login, db):
    login("caseworker")
    assert client.get("/spotchecks/rubric").status_code == 403
    login("supervisor")
    client.post("/spotchecks/rubric", data=_form(ring=10))
    version = db.execute(select(RubricVersion)).scalar_one()
    assert client.post(f"/spotchecks/rubric/{version.id}/decide", data={"op": "approve"}).status_code == 403

import io

from sqlalchemy import select

from audit.models import AuditEvent
from kb import services
from tests.kb.builders import upload_export_with


def test_operator_browses_and_reads_entry_with_copyable_script(client, login):
    login("operator")
    page = client.get("/kb/").get_data(as_text=True)
    assert "Q001" in page and "最低生活保障" in page
    entry = client.get("/kb/Q005").get_data(as_text=True)
    assert "答复口径" in entry and "复制口径" in entry and "【未设置：" in entry


def test_operator_cannot_edit(client, login):
    login("operator")
    assert client.get("/kb/Q001/edit").status_code == 403


def test_editor_saves_a_change_with_note(client, login, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "KB_REVIEW_REQUIRED", False)  # goes live at once (review: test_review.py)
    login("kb_editor")
    form = client.get("/kb/Q003/edit")
    assert form.status_code == 200
    entry = services.get_entry("Q003")
    data = entry.as_data()
    payload = {k: v for k, v in data.items() if not isinstance(v, list)}
    payload |= {"similar": "\n".join(data["similar"]), "keywords": "\n".join(data["keywords"]),
                "policy_basis": "\n".join(f"{b['name']}|{b['number']}|{b['article']}" for b in data["policy_basis"]),
                "answer": "修改后的答复口径。请到乡镇申请。", "note": "测试修改", "op": "save", "version": entry.version}
    response = client.post("/kb/Q003/edit", data=payload)
    assert response.status_code == 302
    db.expire_all()
    assert services.get_entry("Q003").answer == "修改后的答复口径。请到乡镇申请。"
    history = client.get("/kb/Q003/history").get_data(as_text=True)
    assert "测试修改" in history and "<ins>" in history


def test_editor_save_without_note_shows_message_and_keeps_input(client, login, db):
    login("kb_editor")
    response = client.post("/kb/new", data={"id": "Q555", "category": "临时救助", "question": "新问题",
                                            "answer": "新口径。", "level": "国家", "status": "draft", "op": "save"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "修改说明" in body and "新问题" in body
    assert db.get(services.Entry, "Q555") is None


def test_editor_preview_does_not_save(client, login, db):
    login("kb_editor")
    response = client.post("/kb/new", data={"id": "Q556", "category": "临时救助", "question": "预览问题",
                                            "answer": "上限{{临时救助_乡镇审批上限}}。", "level": "国家",
                                            "status": "draft", "op": "preview"})
    assert response.status_code == 200 and "【未设置：" in response.get_data(as_text=True)
    assert db.get(services.Entry, "Q556") is None


def test_parameter_change_shows_on_entry_page(client, login):
    login("admin")
    response = client.post("/kb/parameters", data={"name": "低保标准_城市", "value": "735", "unit": "元/人·月",
                                                   "effective_date": "2026-01-01", "source": "测试文件"})
    assert response.status_code == 302
    assert "735元/人·月" in client.get("/kb/Q005").get_data(as_text=True)


def test_editor_cannot_set_parameters(client, login):
    login("kb_editor")
    response = client.post("/kb/parameters", data={"name": "低保标准_城市", "value": "1"})
    assert response.status_code == 403


def test_synonym_page_adds_and_deletes(client, login, db):
    login("kb_editor")
    assert client.post("/kb/synonyms", data={"term": "低保钱钱", "canonical": "低保金"}).status_code == 302
    syn = next(s for s in services.synonyms() if s.term == "低保钱钱")
    assert client.post("/kb/synonyms", data={"op": "delete", "id": syn.id}).status_code == 302


def test_import_page_previews_then_applies(client, login, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "KB_REVIEW_REQUIRED", False)  # with review: test_review.py
    login("kb_editor")
    preview = upload_export_with(client, "F2", "导入后的口径。第二句。")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "修改 <strong>1</strong> 条" in body
    assert services.get_entry("Q001").answer != "导入后的口径。第二句。"
    token = body.split('name="token" value="')[1].split('"')[0]
    done = client.post("/kb/import", data={"token": token, "filename": "kb.xlsx"})
    assert done.status_code == 302
    db.expire_all()
    assert services.get_entry("Q001").answer == "导入后的口径。第二句。"


def test_import_page_shows_errors_for_fake_xlsx(client, login):
    login("kb_editor")
    response = client.post("/kb/import", data={"file": (io.BytesIO(b"not a zip"), "fake.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "不是有效的xlsx" in response.get_data(as_text=True)


def test_export_is_audited(client, login, db):
    login("supervisor")
    response = client.get("/kb/export.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "export",
                                               AuditEvent.entity_type == "kb_entry")).first()


def test_new_entry_with_an_existing_id_is_refused(client, login, db):
    login("kb_editor")
    response = client.post("/kb/new", data={"id": "Q001", "category": "临时救助", "question": "重复编号",
                                            "answer": "口径。", "level": "国家", "status": "draft",
                                            "note": "新建", "op": "save"})
    assert response.status_code == 422 and "编号已存在" in response.get_data(as_text=True)
    assert services.get_entry("Q001").question != "重复编号"


def test_export_writes_formula_like_text_as_text_and_imports_back_unchanged(client, login, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "KB_REVIEW_REQUIRED", False)  # the tabbed row changes a published entry
    from tests.builders import FORMULA_VALUES, assert_written_as_text
    from tests.kb.builders import make_entry

    kept = [make_entry(contact=value, handling_unit=value).id for value in FORMULA_VALUES if value.strip() == value]
    tabbed = make_entry()
    tabbed.contact = tabbed.handling_unit = "\t=1+1"  # set on the row: the services strip a leading tab
    db.commit()
    login("kb_editor")
    export = client.get("/kb/export.xlsx")
    assert export.status_code == 200
    assert_written_as_text(export.data)
    preview = client.post("/kb/import", data={"file": (io.BytesIO(export.data), "kb.xlsx")},
                          content_type="multipart/form-data").get_data(as_text=True)
    assert "预览" in preview and not any(f"<td>{entry_id}</td><td>修改" in preview for entry_id in kept)

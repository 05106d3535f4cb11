"""Concurrent edits of one entry: a save from an older version writes nothing and shows what changed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core import clock
from core.db import session
from core.models import User
from kb import services
from kb.models import EntryVersion
from tests.builders import make_user
from tests.kb.builders import make_entry
from tests.races import http_race, in_new_session, race


def _edit(entry_id: str, answer: str, *, actor=None, base_version=None):
    entry = services.get_entry(entry_id)
    return services.save_entry(actor=actor, now=clock.now(), data=entry.as_data() | {"answer": answer},
                               note="修改口径", base_version=base_version)


def _version_count(entry_id: str) -> int:
    return session.execute(select(func.count()).select_from(EntryVersion)
                           .where(EntryVersion.entry_id == entry_id)).scalar_one()


def test_a_save_that_started_from_an_older_version_is_refused_and_writes_nothing(db):
    entry = make_entry()
    _edit(entry.id, "第一人改的口径。")
    with pytest.raises(services.StaleEntry, match="已被他人修改为第2版（您从第1版开始编辑）") as err:
        _edit(entry.id, "第二人改的口径。", base_version=1)
    assert (err.value.status, err.value.version, err.value.started_from) == (409, 2, 1)
    assert entry.answer == "第一人改的口径。" and _version_count(entry.id) == 2


def test_a_second_editor_with_the_old_entry_loaded_loses_the_race_not_the_first_editors_save(committing_app):
    app = committing_app
    entry_id = in_new_session(app, lambda: make_entry().id)
    with app.app_context():
        entry = services.get_entry(entry_id)
        session.commit()  # this editor's session still holds version 1 when the other saves
        in_new_session(app, lambda: _edit(entry_id, "先保存的口径。"))
        with pytest.raises(services.StaleEntry):
            services.save_entry(actor=None, now=clock.now(), data=entry.as_data() | {"answer": "后保存的口径。"},
                                note="修改口径")
        session.rollback()
        saved = services.get_entry(entry_id)
        assert (saved.version, saved.answer, _version_count(entry_id)) == (2, "先保存的口径。", 2)


def _form(entry) -> dict:
    data = entry.as_data()
    return {**{k: v for k, v in data.items() if not isinstance(v, list)},
            "similar": "\n".join(data["similar"]), "keywords": "\n".join(data["keywords"]),
            "policy_basis": "\n".join(f"{b['name']}|{b['number']}|{b['article']}" for b in data["policy_basis"]),
            "note": "我的修改说明", "op": "save"}


def test_a_stale_save_on_the_editor_page_gets_409_with_the_other_change_and_keeps_the_typed_text(client, login, db,
                                                                                                app, monkeypatch):
    monkeypatch.setitem(app.config, "KB_REVIEW_REQUIRED", False)  # saves go live at once (review: test_review.py)
    login("kb_editor")
    other = make_user("kb_editor", display_name="李编辑")
    entry = make_entry(answer="原来的口径。")
    db.commit()
    page = client.get(f"/kb/{entry.id}/edit").get_data(as_text=True)
    assert re.search(r'name="version" value="1"', page)
    typed = _form(entry) | {"answer": "我改的口径。", "version": "1"}
    _edit(entry.id, "李编辑改的口径。", actor=other)
    db.commit()
    response = client.post(f"/kb/{entry.id}/edit", data=typed)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "已被他人修改为第2版" in body and "李编辑" in body and "<del>原来</del><ins>李编辑改</ins>的口径。" in body
    assert "政策依据" not in body.split("<form")[0]
    assert "我改的口径。</textarea>" in body and 'value="我的修改说明"' in body
    assert 'name="version" value="2"' in body
    db.expire_all()
    assert services.get_entry(entry.id).answer == "李编辑改的口径。" and _version_count(entry.id) == 2
    again = client.post(f"/kb/{entry.id}/edit", data=typed | {"version": "2"})
    assert again.status_code == 302
    db.expire_all()
    assert services.get_entry(entry.id).answer == "我改的口径。" and _version_count(entry.id) == 3


def test_an_edit_without_the_version_it_started_from_is_refused(client, login, db):
    login("kb_editor")
    entry = make_entry()
    db.commit()
    response = client.post(f"/kb/{entry.id}/edit", data=_form(entry) | {"answer": "无版本号的修改。"})
    assert response.status_code == 400 and "缺少版本号" in response.get_data(as_text=True)
    db.expire_all()
    assert services.get_entry(entry.id).version == 1


@pytest.mark.pg_only
def test_twenty_parallel_saves_of_one_entry_one_is_saved_the_rest_told_and_none_fails(committing_app, backend):
    app = committing_app
    entry_id = in_new_session(app, lambda: make_entry().id)
    editors = in_new_session(app, lambda: [make_user("kb_editor").id for _ in range(20)])
    with app.app_context():
        revision = services.current_revision()

    def save(index, ready):
        entry, actor = services.get_entry(entry_id), session.get(User, editors[index])
        ready()
        services.save_entry(actor=actor, now=clock.now(), data=entry.as_data() | {"answer": f"第{index}人的口径。"},
                            note="并发修改", base_version=1)
        return index

    results = race(app, backend, 20, save)
    saved = [r for r in results if isinstance(r, int)]
    assert len(saved) == 1 and all(isinstance(r, services.StaleEntry) for r in results if not isinstance(r, int))
    with app.app_context():
        entry = services.get_entry(entry_id)
        assert (entry.version, entry.answer, _version_count(entry_id)) == (2, f"第{saved[0]}人的口径。", 2)
        assert services.current_revision() == revision + 1


@pytest.mark.pg_only
def test_twenty_editors_saving_one_entry_over_http_one_is_saved_and_nineteen_get_409(committing_app, monkeypatch):
    """On SQLite the requests queue for the write lock; on PostgreSQL they overlap. Either way: no 500, no lost save."""
    app = committing_app
    monkeypatch.setitem(app.config, "KB_REVIEW_REQUIRED", False)  # saves go live at once (review: test_review.py)
    entry_id = in_new_session(app, lambda: make_entry().id)
    form = in_new_session(app, lambda: _form(services.get_entry(entry_id)) | {"version": "1"})
    names = in_new_session(app, lambda: [make_user("kb_editor").username for _ in range(20)])
    codes = http_race(app, names, lambda index, client: client.post(
        f"/kb/{entry_id}/edit", data=form | {"answer": f"第{index}人的口径。"}).status_code)
    assert sorted(codes) == [302] + [409] * 19, codes
    with app.app_context():
        entry = services.get_entry(entry_id)
        assert entry.version == 2 and _version_count(entry_id) == 2
        session.remove()

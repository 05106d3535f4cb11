import shutil

from sqlalchemy import func, select

from core import clock
from kb import bundle, services
from kb.models import EntryVersion


def _count(db):
    return db.execute(select(func.count()).select_from(EntryVersion)).scalar_one()


def test_load_twice_makes_no_new_versions(db):
    before = _count(db)
    counts = bundle.load(now=clock.now())
    assert counts["created"] == counts["updated"] == 0 and _count(db) == before


def test_changed_file_becomes_new_version_and_nothing_else_changes(db, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(bundle.DATA, data)
    path = data / "entries" / "Q010.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("status: published", "status: published\n# edited"),
                    encoding="utf-8")
    q010 = services.get_entry("Q010")
    version = q010.version
    counts = bundle.load(now=clock.now(), data_dir=data)
    assert counts["updated"] == 0 and q010.version == version  # a comment is no content change
    path.write_text(path.read_text(encoding="utf-8").replace("level: 国家", "level: 省"), encoding="utf-8")
    counts = bundle.load(now=clock.now(), data_dir=data)
    assert counts["updated"] == 1 and q010.version == version + 1 and q010.level == "省"


def test_app_edit_survives_reload_of_unchanged_file(db):
    q020 = services.get_entry("Q020")
    services.save_entry(actor=None, now=clock.now(), data=q020.as_data() | {"answer": "编辑改过的口径。"}, note="编辑")
    bundle.load(now=clock.now())
    assert q020.answer == "编辑改过的口径。"

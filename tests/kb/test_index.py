"""The search index follows the database: built once, rebuilt on change, never served half-built."""

import json
import shutil
import threading

import pytest

from core import clock
from kb import index, services
from tests.kb.builders import make_entry


@pytest.fixture
def root(tmp_path):
    return tmp_path / "search"


def test_rebuild_is_skipped_when_revision_is_current(db, root):
    first = index.rebuild(root)
    assert index.rebuild(root) == first and first.entries >= 100


def test_holder_follows_a_kb_change(app, db, root):
    holder = index.IndexHolder(root, poll_seconds=0)
    engine = holder.engine(app)
    assert not any(h.id == "Q901" for h in engine.search("蓝莓种植补贴怎么领", limit=5).hits)
    make_entry(id="Q901", question="蓝莓种植补贴怎么领?", keywords=["蓝莓种植补贴"])
    engine = holder.engine(app)
    assert engine.search("蓝莓种植补贴怎么领", limit=5).hits[0].id == "Q901"


def test_retired_entry_disappears_from_search(app, db, root):
    holder = index.IndexHolder(root, poll_seconds=0)
    entry = services.get_entry("Q079")
    assert holder.engine(app).search(entry.question, limit=1).hits[0].id == "Q079"
    services.set_status(actor=None, now=clock.now(), entry=entry, status="retired", note="测试")
    assert all(h.id != "Q079" for h in holder.engine(app).search(entry.question, limit=5).hits)


def test_missing_index_is_rebuilt_at_start(app, db, root):
    info = index.rebuild(root)
    shutil.rmtree(root / info.directory)
    holder = index.IndexHolder(root)
    assert holder.engine(app).search("低保", limit=1).hits


def test_corrupt_index_is_rebuilt_at_start(app, db, root):
    info = index.rebuild(root)
    for path in (root / info.directory).iterdir():
        path.write_bytes(b"garbage")
    holder = index.IndexHolder(root)
    assert holder.engine(app).search("特困供养", limit=1).hits
    assert holder.info.directory != info.directory


def test_corrupt_pointer_is_rebuilt(app, db, root):
    index.rebuild(root)
    (root / index.POINTER).write_text("{not json", encoding="utf-8")
    assert index.IndexHolder(root).engine(app).search("临时救助", limit=1).hits
    assert json.loads((root / index.POINTER).read_text())["entries"] >= 100


def test_concurrent_builders_do_not_clash(committing_app, tmp_path):
    """Three builders at once (as several workers starting together): one builds, the others wait and
    reuse its index; no Whoosh lock errors, one index directory."""
    root = tmp_path / "race"
    errors, results = [], []
    barrier = threading.Barrier(3)

    def build():
        try:
            with committing_app.app_context():
                from core.db import session

                barrier.wait(timeout=10)
                results.append(index.rebuild(root))
                session.remove()
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.directory for r in results}) == 1
    assert len([p for p in root.glob("rev-*") if p.is_dir()]) == 1

"""The search index follows the database: built once, rebuilt on change, never served half-built."""

import json
import marshal
import os
import shutil
import threading
import time

import pytest

from core import clock
from kb import index, lookup, services
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


# --- hardening: what a web worker does when its index is missing, stale or damaged -------------------

class _Worker:
    """What IndexHolder reads of a web worker's app (not testing: builds are detached)."""

    def __init__(self, instance_path):
        self.testing = False
        self.instance_path = str(instance_path)
        self.config = {"DATABASE_URL": "sqlite://"}


class _Build:
    """A detached build that has not finished: `wait` blocks until the test lets it end."""

    def __init__(self):
        self.done = threading.Event()

    def wait(self):
        self.done.wait(10)
        return 0


@pytest.fixture
def spawned(monkeypatch):
    builds = []

    def spawn(instance_path, database_url, *, force, env=""):
        builds.append(_Build())
        return builds[-1]

    monkeypatch.setattr(index, "_spawn_build", spawn)
    yield builds
    for build in builds:
        build.done.set()


def test_worker_without_an_index_answers_at_once_and_starts_one_detached_build(app, db, root, spawned):
    holder = index.IndexHolder(root, poll_seconds=0)
    worker = _Worker(root.parent)
    started = time.perf_counter()
    for _ in range(3):
        with pytest.raises(index.IndexUnavailable):
            holder.engine(worker)
    assert time.perf_counter() - started < 1
    assert len(spawned) == 1
    spawned[0].done.set()
    index.rebuild(root)  # what the detached build does
    deadline = time.time() + 5
    while holder._building and time.time() < deadline:
        time.sleep(0.01)
    assert holder.engine(worker).search("低保", limit=1).hits


def test_worker_serves_its_last_index_while_a_newer_one_builds(app, db, root, spawned):
    index.rebuild(root)
    holder = index.IndexHolder(root, poll_seconds=0)
    worker = _Worker(root.parent)
    holder.engine(worker)
    make_entry(id="Q902", question="苹果种植补贴怎么领?", keywords=["苹果种植补贴"])
    holder._stale_since = time.monotonic() - 10  # the scheduler has not caught up for a while
    assert holder.engine(worker).search("低保", limit=1).hits  # served from the old index, no wait
    assert len(spawned) == 1


def test_truncated_index_file_is_refused_before_it_is_opened(app, db, root):
    info = index.rebuild(root)
    victim = max((p for p in (root / info.directory).iterdir() if p.name != index.MANIFEST),
                 key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with pytest.raises(ValueError, match="differs from its manifest"):
        index.check_directory(root / info.directory)
    holder = index.IndexHolder(root)
    assert holder.engine(app).search("特困供养", limit=1).hits  # rebuilt, not crashed
    assert holder.info.directory != info.directory


def test_half_built_folders_are_removed_by_the_next_build(db, root):
    index.rebuild(root)
    dead = root / "rev-7-deadbeef"
    dead.mkdir()
    (dead / "_MAIN_1.toc").write_bytes(b"half")
    old = time.time() - 600
    os.utime(dead, (old, old))
    index.rebuild(root, force=True)
    assert not dead.exists()
    assert len([p for p in root.glob("rev-*") if p.is_dir()]) <= 2


def test_retired_entry_is_never_served_by_an_index_that_has_not_caught_up(app, db, root):
    holder = index.IndexHolder(root, poll_seconds=10**9)  # never follows the database
    engine = holder.engine(app)
    entry = services.get_entry("Q079")
    assert lookup.search(engine, entry.question, 1).hits[0].id == "Q079"
    services.set_status(actor=None, now=clock.now(), entry=entry, status="retired", note="测试")
    result = lookup.search(engine, entry.question, 5)
    assert result.hits and all(h.id != "Q079" for h in result.hits)
    assert len(result.hits) == 5


def test_parameter_change_reaches_every_worker_without_a_search(app, db, tmp_path):
    workers = [index.IndexHolder(tmp_path / f"host-{n}", poll_seconds=10**9) for n in range(2)]
    today = clock.today_local()
    before = [w.parameter_states(today)["低保标准_城市"].rendered for w in workers]
    services.set_parameter(actor=None, now=clock.now(), name="低保标准_城市", value="987", unit="元/人·月",
                           effective_date=today)
    assert before[0] == before[1] != "987元/人·月"
    assert [w.parameter_states(today)["低保标准_城市"].rendered for w in workers] == ["987元/人·月"] * 2


def _rows(directory):
    import sqlite3

    with sqlite3.connect(directory / "docs.sqlite") as db:
        return {i: (rr, show) for i, rr, show in db.execute("SELECT id, rr, show FROM doc")}


def _impacts(directory):
    import pickle

    with open(directory / "search.pickle", "rb") as fh:
        return pickle.load(fh)["impacts"]


def test_an_edit_rewrites_only_that_entry_in_the_index(app, db, root):
    before = index.rebuild(root)
    entry = services.get_entry("Q005")
    data = entry.as_data() | {"answer": entry.answer + "另可拨打蓝莓热线咨询。"}
    services.save_entry(actor=None, now=clock.now(), data=data, note="补充咨询方式")
    after = index.rebuild(root)
    assert (before.mode, after.mode) == ("full", "update") and after.directory != before.directory
    old, new = _rows(root / before.directory), _rows(root / after.directory)
    assert [i for i in new if new[i] != old[i]] == ["Q005"] and new.keys() == old.keys()
    old_impacts, new_impacts = _impacts(root / before.directory), _impacts(root / after.directory)
    q005_tokens = {t for rows in (old, new) for part in ("E", "A") for t in marshal.loads(rows["Q005"][0])[part]}
    assert {t for t in new_impacts if new_impacts[t] != old_impacts.get(t)} <= q005_tokens
    engine = index.IndexHolder(root).engine(app)
    assert "Q005" in [h.id for h in engine.search("蓝莓热线", limit=5).hits]


def test_an_incremental_update_finds_added_and_removed_entries(app, db, root):
    index.rebuild(root)
    make_entry(id="Q904", question="冬季送炭到户补助怎么领?", keywords=["临时救助"])
    services.set_status(actor=None, now=clock.now(), entry=services.get_entry("Q079"), status="retired", note="测试")
    info = index.rebuild(root)
    assert info.mode == "update" and info.entries == len(index.entry_documents())
    engine = index.IndexHolder(root).engine(app)
    assert engine.search("冬季送炭到户补助", limit=1).hits[0].id == "Q904"
    question = services.get_entry("Q079").question
    assert all(h.id != "Q079" for h in engine.search(question, limit=10).hits)


def test_a_lexicon_change_rebuilds_the_index_in_full(app, db, root):
    index.rebuild(root)
    services.save_synonym(actor=None, now=clock.now(), term="蓝莓钱", canonical_term="临时救助")
    assert index.rebuild(root).mode == "full"
    make_entry(id="Q905", question="新词条目", keywords=["蓝莓种植补贴"])  # a word the dictionary lacks
    assert index.rebuild(root).mode == "full"
    make_entry(id="Q906", question="另一个条目", keywords=["临时救助"])
    assert index.rebuild(root).mode == "update"

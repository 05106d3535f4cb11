from pathlib import Path

from core import clock
from kb import index, jobs
from tests.kb.builders import make_entry


def test_job_rebuilds_only_when_the_kb_changed(app, db):
    root = Path(app.instance_path) / "search"
    jobs.follow_search_index(clock.now())
    assert jobs.follow_search_index(clock.now()) == ""
    make_entry(id="Q902", question="测试:一个新条目")
    assert "search index updated" in jobs.follow_search_index(clock.now())
    assert index.read_pointer(root).entries == len(index.entry_documents())


def test_two_hosts_each_follow_the_shared_database(app, db, tmp_path):
    """Two hosts on one database keep their own index; a change made on one is searchable on both."""
    host_a = index.IndexHolder(tmp_path / "host-a", poll_seconds=0)
    host_b = index.IndexHolder(tmp_path / "host-b", poll_seconds=0)
    host_a.engine(app), host_b.engine(app)
    make_entry(id="Q903", question="冬季送炭到户补助怎么领?", keywords=["送炭到户"])
    for host in (host_a, host_b):
        assert host.engine(app).search("送炭到户补助", limit=3).hits[0].id == "Q903"
    assert host_a.info.directory != host_b.info.directory


def test_writes_go_on_while_the_scheduler_rebuilds_the_index(committing_app, monkeypatch):
    """The index job holds no transaction while it builds: on SQLite a write elsewhere is not blocked."""
    import threading
    import time

    import composition
    from audit import services as audit
    from core import db, scheduler
    from kb import services

    building, release = threading.Event(), threading.Event()
    real_build = index.SearchEngine.build

    def slow_build(cls, *args, **kwargs):
        building.set()
        release.wait(15)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(index.SearchEngine, "build", classmethod(slow_build))
    # other tests' rolled-back changes may have moved this host's pointer: start without one
    (Path(committing_app.instance_path) / "search" / index.POINTER).unlink(missing_ok=True)
    with committing_app.app_context(), db.transaction():
        services.bump_revision(clock.now())
    job = next(j for j in composition.JOBS if j.name == "kb_search_index")
    worker = threading.Thread(target=scheduler.run_job, args=(committing_app, job))
    worker.start()
    try:
        assert building.wait(30)
        started = time.perf_counter()
        with committing_app.app_context(), db.transaction():
            audit.record("update", "probe", "during-build", actor=None, now=clock.now())
        took = time.perf_counter() - started
    finally:
        release.set()
        worker.join(60)
    assert took < 1, f"a write waited {took:.1f}s for the index build"

from pathlib import Path

from core import clock
from kb import index, jobs
from tests.kb.builders import make_entry


def test_job_rebuilds_only_when_the_kb_changed(app, db):
    root = Path(app.instance_path) / "search"
    jobs.follow_search_index(clock.now())
    assert jobs.follow_search_index(clock.now()) == ""
    make_entry(id="Q902", question="测试:一个新条目")
    assert "rebuilt" in jobs.follow_search_index(clock.now())
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

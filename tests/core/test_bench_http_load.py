"""bench.http_load measures the command line `make run` starts, and does not count a saturated run."""

from pathlib import Path

from bench import http_load
from core import serve


def test_default_command_is_the_deployed_one():
    instance = Path("/tmp/instance")
    assert http_load.gunicorn_command("127.0.0.1:1", instance, 2, "deployed") == serve.gunicorn_args("127.0.0.1:1",
                                                                                                    instance, 2)


def test_sync_command_differs_only_in_the_worker_class():
    instance = Path("/tmp/instance")
    deployed = serve.gunicorn_args("127.0.0.1:1", instance, 2)
    sync = http_load.gunicorn_command("127.0.0.1:1", instance, 2, "sync")
    assert "gthread" not in sync and "--threads" not in sync and sync[1:3] == ["--worker-class", "sync"]
    assert [a for a in sync if a not in ("--worker-class", "sync")] == [
        a for a in deployed if a not in ("--worker-class", "gthread", "--threads", deployed[deployed.index("--threads") + 1])]


def _run(p99, healthz_p99, throughput, errors=0):
    return {"rate": 300, "offered": 330, "throughput": throughput, "errors": errors, "p99": p99,
            "healthz_p99": healthz_p99}


def test_target_is_twice_the_healthz_p99_while_keeping_up():
    assert http_load.meets(_run(20, 12, 329))
    assert not http_load.meets(_run(30, 12, 329))
    assert not http_load.meets(_run(20, 12, 329, errors=1))


def test_saturated_run_misses_though_both_p99s_are_equally_long():
    assert not http_load.meets(_run(10000, 9900, 218))


def test_worker_recycling_can_be_turned_off_for_a_run():
    args = http_load.gunicorn_command("127.0.0.1:1", Path("/tmp/instance"), 2, "deployed", max_requests=0)
    assert args[args.index("--max-requests") + 1] == "0"

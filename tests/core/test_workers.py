"""The embedded default as deployed: file SQLite under gunicorn with two workers.

A never-used and an idle API token, parallel page loads, API writes and a search-index rebuild by
another process: no request may wait on a lock (its own request's or a build's)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("gunicorn", path=str(BIN)) is None, reason="gunicorn not installed")]


def _flask(env, *args):
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=40) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    return status, time.perf_counter() - started


@pytest.fixture
def served(tmp_path):
    """An initialised instance served by gunicorn (two workers, no scheduler), with an operator and
    three API tokens: one to warm up with, one never used, one idle for an hour."""
    env = dict(os.environ, HOTLINE_INSTANCE_PATH=str(tmp_path), HOTLINE_ENV="development",
               HOTLINE_LOG_LEVEL="warning")  # no request lines into the stderr pipe
    env.pop("DATABASE_URL", None)
    env.pop("HOTLINE_DATABASE_URL", None)
    _flask(env, "init")
    _flask(env, "users", "create", "probe", "--role", "operator", "--password", "Probe12345")
    tokens = {name: _flask(env, "users", "token", "probe") for name in ("warm", "never_used", "idle")}
    # Issue 11: calls are announced by the telephony account (naming the operator), not by operators.
    _flask(env, "users", "create", "pbx", "--role", "telephony", "--password", "Pbx1234567")
    tokens["telephony"] = _flask(env, "users", "token", "pbx")
    database = next(tmp_path.glob("*.db"))
    with sqlite3.connect(database) as conn:  # the idle token was last used an hour ago
        conn.execute("UPDATE api_token SET last_used_at = datetime('now', '-1 hour') WHERE id = 3")
    port = _port()
    server = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "30",
                               "--no-control-socket", "app:app"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while _try(port, "/api/v1/kb/search?q=" + urllib.request.quote("低保"), tokens["warm"]) != 200:
            assert time.time() < deadline, "gunicorn did not start serving searches"
            time.sleep(0.3)
        yield {"port": port, "env": env, "tokens": tokens, "database": database}
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
        assert "Traceback" not in errors and "WORKER TIMEOUT" not in errors, errors[-3000:]


def _try(port: int, path: str, token: str) -> int:
    try:
        return _request(port, path, token)[0]
    except OSError:
        return 0


def test_tokens_reads_and_writes_answer_at_once_during_a_rebuild(served):
    port, tokens = served["port"], served["tokens"]
    rebuild = subprocess.Popen([str(BIN / "flask"), "--app", "app", "kb", "reindex"], cwd=ROOT, env=served["env"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    jobs = []
    for i in range(12):
        jobs += [
            ("GET", "/api/v1/kb/search?q=" + urllib.request.quote("低保怎么申请"), tokens["never_used"], None),
            ("GET", "/api/v1/me", tokens["idle"], None),
            ("GET", "/hotlines", None, None),
            ("GET", "/accounts/login", None, None),
            ("POST", "/api/v1/calls", tokens["telephony"], {"caller_number": "13800000000", "external_id": f"race-{i}",
                                                            "operator": "probe"}),
        ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: (job, *_request(port, job[1], job[2], job[3])), jobs))
    assert rebuild.wait(timeout=120) == 0, rebuild.stderr.read()
    failures = [(job[0], job[1], status) for job, status, _took in results if status >= 400]
    assert not failures
    slowest = max(results, key=lambda r: r[2])
    assert slowest[2] < 2.0, f"{slowest[0][0]} {slowest[0][1]} took {slowest[2]:.2f}s"
    with sqlite3.connect(served["database"]) as conn:
        stamped = dict(conn.execute("SELECT id, last_used_at > datetime('now', '-10 minutes') FROM api_token"))
        calls = conn.execute("SELECT count(*) FROM call WHERE external_id LIKE 'race-%'").fetchone()[0]
    assert stamped[2] and stamped[3], "the never-used and the idle token's use was not stamped"
    assert calls == 12

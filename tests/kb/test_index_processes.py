"""The index under real processes: gunicorn with two workers, no scheduler, a KB change made by
another process. Workers must serve, rebuild out of process when the database moves, and never hit
a Whoosh lock error."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env, *args, **kw):
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, **kw)


def _search(port, token, q):
    url = f"http://127.0.0.1:{port}/api/v1/kb/search?" + urllib.parse.urlencode({"q": q, "limit": 3})
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.skipif(shutil.which("gunicorn", path=str(BIN)) is None, reason="gunicorn not installed")
def test_gunicorn_workers_follow_a_change_made_elsewhere(tmp_path):
    env = dict(os.environ, HOTLINE_INSTANCE_PATH=str(tmp_path), HOTLINE_SEARCH_INDEX_POLL_SECONDS="1",
               HOTLINE_LOG_LEVEL="warning")  # no request lines into the stderr pipe
    env.pop("DATABASE_URL", None)
    env.pop("HOTLINE_DATABASE_URL", None)
    _flask(env, "init")
    shutil.rmtree(tmp_path / "search")  # workers must build it themselves
    _flask(env, "users", "create", "probe", "--role", "operator", "--password", "Probe12345")
    token = _flask(env, "users", "token", "probe").stdout.strip()
    port = _port()
    server = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
                               "app:app"],
                              cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                first = _search(port, token, "低保怎么申请")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        assert first["results"]
        entry = tmp_path / "new.yaml"
        entry.write_text(
            "id: Q950\ncategory: 临时救助\nquestion: 冬季送炭到户补助怎么领?\nlevel: 市\nstatus: published\n"
            "keywords: [送炭到户]\nsimilar: [冬天给送炭的补助咋领]\nanswer: 向乡镇(街道)申请。带身份证。\n",
            encoding="utf-8")
        _flask(env, "kb", "import", str(entry))  # another process changes the KB
        deadline = time.time() + 60
        found = False
        while time.time() < deadline and not found:
            found = any(_search(port, token, "送炭到户补助")["results"][0]["id"] == "Q950" for _ in range(4))
            time.sleep(0.5)
        assert found, "workers did not pick up the change"
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert "LockError" not in errors and "Traceback" not in errors, errors[-3000:]

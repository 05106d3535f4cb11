"""`make run`: gunicorn (2 threaded workers) and the scheduler process, side by side until Ctrl-C.

The workers are threaded (gthread): each operator's page holds one long-lived request open, the calls
stream (server-sent events, /api/v1/calls/stream). A sync worker serves one request at a time, so two
open operator pages would take both sync workers and every other request would wait until a stream
ended. With threads, a stream costs one mostly sleeping thread; each worker caps its streams at
STREAMS_PER_WORKER (beyond that the page polls), leaving REQUEST_THREADS threads for everything else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
WORKERS = 2
#: Calls streams one worker serves at once, notifications streams (every signed-in page's alerts badge),
#: and the threads left beside them for other requests.
STREAMS_PER_WORKER = 24
NOTIFICATION_STREAMS_PER_WORKER = 24
REQUEST_THREADS = 8


def gunicorn_args(bind: str, instance: Path, workers: int = WORKERS) -> list[str]:
    """How the web workers run: threaded (the calls streams, above), each instance with its own control
    socket (gunicorn's default path is shared by every instance on the host), workers recycled after tens of
    thousands of requests (a slow leak never grows for ever; at 5,000, a worker under 300 searches a second
    restarted cold every half minute and its streams dropped: a round's p99 went from 0.4 s to 4 s),
    requests logged by the app as JSON lines (see core.logs)."""
    return [str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread",
            "--threads", str(STREAMS_PER_WORKER + NOTIFICATION_STREAMS_PER_WORKER + REQUEST_THREADS), "--bind", bind, "--graceful-timeout", "10",
            "--max-requests", "50000", "--max-requests-jitter", "5000",
            "--control-socket", str(instance / "gunicorn.ctl"), "app:app"]


def main() -> int:
    from core import config, monitoring

    bind = os.environ.get("HOTLINE_BIND", "127.0.0.1:5000")
    instance = Path(config.load()["INSTANCE_PATH"])
    env = dict(os.environ, PYTHONFAULTHANDLER="1",  # a hung or crashing worker dumps every thread's stack
               **{monitoring.MULTIPROC_ENV: str(monitoring.prepare_multiproc_dir(instance))})
    web = subprocess.Popen(gunicorn_args(bind, instance), env=env)
    jobs = subprocess.Popen([str(BIN / "flask"), "--app", "app", "scheduler"], env=env)
    print(f"Hotline Desk: http://{bind}/  (Ctrl-C to stop)", flush=True)
    procs = [web, jobs]
    stopping = False

    def stop(*_args):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for proc in procs:
            if proc.poll() is not None:
                print(f"process {proc.args[0]} exited with {proc.returncode}; stopping", file=sys.stderr)
                code = proc.returncode or 1
                stopping = True
        time.sleep(0.5)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    return code


if __name__ == "__main__":
    raise SystemExit(main())

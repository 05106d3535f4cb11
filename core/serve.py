"""`make run`: gunicorn (2 workers) and the scheduler process, side by side until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    bind = os.environ.get("HOTLINE_BIND", "127.0.0.1:5000")
    web = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", bind, "--access-logfile", "-",
                            "--graceful-timeout", "10", "app:app"])
    jobs = subprocess.Popen([str(BIN / "flask"), "--app", "app", "scheduler"])
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

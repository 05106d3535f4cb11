"""Every benchmark in one go (`make bench`): search quality beside the baselines, in-process latency at
100 and 10,000 entries with cold start and RSS, the three levels on the four dev files with cost per
query by length band beside FTS5 + jieba (at 100 and at 10,100 entries), the city-wide KB (the dev
files on 100 vs 10,100 entries, and the index build), a KB edit's way to two hosts, then the CPU a
search request costs around the engine (Flask test client), then HTTP latency of the search beside
/healthz under gunicorn as deployed (gthread) at 300 requests/s and the highest rate that still meets
the target, then the live-call assist replayed through the HTTP API, then the operator's keystrokes
and seconds from answer to a recorded call and to a saved ticket (Playwright)."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    steps = [
        [sys.executable, "-m", "bench.search_quality", "--scale", "10000", "--heldout"],
        [sys.executable, "-m", "bench.search_levels", "--citywide", "10000"],
        [sys.executable, "-m", "bench.citywide", "--entries", "10000"],
        [sys.executable, "-m", "bench.kb_edit", "--entries", "10000", "--edits", "3"],
        [sys.executable, "-m", "bench.search_request", "--requests", "1000", "--rounds", "3"],
        [sys.executable, "-m", "bench.http_load", "--rate", "300", "--seconds", "20", "--probe-rate", "30",
         "--rounds", "3", "--find-max"],
        [sys.executable, "-m", "bench.assist"],
        [sys.executable, "-m", "bench.operator_keystrokes", "--rounds", "3"],
    ]
    for cmd in steps:
        print(f"\n$ {' '.join(cmd[1:])}", flush=True)
        code = subprocess.call(cmd)
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

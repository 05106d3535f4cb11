"""CPU per request of /api/v1/kb/search through the whole Flask stack, beside /healthz and beside the
engine's own search, in one process (no sockets, no gunicorn): what the request path adds to a search.

    python -m bench.search_request [--requests 2000] [--profile 25]

Sets up a throw-away instance like bench.http_load (SQLite, bundled KB, one API token), configured as
deployed (production logging at info, the app's defaults), then sends the dev queries through the test
client and counts process CPU time (time.process_time) per request, median of --rounds rounds.
`--profile N` prints the N functions with the most cumulative time in one profiled round.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.http_load import _queries, _setup


def _app(instance: Path):
    from app import create_app

    app = create_app()
    # The request log goes where a deployed worker sends it (stderr, into the service's journal): kept
    # at info so its cost is counted, written to a null stream so it does not flood the terminal.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 -- lives as long as the process
    logging.getLogger().setLevel(logging.INFO)
    return app


def _cpu_per_request(client, paths: list[str], headers: dict) -> float:
    started = time.process_time()
    for path in paths:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    return (time.process_time() - started) * 1000 / len(paths)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions of a profiled round")
    args = parser.parse_args()
    queries = _queries()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        env, token = _setup(Path(tmp))
        os.environ.update({k: v for k, v in env.items() if k.startswith("HOTLINE_")})
        os.environ["HOTLINE_LOG_LEVEL"] = "info"
        app = _app(Path(tmp))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        searches = ["/api/v1/kb/search?" + urllib.parse.urlencode({"q": queries[i % len(queries)]})
                    for i in range(args.requests)]
        health = ["/healthz"] * args.requests
        _cpu_per_request(client, searches[:200], headers)  # open the index, warm the caches
        with app.app_context():
            from kb import index, lookup

            engine = index.holder_for(app).engine(app)
            started = time.process_time()
            for q in queries:
                lookup.search(engine, q, 5)
            engine_ms = (time.process_time() - started) * 1000 / len(queries)
        rounds = [(_cpu_per_request(client, searches, headers), _cpu_per_request(client, health, headers))
                  for _ in range(args.rounds)]
        search_ms = statistics.median(r[0] for r in rounds)
        health_ms = statistics.median(r[1] for r in rounds)
        print(f"{args.requests} requests × {args.rounds} rounds, {len(queries)} distinct queries, load average "
              f"{os.getloadavg()[0]:.2f}")
        print(f"CPU per request: search {search_ms:.2f} ms, /healthz {health_ms:.2f} ms; the engine's search "
              f"alone {engine_ms:.2f} ms; the request path around the search ≈ {search_ms - engine_ms:.2f} ms")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            _cpu_per_request(client, searches, headers)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

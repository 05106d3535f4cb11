"""An operator's search while two large exports are written, against the same search without them,
interleaved.

    python -m bench.exports_load --instance DIR [--database URL] [--rounds 3] [--window 5]

On an instance with the growth data (`python -m bench.growth generate --instance DIR --scale 0.25`) this
starts gunicorn as `core.serve` does (two threaded workers) and asks /api/v1/kb/search one query after
another, as an operator's search box does. Each round queues two exports of everything — the full audit
trail as CSV and the whole ticket board as xlsx — and starts two runners of the `exports` job
(`flask --app app scheduler --once exports`, one per export, as two hosts' schedulers would). Until they
finish, the runners are stopped (SIGSTOP) and continued (SIGCONT) every `--window` seconds: the searches
made while they run are "loaded", those made while they are stopped (holding the same open read
transactions) are "idle". Interleaving the two keeps load from other work on a shared machine on both sides.
Printed per round: p50/p99 of each and the ratio of the p99s, the runners' peak memory (VmHWM, from
wait4) and the exports' time; then the medians over the rounds. Targets (issue 14): search p99 with two
exports running ≤ 2× idle, a runner ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.growth import _app

#: Seconds between two searches of the simulated operator (typing, reading the results).
PAUSE = 0.05


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _prepare(app) -> tuple[str, list[str], int, int]:
    """A bearer token of an operator, the queries (the KB's own phrasings), the admin's and supervisor's ids."""
    from sqlalchemy import select, update

    from core import accounts, clock
    from core.db import session, transaction
    from core.models import Export, User
    from kb.index import entry_documents

    with app.app_context(), transaction():
        admin = session.execute(select(User).where(User.role == "admin", User.active)).scalars().first()
        supervisor = session.execute(select(User).where(User.role == "supervisor", User.active)).scalars().first()
        operator = session.execute(select(User).where(User.role == "operator", User.active)).scalars().first()
        # exports left queued or running by an interrupted run would be taken by this run's runners
        session.execute(update(Export).where(Export.state.in_(("queued", "running")))
                        .values(state="failed", error="导出失败：基准测试中断"))
        token = accounts.issue_token(actor=None, now=clock.now(), user=operator or supervisor, label="exports bench",
                                     days=1)
        queries = [p for doc in entry_documents()[:60] for p in [doc["question"], *doc["similar"][:2]]]
        return token, queries, admin.id, supervisor.id


def _queue_exports(app, admin_id: int, supervisor_id: int) -> list[int]:
    """The two largest exports there are: every audit event as CSV, every ticket on the board as xlsx."""
    from audit.services import EventFilter
    from core import clock, exports
    from core.db import session, transaction
    from core.models import User
    from tickets.queries import BoardFilter

    with app.app_context(), transaction():
        ids = []
        for user_id, kind, params in ((admin_id, "audit_csv", {"filter": EventFilter()}),
                                      (supervisor_id, "ticket_board", {"filter": BoardFilter()})):
            asked = exports.request_export(actor=session.get(User, user_id), now=clock.now(), kind=kind,
                                           params=params)
            if asked.export is None:
                raise SystemExit(f"{kind} is small enough to be written inline: generate more data")
            ids.append(asked.export.id)
        return ids


def _finished(app, ids: list[int]) -> list[tuple[str, str, int, float]]:
    """(kind, state, rows, seconds from start to finish) of the exports; their files are removed."""
    from core import exports
    from core.db import session
    from core.models import Export

    with app.app_context():
        out = []
        for export_id in ids:
            export = session.get(Export, export_id)
            took = (export.finished_at - export.started_at).total_seconds() if export.finished_at else float("nan")
            out.append((export.kind, export.state, export.done_rows, took))
            if export.stored_name:
                (exports.export_dir() / export.stored_name).unlink(missing_ok=True)
        session.remove()
        return out


class Searcher:
    """One operator searching over one keep-alive connection; each request's time in seconds."""

    def __init__(self, port: int, token: str, queries: list[str]):
        self.port, self.token, self.queries = port, token, queries
        self._i = 0
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def one(self) -> float:
        from urllib.parse import quote

        query = self.queries[self._i % len(self.queries)]
        self._i += 1
        started = time.perf_counter()
        try:
            self._conn.request("GET", f"/api/v1/kb/search?q={quote(query)}",
                               headers={"Authorization": f"Bearer {self.token}"})
            response = self._conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self._conn.close()
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        took = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"search answered {response.status}: {body[:200]!r}")
        return took

    def run_while(self, going) -> list[float]:
        times = []
        while going():
            times.append(self.one())
            time.sleep(PAUSE)
        return times


def _runner(env: dict[str, str], peaks: list[tuple[float, float]]) -> tuple[threading.Thread, int]:
    """One `exports` job run in its own process (its pid returned); its peak memory (MB) and wall time go to
    `peaks` when it ends."""
    bin_dir = Path(sys.executable).parent
    started = time.perf_counter()
    child = subprocess.Popen([str(bin_dir / "flask"), "--app", "app", "scheduler", "--once", "exports"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def reap() -> None:
        _pid, _status, usage = os.wait4(child.pid, 0)
        child.returncode = 0
        peaks.append((usage.ru_maxrss / 1024, time.perf_counter() - started))

    thread = threading.Thread(target=reap, daemon=True)
    thread.start()
    return thread, child.pid


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _interleaved(searcher: Searcher, runners: list[tuple[threading.Thread, int]], window: float
                 ) -> tuple[list[float], list[float]]:
    """(idle, loaded) search times: the runners continued and stopped by turns until they are done."""
    pids = [pid for _, pid in runners]
    idle: list[float] = []
    loaded: list[float] = []
    running = True

    def alive() -> bool:
        return any(thread.is_alive() for thread, _ in runners)

    try:
        while alive():
            until = time.monotonic() + window
            (loaded if running else idle).extend(
                searcher.run_while(lambda until=until: time.monotonic() < until and alive()))
            running = not running
            _signal(pids, signal.SIGCONT if running else signal.SIGSTOP)
    finally:
        _signal(pids, signal.SIGCONT)
    return idle, loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, required=True, help="an instance made by bench.growth generate")
    parser.add_argument("--database", default=None, help="its PostgreSQL URL (SQLite in the instance otherwise)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=5.0, help="seconds the runners run, then are stopped")
    args = parser.parse_args(argv)

    from core import monitoring, serve

    app = _app(args.instance.resolve(), args.database)
    token, queries, admin_id, supervisor_id = _prepare(app)
    env = dict(os.environ, PYTHONFAULTHANDLER="1", HOTLINE_INSTANCE_PATH=str(args.instance.resolve()),
               HOTLINE_DATABASE_URL=app.config["DATABASE_URL"], HOTLINE_SECRET_KEY=app.config["SECRET_KEY"],
               HOTLINE_AUDIT_KEY=app.config["AUDIT_KEY"], HOTLINE_LOG_LEVEL="warning",
               **{monitoring.MULTIPROC_ENV: str(monitoring.prepare_multiproc_dir(args.instance.resolve()))})
    port = _free_port()
    log_path = args.instance.resolve() / "exports_load.log"
    web_log = open(log_path, "ab")  # noqa: SIM115 (closed with the server)
    print(f"gunicorn on port {port}, its log in {log_path}", flush=True)
    web = subprocess.Popen(serve.gunicorn_args(f"127.0.0.1:{port}", args.instance.resolve()), env=env,
                           stdout=web_log, stderr=web_log)
    rounds = []
    try:
        searcher = _wait_ready(port, token, queries)
        for _ in range(50):  # both workers open the index and warm their caches
            searcher.one()
        for number in range(1, args.rounds + 1):
            ids = _queue_exports(app, admin_id, supervisor_id)
            peaks: list[tuple[float, float]] = []
            idle, loaded = _interleaved(searcher, [_runner(env, peaks) for _ in ids], args.window)
            done = _finished(app, ids)
            row = {"idle_p50": _percentile(idle, 0.5), "idle_p99": _percentile(idle, 0.99),
                   "loaded_p50": _percentile(loaded, 0.5), "loaded_p99": _percentile(loaded, 0.99),
                   "runner_mb": max(p for p, _ in peaks), "exports": done, "n": (len(idle), len(loaded)),
                   "load": os.getloadavg()[0]}
            row["ratio"] = row["loaded_p99"] / row["idle_p99"]
            rounds.append(row)
            print(f"round {number}: search idle p50 {row['idle_p50'] * 1000:.0f} ms p99 {row['idle_p99'] * 1000:.0f} ms "
                  f"({len(idle)} searches); with two exports p50 {row['loaded_p50'] * 1000:.0f} ms "
                  f"p99 {row['loaded_p99'] * 1000:.0f} ms ({len(loaded)}); p99 ratio {row['ratio']:.2f}; "
                  f"runners peak {', '.join(f'{p:.0f} MB in {t:.1f} s' for p, t in peaks)}; "
                  f"load {row['load']:.1f}", flush=True)
            for kind, state, rows, took in done:
                print(f"    {kind}: {state}, {rows} rows in {took:.1f} s", flush=True)
    finally:
        web.terminate()
        try:
            web.wait(timeout=20)
        except subprocess.TimeoutExpired:
            web.kill()
        web_log.close()
    if not rounds:
        return 1

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    ratio, peak = median("ratio"), max(r["runner_mb"] for r in rounds)
    print(json.dumps({"rounds": len(rounds), "idle_p50_ms": round(median("idle_p50") * 1000, 1),
                      "idle_p99_ms": round(median("idle_p99") * 1000, 1),
                      "loaded_p50_ms": round(median("loaded_p50") * 1000, 1),
                      "loaded_p99_ms": round(median("loaded_p99") * 1000, 1), "p99_ratio_median": round(ratio, 2),
                      "runner_peak_mb": round(peak), "ratio_target": 2.0, "memory_target_mb": 300}))
    return 0 if ratio <= 2.0 and peak <= 300 else 1


def _wait_ready(port: int, token: str, queries: list[str]) -> Searcher:
    deadline = time.monotonic() + 120
    while True:
        try:
            searcher = Searcher(port, token, queries)
            searcher.one()
            return searcher
        except (OSError, RuntimeError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main())

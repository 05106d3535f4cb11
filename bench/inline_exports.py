"""The exports written inside the request, at their worst case: as close to EXPORT_INLINE_ROWS rows as the
data allows.

    python -m bench.inline_exports --instance DIR [--database URL] [--repeat 3]

On an instance with the growth data (`python -m bench.growth generate`), each export that a request writes
at once is timed in process, the way the request calls it, inside a transaction that is rolled back (the
export's audit event and any set-up leave nothing behind):

- the ticket board (xlsx) and the audit trail (CSV and xlsx), filtered to the date range holding the most
  rows at or under HOTLINE_EXPORT_INLINE_ROWS (core.exports.request_export: larger ones are queued);
- a caseworker's "my tickets" (mine.xlsx), which is never queued: the busiest caseworker is given that
  many open tickets first.

Printed per export: rows, the median wall time and CPU time of the request's thread (the machine is shared,
so CPU time is the figure to read), and the worker's peak memory growth; the target is 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bench.growth import _app, _peak_kb, _reset_peak

TARGET = 1.0


def _largest_range(count: Callable[[int], int], limit: int, most_days: int = 800) -> tuple[int, int]:
    """The most days back from today whose rows still fit under `limit` (count is monotonic in days)."""
    lo, hi = 0, most_days
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo, count(lo)


def _measure(work: Callable[[], None], repeat: int) -> tuple[float, float, float]:
    """(median wall s, median thread CPU s, peak memory growth MB) of `work()`."""
    walls, cpus, peaks = [], [], []
    for _ in range(repeat):
        _reset_peak()
        base = _peak_kb()
        wall, cpu = time.perf_counter(), time.thread_time()
        work()
        cpus.append(time.thread_time() - cpu)
        walls.append(time.perf_counter() - wall)
        peaks.append((_peak_kb() - base) / 1024)
    return statistics.median(walls), statistics.median(cpus), max(peaks)


def run(instance: Path, database: str | None, repeat: int) -> int:
    from sqlalchemy import func, select, update

    from audit import services as audit
    from core import clock, exports
    from core.db import session
    from core.models import User
    from tickets import queries, workorder
    from tickets.metrics import local_range
    from tickets.models import Ticket

    app = _app(instance, database)
    limit = app.config["EXPORT_INLINE_ROWS"]
    over = 0
    print(f"inline limit {limit} rows; {'export':<24} {'rows':>6} {'wall s':>8} {'CPU s':>8} {'peak +MB':>9}")
    with app.app_context():
        now = clock.now()
        today = clock.today_local()
        admin = session.execute(select(User).where(User.role == "admin")).scalars().first()
        supervisor = session.execute(select(User).where(User.role == "supervisor")).scalars().first()

        def since(days: int):
            return local_range(today - timedelta(days=days), today)

        def board(days: int):
            start, end = since(days)
            return queries.BoardFilter(start=start, end=end)

        def events(days: int):
            start, end = since(days)
            return audit.EventFilter(start=start, end=end)

        cases = [("ticket_board", supervisor, lambda d: queries.count_board(board(d), now=now), board),
                 ("audit_csv", admin, lambda d: audit.count_events(events(d)), events),
                 ("audit_xlsx", admin, lambda d: audit.count_events(events(d)), events)]
        for kind, user, count, make in cases:
            days, rows = _largest_range(count, limit)
            flt = make(days)

            def export(kind=kind, user=user, flt=flt) -> None:
                asked = exports.request_export(actor=user, now=now, kind=kind, params={"filter": flt})
                if asked.file is None:
                    raise SystemExit(f"{kind} was queued, not written inline")
                asked.file.read()
                asked.file.close()

            wall, cpu, peak = _measure(export, repeat)
            over += cpu > TARGET
            print(f"{'':<27}{kind + f' ({days} days)':<24} {rows:>6} {wall:8.3f} {cpu:8.3f} {peak:9.1f}"
                  f"{'  ← over 1 s' if cpu > TARGET else ''}", flush=True)
            session.rollback()

        # mine.xlsx: the busiest caseworker given `limit` open tickets (rolled back afterwards)
        caseworker = session.execute(
            select(User).join(Ticket, Ticket.first_owner_id == User.id).where(User.role == "caseworker")
            .group_by(User.id).order_by(func.count(Ticket.id).desc()).limit(1)).scalars().first()
        ids = session.execute(select(Ticket.id).order_by(Ticket.id.desc()).limit(limit)).scalars().all()
        session.execute(update(Ticket).where(Ticket.id.in_(ids)).values(first_owner_id=caseworker.id,
                                                                        state="in_progress"))
        session.flush()

        owned, cohandled = queries.my_tickets(caseworker, now)
        rows = len(owned) + len(cohandled)
        session.expire_all()  # as a request finds them: nothing loaded yet

        def mine() -> None:
            workorder.my_tickets_xlsx(actor=caseworker, now=now)
            session.expire_all()

        wall, cpu, peak = _measure(mine, repeat)
        over += cpu > TARGET
        print(f"{'':<27}{'mine.xlsx':<24} {rows:>6} {wall:8.3f} {cpu:8.3f} {peak:9.1f}"
              f"{'  ← over 1 s' if cpu > TARGET else ''}", flush=True)
        session.rollback()
        session.remove()
    print(f"{over} over the target ({TARGET:g} s of CPU)")
    return 1 if over else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, required=True, help="an instance made by bench.growth generate")
    parser.add_argument("--database", default=None, help="its PostgreSQL URL (SQLite in the instance otherwise)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return run(args.instance.resolve(), args.database, args.repeat)


if __name__ == "__main__":
    raise SystemExit(main())

"""Two years of a city's data, and how the pages hold up under it.

    python -m bench.growth generate --instance DIR [--database URL] [--scale 1.0] [--seed 7]
    python -m bench.growth time --instance DIR [--database URL] [--repeat 3] [--only LABEL]

`generate` fills a new instance (SQLite under DIR by default, or an empty PostgreSQL database) with the
volumes of the reliability review at --scale 1.0 — 200,000 calls, 50,000 tickets with ~317,000 timeline
events, ~600,000 audit events (a valid keyed chain: `flask audit verify` passes), 300,000 search-log rows,
104 weekly spot-check plans — seeded, so two runs make the same data. Rows go in with bulk inserts, not
through the services (which would take hours), shaped like what the services write, and on PostgreSQL
end with VACUUM ANALYZE, as a restore would.

`time` signs in as a supervisor and an admin and times each page in process (Flask's test client on the
real database), printing per page: the median time, the worker's CPU time (the machine is shared: the wall
time follows the load average, printed at the start and the end), the SQL statements it ran, and the
worker's peak memory growth (VmHWM, reset before each page), beside the review's targets (≤ 1 s, ≤ 30
queries). Large exports are timed twice: the request (which only queues the export) and the background
write by the `exports` job (core.exports.run_pending), with the runner's peak memory (target ≤ 300 MB).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import event, func, insert, select, text

PASSWORD = "Growth-bench-1"
VOLUMES = {"calls": 200_000, "tickets": 50_000, "events_per_ticket": 6.34, "audit": 603_000, "searches": 300_000,
           "weeks": 104}
DAYS = 730
BATCH = 5000


def _app(instance: Path, database: str | None):
    from app import create_app

    overrides = {"INSTANCE_PATH": str(instance), "WTF_CSRF_ENABLED": False}
    if database:
        overrides.update(DATABASE_URL=database, SECRET_KEY="growth-bench-secret", AUDIT_KEY="growth-bench-audit-key-0123456789abcdef")
    return create_app(overrides)


def _bulk(session, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start:start + BATCH])


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def generate(instance: Path, database: str | None, scale: float, seed: int) -> None:
    from werkzeug.security import generate_password_hash

    from audit import services as audit
    from audit.models import AuditEvent, AuditHead
    from core import clock, migrate
    from core import seed as core_seed
    from core.accounts import HASH_METHOD
    from core.calendar import WorkCalendar
    from core.db import session, transaction
    from core.models import Unit, User
    from kb.models import Entry, SearchLog
    from tickets.models import Call, CallEntry, Ticket, TicketEvent

    rng = random.Random(seed)
    app = _app(instance, database)
    migrate.upgrade(app.extensions["hotline.engine"])
    started = time.perf_counter()
    now = clock.now().replace(microsecond=0)
    first_day = now - timedelta(days=DAYS)
    with app.app_context():
        core_seed.load_bundled(app, now)
        n = {k: int(v * scale) if k not in ("events_per_ticket",) else v for k, v in VOLUMES.items()}
        with transaction():
            units = session.execute(select(Unit)).scalars().all()
            townships = [u for u in units if u.level == "township"]
            password = generate_password_hash(PASSWORD, method=HASH_METHOD)
            people = []
            for role, count in (("operator", 20), ("supervisor", 4), ("admin", 1)):
                people += [dict(username=f"g{role}{i}", display_name=f"{role}{i}", role=role, unit_id=None)
                           for i in range(count)]
            people += [dict(username=f"gcase{u.id}", display_name=f"承办{u.name}", role="caseworker", unit_id=u.id)
                       for u in townships]
            _bulk(session, User.__table__, [dict(p, password_hash=password, active=True, session_version=1, phone="",
                                                 created_at=first_day, password_changed_at=first_day)
                                            for p in people])
            users = {u.username: u for u in session.execute(select(User)).scalars()}
            operators = [u.id for name, u in users.items() if name.startswith("goperator")]
            caseworker_of = {u.unit_id: u.id for name, u in users.items() if name.startswith("gcase")}
            entries = [e.id for e in session.execute(select(Entry)).scalars()]
            questions = [e.question for e in session.execute(select(Entry)).scalars()]

            def moment() -> datetime:
                day = first_day + timedelta(days=rng.randrange(DAYS))
                return day.replace(hour=0, minute=0, second=0) + timedelta(seconds=rng.randrange(0, 9 * 3600) + 3600)

            call_rows, ticket_calls = [], set(rng.sample(range(n["calls"]), min(n["tickets"], n["calls"])))
            for i in range(n["calls"]):
                at = moment()
                outcome = "ticket" if i in ticket_calls else rng.choice(("answered",) * 8 + ("referred", "dropped"))
                talk = rng.randrange(40, 600)
                call_rows.append(dict(status="recorded", caller_number=_phone(rng), caller_name="",
                                      question=rng.choice(questions), outcome=outcome, duration_seconds=talk,
                                      operator_id=rng.choice(operators), started_at=at,
                                      answered_at=at + timedelta(seconds=rng.randrange(2, 15)),
                                      ended_at=at + timedelta(seconds=talk), recorded_at=at + timedelta(seconds=talk + 30),
                                      created_at=at, transcript_chars=0))
            call_rows.sort(key=lambda r: r["started_at"])
            _bulk(session, Call.__table__, call_rows)
            call_ids = list(session.execute(select(Call.id, Call.outcome, Call.started_at).order_by(Call.id)))
            _bulk(session, CallEntry.__table__, [dict(call_id=cid, entry_id=rng.choice(entries), position=0)
                                                 for cid, outcome, _at in call_ids if outcome == "answered"])
            print(f"calls: {len(call_rows)} ({time.perf_counter() - started:.0f} s)", flush=True)

            # Limits as the deadline presets set them: the end (17:30) of a working day, not a midnight.
            calendar = WorkCalendar()
            ticket_rows, counters = [], {}
            for cid, outcome, at in call_ids:
                if outcome != "ticket":
                    continue
                month = f"{at:%Y%m}"
                counters[month] = counters.get(month, 0) + 1
                town = rng.choice(townships)
                finished = at < now - timedelta(days=20) or rng.random() < 0.5
                state = "finished" if finished else rng.choice(("pending_dispatch", "pending_accept", "in_progress",
                                                                 "pending_callback"))
                ticket_rows.append(dict(
                    number=f"{month}-{counters[month]:04d}", call_id=cid, kind=rng.choice(("consult", "help", "complaint")),
                    urgency=rng.choice(("normal",) * 9 + ("urgent",)), state=state, citizen_name="张某",
                    citizen_phone=_phone(rng), citizen_id_number="", township_id=town.id, topic=rng.choice(questions)[:50],
                    description="来电人反映" + rng.choice(questions), first_owner_id=caseworker_of.get(town.id),
                    unit_id=town.id, created_by_id=rng.choice(operators), created_at=at, updated_at=at + timedelta(days=3),
                    dispatched_at=at + timedelta(hours=1), accepted_at=at + timedelta(hours=5),
                    first_contact_at=at + timedelta(hours=20), closed_at=at + timedelta(days=6) if finished else None,
                    callback_at=at + timedelta(days=7) if finished else None,
                    finished_at=at + timedelta(days=7) if finished else None, resolution="已办结" if finished else "",
                    satisfaction="satisfied" if finished else None, first_contact_due_at=calendar.due_after(at, 1),
                    closure_due_at=calendar.due_after(at, 10), closure_started_at=at,
                    callback_due_at=calendar.due_after(at, 8) if state == "pending_callback" else None,
                    escalation_count=0, reopen_count=0, version=6 if finished else 3))
            _bulk(session, Ticket.__table__, ticket_rows)
            tickets = list(session.execute(select(Ticket.id, Ticket.created_at, Ticket.state)))
            steps = ["create", "dispatch", "accept", "contact", "note", "close", "callback"]
            event_rows = []
            for tid, at, state in tickets:
                count = 7 if state == "finished" else rng.randrange(1, 5)
                for k in range(count):
                    event_rows.append(dict(ticket_id=tid, at=at + timedelta(hours=6 * k), actor_id=None, actor_name="系统",
                                           action=steps[k % len(steps)], from_state=None, to_state=None,
                                           note="处理记录", data_json="{}"))
            _bulk(session, TicketEvent.__table__, event_rows)
            print(f"tickets: {len(ticket_rows)}, events: {len(event_rows)} ({time.perf_counter() - started:.0f} s)",
                  flush=True)

            _bulk(session, SearchLog.__table__, [
                dict(at=moment(), user_id=rng.choice(operators), query=q[:40], normalized=q[:40],
                     result_ids=json.dumps([rng.choice(entries)]), top_score=rng.random() * 20,
                     confident=rng.random() < 0.8, took_ms=rng.random() * 10, opened_id=None, opened_at=None,
                     source="page", session_key=None)
                for q in (rng.choice(questions) for _ in range(n["searches"]))])
            print(f"search log: {n['searches']} ({time.perf_counter() - started:.0f} s)", flush=True)

        # The audit trail: a valid keyed chain continuing the one the loaders began.
        with transaction():
            head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            seq, prev = head.seq, head.hash
            actions = [("create", "ticket"), ("dispatch", "ticket"), ("accept", "ticket"), ("close", "ticket"),
                       ("record", "call"), ("login", "user"), ("update", "kb_entry"), ("log", "spotcheck_item")]
            moments = sorted(moment() for _ in range(n["audit"]))
            rows = []
            for at in moments:
                action, entity = rng.choice(actions)
                seq += 1
                ev = AuditEvent(seq=seq, at=at, actor_id=None, actor_name="", actor_role="", action=action,
                                entity_type=entity, entity_id=str(rng.randrange(1, 50000)),
                                changes=audit.canonical({"note": "bench"}), request_id="", client_addr="",
                                prev_hash=prev)
                ev.hash = audit._event_mac(ev)
                prev = ev.hash
                rows.append({c.key: getattr(ev, c.key) for c in AuditEvent.__table__.columns if c.key != "id"})
                if len(rows) == BATCH:
                    _bulk(session, AuditEvent.__table__, rows)
                    rows = []
            _bulk(session, AuditEvent.__table__, rows)
            if session.get_bind().dialect.name == "postgresql":
                # The head's trigger lets it move one event at a time; this bulk load moves it once, past them all
                # (the events themselves form a valid chain: `audit verify` checks it). This transaction only.
                session.execute(text("SET LOCAL session_replication_role = replica"))
            head.seq, head.hash = seq, prev
            print(f"audit events: {n['audit']} ({time.perf_counter() - started:.0f} s)", flush=True)

        plans = _plans(app, now, n["weeks"])
        print(f"weekly plans: {plans} ({time.perf_counter() - started:.0f} s)", flush=True)
        session.remove()
    _analyze(app.extensions["hotline.engine"])
    print(f"statistics gathered ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"generated in {time.perf_counter() - started:.0f} s; sign in as gsupervisor0 / gadmin0, password {PASSWORD}")


def _analyze(engine) -> None:
    """Planner statistics and visibility maps for the bulk-loaded tables, as after a restore: PostgreSQL has none
    until autovacuum comes by (a minute or more later), so a timing run right after `generate` would plan its
    queries on guesses. SQLite is left as the app leaves it."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _plans(app, now: datetime, weeks: int) -> int:
    """The weekly spot-check plans of the past `weeks` weeks, made by the service as Monday's job does."""
    from core.db import session, transaction
    from spotchecks import services
    from spotchecks.settings import SpotcheckSettings

    made = 0
    settings = SpotcheckSettings.from_config(app.config)
    today = now.date()
    for back in range(weeks, 0, -1):
        iso = (today - timedelta(weeks=back)).isocalendar()
        monday = date.fromisocalendar(iso.year, iso.week, 1)
        at = datetime.combine(monday, datetime.min.time(), UTC) + timedelta(hours=1)
        try:
            with transaction():
                services.create_plan(actor=None, now=at, week=services.week_key(iso.year, iso.week), settings=settings)
            made += 1
        except services.SpotcheckError as err:
            print(f"  week {iso.year}-{iso.week}: {err.message}", file=sys.stderr)
            session.rollback()
    return made


# --- timing ---------------------------------------------------------------------------------------

def _peak_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


PAGES = [
    ("supervisor", "board", "/tickets/"),
    ("supervisor", "board, filtered by state", "/tickets/?state=in_progress"),
    ("supervisor", "board, overdue only", "/tickets/?overdue=1"),
    ("supervisor", "board, text search", "/tickets/?q=低保"),
    ("supervisor", "board, page 200", "/tickets/?page=200"),
    ("supervisor", "ticket page", "/tickets/{ticket}"),
    ("supervisor", "ticket (API)", "/api/v1/tickets/{ticket}"),
    # The newest ticket is most often finished; one awaiting dispatch also suggests owners (from the township's
    # past tickets on its topic) and offers the catalogue.
    ("supervisor", "ticket awaiting dispatch", "/tickets/{waiting}"),
    # What the intake form asks as the operator picks a township and topic.
    ("supervisor", "owner suggestions (API)", "/api/v1/tickets/suggestions?township_id={township}&topic={topic}"),
    ("supervisor", "dispatch desk", "/tickets/desk"),
    ("supervisor", "dispatch desk (API)", "/api/v1/tickets/desk"),
    ("supervisor", "calls list", "/tickets/calls/list"),
    ("supervisor", "calls list, page 500", "/tickets/calls/list?page=500"),
    ("supervisor", "missed calls", "/tickets/calls/missed"),
    ("supervisor", "metrics, 30 days", "/tickets/metrics?days=30"),
    ("supervisor", "metrics, one year", "/tickets/metrics?from={year_ago}&to={today}"),
    ("supervisor", "metrics, one year (API)", "/api/v1/metrics?from={year_ago}&to={today}"),
    ("supervisor", "metrics export (xlsx)", "/tickets/metrics.xlsx?from={year_ago}&to={today}"),
    ("supervisor", "unanswered report, 30 days", "/kb/report"),
    # The log is kept 90 days (HOTLINE_SEARCH_LOG_RETENTION_DAYS): no report ever reads more than that, though
    # the generated log (two years, as the review had it) is not purged.
    ("supervisor", "unanswered report, 90 days", "/kb/report?from={retention_ago}&to={today}"),
    ("supervisor", "spot checks", "/spotchecks/"),
    ("supervisor", "rectifications", "/spotchecks/rectifications"),
    ("supervisor", "notices", "/spotchecks/notices"),
    ("supervisor", "spot-check reports", "/spotchecks/reports"),
    ("admin", "audit log", "/audit/"),
    ("admin", "audit log, 100 pages back", "/audit/?before={audit_deep}"),
    ("admin", "audit log, by action", "/audit/?action=close"),
    ("admin", "audit log, one ticket", "/audit/?entity_type=ticket&entity_id=4242"),
    ("admin", "audit log, one month", "/audit/?from={month_ago}&to={today}"),
]
#: Exports over EXPORT_INLINE_ROWS: the request queues one (timed like a page, a redirect to its progress),
#: then the `exports` job writes it (timed apart: core.exports.run_pending, as the scheduler runs it).
EXPORTS = [
    ("supervisor", "board export (xlsx)", "/tickets/export.xlsx"),
    ("admin", "audit export (csv)", "/audit/export.csv"),
]
PAGE_TARGET, QUERY_TARGET = 1.0, 30


class _Meter:
    """Time, SQL statements and peak memory growth of one measured piece of work."""

    def __init__(self, engine):
        self.statements = 0
        #: The worker's CPU seconds in the last measured piece of work (the database server's are not in it):
        #: on a shared machine the wall time follows the load, this does not.
        self.cpu = 0.0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_args, **_kwargs) -> None:
        self.statements += 1

    def measure(self, work):
        _reset_peak()
        before_peak = _peak_kb()
        self.statements = 0
        started, cpu = time.perf_counter(), time.process_time()
        result = work()
        self.cpu = time.process_time() - cpu
        return result, time.perf_counter() - started, self.statements, max(0, _peak_kb() - before_peak) / 1024


def _line(label: str, seconds: float, cpu: float, queries: int, peak_mb: float, status: int | str,
          over: bool) -> str:
    return (f"{label:<32} {seconds:9.3f} {cpu:7.3f} {queries:8d} {peak_mb:9.1f}  {status}"
            f"{'  ← over target' if over else ''}")


def time_pages(instance: Path, database: str | None, repeat: int, only: str | None = None) -> int:
    """Time every page, export and `audit verify`; with `only`, just the pages whose label contains it."""
    from audit import services as audit
    from audit.models import AuditEvent
    from core import clock, exports
    from core.db import session
    from tickets.models import Ticket

    app = _app(instance, database)
    meter = _Meter(app.extensions["hotline.engine"])
    with app.app_context():
        ticket = session.execute(select(func.max(Ticket.id))).scalar()
        waiting = session.execute(select(func.max(Ticket.id)).where(Ticket.state == "pending_dispatch")).scalar()
        township, topic = session.execute(select(Ticket.township_id, Ticket.topic).where(
            Ticket.id == (waiting or ticket))).one()
        last_seq = session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
        session.remove()
    today = clock.today_local()
    values = {"ticket": ticket, "waiting": waiting or ticket, "township": township, "topic": quote(topic),
              "today": today.isoformat(), "year_ago": (today - timedelta(days=365)).isoformat(),
              "month_ago": (today - timedelta(days=30)).isoformat(),
              "retention_ago": (today - timedelta(days=90)).isoformat(), "audit_deep": max(1, last_seq - 100 * 100)}
    clients = {}
    for role in ("supervisor", "admin"):
        client = app.test_client()
        response = client.post("/accounts/login", data={"username": f"g{role}0", "password": PASSWORD})
        if response.status_code not in (302, 303):
            print(f"could not sign in as g{role}0 ({response.status_code}): run `generate` first", file=sys.stderr)
            return 1
        clients[role] = client
    print(f"load average {_load()} at the start")
    print(f"{'page':<32} {'median s':>9} {'cpu s':>7} {'queries':>8} {'peak +MB':>9}  status")
    over = 0

    def get(role: str, url: str):
        response = clients[role].get(url)
        response.get_data()
        return response

    pages = [p for p in PAGES if only is None or only in p[1]]
    for role, label, path in pages:
        url = path.format(**values)
        runs = []
        for _ in range(repeat):
            runs.append((*meter.measure(lambda role=role, url=url: get(role, url)), meter.cpu))
        median, cpu = statistics.median(r[1] for r in runs), statistics.median(r[4] for r in runs)
        queries, peak, status = max(r[2] for r in runs), max(r[3] for r in runs), runs[-1][0].status_code
        slow = median > PAGE_TARGET or queries > QUERY_TARGET or status != 200
        over += slow
        print(_line(label, median, cpu, queries, peak, status, slow), flush=True)

    if only is not None:
        print(f"{over} of {len(pages)} pages over a target; load average {_load()} at the end")
        return 0
    for role, label, url in EXPORTS:
        response, took, queries, peak = meter.measure(lambda role=role, url=url: get(role, url))
        queued = response.status_code in (302, 303) and "/exports/" in response.headers.get("Location", "")
        slow = took > PAGE_TARGET or queries > QUERY_TARGET or response.status_code not in (200, 302, 303)
        over += slow
        print(_line(f"{label}, request", took, meter.cpu, queries, peak, response.status_code, slow), flush=True)
        if not queued:
            continue
        with app.app_context():
            done, took, queries, peak = meter.measure(lambda: exports.run_pending(clock.now()))
            session.remove()
        rss = _peak_kb() / 1024
        print(f"{label + ', written':<32} {took:9.3f} {meter.cpu:7.3f} {queries:8d} {peak:9.1f}  "
              f"{done or 'nothing written'}; "
              f"the runner's peak RSS {rss:.0f} MB{'  ← over 300 MB' if rss > 300 else ''}", flush=True)

    with app.app_context():
        result, took, _queries, peak = meter.measure(audit.verify)
        session.remove()
    per_million = took / max(result.count, 1) * 1e6
    print(f"{'audit verify':<32} {took:9.3f} {meter.cpu:7.3f}  {result.count} events, "
          f"{'intact' if result.ok else 'BROKEN'}; {per_million:.1f} s per million events (target ≤ 60; "
          f"{meter.cpu / max(result.count, 1) * 1e6:.1f} s of the worker's CPU), peak +{peak:.0f} MB")
    print(f"{over} of {len(PAGES) + len(EXPORTS)} pages over a target (≤ {PAGE_TARGET:g} s, ≤ {QUERY_TARGET} queries, "
          f"200 or a redirect to a queued export); load average {_load()} at the end")
    return 0


def _load() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("generate", "time"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--instance", type=Path, required=True, help="instance folder (SQLite file, keys, index)")
        cmd.add_argument("--database", default=None, help="an empty PostgreSQL database URL instead of SQLite")
        if name == "generate":
            cmd.add_argument("--scale", type=float, default=1.0, help="1.0 = the review's two years")
            cmd.add_argument("--seed", type=int, default=7)
        else:
            cmd.add_argument("--repeat", type=int, default=3)
            cmd.add_argument("--only", default=None, help="time only the pages whose label contains this")
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(args.instance, args.database, args.scale, args.seed)
        return 0
    return time_pages(args.instance, args.database, args.repeat, args.only)


if __name__ == "__main__":
    raise SystemExit(main())

"""Requests/s of a read-heavy page mix under gunicorn (2 workers, file SQLite), for one or more checkouts
side by side in one run.

    python -m bench.page_mix [--seconds 20] [--clients 8] [--root PATH ...]

For each root (default: this checkout) it sets up a throw-away instance (bundled KB, an operator
signed in per client through the real log-in form, one API token), starts gunicorn with two workers
and runs closed-loop clients for the given time: nine page loads (search page and searches, entry
cards, the board, the public directory …) for every API write (a call announced). Prints requests/s,
p50/p99 latency and errors per root, then the ratio against the first root.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent.parent
PAGES = ["/kb/search", "/kb/search.json?q=" + urllib.parse.quote("低保怎么申请"), "/kb/Q001", "/tickets/",
         "/hotlines", "/kb/search.json?q=" + urllib.parse.quote("孩子上学有补助吗"), "/", "/kb/Q020/card",
         "/tickets/calls"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(root: Path, env: dict, *args: str) -> str:
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=root, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


class Client:
    """One operator's browser: a cookie jar, signed in through the log-in form (CSRF token included)."""

    def __init__(self, port: int, username: str, password: str):
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.opener.open(self.base + "/accounts/login", timeout=30).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"username": username, "password": password, **({"csrf_token": token.group(1)} if token else {})}
        self.opener.open(self.base + "/accounts/login", data=urllib.parse.urlencode(form).encode(), timeout=30).read()

    def get(self, path: str) -> int:
        try:
            with self.opener.open(self.base + path, timeout=30) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def post_json(self, path: str, body: dict, token: str) -> int:
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code


def measure(root: Path, seconds: float, clients: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hotline-mix-") as tmp:
        env = dict(os.environ, HOTLINE_INSTANCE_PATH=tmp, HOTLINE_ENV="development", HOTLINE_LOG_LEVEL="warning")
        env.pop("DATABASE_URL", None)
        env.pop("HOTLINE_DATABASE_URL", None)
        _flask(root, env, "init")
        _flask(root, env, "users", "create", "mixop", "--role", "operator", "--password", "Mixop12345")
        token = _flask(root, env, "users", "token", "mixop")
        try:  # since issue 11 the telephony account announces calls, naming the operator
            _flask(root, env, "users", "create", "mixpbx", "--role", "telephony", "--password", "Mixpbx12345")
            call_token, call_extra = _flask(root, env, "users", "token", "mixpbx"), {"operator": "mixop"}
        except subprocess.CalledProcessError:  # an older checkout: operators announce
            call_token, call_extra = token, {}
        # Stamp the token as just used: an older checkout would otherwise deadlock on its first use
        # (the fault this benchmark's "before" is compared for), and the mix measures throughput.
        with sqlite3.connect(next(Path(tmp).glob("*.db"))) as conn:
            conn.execute("UPDATE api_token SET last_used_at = strftime('%Y-%m-%d %H:%M:%f', 'now')")
        port = _port()
        server = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
                                   "warning", "--no-control-socket", "app:app"], cwd=root, env=env)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    users = [Client(port, "mixop", "Mixop12345") for _ in range(clients)]
                    if users[0].get(PAGES[1]) == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise RuntimeError(f"{root}: gunicorn did not serve searches in time")
                time.sleep(0.5)
            pages = [p for p in PAGES if users[0].get(p) == 200]
            users[0].post_json("/api/v1/calls", {"caller_number": "13800000000", "external_id": "warm", **call_extra},
                               call_token)
            latencies: list[float] = []
            errors = 0
            lock = threading.Lock()
            stop = time.perf_counter() + seconds

            def run(n: int, user: Client) -> None:
                nonlocal errors
                i = 0
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    if i % 10 == 9:
                        status = user.post_json("/api/v1/calls", {"caller_number": "13800000000",
                                                                  "external_id": f"mix-{n}-{i}", **call_extra},
                                                call_token)
                    else:
                        status = user.get(pages[i % len(pages)])
                    took = time.perf_counter() - started
                    with lock:
                        latencies.append(took * 1000)
                        errors += status >= 400
                    i += 1

            threads = [threading.Thread(target=run, args=(n, u)) for n, u in enumerate(users)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - began
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    latencies.sort()
    return {"root": str(root), "pages": len(pages), "requests": len(latencies), "rps": len(latencies) / wall,
            "p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99)],
            "max": latencies[-1], "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--root", type=Path, action="append", help="a checkout to measure (repeatable)")
    parser.add_argument("--rounds", type=int, default=3, help="roots measured in turn this many times")
    args = parser.parse_args()
    roots = [r.resolve() for r in (args.root or [HERE])]
    print(f"gunicorn 2 sync workers, file SQLite, {args.clients} closed-loop clients, {args.seconds:.0f} s per run, "
          f"9 page loads per API write, {args.rounds} rounds alternating the roots, {os.cpu_count()} cores")
    runs: dict[Path, list[dict]] = {root: [] for root in roots}
    for n in range(args.rounds):
        for root in roots:
            r = measure(root, args.seconds, args.clients)
            runs[root].append(r)
            print(f"round {n + 1} {root}: {r['rps']:.1f} req/s  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  "
                  f"max {r['max']:.1f} ms  errors {r['errors']}/{r['requests']}  ({r['pages']} pages)", flush=True)
    medians = {root: statistics.median(r["rps"] for r in rs) for root, rs in runs.items()}
    for root in roots:
        p99 = statistics.median(r["p99"] for r in runs[root])
        print(f"median {root}: {medians[root]:.1f} req/s, p99 {p99:.1f} ms")
    for root in roots[1:]:
        print(f"ratio {root.name} / {roots[0].name}: {medians[root] / medians[roots[0]]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

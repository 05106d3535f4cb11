"""HTTP latency of /api/v1/kb/search under gunicorn at an offered open-loop load, beside /healthz.

    python -m bench.http_load [--rate 300] [--seconds 20] [--workers 2] [--probe-rate 30] [--rounds 3] [--find-max]

Sets up a throw-away instance (SQLite, bundled KB, one API token), starts gunicorn with the given
workers on a free loopback port, and offers requests at a fixed rate regardless of how fast answers
come back (open loop). Each latency is counted from the moment its request was due, so a slow
server cannot hide its queue (no coordinated omission). /healthz requests (--probe-rate per second)
go out on the same schedule and connections, so the two p99s are measured under the same load and
their ratio is the search's own cost. Prints p50/p99/max of each, throughput and errors;
`--find-max` then raises the rate step by step and reports the highest one that still meets the
target (p99 ≤ 50 ms, no errors).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUERIES = ROOT.parent / "shared" / "kb" / "dev-queries.tsv"
TARGET_P99_MS = 50.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _queries() -> list[str]:
    if QUERIES.exists():
        with open(QUERIES, encoding="utf-8", newline="") as fh:
            return [row["query"] for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]
    import yaml

    return [yaml.safe_load(p.read_text(encoding="utf-8"))["question"]
            for p in sorted((ROOT / "kb" / "data" / "entries").glob("*.yaml"))]


def _setup(instance: Path) -> tuple[dict, str]:
    env = dict(os.environ, HOTLINE_INSTANCE_PATH=str(instance), HOTLINE_ENV="development", HOTLINE_LOG_LEVEL="warning")
    env.pop("DATABASE_URL", None)
    env.pop("HOTLINE_DATABASE_URL", None)
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([*flask, "users", "create", "benchbot", "--role", "operator", "--password", "Bench12345"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    token = subprocess.run([*flask, "users", "token", "benchbot"], env=env, cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
    return env, token


class Server:
    def __init__(self, env: dict, workers: int, worker_class: str, threads: int):
        self.port = _free_port()
        args = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                "--worker-class", worker_class, "--log-level", "warning", "--no-control-socket", "app:app"]
        if worker_class == "gthread":
            args[1:1] = ["--threads", str(threads)]
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT)

    def wait_ready(self, token: str, timeout: float = 30) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1/kb/search?q=%E4%BD%8E%E4%BF%9D",
                                             headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _one(port: int, path: str, token: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                      "Connection: close\r\n\r\n").encode())
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # until the server closes
        return int(status_line.split()[1])
    finally:
        writer.close()


async def _run(port: int, token: str, rate: float, seconds: float, queries: list[str], probe_rate: float = 0) -> dict:
    """Searches at `rate` per second and, on the same loop and connection pool, /healthz at
    `probe_rate`, each request due at a fixed time; latencies per path, counted from the due time."""
    loop = asyncio.get_running_loop()
    schedule = [(i / rate, "/api/v1/kb/search?" + urllib.parse.urlencode({"q": queries[i % len(queries)]}))
                for i in range(int(rate * seconds))]
    if probe_rate:
        schedule += [(i / probe_rate, "/healthz") for i in range(int(probe_rate * seconds))]
    latencies: dict[str, list[float]] = {"search": [], "healthz": []}
    errors = 0
    start = loop.time() + 0.2

    async def fire(at: float, path: str) -> None:
        nonlocal errors
        due = start + at
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            status = await asyncio.wait_for(_one(port, path, token), timeout=10)
        except (TimeoutError, OSError):
            status = 0
        latencies["healthz" if path == "/healthz" else "search"].append((loop.time() - due) * 1000)
        if status != 200:
            errors += 1

    wall = time.perf_counter()
    await asyncio.gather(*(fire(at, path) for at, path in schedule))
    wall = time.perf_counter() - wall
    out = {"rate": rate, "requests": len(schedule), "errors": errors, "throughput": len(schedule) / wall}
    for kind, xs in latencies.items():
        if xs:
            xs.sort()
            prefix = "" if kind == "search" else "healthz_"
            out.update({prefix + "p50": statistics.median(xs), prefix + "p99": xs[min(len(xs) - 1, int(len(xs) * 0.99))],
                        prefix + "max": xs[-1]})
    return out


def _line(r: dict) -> str:
    ok = "meets" if r["p99"] <= TARGET_P99_MS and r["errors"] == 0 else "misses"
    line = (f"offered {r['rate']:>5.0f}/s  sent {r['requests']:>6}  achieved {r['throughput']:>6.1f}/s  "
            f"p50 {r['p50']:>7.1f} ms  p99 {r['p99']:>7.1f} ms  max {r['max']:>7.1f} ms  errors {r['errors']}  "
            f"({ok} p99 ≤ {TARGET_P99_MS:.0f} ms)")
    if "healthz_p99" in r:
        line += (f"\n{'':>14}/healthz beside it: p50 {r['healthz_p50']:>7.1f} ms  p99 {r['healthz_p99']:>7.1f} ms  "
                 f"max {r['healthz_max']:>7.1f} ms; search p99 / healthz p99 = {r['p99'] / r['healthz_p99']:.2f}× "
                 f"(target ≤ 2×)")
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--find-max", action="store_true")
    parser.add_argument("--probe-rate", type=float, default=30,
                        help="/healthz requests per second on the same loop, measured beside the searches")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the run at --rate and print the medians")
    args = parser.parse_args()
    queries = _queries()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        env, token = _setup(Path(tmp))
        server = Server(env, args.workers, args.worker_class, args.threads)
        try:
            server.wait_ready(token)
            asyncio.run(_run(server.port, token, 50, 3, queries))  # warm both workers
            print(f"gunicorn {args.workers} x {args.worker_class} workers, {len(queries)} distinct queries, "
                  f"{args.seconds:.0f} s per rate, on {os.cpu_count()} cores")
            runs = []
            for _ in range(args.rounds):
                runs.append(asyncio.run(_run(server.port, token, args.rate, args.seconds, queries, args.probe_rate)))
                print(_line(runs[-1]))
            if args.rounds > 1:
                med = {k: statistics.median(r[k] for r in runs) for k in ("p50", "p99", "healthz_p50", "healthz_p99")
                       if k in runs[0]}
                print(f"median of {args.rounds} rounds: search p50 {med['p50']:.1f} ms p99 {med['p99']:.1f} ms"
                      + (f"; /healthz p50 {med['healthz_p50']:.1f} ms p99 {med['healthz_p99']:.1f} ms; "
                         f"ratio of the p99s {med['p99'] / med['healthz_p99']:.2f}×" if "healthz_p99" in med else ""))
            result = runs[-1]
            if args.find_max:
                best = result if result["p99"] <= TARGET_P99_MS and not result["errors"] else None
                rate = args.rate
                while True:
                    rate += 50
                    r = asyncio.run(_run(server.port, token, rate, args.seconds, queries))
                    print(_line(r))
                    if r["p99"] > TARGET_P99_MS or r["errors"]:
                        break
                    best = r
                print(f"highest offered rate meeting the target: {best['rate']:.0f}/s" if best
                      else "no tested rate met the target")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

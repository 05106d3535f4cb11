"""HTTP latency of /api/v1/kb/search under gunicorn at an offered open-loop load.

    python -m bench.http_load [--rate 300] [--seconds 20] [--workers 2] [--find-max]

Sets up a throw-away instance (SQLite, bundled KB, one API token), starts gunicorn with the given
workers on a free loopback port, and offers requests at a fixed rate regardless of how fast answers
come back (open loop). Each latency is counted from the moment its request was due, so a slow
server cannot hide its queue (no coordinated omission). Prints p50/p99/max, throughput and errors;
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


async def _run(port: int, token: str, rate: float, seconds: float, queries: list[str]) -> dict:
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    start = loop.time() + 0.2

    async def fire(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        q = queries[i % len(queries)]
        try:
            status = await asyncio.wait_for(_one(port, "/api/v1/kb/search?" + urllib.parse.urlencode({"q": q}), token),
                                            timeout=10)
        except (TimeoutError, OSError):
            status = 0
        latencies.append((loop.time() - due) * 1000)
        if status != 200:
            errors += 1

    wall = time.perf_counter()
    await asyncio.gather(*(fire(i) for i in range(total)))
    wall = time.perf_counter() - wall
    latencies.sort()
    return {"rate": rate, "requests": total, "errors": errors, "throughput": total / wall,
            "p50": statistics.median(latencies), "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "max": latencies[-1]}


def _line(r: dict) -> str:
    ok = "meets" if r["p99"] <= TARGET_P99_MS and r["errors"] == 0 else "misses"
    return (f"offered {r['rate']:>5.0f}/s  sent {r['requests']:>6}  achieved {r['throughput']:>6.1f}/s  "
            f"p50 {r['p50']:>7.1f} ms  p99 {r['p99']:>7.1f} ms  max {r['max']:>7.1f} ms  errors {r['errors']}  "
            f"({ok} p99 ≤ {TARGET_P99_MS:.0f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--find-max", action="store_true")
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
            result = asyncio.run(_run(server.port, token, args.rate, args.seconds, queries))
            print(_line(result))
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

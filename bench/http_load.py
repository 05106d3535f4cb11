"""HTTP latency of /api/v1/kb/search under gunicorn at an offered open-loop load, beside /healthz.

    python -m bench.http_load [--rate 100,200,300] [--seconds 20] [--workers 2] [--worker-class deployed|sync]
                              [--probe-rate 30] [--rounds 3] [--find-max] [--root DIR]

Sets up a throw-away instance (SQLite, bundled KB, one API token) and starts gunicorn on a free loopback
port the way `make run` does (core.serve.gunicorn_args: gthread workers with their threads, workers
recycled, the metrics in a multiprocess folder, the request log at info, written to a file here);
`--worker-class sync` runs the same command line with sync workers instead. It then offers requests at
a fixed rate regardless of how fast answers come back (open loop). Each latency is counted from the
moment its request was due, so a slow server cannot hide its queue (no coordinated omission). /healthz
requests (--probe-rate per second) go out on the same schedule and connections, so the two p99s are
measured under the same load and their ratio is the search's own cost (target: search p99 ≤ 2× the
/healthz p99, no errors, at least 95 % of the offered rate achieved). Each run also prints the CPU the
server's processes and this load generator used, so a generator that cannot keep up shows (it should
stay well below one core), and how many workers gunicorn recycled meanwhile (--max-requests).
`--find-max` then raises (or lowers) the rate in steps of --step and reports the highest offered rate that
still meets the target. `--root` serves another checkout of the app (a before/after comparison in one run).
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
TARGET_RATIO = 2.0
#: Share of the offered requests per second (searches and probes) a run must achieve to count.
KEEPS_UP = 0.95


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


def _setup(instance: Path, root: Path = ROOT) -> tuple[dict, str]:
    env = dict(os.environ, HOTLINE_INSTANCE_PATH=str(instance), HOTLINE_ENV="development", HOTLINE_LOG_LEVEL="warning")
    env.pop("DATABASE_URL", None)
    env.pop("HOTLINE_DATABASE_URL", None)
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "init"], env=env, cwd=root, check=True, capture_output=True)
    subprocess.run([*flask, "users", "create", "benchbot", "--role", "operator", "--password", "Bench12345"],
                   env=env, cwd=root, check=True, capture_output=True)
    token = subprocess.run([*flask, "users", "token", "benchbot"], env=env, cwd=root, check=True,
                           capture_output=True, text=True).stdout.strip()
    return env, token


def gunicorn_command(bind: str, instance: Path, workers: int, worker_class: str,
                     max_requests: int | None = None) -> list[str]:
    """core.serve's command line (what `make run` starts); `sync`: the same with sync workers;
    `max_requests`: recycle workers after that many requests instead (0: never)."""
    from core import serve

    args = serve.gunicorn_args(bind, instance, workers)
    if max_requests is not None:
        args[args.index("--max-requests") + 1] = str(max_requests)
    if worker_class == "sync":
        at = args.index("--worker-class")
        del args[at:at + 4]  # --worker-class gthread --threads N
        args[1:1] = ["--worker-class", "sync"]
    return args


class Server:
    def __init__(self, env: dict, instance: Path, workers: int, worker_class: str, root: Path = ROOT,
                 max_requests: int | None = None):
        from core import monitoring

        self.port = _free_port()
        self.args = gunicorn_command(f"127.0.0.1:{self.port}", instance, workers, worker_class, max_requests)
        env = dict(env, HOTLINE_LOG_LEVEL="info",
                   **{monitoring.MULTIPROC_ENV: str(monitoring.prepare_multiproc_dir(instance))})
        self.log = open(instance / "gunicorn.log", "w")  # noqa: SIM115 -- closed in stop()
        self.proc = subprocess.Popen(self.args, env=env, cwd=root, stderr=self.log, stdout=self.log)

    def booted(self) -> int:
        """Workers booted so far (the first ones, and each one recycled after --max-requests)."""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace").count("Booting worker")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers so far (Linux /proc; 0 elsewhere)."""
        return sum(_cpu_of(pid) for pid in [self.proc.pid, *_children(self.proc.pid)])

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
        self.log.close()


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


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


async def _run(port: int, token: str, rate: float, seconds: float, queries: list[str], probe_rate: float = 0,
               server: Server | None = None) -> dict:
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

    wall, cpu = time.perf_counter(), time.process_time()
    server_cpu = server.cpu_seconds() if server else 0.0
    booted = server.booted() if server else 0
    await asyncio.gather(*(fire(at, path) for at, path in schedule))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out = {"rate": rate, "offered": rate + probe_rate, "requests": len(schedule), "errors": errors, "throughput": len(schedule) / wall,
           "client_cpu": cpu / wall, "server_cpu": (server.cpu_seconds() - server_cpu) / wall if server else 0.0,
           "load": os.getloadavg()[0], "recycled": server.booted() - booted if server else 0}
    for kind, xs in latencies.items():
        if xs:
            xs.sort()
            prefix = "" if kind == "search" else "healthz_"
            out.update({prefix + "p50": statistics.median(xs), prefix + "p99": xs[min(len(xs) - 1, int(len(xs) * 0.99))],
                        prefix + "max": xs[-1]})
    return out


def meets(r: dict) -> bool:
    """The target: no errors, the search's p99 within 2× the /healthz p99 measured beside it, and the
    server keeping up with what was offered (a saturated server makes both p99s equally long: their
    ratio alone would pass it)."""
    return (not r["errors"] and "healthz_p99" in r and r["p99"] <= TARGET_RATIO * r["healthz_p99"]
            and r["throughput"] >= KEEPS_UP * r["offered"])


def _line(r: dict) -> str:
    line = (f"offered {r['rate']:>5.0f}/s  sent {r['requests']:>6}  achieved {r['throughput']:>6.1f}/s  "
            f"p50 {r['p50']:>7.1f} ms  p99 {r['p99']:>7.1f} ms  max {r['max']:>7.1f} ms  errors {r['errors']}")
    if "healthz_p99" in r:
        line += (f"\n{'':>14}/healthz beside it: p50 {r['healthz_p50']:>7.1f} ms  p99 {r['healthz_p99']:>7.1f} ms  "
                 f"max {r['healthz_max']:>7.1f} ms; search p99 / healthz p99 = {r['p99'] / r['healthz_p99']:.2f}× "
                 f"({'meets' if meets(r) else 'misses'} ≤ {TARGET_RATIO:.0f}×)")
    server = (f"{r['server_cpu']:.2f} cores ({r['server_cpu'] * 1000 / r['throughput']:.1f} ms per request)"
              if not r["recycled"] else "not counted (a recycled worker's CPU leaves with it)")
    line += (f"\n{'':>14}CPU: server {server}, load generator {r['client_cpu']:.2f} cores; "
             f"load average {r['load']:.2f}; workers recycled during the run: {r['recycled']}")
    if r["client_cpu"] > 0.7:
        line += "\n              the load generator used most of a core: it may have sent late, read the figures with care"
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", default="300", help="offered requests per second; several: 100,200,300")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="deployed", choices=("deployed", "sync"),
                        help="deployed: core.serve's gthread workers and threads (default); sync: one request "
                             "at a time per worker")
    parser.add_argument("--find-max", action="store_true")
    parser.add_argument("--step", type=float, default=50, help="rate step of --find-max")
    parser.add_argument("--probe-rate", type=float, default=30,
                        help="/healthz requests per second on the same loop, measured beside the searches")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the run at each --rate and print the medians")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout gunicorn serves (default: this one)")
    parser.add_argument("--max-requests", type=int, default=None,
                        help="recycle workers after this many requests (default: as core.serve; 0: never)")
    args = parser.parse_args()
    queries = _queries()
    rates = [float(r) for r in args.rate.split(",")]
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        env, token = _setup(Path(tmp), args.root)
        server = Server(env, Path(tmp), args.workers, args.worker_class, args.root.resolve(), args.max_requests)
        try:
            server.wait_ready(token)
            asyncio.run(_run(server.port, token, 50, 3, queries))  # warm both workers
            print(f"gunicorn {' '.join(server.args[1:])} (in {args.root.resolve()})\n"
                  f"{len(queries)} distinct queries, {args.seconds:.0f} s per rate, on {os.cpu_count()} cores, "
                  f"load average {os.getloadavg()[0]:.2f}")

            def run(rate: float) -> dict:
                r = asyncio.run(_run(server.port, token, rate, args.seconds, queries, args.probe_rate, server))
                print(_line(r), flush=True)
                return r

            result = None
            for rate in rates:
                runs = [run(rate) for _ in range(args.rounds)]
                if args.rounds > 1:
                    med = {k: statistics.median(r[k] for r in runs) for k in ("p50", "p99", "healthz_p50", "healthz_p99")
                           if k in runs[0]}
                    print(f"median of {args.rounds} rounds at {rate:.0f}/s: search p50 {med['p50']:.1f} ms "
                          f"p99 {med['p99']:.1f} ms; /healthz p50 {med['healthz_p50']:.1f} ms "
                          f"p99 {med['healthz_p99']:.1f} ms; ratio of the p99s {med['p99'] / med['healthz_p99']:.2f}×")
                result = runs[-1]
            if args.find_max and result is not None:
                tried = {result["rate"]: meets(result)}
                rate, up = result["rate"], meets(result)
                while True:
                    rate = rate + args.step if up else rate - args.step
                    if rate <= 0:
                        break
                    tried[rate] = meets(run(rate))
                    if tried[rate] != up:
                        break
                best = max((r for r, ok in tried.items() if ok), default=None)
                print(f"highest offered rate meeting the target (search p99 ≤ {TARGET_RATIO:.0f}× /healthz p99, "
                      f"no errors, ≥ {KEEPS_UP:.0%} achieved): {best:.0f}/s" if best else "no tested rate met the target")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

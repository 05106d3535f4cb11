"""Where uploads are kept: a folder (HOTLINE_UPLOAD_DIR, a shared mount) or the database — measured.

    python -m bench.upload_storage --folder DIR [--database URL] [--mb 10] [--repeat 5]

Writes and reads one file of --mb megabytes both ways and prints the median time of each, and the
worker's peak memory growth (VmHWM) over the reads: a file is streamed to the client in blocks, a
database value arrives whole in the worker's memory (and again in the driver's buffer). The database
way uses a temporary table with one binary column (BLOB on SQLite, bytea on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, create_engine, insert, select

BLOCK = 1 << 16


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _folder(folder: Path, data: bytes, repeat: int) -> tuple[float, float, int]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench-upload.bin"

    def write() -> None:
        partial = path.with_name(".bench-upload.part")
        with partial.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)

    def read() -> None:
        with path.open("rb") as fh:
            while fh.read(BLOCK):  # what send_file does: block by block to the client
                pass

    wrote = _median(write, repeat)
    _reset_peak()
    base = _peak_kb()
    read_time = _median(read, repeat)
    grown = _peak_kb() - base
    path.unlink()
    return wrote, read_time, grown


def _database(url: str, data: bytes, repeat: int) -> tuple[float, float, int]:
    engine = create_engine(url)
    table = Table("bench_upload", MetaData(), Column("id", Integer, primary_key=True), Column("body", LargeBinary))
    table.drop(engine, checkfirst=True)
    table.create(engine)
    try:
        def write() -> None:
            with engine.begin() as conn:
                conn.execute(table.delete())
                conn.execute(insert(table).values(id=1, body=data))

        def read() -> None:
            with engine.connect() as conn:
                body = conn.execute(select(table.c.body).where(table.c.id == 1)).scalar_one()
                for offset in range(0, len(body), BLOCK):
                    body[offset:offset + BLOCK]

        wrote = _median(write, repeat)
        _reset_peak()
        base = _peak_kb()
        read_time = _median(read, repeat)
        grown = _peak_kb() - base
    finally:
        table.drop(engine)
        engine.dispose()
    return wrote, read_time, grown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--database", default="", help="default: sqlite:///FOLDER/bench.db")
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    data = os.urandom(args.mb * 1024 * 1024)
    url = args.database or f"sqlite:///{args.folder / 'bench.db'}"
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"{args.mb} MB, median of {args.repeat}: write s, read s, peak memory growth while reading MB")
    for name, (wrote, read, grown) in (("folder", _folder(args.folder, data, args.repeat)),
                                       (url.split(":", 1)[0], _database(url, data, args.repeat))):
        print(f"{name:<22} {wrote:8.3f} {read:8.3f} {grown / 1024:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

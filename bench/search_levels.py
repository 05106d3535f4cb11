"""Search quality with its three levels on the four dev files, and in-process cost per query by length
band beside SQLite FTS5 + jieba on the same KB, in the same process.

    python -m bench.search_levels [FILE.tsv …] [--passes N] [--citywide N] [--before REF]
    (or python bench/search_levels.py …)

Builds the engine from kb/data/entries/*.yaml with the bundled table of matters outside the KB
(kb/data/matters.yaml), as `kb eval` does on a fresh database. For each file: top-1/top-3/MRR, how
often the first answer was right at each level (确定 / 可能 / 不在知识库), and for out-of-scope files
the share at each level. Then every query of all files is timed by its length in characters
(≤20, 21–40, 41–80, 81–120, >120), kb.search and the FTS5 baseline alternating query by query after
a warm-up pass, with p50/p99 per band and their ratio. `--citywide N` times the same queries again on
the bundled entries plus N generated ones from other departments (`bench.citywide`), both systems
built on those entries, with the index's build time. `--before REF` also times the search engine of
git revision REF (its kb/search, imported under another name) in the same rotation, on an index it
builds itself: a change's before and after measured side by side, on the same machine at the same load.
"""

from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "kb"
DEV_FILES = [SHARED / n for n in ("dev-queries.tsv", "dev-out-of-scope.tsv", "dev-transcripts.tsv",
                                  "dev-transcripts-out-of-scope.tsv")]
BANDS = ((0, 20), (21, 40), (41, 80), (81, 120), (121, 10**6))


def band_of(text: str) -> str:
    lo, hi = next((lo, hi) for lo, hi in BANDS if lo <= len(text) <= hi)
    return f">{lo - 1}" if hi >= 10**6 else f"{lo}-{hi}"


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--passes", type=int, default=5, help="timed passes over the queries (after one warm-up)")
    ap.add_argument("--citywide", type=int, default=0, help="also time on the KB plus N generated entries")
    ap.add_argument("--before", metavar="REF", help="also time the search engine of git revision REF")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))   # also run as a script: python bench/search_levels.py
    from bench.search_quality import fts5_baseline
    from kb import evaluation
    from kb.scope import read_seed
    from kb.search import SearchEngine, levels, read_synonyms
    from kb.search.calibrate import load_entries

    files = args.files or [f for f in DEV_FILES if f.exists()]
    entries = load_entries()
    with tempfile.TemporaryDirectory(prefix="kbsearch-levels-") as tmp:
        old = engine_at(args.before, Path(tmp) / "before") if args.before else None
        engine = SearchEngine.build(entries, read_synonyms(), Path(tmp) / "index")
        engine.set_scope(levels.Scope.of(read_seed()))
        print(f"knowledge base: {len(entries)} entries; matters outside it: {len(read_seed())}")
        queries: list[str] = []
        for path in files:
            rows = evaluation.read_tsv([path])
            queries += [r.query for r in rows]
            print(f"\n== {path.name} ({len(rows)} queries)")
            report = evaluation.evaluate(lambda q: engine.search(q, limit=10), rows)
            print(evaluation.format_report(report, confused_limit=5))

        print_times(f"{len(entries)} entries", time_bands(engine, fts5_baseline(entries), queries, args.passes,
                                                          before_search(old, entries, Path(tmp) / "b1")),
                    args.passes)
        engine.close()
        if args.citywide:
            from bench.citywide import generate

            big = entries + generate(args.citywide)
            cpu, wall = time.process_time(), time.perf_counter()
            engine = SearchEngine.build(big, read_synonyms(), Path(tmp) / "citywide")
            print(f"\nindex of {len(big)} entries built in {time.process_time() - cpu:.1f} s CPU "
                  f"({time.perf_counter() - wall:.1f} s wall)")
            engine.set_scope(levels.Scope.of(read_seed()))
            print_times(f"{len(big)} entries", time_bands(engine, fts5_baseline(big), queries, args.passes,
                                                          before_search(old, big, Path(tmp) / "b2")),
                        args.passes)
            engine.close()
    return 0


def engine_at(ref: str, directory: Path):
    """The `kb.search` package of git revision `ref`, imported as `kbsearch_before` (from `directory`)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "kb/search"], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    package = directory / "kbsearch_before"
    (directory / "kb" / "search").rename(package)
    for path in package.glob("*.py"):
        path.write_text(path.read_text(encoding="utf-8").replace("kb.search", "kbsearch_before"), encoding="utf-8")
    (package.parent / "data").symlink_to(ROOT / "kb" / "data")   # lexicon's DATA_DIR: the package's parent
    sys.path.insert(0, str(directory))
    return importlib.import_module("kbsearch_before")


def before_search(old, entries: list, directory: Path):
    """The search of the `engine_at` package on `entries`, or None."""
    if old is None:
        return None
    from kb.scope import read_seed

    engine = old.SearchEngine.build(entries, old.read_synonyms(), directory)
    engine.set_scope(old.levels.Scope.of(read_seed()))
    return engine.search


def time_bands(engine, fts5, queries: list[str], passes: int, before=None) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per query by length band, kb.search and FTS5 (and `before`, the engine of another
    revision) alternating query by query: wall time, and this thread's CPU time (what a shared, busy
    machine inflates least)."""
    systems = [("kb.search", engine.search), ("fts5", fts5)] + ([("before", before)] if before else [])
    for q in queries:  # warm-up: caches, jieba's dictionary, SQLite pages
        for _, run in systems:
            run(q)
    times: dict[str, dict[str, list[float]]] = {}
    for _ in range(passes):
        for q in queries:
            band = times.setdefault(band_of(q), {"kb.search": [], "fts5": [], "kb cpu": [], "fts5 cpu": [],
                                                 "before": [], "before cpu": []})
            for name, run in systems:
                t, c = time.perf_counter(), time.thread_time()
                run(q)
                band[name].append((time.perf_counter() - t) * 1000.0)
                band[name.split(".")[0] + " cpu"].append((time.thread_time() - c) * 1000.0)
    return times


def print_times(label: str, times: dict[str, dict[str, list[float]]], passes: int) -> None:
    print(f"\nin-process cost per query by length (characters), {label}, {passes} passes, same process:")
    print(f"{'band':<9}{'queries':>8}{'kb p50':>9}{'kb p99':>9}{'fts5 p50':>10}{'fts5 p99':>10}{'p99 ratio':>11}"
          f"  | CPU: {'kb p50':>7}{'kb p99':>8}{'fts5 p50':>10}{'fts5 p99':>10}{'p99 ratio':>11}")
    order = [f"{lo}-{hi}" if hi < 10**6 else f">{lo - 1}" for lo, hi in BANDS]
    for name in order:
        if name not in times:
            continue
        kb, ft = times[name]["kb.search"], times[name]["fts5"]
        kc, fc = times[name]["kb cpu"], times[name]["fts5 cpu"]
        print(f"{name:<9}{len(kb) // passes:>8}{statistics.median(kb):>9.2f}{percentile(kb, 0.99):>9.2f}"
              f"{statistics.median(ft):>10.3f}{percentile(ft, 0.99):>10.3f}"
              f"{percentile(kb, 0.99) / max(percentile(ft, 0.99), 1e-9):>10.1f}×"
              f"  |      {statistics.median(kc):>7.2f}{percentile(kc, 0.99):>8.2f}{statistics.median(fc):>10.3f}"
              f"{percentile(fc, 0.99):>10.3f}{percentile(kc, 0.99) / max(percentile(fc, 0.99), 1e-9):>10.1f}×")
    if any(t["before cpu"] for t in times.values()):
        print("CPU ms, the engine of the --before revision beside this one, in the same rotation:")
        print(f"{'band':<9}{'queries':>8}{'p50':>9}{'p99':>9}{'now p50':>9}{'now p99':>9}")
        for name in order:
            if name in times:
                bc, kc = times[name]["before cpu"], times[name]["kb cpu"]
                print(f"{name:<9}{len(bc) // passes:>8}{statistics.median(bc):>9.2f}{percentile(bc, 0.99):>9.2f}"
                      f"{statistics.median(kc):>9.2f}{percentile(kc, 0.99):>9.2f}")


if __name__ == "__main__":
    raise SystemExit(main())

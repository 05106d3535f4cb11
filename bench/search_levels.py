"""Search quality with its three levels on the four dev files, and in-process cost per query by length
band beside SQLite FTS5 + jieba on the same KB, in the same process.

    python -m bench.search_levels [FILE.tsv …] [--passes N] [--citywide N]   (or python bench/search_levels.py …)

Builds the engine from kb/data/entries/*.yaml with the bundled table of matters outside the KB
(kb/data/matters.yaml), as `kb eval` does on a fresh database. For each file: top-1/top-3/MRR, how
often the first answer was right at each level (确定 / 可能 / 不在知识库), and for out-of-scope files
the share at each level. Then every query of all files is timed by its length in characters
(≤20, 21–40, 41–80, 81–120, >120), kb.search and the FTS5 baseline alternating query by query after
a warm-up pass, with p50/p99 per band and their ratio. `--citywide N` times the same queries again on
the bundled entries plus N generated ones from other departments (`bench.citywide`), both systems
built on those entries, with the index's build time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
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

        print_times(f"{len(entries)} entries", time_bands(engine, fts5_baseline(entries), queries, args.passes),
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
            print_times(f"{len(big)} entries", time_bands(engine, fts5_baseline(big), queries, args.passes),
                        args.passes)
            engine.close()
    return 0


def time_bands(engine, fts5, queries: list[str], passes: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per query by length band, kb.search and FTS5 alternating query by query: wall time,
    and this thread's CPU time (what a shared, busy machine inflates least)."""
    for q in queries:  # warm-up: caches, jieba's dictionary, SQLite pages
        engine.search(q)
        fts5(q)
    times: dict[str, dict[str, list[float]]] = {}
    for _ in range(passes):
        for q in queries:
            band = times.setdefault(band_of(q), {"kb.search": [], "fts5": [], "kb cpu": [], "fts5 cpu": []})
            for name, run in (("kb.search", engine.search), ("fts5", fts5)):
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


if __name__ == "__main__":
    raise SystemExit(main())

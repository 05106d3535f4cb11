"""Search quality and in-process latency of kb.search on the bundled KB, beside two baselines.

    python -m bench.search_quality [FILE.tsv …] [--scale N] [--misses]

Builds the engine from kb/data/entries/*.yaml into a temporary directory, runs the query files
(default: ../shared/kb/dev-queries.tsv and dev-out-of-scope.tsv; columns query, expected ids
comma-separated or `-` for out of scope, type) and prints top-1, top-3 and MRR overall and per
type, the out-of-scope share marked not confident, the confident share of correct top-1s, and the
same ranking figures for (a) Whoosh + jieba.analyse.ChineseAnalyzer BM25F with OR grouping and
(b) SQLite FTS5 bm25 over jieba-segmented text, on the same entries. Then, in a fresh process
that opens the index as a web worker does: cold start (imports + open + first query), p50/p99
latency per query over the query files, and peak RSS. `--scale N` does the same on an N-entry
synthetic KB (the real entries varied by county and township), with its build time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "kb"
DEFAULT_FILES = [SHARED / "dev-queries.tsv", SHARED / "dev-out-of-scope.tsv"]
BASELINE_FIELDS = ("question", "similar", "keywords", "answer")


def load_queries(paths) -> list[tuple[str, list[str], str]]:
    rows = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                expected = [] if row["expected"].strip() == "-" else [
                    x.strip() for x in row["expected"].split(",") if x.strip()]
                rows.append((row["query"], expected, row.get("type") or ("oos" if not expected else "?")))
    return rows


def evaluate(rank_fn, rows, confident_fn=None) -> dict:
    """rank_fn(query) -> list of ids; confident_fn(query) -> bool (optional)."""
    per_type: dict[str, list[tuple[int, float, bool]]] = {}
    oos, oos_not_conf = 0, 0
    correct_top1, correct_top1_conf = 0, 0
    misses = []
    for query, expected, typ in rows:
        ids = rank_fn(query)
        if not expected:
            oos += 1
            if confident_fn is not None and not confident_fn(query):
                oos_not_conf += 1
            continue
        rank = next((i + 1 for i, x in enumerate(ids) if x in expected), None)
        top1 = rank == 1
        per_type.setdefault(typ, []).append((1 if top1 else 0, 1.0 / rank if rank else 0.0,
                                             bool(rank and rank <= 3)))
        if top1:
            correct_top1 += 1
            if confident_fn is not None and confident_fn(query):
                correct_top1_conf += 1
        else:
            misses.append((typ, query, expected, ids[:3]))
    everything = [x for v in per_type.values() for x in v]

    def agg(xs):
        n = len(xs) or 1
        return {"n": len(xs), "top1": sum(x[0] for x in xs) / n, "top3": sum(x[2] for x in xs) / n,
                "mrr": sum(x[1] for x in xs) / n}

    out = {"overall": agg(everything), "types": {t: agg(v) for t, v in sorted(per_type.items())},
           "misses": misses}
    if confident_fn is not None:
        out["oos_not_confident"] = (oos_not_conf / oos) if oos else None
        out["oos_n"] = oos
        out["top1_confident"] = (correct_top1_conf / correct_top1) if correct_top1 else None
    return out


# --- baselines ---------------------------------------------------------------------------------

def whoosh_baseline(entries, tmp: Path):
    import logging

    from jieba.analyse import ChineseAnalyzer
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import MultifieldParser, OrGroup
    from whoosh.scoring import BM25F

    logging.getLogger("jieba").setLevel(logging.WARNING)
    analyzer = ChineseAnalyzer()
    schema = Schema(id=ID(stored=True), **{f: TEXT(analyzer=analyzer) for f in BASELINE_FIELDS})
    d = tmp / "baseline-whoosh"
    d.mkdir()
    ix = index.create_in(str(d), schema)
    w = ix.writer()
    for e in entries:
        w.add_document(id=e["id"], question=e["question"], similar="\n".join(map(str, e.get("similar") or [])),
                       keywords=" ".join(map(str, e.get("keywords") or [])), answer=str(e.get("answer") or ""))
    w.commit()
    searcher = ix.searcher(weighting=BM25F())
    parser = MultifieldParser(list(BASELINE_FIELDS), ix.schema, group=OrGroup)

    def rank(q: str) -> list[str]:
        try:
            return [h["id"] for h in searcher.search(parser.parse(q), limit=10)]
        except Exception:  # noqa: BLE001 - the baseline's parser fails on some input; count as a miss
            return []
    return rank


def fts5_baseline(entries):
    import jieba

    def seg(text: str) -> str:
        return " ".join(t for t in jieba.cut_for_search(text) if t.strip() and t.isalnum())

    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE kb USING fts5(id UNINDEXED, {', '.join(BASELINE_FIELDS)})")
    for e in entries:
        db.execute("INSERT INTO kb VALUES (?,?,?,?,?)", (
            e["id"], seg(e["question"]), seg(" ".join(map(str, e.get("similar") or []))),
            seg(" ".join(map(str, e.get("keywords") or []))), seg(str(e.get("answer") or ""))))

    def rank(q: str) -> list[str]:
        toks = list(dict.fromkeys(seg(q).split()))
        if not toks:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in toks)
        try:
            return [r[0] for r in db.execute(
                "SELECT id FROM kb WHERE kb MATCH ? ORDER BY bm25(kb) LIMIT 10", (match,))]
        except sqlite3.Error:
            return []
    return rank


# --- synthetic scale ---------------------------------------------------------------------------

COUNTIES = ["北林区", "望奎县", "兰西县", "青冈县", "庆安县", "明水县", "绥棱县", "安达市", "肇东市", "海伦市"]
PLACES = ["乡", "镇", "街道", "社区", "村"]


def synthetic_entries(entries: list[dict], n: int, seed: int = 7) -> list[dict]:
    """n entries: the real ones reworded per county and township, so the vocabulary is realistic."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        base = entries[i % len(entries)]
        county = COUNTIES[(i // len(entries)) % len(COUNTIES)]
        place = f"{county}第{i // (len(entries) * len(COUNTIES)) + 1}{rnd.choice(PLACES)}"
        similar = list(base.get("similar") or [])
        rnd.shuffle(similar)
        out.append({
            "id": f"S{i:05d}", "category": base["category"],
            "question": f"{place}{base['question']}",
            "similar": [f"{place}{s}" if j % 3 == 0 else s for j, s in enumerate(similar[:8])],
            "keywords": list(base.get("keywords") or [])[:8] + [county, place],
            "answer": f"{place}:{base.get('answer') or ''}",
            "detail": f"{county}{base.get('detail') or ''}",
        })
    return out


WORKER = r"""
import json, statistics, sys, time
t0 = time.perf_counter()


def peak_rss_mb():
    # VmHWM, not getrusage: ru_maxrss survives exec and would report the parent's peak
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


from kb.search import SearchEngine, read_synonyms
engine = SearchEngine.open(sys.argv[1], read_synonyms())
engine.search("低保怎么申请")
cold = time.perf_counter() - t0
queries = [line.rstrip("\n") for line in open(sys.argv[2], encoding="utf-8")]
times = []
for _ in range(int(sys.argv[3])):
    for q in queries:
        t = time.perf_counter()
        engine.search(q)
        times.append((time.perf_counter() - t) * 1000.0)
times.sort()
print(json.dumps({"cold_s": cold, "p50_ms": statistics.median(times),
                  "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))], "max_ms": times[-1],
                  "n": len(times), "rss_mb": peak_rss_mb()}))
"""


def worker(index_dir: Path, queries: list[str], passes: int) -> dict:
    """Open the index in a fresh process, as a web worker does: cold start, latency, peak RSS."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(q.replace("\n", " ") for q in queries) + "\n")
    try:
        out = subprocess.run([sys.executable, "-c", WORKER, str(index_dir), fh.name, str(passes)],
                             cwd=ROOT, capture_output=True, text=True, check=True)
    finally:
        os.unlink(fh.name)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_worker(label: str, w: dict) -> None:
    print(f"{label}: p50={w['p50_ms']:.2f} ms  p99={w['p99_ms']:.2f} ms  max={w['max_ms']:.1f} ms "
          f"({w['n']} searches)  cold start (import + open + first query)={w['cold_s']:.2f} s  "
          f"worker RSS={w['rss_mb']:.0f} MB")


def held_out(entries, synonyms, tmp: Path) -> None:
    """Top-1/top-3 on the KB's own similar questions, each asked with it removed from the index."""
    from kb.search import SearchEngine
    from kb.search.calibrate import held_out_folds

    systems: dict[str, list[tuple[int, int]]] = {"kb.search": [], "baseline whoosh+jieba OR": [],
                                                 "baseline sqlite fts5 bm25": []}
    for k, (kept, asked) in enumerate(held_out_folds(entries)):
        fold = tmp / f"heldout-{k}"
        fold.mkdir()
        engine = SearchEngine.build(kept, synonyms, fold / "index")
        rankers = {"kb.search": lambda q, e=engine: [h.id for h in e.search(q, limit=3).hits],
                   "baseline whoosh+jieba OR": whoosh_baseline(kept, fold),
                   "baseline sqlite fts5 bm25": fts5_baseline(kept)}
        for name, rank in rankers.items():
            for text, want in asked:
                ids = rank(text)[:3]
                systems[name].append((int(ids[:1] == [want]), int(want in ids)))
        engine.close()
    print(f"\nheld-out KB similar questions (n={len(systems['kb.search'])}, each removed from the index):")
    for name, xs in systems.items():
        print(f"{name:<28} top1={sum(a for a, _ in xs) / len(xs):.3f}  top3={sum(b for _, b in xs) / len(xs):.3f}")


def print_eval(name: str, res: dict) -> None:
    o = res["overall"]
    print(f"{name:<28} n={o['n']:<4} top1={o['top1']:.3f}  top3={o['top3']:.3f}  MRR={o['mrr']:.3f}"
          + (f"  oos-not-confident={res['oos_not_confident']:.3f} (n={res['oos_n']})"
             if res.get("oos_not_confident") is not None else "")
          + (f"  confident-of-correct-top1={res['top1_confident']:.3f}"
             if res.get("top1_confident") is not None else ""))
    for t, a in res["types"].items():
        print(f"    {t:<14} n={a['n']:<4} top1={a['top1']:.3f}  top3={a['top3']:.3f}  MRR={a['mrr']:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--scale", type=int, default=0, help="also measure a synthetic KB of N entries")
    ap.add_argument("--misses", action="store_true", help="list the queries whose top-1 is wrong")
    ap.add_argument("--heldout", action="store_true",
                    help="also rank each KB similar question with it held out of the index (3 folds), all systems")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from kb.search import SearchEngine, read_synonyms
    from kb.search.calibrate import load_entries

    files = args.files or [f for f in DEFAULT_FILES if f.exists()]
    rows = load_queries(files)
    entries = load_entries()
    synonyms = read_synonyms()
    print(f"knowledge base: {len(entries)} entries, {len(synonyms)} synonyms; queries: {len(rows)} "
          f"from {', '.join(str(f) for f in files)}")
    with tempfile.TemporaryDirectory(prefix="kbsearch-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        engine = SearchEngine.build(entries, synonyms, tmp / "index")
        print(f"build: {time.perf_counter() - t:.2f} s")
        cache: dict[str, object] = {}

        def result(q):
            if q not in cache:
                cache[q] = engine.search(q, limit=10)
            return cache[q]

        res = evaluate(lambda q: [h.id for h in result(q).hits], rows, lambda q: result(q).confident)
        print()
        print_eval("kb.search", res)
        print_eval("baseline whoosh+jieba OR", evaluate(whoosh_baseline(entries, tmp), rows))
        print_eval("baseline sqlite fts5 bm25", evaluate(fts5_baseline(entries), rows))
        if args.heldout:
            held_out(entries, synonyms, tmp)
        if args.misses:
            print("\nmisses (type, query, expected, got top-3):")
            for m in res["misses"]:
                print("   ", *m)

        queries = [r[0] for r in rows]
        print()
        print_worker(f"worker, {len(entries)} entries", worker(tmp / "index", queries, passes=5))

        if args.scale:
            big = synthetic_entries(entries, args.scale)
            t = time.perf_counter()
            SearchEngine.build(big, synonyms, tmp / "index-big")
            print(f"\nsynthetic KB of {len(big)} entries: build {time.perf_counter() - t:.1f} s "
                  f"(this process's peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.0f} MB), "
                  f"index {sum(f.stat().st_size for f in (tmp / 'index-big').iterdir()) / 1e6:.1f} MB")
            print_worker(f"worker, {len(big)} entries", worker(tmp / "index-big", queries, passes=3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

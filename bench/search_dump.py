"""Every result of the dev files (and our own calibration and check files) as JSON lines, minus the
time taken: diff two dumps to show that a change to the engine left its results as they were.

    python -m bench.search_dump [--citywide N] > before.jsonl   (then again after the change; diff)

Builds the engine on the bundled entries as `bench.search_levels` does, and with `--citywide N` a
second one on the bundled entries plus N generated ones (`bench.citywide`); each query's line holds
the KB size, the file, the query, and the result: hits (id, score, highlights), level, reason,
dispatch department, pair and confidence.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--citywide", type=int, default=0, help="also on the KB plus N generated entries")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from bench.search_levels import DEV_FILES
    from kb import evaluation
    from kb.scope import read_seed
    from kb.search import SearchEngine, levels, read_synonyms
    from kb.search.calibrate import load_entries

    own = [ROOT / "kb" / "search" / "data" / n for n in ("calibration.tsv", "check.tsv")]
    files = args.files or [f for f in [*DEV_FILES, *own] if f.exists()]
    entries = load_entries()
    kbs = [entries]
    if args.citywide:
        from bench.citywide import generate

        kbs.append(entries + generate(args.citywide))
    with tempfile.TemporaryDirectory(prefix="kbsearch-dump-") as tmp:
        for n, kb in enumerate(kbs):
            engine = SearchEngine.build(kb, read_synonyms(), Path(tmp) / str(n))
            engine.set_scope(levels.Scope.of(read_seed()))
            for path in files:
                for row in evaluation.read_tsv([path]):
                    r = dataclasses.asdict(engine.search(row.query, limit=10))
                    r.pop("took_ms")
                    print(json.dumps({"kb": len(kb), "file": path.name, **r}, ensure_ascii=False, sort_keys=True))
            engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

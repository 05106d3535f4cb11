"""Calibrate the confidence on the knowledge base itself, never on evaluation queries.

    python -m kb.search.calibrate [ENTRIES_DIR] [--dump FILE]

Held-out phrasings make the training data. Positive: a similar question removed from its entry
and asked as a query should find that entry, with confidence. Negative, two kinds: (1) the
phrasings of an entry removed from the index (questions the knowledge base does not answer,
though close to ones it does); (2) held-out phrasings whose domain words were swapped for random
everyday nouns from jieba's dictionary ("低保金每月几号发" → "电费每月几号发"): the shape of a
hotline question about another matter, which must not ride on the words 申请, 多少钱, 怎么办.
The held-out and the swapped phrasings are also asked after a made-up account of everyday words
(a caller's story told before the question), so that length alone neither raises nor lowers the
confidence.
A logistic regression over the re-ranker's features of the top hit is fitted on these, and the
weights are printed for `engine.CONFIDENCE_WEIGHTS`, with a table of how the level thresholds in
`levels` (SURE_AT, CLOSE_AT, OUT_BELOW) sort the samples. The thresholds are then checked on our own
calibration questions: `flask --app app kb eval kb/search/data/calibration.tsv`.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import random
import tempfile
from pathlib import Path

import jieba
import yaml

from kb.search import engine as eng
from kb.search.lexicon import read_synonyms

ENTRIES_DIR = Path(__file__).resolve().parent.parent / "data" / "entries"


def load_entries(path: Path = ENTRIES_DIR) -> list[dict]:
    out = []
    for f in sorted(path.glob("*.yaml")):
        e = yaml.safe_load(f.read_text(encoding="utf-8"))
        if e.get("status", "published") == "published":
            out.append(e)
    return out


def everyday_words(tags: tuple[str, ...] = ("n",), min_freq: int = 300, max_freq: int = 20000) -> list[str]:
    """Common two- and three-character words from jieba's dictionary, by POS tag (n: nouns)."""
    out = []
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] in tags and 2 <= len(parts[0]) <= 3 \
                    and min_freq <= int(parts[1]) <= max_freq:
                out.append(parts[0])
    return out


def story(words: list[str], rnd: random.Random) -> str:
    """A caller's account before the question, as far as the features can tell: 6 to 20 everyday
    words the question does not need ("我家 昨天 半夜 衣服 亲戚 …")."""
    return "，".join("".join(rnd.sample(words, rnd.randint(2, 4))) for _ in range(rnd.randint(2, 5))) + "。"


def corrupt(engine: eng.SearchEngine, text: str, unknown: list[str], passing: list[str],
            rnd: random.Random) -> str | None:
    """`text` with its most domain-specific words (common in the KB, rare in general Chinese)
    replaced by random everyday nouns; None when it has no such word. A third of the nouns are
    ones the KB uses in passing (营业执照 in a list of checked records), as real questions about
    other matters share such words with it."""
    words = engine.cut(text)
    scored = sorted(((engine.domain_specificity(w), i) for i, w in enumerate(words) if len(w) >= 2),
                    reverse=True)
    targets = [i for sc, i in scored[:2] if sc > 0]
    if not targets:
        return None
    for i in targets:
        words[i] = rnd.choice(passing if passing and rnd.random() < 1 / 3 else unknown)
    return "".join(words)


def held_out_folds(entries: list[dict], folds: int = 3):
    """(entries without every `folds`-th similar question, [(that question, its entry id)]) per fold."""
    for k in range(folds):
        kept, asked = [], []
        for e in entries:
            similar = list(e.get("similar") or [])
            asked += [(s, e["id"]) for i, s in enumerate(similar) if i % folds == k]
            kept.append({**e, "similar": [s for i, s in enumerate(similar) if i % folds != k]})
        yield kept, asked


def samples(entries: list[dict], synonyms, folds: int = 3, entry_folds: int = 10,
            seed: int = 12345) -> list[tuple[dict, int]]:
    out: list[tuple[dict, int]] = []
    rnd = random.Random(seed)
    everyday = everyday_words()
    story_words = everyday_words(("n", "v", "t", "a", "d"), min_freq=1000)
    with tempfile.TemporaryDirectory(prefix="kbsearch-calibrate-") as tmp:
        for k, (kept, asked) in enumerate(held_out_folds(entries, folds)):
            engine = eng.SearchEngine.build(kept, synonyms, Path(tmp) / f"p{k}")
            unknown = [w for w in everyday if not engine.known(w)]
            passing = [w for w in everyday if engine.known(w) and engine.domain_specificity(w) <= 0]
            for text, want in asked:
                f = engine.top_features(text)
                if f is not None:
                    out.append(({**f, "kind": "held-out"}, 1 if f["id"] == want else 0))
                other = corrupt(engine, text, unknown, passing, rnd)
                f = engine.top_features(other) if other else None
                if f is not None:
                    out.append(({**f, "kind": "swapped", "text": other}, 0))
                # the same two with a story told first: a long account is no reason to doubt, nor to trust
                told = story(story_words, rnd)
                f = engine.top_features(told + text)
                if f is not None:
                    out.append(({**f, "kind": "story", "text": told + text}, 1 if f["id"] == want else 0))
                f = engine.top_features(told + other) if other else None
                if f is not None:
                    out.append(({**f, "kind": "story-swapped", "text": told + other}, 0))
        for k in range(entry_folds):
            kept = [e for i, e in enumerate(entries) if i % entry_folds != k]
            gone = [e for i, e in enumerate(entries) if i % entry_folds == k]
            engine = eng.SearchEngine.build(kept, synonyms, Path(tmp) / f"n{k}")
            for e in gone:
                for text in [e["question"], *(e.get("similar") or [])]:
                    f = engine.top_features(text)
                    if f is not None:
                        out.append(({**f, "kind": "entry-removed"}, 0))
    return out


def fit(data: list[tuple[list[float], int]], iterations: int = 3000, rate: float = 0.5,
        l2: float = 1e-3) -> list[float]:
    """Plain logistic regression (batch gradient descent), classes weighted to balance."""
    n_pos = sum(y for _, y in data) or 1
    n_neg = (len(data) - n_pos) or 1
    cw = {1: len(data) / (2 * n_pos), 0: len(data) / (2 * n_neg)}
    w = [0.0] * (len(data[0][0]) + 1)
    for _ in range(iterations):
        g = [0.0] * len(w)
        for x, y in data:
            z = w[-1] + sum(a * b for a, b in zip(w, x, strict=False))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            d = (p - y) * cw[y]
            for i, xi in enumerate(x):
                g[i] += d * xi
            g[-1] += d
        w = [wi - rate * (gi / len(data) + l2 * wi) for wi, gi in zip(w, g, strict=True)]
    return w


def levels_table(data: list[tuple[dict, int]]) -> None:
    """How the level thresholds (`levels.SURE_AT`, `CLOSE_AT`, `OUT_BELOW`) sort the samples: held-out
    phrasings whose entry came first (right) or not (wrong), and questions the KB does not answer."""
    asked = [(f, y) for f, y in data if f["kind"] in ("held-out", "story")]
    others = [f for f, _ in data if f["kind"] not in ("held-out", "story")]

    def share(rows: list[dict], test) -> str:
        return f"{sum(1 for f in rows if test(f)) / max(1, len(rows)):.3f}"

    print("levels: sure_at close_at | right → 确定, wrong → 确定, not in KB → 确定")
    for sure_at in (0.4, 0.5, 0.55, 0.6, 0.7, 0.8):
        for close_at in (0.85, 0.9, 0.95, 1.01):
            def sure(f: dict, sure_at: float = sure_at, close_at: float = close_at) -> bool:
                return bool(f.get("exact")) or (eng.SearchEngine._confidence(f) >= sure_at
                                                and f.get("second", 0.0) < close_at)
            print(f"  {sure_at:.2f} {close_at:.2f} | {share([f for f, y in asked if y], sure)}, "
                  f"{share([f for f, y in asked if not y], sure)}, {share(others, sure)}")
    print("levels: out_below | right → 不在知识库, not in KB → 不在知识库 (before the matters table)")
    for out in (0.05, 0.08, 0.1, 0.12, 0.15, 0.2):
        def oos(f: dict, out: float = out) -> bool:
            return not f.get("exact") and eng.SearchEngine._confidence(f) < out
        print(f"  {out:.2f} | {share([f for f, y in asked if y], oos)}, {share(others, oos)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fit engine.CONFIDENCE_WEIGHTS on held-out KB phrasings.")
    ap.add_argument("entries", nargs="?", type=Path, default=ENTRIES_DIR, help="directory of entry YAML files")
    ap.add_argument("--dump", type=Path, help="also pickle the samples (features, label) to this file")
    args = ap.parse_args(argv)
    data = samples(load_entries(args.entries), read_synonyms())
    if args.dump:
        with open(args.dump, "wb") as fh:
            pickle.dump(data, fh)
    xs = [(eng.confidence_inputs(f), y) for f, y in data]
    w = fit(xs)
    names = [*eng.CONFIDENCE_FEATURES, "bias"]
    held = [y for f, y in data if f["kind"] == "held-out"]
    print(f"{len(data)} samples ({sum(y for _, y in data)} positive); held-out similar questions found "
          f"first: {sum(held) / max(1, len(held)):.3f} of {len(held)}")
    print("CONFIDENCE_WEIGHTS = {" + ", ".join(f'"{k}": {v:.3f}' for k, v in zip(names, w, strict=True)) + "}")

    def p(x: list[float]) -> float:
        return 1 / (1 + math.exp(-(w[-1] + sum(a * b for a, b in zip(w, x, strict=False)))))

    levels_table(data)
    for th in (0.3, 0.4, 0.5, 0.6, 0.7):
        pos = [p(x) >= th for x, y in xs if y == 1]
        neg = [p(x) < th for x, y in xs if y == 0]
        print(f"  at {th}: positives confident {sum(pos) / max(1, len(pos)):.3f}, "
              f"negatives not confident {sum(neg) / max(1, len(neg)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

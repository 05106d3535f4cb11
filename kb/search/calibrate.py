"""Calibrate the confidence on the knowledge base itself, never on evaluation queries.

    python -m kb.search.calibrate [ENTRIES_DIR] [--own FILE] [--dump FILE]

Held-out phrasings make the training data. Positive: a similar question removed from its entry
and asked as a query should find that entry, with confidence. Negative, two kinds: (1) the
phrasings of an entry removed from the index (questions the knowledge base does not answer,
though close to ones it does); (2) held-out phrasings whose domain words were swapped for random
everyday nouns from jieba's dictionary ("低保金每月几号发" → "电费每月几号发"): the shape of a
hotline question about another matter, which must not ride on the words 申请, 多少钱, 怎么办.
The held-out and the swapped phrasings are also asked after a made-up account of everyday words
(a caller's story told before the question), so that length alone neither raises nor lowers the
confidence.
Our own phrasings (kb/search/data/calibration.tsv: questions written the way callers talk, short and
transcript-length, and questions about other matters) are asked of the whole KB and join them, each
counting OWN_WEIGHT held-out phrasings: held-out similar questions are the editors' wording, and
callers' wording is what the confidence is used on.
A logistic regression over the re-ranker's features of the top hit is fitted on these (Newton's
method), and the weights are printed for `engine.CONFIDENCE_WEIGHTS`, with a table of how the level
thresholds in `levels` (SURE_AT, CLOSE_AT, OUT_BELOW) sort the samples and the pair chosen: the most
right first answers 确定 with at most WRONG_SURE of the wrong ones and NOT_IN_KB_SURE of questions the
KB does not answer marked 确定 (near-ties, within TIE, going to the pair marking the fewest wrong ones).
kb/search/data/check.tsv and the evaluation files are never used here.
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

from kb.evaluation import read_tsv
from kb.search import engine as eng
from kb.search import levels
from kb.search.lexicon import read_synonyms

ENTRIES_DIR = Path(__file__).resolve().parent.parent / "data" / "entries"
#: our own phrasings, written as callers talk (not the evaluation files), and questions about other matters
OWN = Path(__file__).resolve().parent / "data" / "calibration.tsv"
#: an own phrasing counts as this many held-out similar questions in the fit and the levels table
OWN_WEIGHT = 10.0
#: the levels are chosen among those marking at most these shares 确定: of wrong first answers (the
#: issue's target) and of questions the KB does not answer
WRONG_SURE, NOT_IN_KB_SURE = 0.20, 0.15
#: … in each group with at least this many wrong first answers, and pooled: a group of fewer says too
#: little on its own (with the classifier, 14 of our own phrasings are answered wrong, 4 of them with
#: a confidence above 0.7 whatever the levels, so a cap of 0.15 or 0.20 on them allowed no pair)
GROUP_WRONG_MIN = 30
#: pairs marking this close to the most right first answers 确定 count as marking as many: the one of
#: them marking the fewest wrong ones is chosen (0.1 % more right ones is not worth 1.3 % more wrong ones)
TIE = 0.005
SURE_GRID = (0.4, 0.45, 0.5, 0.55, 0.6, 0.7)
CLOSE_GRID = (0.8, 0.85, 0.9, 0.95, 1.01)


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
            seed: int = 12345, own: Path | None = OWN) -> list[tuple[dict, int]]:
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
        if own:
            engine = eng.SearchEngine.build(entries, synonyms, Path(tmp) / "own")
            for row in read_tsv([own]):
                f = engine.top_features(row.query)
                if f is not None and row.expected:
                    out.append(({**f, "kind": "own", "text": row.query}, 1 if f["id"] in row.expected else 0))
                elif f is not None:
                    out.append(({**f, "kind": "own-out", "text": row.query}, 0))
    return out


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """x with a·x = b (Gauss–Jordan with partial pivoting; a is small and positive definite)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[r][c]:
                k = m[r][c] / m[c][c]
                for j in range(c, n + 1):
                    m[r][j] -= k * m[c][j]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(data: list[tuple[list[float], int]], weights: list[float] | None = None, l2: float = 1e-2,
        iterations: int = 30) -> list[float]:
    """Logistic regression by Newton's method, classes weighted to balance, each sample by `weights`
    (1 when None); returns the feature weights and the bias last."""
    sw = weights or [1.0] * len(data)
    n_pos = sum(w for (_, y), w in zip(data, sw, strict=True) if y) or 1.0
    n_neg = (sum(sw) - n_pos) or 1.0
    cw = {1: sum(sw) / (2 * n_pos), 0: sum(sw) / (2 * n_neg)}
    d = len(data[0][0]) + 1
    w = [0.0] * d
    for _ in range(iterations):
        g = [l2 * wi for wi in w]
        h = [[l2 if i == j else 0.0 for j in range(d)] for i in range(d)]
        for (x, y), s in zip(data, sw, strict=True):
            xx = [*x, 1.0]
            z = sum(a * b for a, b in zip(w, xx, strict=True))
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            c = cw[y] * s
            r, v = (p - y) * c, p * (1 - p) * c
            for i in range(d):
                g[i] += r * xx[i]
                vi, hi = v * xx[i], h[i]
                for j in range(i, d):
                    hi[j] += vi * xx[j]
        for i in range(d):
            for j in range(i):
                h[i][j] = h[j][i]
        step = _solve(h, g)
        w = [a - b for a, b in zip(w, step, strict=True)]
        if max(abs(x) for x in step) < 1e-7:
            break
    return w


IN_SCOPE = {"held-out": ("held-out", "story"), "own": ("own",)}


def levels_table(data: list[tuple[dict, int]]) -> tuple[float, float]:
    """How the level thresholds (`levels.SURE_AT`, `CLOSE_AT`, `OUT_BELOW`) sort the samples: in-scope
    questions whose entry came first (right) or not (wrong), the KB's held-out phrasings and our own
    apart, and questions the KB does not answer. Returns the (SURE_AT, CLOSE_AT) marking the most right
    first answers 确定 (pooled, an own phrasing counting OWN_WEIGHT) among those marking at most
    WRONG_SURE of the wrong ones, pooled and in each group (the KB's held-out phrasings, our own) of
    GROUP_WRONG_MIN wrong ones or more, and NOT_IN_KB_SURE of the questions the KB does not answer 确定;
    of pairs within TIE of the most right ones, the one marking the fewest wrong ones."""
    groups = {name: [(f, y) for f, y in data if f["kind"] in kinds] for name, kinds in IN_SCOPE.items()}
    inside = {k for kinds in IN_SCOPE.values() for k in kinds}
    others = [f for f, _ in data if f["kind"] not in inside]

    def weight(f: dict) -> float:
        return OWN_WEIGHT if f["kind"].startswith("own") else 1.0

    def share(rows: list[dict], test) -> float:
        return sum(weight(f) for f in rows if test(f)) / max(1e-9, sum(weight(f) for f in rows))

    wrongs = {name: sum(1 for _, y in rows if not y) for name, rows in groups.items()}
    print("wrong first answers: " + ", ".join(f"{name} {n}" for name, n in wrongs.items()))
    print("levels: sure_at close_at | right → 确定, wrong → 确定 (held-out; own | pooled) | not in KB → 确定")
    allowed: list[tuple[float, float, float, float]] = []
    for sure_at in SURE_GRID:
        for close_at in CLOSE_GRID:
            def sure(f: dict, sure_at: float = sure_at, close_at: float = close_at) -> bool:
                return bool(f.get("exact")) or (eng.SearchEngine._confidence(f) >= sure_at
                                                and f.get("second", 0.0) < close_at)
            # per group: (right, wrong) marked 确定
            marked = {name: (share([f for f, y in rows if y], sure), share([f for f, y in rows if not y], sure))
                      for name, rows in groups.items()}
            cells = [f"{r:.3f}, {w:.3f}" for r, w in marked.values()]
            pooled = [(f, y) for rows in groups.values() for f, y in rows]
            right = share([f for f, y in pooled if y], sure)
            wrong = share([f for f, y in pooled if not y], sure)
            outside = share(others, sure)
            print(f"  {sure_at:.2f} {close_at:.2f} | {'; '.join(cells)} | pooled {right:.3f}, {wrong:.3f}"
                  f" | {outside:.3f}")
            if (wrong <= WRONG_SURE and outside <= NOT_IN_KB_SURE
                    and all(w <= WRONG_SURE for name, (_, w) in marked.items() if wrongs[name] >= GROUP_WRONG_MIN)):
                allowed.append((right, wrong, sure_at, close_at))
    asked = [(f, y) for rows in groups.values() for f, y in rows]
    print("levels: out_below | right → 不在知识库, not in KB → 不在知识库 (before the matters table)")
    for out in (0.05, 0.08, 0.1, 0.12, 0.15, 0.2):
        def oos(f: dict, out: float = out) -> bool:
            return not f.get("exact") and eng.SearchEngine._presence(f) < out
        print(f"  {out:.2f} | {share([f for f, y in asked if y], oos):.3f}, {share(others, oos):.3f}")
    if not allowed:
        return levels.SURE_AT, levels.CLOSE_AT
    most = max(a[0] for a in allowed)
    right, wrong, sure_at, close_at = min((a for a in allowed if a[0] >= most - TIE), key=lambda a: (a[1], -a[0]))
    print(f"chosen: SURE_AT = {sure_at}, CLOSE_AT = {close_at} (pooled right → 确定 {right:.3f}, wrong → 确定 {wrong:.3f})")
    return sure_at, close_at


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fit engine.CONFIDENCE_WEIGHTS on held-out KB phrasings.")
    ap.add_argument("entries", nargs="?", type=Path, default=ENTRIES_DIR, help="directory of entry YAML files")
    ap.add_argument("--dump", type=Path, help="also pickle the samples (features, label) to this file")
    ap.add_argument("--own", type=Path, default=OWN, help="our own labelled phrasings (query, expected, type)")
    ap.add_argument("--without-classifier", action="store_true",
                    help="fit engine.CONFIDENCE_WEIGHTS_PLAIN: the indexes built here get no classifier")
    args = ap.parse_args(argv)
    plain = args.without_classifier
    if plain:
        eng.MAX_CLASSES = 0
    data = samples(load_entries(args.entries), read_synonyms(), own=args.own)
    if args.dump:
        with open(args.dump, "wb") as fh:
            pickle.dump(data, fh)
    used = [i for i, name in enumerate(eng.CONFIDENCE_FEATURES) if not (plain and name == "clf")]
    xs = [([x[i] for i in used], y) for x, y in ((eng.confidence_inputs(f), y) for f, y in data)]
    w = fit(xs, [OWN_WEIGHT if f["kind"].startswith("own") else 1.0 for f, _ in data])
    names = [*(eng.CONFIDENCE_FEATURES[i] for i in used), "bias"]
    held = [y for f, y in data if f["kind"] == "held-out"]
    print(f"{len(data)} samples ({sum(y for _, y in data)} positive); held-out similar questions found "
          f"first: {sum(held) / max(1, len(held)):.3f} of {len(held)}")
    table = "CONFIDENCE_WEIGHTS_PLAIN" if plain else "CONFIDENCE_WEIGHTS"
    setattr(eng, table, dict(zip(names, w, strict=True)))   # for the levels table below
    print(table + " = {" + ", ".join(f'"{k}": {v:.3f}' for k, v in zip(names, w, strict=True)) + "}")
    levels_table(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

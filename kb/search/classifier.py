"""Which entry a query asks about, learned from the entries' own phrasings when the index is built.

BM25 and the closeness to one phrasing say how much of the query an entry shares; they do not know
which words tell two neighbours apart (到账 says 低保金没有按时到账, not 低保金每月什么时候发; 上班 in a
question about 低保 says 找到工作会不会马上停保). A softmax regression does: trained on every
phrasing of every entry of the home knowledge base (its question, similar questions and keywords,
read by the same analysis as a query: synonyms, typo and pinyin readings, a long story's words
weighed down), over the query's search tokens and its character bigrams (which carry what the
segmentation cuts apart: 见退, 边缘户). Its probability of an entry joins the re-ranking score
(`engine.W_CLASSIFIER`) and the confidence.

The similar questions kb_editors write are its training data: a new phrasing for an entry teaches it
the words callers use for that entry, and not for its neighbour. Training is deterministic (the
examples sorted, fixed seeds), and only the home KB's entries are classes (in a
city-wide KB the other departments' entries get no probability; see `engine._rank`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence

import numpy

BIGRAM_WEIGHT = 1.0     # a character bigram beside a search token of weight 1
L2 = 1e-5               # weight decay per update: measured 1e-4 … 1e-6, 1e-5 best on calibration.tsv
EPOCHS = 6              # passes over the examples: top-1 on calibration.tsv 0.977 / 0.975 / 0.975 / 0.975 at 4 / 6 / 8 / 15
RATE = 0.5              # AdaGrad's step
#: a knowledge base of more entries gets no classifier: training cost grows with entries × phrasings and
#: its memory with features × entries (see `Classifier.train`)
MAX_CLASSES = 200
UPDATE_EPOCHS = 2       # passes of the one fit an incremental update makes (see `Classifier.train`)
SEEDS = (1, 2, 3, 4, 5)  # one fit per seed (the order examples are shown in), averaged. With one similar question
                         # per entry left out at random (4 draws), top-1 on check.tsv was 0.959 ± 0.002 with
                         # three fits and 0.964 ± 0.001 with five (calibration.tsv 0.975 with either)


def features(weights: Mapping[str, float], text: str) -> dict[str, float]:
    """A query's features: its search tokens at their weights (`_Query.weights`) and the character
    bigrams of each clause of `text` (the query with its synonyms applied)."""
    out = {"w:" + t: w for t, w in weights.items()}
    for chunk in text.split():
        for i in range(len(chunk) - 1):
            key = "b:" + chunk[i:i + 2]
            out[key] = out.get(key, 0.0) + BIGRAM_WEIGHT
    return out


class Classifier:
    """Softmax regression over sparse features; `labels[k]` is the entry id of class k."""

    def __init__(self, labels: Sequence[str], vocab: dict[str, int], weights, steps=None):
        self.labels = list(labels)
        self.index = {label: k for k, label in enumerate(self.labels)}
        self.vocab = vocab
        self.weights = numpy.asarray(weights, dtype=numpy.float32)
        #: AdaGrad's sums of squared gradients, for `train(…, start=self)` to go on from
        self.steps = None if steps is None else numpy.asarray(steps, dtype=numpy.float32)

    def probabilities(self, feats: Mapping[str, float]) -> dict[str, float]:
        """P(entry | query) for every class; uniform when no feature is known."""
        rows, vals = _vector(self.vocab, feats)
        z = vals @ self.weights[rows] if len(rows) else numpy.zeros(len(self.labels))
        z = numpy.exp(z - z.max())
        p = (z / z.sum()).tolist()
        return dict(zip(self.labels, p, strict=True))

    @classmethod
    def train(cls, examples: Iterable[tuple[Mapping[str, float], str]], start: Classifier | None = None
              ) -> Classifier | None:
        """Fit on (features, entry id) pairs; None with fewer than two classes or more than MAX_CLASSES.
        With `start` (the classifier of the index an incremental update starts from), one fit of
        UPDATE_EPOCHS goes on from its weights instead of len(SEEDS) fits from zero: an edit is
        searchable in about a second, not five (its drift from a full build ends at the next one)."""
        # in an order of their own: the entries' order and a set's order in the analysis do not move the fit
        examples = sorted(((dict(sorted(feats.items())), label) for feats, label in examples),
                          key=lambda x: (x[1], list(x[0].items())))
        labels = sorted({label for _, label in examples})
        if not 2 <= len(labels) <= MAX_CLASSES:
            return None
        vocab = {k: i for i, k in enumerate(sorted({k for feats, _ in examples for k in feats}))}
        index = {label: k for k, label in enumerate(labels)}
        data = [(*_vector(vocab, feats), index[label]) for feats, label in examples]
        if start is not None and start.steps is not None:
            w, gw = numpy.zeros((len(vocab), len(labels))), numpy.full((len(vocab), len(labels)), 1e-8)
            rows = [(i, start.vocab[k]) for k, i in vocab.items() if k in start.vocab]
            cols = [(k, start.index[label]) for k, label in enumerate(labels) if label in start.index]
            if rows and cols:
                new_r, old_r = (numpy.array(x) for x in zip(*rows, strict=True))
                new_c, old_c = (numpy.array(x) for x in zip(*cols, strict=True))
                w[numpy.ix_(new_r, new_c)] = start.weights[numpy.ix_(old_r, old_c)]
                gw[numpy.ix_(new_r, new_c)] = start.steps[numpy.ix_(old_r, old_c)]
            w, gw = _fit(data, w, gw, SEEDS[0], UPDATE_EPOCHS)
            return cls(labels, vocab, w, gw)
        total_w = numpy.zeros((len(vocab), len(labels)), dtype=numpy.float32)
        total_g = numpy.zeros_like(total_w)
        for seed in SEEDS:   # summed as they come: one fit's arrays in memory at a time
            w, gw = _fit(data, numpy.zeros((len(vocab), len(labels))), numpy.full((len(vocab), len(labels)), 1e-8),
                         seed, EPOCHS)
            total_w += w
            total_g += gw
            del w, gw
        return cls(labels, vocab, total_w / len(SEEDS), total_g / len(SEEDS))

    def to_dict(self) -> dict:
        return {"labels": self.labels, "vocab": self.vocab, "weights": self.weights, "steps": self.steps}

    @classmethod
    def from_dict(cls, d: Mapping) -> Classifier:
        return cls(d["labels"], d["vocab"], d["weights"], d.get("steps"))


def _vector(vocab: Mapping[str, int], feats: Mapping[str, float]):
    """The rows of the known features and their values, scaled to unit length."""
    known = [(vocab[k], v) for k, v in feats.items() if k in vocab]
    rows = numpy.fromiter((k for k, _ in known), dtype=numpy.int64, count=len(known))
    vals = numpy.fromiter((v for _, v in known), dtype=numpy.float64, count=len(known))
    norm = math.sqrt(float(vals @ vals)) if len(known) else 0.0
    return rows, vals / norm if norm else vals


def _fit(data: list, w, gw, seed: int, epochs: int):
    """One softmax regression by AdaGrad from weights `w` and squared-gradient sums `gw` (changed in
    place), `epochs` passes over the examples in orders shuffled by `seed`: (w, gw).
    No bias: an entry with more phrasings is not more likely a priori (and the fit measured the same on
    calibration.tsv with one, 0.977 against 0.975)."""
    order = list(range(len(data)))
    rnd = random.Random(seed)
    for _ in range(epochs):
        rnd.shuffle(order)
        for i in order:
            rows, vals, y = data[i]
            wr = w[rows]
            z = vals @ wr
            p = numpy.exp(z - z.max())
            p /= p.sum()
            p[y] -= 1.0
            g = numpy.outer(vals, p)
            g += L2 * wr
            gr = gw[rows]
            gr += g * g
            gw[rows] = gr
            g *= RATE
            g /= numpy.sqrt(gr)
            wr -= g
            w[rows] = wr
    return w, gw

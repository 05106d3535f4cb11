"""Whoosh's BM25F, precomputed: one impact list per token, so a query costs one pass over its postings.

A Whoosh `Or` of `Term(field, token, boost=field_weight × token_weight)` queries scores a document
Σ_token token_weight × Σ_field field_weight × bm25(idf_field, tf, length, avg_length). The inner sum
does not depend on the query, so it is computed once per (token, document) when the index is built,
with Whoosh's own formula, statistics and length quantization (tests check the two agree). Whoosh's
own matchers do the same arithmetic through several Python objects per posting: at 10,000 entries
a query touching common words took hundreds of milliseconds there, and a few here.
"""

from __future__ import annotations

import bisect
import heapq
import math
from array import array
from collections.abc import Mapping, Sequence
from operator import itemgetter

from whoosh.scoring import bm25
from whoosh.util.numeric import byte_to_length, length_to_byte

B, K1 = 0.75, 1.2


def build(docs: Sequence[Mapping[str, Sequence[str]]], field_weights: Mapping[str, float]) -> dict[str, tuple[bytes, bytes]]:
    """docs[i] = {field: tokens}; returns {token: (docnums as uint32 bytes, impacts as float32 bytes)}."""
    n = len(docs)
    avg: dict[str, float] = {}
    df: dict[tuple[str, str], int] = {}
    for f in field_weights:
        avg[f] = (sum(len(d.get(f, ())) for d in docs) / n) if n else 1.0
    tfs: list[dict[str, dict[str, int]]] = []
    for d in docs:
        per_field: dict[str, dict[str, int]] = {}
        for f in field_weights:
            counts: dict[str, int] = {}
            for t in d.get(f, ()):
                counts[t] = counts.get(t, 0) + 1
            per_field[f] = counts
            for t in counts:
                df[(f, t)] = df.get((f, t), 0) + 1
        tfs.append(per_field)
    postings: dict[str, tuple[array, array]] = {}
    for docnum, per_field in enumerate(tfs):
        impact: dict[str, float] = {}
        for f, counts in per_field.items():
            if not counts:
                continue
            # Whoosh stores a field's length in one byte, so it scores with the rounded length
            length = byte_to_length(length_to_byte(len(docs[docnum][f])))
            avgfl = avg[f] or 1.0
            for t, tf in counts.items():
                idf = math.log(n / (df[(f, t)] + 1)) + 1
                impact[t] = impact.get(t, 0.0) + field_weights[f] * bm25(idf, tf, length, avgfl, B, K1)
        for t, s in impact.items():
            p = postings.get(t)
            if p is None:
                p = postings[t] = (array("I"), array("f"))
            p[0].append(docnum)
            p[1].append(s)
    return {t: (d.tobytes(), s.tobytes()) for t, (d, s) in postings.items()}


class Impacts:
    """The query side: weighted sum of precomputed impacts, top n documents."""

    def __init__(self, raw: dict[str, tuple[bytes, bytes]]):
        self._raw = raw
        self._lists: dict[str, tuple[array, array]] = {}

    def __contains__(self, token: str) -> bool:
        return token in self._raw

    def postings(self, token: str) -> tuple[array, array] | None:
        p = self._lists.get(token)
        if p is None:
            raw = self._raw.get(token)
            if raw is None:
                return None
            docs, scores = array("I"), array("f")
            docs.frombytes(raw[0])
            scores.frombytes(raw[1])
            p = self._lists[token] = (docs, scores)
        return p

    def doc_frequency(self, token: str) -> int:
        raw = self._raw.get(token)
        return len(raw[0]) // 4 if raw else 0

    def top(self, weights: Mapping[str, float], n: int) -> list[tuple[int, float]]:
        acc: dict[int, float] = {}
        get = acc.get
        for token, w in weights.items():
            p = self.postings(token)
            if p is None:
                continue
            for d, s in zip(p[0], p[1]):
                acc[d] = get(d, 0.0) + w * s
        return sorted(heapq.nlargest(n, acc.items(), key=itemgetter(1)), key=lambda x: (-x[1], x[0]))

    def score(self, weights: Mapping[str, float], docnum: int) -> float:
        total = 0.0
        for token, w in weights.items():
            p = self.postings(token)
            if p is None:
                continue
            docs = p[0]
            lo = bisect.bisect_left(docs, docnum)
            if lo < len(docs) and docs[lo] == docnum:
                total += w * p[1][lo]
        return total

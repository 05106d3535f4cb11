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
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

from whoosh.scoring import bm25
from whoosh.util.numeric import byte_to_length, length_to_byte

try:
    import numpy
except ImportError:  # the dict path below gives the same results, more slowly on a large index
    numpy = None

B, K1 = 0.75, 1.2
#: documents from which a query's sums are taken in numpy (below it a dict is as fast)
VECTOR_FROM = 1000


def bump(table: dict[str, int], keys: Iterable[str], sign: int) -> None:
    """Count `keys` in (sign 1) or out (sign -1) of a frequency table, dropping what reaches zero."""
    for k in keys:
        left = table.get(k, 0) + sign
        if left > 0:
            table[k] = left
        else:
            table.pop(k, None)


class ImpactBuilder:
    """Collects term counts document by document, then computes every (token, document) impact.

    The statistics (documents, per-field document frequencies and total lengths) are kept with the
    index, so an incremental update can take a document's counts out, put new ones in and compute
    the changed documents' impacts with the statistics of the knowledge base as it is now.
    """

    def __init__(self, field_weights: Mapping[str, float], stats: Mapping | None = None):
        self.field_weights = dict(field_weights)
        self._docs: list[dict[str, tuple[int, dict[str, int]]]] = []   # per doc: field → (length, counts)
        stats = stats or {}
        self.n: int = stats.get("n", 0)
        self._df: dict[str, dict[str, int]] = stats.get("df") or {f: {} for f in self.field_weights}
        self._total_len: dict[str, int] = stats.get("total_len") or dict.fromkeys(self.field_weights, 0)

    def stats(self) -> dict:
        return {"n": self.n, "df": self._df, "total_len": self._total_len}

    def counts(self, fields: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, dict[str, int]]]:
        """A document's field → (length, term counts), as stored with the index."""
        doc = {}
        for f in self.field_weights:
            tokens = fields.get(f, ())
            counts: dict[str, int] = {}
            for t in tokens:
                counts[t] = counts.get(t, 0) + 1
            doc[f] = (len(tokens), counts)
        return doc

    def count_in(self, doc: Mapping[str, tuple[int, Mapping[str, int]]], sign: int = 1) -> None:
        """Add (sign 1) or take out (sign -1) one document's counts from the statistics."""
        self.n += sign
        for f, (length, counts) in doc.items():
            bump(self._df[f], counts, sign)
            self._total_len[f] += sign * length

    def add(self, fields: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, dict[str, int]]]:
        doc = self.counts(fields)
        self.count_in(doc)
        self._docs.append(doc)
        return doc

    def impacts(self, doc: Mapping[str, tuple[int, Mapping[str, int]]]) -> dict[str, float]:
        """{token: impact} of one document under the current statistics."""
        n = self.n
        impact: dict[str, float] = {}
        for f, (length, counts) in doc.items():
            if not counts:
                continue
            avg = (self._total_len[f] / n if n else 0.0) or 1.0
            # Whoosh stores a field's length in one byte, so it scores with the rounded length
            length = byte_to_length(length_to_byte(length))
            weight = self.field_weights[f]
            df = self._df[f]
            for t, tf in counts.items():
                idf = math.log(n / (df[t] + 1)) + 1
                impact[t] = impact.get(t, 0.0) + weight * bm25(idf, tf, length, avg, B, K1)
        return impact

    def build(self) -> dict[str, tuple[bytes, bytes]]:
        """{token: (docnums as uint32 bytes, impacts as float32 bytes)}, docnums in insertion order."""
        postings: dict[str, tuple[array, array]] = {}
        for docnum, doc in enumerate(self._docs):
            for t, s in self.impacts(doc).items():
                p = postings.get(t)
                if p is None:
                    p = postings[t] = (array("I"), array("f"))
                p[0].append(docnum)
                p[1].append(s)
        self._docs = []
        return {t: (d.tobytes(), s.tobytes()) for t, (d, s) in postings.items()}


def replace(raw: dict[str, tuple[bytes, bytes]], old: Mapping[int, Iterable[str]],
            new: Mapping[int, Mapping[str, float]]) -> dict[str, tuple[bytes, bytes]]:
    """Impact lists with the documents of `old` ({docnum: its tokens}) taken out and those of `new`
    ({docnum: {token: impact}}) put in; every other list is shared with `raw`, unchanged."""
    out = dict(raw)
    touched: dict[str, list[tuple[int, float]]] = {}
    for toks in old.values():
        for t in toks:
            touched.setdefault(t, [])
    for docnum, impact in new.items():
        for t, s in impact.items():
            touched.setdefault(t, []).append((docnum, s))
    gone = set(old) | set(new)
    for t, added in touched.items():
        docs, scores = array("I"), array("f")
        if t in raw:
            docs.frombytes(raw[t][0])
            scores.frombytes(raw[t][1])
        kept = [(d, s) for d, s in zip(docs, scores, strict=True) if d not in gone] + added
        if not kept:
            out.pop(t, None)
            continue
        kept.sort()
        out[t] = (array("I", [d for d, _ in kept]).tobytes(), array("f", [s for _, s in kept]).tobytes())
    return out


def build(docs: Sequence[Mapping[str, Sequence[str]]], field_weights: Mapping[str, float]) -> dict[str, tuple[bytes, bytes]]:
    """docs[i] = {field: tokens}; returns {token: (docnums as uint32 bytes, impacts as float32 bytes)}."""
    builder = ImpactBuilder(field_weights)
    for d in docs:
        builder.add(d)
    return builder.build()


class Impacts:
    """The query side: weighted sum of precomputed impacts, top n documents.

    A query's common words touch most of a 10,000-entry index (申请, 办理 are in thousands of its
    entries): from VECTOR_FROM documents the sum runs in numpy, one array operation per token, and
    below that in a dict. Both add the same products in the same order as `acc[d] = acc.get(d, 0.0) +
    w * s` token by token, in doubles, and keep the documents met first when several tie at the n-th
    score (as heapq.nlargest over that dict does): the results are the same to the last bit.
    """

    def __init__(self, raw: dict[str, tuple[bytes, bytes]], size: int | None = None,
                 vector_from: int = VECTOR_FROM):
        self._raw = raw
        self._lists: dict[str, tuple[array, array]] = {}
        self._vectors: dict[str, tuple] = {}
        self._size = size      # one more than the highest document number
        self._vector_from = vector_from

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

    def _vector(self, token: str):
        """(docnums as indices, impacts widened to doubles once, not on every query) of a token, or None."""
        v = self._vectors.get(token)
        if v is None:
            raw = self._raw.get(token)
            if raw is None:
                return None
            v = self._vectors[token] = (numpy.frombuffer(raw[0], dtype=numpy.uint32).astype(numpy.intp),
                                        numpy.frombuffer(raw[1], dtype=numpy.float32).astype(numpy.float64))
        return v

    def doc_frequency(self, token: str) -> int:
        raw = self._raw.get(token)
        return len(raw[0]) // 4 if raw else 0

    def size(self) -> int:
        """One more than the highest document number."""
        if self._size is None:
            self._size = 1 + max((array("I", raw[0][-4:])[0] for raw in self._raw.values() if raw[0]), default=-1)
        return self._size

    def top(self, weights: Mapping[str, float], n: int) -> list[tuple[int, float]]:
        """The n best (docnum, score), best first, equal scores by docnum."""
        if numpy is not None and self.size() >= self._vector_from:
            return self._top_vector(weights, n)
        return self.top_by_dict(weights, n)

    def top_by_dict(self, weights: Mapping[str, float], n: int) -> list[tuple[int, float]]:
        acc: dict[int, float] = {}
        get = acc.get
        for token, w in weights.items():
            p = self.postings(token)
            if p is None:
                continue
            for d, s in zip(p[0], p[1], strict=True):
                acc[d] = get(d, 0.0) + w * s
        return sorted(heapq.nlargest(n, acc.items(), key=itemgetter(1)), key=lambda x: (-x[1], x[0]))

    def _top_vector(self, weights: Mapping[str, float], n: int) -> list[tuple[int, float]]:
        if n < 1:
            return []
        acc = numpy.zeros(self.size())
        touched = numpy.zeros(self.size(), dtype=bool)
        met: list[str] = []
        for token, w in weights.items():
            v = self._vector(token)
            if v is None:
                continue
            docs, scores = v
            acc[docs] += float(w) * scores     # docnums are distinct within a list: one addition each
            touched[docs] = True
            met.append(token)
        found = numpy.flatnonzero(touched)
        sums = acc[found]
        if len(found) > n:
            floor = numpy.partition(sums, len(sums) - n)[len(sums) - n]    # the n-th best sum
            above = found[sums > floor]
            tied = found[sums == floor]
            if len(above) + len(tied) > n:  # which of the tied were met first: token by token, then by docnum
                first = numpy.full(len(tied), len(met))
                for i in range(len(met) - 1, -1, -1):
                    docs = self._vector(met[i])[0]
                    at = numpy.minimum(numpy.searchsorted(docs, tied), len(docs) - 1)
                    first[docs[at] == tied] = i
                tied = tied[numpy.lexsort((tied, first))][:n - len(above)]
            found = numpy.concatenate([above, tied])
        return sorted(zip(found.tolist(), acc[found].tolist(), strict=True), key=lambda x: (-x[1], x[0]))

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


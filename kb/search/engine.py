"""The search engine: Whoosh BM25F finds candidates, a re-ranker orders them, a confidence says when to trust it.

Query pipeline (`_analyze`): normalize → read Latin words as pinyin → apply the synonym table →
search tokens (fillers dropped) → add homophone corrections and near matches as lighter extra
tokens. Candidates: BM25F over question, similar questions, keywords, answer, detail and category
(one Or query of weighted terms, never a parsed query string). Re-ranking of the top candidates:
BM25 relative to the best, the share of the query the entry explains, the closeness to the single
closest phrasing (question or one similar question) by token overlap and by rapidfuzz.

The index directory holds the Whoosh index plus `lexicon.pickle` (domain words for jieba,
document frequencies, pinyin dictionaries), so opening it needs neither the entries nor the
database. Synonyms are applied at query time only: the index does not depend on them.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process
from whoosh import index as windex
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.scoring import BM25F

from kb.search import lexicon
from kb.search.highlight import mark
from kb.search.normalize import has_cjk, normalize, strip_placeholders
from kb.search.pinyin import PinyinIndex, latin_words

log = logging.getLogger(__name__)

FORMAT = 1
LEXICON_FILE = "lexicon.pickle"
MAX_QUERY_CHARS = 400       # longer input is cut: a caller's story fits, a pasted document does not
MAX_LIMIT = 50
RERANK_N = 30               # candidates re-ranked; keeps the cost independent of the KB size

FIELDS = ("question", "similar", "keywords", "answer", "detail", "category")
FIELD_WEIGHTS = {"question": 3.0, "similar": 2.0, "keywords": 2.5, "answer": 1.0, "detail": 0.4,
                 "category": 1.0}

# weight of a query token by where it came from; what the caller typed always weighs most
W_QUERY, W_SYNONYM, W_PINYIN, W_PINYIN_ALT, W_VARIANT, W_TYPO, W_NEAR = 1.0, 1.0, 0.9, 0.45, 0.6, 0.7, 0.5

# re-ranking and confidence
CONFIDENT_AT = 0.5
RERANK_WEIGHTS = {"bm25": 0.30, "coverage": 0.25, "overlap": 0.30, "fuzz": 0.15}
EXACT_BONUS = 1.0
COMMON_WORD_FREQ = 200      # jieba frequency above which a word is ordinary Chinese, not a typo


@dataclass
class Hit:
    id: str
    score: float
    question: str
    category: str
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResult:
    query: str
    normalized: str
    hits: list[Hit]
    confident: bool
    took_ms: float


@dataclass
class _Query:
    raw: str
    normalized: str
    converted: str = ""
    canonical: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    base: set[str] = field(default_factory=set)
    content: list[str] = field(default_factory=list)
    synonyms: list[tuple[str, str]] = field(default_factory=list)
    pinyin: list[tuple[str, list[str]]] = field(default_factory=list)
    corrections: list[tuple[str, str]] = field(default_factory=list)
    near: list[tuple[str, str]] = field(default_factory=list)

    def add(self, tok: str, weight: float, origin: str) -> None:
        if weight > self.weights.get(tok, 0.0):
            self.weights[tok] = weight
            self.origin[tok] = origin


def _schema() -> Schema:
    text = {"analyzer": SpaceSeparatedTokenizer(), "phrase": False}
    return Schema(id=ID(stored=True, unique=True), blob=STORED(),
                  **{f: TEXT(**text) for f in FIELDS})


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v is not None and str(v).strip()]


def _content(tk, normalized: str) -> str:
    """The words that matter, run together: what rapidfuzz compares."""
    return "".join(t for t in lexicon.cut(tk, normalized) if lexicon.is_content(t))


class SearchEngine:
    """Search over one index directory. Thread-safe; one Whoosh searcher per thread."""

    def __init__(self, index_dir: Path, ix, lex: dict, synonyms: Iterable[tuple[str, str]] = ()):
        self.index_dir = Path(index_dir)
        self._ix = ix
        self._df: dict[str, int] = lex["df"]
        self._n = max(int(lex["n"]), 1)
        self._pinyin = PinyinIndex.from_dict(lex["pinyin"])
        self._tk = lexicon.make_tokenizer(lex["words"])
        self._base_freq = lexicon.base_tokenizer().FREQ
        self._by_len: dict[int, list[str]] | None = None
        self._local = threading.local()
        self._blobs: dict[int, dict] = {}
        self._docnums: dict[str, int] | None = None
        self.synonyms = lexicon.Synonyms(synonyms)

    # --- building and opening --------------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[Mapping], synonyms: Iterable[tuple[str, str]], index_dir) -> SearchEngine:
        """Index `entries` into the empty directory `index_dir` and return an engine on it."""
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        if any(index_dir.iterdir()):
            raise ValueError(f"index directory {index_dir} is not empty")
        entries = list(entries)
        words = lexicon.domain_words(
            lexicon.read_dictionary() + [k for e in entries for k in _as_list(e.get("keywords"))])
        tk = lexicon.make_tokenizer(words)

        docs = []
        df_all: dict[str, int] = {}
        df_phr: dict[str, int] = {}
        for e in entries:
            doc, blob = cls._prepare(tk, e)
            docs.append((doc, blob))
            for t in set(blob["E"]) | set(blob["A"]):
                df_all[t] = df_all.get(t, 0) + 1
            for t in blob["E"]:
                df_phr[t] = df_phr.get(t, 0) + 1
        for w in words:
            df_phr.setdefault(w, 0)

        ix = windex.create_in(str(index_dir), _schema())
        writer = ix.writer(limitmb=256)
        for doc, blob in docs:
            writer.add_document(blob=json.dumps(blob, ensure_ascii=False, separators=(",", ":")), **doc)
        writer.commit()

        lex = {"format": FORMAT, "words": words, "df": df_all, "n": len(docs),
               "pinyin": PinyinIndex.build(df_phr).to_dict()}
        tmp = index_dir / (LEXICON_FILE + ".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(lex, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, index_dir / LEXICON_FILE)
        return cls.open(index_dir, synonyms)

    @staticmethod
    def _prepare(tk, e: Mapping) -> tuple[dict, dict]:
        question = str(e.get("question") or "")
        similar = _as_list(e.get("similar"))
        keywords = _as_list(e.get("keywords"))
        answer = str(e.get("answer") or "")
        detail = str(e.get("detail") or "")
        category = str(e.get("category") or "")

        def toks(text: str) -> list[str]:
            return lexicon.search_tokens(tk, normalize(strip_placeholders(text)))

        fields = {
            "question": toks(question),
            "similar": [t for s in similar for t in toks(s)],
            "keywords": [t for k in keywords for t in toks(k)],
            "answer": toks(answer),
            "detail": toks(detail),
            "category": toks(category),
        }
        phrasings = []
        for text in [question, *similar]:
            norm = normalize(text)
            phrasings.append([_content(tk, norm), sorted(set(lexicon.search_tokens(tk, norm)))])
        blob = {
            "id": str(e["id"]), "q": question, "c": category, "a": answer, "s": similar,
            "P": phrasings,
            "E": sorted(set(fields["question"]) | set(fields["similar"]) | set(fields["keywords"])
                        | set(fields["category"])),
            "A": sorted(set(fields["answer"]) | set(fields["detail"])),
            "F": {f: sorted(set(v)) for f, v in fields.items()},
        }
        doc = {"id": str(e["id"]), **{f: " ".join(v) for f, v in fields.items()}}
        return doc, blob

    @classmethod
    def open(cls, index_dir, synonyms: Iterable[tuple[str, str]] = ()) -> SearchEngine:
        """Open an index written by `build`, read-only (safe for many worker processes)."""
        index_dir = Path(index_dir)
        with open(index_dir / LEXICON_FILE, "rb") as fh:
            lex = pickle.load(fh)
        if lex.get("format") != FORMAT:
            raise ValueError(f"index {index_dir} has format {lex.get('format')}, expected {FORMAT}")
        ix = FileStorage(str(index_dir), readonly=True).open_index()
        return cls(index_dir, ix, lex, synonyms)

    def set_synonyms(self, synonyms: Iterable[tuple[str, str]]) -> None:
        """Apply an edited synonym table to the following queries (no reindexing needed)."""
        self.synonyms = lexicon.Synonyms(synonyms)

    def close(self) -> None:
        s = getattr(self._local, "searcher", None)
        if s is not None:
            s.close()
            self._local.searcher = None
        self._ix.close()

    @property
    def doc_count(self) -> int:
        return self._n

    def _searcher(self):
        s = getattr(self._local, "searcher", None)
        if s is None:
            s = self._ix.searcher(weighting=BM25F())
            self._local.searcher = s
        return s

    def _blob(self, docnum: int) -> dict:
        blob = self._blobs.get(docnum)
        if blob is None:
            blob = json.loads(self._searcher().stored_fields(docnum)["blob"])
            blob["Eset"] = frozenset(blob["E"])
            blob["Aset"] = frozenset(blob["A"])
            blob["Psets"] = [frozenset(p[1]) for p in blob["P"]]
            if len(self._blobs) > 20_000:
                self._blobs.clear()
            self._blobs[docnum] = blob
        return blob

    # --- query analysis ----------------------------------------------------------------------

    def _idf(self, tok: str) -> float:
        df = self._df.get(tok, 0)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def _is_common(self, word: str) -> bool:
        return self._base_freq.get(word, 0) >= COMMON_WORD_FREQ

    def _analyze(self, query: object) -> _Query:
        raw = query if isinstance(query, str) else ("" if query is None else str(query))
        raw = raw[:MAX_QUERY_CHARS]
        q = _Query(raw=raw, normalized=normalize(raw))
        if not q.normalized:
            return q
        tk = self._tk

        # Latin words: read as pinyin (full, initials, run together) against the domain vocabulary
        converted = q.normalized
        words = latin_words(q.normalized)
        if words:
            q.pinyin = [(w, c) for w, c in self._pinyin.convert_latin(words) if c]
            for latin, cands in q.pinyin:
                converted = re.sub(r"(?<![a-z])" + re.escape(latin) + r"(?![a-z])", cands[0], converted, count=1)
        q.converted = converted
        q.canonical, q.synonyms = self.synonyms.canonicalize(tk, converted)

        for tok in lexicon.search_tokens(tk, converted):
            if tok in q.normalized:
                q.add(tok, W_QUERY, "query")
            else:
                q.add(tok, W_PINYIN, "pinyin")
        q.base = set(q.weights)
        for tok in lexicon.search_tokens(tk, q.canonical):
            if tok not in q.weights:
                q.add(tok, W_SYNONYM, "synonym")
                q.base.add(tok)
        for _, cands in q.pinyin:
            for alt in cands[1:]:
                for tok in lexicon.search_tokens(tk, alt):
                    q.add(tok, W_PINYIN_ALT, "pinyin")
        # the other spellings of every canonical term the query now contains (特困 ↔ 五保)
        for canonical, variants in self.synonyms.groups.items():
            if canonical in q.canonical:
                for v in variants:
                    for tok in lexicon.search_tokens(tk, v):
                        q.add(tok, W_VARIANT, "variant")
        # homophone typos from the input method (低包 → 低保), checked against the domain vocabulary
        known = set(q.weights)
        for chunk in q.canonical.split():
            for typo, term in self._pinyin.homophones(chunk, known, self._is_common):
                q.corrections.append((typo, term))
                for tok in lexicon.search_tokens(tk, term):
                    q.add(tok, W_TYPO, "typo")
        # near matches for longer words the knowledge base does not know (rapidfuzz)
        for tok in list(q.base):
            if len(tok) >= 3 and tok not in self._df and has_cjk(tok):
                near = self._near(tok)
                if near:
                    q.near.append((tok, near))
                    for t in lexicon.search_tokens(tk, near):
                        q.add(t, W_NEAR, "near")
        q.content = list(dict.fromkeys(c for c in (_content(tk, q.canonical), _content(tk, converted)) if c))
        return q

    def _near(self, tok: str) -> str | None:
        if self._by_len is None:
            by_len: dict[int, list[str]] = {}
            for t in self._pinyin.vocab:
                if len(t) >= 3 and has_cjk(t):
                    by_len.setdefault(len(t), []).append(t)
            self._by_len = by_len
        choices = self._by_len.get(len(tok), []) + self._by_len.get(len(tok) + 1, [])
        if not choices:
            return None
        best = process.extractOne(tok, choices, scorer=fuzz.ratio, score_cutoff=66)
        return best[0] if best else None

    # --- retrieval and re-ranking ------------------------------------------------------------

    def _candidates(self, q: _Query, n: int) -> list[tuple[int, float]]:
        terms = [wq.Term(f, tok, boost=FIELD_WEIGHTS[f] * w)
                 for tok, w in q.weights.items() if tok in self._df for f in FIELDS]
        if not terms:
            return []
        results = self._searcher().search(wq.Or(terms), limit=n)
        return [(hit.docnum, hit.score) for hit in results]

    def _features(self, q: _Query, blob: dict, bm25: float, top_bm25: float) -> dict[str, float]:
        E, A = blob["Eset"], blob["Aset"]
        den = num = 0.0
        for tok in q.base:
            w = self._idf(tok) * q.weights[tok]
            den += w
            if tok in E:
                num += w
            elif tok in A:
                num += 0.5 * w
        for tok, wt in q.weights.items():
            if tok not in q.base and tok in E:
                num += self._idf(tok) * wt
        coverage = min(1.0, num / den) if den else 0.0

        qidf = {tok: self._idf(tok) * w for tok, w in q.weights.items()}
        base_mass = sum(qidf[t] for t in q.base) or 1.0
        overlap, best_p = 0.0, 0
        for i, pset in enumerate(blob["Psets"]):
            inter = sum(qidf[t] for t in pset if t in qidf)
            if not inter:
                continue
            p_mass = sum(self._idf(t) for t in pset)
            dice = 2.0 * inter / (base_mass + p_mass)
            if dice > overlap:
                overlap, best_p = dice, i
        fz, exact = 0.0, False
        for content in q.content:
            for i, (pc, _) in enumerate(blob["P"]):
                if not pc:
                    continue
                if pc == content:
                    exact = True
                r = fuzz.ratio(content, pc) / 100.0
                if r > fz:
                    fz = r
                    if r > overlap:
                        best_p = i
        return {"bm25": bm25 / top_bm25 if top_bm25 > 0 else 0.0, "coverage": coverage,
                "overlap": min(1.0, overlap), "fuzz": fz, "exact": 1.0 if exact else 0.0,
                "best_phrasing": best_p}

    @staticmethod
    def _score(f: Mapping[str, float]) -> float:
        return sum(RERANK_WEIGHTS[k] * f[k] for k in RERANK_WEIGHTS) + EXACT_BONUS * f["exact"]

    @staticmethod
    def _confidence(f: Mapping[str, float], second: float | None) -> float:
        s = 0.45 * f["coverage"] + 0.35 * f["overlap"] + 0.20 * f["fuzz"]
        if f["exact"]:
            s = max(s, 0.95)
        return max(0.0, min(1.0, s))

    def _rank(self, q: _Query, n: int = RERANK_N) -> list[tuple[float, int, dict, dict]]:
        cands = self._candidates(q, n)
        if not cands:
            return []
        top = cands[0][1]
        ranked = []
        for docnum, bm25 in cands:
            blob = self._blob(docnum)
            f = self._features(q, blob, bm25, top)
            f["bm25_raw"] = bm25
            ranked.append((self._score(f), docnum, blob, f))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return ranked

    # --- public API --------------------------------------------------------------------------

    def search(self, query: str, limit: int = 5) -> SearchResult:
        """Best entries for what the caller said; never raises (bad input → empty, not confident)."""
        t0 = time.perf_counter()
        try:
            limit = max(1, min(int(limit), MAX_LIMIT))
        except (TypeError, ValueError):
            limit = 5
        raw = query if isinstance(query, str) else ""
        normalized = ""
        try:
            q = self._analyze(query)
            normalized = q.normalized
            ranked = self._rank(q) if q.weights else []
            hits: list[Hit] = []
            confident = False
            if ranked:
                conf = self._confidence(ranked[0][3], ranked[1][0] if len(ranked) > 1 else None)
                confident = conf >= CONFIDENT_AT
                top_score = ranked[0][0] or 1.0
                for score, _, blob, f in ranked[:limit]:
                    hits.append(Hit(id=blob["id"], score=round(conf * min(1.0, score / top_score), 4),
                                    question=blob["q"], category=blob["c"],
                                    highlights=self._highlights(q, blob, f)))
        except Exception:  # noqa: BLE001 - a search box must never fail the page
            log.exception("search failed for %r", raw[:100])
            hits, confident = [], False
        return SearchResult(query=raw, normalized=normalized, hits=hits, confident=confident,
                            took_ms=round((time.perf_counter() - t0) * 1000.0, 3))

    def _highlights(self, q: _Query, blob: dict, f: Mapping[str, float]) -> dict[str, str]:
        terms = [t for t in q.weights if t in blob["Eset"] or t in blob["Aset"]]
        terms += [typo for typo, _ in q.corrections]
        out = {"question": mark(blob["q"], terms), "answer": mark(blob["a"], terms, max_chars=120)}
        best = int(f.get("best_phrasing", 0))
        if best > 0 and best - 1 < len(blob["s"]):
            out["similar"] = mark(blob["s"][best - 1], terms)
        return out

    def _docnum(self, entry_id: str) -> int | None:
        if self._docnums is None:
            s = self._searcher()
            self._docnums = {fields["id"]: num for num, fields in
                             ((n, s.stored_fields(n)) for n in range(s.doc_count_all()))}
        return self._docnums.get(str(entry_id))

    def explain(self, query: str, entry_id: str) -> dict:
        """Why `entry_id` scored what it did for `query`: tokens, corrections, field matches, features."""
        q = self._analyze(query)
        out: dict = {
            "query": q.raw, "normalized": q.normalized, "converted": q.converted, "canonical": q.canonical,
            "tokens": {t: {"weight": w, "origin": q.origin[t], "idf": round(self._idf(t), 3),
                           "in_index": t in self._df} for t, w in q.weights.items()},
            "synonyms": q.synonyms, "pinyin": q.pinyin, "typo_corrections": q.corrections,
            "near_matches": q.near, "entry": str(entry_id), "found": False,
        }
        docnum = self._docnum(entry_id)
        if docnum is None:
            return out
        blob = self._blob(docnum)
        ranked = self._rank(q) if q.weights else []
        rank = next((i + 1 for i, r in enumerate(ranked) if r[1] == docnum), None)
        out["found"] = True
        out["rank"] = rank
        out["candidates"] = len(ranked)
        out["field_matches"] = {f: [t for t in q.weights if t in set(blob["F"][f])] for f in FIELDS}
        if rank is not None:
            score, _, _, f = ranked[rank - 1]
        else:
            top = ranked[0][3]["bm25_raw"] if ranked else 0.0
            f = self._features(q, blob, 0.0, top)
            score = self._score(f)
        out["features"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in f.items()}
        out["score"] = round(score, 4)
        if ranked:
            out["top"] = {"id": ranked[0][2]["id"], "score": round(ranked[0][0], 4),
                          "confidence": round(self._confidence(ranked[0][3], None), 4)}
        best = int(f.get("best_phrasing", 0))
        out["closest_phrasing"] = blob["q"] if best == 0 else blob["s"][best - 1]
        return out


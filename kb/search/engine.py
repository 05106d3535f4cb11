"""The search engine: BM25F candidates, re-ranked by closeness to one phrasing, with a confidence.

Query pipeline (`_analyze`): normalize → read Latin words as pinyin → apply the synonym table →
search tokens (fillers dropped) → add homophone corrections, synonym variants and near matches as
lighter extra tokens → in a long spoken query, weigh the words only its story says less than its need
statements (`spoken.asked`); two or more needs are also searched one by one (`_each_need`). Candidates:
BM25F as Whoosh scores it over question, similar questions, keywords, answer, detail and category
(precomputed per token, see `bm25`). Re-ranking of the top candidates: BM25
relative to the best, the share of the query the entry explains (coverage), and the closeness to
the single closest phrasing (the question or one similar question) by rapidfuzz, and a classifier's
probability of the entry (`classifier`: trained on the entries' phrasings when the index is built, it
knows which words tell neighbours apart); a query that is one of an entry's phrasings always ranks it
first. Confidence: a logistic model over the top hit's
features (see `calibrate`: fitted on the KB's own held-out phrasings), turned into one of three
levels with a reason (`levels`: 确定 / 可能 / 不在知识库, using the table of matters outside the KB).
In a city-wide KB (entries with another `department` beside the KB's own) the confidence is taken at the
own entries' statistics (`_home_view`), so the other departments' entries do not move the levels.

An index directory holds `docs.sqlite` (each entry's stored data, see `store`), `search.pickle`:
the segmentation dictionary, document frequencies, BM25F statistics and impacts, pinyin tables and
each entry's hash, and `classifier.pickle` (trained again by `update` too). Opening it needs neither
the entries, the database, nor jieba's or pypinyin's start-up. `update` writes the next index from the previous one with only the changed entries cut
again. Synonyms are applied at query time; their table is part of the index's `fingerprint`, so
a synonym edit still rebuilds in full (as the analyzer's code and a new dictionary word do).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import math
import os
import pickle
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

try:
    import numpy
except ImportError:  # rapidfuzz then compares entry by entry: the same scores, more calls
    numpy = None

from kb.search import bm25, levels, lexicon, spoken, store
from kb.search.classifier import MAX_CLASSES, Classifier, features
from kb.search.highlight import aligned, mark
from kb.search.normalize import has_cjk, normalize, strip_placeholders
from kb.search.pinyin import PinyinIndex, latin_words

log = logging.getLogger(__name__)

FORMAT = 10
DATA_FILE = "search.pickle"
CLASSIFIER_FILE = "classifier.pickle"  # see `classifier`: trained when the index is built
MAX_QUERY_CHARS = 400       # longer input is cut: a caller's story fits, a pasted document does not
MAX_LIMIT = 50
ANSWER_SNIPPET_CHARS = 120
CANDIDATE_CACHE = 1024       # entries whose re-ranking data stays parsed (all of a 100-entry KB)
SEGMENT_CACHE = 20000        # segmented strings kept (cleared when full)
RERANK_N = 20               # candidates re-ranked; keeps the cost independent of the KB size (30 gave the same
                            # first answers and levels on 1,366 labelled queries and 2,156 held-out phrasings)
HOME_RUNNERS = 5            # a city-wide KB: home entries after the first weighed again at its statistics
BUILD_CACHE = 200000        # distinct clauses whose tokens a build keeps (cleared when full)
UPDATE_MIN, UPDATE_SHARE = 20, 0.1   # entries changed since the last full build before the next one

FIELDS = ("question", "similar", "keywords", "answer", "detail", "category")
FIELD_WEIGHTS = {"question": 3.0, "similar": 2.0, "keywords": 2.5, "answer": 1.0, "detail": 0.4,
                 "category": 1.0}

# weight of a query token by where it came from; what the caller typed always weighs most
W_QUERY, W_SYNONYM, W_PINYIN, W_PINYIN_ALT, W_VARIANT, W_TYPO, W_NEAR = 1.0, 1.0, 0.9, 0.45, 0.6, 0.7, 0.5
W_STORY = 0.5               # a transcript's words outside its need statements (see `_weigh_needs`)
ASKED_DF = 0.05             # a need's word used by at most this share of the KB's entries says what it is about

RERANK_WEIGHTS = {"bm25": 0.45, "coverage": 0.30, "fuzz": 0.45}
#: the classifier's probability of an entry (see `classifier`) in the re-ranking score: on calibration.tsv,
#: top-1 0.948 without it, 0.962 / 0.971 / 0.973 / 0.971 at 0.1 / 0.3 / 0.5 / 0.8
W_CLASSIFIER = 0.5
#: whether anything in the KB answers (不在知识库 or not) is judged on the confidence with the margin to the
#: second entry taken as at least this: two entries close together are no sign that neither answers. On
#: calibration.tsv in-scope questions marked 不在知识库 went from 4 to 3 / 1 / 1 at 0.2 / 0.3 / 0.5, its
#: out-of-scope ones marked so stayed 94 of 100
PRESENCE_MARGIN = 0.3
EXACT_BONUS = 1.0           # the query is one of the entry's phrasings: nothing may outrank it
INFORMATIVE_FROM, INFORMATIVE_SPAN = 6.0, 6.0   # surprisal (nats) mapped onto 0.1..1
DOMAIN_SPECIFIC_FROM = 8.0   # log ratio from which a word counts as the domain's own (低保 ≈ 14)
ANCHOR_SPECIFICITY = 2.0    # a category word this specific to the KB is its own subject (低保, 特困, 救助, 残疾),
                            # unlike 人员, 服务, 儿童 (below 0): see `anchors`
COMMON_WORD_FREQ = 200      # jieba frequency from which a word is ordinary Chinese, not a typo


# fitted by `python -m kb.search.calibrate` on the bundled KB's own held-out phrasings and our own
# caller-style phrasings in kb/search/data/calibration.tsv (never on evaluation queries); refit when
# the features, the re-ranking or the need weighting change
CONFIDENCE_FEATURES = ("coverage", "phrase_coverage", "overlap", "fuzz", "margin", "matched", "unmatched",
                       "slots", "domain", "clf")
CONFIDENCE_WEIGHTS = {"coverage": -0.490, "phrase_coverage": -0.396, "overlap": -2.565, "fuzz": 4.970, "margin": 2.929, "matched": 0.407, "unmatched": -0.847, "slots": 2.094, "domain": 0.887, "clf": 1.060, "bias": -8.352}
#: … for a knowledge base without a classifier (more than classifier.MAX_CLASSES own entries), fitted by
#: `python -m kb.search.calibrate --without-classifier`; its levels are levels.SURE_AT_PLAIN, CLOSE_AT_PLAIN
CONFIDENCE_WEIGHTS_PLAIN = {"coverage": -0.010, "phrase_coverage": -0.754, "overlap": -1.659, "fuzz": 6.512, "margin": 6.033, "matched": 0.488, "unmatched": -0.710, "slots": 2.317, "domain": 0.932, "bias": -9.818}


def confidence_inputs(f: Mapping[str, float]) -> list[float]:
    """The numbers the confidence is computed from, in CONFIDENCE_FEATURES order."""
    mass = f.get("mass", 0.0)
    return [f["coverage"], f["phrase_coverage"], f["overlap"], f["fuzz"], min(1.0, f.get("margin", 0.0)),
            math.log1p(mass * f["coverage"]), math.log1p(mass * (1.0 - f["coverage"])),
            math.log1p(f.get("slots", 0)), math.log1p(f.get("domain", 0.0)), f.get("clf", 0.0)]


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
    confident: bool         # level == "sure"
    took_ms: float
    level: str = levels.OUT
    reason: str = "知识库里没有相关条目"
    dispatch_to: str = ""   # the department a matter outside the knowledge base usually goes to
    matter: str = ""
    pair: dict | None = None
    confidence: float = 0.0


@dataclass
class _Query:
    raw: str
    normalized: str
    converted: str = ""
    canonical: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    #: one slot per thing the caller said: {token: weight} for the word and its readings
    #: (synonym, correction, pinyin alternative); an entry explains a slot through any of them
    slots: list[dict[str, float]] = field(default_factory=list)
    #: per slot, how much it counts: W_STORY for words only the story of a long query says
    scale: list[float] = field(default_factory=list)
    #: the need statements of a long spoken query (`spoken.asked`)
    needs: list[spoken.Need] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    synonyms: list[tuple[str, str]] = field(default_factory=list)
    pinyin: list[tuple[str, list[str]]] = field(default_factory=list)
    corrections: list[tuple[str, str]] = field(default_factory=list)
    near: list[tuple[str, str]] = field(default_factory=list)

    def add(self, tok: str, weight: float, origin: str, slot: dict[str, float] | None = None) -> dict[str, float]:
        """Add a token to the BM25 query and to `slot` (a new slot when None); returns the slot."""
        if weight > self.weights.get(tok, 0.0):
            self.weights[tok] = weight
            self.origin[tok] = origin
        if slot is None:
            slot = self.slot_of(tok)
            if slot is None:
                slot = {}
                self.slots.append(slot)
        if weight > slot.get(tok, 0.0):
            slot[tok] = weight
        return slot

    def slot_of(self, tok: str) -> dict[str, float] | None:
        return next((s for s in self.slots if tok in s), None)

    def merge(self, toks: Sequence[str]) -> dict[str, float] | None:
        """One slot for several tokens (a colloquial term and its canonical wording)."""
        found = [s for s in self.slots if any(t in s for t in toks)]
        if not found:
            return None
        first = found[0]
        for other in found[1:]:
            for t, w in other.items():
                first[t] = max(w, first.get(t, 0.0))
            self.slots.remove(other)
        return first


@dataclass(slots=True)
class _Candidate:
    docnum: int
    id: str
    E: frozenset[str]           # tokens of question, similar questions, keywords, category
    A: frozenset[str]           # tokens of answer and detail
    Pc: tuple[str, ...]         # content string of each phrasing (question, then each similar question)
    Pm: tuple[float, ...]       # idf mass of each phrasing
    Ph: tuple[float, ...]       # … at the home KB's idf (the same tuple unless the KB is city-wide)
    Pi: dict[str, int]          # token → the phrasings holding it, a bit mask (overlap without a pass over all)
    T: str                      # phrasings and keywords as one string: does the entry speak of a term?
    department: str             # another department's entry in a city-wide KB ("" for the home KB's own)


@dataclass(slots=True)
class _Slots:
    """The query's slots as the re-ranker weighs them, and for each token the slots it is in."""

    #: per slot: (mass, [(token, credit if matched)], domain specificity)
    masses: list[tuple[float, list[tuple[str, float]], float]]
    total: float                                    # the masses' sum (1 when 0)
    tokens: frozenset[str]
    where: dict[str, tuple[tuple[int, float], ...]]   # token → (slot, credit) for each slot holding it

    @classmethod
    def of(cls, masses: list[tuple[float, list[tuple[str, float]], float]]) -> _Slots:
        where: dict[str, list[tuple[int, float]]] = {}
        for i, (_, alts, _) in enumerate(masses):
            for tok, credit in alts:
                where.setdefault(tok, []).append((i, credit))
        return cls(masses, sum(s[0] for s in masses) or 1.0, frozenset(where),
                   {t: tuple(v) for t, v in where.items()})


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v is not None and str(v).strip()]


class _Cutter:
    """Segmentation while building: normalized text is cut clause by clause (jieba never joins words
    across a space, so the tokens are the same) and each distinct clause once; entries share many
    (章程 wording, the same sentence in several answers)."""

    def __init__(self, tk):
        self.tk = tk
        self._search: dict[str, tuple[str, ...]] = {}
        self._content: dict[str, str] = {}

    def search_tokens(self, normalized: str) -> list[str]:
        out: list[str] = []
        memo = self._search
        for chunk in normalized.split(" "):
            got = memo.get(chunk)
            if got is None:
                if len(memo) >= BUILD_CACHE:
                    memo.clear()
                # interned: a 10,000-entry build holds millions of tokens, mostly the same few thousand
                got = memo[chunk] = tuple(sys.intern(t) for t in lexicon.search_tokens(self.tk, chunk))
            out.extend(got)
        return out

    def content(self, normalized: str) -> str:
        """The words that matter, run together: what rapidfuzz compares."""
        memo = self._content
        parts = []
        for chunk in normalized.split(" "):
            got = memo.get(chunk)
            if got is None:
                if len(memo) >= BUILD_CACHE:
                    memo.clear()
                got = memo[chunk] = "".join(t for t in lexicon.cut(self.tk, chunk) if lexicon.is_content(t))
            parts.append(got)
        return "".join(parts)


def _words(entries: list[Mapping]) -> list[str]:
    """The domain words of an index's dictionary: the bundled ones, then the entries' keywords."""
    keywords = dict.fromkeys(k for e in entries for k in _as_list(e.get("keywords")))
    return lexicon.domain_words(lexicon.read_dictionary() + list(keywords))


def entry_hash(e: Mapping) -> str:
    """What an entry contributes to the index, hashed: an edit that changes it changes this."""
    parts = [str(e["id"]), e.get("question"), _as_list(e.get("similar")), _as_list(e.get("keywords")),
             e.get("answer"), e.get("detail"), e.get("category")]
    if e.get("department"):
        parts.append(e["department"])
    text = json.dumps(parts, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def fingerprint(synonyms: Iterable[tuple[str, str]]) -> str:
    """What every entry's tokens depend on besides its own text: the analyzer's code (normalization,
    segmentation, the bundled dictionary, pinyin, BM25F), its libraries and the synonym table. When
    it differs from an index's, the index is built again in full; so is it when an entry brings a
    keyword the index's segmentation dictionary lacks (see `update`)."""
    digest = hashlib.sha256()
    for module in (sys.modules[normalize.__module__], lexicon, bm25, sys.modules[PinyinIndex.__module__]):
        digest.update(Path(module.__file__).read_bytes())
    import jieba
    import opencc

    parts = [FORMAT, FIELD_WEIGHTS, lexicon.read_dictionary(), sorted(map(list, synonyms)),
             getattr(jieba, "__version__", ""), getattr(opencc, "__version__", "")]
    digest.update(json.dumps(parts, ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()


def _count(df_all: dict[str, int], df_phr: dict[str, int], categories: dict[str, int], rr: Mapping,
           show: Mapping, sign: int, home: dict) -> None:
    """Add (sign 1) or take out (sign -1) one entry from the document frequencies and category counts,
    and from the home knowledge base's (`home`: {"n", "df"}) when it is not another department's."""
    tokens = set(rr["E"]).union(rr["A"])
    for table, keys in ((df_all, tokens), (df_phr, rr["E"]), (categories, [show["c"]])):
        bm25.bump(table, keys, sign)
    if not rr.get("d"):
        bm25.bump(home["df"], tokens, sign)
        home["n"] += sign


def _category_tokens(cutter: _Cutter, categories: Mapping[str, int]) -> list[str]:
    return sorted({t for c in categories for t in cutter.search_tokens(normalize(c))})


def _write_data(index_dir: Path, data: dict) -> None:
    tmp = index_dir / (DATA_FILE + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, index_dir / DATA_FILE)


def _read_classifier(index_dir: Path, steps: bool = True) -> Classifier | None:
    """The classifier an index directory holds (None when it has none); `steps`: with AdaGrad's sums."""
    path = index_dir / CLASSIFIER_FILE
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        d = pickle.load(fh)
    return Classifier.from_dict(d if steps else {**d, "steps": None})


def _postings(phrasings: list[list[str]]) -> dict[str, int]:
    """token → the phrasings holding it, as a bit mask (bit i: phrasing i; see `_BITS`). Computed when
    the index is built; numbers, not containers, so that a cache of a thousand entries does not hand
    the garbage collector some 150,000 more objects to look through."""
    out: dict[str, int] = {}
    for i, p in enumerate(phrasings):
        for t in p:
            out[t] = out.get(t, 0) | 1 << i
    return out


class _Table(dict):
    """A dict that computes and keeps the value of a missing key (a lookup of a kept one stays in C);
    emptied when it reaches `limit` keys, as what queries bring is unbounded."""

    def __init__(self, compute, limit: int = SEGMENT_CACHE):
        super().__init__()
        self._compute, self._limit = compute, limit

    def __missing__(self, key):
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._compute(key)
        return value


def _bound(bm25_score: float, top_bm25: float, closest: list[tuple[str, float, int] | None],
           clf: float) -> dict[str, float]:
    """The most of `_features` that `_score` reads, before the rest is computed: coverage 1."""
    fz = max((best[1] for best in closest if best is not None), default=0.0)
    return {"bm25": bm25_score / top_bm25 if top_bm25 > 0 else 0.0, "coverage": 1.0, "fuzz": fz / 100.0,
            "exact": 1.0 if fz >= 100.0 else 0.0, "clf": clf}


#: a word that only says how much (一百多, 两千): no subject, however few entries use it
_AMOUNT_RE = re.compile(r"[0-9零一二两三四五六七八九十百千万亿几多块元来个]+")

#: a bit mask → the indices of its bits, in increasing order
_BITS = _Table(lambda mask: tuple(i for i in range(mask.bit_length()) if mask >> i & 1))


def _idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class SearchEngine:
    """Search over one index directory. Thread-safe (one store connection per thread)."""

    def __init__(self, index_dir: Path, docs: store.Reader, data: dict, synonyms: Iterable[tuple[str, str]] = ()):
        self.index_dir = Path(index_dir)
        self._docs = docs
        self._df: dict[str, int] = data["df"]
        self._n = max(int(data["n"]), 1)
        #: each token's idf, computed the first time a query or an entry needs it
        self._idfs = _Table(lambda tok: _idf(self._n, self._df.get(tok, 0)))
        self._ids: list[str] = data["ids"]
        self._docnums = {i: n for n, i in enumerate(self._ids) if i}
        self._stats = data["stats"]
        #: the home knowledge base (entries of no other department): the confidence's statistics, so that
        #: other departments' entries beside it (a city-wide KB) do not move the levels
        self._df_home: dict[str, int] = data["home"]["df"]
        self._n_home = max(int(data["home"]["n"]), 1)
        self._mixed = self._n_home < self._n
        self._home_idfs = _Table(lambda tok: _idf(self._n_home, self._df_home.get(tok, 0)))
        self._impacts = bm25.Impacts(data["impacts"], len(self._ids))
        self._pinyin = PinyinIndex.from_dict(data["pinyin"])
        self._tk = lexicon.tokenizer_for(*data["dictionary"])
        self._by_len: dict[int, list[str]] | None = None
        self._nears = _Table(self._find_near)
        #: words of the categories that are the KB's own subject (低保, 特困, 临时救助): a question saying
        #: one of them is about the KB even when it also names another matter (退休金 … 能办低保吗)
        self.anchors = frozenset(t for t in data["categories"] if self.domain_specificity(t) >= ANCHOR_SPECIFICITY)
        self._cache: OrderedDict[int, _Candidate] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._seg: dict[tuple[str, str], object] = {}
        self._shows: OrderedDict[int, dict] = OrderedDict()
        self.scope, self.scope_revision = levels.Scope(), -1
        self._classifier: Classifier | None = None
        self.set_synonyms(synonyms)

    # --- building and opening --------------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[Mapping], synonyms: Iterable[tuple[str, str]], index_dir) -> SearchEngine:
        """Index `entries` into the empty directory `index_dir` and return an engine on it.

        entries: dicts with id, question, similar, keywords, answer, detail, category.
        """
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        if any(index_dir.iterdir()):
            raise ValueError(f"index directory {index_dir} is not empty")
        entries = list(entries)
        synonyms = list(synonyms)
        words = _words(entries)
        dictionary = lexicon.build_dictionary(words)
        cutter = _Cutter(lexicon.tokenizer_for(*dictionary))

        # one pass: each entry is cut once, written to the store, and counted for BM25F and the lexicon
        writer = store.Writer(index_dir)
        impacts = bm25.ImpactBuilder(FIELD_WEIGHTS)
        ids: list[str] = []
        hashes: dict[str, str] = {}
        df_all: dict[str, int] = {}
        df_phr: dict[str, int] = dict.fromkeys(words, 0)
        categories: dict[str, int] = {}
        home: dict = {"n": 0, "df": {}}
        rows = []
        try:
            for docnum, e in enumerate(entries):
                fields, rr, show = cls._prepare(cutter, e)
                ids.append(show["id"])
                hashes[show["id"]] = entry_hash(e)
                doc = impacts.add(fields)
                _count(df_all, df_phr, categories, rr, show, 1, home)
                rows.append((docnum, show["id"], rr, show, doc))
                if len(rows) >= 500:
                    writer.put_many(rows)
                    rows = []
            writer.put_many(rows)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        syllables: dict[str, tuple[str, ...]] = {}
        data = {"format": FORMAT, "fingerprint": fingerprint(synonyms), "n": len(ids), "ids": ids,
                "hashes": hashes, "df": df_all, "df_phr": df_phr, "words": words, "dictionary": dictionary,
                "category_counts": categories, "categories": _category_tokens(cutter, categories),
                "home": home, "impacts": impacts.build(), "stats": impacts.stats(), "updated": 0,
                "syllables": syllables, "pinyin": PinyinIndex.build(df_phr, words, syllables=syllables).to_dict()}
        _write_data(index_dir, data)
        return cls.open(index_dir, synonyms)._learn(entries)

    @classmethod
    def update(cls, previous_dir, entries: Iterable[Mapping], synonyms: Iterable[tuple[str, str]],
               index_dir) -> SearchEngine | None:
        """Index `entries` into the empty directory `index_dir` by changing a copy of the index in
        `previous_dir`: only the entries added, edited or removed since are cut and written again.

        Returns None (the caller builds in full) when the analyzer or the synonyms differ from those
        the previous index was built with (see `fingerprint`), when a keyword is a word its
        segmentation dictionary lacks (every entry would have to be cut again), or when more
        entries changed since the last full build than UPDATE_SHARE of the knowledge base: the
        other entries' BM25F impacts keep the statistics of the build that wrote them, a drift
        that stays small while most of the knowledge base is as it was built.
        """
        previous_dir, index_dir = Path(previous_dir), Path(index_dir)
        entries = list(entries)
        synonyms = list(synonyms)
        with open(previous_dir / DATA_FILE, "rb") as fh:
            data = pickle.load(fh)
        if not isinstance(data, dict) or data.get("format") != FORMAT or data["fingerprint"] != fingerprint(synonyms):
            return None
        words, freq = _words(entries), data["dictionary"][0]
        if any(freq.get(w, 0) < lexicon.DOMAIN_WORD_FREQ for w in words):
            return None
        by_id = {str(e["id"]): e for e in entries}
        hashes = {i: entry_hash(e) for i, e in by_id.items()}
        docnums = {i: d for d, i in enumerate(data["ids"]) if i}
        changed = [i for i, h in hashes.items() if data["hashes"].get(i) != h]
        removed = [i for i in docnums if i not in by_id]
        if data["updated"] + len(changed) + len(removed) > max(UPDATE_MIN, UPDATE_SHARE * len(entries)):
            return None
        index_dir.mkdir(parents=True, exist_ok=True)
        if any(index_dir.iterdir()):
            raise ValueError(f"index directory {index_dir} is not empty")

        cutter = _Cutter(lexicon.tokenizer_for(*data["dictionary"]))
        impacts = bm25.ImpactBuilder(FIELD_WEIGHTS, data["stats"])
        df_all, df_phr, categories, home = data["df"], data["df_phr"], data["category_counts"], data["home"]
        old_reader = store.Reader(previous_dir)
        writer = store.Writer(index_dir, copy_from=previous_dir)
        old_tokens: dict[int, list[str]] = {}
        new_docs: dict[int, dict] = {}
        ids = list(data["ids"])
        try:
            for i in [*removed, *changed]:
                d = docnums.get(i)
                if d is None:
                    continue
                rr, show = old_reader.get(d, "rr"), old_reader.get(d, "show")
                impacts.count_in(old_reader.get(d, "fields"), -1)
                _count(df_all, df_phr, categories, rr, show, -1, home)
                old_tokens[d] = [*rr["E"], *rr["A"]]
                if i in removed:
                    writer.delete(d)
                    ids[d] = ""
            for i in changed:
                d = docnums.get(i)
                if d is None:
                    d = len(ids)
                    ids.append(i)
                fields, rr, show = cls._prepare(cutter, by_id[i])
                doc = impacts.counts(fields)
                impacts.count_in(doc)
                _count(df_all, df_phr, categories, rr, show, 1, home)
                writer.put(d, i, rr, show, doc)
                new_docs[d] = doc
        except BaseException:
            writer.cancel()
            raise
        finally:
            old_reader.close()
        writer.commit()
        previous = _read_classifier(previous_dir)
        for w in set(data["words"]).difference(words):  # a keyword no entry has any more
            if not df_phr.get(w):
                df_phr.pop(w, None)
        for w in words:  # domain words stay in the pinyin vocabulary when no entry's phrasing uses them
            df_phr.setdefault(w, 0)
        data.update(n=len(by_id), ids=ids, words=words, hashes=hashes, categories=_category_tokens(cutter, categories),
                    impacts=bm25.replace(data["impacts"], old_tokens, {d: impacts.impacts(doc)
                                                                        for d, doc in new_docs.items()}),
                    stats=impacts.stats(), updated=data["updated"] + len(changed) + len(removed),
                    pinyin=PinyinIndex.build(df_phr, words, readings=data["pinyin"]["readings"],
                                             syllables=data["syllables"]).to_dict())
        _write_data(index_dir, data)
        return cls.open(index_dir, synonyms)._learn(entries, previous)

    @staticmethod
    def _prepare(cutter: _Cutter, e: Mapping) -> tuple[dict[str, list[str]], dict, dict]:
        question = str(e.get("question") or "")
        similar = _as_list(e.get("similar"))
        keywords = _as_list(e.get("keywords"))
        answer = str(e.get("answer") or "")
        category = str(e.get("category") or "")

        def toks(text: str) -> list[str]:
            return cutter.search_tokens(normalize(strip_placeholders(text)))

        phrasings, phrase_toks = [], []
        for text in [question, *similar]:
            norm = normalize(text)
            stoks = cutter.search_tokens(norm)
            phrase_toks.append(stoks if "{" not in text else toks(text))
            phrasings.append([cutter.content(norm), sorted(set(stoks))])
        fields = {
            "question": phrase_toks[0],
            "similar": [t for p in phrase_toks[1:] for t in p],
            "keywords": [t for k in keywords for t in toks(k)],
            "answer": toks(answer),
            "detail": toks(str(e.get("detail") or "")),
            "category": toks(category),
        }
        rr = {
            "d": str(e.get("department") or ""),  # another department's entry (city-wide KB); "" for ours
            "P": phrasings,
            "E": sorted(set(fields["question"]) | set(fields["similar"]) | set(fields["keywords"])
                        | set(fields["category"])),
            "A": sorted(set(fields["answer"]) | set(fields["detail"])),
            "Pi": _postings([p[1] for p in phrasings]),
        }
        show = {
            "id": str(e["id"]), "q": question, "c": category, "d": rr["d"], "a": answer, "s": similar,
            # normalized one character for one, for highlighting without normalizing at query time
            "qn": aligned(question), "an": aligned(answer), "sn": [aligned(x) for x in similar],
        }
        return fields, rr, show

    @classmethod
    def open(cls, index_dir, synonyms: Iterable[tuple[str, str]] = ()) -> SearchEngine:
        """Open an index written by `build` or `update`, read-only (safe for many worker processes)."""
        index_dir = Path(index_dir)
        with open(index_dir / DATA_FILE, "rb") as fh:
            data = pickle.load(fh)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"index {index_dir} was written by another version of kb.search")
        data.pop("syllables", None)  # for updates only
        docs = store.Reader(index_dir)
        if docs.count() != data["n"]:
            docs.close()
            raise ValueError(f"index {index_dir} is inconsistent: {docs.count()} != {data['n']} entries")
        engine = cls(index_dir, docs, data, synonyms)
        # without AdaGrad's sums: only an update needs them, and it reads them from the file
        engine._classifier = _read_classifier(index_dir, steps=False)
        return engine

    def _learn(self, entries: Iterable[Mapping], previous: Classifier | None = None) -> SearchEngine:
        """Train the classifier on the home entries' phrasings, read as queries are (`classifier`), and
        write it beside the index (none for more than MAX_CLASSES own entries); returns self.
        previous: the classifier an incremental update goes on from."""
        examples = []
        home = [e for e in entries if not e.get("department")]
        for e in home if len(home) <= MAX_CLASSES else ():
            keywords = " ".join(_as_list(e.get("keywords")))
            for text in [str(e.get("question") or ""), *_as_list(e.get("similar")), keywords]:
                q = self._analyze(text)
                if q.weights:
                    examples.append((features(q.weights, q.canonical), str(e["id"])))
        self._classifier = Classifier.train(examples, start=previous)
        tmp = self.index_dir / (CLASSIFIER_FILE + ".tmp")
        if self._classifier is not None:
            with open(tmp, "wb") as fh:
                pickle.dump(self._classifier.to_dict(), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.index_dir / CLASSIFIER_FILE)
        return self

    def set_synonyms(self, synonyms: Iterable[tuple[str, str]]) -> None:
        """Apply an edited synonym table to the following queries (no reindexing needed)."""
        table = lexicon.Synonyms(synonyms)
        variants = []
        for canonical, terms in table.groups.items():
            canon = frozenset(lexicon.search_tokens(self._tk, canonical))
            toks = list(dict.fromkeys(t for term in sorted(terms) for t in lexicon.search_tokens(self._tk, term)))
            if canon and toks:
                variants.append((canon, toks))
        self.synonyms, self._variants = table, variants

    def set_scope(self, scope: levels.Scope, revision: int = -1) -> None:
        """Apply an edited table of outside matters and pair notes to the following queries
        (`revision`: the KB revision it was read at, for the caller to know when to read it again)."""
        self.scope, self.scope_revision = scope, revision

    def close(self) -> None:
        """Close the index files (every thread's connection); the engine is unusable afterwards."""
        self._docs.close()

    @property
    def doc_count(self) -> int:
        return self._n

    def tokens(self, text: str) -> list[str]:
        """Content tokens of `text` cut with this index's dictionary (cheap: no extra jieba)."""
        return lexicon.search_tokens(self._tk, normalize(text))

    def cut(self, text: str) -> list[str]:
        """Plain segmentation of normalized `text` with this index's dictionary."""
        return lexicon.cut(self._tk, normalize(text))

    def known(self, word: str) -> bool:
        """Whether the knowledge base uses `word`."""
        return word in self._df

    def domain_specificity(self, word: str) -> float:
        """log(share of the home KB's entries using `word` / its frequency in general Chinese): > 0 for
        低保, 救助 (other departments' entries in a city-wide KB do not dilute it)."""
        df = self._df_home.get(word, 0)
        if not df:
            return 0.0
        general = (self._tk.FREQ.get(word, 0) + 1) / self._tk.total
        return math.log((df / self._n_home) / general) - DOMAIN_SPECIFIC_FROM

    def _candidate(self, docnum: int) -> _Candidate:
        """The re-ranker's view of an entry, kept in a bounded cache (tokens interned: entries share them)."""
        c = self._cache.get(docnum)
        if c is None:
            rr = self._docs.get(docnum, "rr")   # its tokens come back interned (see `store`)
            phrasings = rr["P"]
            idf = self._idfs.__getitem__
            pm = tuple(sum(map(idf, p[1])) for p in phrasings)
            ph = tuple(sum(map(self._home_idfs.__getitem__, p[1])) for p in phrasings) if self._mixed else pm
            c = _Candidate(docnum=docnum, id=self._ids[docnum], E=frozenset(rr["E"]), A=frozenset(rr["A"]),
                           Pc=tuple(p[0] for p in phrasings), Pm=pm, Ph=ph, Pi=rr["Pi"],
                           T="|".join([p[0] for p in phrasings] + rr["E"]), department=rr.get("d", ""))
            with self._cache_lock:
                self._cache[docnum] = c
                if len(self._cache) > CANDIDATE_CACHE:
                    self._cache.popitem(last=False)
        else:
            with self._cache_lock:
                self._cache.move_to_end(docnum)
        return c

    def _show(self, docnum: int) -> dict:
        show = self._shows.get(docnum)
        if show is None:
            show = self._docs.get(docnum, "show")
            with self._cache_lock:
                self._shows[docnum] = show
                if len(self._shows) > CANDIDATE_CACHE:
                    self._shows.popitem(last=False)
        return show

    # --- query analysis ----------------------------------------------------------------------

    def _idf(self, tok: str) -> float:
        return self._idfs[tok]

    def _home_idf(self, tok: str) -> float:
        return self._home_idfs[tok]

    def _is_common(self, word: str) -> bool:
        return self._tk.FREQ.get(word, 0) >= COMMON_WORD_FREQ

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

        for tok in self._stoks(converted):
            if tok in q.normalized:
                q.add(tok, W_QUERY, "query")
            else:
                q.add(tok, W_PINYIN, "pinyin")
        # synonyms: the canonical wording joins the slot of the words it replaced
        for term, canonical in q.synonyms:
            slot = q.merge(self._stoks(term))
            for tok in self._stoks(canonical):
                slot = q.add(tok, W_SYNONYM, "synonym", slot)
        for tok in self._stoks(q.canonical):
            q.add(tok, W_SYNONYM, "synonym")
        for _, cands in q.pinyin:
            first = self._stoks(cands[0])
            slot = q.slot_of(first[0]) if first else None
            for alt in cands[1:]:
                for tok in self._stoks(alt):
                    slot = q.add(tok, W_PINYIN_ALT, "pinyin", slot)
        # the other spellings of every canonical term the query now contains (特困 ↔ 五保)
        present = set(q.weights)
        for canon, variants in self._variants:
            if canon <= present:
                slot = q.merge(list(canon))
                for tok in variants:
                    slot = q.add(tok, W_VARIANT, "variant", slot)
        # homophone typos from the input method (低包 → 低保), checked against the domain vocabulary;
        # what the typo was cut into (低/包, or a word the KB never uses: 零时) leaves the query. Only query
        # words the knowledge base uses are safe from correction: a rare word it never uses is what speech
        # recognition writes for a domain term it mishears (地保 for 低保).
        known = {t for t in q.weights if t in self._df}
        for chunk in q.canonical.split():
            for typo, term in self._pinyin.homophones(self._typo_units(chunk), known, self._is_common,
                                                      lexicon.STOPWORDS):
                q.corrections.append((typo, term))
                junk = {t for t in q.weights if t in typo and q.origin[t] != "typo"
                        and (len(t) == 1 or t not in self._df)}
                for t in junk:
                    del q.weights[t]
                    del q.origin[t]
                q.slots = [sl for sl in ({k: v for k, v in sl.items() if k not in junk} for sl in q.slots) if sl]
                slot = None
                for tok in self._stoks(term):
                    slot = q.add(tok, W_TYPO, "typo", slot)
        # near matches for longer words the knowledge base does not know (rapidfuzz)
        for slot in list(q.slots):
            for tok in list(slot):
                if len(tok) >= 3 and q.origin.get(tok) == "query" and tok not in self._df and has_cjk(tok):
                    near = self._near(tok)
                    if near:
                        q.near.append((tok, near))
                        for t in self._stoks(near):
                            q.add(t, W_NEAR, "near", slot)
        q.content = list(dict.fromkeys(c for c in (self._content(q.canonical), self._content(converted)) if c))
        self._weigh_needs(q)
        return q

    # --- transcript-length queries (kb.search.spoken) ------------------------------------------

    def _weigh_needs(self, q: _Query) -> None:
        """A long spoken query: what its need statements say weighs fully, words only its story says
        weigh W_STORY (in BM25 and in the share of the query an entry explains), and each need is also
        compared whole with the phrasings. One pass over the text and the slots: linear in length."""
        needs = spoken.asked(q.normalized)
        if not needs:
            return
        q.needs = needs
        said = " ".join(n.question for n in needs)
        typos = {term for typo, term in q.corrections if typo in said}
        q.scale = []
        for slot in q.slots:
            in_text = [t for t in slot if t in q.normalized]
            story = bool(in_text) and not any(t in said or t in typos for t in slot)
            q.scale.append(W_STORY if story else 1.0)
            if story:
                for t in slot:
                    q.weights[t] *= W_STORY
        for n in needs:
            content = self._content(n.text)
            if content and content not in q.content:
                q.content.append(content)

    def _typo_units(self, text: str) -> list[str]:
        """The pieces a typo window is made of: jieba's words, except that a word the knowledge
        base never uses (交手 in 交手序费, a mis-cut of 交/手序费) is opened into characters."""
        units = []
        for w in self._cut(text):
            if len(w) > 1 and w not in self._df and w not in lexicon.STOPWORDS and has_cjk(w):
                units.extend(w)
            else:
                units.append(w)
        return units

    # segmentation of the same strings recurs across queries (synonym terms, pinyin readings) and within
    # one (the converted and canonical text are often equal): cut each once
    def _memo(self, kind: str, text: str, compute):
        key = (kind, text)
        got = self._seg.get(key)
        if got is None:
            if len(self._seg) >= SEGMENT_CACHE:
                self._seg.clear()
            got = self._seg[key] = compute()
        return got

    # tuples, which the garbage collector stops tracking: the cache holds up to SEGMENT_CACHE of them
    def _stoks(self, text: str) -> tuple[str, ...]:
        return self._memo("s", text, lambda: tuple(lexicon.search_tokens(self._tk, text)))

    def _cut(self, text: str) -> tuple[str, ...]:
        return self._memo("c", text, lambda: tuple(lexicon.cut(self._tk, text)))

    def _content(self, text: str) -> str:
        return self._memo("t", text, lambda: "".join(t for t in self._cut(text) if lexicon.is_content(t)))

    def _near(self, tok: str) -> str | None:
        """The domain word closest in writing to a longer word the KB does not use (kept per word)."""
        return self._nears[tok]

    def _find_near(self, tok: str) -> str | None:
        if self._by_len is None:
            by_len: dict[int, list[str]] = {}
            # sorted: of several equally close words, extractOne returns the first, which must not
            # depend on the order of a set (different in every process: two web workers disagreed)
            for t in sorted(self._pinyin.vocab):
                if len(t) >= 3 and has_cjk(t):
                    by_len.setdefault(len(t), []).append(t)
            self._by_len = by_len
        choices = self._by_len.get(len(tok), []) + self._by_len.get(len(tok) + 1, [])
        if not choices:
            return None
        best = process.extractOne(tok, choices, scorer=fuzz.ratio, score_cutoff=66)
        return best[0] if best else None

    # --- re-ranking --------------------------------------------------------------------------

    def _informative(self, tok: str) -> float:
        """How much a word says in general Chinese (0.1 for 上 or 才能 … 1 for 低保 or 公积金).

        From jieba's corpus frequencies: a word the whole language uses all the time tells little
        about what the caller needs, even when the knowledge base happens not to use it.
        """
        surprisal = math.log(self._tk.total / (self._tk.FREQ.get(tok, 0) + 1))
        return min(1.0, max(0.1, (surprisal - INFORMATIVE_FROM) / INFORMATIVE_SPAN))

    def _slot_masses(self, q: _Query, home: bool = False) -> _Slots:
        """Per slot: its weight (idf of what was typed × how informative) and [(token, credit if matched)];
        home: with the idf of the home knowledge base alone (the confidence's view, see `_rank`)."""
        out = []
        of = self._home_idf if home else self._idf
        for i, slot in enumerate(q.slots):
            top = max(slot.values())
            primary = max((t for t, w in slot.items() if w == top),
                          key=lambda t: (t in self._df, self._idf(t) if t in self._df else 0.0))
            idf = of(primary)
            mass = idf * self._informative(primary) * (q.scale[i] if q.scale else 1.0)
            out.append((mass, [(t, w * min(1.0, of(t) / idf)) for t, w in slot.items()],
                        max(0.0, self.domain_specificity(primary))))
        return _Slots.of(out)

    def _features(self, q: _Query, slots: _Slots, c: _Candidate, bm25_score: float, top_bm25: float,
                  closest: list[tuple[str, float, int] | None] | None = None) -> dict[str, float]:
        """The re-ranker's features of one entry; `closest`: per content string of the query, the entry's
        closest phrasing as rapidfuzz's extractOne gives it (found here when not given)."""
        f = self._explained(slots, c)
        fz, exact, best_p = 0.0, False, f.pop("best_phrasing")
        if closest is None:
            closest = [process.extractOne(content, c.Pc, scorer=fuzz.ratio) for content in q.content]
        for best in closest:
            if best is not None:
                if best[1] >= 100.0:
                    exact = True
                if best[1] / 100.0 > fz:
                    fz = best[1] / 100.0
                    if fz > f["overlap"]:
                        best_p = best[2]
        f.update(bm25=bm25_score / top_bm25 if top_bm25 > 0 else 0.0, fuzz=fz, exact=1.0 if exact else 0.0,
                 best_phrasing=best_p)
        return f

    @staticmethod
    def _explained(slots: _Slots, c: _Candidate, home: bool = False) -> dict[str, float]:
        """How much of the query (weighed by `slots`) the entry explains: in all (coverage), in its
        closest phrasing (overlap, phrase_coverage), and in domain words; home: slots at the home KB's idf.

        Only the tokens the entry shares with the query are visited (set intersections in C); the sums
        still run slot by slot in order, so every feature is what a pass over all slots gives."""
        masses, where, total = slots.masses, slots.where, slots.total
        phrasing_mass = c.Ph if home else c.Pm
        best: dict[int, float] = {}
        best_e: dict[int, float] = {}
        in_e = slots.tokens & c.E
        for tok in in_e:
            for i, credit in where[tok]:
                if credit > best.get(i, 0.0):
                    best[i] = credit
                if credit > best_e.get(i, 0.0):
                    best_e[i] = credit
        for tok in (slots.tokens & c.A) - in_e:
            for i, credit in where[tok]:
                half = 0.5 * credit
                if half > best.get(i, 0.0):
                    best[i] = half
        num = domain = 0.0
        for i in sorted(best):
            num += masses[i][0] * best[i]
        for i in sorted(best_e):
            domain += masses[i][2] * best_e[i]
        coverage = min(1.0, num / total)

        # per phrasing, the query's weight it explains: a slot counts once, through its best token there
        by_slot: dict[int, list[tuple[float, int]]] = {}
        for tok in slots.tokens & c.Pi.keys():
            mask = c.Pi[tok]
            for si, credit in where[tok]:
                got = by_slot.get(si)
                if got is None:
                    by_slot[si] = [(credit, mask)]
                else:
                    got.append((credit, mask))
        inters = [0.0] * len(c.Pm)
        for si in sorted(by_slot):
            mass, alts = masses[si][0], by_slot[si]
            if len(alts) == 1:
                credit, mask = alts[0]
                if credit > 0.0:
                    part = mass * credit
                    for i in _BITS[mask]:
                        inters[i] += part
                continue
            best_in: dict[int, float] = {}
            for credit, mask in alts:
                for i in _BITS[mask]:
                    if credit > best_in.get(i, 0.0):
                        best_in[i] = credit
            for i, b in best_in.items():
                inters[i] += mass * b
        overlap, phrase_cov, best_p = 0.0, 0.0, 0
        for i, inter in enumerate(inters):
            if inter:
                dice = 2.0 * inter / (total + phrasing_mass[i])
                if dice > overlap:
                    overlap, best_p = dice, i
                share = inter / total
                if share > phrase_cov:
                    phrase_cov = share
        return {"coverage": coverage, "mass": total, "domain": domain, "overlap": min(1.0, overlap),
                "phrase_coverage": min(1.0, phrase_cov), "best_phrasing": best_p}

    @staticmethod
    def _closest(contents: list[str], entries: list[_Candidate]) -> list[list[tuple[str, float, int] | None]]:
        """Per entry, per content string: its closest phrasing (phrasing, score, index), as
        `process.extractOne(content, entry.Pc, scorer=fuzz.ratio)` gives it, the first of equals; in one
        rapidfuzz call for all the entries (when numpy is there) instead of one per entry."""
        if numpy is None or not contents:
            return [[process.extractOne(t, c.Pc, scorer=fuzz.ratio) for t in contents] for c in entries]
        flat = [p for c in entries for p in c.Pc]
        rows = process.cdist(contents, flat, scorer=fuzz.ratio, dtype=numpy.float64).tolist()
        out = []
        start = 0
        for c in entries:
            end = start + len(c.Pc)
            per = []
            for row in rows:
                scores = row[start:end]
                if not scores:
                    per.append(None)
                    continue
                best = max(scores)
                i = scores.index(best)
                per.append((c.Pc[i], best, i))
            out.append(per)
            start = end
        return out

    @staticmethod
    def _rival(slots: _Slots, first: _Candidate, runner: _Candidate) -> float:
        """Share of the query's weight that the runner-up's phrasings explain and the first's do not."""
        total = slots.total
        only = 0.0
        for mass, alts, _ in slots.masses:
            if any(t in runner.E for t, _ in alts) and not any(t in first.E for t, _ in alts):
                only += mass
        return only / total

    @staticmethod
    def _score(f: Mapping[str, float]) -> float:
        return (sum(RERANK_WEIGHTS[k] * f[k] for k in RERANK_WEIGHTS) + W_CLASSIFIER * f.get("clf", 0.0)
                + EXACT_BONUS * f["exact"])

    @staticmethod
    def _confidence(f: Mapping[str, float]) -> float:
        """Probability-like confidence that the top hit answers the query (see `calibrate`)."""
        if f.get("exact"):
            return 1.0
        weights = CONFIDENCE_WEIGHTS if "clf" in f else CONFIDENCE_WEIGHTS_PLAIN   # no "clf": no classifier
        z = weights["bias"] + sum(
            weights.get(k, 0.0) * x for k, x in zip(CONFIDENCE_FEATURES, confidence_inputs(f), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def _presence(cls, f: Mapping[str, float]) -> float:
        """Confidence that some entry answers (for 不在知识库): the margin counted as at least PRESENCE_MARGIN."""
        return cls._confidence({**f, "margin": max(f.get("margin", 0.0), PRESENCE_MARGIN)})

    def top_features(self, query: str) -> dict | None:
        """The re-ranker's features of the top hit, with its id (for calibration)."""
        ranked = self._rank(self._analyze(query), keep=2)
        if not ranked:
            return None
        return {**ranked[0][3], "id": ranked[0][2].id}

    def _rank(self, q: _Query, n: int = RERANK_N, keep: int | None = None) -> list[tuple[float, int, _Candidate, dict]]:
        """The BM25F candidates re-ranked, best first; with `keep`, only the first `keep` of that order
        are sure to be there (and are exactly those): a candidate whose score cannot reach theirs, even
        explaining the whole query, is left out unscored."""
        cands = self._impacts.top(q.weights, n)
        if not cands:
            return []
        slots = self._slot_masses(q)
        top = cands[0][1]
        ranked = []
        entries = [self._candidate(docnum) for docnum, _ in cands]
        closest = self._closest(q.content, entries)
        probs = self._probabilities(q)
        order: Iterable[int] = range(len(cands))
        bounds: list[float] = []
        if keep is not None and keep < len(cands):
            bounds = [self._score(_bound(score, top, near, probs.get(c.id, 0.0)))
                      for (_, score), near, c in zip(cands, closest, entries, strict=True)]
            order = sorted(order, key=lambda i: -bounds[i])
        scores: list[float] = []
        for i in order:
            if bounds and len(scores) >= keep and bounds[i] < heapq.nlargest(keep, scores)[-1]:
                break   # neither this one nor any after it (lower bounds) reaches the keep-th score
            docnum, score = cands[i]
            f = self._features(q, slots, entries[i], score, top, closest[i])
            f["bm25_raw"] = score
            if self._classifier is not None:
                f["clf"] = probs.get(entries[i].id, 0.0)
            ranked.append((self._score(f), docnum, entries[i], f))
            scores.append(ranked[-1][0])
        ranked.sort(key=lambda r: (-r[0], r[1]))
        runner = ranked[1] if len(ranked) > 1 else None
        top = ranked[0][3]
        first = ranked[0][0]
        if self._mixed and not ranked[0][2].department:
            first, runner = self._home_view(q, ranked)
            # how close another department's entry came (the question may be theirs): scores as ranked
            other = next((r for r in ranked[1:] if r[2].department), None)
            if other is not None and ranked[0][0] > 0:
                top["outside"], top["outside_department"] = other[0] / ranked[0][0], other[2].department
        second = runner[0] if runner else 0.0
        if runner:  # how the runner-up compares: what it explains that the first does not
            for k in ("coverage", "fuzz", "overlap"):
                top["d_" + k] = top[k] - runner[3][k]
            top["rival"] = self._rival(slots, ranked[0][2], runner[2])
        top["margin"] = first - second
        top["second"] = second / first if first > 0 else 0.0
        top["second_id"] = runner[2].id if runner else ""
        top["slots"] = len(q.slots)
        top["department"] = ranked[0][2].department
        return ranked

    def _probabilities(self, q: _Query) -> dict[str, float]:
        """The classifier's probability of each home entry for the query ({} without a classifier)."""
        if self._classifier is None or not q.weights:
            return {}
        return self._classifier.probabilities(features(q.weights, q.canonical))

    def _home_view(self, q: _Query, ranked: list) -> tuple[float, tuple | None]:
        """A city-wide KB whose first entry is the home KB's: its features and its score and the best of
        the next HOME_RUNNERS home entries' as if the other departments' entries were not there (the home
        KB's idf, BM25 relative to the best home entry's), so that their number does not move the
        confidence. Returns the first's score and (score, docnum, candidate, features) of that runner-up."""
        slots = self._slot_masses(q, home=True)
        homes = [r for r in ranked if not r[2].department][:HOME_RUNNERS + 1]
        # BM25 with each token's idf as the home KB's (Whoosh's idf, log(n / (df + 1)) + 1, by whole entry)
        weights = {t: w * (math.log(self._n_home / (self._df_home.get(t, 0) + 1)) + 1)
                   / (math.log(self._n / (self._df.get(t, 0) + 1)) + 1) for t, w in q.weights.items()}
        bm = [self._impacts.score(weights, r[1]) for r in homes]
        best_bm25 = max(bm) or 1.0
        scored = []
        for r, b in zip(homes, bm, strict=True):
            f = {**r[3], **self._explained(slots, r[2], home=True), "best_phrasing": r[3]["best_phrasing"]}
            f["bm25"] = b / best_bm25
            scored.append((self._score(f), r[1], r[2], f))
        top = ranked[0][3]
        top.update({k: v for k, v in scored[0][3].items() if k in ("coverage", "mass", "domain", "overlap",
                                                                    "phrase_coverage", "bm25")})
        runner = max(scored[1:], key=lambda r: (r[0], -r[1]), default=None)
        return scored[0][0], runner

    # --- public API --------------------------------------------------------------------------

    def search(self, query: str, limit: int = 5) -> SearchResult:
        """Best entries for what the caller said; never raises (bad input → empty, not confident)."""
        t0 = time.perf_counter()
        try:
            limit = max(1, min(int(limit), MAX_LIMIT))
        except (TypeError, ValueError, OverflowError):
            limit = 5
        raw = query if isinstance(query, str) else ""
        normalized = ""
        hits: list[Hit] = []
        verdict, conf = levels.Verdict(levels.OUT, "知识库里没有相关条目"), 0.0
        try:
            q = self._analyze(query)
            normalized = q.normalized
            ranked = self._rank(q) if q.weights else []
            each = self._each_need(q) if len(q.needs) > 1 else None
            if each:
                ranked = each + [r for r in ranked if r[1] not in {e[1] for e in each}]
            if ranked:
                conf = min(self._confidence(r[3]) for r in each) if each else self._confidence(ranked[0][3])
                top_score = ranked[0][0] or 1.0
                shown = conf
                for i, (score, docnum, c, f) in enumerate(ranked[:max(limit, 2)]):
                    show = self._show(docnum)
                    shown = min(shown, conf if each and i < len(each) else conf * max(0.0, min(1.0, score / top_score)))
                    hits.append(Hit(id=c.id, score=round(shown, 4), question=show["q"], category=show["c"],
                                    highlights=self._highlights(q, c, show, f)))
            if each:
                verdict = levels.several([h.question for h in hits[:len(each)]])
            elif q.normalized:
                verdict = self.judge(q, ranked, hits, conf)
            hits = hits[:limit]
        except Exception:  # a search box must never fail the page: log it, answer "nothing found"
            log.exception("search failed for %r", raw[:100])
            hits, verdict, conf = [], levels.Verdict(levels.OUT, "检索出错，请换个说法再试"), 0.0
        return SearchResult(query=raw, normalized=normalized, hits=hits, confident=verdict.level == levels.SURE,
                            took_ms=round((time.perf_counter() - t0) * 1000.0, 3), level=verdict.level,
                            reason=verdict.reason, dispatch_to=verdict.dispatch_to, matter=verdict.matter,
                            pair=verdict.pair, confidence=round(conf, 4))

    def _each_need(self, q: _Query) -> list[tuple[float, int, _Candidate, dict]] | None:
        """Two or more needs in a long spoken query, each searched on its own: their first entries in
        the order asked (one when they agree), or None unless every need finds its entry with
        confidence (SURE_AT, no close second) and names no matter outside the knowledge base."""
        if self.scope.matter_in(n.question for n in q.needs):
            return None
        firsts: dict[int, tuple[float, int, _Candidate, dict]] = {}
        for need in q.needs:
            ranked = self._rank(self._analyze(need.text), keep=2)
            if not ranked:
                return None
            f = ranked[0][3]
            if f.get("department"):
                return None
            sure_at, close_at = self._levels()
            if not f.get("exact") and (self._confidence(f) < sure_at or f.get("second", 0.0) >= close_at):
                return None
            firsts.setdefault(ranked[0][1], ranked[0])
        return list(firsts.values())

    def _levels(self) -> tuple[float, float]:
        """SURE_AT and CLOSE_AT for this index's confidence (with or without a classifier)."""
        if self._classifier is None:
            return levels.SURE_AT_PLAIN, levels.CLOSE_AT_PLAIN
        return levels.SURE_AT, levels.CLOSE_AT

    def judge(self, q: _Query, ranked: list, hits: list[Hit], conf: float) -> levels.Verdict:
        def brief(h: Hit | None) -> dict | None:
            return None if h is None else {"id": h.id, "question": h.question, "category": h.category}

        f = ranked[0][3] if ranked else {}
        runner = next((r for r in ranked[1:] if r[2].id == f.get("second_id")), None)
        if runner is not None:  # the next entry of the home KB, which need not be shown second in a city-wide KB
            show = self._show(runner[1])
            runner_up = {"id": runner[2].id, "question": show["q"], "category": show["c"]}
        else:
            runner_up = brief(hits[1] if len(hits) > 1 else None)
        return levels.judge(self.scope, confidence=conf, exact=bool(f.get("exact")), second=f.get("second", 0.0),
                            texts=(q.normalized, q.converted, q.canonical), top=brief(hits[0] if hits else None),
                            runner_up=runner_up, department=f.get("department", ""),
                            outside=(f.get("outside_department", ""), f.get("outside", 0.0)),
                            top_text=ranked[0][2].T if ranked else "",
                            anchors=[t for t, o in q.origin.items() if o != "near" and t in self.anchors],
                            asked=[n.question for n in q.needs],
                            asked_words=self._asked_of_top(q, ranked[0][2]) if ranked and q.needs else [],
                            presence=self._presence(f) if ranked else None, thresholds=self._levels())

    def _asked_of_top(self, q: _Query, top: _Candidate) -> list[str]:
        """The words of a long query's needs (each question with the story just before it) that the top
        entry's phrasings use and few entries do (养老院 in 想住公办的养老院 需要啥条件): what says the
        question is the entry's, beside a matter's word told in the story (see `levels.judge`)."""
        limit = ASKED_DF * self._n_home
        return list(dict.fromkeys(
            tok for n in q.needs for tok in self._stoks(n.text)
            if tok in top.E and len(tok) > 1 and tok not in lexicon.STOPWORDS and not _AMOUNT_RE.fullmatch(tok)
            and self._df_home.get(tok, 0) <= limit))

    def _highlights(self, q: _Query, c: _Candidate, show: dict, f: Mapping[str, float]) -> dict[str, str]:
        terms = [t for t in q.weights if t in c.E or t in c.A]
        terms += [typo for typo, _ in q.corrections]
        out = {"question": mark(show["q"], terms, norm=show["qn"]),
               "answer": mark(show["a"], terms, max_chars=ANSWER_SNIPPET_CHARS, norm=show["an"])}
        best = int(f.get("best_phrasing", 0))
        if 0 < best <= len(show["s"]):
            out["similar"] = mark(show["s"][best - 1], terms, norm=show["sn"][best - 1])
        return out

    def explain(self, query: str, entry_id: str) -> dict:
        """Why `entry_id` scored what it did for `query`: tokens, corrections, field matches, features."""
        q = self._analyze(query)
        out: dict = {
            "query": q.raw, "normalized": q.normalized, "converted": q.converted, "canonical": q.canonical,
            "tokens": {t: {"weight": w, "origin": q.origin[t], "idf": round(self._idf(t), 3),
                           "in_index": t in self._impacts} for t, w in q.weights.items()},
            "slots": q.slots, "synonyms": q.synonyms, "pinyin": q.pinyin, "typo_corrections": q.corrections,
            "near_matches": q.near, "entry": str(entry_id), "found": False,
        }
        docnum = self._docnums.get(str(entry_id))
        if docnum is None:
            return out
        out["found"] = True
        c = self._candidate(docnum)
        show = self._show(docnum)
        # per-field BM25F contributions, from the entry's term counts and the index's statistics
        builder = bm25.ImpactBuilder(FIELD_WEIGHTS, self._stats)
        field_matches = {}
        for f, (length, counts) in self._docs.get(docnum, "fields").items():
            matched = sorted(t for t in q.weights if t in counts)
            if matched:
                one = builder.impacts({f: (length, {t: counts[t] for t in matched})})
                field_matches[f] = {"tokens": matched, "bm25": round(sum(q.weights[t] * one[t] for t in matched), 4)}
        out["field_matches"] = field_matches
        ranked = self._rank(q) if q.weights else []
        rank = next((i + 1 for i, r in enumerate(ranked) if r[1] == docnum), None)
        out["rank"] = rank
        out["candidates"] = len(ranked)
        if rank is not None:
            score, _, _, f = ranked[rank - 1]
        else:
            own = self._impacts.score(q.weights, docnum)
            f = self._features(q, self._slot_masses(q), c, own, ranked[0][3]["bm25_raw"] if ranked else own)
            f["bm25_raw"] = own
            if self._classifier is not None:
                f["clf"] = self._probabilities(q).get(c.id, 0.0)
            score = self._score(f)
        out["features"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in f.items()}
        out["score"] = round(score, 4)
        out["confidence_if_top"] = round(self._confidence(f), 4)
        if ranked:
            out["top"] = {"id": ranked[0][2].id, "score": round(ranked[0][0], 4),
                          "confidence": round(self._confidence(ranked[0][3]), 4)}
        best = int(f.get("best_phrasing", 0))
        out["closest_phrasing"] = show["q"] if best == 0 else show["s"][best - 1]
        return out

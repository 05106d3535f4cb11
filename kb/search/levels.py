"""Three levels a search result is given, with the reason in words: 确定 (read it out), 可能 (check the
card first), 不在知识库 (dispatch or transfer).

The level comes from the engine's confidence (a logistic model over the top hit's features, see
`calibrate`), how close the second entry scored (two entries both plausible are never 确定), and the
table of other 12345 matters (公积金, 户籍 …): a question naming one of them is out of scope, with the
matter's usual department to dispatch to, unless the top entry speaks of that word itself and
answers with confidence, or a long spoken query tells it only in its story and asks about something
the top entry answers with confidence. A long spoken query whose needs each find their entry with
confidence is 确定 with all of them named (`several`). In a city-wide KB (other departments' entries
beside ours) the confidence is the own entries' (see `engine._home_view`), another department's entry
first makes the question 不在知识库 with that department, and one close below ours keeps it from 确定.
The thresholds are fitted by
`python -m kb.search.calibrate` on held-out phrasings of the knowledge base itself and our own
caller-style questions in kb/search/data/calibration.tsv (never on evaluation files), and are relative
(a probability, a score ratio), so they survive entries being rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kb.search.pinyin import latin_words, term_syllables

SURE, MAYBE, OUT = "sure", "maybe", "out_of_scope"
LABELS = {SURE: "确定", MAYBE: "可能", OUT: "不在知识库"}

# chosen by `python -m kb.search.calibrate` (its "levels" table and "chosen" line) on held-out phrasings
# of the knowledge base and kb/search/data/calibration.tsv (our own phrasings written as callers talk,
# and questions about other matters), never on evaluation files: the most right first answers 确定
# with at most 1 wrong one in 5 marked 确定, pooled and in each group there of 30 wrong ones or more,
# near-ties going to the fewest wrong ones
SURE_AT = 0.60      # confidence from which the first answer may be read out …
CLOSE_AT = 0.80     # … unless the second entry scored at least this share of the first
# … and for an index without a classifier (`engine.CONFIDENCE_WEIGHTS_PLAIN`, `calibrate --without-classifier`)
SURE_AT_PLAIN = 0.45
CLOSE_AT_PLAIN = 0.85
OUT_BELOW = 0.10    # confidence below which nothing in the knowledge base answers the question
SPOKEN_OF_AT = 0.90  # confidence from which a matter's word the top entry itself uses keeps a question in
                     # scope (a looser 0.55 let 营业执照 ride on the entry listing it among assets)
GAP = 8             # characters allowed between the parts of a matter's term written 暖气…不热


@dataclass(frozen=True)
class Matter:
    name: str
    department: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class PairNote:
    a: str
    b: str
    note: str
    question: str


@dataclass
class Scope:
    """What the knowledge base does not cover, and what tells near entries apart (set on the engine)."""

    matters: list[Matter] = field(default_factory=list)
    notes: dict[frozenset[str], PairNote] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # longest term first: 医保报销比例 names the matter better than 医保. A term written with …
        # (暖气…不热) matches its parts in that order with up to GAP characters between them.
        self._by_term: dict[str, Matter] = {}
        gapped = []
        for m in self.matters:
            for t in m.terms:
                if "…" in t:
                    gapped.append((t, m, re.compile(f".{{0,{GAP}}}".join(map(re.escape, t.split("…"))))))
                elif t:
                    self._by_term.setdefault(t, m)
        plain = sorted(self._by_term, key=lambda t: (-len(t), t))
        self._plain = re.compile("|".join(map(re.escape, plain))) if plain else None
        # a gapped term is tried only where its first part is in the text: one search for all the first
        # parts (at every position, longest first; a shorter first part that begins the same way comes
        # with it) instead of hundreds of searches per question
        self._gapped: dict[str, list[tuple[str, Matter, re.Pattern]]] = {}
        for t, m, pattern in gapped:
            self._gapped.setdefault(t.split("…")[0], []).append((t, m, pattern))
        heads = sorted(self._gapped, key=lambda h: (-len(h), h))
        self._heads = re.compile("(?=(" + "|".join(map(re.escape, heads)) + "))") if heads else None
        self._with_prefixes = {h: [g for g in heads if h.startswith(g)] for h in heads}
        self._latin: dict[str, str] | None = None  # pinyin of the terms, made on the first Latin query

    @classmethod
    def of(cls, matters: Iterable[Matter] = (), notes: Iterable[PairNote] = ()) -> Scope:
        return cls(list(matters), {frozenset((n.a, n.b)): n for n in notes})

    def matter_in(self, texts: Iterable[str]) -> tuple[Matter, str] | None:
        """The matter of the longest term found in any of `texts` (normalized query readings), with the
        words that matched; one regular expression for all plain terms keeps it cheap."""
        best: tuple[int, Matter, str] | None = None
        for text in texts:
            if not text:
                continue
            if self._plain is not None:
                for found in self._plain.finditer(text):
                    term = found.group(0)
                    if best is None or len(term) > best[0]:
                        best = (len(term), self._by_term[term], term)
            if self._heads is not None:
                present = {g for h in {m.group(1) for m in self._heads.finditer(text)}
                           for g in self._with_prefixes[h]}
                for term, matter, pattern in (x for h in sorted(present) for x in self._gapped[h]):
                    found = pattern.search(text)
                    if found and (best is None or len(term) > best[0]):
                        best = (len(term), matter, found.group(0))
            if best is None:
                best = self._by_pinyin(text)
        return (best[1], best[2]) if best else None

    def _by_pinyin(self, text: str) -> tuple[int, Matter, str] | None:
        """A term typed as pinyin or its initials (gjj, shebao jiaofei): one Latin word or up to three
        in a row, run together."""
        words = latin_words(text)
        if not words:
            return None
        if self._latin is None:
            table: dict[str, str] = {}
            for term in sorted(self._by_term, key=len):
                syllables = term_syllables(term)
                if len(syllables) == len(term):  # every character read
                    table.setdefault("".join(syllables), term)
                    if len(term) >= 3:
                        table.setdefault("".join(x[0] for x in syllables), term)
            self._latin = table
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                term = self._latin.get("".join(words[i:i + size]))
                if term is not None:
                    return len(term), self._by_term[term], term
        return None

    def note_for(self, a: str, b: str) -> PairNote | None:
        return self.notes.get(frozenset((a, b)))


@dataclass(frozen=True)
class Verdict:
    level: str
    reason: str
    dispatch_to: str = ""
    matter: str = ""
    #: the two close entries and what separates them, when the top two are close
    pair: dict | None = None


def judge(scope: Scope, *, confidence: float, exact: bool, second: float, texts: Iterable[str],
          top: dict | None, runner_up: dict | None, top_text: str, anchors: Iterable[str] = (),
          asked: Sequence[str] = (), department: str = "", outside: tuple[str, float] = ("", 0.0),
          asked_words: Sequence[str] = (), presence: float | None = None,
          thresholds: tuple[float, float] | None = None) -> Verdict:
    """The level of a result. top / runner_up: {"id", "question", "category"} of the first two hits;
    texts: the query's normalized readings; top_text: the top entry's own phrasings and keywords;
    anchors: the query's words that are the knowledge base's own subject (低保, 特困, 临时救助);
    asked: the asking words of a long spoken query's needs (`spoken.asked`), empty for a short one;
    asked_words: words of those needs that the top entry's own phrasings use and few entries do (`engine`);
    thresholds: (SURE_AT, CLOSE_AT) of the index's confidence (the module's when None);
    presence: the confidence that some entry answers, for telling 不在知识库 (the confidence when None);
    department: the top entry's department when it is another department's (a city-wide KB);
    outside: the department of the best other department's entry below a top entry of ours, and its
    score as a share of the top's."""
    sure_at, close_at = thresholds or (SURE_AT, CLOSE_AT)
    found = scope.matter_in(texts)
    if found and top is not None and confidence >= OUT_BELOW and any(
            a not in found[1] and found[1] not in a for a in anchors):
        found = None  # 退休金 in "退休金就八百，能办低保吗": the question is about 低保
    if found and top is not None and asked and confidence >= sure_at and scope.matter_in(asked) is None and any(
            w not in found[1] and found[1] not in w and not any(w in t for t in found[0].terms) for w in asked_words):
        found = None  # 退休金 told in the story, 公办养老院需要啥条件 asked: the question is the entry's
        # (养老院, a word of its own, is in the need); 退休金 told, 这个月咋少了 找谁问 asked: it stays the matter;
        # 职工医保办了临时外出备案 told, 报销比例会降多少 asked: 报销比例 is the matter's word too (医保报销比例)
    if top is None:
        if found:
            matter, term = found
            return Verdict(OUT, f"问的是{matter.name}（“{term}”），知识库里没有这方面的条目",
                           matter.department, matter.name)
        return Verdict(OUT, "知识库里没有相关条目")
    if department:  # another department's entry came first (a city-wide KB): the matters table names it better
        if found:
            matter, term = found
            return Verdict(OUT, f"问的是{matter.name}（“{term}”），最接近的是{department}的“{top['question']}”",
                           matter.department, matter.name)
        return Verdict(OUT, f"问的是{top['category']}，最接近的是{department}的“{top['question']}”",
                       department, top["category"])
    # another department's entry as close below ours as a second entry of ours would make them both 可能:
    # the question may be theirs (暖气费 … 网上交)
    rival_department = outside[0] if outside[0] and outside[1] >= close_at and not exact else ""
    # a matter's word in a question the top entry answers with confidence and speaks of itself (申请低保
    # 会查公积金吗 → the entry on checking household finances) keeps it in scope, unless another
    # department's entry comes close; otherwise it is the matter
    if found and not exact and (found[1] not in top_text or confidence < SPOKEN_OF_AT or rival_department):
        matter, term = found
        return Verdict(OUT, f"问的是{matter.name}（“{term}”），知识库只有{top['category']}",
                       matter.department, matter.name)
    pair = None
    close = runner_up is not None and not exact and second >= close_at
    if close:
        note = scope.note_for(top["id"], runner_up["id"])
        pair = {"ids": [top["id"], runner_up["id"]], "questions": [top["question"], runner_up["question"]],
                "note": note.note if note else "", "ask": note.question if note else ""}
    if exact or (confidence >= sure_at and not close and not rival_department):
        return Verdict(SURE, f"对得上“{top['question']}”")
    if (confidence if presence is None else presence) < OUT_BELOW:
        return Verdict(OUT, f"知识库里没有相近的问题（最接近的“{top['question']}”只有个别词对得上）")
    if close:
        reason = f"两条都可能：“{top['question']}”和“{runner_up['question']}”"
        if pair["note"]:
            reason += f"。区别：{pair['note']}"
        if pair["ask"]:
            reason += f"。可问来电人：{pair['ask']}"
        return Verdict(MAYBE, reason, pair=pair)
    if rival_department:
        return Verdict(MAYBE, f"可能是“{top['question']}”，也可能是{rival_department}的事，请先核对条目再答复")
    return Verdict(MAYBE, f"可能是“{top['question']}”，只对上了部分说法，请先核对条目再答复")


def several(questions: Sequence[str]) -> Verdict:
    """A long spoken query whose needs each found their entry with confidence (engine: `_each_need`)."""
    if len(questions) == 1:
        return Verdict(SURE, f"问了几句，都对得上“{questions[0]}”")
    count = "两三四五"[min(len(questions), 5) - 2]
    return Verdict(SURE, f"问了{count}件事：" + "；".join(f"“{q}”" for q in questions))

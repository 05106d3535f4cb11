"""Long spoken text (a caller's words as the call platform's ASR writes them) → the needs it states.

A caller tells a story and asks somewhere in it, often late, sometimes twice ("低保金啥时候发 还有
我妈的高龄补贴咋还没下来"). ASR text has few punctuation marks: pauses are spaces, and segments
end where the platform cut them. This module cuts the words into pieces at those pauses (and, in a
long run without pauses, after question particles and before discourse markers), tells the pieces
that ask for something from the story, and groups them into need statements: each question with
the story just before it. `focus` gives the text a search should weigh: the needs first, then as
much of the latest story as fits.

Pure and linear in the length of the text: every piece is looked at a fixed number of times, with
regular expressions whose work is bounded by the piece.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Text looked at (a call's transcript is capped at 50,000 characters).
MAX_CHARS = 50_000
#: A run without pauses longer than this is cut at question particles and markers, then by length.
MAX_PIECE = 40
#: The story kept in front of a question: the latest pieces, up to this many characters.
CONTEXT_CHARS = 40
#: A need statement longer than this keeps its end (the question) and the story just before it.
MAX_NEED = 80
#: A need says something: fewer characters than this (after fillers) is not one.
MIN_NEED = 4
#: Text from this many characters is read as spoken: its needs weigh more than its story (`asked`).
SPOKEN_FROM = 30

_PAUSE_RE = re.compile(r"[\s,，。.!！?？;；、…~～:：]+")
# Cut points inside a long run: after a question particle, before a marker that starts another need.
_RUN_CUT_RE = re.compile(r"(?<=[吗呢嘛么])|(?=还有|另外|再就是|再一个|还想问|另一个)")

#: Words that make a piece a question …
_QUESTION_RE = re.compile(
    r"吗|嘛|怎么|怎样|咋|如何|(?<!没)啥(?![也都])|(?<!没)什么(?![也都])|多少|多久|多长时间|哪|谁"
    r"|(?<!好)几(?:次|天|号|个月|年|岁|级|类|种)"
    r"|能不能|可不可以|行不行|中不中|算不算|有没有|是不是|够不够|给不给|会不会|要不要|用不用|能否|是否|为什么|为啥"
    r"|好久|能.{0,12}[不没]$|(?<![也都并])(?:[不没]|没有)$")
#: … or a request: the caller's need either way, not story.
_REQUEST_RE = re.compile(
    r"想(?:申请|办|要|换|领|给|让|找|报|转|告|咨询|反映)|要(?:申请|办|换|补办|领)|我要(?:举报|投诉|反映)"
    r"|申请点|帮帮|帮忙|救救|求助|举报|投诉|申诉")
#: A piece that only announces a question (我想问一下, 问两个事): it joins the question after it.
_ANNOUNCE_RE = re.compile(
    r"^(?:喂|你好|您好|那个|就是|嗯|哎|同志|大姐|大哥|我|俺|我就|我是|我想|俺想|我还|还|再|想|就想|麻烦)*"
    r"(?:问|打听|咨询|请教)(?:一下|下|问|问问|哈子|一哈|个事|两个事|几个事|点事|点儿事|件事)?(?:儿|啊|呀|哈)?$")
#: A piece starting so goes on with the question before it (…打存折上 还是打一卡通上).
_GOES_ON_RE = re.compile(r"^(?:还是|或者|或是|要么)")
#: A piece starting so states another need.
_MARKER_RE = re.compile(r"^(?:还有|另外|再就是|再一个|再有|还想问|再问|另一个|第二|其次|一个是|一个就是)")
#: Leading words that carry nothing (dropped from a need's text).
_FILLER_RE = re.compile(r"^(?:喂|你好|您好|嗯|啊|呃|哎|唉|哦|那个|就是|然后|是这样的?|我跟你说啊?|这个|对)+")


@dataclass(frozen=True)
class Piece:
    """A stretch of the caller's words between pauses."""

    text: str
    segment: int        #: which of the caller's segments it came from
    ask: bool           #: a question or request
    question: bool      #: a question (a request goes on with the words after it)
    announce: bool      #: only announces a question (我想问一下)
    marker: bool        #: starts another need (还有/另外 …)


@dataclass(frozen=True)
class Need:
    """One thing the caller asks for: the question with the story just before it."""

    text: str           #: what a search is given (story before the question, then the question)
    question: str       #: the asking pieces alone
    segment: int        #: the segment the question ends in
    asked: bool = True  #: False for the caller's words taken whole because nothing in them asks yet


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def pieces(segments: Iterable[str]) -> list[Piece]:
    """The caller's words cut at pauses, segment boundaries, and inside long runs, each classified."""
    out: list[Piece] = []
    budget = MAX_CHARS
    for index, segment in enumerate(segments):
        if budget <= 0:
            break
        segment = _clean(segment or "")[:budget]
        budget -= len(segment)
        for run in _PAUSE_RE.split(segment):
            if not run:
                continue
            parts = [run] if len(run) <= MAX_PIECE else [p for p in _RUN_CUT_RE.split(run) if p]
            for part in parts:
                for i in range(0, len(part), MAX_PIECE):
                    text = part[i:i + MAX_PIECE]
                    question = bool(_QUESTION_RE.search(text))
                    out.append(Piece(text, index, question or bool(_REQUEST_RE.search(text)), question,
                                     bool(_ANNOUNCE_RE.match(text)), bool(_MARKER_RE.match(text))))
    return out


def _strip(text: str) -> str:
    return _FILLER_RE.sub("", text)


def needs(segments: Sequence[str]) -> list[Need]:
    """The need statements in the caller's words, in the order stated.

    A question ends a need (a request goes on until the next question or marker); questions straight after one another make one need unless the later
    starts with a marker (还有/另外 …); the story since the previous need (its latest CONTEXT_CHARS)
    goes in front of the question. Words after the last question make a need only when they begin
    with a marker or ask for something. No question at all: the caller's words make one need."""
    ps = pieces(segments)
    found: list[tuple[list[Piece], list[Piece]]] = []     # (story before, asking pieces)
    story: list[Piece] = []
    asking: list[Piece] = []
    opened = False          # a marker opened the need being collected

    def close() -> None:
        nonlocal story, asking, opened
        if asking or (opened and story):
            found.append((story, asking))
        story, asking, opened = [], [], False

    held: list[Piece] = []      # story after a question: the next need's, unless the question goes on
    for p in ps:
        if held and _GOES_ON_RE.match(p.text):
            asking += held + [p]
            held = []
            continue
        if held:
            close()
            story, held = held, []
        if p.marker:
            close()
            opened = True
        if p.announce:
            if asking:
                close()
            story.append(p)     # 我想问一下: said before the question, carries nothing on its own
            continue
        if p.ask:
            asking.append(p)
            continue
        if asking and not any(a.question for a in asking):
            asking.append(p)    # 我要实名举报 村主任的小舅子吃低保: what a request is about follows it
            continue
        if asking:
            held.append(p)
            continue
        story.append(p)
    fallback = False
    if asking:
        close()
    elif story and (opened or not found):
        fallback = not found and not opened
        # words after the last question make a need only when a marker opened them or nothing was
        # asked at all: an aside after a question (我都跑三趟了, 一个人住) is its story, not another need
        found.append(([], story))

    out: list[Need] = []
    for before, asked in found:
        context: list[str] = []
        size = 0
        for p in reversed([b for b in before if not b.announce] if asked else before):
            if context and size + len(p.text) > CONTEXT_CHARS:
                break
            context.insert(0, p.text)
            size += len(p.text)
        question = " ".join(_strip(p.text) for p in asked).strip()
        text = " ".join([*map(_strip, context), question]).strip()
        text = text[-MAX_NEED:].strip()
        if len(re.sub(r"\s", "", text)) < MIN_NEED:
            continue
        segment = (asked or before)[-1].segment
        out.append(Need(text, question or text, segment, not fallback))
    return out


def focus(segments: Sequence[str], budget: int = 160) -> str:
    """What a search of the whole call should weigh: each need statement (latest first when they do
    not all fit), in spoken order, within `budget` characters."""
    chosen: list[str] = []
    size = 0
    for need in reversed(needs(segments)):
        if chosen and size + len(need.text) > budget:
            break
        chosen.insert(0, need.text[-budget:])
        size += len(need.text) + 1
    return " ".join(chosen)


def asked(text: str) -> list[Need]:
    """The need statements of a transcript-length query (SPOKEN_FROM characters or more), whose words
    a search weighs fully and the rest of the story less; [] for a short query or one where nothing
    asks (all of it is then the need)."""
    if len(text) < SPOKEN_FROM:
        return []
    found = needs([text])
    return found if found and all(n.asked for n in found) else []

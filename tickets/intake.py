"""Form filling from a call transcript (智能填单): the caller's words → a draft of the ticket fields.

Pure: reads the unit registry only through a `Gazetteer` built once from the township rows, writes
nothing, never raises on any text, and runs in time linear in the text. Every filled field says which
words it came from (`fields_from_transcript`), so the page can mark it; nothing here is saved.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.search.normalize import to_simplified

DATA_PATH = Path(__file__).resolve().parent / "data" / "intake.yaml"

#: Transcript text looked at (the caller's words); a real call holds a few thousand characters.
MAX_CHARS = 200_000
_MAX_COMBOS = 16            # pinyin reading combinations tried for one window of characters
_COMMON_WORD_FREQ = 200     # jieba frequency from which a word is ordinary Chinese (as kb.search)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_CJK_RE = re.compile(f"[{_CJK}]")


@dataclass(frozen=True)
class Draft:
    """The ticket form as the transcript fills it; the operator confirms or edits every field."""

    caller_name: str = ""           #: as said: a surname alone (王), or a full name (王建国)
    caller_number: str = ""         #: digits only: a mobile, or a landline with its area code
    id_number: str = ""             #: as heard, even when invalid (then `id_number_invalid` says why)
    id_number_invalid: str = ""
    township_id: int | None = None  #: a township/street of the unit registry, never a guessed one
    township_name: str = ""
    address: str = ""               #: 村/屯/组/小区/号楼/单元 words
    kind: str = "咨询"              #: 咨询/求助/投诉/举报/建议
    urgency: str = ""               #: "" or 急难, with the words that triggered it
    urgency_cues: list[str] = field(default_factory=list)
    for_whom: str = ""              #: 本人, 母亲, 邻居 …
    summary: str = ""               #: 诉求摘要: the caller's need in two or three sentences
    #: [{"field", "text"}]: each filled field with the words it came from
    fields_from_transcript: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# --- cue words ---------------------------------------------------------------------------------


@functools.cache
def _cues() -> dict:
    data = yaml.safe_load(DATA_PATH.read_text(encoding="utf-8"))
    data["surnames"] = frozenset(re.sub(r"\s", "", data["surnames"]))
    return data


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@functools.cache
def _patterns() -> dict[str, re.Pattern]:
    c = _cues()
    surname = f"(?:{_alternation(c['compound_surnames'])}|[{''.join(sorted(c['surnames']))}])"
    stop = "的了啊呀吧呢哈嗯哦我俺今家住在是这那想要就和跟电身号手打今年"
    given = f"[{_CJK}](?<![{stop}])"
    return {
        "name_surname": re.compile(f"(?:免贵|我|俺|本人)(?:家|们家)?(?:就)?(?:姓|性)({surname})"
                                   f"|(?:^|(?<=[\\s，。,]))(?:免贵)?姓({surname})"),
        # 我姓隋 隋唐的隋: a surname spelt out by a word holding it, whether or not the list knows it
        "name_spelt": re.compile(f"(?:免贵|我|俺|本人)(?:家|们家)?(?:就)?(?:姓|性)([{_CJK}])[\\s，,]*[{_CJK}]{{0,3}}的\\1"),
        "name_full": re.compile(f"(?:我|俺)(?:就)?(?:叫|名叫|的名字叫|名字叫|名字是)({surname}(?:{given}){{0,2}})"),
        "name_honorific": re.compile(
            f"(?:我|俺)(?:就)?是(?:(?:老|小)({surname})|({surname})(?:{_alternation(c['honorifics'])}))"
            f"|叫我(?:老|小)({surname})"),
        "name_is": re.compile(f"(?:我|俺)(?:就)?是({surname}(?:{given}){{1,2}})(?=[\\s，。,.!！?？]|啊|呀|$)"),
        "for_whom": re.compile(_alternation(w for ws in c["for_whom"].values() for w in ws)),
        "urgent": re.compile(_alternation(c["urgent"])),
        "dialect": re.compile(_alternation(c["dialect"])),
        "asr_fixes": re.compile(_alternation(c["asr_fixes"])),
    }


# --- text --------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    text = text.encode("utf-8", "ignore").decode("utf-8")     # lone surrogates
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    # traditional characters (a Taiwan/HK input method, some ASR engines) read as simplified
    return to_simplified(text) if _CJK_RE.search(text) else text


def caller_text(segments_or_text: object) -> str:
    """The caller's words: a string as it is, or the caller's segments (dicts or objects with
    `speaker` and `text`, in order) joined with spaces. Without speakers every segment counts."""
    if segments_or_text is None:
        return ""
    if isinstance(segments_or_text, str):
        return _clean(segments_or_text)
    if isinstance(segments_or_text, bytes | bytearray):
        return _clean(bytes(segments_or_text).decode("utf-8", "replace"))
    parts: list[tuple[float, int, str]] = []
    try:
        for order, seg in enumerate(segments_or_text):        # type: ignore[union-attr]
            if isinstance(seg, str):
                parts.append((0, order, seg))
                continue
            get = seg.get if isinstance(seg, Mapping) else lambda k, s=seg: getattr(s, k, None)
            speaker, text, start = get("speaker"), get("text"), get("start_ms")
            if isinstance(text, str) and speaker in (None, "", "caller"):
                # segments may arrive out of order: spoken order is start time, then arrival
                at = start if isinstance(start, int | float) and not isinstance(start, bool) else 0
                parts.append((at, order, text))
    except TypeError:
        return _clean(str(segments_or_text))
    return _clean(" ".join(text for _, _, text in sorted(parts)))


# --- numbers -----------------------------------------------------------------------------------

_DIGIT_MAP = {**{str(i): str(i) for i in range(10)}, "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1",
              "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7",
              "八": "8", "九": "9", "勾": "9"}
_D = "0-9零〇洞幺一二两三四五六七拐八九勾"
_SEP = r"[ \t\-－—–_.,，、·]|杠"
_RUN_RE = re.compile(f"[{_D}](?:(?:{_SEP})*[{_D}])*(?:(?:{_SEP})*[xX叉])?")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_CUE_RE = re.compile(r"身份证|证号|身份号")
_PHONE_CUE_RE = re.compile(r"电话|手机|号码|座机|打这个|联系")
_CORRECTION_RE = re.compile(r"不对|说错|错了|重新说|更正|应该是")


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_problem(number: str) -> str:
    """Why an 18-character ID number (GB 11643) is invalid, or "" if it is valid."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return f"身份证号应为18位（听到{len(number)}位）"
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return "身份证号中的出生日期不成立"
    expected = id_check_digit(number[:17])
    if number[17] != expected:
        return f"身份证号校验位不符：按前17位应为{expected}，听到的是{number[17]}"
    return ""


@dataclass
class _Number:
    kind: str       # mobile, landline, id
    digits: str
    text: str
    start: int
    corrected: bool = False


def _classify(digits: str, before: str) -> str:
    if len(digits) == 18 and digits[0] in "12345678":
        return "id"
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return "mobile"
    if re.fullmatch(r"0\d{9,11}", digits) and digits[1] != "0":
        return "landline"
    if _ID_CUE_RE.search(before) and 15 <= len(digits) <= 20:
        return "id"
    if _PHONE_CUE_RE.search(before) and re.fullmatch(r"[2-8]\d{6,7}", digits):
        return "landline"
    return ""


def _numbers(text: str) -> list[_Number]:
    found: list[_Number] = []
    for m in _RUN_RE.finditer(text):
        # groups as spoken (一三九 一二三四 五六七八); a number is one or more whole groups
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in re.finditer(f"[{_D}xX叉]+", m.group())]
        i = 0
        while i < len(groups):
            best = None
            digits = ""
            for j in range(i, len(groups)):
                digits += "".join(_DIGIT_MAP.get(ch, "X") for ch in text[groups[j][0]:groups[j][1]])
                if len(digits) > 20:
                    break
                if "X" in digits[:-1]:
                    break
                start = groups[i][0]
                kind = _classify(digits, text[max(0, start - 12):start])
                if kind:
                    best = (j, kind, digits)
            if best is None:
                i += 1
                continue
            j, kind, digits = best
            start, end = groups[i][0], groups[j][1]
            corrected = bool(_CORRECTION_RE.search(text[max(0, start - 8):start]))
            found.append(_Number(kind, digits, text[start:end], start, corrected))
            i = j + 1
    return found


# --- places ------------------------------------------------------------------------------------

_TOWNSHIP_SUFFIX_RE = re.compile(r"(街道办事处|街道|办事处|满族镇|满族乡|朝鲜族乡|蒙古族乡|回族乡|族乡|镇|乡)$")
#: A caller names their place a few times at most; past this many candidates the rest is noise.
_MAX_PLACE_MENTIONS = 200
_SPOKEN_SUFFIX_RE = re.compile(r"街道办事处|街道办|街道|办事处|满族镇|满族乡|朝鲜族乡|镇|乡|街")
_AREA_SUFFIX_RE = re.compile(r"(区|县|市)$")


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    area: str
    core: str           # the name without its suffix: 紫来街道办事处 → 紫来
    street: bool        # a street (街道) rather than a town or township


def fuzzy(syllable: str) -> str:
    """Sounds ASR and northeastern speech do not tell apart: z/zh, c/ch, s/sh, in/ing, en/eng."""
    from kb.search.pinyin import fuzzy as kb_fuzzy
    return kb_fuzzy(syllable)


@functools.cache
def _readings() -> dict[str, tuple[str, ...]]:
    from kb.search.pinyin import all_readings
    return {ch: tuple(dict.fromkeys(map(fuzzy, r.split()))) for ch, r in all_readings().items()}


@functools.cache
def _word_freq() -> Mapping[str, int]:
    from kb.search import lexicon
    return lexicon.default_tokenizer().FREQ


def _keys(chars: str) -> list[tuple[str, ...]]:
    readings = _readings()
    options = [readings.get(ch) or (ch,) for ch in chars]
    return list(itertools.islice(itertools.product(*options), _MAX_COMBOS))


#: Words before and after a place a caller says without its suffix (俺家搁永和那疙瘩, 我是新华的).
_PLACE_BEFORE = ("在", "住", "搁", "是", "家", "到", "来自")
_PLACE_AFTER = "的那这住 ，,。"


def _said_as_place(text: str, m: re.Match) -> bool:
    """A place whose name is also an everyday word (永和, 新华, 建设) counts only when said as a place."""
    after = text[m.end():m.end() + 1]
    return text[:m.start()].endswith(_PLACE_BEFORE) and (after == "" or after in _PLACE_AFTER)


class Gazetteer:
    """The townships and streets of the unit registry, matched by characters and by sound."""

    def __init__(self, places: Iterable[Place]):
        self.places = list(places)
        self.by_core: dict[str, list[Place]] = {}
        self.by_sound: dict[tuple[str, ...], list[Place]] = {}
        for p in self.places:
            self.by_core.setdefault(p.core, []).append(p)
            for key in _keys(p.core):
                self.by_sound.setdefault(key, []).append(p)
        self.lengths = sorted({len(c) for c in self.by_core}, reverse=True)
        self.core_re = re.compile(_alternation(self.by_core)) if self.by_core else None
        areas = {p.area for p in self.places if p.area}
        self.area_cores = {a: _AREA_SUFFIX_RE.sub("", a) for a in areas}
        #: 肇东 names the county (肇东市) more often than its seat (肇东镇): without 镇 it is the county
        self.area_names = {c for c in self.area_cores.values() if len(c) >= 2}
        self.area_re = re.compile(_alternation(list(areas) + [c for c in self.area_cores.values() if len(c) >= 2])) \
            if areas else None

    @classmethod
    def from_units(cls, units: Iterable[object]) -> Gazetteer:
        """From Unit rows (or anything with id, name, area and level): active townships only."""
        places = []
        for u in units:
            if getattr(u, "level", "township") != "township" or not getattr(u, "active", True):
                continue
            name = str(u.name)
            core = _TOWNSHIP_SUFFIX_RE.sub("", name) or name
            places.append(Place(int(u.id), name, str(getattr(u, "area", "") or ""), core,
                                "街道" in name or "办事处" in name))
        return cls(places)

    def _area_of(self, text: str) -> str:
        if self.area_re is None:
            return ""
        for m in self.area_re.finditer(text):
            for area, core in self.area_cores.items():
                if m.group() in (area, core):
                    return area
        return ""

    def find(self, text: str) -> tuple[Place, str] | None:
        """The township the caller names, with the words naming it; None when unknown or ambiguous."""
        candidates: list[tuple[int, int, list[Place], str, bool]] = []   # score, start, places, words, street
        if self.core_re is not None:
            for m in itertools.islice(self.core_re.finditer(text), _MAX_PLACE_MENTIONS):
                suffix = _SPOKEN_SUFFIX_RE.match(text, m.end())
                after = text[m.end():m.end() + 1]
                if not suffix and (after in ("区", "县", "市", "村", "屯", "路") or text.startswith(("社区", "小区"), m.end())
                                   or m.group() in self.area_names
                                   or (_word_freq().get(m.group(), 0) >= _COMMON_WORD_FREQ and not _said_as_place(text, m))):
                    continue
                words = text[m.start():suffix.end()] if suffix else m.group()
                candidates.append((3 + (2 if suffix else 0), m.start(), self.by_core[m.group()], words,
                                   bool(suffix and "街" in suffix.group())))
        # by sound: only before a spoken suffix (子来街, 紫来镇), where a place is surely meant
        for m in itertools.islice(_SPOKEN_SUFFIX_RE.finditer(text), _MAX_PLACE_MENTIONS):
            for n in self.lengths:
                s = m.start() - n
                window = text[max(0, s):m.start()]
                if s < 0 or not all(_CJK_RE.match(ch) for ch in window) or window in self.by_core:
                    continue
                for key in _keys(window):
                    places = self.by_sound.get(key)
                    if places:
                        candidates.append((3, s, places, text[s:m.end()], "街" in m.group()))
                        break
        if not candidates:
            return None
        area = self._area_of(text)
        best: tuple[int, int, Place, str] | None = None
        for score, start, places, words, street in candidates:
            chosen = places
            if len(chosen) > 1 and area:
                chosen = [p for p in chosen if p.area == area] or chosen
            if len(chosen) > 1:
                chosen = [p for p in chosen if p.street == street] or chosen
            if len({p.id for p in chosen}) != 1:
                continue
            place = chosen[0]
            score += 2 if area and place.area == area else 0
            if best is None or (score, -start) > (best[0], -best[1]):
                best = (score, start, place, words)
        return (best[2], best[3]) if best else None


# --- address -----------------------------------------------------------------------------------

_ADDR_NAME_RE = re.compile(f"[{_CJK}0-9零一二三四五六七八九十幺两]")
_MAX_ADDRESS = 40
_ADDR_STOP = set("区县市镇乡道处我你他她们俺咱家住在是的了那这个和跟去到从里就也还都说问想要给找有没不哪啥什么怎呢吗吧啊呀就")
_ADDR_SUFFIX_RE = re.compile(r"号楼|单元|社区|小区|家属楼|大院|胡同|村|屯|组|栋|号|室|路")
#: 农村, 全村, 本屯 …: words about a village, not its name
_ADDR_NOT_A_NAME = tuple("农乡山渔全本同外邻各整")
_ADDR_NEEDS_NAME = {"村": 2, "屯": 1, "社区": 2, "小区": 2, "路": 1, "胡同": 1, "大院": 1, "家属楼": 1}
_ADDR_NUMBERED = {"组", "号楼", "栋", "单元", "号", "室"}


def _address(text: str) -> tuple[str, int] | None:
    """村/屯/组/小区/号楼/单元 phrases: the first run of them, as said."""
    best: tuple[int, int] | None = None
    for m in itertools.islice(_ADDR_SUFFIX_RE.finditer(text), _MAX_PLACE_MENTIONS):
        suffix = m.group()
        s = m.start()
        while s > 0 and _ADDR_NAME_RE.match(text[s - 1]) and text[s - 1] not in _ADDR_STOP and m.start() - s < 8:
            s -= 1
        name = text[s:m.start()]
        if suffix in _ADDR_NUMBERED:
            if not name or not all(ch in "0123456789零一二三四五六七八九十幺两" for ch in name[-1:]):
                continue
        elif len(name) < _ADDR_NEEDS_NAME.get(suffix, 1) or name.endswith(_ADDR_NOT_A_NAME):
            continue
        if best and s <= best[1] + 1:       # chains onto the previous piece (红星村 三组)
            if m.end() - best[0] > _MAX_ADDRESS:
                break
            best = (best[0], m.end())
        elif best is None:
            best = (s, m.end())
        else:
            break
    if best is None:
        return None
    return text[best[0]:best[1]].strip(), best[0]


# --- summary -----------------------------------------------------------------------------------

_CLAUSE_SPLIT_RE = re.compile(r"[。！？!?；;，,、\s…]+")


@functools.cache
def _domain() -> tuple[frozenset[str], dict[tuple[str, ...], str]]:
    from kb.search.lexicon import read_dictionary, read_synonyms
    terms = set(read_dictionary()) | {c for _, c in read_synonyms()}
    terms = {t for t in terms if 2 <= len(t) <= 6 and all(_CJK_RE.match(ch) for ch in t)}
    from kb.search.pinyin import term_syllables
    sound: dict[tuple[str, ...], str] = {}
    for t in sorted(terms, key=len):
        if len(t) <= 4:
            syl = term_syllables(t)
            if len(syl) == len(t):
                sound.setdefault(tuple(map(fuzzy, syl)), t)
    return frozenset(terms), sound


#: Particles have one reading in speech (了 is le, not the liao of 照料): windows with them are left alone.
_FUNCTION_CHARS_RE = re.compile("[了的着过地得吗呢吧啊呀么嘛哈]")
#: A clause that only announces a question (我想问一下) joins no summary.
_ASK_ONLY_RE = re.compile(r"^(?:我|俺)?(?:想|就想)?(?:问|打听|咨询)(?:一下|下|问|问问|一下子|哈子)?$")


def correct(text: str) -> str:
    """ASR and dialect words → the domain's words (地保 → 低保, 残积人 → 残疾人, 咋整 → 怎么办)."""
    p, c = _patterns(), _cues()
    text = p["asr_fixes"].sub(lambda m: c["asr_fixes"][m.group()], text)
    terms, sound = _domain()
    freq = _word_freq()
    out, i = [], 0
    while i < len(text):
        for n in (4, 3, 2):
            window = text[i:i + n]
            if len(window) < n or not all(_CJK_RE.match(ch) for ch in window):
                continue
            if window in terms or freq.get(window, 0) >= _COMMON_WORD_FREQ or _FUNCTION_CHARS_RE.search(window):
                continue
            term = next((sound[k] for k in _keys(window) if k in sound), None)
            if term and term != window:
                out.append(term)
                i += n
                break
        else:
            out.append(text[i])
            i += 1
    text = "".join(out)
    return p["dialect"].sub(lambda m: c["dialect"][m.group()], text)


def _strip_fillers(clause: str) -> str:
    fillers = _cues()["fillers"]
    changed = True
    while changed and clause:
        changed = False
        for f in sorted(fillers, key=len, reverse=True):
            if clause.startswith(f) and len(clause) > len(f):
                clause, changed = clause[len(f):], True
    return clause


_PERSONAL_RE = re.compile(r"我姓|免贵|我叫|电话|手机|号码|身份证|[0-9]{6,}")


def _clause_score(clause: str, terms: frozenset[str]) -> int:
    c = _cues()
    score = 3 * any(w in clause for w in c["need_cues"])
    score += 2 * min(2, sum(1 for t in terms if t in clause))
    score += 2 * bool(_patterns()["urgent"].search(clause))
    return score - 2 * (len(clause) <= 3)


_MAX_CLAUSE = 60         # characters: a run without pauses is cut into clauses this long

#: A clause starting so states another need: a sentence of its own.
_NEXT_NEED = ("另外", "还有", "再就是", "再一个", "第二", "还想问", "再问")


def _is_question(clause: str) -> bool:
    return clause.endswith(("不", "没", "么", "呢", "吗")) or any(q in clause for q in _cues()["question_cues"])


def _summary(text: str) -> str:
    terms, _ = _domain()
    pieces = (x[i:i + _MAX_CLAUSE] for x in _CLAUSE_SPLIT_RE.split(text[:20_000]) for i in range(0, len(x), _MAX_CLAUSE))
    clauses = [cl for cl in map(_strip_fillers, pieces) if len(cl) >= 2 and not _ASK_ONLY_RE.match(cl)]
    scored = []
    for idx, raw in enumerate(clauses):
        if _PERSONAL_RE.search(raw) or (_RUN_RE.search(raw) and len(_RUN_RE.search(raw).group()) >= 7):
            continue
        scored.append((_clause_score(raw, terms), idx, raw))
    # correcting costs a pinyin look-up per character: only the likely clauses are corrected
    scored = sorted(scored, key=lambda s: (-s[0], s[1]))[:8]
    scored = [(_clause_score(fixed, terms), idx, fixed) for _, idx, fixed in
              ((s, i, correct(r)) for s, i, r in sorted(scored, key=lambda s: s[1]))]
    chosen = sorted((s for s in scored if s[0] >= 2), key=lambda s: (-s[0], s[1]))[:4]
    if not chosen:
        chosen = [s for s in scored if len(s[2]) >= 4][:2]
    chosen.sort(key=lambda s: s[1])
    # adjacent clauses make one sentence; at most three sentences
    sentences: list[list[str]] = []
    last = -2
    for _, idx, fixed in chosen:
        if idx == last + 1 and sentences and not fixed.startswith(_NEXT_NEED) \
                and not _is_question(sentences[-1][-1]):
            sentences[-1].append(fixed)
        else:
            sentences.append([fixed])
        last = idx
    out = []
    for parts in sentences[:3]:
        out.append("，".join(parts) + ("？" if _is_question(parts[-1]) else "。"))
    return "".join(out)[:200]


# --- the draft ---------------------------------------------------------------------------------


#: jieba frequency from which 我是X names a thing (高中生 129, 房东 129), not a person (王建国 12)
_NAME_IS_WORD_FREQ = 50


def _name(text: str) -> tuple[str, str] | None:
    p = _patterns()
    for key in ("name_spelt", "name_full", "name_surname", "name_honorific", "name_is"):
        for m in p[key].finditer(text):
            name = next(g for g in m.groups() if g)
            # 我是高中生: an ordinary word after 我是 is not a name
            if key == "name_is" and _word_freq().get(name, 0) >= _NAME_IS_WORD_FREQ:
                continue
            return name, m.group()
    return None


_FOR_THEM_RE = re.compile(r"[给帮替为代][她他](?:申请|办|问|领|弄|报|争取|要)")


def _for_whom(text: str) -> tuple[str, str] | None:
    c = _cues()
    label_of = {w: label for label, ws in c["for_whom"].items() for w in ws}
    after = tuple(c["for_whom_after"])
    mentioned: tuple[str, str] | None = None
    for m in itertools.islice(_patterns()["for_whom"].finditer(text), _MAX_PLACE_MENTIONS):
        label = label_of[m.group()]
        if label in ("本人", "他人", "邻居"):
            return label, m.group()
        nxt = text[m.end():m.end() + 4].lstrip()
        if nxt.startswith(after) or text[max(0, m.start() - 1):m.start()] in ("给", "帮", "替", "为", "代"):
            return label, m.group()
        mentioned = mentioned or (label, m.group())
    # 我外孙女 爸妈都不管她 … 我想给她申请: the relative named first is the one asked for
    if mentioned and _FOR_THEM_RE.search(text):
        return mentioned
    return None


def _kind(text: str) -> tuple[str, str] | None:
    for kind, words in _cues()["kinds"].items():
        hit = next((w for w in words if w in text), None)
        if hit:
            return kind, hit
    return None


def extract(segments_or_text: object, gazetteer: Gazetteer | None = None) -> Draft:
    """The ticket fields the caller's words hold. Never raises; an empty draft for no text."""
    return _extract(caller_text(segments_or_text), gazetteer)


def _extract(text: str, gazetteer: Gazetteer | None) -> Draft:
    if not text.strip():
        return Draft()
    spans: list[dict[str, str]] = []
    values: dict[str, object] = {}

    def fill(name: str, value: object, words: str) -> None:
        values[name] = value
        spans.append({"field": name, "text": words})

    name = _name(text)
    if name:
        fill("caller_name", *name)

    numbers = _numbers(text)
    phones = [n for n in numbers if n.kind in ("mobile", "landline")]
    if phones:
        phone = next((n for n in phones if n.corrected), None) or \
            next((n for n in phones if n.kind == "mobile"), phones[0])
        fill("caller_number", phone.digits, phone.text)
    ids = [n for n in numbers if n.kind == "id"]
    if ids:
        ident = next((n for n in reversed(ids) if n.corrected), None) or \
            next((n for n in ids if not id_problem(n.digits)), ids[0])
        fill("id_number", ident.digits, ident.text)
        problem = id_problem(ident.digits)
        if problem:
            values["id_number_invalid"] = problem

    if gazetteer is not None:
        found = gazetteer.find(text)
        if found:
            place, words = found
            values["township_id"] = place.id
            fill("township_name", place.name, words)

    address = _address(text)
    if address:
        fill("address", address[0], address[0])

    whom = _for_whom(text)
    if whom:
        fill("for_whom", *whom)
    elif re.search(r"我|俺", text):
        values["for_whom"] = "本人"

    cues = list(dict.fromkeys(m.group() for m in _patterns()["urgent"].finditer(text)))
    if cues:
        values["urgency"] = "急难"
        values["urgency_cues"] = cues
        spans.append({"field": "urgency", "text": "、".join(cues)})

    kind = _kind(text)
    if kind:
        fill("kind", *kind)
    elif cues:
        fill("kind", "求助", cues[0])

    summary = _summary(text)
    if summary:
        fill("summary", summary, summary)
    return Draft(**values, fields_from_transcript=spans)  # type: ignore[arg-type]

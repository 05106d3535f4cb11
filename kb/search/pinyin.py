"""Pinyin tolerance: Latin input read as pinyin, and input-method homophone typos corrected.

Both work through dictionaries built once from the index's domain vocabulary (the words of the
entries' questions, similar questions and keywords), so a query costs a few dictionary lookups
whatever the size of the knowledge base:

* `full`:     "dibao" → 低保        (full pinyin, syllables run together, as people type them)
* `initials`: "dbk"   → 低保卡      (first letters, as Elasticsearch's pinyin analyzer indexes them)
* `homo`:     "di bao" → 低保       (a window of query characters with the same reading, 低包/底保);
              only curated domain terms (the dictionary and the entries' keywords), so that an
              ordinary word is never "corrected" into another ordinary word (办个 → 半个)
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping

from kb.search.normalize import all_cjk, is_cjk

SYLLABLES = frozenset("""
a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce
cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun
chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu
dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge
gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu
hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan
kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li
lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang mao me mei men
meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nian niang niao nie
nin ning niu nong nou nu nuan nuo nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping
po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong
rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng
shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao
te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian
xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue
yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu
zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu zuan zui zun zuo
""".split())
_MAX_SYLLABLE = max(map(len, SYLLABLES))

_KEEP = 4           # candidates kept per key (most frequent in the knowledge base first)
_MAX_COMBOS = 16    # reading combinations tried for one window of polyphonic characters
_WINDOWS_KEPT = 50_000   # windows whose reading is kept (emptied when full)
_LATIN_WORD_RE = re.compile(r"[a-z]+")
# Sounds people (and the northeast especially) do not tell apart when typing pinyin: flat and
# curled tongue (z/zh, c/ch, s/sh) and front and back nasals (in/ing, en/eng): 零时 for 临时.
_FUZZY_RE = re.compile(r"^([zcs])h|(?<=[ie])ng$")


def fuzzy(syllable: str) -> str:
    return _FUZZY_RE.sub(lambda m: m.group(1) or "n", syllable)


def _toneless(reading: str) -> str:
    from pypinyin.contrib.tone_convert import to_normal
    return to_normal(reading).replace("ü", "v")


def all_readings() -> dict[str, str]:
    """Every character pypinyin knows → its toneless readings, space-separated (行 → "xing hang heng").

    Computed when an index is built and saved with it: pypinyin's dictionaries cost some 60 MB,
    which web workers that only open the index never load.
    """
    from pypinyin.pinyin_dict import pinyin_dict

    out = {}
    for code, readings in pinyin_dict.items():
        ch = chr(code)
        if is_cjk(ch):
            out[ch] = " ".join(dict.fromkeys(_toneless(r) for r in readings.split(",")))
    return out


@functools.lru_cache(maxsize=200_000)
def term_syllables(term: str) -> tuple[str, ...]:
    """Readings of a word in context (重庆 → chong qing), as pypinyin's phrase dictionary gives them."""
    from pypinyin import Style, lazy_pinyin

    return tuple(x.replace("ü", "v") for x in lazy_pinyin(term, style=Style.NORMAL, errors="ignore"))


class PinyinIndex:
    """Pinyin → domain terms. Built from `{term: document frequency}`; picklable as plain dicts."""

    def __init__(self, full: dict[str, list[str]], initials: dict[str, list[str]],
                 homo: dict[str, list[str]], vocab: frozenset[str], readings: dict[str, str]):
        self.full = full
        self.initials = initials
        self.homo = homo
        self.vocab = vocab
        self.readings = readings
        self._max_full = max(map(len, full), default=0)
        self._fuzzy: dict[tuple[str, bool], list[str]] = {}
        self._windows: dict[tuple[tuple[str, bool], ...], str | None] = {}

    def _fuzzy_readings(self, char: str, usual_only: bool) -> list[str]:
        """A character's readings as `fuzzy` syllables, each once (only the usual one for a function
        word); kept per character, as queries keep meeting the same few thousand."""
        key = (char, usual_only)
        got = self._fuzzy.get(key)
        if got is None:
            r = self.readings.get(char, "").split()
            got = self._fuzzy[key] = list(dict.fromkeys(map(fuzzy, r[:1] if usual_only else r)))
        return got

    @classmethod
    def build(cls, df: Mapping[str, int], domain: Iterable[str] = (), readings: dict[str, str] | None = None,
              syllables: dict[str, tuple[str, ...]] | None = None) -> PinyinIndex:
        """df: the vocabulary Latin input is read against ({word: entries using it});
        domain: the curated domain terms typos are corrected to (dictionary and keywords);
        readings: `all_readings()` when the caller has them (an index being updated);
        syllables: each term's reading, kept by the caller between builds (filled in here), so an
        update reads only new words with pypinyin."""
        domain = set(domain)
        full: dict[str, list[tuple[int, str]]] = {}
        initials: dict[str, list[tuple[int, str]]] = {}
        homo: dict[str, list[tuple[int, str]]] = {}
        for term, freq in df.items():
            if not (2 <= len(term) <= 8) or not all(is_cjk(c) for c in term):
                continue
            syl = syllables.get(term) if syllables is not None else None
            if syl is None:
                syl = term_syllables(term)
                if syllables is not None:
                    syllables[term] = syl
            if len(syl) != len(term):
                continue
            full.setdefault("".join(syl), []).append((-freq, term))
            initials.setdefault("".join(s[0] for s in syl), []).append((-freq, term))
            if len(term) <= 4 and term in domain:
                homo.setdefault(" ".join(map(fuzzy, syl)), []).append((-freq, term))

        def top(d: dict[str, list[tuple[int, str]]]) -> dict[str, list[str]]:
            return {k: [t for _, t in sorted(v)[:_KEEP]] for k, v in d.items()}

        return cls(top(full), top(initials), top(homo), frozenset(df), readings or all_readings())

    def to_dict(self) -> dict:
        return {"full": self.full, "initials": self.initials, "homo": self.homo, "vocab": self.vocab,
                "readings": self.readings}

    @classmethod
    def from_dict(cls, d: dict) -> PinyinIndex:
        return cls(d["full"], d["initials"], d["homo"], d["vocab"], d["readings"])

    # --- Latin input -------------------------------------------------------------------------

    def _lookup(self, word: str, allow_initials: bool) -> list[str]:
        hit = self.full.get(word)
        if hit:
            return hit
        if allow_initials and 2 <= len(word) <= 6:
            hit = self.initials.get(word)
            if hit:
                return hit
        return []

    def _segment(self, word: str) -> list[str]:
        """Run-together full pinyin of several words ("shenqingdibao") → the domain terms in it."""
        n = len(word)
        # best[i] = (chars covered by domain terms, -pieces, terms) for word[:i]
        best: list[tuple[int, int, list[str]] | None] = [None] * (n + 1)
        best[0] = (0, 0, [])
        for i in range(n):
            if best[i] is None:
                continue
            cov, neg_pieces, terms = best[i]
            for j in range(i + 1, min(n, i + max(self._max_full, _MAX_SYLLABLE)) + 1):
                piece = word[i:j]
                hit = self.full.get(piece)
                if hit:
                    cand = (cov + len(piece), neg_pieces - 1, terms + [hit[0]])
                elif piece in SYLLABLES:
                    cand = (cov, neg_pieces - 1, terms)
                else:
                    continue
                if best[j] is None or cand[:2] > best[j][:2]:
                    best[j] = cand
        end = best[n]
        if end is None or end[0] < 0.6 * n:
            return []
        return end[2]

    def convert_latin(self, words: list[str]) -> list[tuple[str, list[str]]]:
        """Read a run of Latin words as pinyin: [(latin, [term, alternatives…])], unread words kept.

        Adjacent words are tried together first ("dibao hu" → 低保户), then alone, as full
        pinyin, as initials ("dbk", "yljz"), or as several run-together words.
        """
        out: list[tuple[str, list[str]]] = []
        i = 0
        while i < len(words):
            for j in range(min(len(words), i + 3), i, -1):
                joined = "".join(words[i:j])
                cands = self._lookup(joined, allow_initials=(j == i + 1))
                if not cands and j == i + 1 and len(joined) >= 4:
                    seg = self._segment(joined)
                    if seg:
                        cands = ["".join(seg)] + [t for t in seg if len(seg) > 1]
                if cands:
                    out.append((" ".join(words[i:j]), cands))
                    i = j
                    break
            else:
                out.append((words[i], []))
                i += 1
        return out

    # --- homophone typos ---------------------------------------------------------------------

    def homophones(self, words: list[str], known: Iterable[str] = (), is_common=None,
                   function_words: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        """Runs of whole words that read like a domain term but are not it: [(typo, term)].

        `words` is the plain segmentation of the text: a typo is made of whole words, mostly the
        single characters jieba falls back to (低包 → 低/包), so windows never start or end inside
        a word (什么样/人家 never yields 样人). `known` windows (words of the knowledge base) are
        never corrected, nor those `is_common(window)` says are ordinary words (反应 stays 反应).
        Function words are read with their usual reading only: 的 is de, not the di of 低收入.
        """
        known = set(known)
        found: list[tuple[str, str]] = []
        seen: set[str] = set()
        for i in range(len(words)):
            window = ""
            for j in range(i, len(words)):
                window += words[j]
                if len(window) > 4:
                    break
                if len(window) < 2 or window in seen or window in known or window in self.vocab:
                    continue
                if not all_cjk(window):
                    break
                if is_common is not None and is_common(window):
                    continue
                term = self._reads_as(tuple((w, w in function_words) for w in words[i:j + 1]))
                if term is not None and term != window:
                    found.append((window, term))
                    seen.add(window)
        return found

    def _reads_as(self, window: tuple[tuple[str, bool], ...]) -> str | None:
        """The domain term a window of (word, is a function word) reads as, or None; kept per window,
        as the same few words recur in query after query."""
        got = self._windows.get(window, False)
        if got is False:
            if len(self._windows) >= _WINDOWS_KEPT:
                self._windows.clear()
            got = None
            readings = [self._fuzzy_readings(c, usual) for w, usual in window for c in w]
            if all(readings):
                for combo in itertools.islice(itertools.product(*readings), _MAX_COMBOS):
                    terms = self.homo.get(" ".join(combo))
                    if terms:
                        got = terms[0]
                        break
            self._windows[window] = got
        return got


def latin_words(text: str) -> list[str]:
    return _LATIN_WORD_RE.findall(text)

"""Words: the jieba segmenter with the domain dictionary, fillers to ignore, and the synonym table.

Each index carries its own segmentation dictionary (jieba's general words plus the domain words:
the bundled dictionary and the entries' keywords), built once with the index and loaded with it,
so a query is always cut exactly as the entries were, and opening an index does not pay for
jieba's start-up. Engines never touch jieba's global tokenizer.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba

from kb.search.normalize import has_cjk, normalize

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DICTIONARY_PATH = DATA_DIR / "dictionary.txt"
SYNONYMS_PATH = DATA_DIR / "synonyms.tsv"

#: Function words, question words and fillers that say nothing about what the caller needs.
#: Words that carry the kind of answer wanted (多少, 多久, 哪里, 条件, 材料) are kept.
STOPWORDS = frozenset("""
请问 问一下 问问 想问 想问问 我想问 我想问一下 打听 打听一下 咨询一下 你好 您好 喂 麻烦 谢谢 一下 这个 那个 这样 那样
就是 然后 还有 那么 这么 那边 这边 这块 那块 现在 目前 就 都 也 还 又 再 才 只 却 呢 吗 吧 啊 呀 哇 哦 嘛 么 哈 呗 啦 喽 咧 呐 噢 嗯 唉 哎
的 地 得 了 着 过 是 在 有 和 与 及 或 或者 跟 同 给 把 被 让 叫 对 从 向 往 于 以 为 所 之 其 而 并 且 等 等等
我 你 您 他 她 它 我们 你们 他们 她们 咱 咱们 俺 俺们 自己 人家 大家 谁 某 某某
怎么 怎样 怎么样 如何 怎么办 怎么弄 怎么整 什么 什么样 啥 啥样 咋 咋样 咋整 咋办 咋弄 为什么 为啥 干啥 干什么 哪个 哪些 哪位
是不是 是否 能不能 能否 可不可以 可以 可能 能 会 会不会 有没有 行不行 中不中 好不好 要不要 对不对 算不算 够不够 给不给 用不用
不 没 没有 别 要 想 应该 需要 得要 必须 一 个 些 一些 一个 这 那 此 每 各 点 一点 点儿 儿 事 事儿
""".split())

_LATIN_TOKEN_RE = re.compile(r"^[a-z]+$")

#: jieba words rarer than this are left out of an index's segmentation dictionary: they are mostly
#: names and rare compounds, and cut into shorter words they match just as well on both sides.
MIN_WORD_FREQ = 5
#: the least frequency a domain word gets in an index's dictionary (enough to beat its parts)
DOMAIN_WORD_FREQ = 3

log = logging.getLogger(__name__)
_default: jieba.Tokenizer | None = None
_default_lock = threading.Lock()


def _jieba_tmp_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), "hotline-desk-jieba")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        path = tempfile.gettempdir()
    return path


def _tokenizer(freq: dict[str, int], total: int) -> jieba.Tokenizer:
    tk = jieba.Tokenizer()
    tk.tmp_dir = _jieba_tmp_dir()
    tk.FREQ, tk.total, tk.initialized = freq, total, True
    return tk


def _general_dictionary() -> tuple[dict[str, int], int]:
    """jieba's general words without the rarest, with their prefixes, as jieba's FREQ expects.

    Cached as a marshal file in the temp directory (like jieba's own cache, keyed by jieba's
    dictionary file), so building an index does not load jieba's full 350,000 words each time.
    """
    source = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    stat = os.stat(source)
    cache = os.path.join(_jieba_tmp_dir(), f"general-{MIN_WORD_FREQ}-{stat.st_size}-{int(stat.st_mtime)}.marshal")
    try:
        with open(cache, "rb") as fh:
            freq, total = marshal.load(fh)
        return freq, total
    except (OSError, EOFError, ValueError, TypeError):
        pass
    logging.getLogger("jieba").setLevel(logging.WARNING)
    full = jieba.Tokenizer()
    full.tmp_dir = _jieba_tmp_dir()
    full.initialize()
    freq = {w: f for w, f in full.FREQ.items() if f >= MIN_WORD_FREQ}
    total = sum(freq.values())
    del full
    for w in list(freq):
        for i in range(1, len(w)):
            freq.setdefault(w[:i], 0)
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(cache))
        with os.fdopen(fd, "wb") as fh:
            marshal.dump((freq, total), fh)
        os.replace(tmp, cache)
    except OSError:
        log.warning("could not cache jieba's general dictionary in %s", cache)
    return freq, total


def build_dictionary(words: Iterable[str]) -> tuple[dict[str, int], int]:
    """The segmentation dictionary for an index: jieba's general words + the domain `words`.

    Saved with the index, so opening it needs neither jieba's dictionary nor its start-up.
    """
    tk = _tokenizer(*_general_dictionary())
    for w in words:
        # as jieba's suggest_freq: just enough for the domain word to beat its parts
        if tk.FREQ.get(w, 0) < DOMAIN_WORD_FREQ:
            tk.add_word(w, freq=max(tk.suggest_freq(w, False), DOMAIN_WORD_FREQ))
    return tk.FREQ, tk.total


def tokenizer_for(freq: dict[str, int], total: int) -> jieba.Tokenizer:
    """A tokenizer over a dictionary from `build_dictionary` (as saved in an index)."""
    return _tokenizer(freq, total)


def read_dictionary(path: Path = DICTIONARY_PATH) -> list[str]:
    """The bundled domain dictionary (jieba user-dictionary format; only the word is used)."""
    words: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return words
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line.split()[0])
    return words


def read_synonyms(path: Path = SYNONYMS_PATH) -> list[tuple[str, str]]:
    """The default synonym/colloquial table: `term<TAB>canonical` lines, `#` comments."""
    pairs: list[tuple[str, str]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return pairs
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def domain_words(words: Iterable[str]) -> list[str]:
    """Normalize candidate domain words; keep those jieba should see as one word."""
    out: dict[str, None] = {}
    for w in words:
        n = normalize(w).replace(" ", "")
        if 2 <= len(n) <= 8 and has_cjk(n) and not any(f in n for f in ("吗", "怎么", "什么", "咋", "啥", "多少")):
            out[n] = None
    return list(out)


def default_tokenizer() -> jieba.Tokenizer:
    """Segmentation with the bundled domain dictionary, for `tokens()` outside an engine."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = tokenizer_for(*build_dictionary(domain_words(read_dictionary())))
    return _default


def is_content(tok: str) -> bool:
    if not tok or tok.isspace() or tok in STOPWORDS:
        return False
    return not (len(tok) == 1 and _LATIN_TOKEN_RE.match(tok))


def cut(tk: jieba.Tokenizer, normalized: str) -> list[str]:
    """Plain segmentation of already-normalized text (no stopword removal)."""
    return [t for t in tk.lcut(normalized, HMM=False) if t.strip()]


def search_tokens(tk: jieba.Tokenizer, normalized: str) -> list[str]:
    """Index/query tokens: search-mode segmentation (words and their dictionary sub-words), fillers removed."""
    return [t for t in tk.lcut_for_search(normalized, HMM=False) if is_content(t)]


def tokens(text: str) -> list[str]:
    """Content tokens of any text, as the search engine sees them (normalized, fillers removed)."""
    return search_tokens(default_tokenizer(), normalize(text))


class Synonyms:
    """Query-time synonym table: colloquial term → canonical wording.

    Terms of two or more characters are found anywhere in the normalized query (longest first);
    a one-character term (俺, 咋) only when jieba cuts it as a word of its own, so 整 in 调整
    never turns into something else. The index never depends on this table: editors' changes
    apply to the next query without reindexing.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()):
        table: dict[str, str] = {}
        for term, canonical in pairs:
            t = normalize(term).replace(" ", "")
            c = normalize(canonical)
            if t and c and t != c.replace(" ", ""):
                table[t] = c
        self.table = table
        self.single = {t: c for t, c in table.items() if len(t) == 1}
        self._single = frozenset(self.single)
        multi = sorted((t for t in table if len(t) > 1), key=lambda t: (-len(t), t))
        self._re = re.compile("|".join(map(re.escape, multi))) if multi else None
        # canonical → its other spellings, to expand a query written in either form
        groups: dict[str, set[str]] = {}
        for t, c in table.items():
            groups.setdefault(c, set()).add(t)
        self.groups = groups

    def __len__(self) -> int:
        return len(self.table)

    def canonicalize(self, tk: jieba.Tokenizer, normalized: str) -> tuple[str, list[tuple[str, str]]]:
        """Rewrite colloquial terms to their canonical form; returns the text and what was applied."""
        applied: list[tuple[str, str]] = []
        text = normalized
        if self._re is not None:
            def sub(m: re.Match) -> str:
                applied.append((m.group(0), self.table[m.group(0)]))
                return self.table[m.group(0)]
            text = self._re.sub(sub, text)
        if not self._single.isdisjoint(text):   # cut only a text holding one of the characters
            parts = tk.lcut(text, HMM=False)
            changed = False
            for i, p in enumerate(parts):
                c = self.single.get(p)
                if c is not None:
                    applied.append((p, c))
                    parts[i] = c
                    changed = True
            if changed:
                text = "".join(parts)
        return text, applied

"""Can an operator read an entry's answer script aloud as it stands? The checks of issue 13 (item 6).

Four rules, each naming the entry and what to fix:
- `length`: the script as read aloud is at most MAX_SCRIPT characters (about 30 seconds);
- `12345`: no script or contact line mentions 12345 (the caller is already on it);
- `fragment`: a local parameter stands alone as a value ("热线：{{社会救助热线_市}}。"), never inside a
  sentence, so an unset one shows a clean gap instead of nonsense; no "以当地公布标准为准" either;
- `basis`: the entry rests on at least one document of the policy register.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kb.register import title_key
from kb.services import PARAM_RE, ParamState

MAX_SCRIPT = 150
RULES = {"length": "口径过长", "12345": "提到12345", "fragment": "参数嵌在句中", "basis": "未关联登记簿文件"}
#: The fields read out to a caller.
SPOKEN = ("answer", "contact")
#: What may come right before a parameter (a label's colon, or "是/为" making the whole clause its value:
#: "城市低保标准是{{低保标准_城市}}。") and right after it (the end of a clause).
_BEFORE = ("：", ":", "是", "为")
_AFTER = re.compile(r"^\s*([。；;，,）)！!？?\n]|$)")
_OLD_FALLBACK = "以当地公布标准为准"


@dataclass(frozen=True)
class Problem:
    entry_id: str
    rule: str
    message: str


def spoken_length(text: str, states: dict[str, ParamState]) -> int:
    """Characters read aloud: whitespace left out, a set parameter as its value and unit, an unset one
    as its label (what the figure will take, roughly, once set)."""
    def sub(match: re.Match) -> str:
        state = states.get(match.group(1).strip())
        if state is None:
            return match.group(1).strip()
        return state.rendered if state.is_set else state.label

    return len(re.sub(r"\s+", "", PARAM_RE.sub(sub, text or "")))


def _fragments(text: str) -> list[str]:
    found = []
    for match in PARAM_RE.finditer(text or ""):
        before = text[:match.start()].rstrip(" ")
        after = text[match.end():]
        if not before.endswith(_BEFORE) or not _AFTER.match(after):
            found.append(match.group(0))
    return found


def check_entry(data: dict[str, Any], states: dict[str, ParamState], document_titles: set[str]) -> list[Problem]:
    """The problems of one entry (its as_data() shape); `document_titles` are register titles by title_key."""
    entry_id = data.get("id", "")
    problems = []
    length = spoken_length(data.get("answer", ""), states)
    if length > MAX_SCRIPT:
        problems.append(Problem(entry_id, "length", f"答复口径读出约{length}字，超过{MAX_SCRIPT}字；"
                                                    "把细节移到详细解答，口径只留要点和下一步"))
    for field in SPOKEN:
        text = data.get(field) or ""
        if "12345" in text:
            problems.append(Problem(entry_id, "12345", f"{_label(field)}提到12345：来电人正在12345上，"
                                                       "请改为具体的下一步（去哪里、带什么、打哪个本地电话）"))
        for fragment in _fragments(text):
            problems.append(Problem(entry_id, "fragment", f"{_label(field)}中的{fragment}嵌在句子里；"
                                                          "参数应单独作取值，写成“标签：{{参数}}。”或“……是{{参数}}。”"))
        if _OLD_FALLBACK in text:
            problems.append(Problem(entry_id, "fragment", f"{_label(field)}含有“{_OLD_FALLBACK}”；"
                                                          "请改用本地参数或删去"))
    if not any(title_key(b.get("name", "")) in document_titles for b in data.get("policy_basis") or []):
        problems.append(Problem(entry_id, "basis", "政策依据没有一项与政策文件登记簿中的文件同名"))
    return problems


def _label(field: str) -> str:
    return {"answer": "答复口径", "contact": "联系方式"}[field]


def check(entries: list[dict[str, Any]], states: dict[str, ParamState], document_titles: set[str]) -> list[Problem]:
    return [p for data in entries for p in check_entry(data, states, document_titles)]


def counts(problems: list[Problem]) -> dict[str, int]:
    """Entries failing each rule (an entry counts once per rule)."""
    return {rule: len({p.entry_id for p in problems if p.rule == rule}) for rule in RULES}

"""The household facts a caller already said, read from the call's words (the form opens pre-filled).

"我妈七十三了" → a parent aged 73; "一个月就一千来块" → about 1,000 yuan a month; "农村户口", "瘫痪在床",
"二级残疾", "住院了", "家里着火了", "儿子不管". Pure and linear in the text; every fact comes with the words
it came from, and the operator confirms each one — nothing is decided from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DIGITS = {"零": 0, "〇": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "仨": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
NUMBER = r"[0-9]+(?:\.[0-9]+)?|[零〇一幺二两俩三仨四五六七八九十百千万]+"


def to_number(text: str) -> float | None:
    """Arabic or spoken Chinese numbers: 73, 七十三, 一千二, 两千五百, 三百零五, 一万二 → 73, 73, 1200, 2500, 305, 12000."""
    text = text.strip()
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        return float(text)
    if not text:
        return None
    total, section, digit, last_unit = 0, 0, None, 1
    for ch in text:
        if ch in ("零", "〇") and section:
            digit, last_unit = None, 1  # 三百零五: what follows counts in ones
        elif ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit, last_unit = 0, None, 10000
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit, last_unit = None, _UNITS[ch]
        else:
            return None
    if digit is not None:
        # A trailing digit after 百/千/万 counts in the unit below: 一千二 = 1,200, 一万二 = 12,000, 两百五 = 250.
        section += digit * (last_unit // 10 if last_unit >= 100 else 1)
    return float(total + section)


@dataclass
class Heard:
    """Facts for the household form, and the words each came from."""

    household: dict = field(default_factory=dict)
    sources: list[dict[str, str]] = field(default_factory=list)

    def note(self, fact: str, words: str) -> None:
        self.sources.append({"fact": fact, "text": words})


_RELATIONS = [("self", r"我(?:自己|本人)?"), ("parent", r"我(?:妈|爸|母亲|父亲|老娘|老爹|娘|爹)|俺(?:妈|爸|娘|爹)|老人"),
              ("spouse", r"(?:我|俺)?(?:老伴|老伴儿|老公|媳妇|爱人|丈夫|妻子|老头子?|老婆子?)"),
              ("child", r"(?:我|俺)?(?:儿子|闺女|女儿|孩子|姑娘|小子)"),
              ("grandchild", r"(?:我|俺)?(?:孙子|孙女|外孙子?|外孙女)"),
              ("grandparent", r"(?:我|俺)?(?:爷爷|奶奶|姥姥|姥爷|外公|外婆)")]
_AGE = re.compile(rf"({'|'.join(f'(?P<{k}>{p})' for k, p in _RELATIONS)})(?:今年|都|已经|才)?(?P<age>{NUMBER})(?:岁|周岁|了)")
_INCOME = re.compile(rf"(?:一个月|每月|月收入|一月|每个月)[^，。,.!?！？]{{0,8}}?(?P<n>{NUMBER})(?P<more>来|多|左右)?(?:块|元)")
_YEAR_INCOME = re.compile(rf"(?:一年|每年|年收入)[^，。,.!?！？]{{0,8}}?(?P<n>{NUMBER})(?:来|多|左右)?(?:块|元)")
_PEOPLE = re.compile(rf"(?:家里|家|俺家|我家)(?:一共|总共|就)?(?P<n>{NUMBER})口人")
_HUKOU = re.compile(r"(?P<kind>农村|城镇|城市|非农)户口?")
_DISABILITY = re.compile(r"(?P<grade>[一二三四1-4])级(?P<kind>肢体|智力|精神|视力|听力|言语|多重)?残疾?")
_KIND = {"肢体": "physical", "智力": "intellectual", "精神": "mental", "视力": "visual", "听力": "hearing",
         "言语": "speech", "多重": "multiple"}
_EVENTS = [("fire", r"着火|失火|火灾|房子烧"), ("traffic_accident", r"车祸|撞了|出车祸|交通事故"),
           ("sudden_illness", r"住院|急病|脑出血|心梗|突发|病倒"), ("large_medical_bill", r"医药费|看病花了|治病花了|手术费"),
           ("other_emergency", r"断粮|没地方住|被水淹|塌了")]
_NO_SUPPORT = re.compile(r"(?:儿女|儿子|闺女|女儿|孩子)(?:都)?(?:不管|不养|不给钱|指望不上|联系不上)|没(?:有)?(?:儿女|孩子|子女)")


def heard(text: str) -> Heard:
    """The household facts in the caller's words (the caller's sentences only)."""
    out = Heard()
    h = out.household
    members: list[dict] = []
    for m in _AGE.finditer(text):
        relation = next(k for k, _ in _RELATIONS if m.group(k))
        age = to_number(m.group("age"))
        if age is None or not 0 <= age <= 120:
            continue
        members.append({"relation": relation, "age": int(age)})
        out.note(f"members[{len(members) - 1}].age", m.group(0))
    if members:
        h["members"] = members
    income = _INCOME.search(text)
    if income and (n := to_number(income.group("n"))) is not None:
        people = _PEOPLE.search(text)
        count = to_number(people.group("n")) if people else None
        # "一个月就一千来块" is usually the household's income: per head when the caller said how many they are.
        h["monthly_income_per_capita"] = round(n / count) if count else n
        out.note("monthly_income_per_capita", income.group(0) + (f"；{people.group(0)}" if people else ""))
    elif (yearly := _YEAR_INCOME.search(text)) and (n := to_number(yearly.group("n"))) is not None:
        h["monthly_income_per_capita"] = round(n / 12)
        out.note("monthly_income_per_capita", yearly.group(0))
    if hukou := _HUKOU.search(text):
        h["hukou"] = "rural" if hukou.group("kind") == "农村" else "urban"
        out.note("hukou", hukou.group(0))
    if disability := _DISABILITY.search(text):
        grade = int(to_number(disability.group("grade")) or 0)
        kind = _KIND.get(disability.group("kind") or "", "physical" if "瘫" in text else "multiple")
        target = members[-1] if members else {"relation": "self"}
        if not members:
            h.setdefault("members", []).append(target)
        target["disability"] = {"kind": kind, "grade": grade}
        out.note("members[].disability", disability.group(0))
    events = [code for code, pattern in _EVENTS if re.search(pattern, text)]
    if events:
        h["events"] = events
        out.note("events", "、".join(re.search(p, text).group(0) for c, p in _EVENTS if c in events))
    if no_support := _NO_SUPPORT.search(text):
        h["legal_supporters"] = [{"able_to_support": False}]
        out.note("legal_supporters", no_support.group(0))
    return out

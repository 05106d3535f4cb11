"""What to ask the caller next: the facts the undecided programmes still miss, ranked by how many programmes
an answer would settle — worked out with the engine itself, by trying the answers a caller could give.

A fact's score is the number of undecided programmes an answer decides (likely or unlikely), averaged over
the answers tried; ties go to the fact more programmes are waiting on. Local parameters are not asked of
the caller (an administrator sets them): they stay in the programmes' reasons and missing facts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eligibility import engine
from eligibility.household import Household, HouseholdError, parse

#: The question the operator asks for each fact (members[].x facts are asked of every member).
LABELS = {
    "hukou": "户口是城市还是农村？",
    "monthly_income_per_capita": "家里每人每月大概多少收入？",
    "assets": "家里有没有第二套房、车或大额存款？",
    "current_benefits": "现在已经在领什么救助？",
    "legal_supporters": "有没有子女等能养老、抚养的亲属？他们有没有能力？",
    "legal_supporters[].able_to_support": "子女等亲属有没有能力赡养（抚养）？",
    "events": "最近有没有遭遇火灾、车祸、急病或大额医疗费？",
    "housing_difficulty": "住房有没有困难（危房、无房）？",
    "stranded_away_from_home": "是不是在外地遇困、无钱回家？",
    "members[].age": "家里每个人多大岁数？",
    "members[].disability": "有没有人有残疾人证？什么类别、几级？",
    "members[].serious_illness": "有没有人患重病（重特大疾病）？",
    "members[].can_work": "有没有人能干活挣钱？",
    "members[].student": "孩子是不是还在上学？",
    "members[].deceased": "孩子的父母是否去世？",
    "members[].missing_months": "孩子的父母是否失联？失联多久？",
    "members[].in_prison_months": "孩子的父母是否服刑或被羁押？多久了？",
}

Answer = Callable[[dict], dict]


def _set(key: str, value: Any) -> Answer:
    return lambda h: {**h, key: value}


def _each_member(key: str, value: Any) -> Answer:
    """Every member whose `key` is not yet known gets `value` (a household of no one gets the caller)."""

    def apply(h: dict) -> dict:
        members = [dict(m) for m in h.get("members") or [{"relation": "self"}]]
        for m in members:
            if m.get(key) is None:
                m[key] = value
        return {**h, "members": members}

    return apply


def _able(value: bool) -> Answer:
    return lambda h: {**h, "legal_supporters": [{"able_to_support": value if s.get("able_to_support") is None
                                                 else s["able_to_support"]} for s in h.get("legal_supporters") or []]}


#: Answers a caller could give to each fact, tried against the rules.
ANSWERS: dict[str, list[Answer]] = {
    "hukou": [_set("hukou", "urban"), _set("hukou", "rural")],
    "monthly_income_per_capita": [_set("monthly_income_per_capita", v) for v in (200, 500, 800, 1200, 3000)],
    "assets": [_set("assets", "within_limits"), _set("assets", "above_limits")],
    "current_benefits": [_set("current_benefits", v) for v in ([], ["dibao"], ["tekun"])],
    "legal_supporters": [_set("legal_supporters", v) for v in ([], [{"able_to_support": True}],
                                                               [{"able_to_support": False}])],
    "legal_supporters[].able_to_support": [_able(True), _able(False)],
    "events": [_set("events", v) for v in ([], ["fire"], ["sudden_illness"], ["large_medical_bill"])],
    "housing_difficulty": [_set("housing_difficulty", True), _set("housing_difficulty", False)],
    "stranded_away_from_home": [_set("stranded_away_from_home", True), _set("stranded_away_from_home", False)],
    "members[].age": [_each_member("age", v) for v in (10, 40, 70, 85)],
    "members[].disability": [_each_member("disability", {"kind": "physical", "grade": g}) for g in (1, 4)],
    **{f"members[].{key}": [_each_member(key, True), _each_member(key, False)]
       for key in ("serious_illness", "can_work", "student", "deceased")},
    **{f"members[].{key}": [_each_member(key, 0), _each_member(key, 12)]
       for key in ("missing_months", "in_prison_months")},
}


def ranked(household: Household, params: dict[str, engine.Parameter],
           verdicts: list[engine.Verdict]) -> list[dict]:
    """[{"fact", "label", "programs", "decides"}]: what to ask, the answer that settles most programmes first."""
    undecided = {v.program for v in verdicts if v.verdict == "need_info"}
    base = household.model_dump(mode="json")
    found = []
    for item in engine.questions(verdicts):
        fact = item["fact"]
        if fact not in ANSWERS:
            continue  # a local parameter: the administrator's to set, not the caller's to answer
        settled = []
        for answer in ANSWERS[fact]:
            try:
                tried = engine.evaluate(parse(answer(base)), params)
            except HouseholdError:
                continue  # an answer this household cannot take (a child's age for a parent)
            settled.append(sum(v.program in undecided and v.verdict != "need_info" for v in tried))
        decides = sum(settled) / len(settled) if settled else 0.0
        found.append({"fact": fact, "label": LABELS[fact], "programs": item["programs"],
                      "decides": round(decides, 1)})
    return sorted(found, key=lambda q: (-q["decides"], -len(q["programs"]), q["fact"]))

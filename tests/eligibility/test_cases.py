"""Household cases written from the policy texts (../shared/kb/policy-facts.md), each naming the rule it
exercises, with the verdicts it must give; and the properties every household keeps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligibility import engine
from eligibility.household import HouseholdError, parse

#: Local parameters as an administrator would set them (a yearly rural standard, as Heilongjiang publishes).
PARAMS = {
    "低保标准_城市": ("城市低保标准", 700, "元/人·月"),
    "低保标准_农村": ("农村低保标准", 6000, "元/人·年"),
    "低保边缘_收入倍数": ("低保边缘家庭收入上限（低保标准的倍数）", 1.5, "倍"),
    "高龄津贴_起始年龄": ("高龄津贴起始年龄", 80, "周岁"),
}


def params(**unset: bool) -> dict[str, engine.Parameter]:
    return {name: engine.Parameter(name, label, None if unset.get(name) else value, unit)
            for name, (label, value, unit) in PARAMS.items()}


def verdicts(household: dict, **unset: bool) -> dict[str, engine.Verdict]:
    return {v.program: v for v in engine.evaluate(parse(household), params(**unset))}


def family(income=None, hukou="urban", assets="within_limits", members=None, supporters=None, benefits=(),
           events=(), **extra) -> dict:
    return {"hukou": hukou, "monthly_income_per_capita": income, "assets": assets,
            "members": members if members is not None else [{"relation": "self", "age": 45, "can_work": True}],
            "legal_supporters": supporters, "current_benefits": list(benefits),
            "events": list(events) if events is not None else None, **extra}


SELF_45 = {"relation": "self", "age": 45, "can_work": True}
ELDER = {"relation": "self", "age": 62, "can_work": False}

CASES = [
    # 低保: the three tests (户籍 → which standard, 收入, 财产).
    ("urban income below the urban standard", family(600), {"dibao": "likely"}),
    ("urban income at the standard is not below it", family(700), {"dibao": "unlikely"}),
    ("rural yearly standard read per month (6000/12 = 500)", family(480, hukou="rural"), {"dibao": "likely"}),
    ("rural income above 500 a month", family(520, hukou="rural"), {"dibao": "unlikely", "dibao_edge": "likely"}),
    ("assets above the local limits", family(600, assets="above_limits"), {"dibao": "unlikely"}),
    ("hukou not yet known", family(600, hukou=None), {"dibao": "need_info"}),
    ("income not yet known", family(None), {"dibao": "need_info"}),
    ("assets not yet known", family(600, assets=None), {"dibao": "need_info"}),
    ("a 特困 recipient is not also given 低保", family(300, benefits=["tekun"]), {"dibao": "unlikely"}),
    # 低保边缘: below 1.5 × the standard, not already 低保/特困.
    ("edge: 1049 < 1.5 × 700", family(1049), {"dibao": "unlikely", "dibao_edge": "likely"}),
    ("edge: 1050 is not below 1.5 × 700", family(1050), {"dibao_edge": "unlikely"}),
    ("edge: a 低保 family is not also 低保边缘", family(650, benefits=["dibao"]), {"dibao_edge": "unlikely"}),
    # 单人保: severe disability or serious illness in a 低保边缘 family.
    ("单人保 for a 二级 physical disability", family(900, members=[SELF_45, {"relation": "child", "age": 20,
                                                                   "disability": {"kind": "physical", "grade": 2}}]),
     {"dibao_single": "likely"}),
    ("单人保 for a 三级 intellectual disability", family(900, members=[SELF_45, {"relation": "child", "age": 20,
                                                                         "disability": {"kind": "intellectual", "grade": 3}}]),
     {"dibao_single": "likely"}),
    ("no 单人保 for a 三级 physical disability", family(900, members=[
        {**SELF_45, "serious_illness": False},
        {"relation": "child", "age": 20, "serious_illness": False, "disability": {"kind": "physical", "grade": 3}}]),
     {"dibao_single": "unlikely"}),
    ("单人保: illness not asked yet", family(900, members=[SELF_45]), {"dibao_single": "need_info"}),
    ("单人保 for a serious illness", family(900, members=[SELF_45, {"relation": "spouse", "age": 44,
                                                             "serious_illness": True}]),
     {"dibao_single": "likely"}),
    ("below the standard the whole family applies", family(600, members=[SELF_45, {"relation": "spouse", "age": 44,
                                                                               "serious_illness": True}]),
     {"dibao_single": "unlikely", "dibao": "likely"}),
    ("单人保 above 1.5 ×", family(1200, members=[SELF_45, {"relation": "spouse", "age": 44, "serious_illness": True}]),
     {"dibao_single": "unlikely"}),
    # 特困: no work ability, no able supporter, no means.
    ("特困: 62, alone, no means", family(300, members=[ELDER], supporters=[]), {"tekun": "likely"}),
    ("特困: the 60-year line (59 is not yet)", family(300, members=[{"relation": "self", "age": 59}], supporters=[]),
     {"tekun": "unlikely"}),
    ("特困: exactly 60", family(300, members=[{"relation": "self", "age": 60}], supporters=[]), {"tekun": "likely"}),
    ("特困: a son able to support", family(300, members=[ELDER], supporters=[{"able_to_support": True}]),
     {"tekun": "unlikely"}),
    ("特困: supporter's ability not yet known", family(300, members=[ELDER], supporters=[{"able_to_support": None}]),
     {"tekun": "need_info"}),
    ("特困: supporters not asked yet", family(300, members=[ELDER], supporters=None), {"tekun": "need_info"}),
    ("特困: a minor without able supporters", family(0, members=[{"relation": "self", "age": 12}], supporters=[]),
     {"tekun": "likely"}),
    ("特困: 二级 physical disability at 40", family(0, members=[{"relation": "self", "age": 40,
                                                         "disability": {"kind": "physical", "grade": 2}}], supporters=[]),
     {"tekun": "likely"}),
    ("特困: 三级 physical disability is work ability", family(0, members=[{"relation": "self", "age": 40,
                                                               "disability": {"kind": "physical", "grade": 3}}],
                                                      supporters=[]), {"tekun": "unlikely"}),
    ("特困: 一级 visual", family(0, members=[{"relation": "self", "age": 40, "disability": {"kind": "visual", "grade": 1}}],
                              supporters=[]), {"tekun": "likely"}),
    ("特困: 二级 visual is not listed", family(0, members=[{"relation": "self", "age": 40,
                                                        "disability": {"kind": "visual", "grade": 2}}], supporters=[]),
     {"tekun": "unlikely"}),
    ("特困: income above the 低保 line is a means of living", family(800, members=[ELDER], supporters=[]),
     {"tekun": "unlikely"}),
    # 临时救助: 急难型 and 支出型.
    ("临时救助 after a fire", family(2000, events=["fire"]), {"temporary": "likely"}),
    ("临时救助: a large medical bill (支出型)", family(2000, events=["large_medical_bill"]), {"temporary": "likely"}),
    ("临时救助: nothing happened", family(2000, events=[]), {"temporary": "unlikely"}),
    ("临时救助: not asked yet", family(2000, events=None), {"temporary": "need_info"}),
    # 医疗救助 and 资助参保 follow the family's assistance status.
    ("医疗救助 for a 低保 recipient who is ill", family(600, benefits=["dibao"], members=[
        {"relation": "self", "age": 50, "serious_illness": True}]), {"medical": "likely", "insurance_subsidy": "likely"}),
    ("医疗救助 needs a 救助对象", family(3000, assets="above_limits", members=[
        {"relation": "self", "age": 50, "serious_illness": True}]), {"medical": "unlikely", "insurance_subsidy": "unlikely"}),
    ("资助参保 for a 特困 person", family(0, benefits=["tekun"], members=[ELDER]), {"insurance_subsidy": "likely"}),
    # 残疾人两项补贴.
    ("生活补贴: a 低保 family with a 四级 hearing disability", family(600, members=[
        SELF_45, {"relation": "child", "age": 15, "disability": {"kind": "hearing", "grade": 4}}]),
     {"disability_living": "likely", "disability_care": "unlikely"}),
    ("护理补贴: 一级, whatever the income", family(5000, assets="above_limits", members=[
        SELF_45, {"relation": "parent", "age": 70, "disability": {"kind": "physical", "grade": 1}}]),
     {"disability_care": "likely", "disability_living": "unlikely"}),
    # Children.
    ("孤儿: both parents (the caller's children) dead", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "deceased": True},
        {"relation": "child", "age": 38, "deceased": True}, {"relation": "grandchild", "age": 9}]),
     {"orphan": "likely", "de_facto_orphan": "unlikely"}),
    ("孤儿: one dead, one not found for two years", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "deceased": True},
        {"relation": "child", "age": 38, "missing_months": 24}, {"relation": "grandchild", "age": 9}]),
     {"orphan": "likely"}),
    ("孤儿: the other parent not spoken of yet", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "deceased": True},
        {"relation": "grandchild", "age": 9}]), {"orphan": "need_info"}),
    ("事实无人抚养: one parent in prison 8 months, the other seriously ill", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "in_prison_months": 8},
        {"relation": "child", "age": 38, "serious_illness": True}, {"relation": "grandchild", "age": 9}]),
     {"de_facto_orphan": "likely", "orphan": "unlikely"}),
    ("事实无人抚养: prison under 6 months does not count", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "in_prison_months": 4},
        {"relation": "child", "age": 38, "serious_illness": True}, {"relation": "grandchild", "age": 9}]),
     {"de_facto_orphan": "unlikely"}),
    ("事实无人抚养: one parent dead, the other in prison a year", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "deceased": True},
        {"relation": "child", "age": 38, "in_prison_months": 12}, {"relation": "grandchild", "age": 9}]),
     {"de_facto_orphan": "likely", "orphan": "unlikely"}),
    ("an 18-year-old is not a child any more", family(0, members=[
        {"relation": "self", "age": 66}, {"relation": "child", "age": 40, "deceased": True},
        {"relation": "child", "age": 38, "deceased": True}, {"relation": "grandchild", "age": 18}]),
     {"orphan": "unlikely"}),
    # The rest.
    ("高龄津贴 at 85 (local line 80)", family(3000, members=[{"relation": "parent", "age": 85}, SELF_45]),
     {"elderly_allowance": "likely"}),
    ("高龄津贴 at 79", family(3000, members=[{"relation": "parent", "age": 79}, SELF_45]), {"elderly_allowance": "unlikely"}),
    ("教育救助: a 低保 family's pupil", family(600, members=[SELF_45, {"relation": "child", "age": 12, "student": True}]),
     {"education": "likely"}),
    ("住房救助: a 低保 family in a 危房", family(600, housing_difficulty=True), {"housing": "likely"}),
    ("住房救助: housing not asked yet", family(600), {"housing": "need_info"}),
    ("就业救助: a 低保 family member able to work", family(600), {"employment": "likely"}),
    ("就业救助: nobody of working age", family(600, members=[{"relation": "self", "age": 66, "can_work": False}]),
     {"employment": "unlikely"}),
    ("流浪乞讨: stranded away from home", family(None, hukou=None, stranded_away_from_home=True), {"vagrant": "likely"}),
]


@pytest.mark.parametrize("household, expected", [(h, e) for _n, h, e in CASES], ids=[n for n, _h, _e in CASES])
def test_policy_case(household, expected):
    found = verdicts(household)
    got = {program: found[program].verdict for program in expected}
    assert got == expected, {p: found[p].reasons for p in expected}


def test_there_are_forty_cases_or_more():
    assert len(CASES) >= 40


def test_every_result_gives_reasons_the_entry_and_where_to_apply():
    for v in verdicts(family(600)).values():
        assert v.reasons and all(r and "，" not in r[-1:] for r in v.reasons)
        assert v.entry_ids and v.where and v.materials


def test_a_missing_parameter_is_named_never_a_likely():
    found = verdicts(family(600), 低保标准_城市=True)
    assert found["dibao"].verdict == "need_info" and "parameter:低保标准_城市" in found["dibao"].missing
    assert "未设置" in found["dibao"].reasons[0]
    edge = verdicts(family(900), 低保边缘_收入倍数=True)["dibao_edge"]
    assert edge.verdict == "need_info" and "parameter:低保边缘_收入倍数" in edge.missing
    elder = verdicts(family(3000, members=[{"relation": "parent", "age": 90}]), 高龄津贴_起始年龄=True)
    assert elder["elderly_allowance"].verdict == "need_info"


def test_the_reason_states_the_figures():
    reason = verdicts(family(900))["dibao"].reasons[0]
    assert reason == "家庭人均月收入约900元，不低于城市低保标准（约700元/人·月）"


def test_questions_ask_first_what_settles_most_programmes():
    asked = engine.questions(engine.evaluate(parse({"members": [{"relation": "self"}]}), params()))
    assert asked and len(asked[0]["programs"]) >= len(asked[-1]["programs"])
    facts = [q["fact"] for q in asked]
    assert "monthly_income_per_capita" in facts and "hukou" in facts


@pytest.mark.parametrize("household, field", [
    ({"monthly_income_per_capita": -5}, "household.monthly_income_per_capita"),
    ({"members": [{"relation": "spouse", "age": 10}]}, "household.members.0"),
    ({"members": [{"relation": "self", "age": 200}]}, "household.members.0.age"),
    ({"members": [{"relation": "other"}] * 50}, "household.members"),
    ({"members": [{"relation": "self"}, {"relation": "self"}]}, "household"),
    ({"hukou": "mars"}, "household.hukou"),
    ({"income": 300}, "household.income"),
    ({"members": [{"relation": "child", "disability": {"kind": "physical", "grade": 7}}]},
     "household.members.0.disability.grade"),
])
def test_bad_input_is_refused_naming_the_field(household, field):
    with pytest.raises(HouseholdError) as err:
        parse(household)
    assert err.value.field == field and err.value.message


RANK = {"unlikely": 0, "need_info": 1, "likely": 2}
incomes = st.floats(min_value=0, max_value=5000, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(income=incomes, more=st.floats(min_value=0, max_value=5000, allow_nan=False),
       hukou=st.sampled_from(["urban", "rural"]), ill=st.booleans())
def test_more_income_never_makes_dibao_or_the_edge_more_likely(income, more, hukou, ill):
    members = [{"relation": "self", "age": 50, "serious_illness": ill}]
    before = verdicts(family(income, hukou=hukou, members=members))
    after = verdicts(family(income + more, hukou=hukou, members=members))
    for program in ("dibao", "dibao_edge"):
        assert RANK[after[program].verdict] <= RANK[before[program].verdict]


@settings(max_examples=200, deadline=None)
@given(age=st.integers(min_value=0, max_value=100), income=incomes,
       others=st.lists(st.sampled_from([True, False, None]), max_size=3))
def test_an_able_supporter_never_makes_tekun_likely(age, income, others):
    supporters = [{"able_to_support": a} for a in others] + [{"able_to_support": True}]
    found = verdicts(family(income, members=[{"relation": "self", "age": age}], supporters=supporters))
    assert found["tekun"].verdict != "likely"

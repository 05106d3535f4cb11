"""Household facts read from what the caller said (the eligibility form opens pre-filled)."""

from __future__ import annotations

import pytest

from eligibility.household import parse
from eligibility.spoken import heard, to_number


@pytest.mark.parametrize("text, number", [("73", 73), ("七十三", 73), ("十", 10), ("一千二", 1200), ("两千五百", 2500),
                                          ("三百零五", 305), ("一万二", 12000), ("八百", 800), ("一千零五十", 1050),
                                          ("两百五", 250), ("", None), ("好多", None)])
def test_spoken_numbers(text, number):
    assert to_number(text) == number


def test_a_parent_age_and_the_monthly_income():
    found = heard("我妈七十三了，瘫痪在床好几年，一个月就一千来块钱，家里就两口人")
    assert found.household["members"] == [{"relation": "parent", "age": 73}]
    assert found.household["monthly_income_per_capita"] == 500  # 1,000 for two people
    assert {"fact": "members[0].age", "text": "我妈七十三了"} in found.sources
    parse(found.household)  # what it fills is a valid household


@pytest.mark.parametrize("text, key, value", [
    ("俺是农村户口，一年也就收入六千块", "hukou", "rural"),
    ("俺是农村户口，一年也就收入六千块", "monthly_income_per_capita", 500),
    ("家里着火了，房子烧没了", "events", ["fire"]),
    ("我老伴脑出血住院了，医药费花了好几万", "events", ["sudden_illness", "large_medical_bill"]),
    ("儿女都不管我", "legal_supporters", [{"able_to_support": False}]),
])
def test_facts_from_words(text, key, value):
    assert heard(text).household[key] == value


def test_a_disability_grade_goes_with_the_person_spoken_of():
    found = heard("我儿子今年二十五了，二级肢体残疾")
    assert found.household["members"] == [{"relation": "child", "age": 25,
                                           "disability": {"kind": "physical", "grade": 2}}]


def test_nothing_is_made_up_from_words_that_say_nothing():
    assert heard("你好，我想问一下低保的事").household == {}

"""The bundled registry of the 183 published assistance hotlines agrees with the seeded units."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml

from spotchecks.planner import is_round_the_clock, parse_service_hours

ROOT = Path(__file__).resolve().parents[2]
HOTLINES = yaml.safe_load((ROOT / "spotchecks" / "data" / "hotlines.yaml").read_text(encoding="utf-8"))
UNITS = yaml.safe_load((ROOT / "core" / "data" / "units.yaml").read_text(encoding="utf-8"))
CITY = UNITS[0]
COUNTIES = UNITS[1:]
FIELDS = ("unit", "area", "level", "name", "number", "service_hours", "contact", "leader", "leader_title")
TITLES = {"city": {"副市长", "副局长", "局长"},
          "county": {"副县长", "副区长", "副市长", "副局长", "局长"},
          "township": {"副镇长", "副乡长", "办事处副主任", "镇长", "乡长", "办事处主任"}}


def test_there_are_183_hotlines_one_city_ten_county_172_township():
    assert len(HOTLINES) == 183
    assert Counter(item["level"] for item in HOTLINES) == {"city": 1, "county": 10, "township": 172}


def test_every_hotline_has_every_field_filled():
    incomplete = [item for item in HOTLINES
                  if set(item) != set(FIELDS) or not all(isinstance(item.get(key), str) and item[key].strip()
                                                         for key in FIELDS)]
    assert incomplete == []


def test_numbers_are_unique_and_well_formed_with_the_0455_area_code():
    numbers = [item["number"] for item in HOTLINES]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"0455-[2-9]\d{6}", number) for number in numbers)


def test_numbers_of_one_county_share_its_exchange_digit():
    digits: dict[str, set[str]] = {}
    for item in HOTLINES:
        digits.setdefault(item["area"], set()).add(item["number"][5])
    assert all(len(found) == 1 for found in digits.values())


def test_names_are_unique():
    names = [item["name"] for item in HOTLINES]
    assert len(set(names)) == len(names)


def test_order_is_city_then_each_county_bureau_followed_by_its_townships_in_seed_order():
    expected = [(CITY["name"], "绥化市")]
    for county in COUNTIES:
        expected.append((county["name"], county["area"]))
        listed = {item["unit"] for item in HOTLINES if item["area"] == county["area"]}
        expected += [(name, county["area"]) for name in county["townships"] if name in listed]
    assert [(item["unit"], item["area"]) for item in HOTLINES] == expected


def test_every_unit_exists_under_the_right_county():
    townships = {county["area"]: set(county["townships"]) for county in COUNTIES}
    bureaus = {county["area"]: county["name"] for county in COUNTIES}
    for item in HOTLINES:
        if item["level"] == "city":
            assert (item["unit"], item["area"]) == (CITY["name"], CITY["area"])
        elif item["level"] == "county":
            assert bureaus[item["area"]] == item["unit"]
        else:
            assert item["unit"] in townships[item["area"]], item


def test_every_county_bureau_and_every_town_and_xiang_has_a_hotline():
    units = {(item["area"], item["unit"]) for item in HOTLINES}
    for county in COUNTIES:
        assert (county["area"], county["name"]) in units
        for name in county["townships"]:
            if not name.endswith("街道办事处"):
                assert (county["area"], name) in units


def test_streets_are_spread_over_the_counties_that_have_them():
    streets = Counter(item["area"] for item in HOTLINES if item["unit"].endswith("街道办事处"))
    with_streets = {county["area"] for county in COUNTIES
                    if any(name.endswith("街道办事处") for name in county["townships"])}
    assert set(streets) == with_streets
    assert streets.most_common(1)[0][0] == "北林区"  # the city's central district has the most


def test_service_hours_parse_and_townships_keep_office_hours():
    for item in HOTLINES:
        opens, closes = parse_service_hours(item["service_hours"])
        assert opens < closes
        if item["level"] == "township":
            assert not is_round_the_clock(opens, closes), item["name"]
    assert any(is_round_the_clock(*parse_service_hours(item["service_hours"]))
               for item in HOTLINES if item["level"] == "county")


def test_leader_titles_fit_the_level():
    for item in HOTLINES:
        assert item["leader_title"] in TITLES[item["level"]], item
        if item["unit"].endswith("街道办事处"):
            assert "办事处" in item["leader_title"]
        elif item["unit"].endswith("乡"):
            assert "乡" in item["leader_title"]
        elif item["unit"].endswith("镇"):
            assert "镇" in item["leader_title"]


def test_contacts_and_leaders_are_different_people():
    people = [item["contact"] for item in HOTLINES] + [item["leader"] for item in HOTLINES]
    assert len(set(people)) == len(people)

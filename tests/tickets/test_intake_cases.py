"""Auto-fill (智能填单) scored per field on transcripts written for it (tests/tickets/data/intake-cases.yaml):
each kind of field must be right for at least 90 % of the cases that state it."""

from collections import defaultdict
from pathlib import Path

import yaml

from tests.tickets.test_intake import GAZETTEER
from tickets.intake import extract

CASES = yaml.safe_load((Path(__file__).parent / "data" / "intake-cases.yaml").read_text(encoding="utf-8"))
FIELDS = {
    "name": lambda d: d.caller_name,
    "phone": lambda d: d.caller_number,
    "id": lambda d: d.id_number,
    "id_invalid": lambda d: bool(d.id_number_invalid),
    "township": lambda d: d.township_name,
    "area": lambda d: GAZETTEER.places[d.township_id - 1].area if d.township_id else "",
    "address": lambda d: d.address,
    "for_whom": lambda d: d.for_whom,
    "kind": lambda d: d.kind,
    "urgency": lambda d: d.urgency == "急难" and bool(d.urgency_cues),
}


def score() -> tuple[dict[str, list[int]], list[str]]:
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong = []
    for case in CASES:
        draft = extract(case["text"], GAZETTEER)
        for key, want in case["expect"].items():
            got = FIELDS[key](draft)
            tally[key][1] += 1
            if got == want:
                tally[key][0] += 1
            else:
                wrong.append(f"{key}: {got!r} != {want!r} in {case['text']}")
    return tally, wrong


def test_the_cases_cover_every_kind_of_field():
    assert len(CASES) >= 30
    tally, _ = score()
    assert set(tally) == set(FIELDS)
    assert all(n >= 4 for _, n in tally.values())


def test_each_kind_of_field_is_right_for_nine_cases_in_ten():
    tally, wrong = score()
    report = "  ".join(f"{k} {r}/{n}" for k, (r, n) in sorted(tally.items()))
    print(f"auto-fill per field: {report}")
    low = {k: r / n for k, (r, n) in tally.items() if r / n < 0.9}
    assert not low, f"{low}\n" + "\n".join(wrong)

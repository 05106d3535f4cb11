"""The mystery-call rubric: observations → score, pass/fail and fault types (pure)."""

from __future__ import annotations

import pytest

from spotchecks.rubric import Observation, Rubric, assess


def good(**overrides) -> Observation:
    values = {"connected": True, "ring_seconds": 5, "identified": "name", "correctness": "correct",
              "deflected": False, "attitude": 5}
    return Observation(**{**values, **overrides})


def test_a_model_answer_scores_100_and_passes():
    verdict = assess(good())
    assert (verdict.score, verdict.passed, verdict.faults) == (100, True, [])


def test_no_answer_is_zero_and_one_fault():
    verdict = assess(Observation(connected=False, ring_seconds=60))
    assert (verdict.score, verdict.passed, verdict.fault_labels) == (0, False, ["未接通"])


@pytest.mark.parametrize(("overrides", "labels"), [
    ({"ring_seconds": 21}, ["超时未接"]),
    ({"identified": "none"}, ["未报姓名工号"]),
    ({"correctness": "wrong"}, ["答复错误"]),
    ({"correctness": "none"}, ["答复错误"]),
    ({"deflected": True, "correctness": "none"}, ["推诿"]),
    ({"attitude": 2}, ["态度差"]),
    ({"deflected": True, "correctness": "wrong", "identified": "none"}, ["推诿", "答复错误", "未报姓名工号"]),
])
def test_each_observation_maps_to_its_fault_type(overrides, labels):
    verdict = assess(good(**overrides))
    assert verdict.fault_labels == labels and not verdict.passed


def test_a_partly_correct_polite_answer_passes_with_a_deduction():
    verdict = assess(good(correctness="partial", attitude=4))
    assert (verdict.score, verdict.passed, verdict.faults) == (77, True, [])


def test_weights_come_from_configuration():
    rubric = Rubric.from_config({"ring": 10, "partial": 50, "pass": 60})
    assert assess(good(ring_seconds=15), rubric).fault_labels == ["超时未接"]
    assert not assess(good(correctness="partial"), rubric).passed  # 50 < 60
    assert Rubric.from_config(None) == Rubric()


def test_score_never_goes_below_zero():
    assert assess(good(deflected=True, correctness="wrong", identified="none", attitude=1, ring_seconds=99)).score == 0

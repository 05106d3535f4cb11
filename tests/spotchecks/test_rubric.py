"""The mystery-call rubric: observations → score, pass/fail and fault types (pure)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.config import ConfigError
from spotchecks.rubric import FAULT_TYPES, FAULTS, MEASURES, Observation, Rubric, assess, findings, measures
from spotchecks.settings import SpotcheckSettings


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
    ({"ring_seconds": 16}, ["超时未接"]),
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
    assert (verdict.score, verdict.passed, verdict.faults) == (75, True, [])


def test_the_shipped_rubric_answers_within_15_seconds_and_its_criteria_make_100_points():
    rubric = Rubric()
    assert (rubric.ring, rubric.total, rubric.problems()) == (15, 100, [])
    assert assess(good(ring_seconds=15)).faults == [] and assess(good(ring_seconds=16)).faults == ["slow_answer"]


def test_weights_come_from_configuration():
    rubric = Rubric.from_config({"ring": 10, "partial": 40, "pass": 70})
    assert assess(good(ring_seconds=15), rubric).fault_labels == ["超时未接"]
    assert not assess(good(correctness="partial"), rubric).passed  # 60 < 70
    assert Rubric.from_config(None) == Rubric()


@pytest.mark.parametrize(("weights", "message"), [
    ({"deflect": 30}, "各项分值合计应为100分，现为110分（接听及时10分、主动报姓名或工号10分、答复准确40分、不推诿、当场受理30分"),
    ({"partial": 50, "wrong": 40}, "答复部分正确扣50分，不能多于答复错误扣的40分"),
    ({"ring": 0}, "响铃时限（秒）应为1到120之间的整数"),
    ({"pass_mark": 101}, "合格分数线应为1到100之间的整数"),
])
def test_a_rubric_that_does_not_add_up_is_refused_with_the_reason(weights, message):
    from dataclasses import replace

    assert any(message in problem for problem in replace(Rubric(), **weights).problems())
    key = {"pass_mark": "pass"}.get(next(iter(weights)), next(iter(weights)))
    with pytest.raises(ConfigError, match="HOTLINE_SPOTCHECK_RUBRIC"):
        Rubric.from_config({key: weights[next(iter(weights))]})


def test_score_never_goes_below_zero():
    assert assess(good(deflected=True, correctness="wrong", identified="none", attitude=1, ring_seconds=99)).score == 0


def test_each_fault_is_one_row_that_labels_findings_and_measures_read():
    assert list(FAULT_TYPES) == [fault.key for fault in FAULTS] == list(MEASURES)
    assert all(fault.label and fault.measure for fault in FAULTS)
    call = SimpleNamespace(ring_seconds=33, correctness="wrong", question="低保怎么申请", attitude=1)
    assert findings(call, list(FAULT_TYPES)) == [
        "拨打电话响铃33秒无人接听", "电话响铃33秒后才接听", "电话虽已接听，但推诿不予受理",
        "对“低保怎么申请”答复错误", "接听人员未报姓名或工号", "服务态度较差（评1分）"]
    call.correctness = "none"
    assert findings(call, ["wrong_answer"]) == ["未能答复来电人咨询的问题"]
    assert measures(["deflection", "anonymous"]) == ("落实首问负责，不得推诿，群众诉求当场受理或告知办理途径；"
                                                     "接听时主动报出姓名或工号。")


def test_an_unknown_rubric_key_is_refused_naming_it_and_the_known_keys():
    with pytest.raises(ConfigError) as refused:
        Rubric.from_config({"late": 5, "deflection": 50})
    message = str(refused.value)
    assert "HOTLINE_SPOTCHECK_RUBRIC" in message and "'deflection'" in message
    assert "known keys: ring, late, anonymous, partial, wrong, deflect, attitude, poor_attitude, pass" in message
    assert Rubric.known_keys() == ("ring", "late", "anonymous", "partial", "wrong", "deflect", "attitude",
                                   "poor_attitude", "pass")
    values = dict(zip(Rubric.known_keys(), (20, 10, 10, 10, 30, 30, 5, 1, 70), strict=True))
    assert Rubric.from_config(values) == Rubric(20, 10, 10, 10, 30, 30, 5, 1, 70)


def test_settings_are_read_from_the_config_with_the_shipped_defaults():
    settings = SpotcheckSettings.from_config({"SPOTCHECK_DAILY_QUOTA": 37, "SPOTCHECK_RUBRIC": {"pass": 70}})
    assert (settings.daily_quota, settings.rubric.pass_mark, settings.rectify_days) == (37, 70, 5)
    assert SpotcheckSettings.defaults() == SpotcheckSettings(
        daily_quota=30, outside_percent=10, rectify_days=5, summons_faults=2, summons_weeks=4,
        summons_overdue_days=5, notice_prefix="绥民救通", issuer="绥化市民政局", rubric=Rubric())
    with pytest.raises(ConfigError, match="'lat'"):
        SpotcheckSettings.from_config({"SPOTCHECK_RUBRIC": {"lat": 5}})


@pytest.mark.parametrize("how", ["environment", "overrides"])
def test_the_app_refuses_to_start_with_an_unknown_rubric_key(tmp_path, monkeypatch, how):
    from app import create_app

    overrides = {"ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "INSTANCE_PATH": str(tmp_path),
                 "SECRET_KEY": "test-secret"}
    if how == "environment":
        monkeypatch.setenv("HOTLINE_SPOTCHECK_RUBRIC", "late=5,slow_answer=10")
    else:
        overrides["SPOTCHECK_RUBRIC"] = {"late": 5, "slow_answer": 10}
    with pytest.raises(ConfigError, match=r"unknown key 'slow_answer'; known keys: ring, late"):
        create_app(overrides)

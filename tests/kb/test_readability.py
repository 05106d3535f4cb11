"""The readability checker over built entries (the bundled ones are checked by the lead's merge test)."""

import dataclasses

import yaml

from core import clock
from kb import bundle, readability, register, services
from tests.kb.builders import entry_data

TITLES = {register.title_key("社会救助暂行办法")}


def _rules(**overrides):
    data = entry_data(id="Q901", **overrides)
    problems = readability.check_entry(data, services.parameter_states(clock.today_local()), TITLES)
    return [p.rule for p in problems]


def test_a_short_script_with_a_standalone_parameter_and_a_register_basis_passes(db):
    assert _rules(answer="临时救助向户籍地乡镇（街道）申请。审批上限：{{临时救助_乡镇审批上限}}。") == []


def test_a_script_over_150_characters_fails_length(db):
    assert _rules(answer="请到乡镇申请。" * 22) == ["length"]


def test_length_counts_an_unset_parameter_by_its_label_not_its_gap(db):
    states = services.parameter_states(clock.today_local())
    assert readability.spoken_length("热线：{{社会救助热线_市}}。", states) == len("热线：市社会救助服务热线。")


def test_any_12345_in_the_script_or_contact_fails(db):
    assert _rules(answer="有问题可以拨打12345反映。") == ["12345"]
    assert _rules(contact="或拨打12345") == ["12345"]


def test_a_parameter_inside_a_sentence_is_a_fragment(db):
    assert _rules(answer="拨打市社会救助服务热线{{社会救助热线_市}}或到乡镇咨询。") == ["fragment"]
    assert _rules(answer="标准是{{低保标准_城市}}左右。") == ["fragment"]
    assert _rules(answer="具体金额以当地公布标准为准。") == ["fragment"]


def test_an_entry_resting_on_no_register_document_fails_basis(db):
    assert _rules(policy_basis=[{"name": "没登记的文件", "number": "", "article": ""}]) == ["basis"]
    assert _rules(policy_basis=[]) == ["basis"]


def test_counts_are_per_entry_and_rule(db):
    problems = [readability.Problem("Q1", "fragment", ""), readability.Problem("Q1", "fragment", ""),
                readability.Problem("Q2", "length", "")]
    assert readability.counts(problems) == {"length": 1, "12345": 0, "fragment": 1, "basis": 0}


def test_kb_check_prints_problems_and_exits_1(runner, db):
    from tests.kb.builders import make_entry

    entry = make_entry(answer="有事打12345。")
    result = runner.invoke(args=["kb", "check"])
    assert result.exit_code == 1 and f"{entry.id}\t12345\t" in result.output and "entries checked" in result.output


def test_every_bundled_entry_reads_aloud(db):
    """Issue 13's check over the bundled knowledge base, with every local parameter unset (the worst case
    for a fresh deployment): each published script within 150 characters, no 12345, no parameter inside a
    sentence, each entry resting on a register document."""
    files = sorted((bundle.DATA / "entries").glob("*.yaml"))
    rows = [d for d in (yaml.safe_load(f.read_text(encoding="utf-8")) for f in files) if d["status"] == "published"]
    assert len(rows) == 100
    unset = {name: dataclasses.replace(state, value="") for name, state in
             services.parameter_states(clock.today_local()).items()}
    problems = readability.check(rows, unset, set(register.by_title()))
    assert problems == [], "\n".join(f"{p.entry_id} {p.rule} {p.message}" for p in problems)

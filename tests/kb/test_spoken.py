"""Long spoken text → need statements (kb.search.spoken): pure, linear in length."""

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.search.spoken import MAX_NEED, asked, focus, needs, pieces


def _texts(segments):
    return [n.text for n in needs(segments)]


def test_a_question_keeps_the_story_just_before_it():
    said = ["喂 你好 我家房子着火了 能申请啥救助"]
    assert _texts(said) == ["我家房子着火了 能申请啥救助"]


def test_a_marker_starts_another_need():
    found = needs(["俺是低保户 冬天取暖有没有补贴 还有水电费能减免不"])
    assert [n.text for n in found] == ["俺是低保户 冬天取暖有没有补贴", "还有水电费能减免不"]
    assert [n.question for n in found] == ["冬天取暖有没有补贴", "还有水电费能减免不"]


def test_a_question_after_more_story_is_another_need():
    assert _texts(["我家房子着火了 能申请啥救助 现在没地方住了 能申请公租房不"]) == [
        "我家房子着火了 能申请啥救助", "现在没地方住了 能申请公租房不"]


def test_questions_in_a_row_are_one_need_and_an_alternative_goes_on():
    assert _texts(["这低保一个月给多少钱 是按人头给 还是 还是咋整的"]) == [
        "这低保一个月给多少钱 是按人头给 还是 还是咋整的"]
    assert _texts(["公办养老院都需要啥条件 怎么申请"]) == ["公办养老院都需要啥条件 怎么申请"]


def test_announcing_a_question_is_not_a_need_and_an_aside_after_one_is_not_either():
    assert _texts(["我想问一下 低保金啥时候到账 我都跑三趟了"]) == ["低保金啥时候到账"]
    assert _texts(["我想问两个事", "一个是低保金啥时候发", "另外高龄补贴咋还没下来"]) == [
        "一个是低保金啥时候发", "另外高龄补贴咋还没下来"]


def test_没啥_is_story_not_a_question():
    assert len(needs(["俺也没啥收入 就种那二亩地 低保得准备啥材料"])) == 1


def test_words_without_a_question_are_one_need_and_greetings_none():
    assert _texts(["我要实名举报 村主任的小舅子吃低保"]) == ["我要实名举报 村主任的小舅子吃低保"]
    assert _texts(["我们村主任的小舅子 家里盖了小楼 年年吃低保"]) == ["我们村主任的小舅子 家里盖了小楼 年年吃低保"]
    assert needs(["喂 你好"]) == [] and needs([]) == [] and needs([""]) == []


def test_segments_are_pauses_and_the_story_before_a_question_is_bounded():
    story = "我跟你说 " + " ".join(f"第{i}件事情是这样" for i in range(20))
    found = needs([story, "那我这种情况能申请临时救助吗"])
    assert len(found) == 1 and found[0].segment == 1
    assert found[0].text.endswith("那我这种情况能申请临时救助吗") and len(found[0].text) <= MAX_NEED
    assert "第0件" not in found[0].text


def test_a_long_run_without_pauses_is_cut_after_question_particles():
    run = "我想问问低保金每个月能给多少钱呢还有我妈的高龄补贴怎么还没有发下来呢我都等了好几个月了"
    assert all(len(p.text) <= 40 for p in pieces([run]))
    assert len(needs([run])) == 2


def test_focus_puts_the_needs_first_within_the_budget():
    said = ["我家孩子考上大学了 学费交不起 有啥资助 还有 我家冬天取暖也困难 能给点补助不"]
    assert focus(said) == "我家孩子考上大学了 学费交不起 有啥资助 还有 我家冬天取暖也困难 能给点补助不"
    short = focus(said, budget=20)
    assert short == "还有 我家冬天取暖也困难 能给点补助不"[-20:]


def test_cost_is_linear_in_length():
    unit = "我跟你说 家里困难 能不能申请低保 还有 "
    small, large = unit * 250, unit * 2500

    def best_of_three(text: str) -> float:
        """The fastest of three runs: a busy machine only ever adds time, never takes it away."""
        times = []
        for _ in range(3):
            started = time.perf_counter()
            assert needs([text])
            times.append(time.perf_counter() - started)
        return min(times)

    t_small, t_large = best_of_three(small), best_of_three(large)
    assert t_large < 2.0
    assert t_large < 30 * max(t_small, 1e-3)     # 10× the text: about 10× the time; quadratic would be 100×


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.text(alphabet="我想问一下低保咋申请吗还有另外 不没啥\u3000，。?", max_size=120), max_size=6))
def test_never_raises_and_every_need_is_said(segments):
    for need in needs(segments):
        assert need.text and need.question
        assert 0 <= need.segment < len(segments)


def test_a_statement_ending_in_also_not_is_story_not_a_question():
    assert [n.question for n in needs(["我老伴走了 退休金也没有 想住公办的养老院 需要啥条件"])] == ["需要啥条件"]
    assert [n.question for n in needs(["上个月的钱到账了没有"])] == ["上个月的钱到账了没有"]


def test_asked_reads_only_long_text_where_something_is_asked():
    assert asked("低保标准是多少") == []
    assert asked("我家里那口子前年没了 我一个人拉扯两个孩子 日子实在过不下去了") == []
    long = "我家里那口子前年没了 我一个人拉扯两个孩子 日子过不下去了 能不能申请低保"
    assert [n.question for n in asked(long)] == ["能不能申请低保"]

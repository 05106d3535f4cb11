"""Time as people say it on the spot-check pages: weeks by their days and number, dates with weekdays, the
coming week at weekends, and chart labels laid out so they never overlap."""

from __future__ import annotations

from datetime import date

import pytest

from core import clock
from spotchecks import charts, dashboard
from tests.spotchecks.builders import at_local, make_plan


@pytest.mark.parametrize(("today", "week", "coming"), [
    (date(2026, 12, 7), "2026-W50", False),   # Monday
    (date(2026, 12, 11), "2026-W50", False),  # Friday
    (date(2026, 12, 12), "2026-W51", True),   # Saturday: this week's calls are over
    (date(2026, 12, 13), "2026-W51", True),   # Sunday
    (date(2026, 12, 27), "2026-W53", True),
])
def test_the_overview_shows_the_coming_week_at_weekends(today, week, coming):
    assert dashboard.week_in_view(today) == (week, coming)


def test_on_a_sunday_the_overview_page_offers_next_weeks_plan(client, login, db):
    login("supervisor")
    with clock.freeze(at_local(2026, 11, 22, 10, 0)):  # Sunday before week 48
        make_plan()
        db.commit()
        page = client.get("/spotchecks/").get_data(as_text=True)
    assert "热线抽查 · 下周 11月23日—11月27日（第48周）" in page
    assert "今天是2026年11月22日（星期日），本周抽查已结束，以下为下周的安排" in page
    assert "2026-W4" not in page.replace('week=2026-W4', '')


def test_the_plan_page_names_weeks_and_days_as_people_do(client, login, db):
    login("supervisor")
    make_plan()
    db.commit()
    page = client.get("/spotchecks/plan?week=2026-W48").get_data(as_text=True)
    assert "周抽查计划 · 11月23日—11月27日（第48周）" in page
    assert "11月23日（星期一）" in page and "11月27日（星期五）" in page
    assert ">2026-W4" not in page and "← 上一周" in page


def test_the_report_names_weeks_by_their_days(client, login, db):
    login("supervisor")
    with clock.freeze(at_local(2026, 12, 9, 10, 0)):
        page = client.get("/spotchecks/reports?weeks=8").get_data(as_text=True)
    assert "12月7日—12月11日（第50周）" in page and "-W" not in page.split("<main")[1]
    assert ">12月7日—11日</text>" in page  # the chart's short label


def _boxes(labels: list[str]) -> list[tuple[float, float, float]]:
    """(row, left, right) of each label the chart draws, from the same layout the SVG uses."""
    step = (charts.WIDTH - charts.LEFT - charts.RIGHT) / len(labels)
    rows, every = charts.label_layout(labels)
    boxes = []
    for shown, i in enumerate(range(0, len(labels), every)):
        x, half = charts.LEFT + step * (i + 0.5), charts.text_width(labels[i]) / 2
        boxes.append((shown % rows, x - half, x + half))
    return boxes


@pytest.mark.parametrize("labels", [
    ["北林区", "望奎县", "兰西县", "青冈县", "庆安县", "明水县", "绥棱县", "安达市", "肇东市", "海伦市", "绥化市"],
    ["11月2日—6日", "11月9日—13日", "11月16日—20日", "11月23日—27日", "11月30日—12月4日", "12月7日—11日",
     "12月14日—18日", "12月21日—25日"],
    [f"{m}月{d}日—{d + 4}日" for m in (1, 2, 3, 4, 5, 6) for d in (1, 8, 15, 22)],
])
def test_chart_labels_on_one_row_never_overlap(labels):
    boxes = _boxes(labels)
    for row in {b[0] for b in boxes}:
        line = sorted(b[1:] for b in boxes if b[0] == row)
        assert all(right + charts.LABEL_GAP <= nxt_left + 0.01 for (_, right), (nxt_left, _) in zip(line, line[1:], strict=False))
    assert len(boxes) >= len(labels) // 2  # thinned only when two rows cannot hold them all

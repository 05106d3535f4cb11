"""The weekly spot-check plan: which hotline is mystery-called on which day, at what time, by whom.

Pure and reproducible: the same hotlines, supervisors, days and seed always give the same plan.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time

MAX_QUOTA = 37  # 183 hotlines in 5 working days
LUNCH = (11 * 60 + 30, 13 * 60)  # offices do not answer then; a call would only test the lunch rota
DAY_CALLS_24H = (8 * 60, 20 * 60)
EVENING_CALLS_24H = (20 * 60, 22 * 60)  # a few evening calls check that "24 hours" is true
EVENING_SHARE_24H = 0.15
CLOSING_MARGIN = 10  # a call in the last minutes of service would run past closing
OUTSIDE_MIN, OUTSIDE_MAX = 10, 40  # minutes before opening or after closing
SUPERVISOR_GAP = 5  # one supervisor cannot place two mystery calls closer than this
LAST_MINUTE = 23 * 60 + 59
REPEAT_PENALTY = 10_000  # above any sum of spreading costs: covering one more day always comes first

_WEEK = re.compile(r"(\d{4})-?[Ww](\d{1,2})")


class PlanError(Exception):
    """A plan cannot be made from these inputs; the message is fit for the user."""


@dataclass(frozen=True)
class PlanHotline:
    id: int
    area: str  #: county-level area (绥化市 for the city line); each day of the plan covers every area it can
    level: str
    opens: time  #: a line open round the clock has opens == closes, or 00:00 to 23:59
    closes: time
    priority: bool  #: open rectification or a fault last week: re-checked on the earliest days


@dataclass(frozen=True)
class PlanItem:
    hotline_id: int
    day: date
    at: time
    supervisor_id: int
    outside_hours: bool


def is_round_the_clock(opens: time, closes: time) -> bool:
    return opens == closes or (opens == time(0, 0) and closes >= time(23, 59))


def parse_service_hours(text: str) -> tuple[time, time]:
    """"08:30-17:00" → (08:30, 17:00); "00:00-24:00" → (00:00, 23:59), i.e. round the clock."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not match:
        raise ValueError(f"服务时间格式应为 08:30-17:00 这样的形式:{text!r}")
    oh, om, ch, cm = (int(g) for g in match.groups())
    if (ch, cm) == (24, 0):
        ch, cm = 23, 59
    if oh > 23 or ch > 23 or om > 59 or cm > 59:
        raise ValueError(f"服务时间不是有效的钟点:{text!r}")
    opens, closes = time(oh, om), time(ch, cm)
    if closes < opens:
        raise ValueError(f"服务时间的结束时间早于开始时间:{text!r}")
    return opens, closes


def parse_week(text: str) -> tuple[int, int]:
    """"2026-W48" → (2026, 48); also accepts "2026W48" and a lower-case w."""
    match = _WEEK.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"周次格式应为 2026-W48 这样的形式,收到:{text!r}")
    year, week = int(match.group(1)), int(match.group(2))
    _check_week(year, week)
    return year, week


def working_days_of_week(iso_year: int, iso_week: int, is_working_day: Callable[[date], bool]) -> list[date]:
    """The working days of an ISO week, Monday first; a make-up Saturday (调休) counts if the calendar says so."""
    _check_week(iso_year, iso_week)
    week = (date.fromisocalendar(iso_year, iso_week, weekday) for weekday in range(1, 8))
    return [day for day in week if is_working_day(day)]


def _check_week(year: int, week: int) -> None:
    if not 1 <= year <= 9999:
        raise ValueError(f"年份无效:{year}")
    weeks = date(year, 12, 28).isocalendar().week  # 28 December always lies in the year's last ISO week
    if not 1 <= week <= weeks:
        raise ValueError(f"{year}年没有第{week}周(该年共{weeks}周)")


def plan_week(hotlines: Iterable[PlanHotline], supervisor_ids: Iterable[int], days: Sequence[date], *,
              quota: int = 30, seed: int, outside_share: float = 0.1, max_quota: int = MAX_QUOTA) -> list[PlanItem]:
    """Every hotline once in the week, at most `quota` a day, sorted by day, time and hotline.

    `max_quota` lifts the usual ceiling for a short (holiday) week, where covering every hotline comes first.
    """
    lines = sorted(hotlines, key=lambda h: h.id)
    supervisors = sorted(set(supervisor_ids))
    week = sorted(set(days))
    _validate(lines, supervisors, week, quota, outside_share, max(MAX_QUOTA, max_quota))
    if not lines:
        return []
    rng = random.Random(seed)
    day_of = _assign_days(lines, len(week), rng)
    by_day: dict[int, list[PlanHotline]] = defaultdict(list)
    for line in lines:
        by_day[day_of[line.id]].append(line)
    for members in by_day.values():
        rng.shuffle(members)
    outside = _pick_outside(by_day, _round_half_up(outside_share * len(lines)), rng)
    supervisor_of = _assign_supervisors(by_day, len(week), supervisors, rng)
    items: list[PlanItem] = []
    for index, day in enumerate(week):
        taken: dict[int, list[int]] = defaultdict(list)
        for line in by_day[index]:
            supervisor = supervisor_of[line.id]
            minute = _call_minute(line, line.id in outside, taken[supervisor], rng)
            taken[supervisor].append(minute)
            items.append(PlanItem(hotline_id=line.id, day=day, at=time(minute // 60, minute % 60),
                                  supervisor_id=supervisor, outside_hours=line.id in outside))
    return sorted(items, key=lambda item: (item.day, item.at, item.hotline_id))


def _validate(lines: list[PlanHotline], supervisors: list[int], week: list[date], quota: int,
              outside_share: float, max_quota: int = MAX_QUOTA) -> None:
    if not week:
        raise PlanError("本周没有工作日,无法制定抽查计划")
    if not supervisors:
        raise PlanError("没有在岗的督查人员,无法分配抽查任务")
    if isinstance(quota, bool) or not isinstance(quota, int) or not 1 <= quota <= max_quota:
        raise PlanError(f"每日抽查限额应在1到{max_quota}之间,当前为{quota}")
    if not 0 <= outside_share <= 1:
        raise PlanError(f"工作时间外抽查比例应在0到1之间,当前为{outside_share}")
    if len(week) * quota < len(lines):
        raise PlanError(f"本周工作日只有{len(week)}天,每日限额{quota},无法覆盖{len(lines)}条热线")
    seen: set[int] = set()
    for line in lines:
        if line.id in seen:
            raise PlanError(f"热线重复出现在计划输入中:{line.id}")
        seen.add(line.id)
        if line.closes < line.opens:
            raise PlanError(f"热线{line.id}的服务时间无效:结束时间早于开始时间")


def _round_half_up(value: float) -> int:
    return int(value + 0.5)


def _interleave(lines: list[PlanHotline], rng: random.Random) -> list[PlanHotline]:
    """One hotline of each area in turn, so that any prefix mixes the areas."""
    groups: dict[str, list[PlanHotline]] = defaultdict(list)
    for line in lines:
        groups[line.area].append(line)
    queues = []
    for area in sorted(groups):
        members = groups[area]
        rng.shuffle(members)
        queues.append(deque(members))
    result: list[PlanHotline] = []
    while queues:
        for queue in queues:
            result.append(queue.popleft())
        queues = [queue for queue in queues if queue]
    return result


def _assign_days(lines: list[PlanHotline], day_count: int, rng: random.Random) -> dict[int, int]:
    """Day index per hotline: even day totals, priority lines first, each area spread over the days."""
    base, extra = divmod(len(lines), day_count)
    free = [base + (1 if index < extra else 0) for index in range(day_count)]
    areas = sorted({line.area for line in lines})
    area_index = {area: index for index, area in enumerate(areas)}
    placed = [[0] * day_count for _ in areas]
    day_of: dict[int, int] = {}
    day = 0
    for line in _interleave([line for line in lines if line.priority], rng):
        while free[day] == 0:
            day += 1
        day_of[line.id] = day
        free[day] -= 1
        placed[area_index[line.area]][day] += 1

    rest: list[list[PlanHotline]] = [[] for _ in areas]
    for line in lines:
        if not line.priority:
            rest[area_index[line.area]].append(line)
    for members in rest:
        rng.shuffle(members)
    days = list(range(day_count))
    rng.shuffle(days)  # where an area's odd hotlines land varies with the seed
    shares = _spread([len(members) for members in rest], placed, free, days)
    for members, share in zip(rest, shares, strict=True):
        queue = deque(members)
        for index in range(day_count):
            for _ in range(share[index]):
                day_of[queue.popleft().id] = index
    return day_of


def _step_cost(already: int) -> int:
    """Cost of one more hotline of an area on a day that already has `already` of it.

    Increasing steps make the cost convex, so a minimum-cost plan first puts every area on as many days as
    possible (a repeat costs more than any number of first visits) and then spreads each area evenly.
    """
    return 0 if already == 0 else REPEAT_PENALTY + already


def _spread(sizes: list[int], placed: list[list[int]], free: list[int], days: list[int]) -> list[list[int]]:
    """How many of each area's remaining hotlines go on each day: a minimum convex-cost flow.

    Successive shortest paths (Bellman–Ford, unit steps) from a source through areas and days to a sink
    whose day edges hold each day's free slots. A greedy fill can strand an area when the last days fill
    up; the flow cannot, and the graph is tiny (a dozen areas, at most seven days).
    """
    area_count = len(sizes)
    share = [[0] * len(free) for _ in range(area_count)]
    used = [0] * area_count
    load = [0] * len(free)
    infinity = float("inf")
    for _ in range(sum(sizes)):
        # Nodes: areas 0..A-1, days A..A+D-1; distances from the source, whose edges go to unfilled areas.
        dist_area = [0 if used[a] < sizes[a] else infinity for a in range(area_count)]
        dist_day = [infinity] * len(free)
        via_area: list[int] = [-1] * len(free)
        via_day: list[int] = [-1] * area_count
        changed = True
        while changed:
            changed = False
            for a in range(area_count):
                if dist_area[a] == infinity:
                    continue
                for d in days:
                    cost = dist_area[a] + _step_cost(placed[a][d] + share[a][d])
                    if cost < dist_day[d]:
                        dist_day[d], via_area[d] = cost, a
                        changed = True
            for d in days:
                if dist_day[d] == infinity:
                    continue
                for a in range(area_count):
                    if share[a][d] > 0:
                        cost = dist_day[d] - _step_cost(placed[a][d] + share[a][d] - 1)
                        if cost < dist_area[a]:
                            dist_area[a], via_day[a] = cost, d
                            changed = True
        end = min((d for d in days if load[d] < free[d]), key=lambda d: dist_day[d])
        load[end] += 1
        d = end
        while True:
            a = via_area[d]
            share[a][d] += 1
            if via_day[a] == -1:
                used[a] += 1
                break
            d = via_day[a]
            share[a][d] -= 1  # the path moves one of this area's hotlines off day d to make room
    return share


def _outside_windows(line: PlanHotline) -> list[int]:
    """Minutes 10–40 before opening or after closing, within the same day; none for 24-hour lines."""
    if is_round_the_clock(line.opens, line.closes):
        return []
    opens, closes = _minutes(line.opens), _minutes(line.closes)
    before = range(max(0, opens - OUTSIDE_MAX), opens - OUTSIDE_MIN + 1)
    after = range(closes + OUTSIDE_MIN, min(LAST_MINUTE, closes + OUTSIDE_MAX) + 1)
    return [*before, *after]


def _pick_outside(by_day: dict[int, list[PlanHotline]], wanted: int, rng: random.Random) -> set[int]:
    """Spread the off-hours calls over the days in turn rather than bunching them on one."""
    queues = []
    for day in sorted(by_day):
        eligible = [line.id for line in by_day[day] if _outside_windows(line)]
        rng.shuffle(eligible)
        queues.append(deque(eligible))
    chosen: set[int] = set()
    while len(chosen) < wanted and any(queues):
        for queue in queues:
            if queue and len(chosen) < wanted:
                chosen.add(queue.popleft())
    return chosen


def _assign_supervisors(by_day: dict[int, list[PlanHotline]], day_count: int, supervisors: list[int],
                        rng: random.Random) -> dict[int, int]:
    """Deal the week's items round the supervisors: totals and each day's share differ by at most one."""
    order = supervisors[:]
    rng.shuffle(order)
    assigned: dict[int, int] = {}
    position = 0
    for day in range(day_count):
        for line in by_day.get(day, []):
            assigned[line.id] = order[position % len(order)]
            position += 1
    return assigned


def _call_minute(line: PlanHotline, outside: bool, taken: list[int], rng: random.Random) -> int:
    if outside:
        window = _outside_windows(line)
    elif is_round_the_clock(line.opens, line.closes):
        band = EVENING_CALLS_24H if rng.random() < EVENING_SHARE_24H else DAY_CALLS_24H
        window = list(range(*band))
    else:
        window = _office_window(_minutes(line.opens), _minutes(line.closes))
    free = [minute for minute in window if all(abs(minute - other) >= SUPERVISOR_GAP for other in taken)]
    return rng.choice(free or window)


def call_window(opens: time, closes: time) -> list[int]:
    """The minutes of the day at which an in-hours call may be placed (day band for a 24-hour line)."""
    if is_round_the_clock(opens, closes):
        return list(range(*DAY_CALLS_24H))
    return _office_window(_minutes(opens), _minutes(closes))


def _office_window(opens: int, closes: int) -> list[int]:
    """In-hours minutes, avoiding lunch and the last minutes; narrower rules give way for odd hours."""
    for last in (closes - CLOSING_MARGIN, closes):
        window = [minute for minute in range(opens, last) if not LUNCH[0] <= minute < LUNCH[1]]
        if window:
            return window
    return list(range(opens, closes)) or [opens]


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute

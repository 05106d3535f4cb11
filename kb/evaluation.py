"""Scoring search quality on labelled queries (the format of ../shared/kb/dev-queries.tsv)."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

LEVELS = ("sure", "maybe", "out_of_scope")
LEVEL_LABELS = {"sure": "确定", "maybe": "可能", "out_of_scope": "不在知识库"}


@dataclass(frozen=True)
class Labelled:
    query: str
    expected: frozenset[str]  # empty = out of scope: the search should not be confident
    type: str


@dataclass
class Report:
    rows: int = 0
    in_scope: int = 0
    top1: int = 0
    top3: int = 0
    rr: float = 0.0
    by_type: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0.0]))
    oos: int = 0
    oos_not_confident: int = 0
    correct_top1_confident: int = 0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)
    #: in scope, per level: [queries, first answer right]
    levels: dict[str, list[int]] = field(default_factory=lambda: {lv: [0, 0] for lv in LEVELS})
    #: out of scope, queries per level
    oos_levels: Counter[str] = field(default_factory=Counter)
    oos_dispatch: int = 0
    #: entry pairs confused: (expected, found first) for wrong first answers, and the close pairs shown
    confused: Counter[tuple[str, str]] = field(default_factory=Counter)


def read_tsv(files: Iterable[Path]) -> list[Labelled]:
    rows = []
    for path in files:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if not reader.fieldnames or not {"query", "expected"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: expected a header with columns query, expected[, type]")
            for row in reader:
                expected = (row.get("expected") or "").strip()
                ids = frozenset() if expected in ("", "-") else frozenset(x.strip() for x in expected.split(","))
                rows.append(Labelled(row["query"] or "", ids, (row.get("type") or "").strip() or "-"))
    return rows


def evaluate(search: Callable[[str], object], rows: list[Labelled]) -> Report:
    """`search(query)` returns an object with `hits` (each with `id`), `confident`, `level`, and
    `pair` (the two close entries, or None) and `dispatch_to`."""
    report = Report(rows=len(rows))
    for row in rows:
        result = search(row.query)
        ids = [h.id for h in result.hits]
        level = getattr(result, "level", "sure" if result.confident else "maybe")
        pair = getattr(result, "pair", None)
        if pair:
            report.confused[tuple(sorted(pair["ids"]))] += 1
        if not row.expected:
            report.oos += 1
            report.oos_not_confident += not result.confident
            report.oos_levels[level] += 1
            report.oos_dispatch += bool(getattr(result, "dispatch_to", ""))
            continue
        report.in_scope += 1
        rank = next((i + 1 for i, hit in enumerate(ids) if hit in row.expected), None)
        t = report.by_type[row.type]
        t[0] += 1
        report.levels[level][0] += 1
        if rank == 1:
            report.top1 += 1
            t[1] += 1
            report.correct_top1_confident += bool(result.confident)
            report.levels[level][1] += 1
        else:
            report.misses.append((row.query, ",".join(sorted(row.expected)), ids[:3]))
            if ids:
                report.confused[tuple(sorted((min(row.expected), ids[0])))] += 1
        if rank is not None and rank <= 3:
            report.top3 += 1
            t[2] += 1
        if rank is not None:
            report.rr += 1 / rank
            t[3] += 1 / rank
    return report


def format_report(r: Report, confused_limit: int = 10) -> str:
    def pct(a: float, b: int) -> str:
        return f"{a / b:.3f}" if b else "n/a"

    lines = []
    if r.in_scope:
        lines.append(f"in scope: {r.in_scope} queries  top-1 {pct(r.top1, r.in_scope)}  top-3 {pct(r.top3, r.in_scope)}"
                     f"  MRR {pct(r.rr, r.in_scope)}")
        lines.append(f"{'type':<14}{'n':>5}{'top-1':>8}{'top-3':>8}{'MRR':>8}")
        for name in sorted(r.by_type):
            n, t1, t3, rr = r.by_type[name]
            lines.append(f"{name:<14}{int(n):>5}{pct(t1, n):>8}{pct(t3, n):>8}{pct(rr, n):>8}")
        lines.append(f"correct top-1 marked confident: {pct(r.correct_top1_confident, r.top1)}"
                     f" ({r.correct_top1_confident}/{r.top1})")
        wrong = r.in_scope - r.top1
        wrong_sure = r.levels["sure"][0] - r.levels["sure"][1]
        lines.append(f"wrong top-1 marked confident (确定): {pct(wrong_sure, wrong)} ({wrong_sure}/{wrong})")
        lines.append("by level (in scope): " + "; ".join(
            f"{LEVEL_LABELS[lv]} {n} queries, first answer right {pct(right, n)}"
            for lv, (n, right) in r.levels.items()))
    if r.oos:
        lines.append(f"out of scope: {r.oos} queries  not confident: {pct(r.oos_not_confident, r.oos)}"
                     f" ({r.oos_not_confident}/{r.oos})")
        lines.append("by level (out of scope): " + "; ".join(
            f"{LEVEL_LABELS[lv]} {pct(r.oos_levels[lv], r.oos)} ({r.oos_levels[lv]})" for lv in LEVELS)
            + f"; with a department to dispatch to {pct(r.oos_dispatch, r.oos)}")
    if r.confused:
        lines.append("most confused entry pairs (wrong first answers and close pairs shown; write what "
                     "separates them at /kb/pairs):")
        for (a, b), n in sorted(r.confused.items(), key=lambda x: (-x[1], x[0]))[:confused_limit]:
            lines.append(f"  {a} / {b}: {n}")
    return "\n".join(lines)

"""The assist on transcripts written for it (tests/tickets/data/assist-transcripts.tsv, none from the dev
files): streamed as the call platform sends them, its first suggestion after the last segment agrees with
the search's own first answer on the same words, and each stated need is named with its entry."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.assist import deliveries
from bench.search_quality import load_queries
from kb import index as search_index
from kb import lookup
from tickets import live

ROWS = load_queries([Path(__file__).parent / "data" / "assist-transcripts.tsv"])


@pytest.fixture
def engine(app, db):
    return search_index.holder_for(app).engine(app)


def _stream(engine, text, parts):
    """The assist after each delivery; the top card carried as the transcript post carries it."""
    call = SimpleNamespace(assist_entry_id=None)
    found = None
    for said, final in deliveries(text, parts):
        rows = [SimpleNamespace(speaker="caller", text=t, final=True) for t in said]
        rows[-1].final = final
        found = live.assist(call, rows, engine)
        if found.suggestions:
            call.assist_entry_id = found.suggestions[0].id
    return found


def test_the_assist_agrees_with_the_search_and_names_each_need(engine):
    agree = right = expected_needs = named_right = 0
    for i, (text, expected, _type) in enumerate(ROWS):
        found = _stream(engine, text, 2 + i % 3)
        own = lookup.search(engine, " ".join(text.split()), 3).hits
        top = found.suggestions[0].id
        agree += top == own[0].id
        right += top in expected
        named = [n["entry_id"] for n in found.needs]
        expected_needs += len(expected)
        named_right += sum(e in named for e in expected)
    n = len(ROWS)
    print(f"assist on own transcripts: top-1 {right}/{n}, = search top-1 {agree}/{n}, "
          f"needs named {named_right}/{expected_needs}")
    assert n >= 50
    assert agree / n >= 0.95 and right / n >= 0.85 and named_right / expected_needs >= 0.8

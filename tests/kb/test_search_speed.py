"""What makes a search cheap must not change what it finds: the vector sums of BM25F against the
plain dict ones, the re-ranker's features against a pass over every slot, a cached entry against one
read afresh."""

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from kb.search import bm25
from kb.search.engine import SearchEngine, _Candidate, _Slots

DOCS = 60


def _raw(postings: dict[str, dict[int, float]]) -> dict[str, tuple[bytes, bytes]]:
    return {t: (array("I", sorted(p)).tobytes(), array("f", [p[d] for d in sorted(p)]).tobytes())
            for t, p in postings.items()}


# few distinct impacts, so that many documents tie at the n-th score
_postings = st.dictionaries(st.sampled_from("abcdefgh"),
                            st.dictionaries(st.integers(0, DOCS - 1), st.sampled_from([0.25, 0.5, 1.0, 1.5]),
                                            min_size=1, max_size=DOCS),
                            max_size=8)
_weights = st.dictionaries(st.sampled_from("abcdefghxy"), st.sampled_from([0.1, 0.45, 0.5, 1.0, 0.3]), max_size=10)


@settings(max_examples=300, deadline=None)
@given(postings=_postings, weights=_weights, n=st.integers(0, 40))
def test_vector_sums_pick_what_the_dict_sums_pick(postings, weights, n):
    raw = _raw(postings)
    vector = bm25.Impacts(raw, vector_from=0)
    plain = bm25.Impacts(raw, vector_from=10**9)
    got = vector.top(weights, n)
    assert got == plain.top(weights, n)      # the same documents, the same floats, ties chosen alike
    assert all(type(d) is int and type(s) is float for d, s in got)


def test_ties_at_the_last_place_keep_the_documents_met_first():
    # b is weighed first: of the three documents tied at 1.0, 7 and 9 are met (through b) before 2
    raw = _raw({"a": {2: 1.0, 5: 2.0}, "b": {7: 1.0, 9: 1.0}})
    for impacts in (bm25.Impacts(raw, vector_from=0), bm25.Impacts(raw, vector_from=10**9)):
        assert impacts.top({"b": 1.0, "a": 1.0}, 3) == [(5, 2.0), (7, 1.0), (9, 1.0)]
        assert impacts.top({"a": 1.0, "b": 1.0}, 3) == [(5, 2.0), (2, 1.0), (7, 1.0)]


def test_index_size_is_read_from_the_postings_when_not_given():
    assert bm25.Impacts(_raw({"a": {3: 1.0}, "b": {41: 0.5, 7: 1.0}})).size() == 42
    assert bm25.Impacts({}).size() == 0


def test_slots_index_every_token_with_its_slots():
    slots = _Slots.of([(2.0, [("低保", 1.0), ("低包", 0.7)], 0.5), (1.0, [("申请", 1.0), ("低保", 0.3)], 0.0)])
    assert slots.total == 3.0 and slots.tokens == {"低保", "低包", "申请"}
    assert slots.where["低保"] == ((0, 1.0), (1, 0.3)) and slots.where["申请"] == ((1, 1.0),)
    assert _Slots.of([]).total == 1.0


def _entry(*phrasings: str) -> _Candidate:
    masses = (1.0,) * len(phrasings)
    return _Candidate(docnum=0, id="Q", E=frozenset(), A=frozenset(), Pc=phrasings, Pm=masses, Ph=masses,
                      Pi={}, T="", department="")


def test_closest_phrasings_found_together_are_those_found_entry_by_entry():
    entries = [_entry("低保申请条件", "申请低保要啥条件", "低保申请条件"), _entry("临时救助"), _entry(""),
               _entry("特困人员供养标准", "五保供养")]
    contents = ["低保申请条件", "申请低保条件", "五保"]
    expected = [[process.extractOne(t, e.Pc, scorer=fuzz.ratio) for t in contents] for e in entries]
    assert SearchEngine._closest(contents, entries) == expected
    assert SearchEngine._closest(contents, entries)[0][0] == ("低保申请条件", 100.0, 0)   # the first of equals
    assert SearchEngine._closest([], entries) == [[], [], [], []]

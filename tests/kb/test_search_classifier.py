"""The classifier learned from the entries' phrasings (kb.search.classifier) and its part in the ranking."""

from pathlib import Path

import numpy
import pytest

from kb.search import SearchEngine, levels, read_synonyms
from kb.search.calibrate import load_entries
from kb.search.classifier import Classifier, features
from kb.search.engine import CLASSIFIER_FILE, W_CLASSIFIER

from .builders import entry_data


def examples() -> list[tuple[dict, str]]:
    # 补贴 in both entries' phrasings; 到账 only in B's, 几号 only in A's
    a = ["补贴 几号 发", "补贴 每月 几号", "补贴 发放 时间"]
    b = ["补贴 没 到账", "补贴 一直 不 到账", "补贴 到账 晚"]
    return ([(features(dict.fromkeys(t.split(), 1.0), t), "A") for t in a]
            + [(features(dict.fromkeys(t.split(), 1.0), t), "B") for t in b])


def test_features_are_the_tokens_and_each_clauses_character_bigrams():
    got = features({"低保": 1.0, "到账": 0.5}, "低保 没到账")
    assert got == {"w:低保": 1.0, "w:到账": 0.5, "b:低保": 1.0, "b:没到": 1.0, "b:到账": 1.0}  # no 保没 across clauses


def test_the_word_only_one_entrys_phrasings_use_decides():
    model = Classifier.train(examples())
    p = model.probabilities(features({"补贴": 1.0, "到账": 1.0}, "补贴 到账"))
    assert p["B"] > 0.8 and p["A"] < 0.2
    assert sum(p.values()) == pytest.approx(1.0)
    p = model.probabilities(features({"几号": 1.0}, "几号"))
    assert p["A"] > p["B"]


def test_training_is_deterministic_and_a_query_of_unknown_words_gets_no_preference():
    one, two = Classifier.train(examples()), Classifier.train(list(reversed(examples())))
    assert numpy.array_equal(one.weights, two.weights)
    p = one.probabilities(features({"护照": 1.0}, "护照"))
    assert p == {"A": 0.5, "B": 0.5}


def test_one_class_is_nothing_to_learn():
    assert Classifier.train([(features({"低保": 1.0}, "低保"), "A")]) is None
    assert Classifier.train([]) is None


def tiny_kb() -> list[dict]:
    return [
        entry_data(id="Q901", category="临时救助", question="补贴每月什么时候发?",
                   similar=["补贴每月几号发", "补贴按月发给谁"], keywords=["补贴发放"]),
        entry_data(id="Q902", category="临时救助", question="补贴没有按时发怎么办?",
                   similar=["补贴过了日子还没发", "补贴迟迟不来咋整"], keywords=["补贴"]),
        entry_data(id="Q903", category="户籍", question="护照丢了怎么补办?", similar=["护照补办"],
                   keywords=["护照"], department="市公安局"),
    ]


def test_the_index_keeps_the_classifier_of_its_own_entries(tmp_path):
    SearchEngine.build(tiny_kb(), [], tmp_path / "a").close()
    assert (tmp_path / "a" / CLASSIFIER_FILE).exists()
    engine = SearchEngine.open(tmp_path / "a")
    try:
        assert engine._classifier is not None
        assert engine._classifier.labels == ["Q901", "Q902"]   # another department's entry is no class
        top = engine._rank(engine._analyze("补贴几号发"))[0]
        assert top[2].id == "Q901" and top[3]["clf"] > 0.5
    finally:
        engine.close()


def test_an_index_without_a_classifier_still_searches(tmp_path):
    SearchEngine.build(tiny_kb(), [], tmp_path / "a").close()
    (tmp_path / "a" / CLASSIFIER_FILE).unlink()
    engine = SearchEngine.open(tmp_path / "a")
    try:
        assert engine._classifier is None
        assert engine.search("补贴几号发").hits[0].id == "Q901"
    finally:
        engine.close()


def test_an_update_learns_the_new_similar_question(tmp_path):
    entries = tiny_kb()
    SearchEngine.build(entries, [], tmp_path / "a").close()
    entries[1] = {**entries[1], "similar": [*entries[1]["similar"], "卡上一直没见着补贴的钱"]}
    engine = SearchEngine.update(tmp_path / "a", entries, [], tmp_path / "b")
    old = SearchEngine.open(tmp_path / "a")
    try:
        assert engine is not None
        q = "卡上没见着钱"
        before = old._probabilities(old._analyze(q))
        after = engine._probabilities(engine._analyze(q))
        assert after["Q902"] > 0.8 > before["Q902"]
    finally:
        engine.close()
        old.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    path: Path = tmp_path_factory.mktemp("search") / "index"
    engine = SearchEngine.build(load_entries(), read_synonyms(), path)
    yield engine
    engine.close()


@pytest.mark.parametrize("query, entry, without", [
    # 下半年又 … 还能再给: how often (Q042), not what 临时救助 is (Q037)
    ("上半年领了一回临时救助，下半年又出事了，还能再给不", "Q042", "Q037"),
    # 给安排个活: the help to find work (Q059), not the rule on refusing it (Q060)
    ("低保有劳动能力的，政府能给安排个活干不", "Q059", "Q060"),
])
def test_the_classifier_tells_neighbours_apart_where_shared_words_do_not(engine, query, entry, without):
    ranked = engine._rank(engine._analyze(query))
    assert ranked[0][2].id == entry
    f = ranked[0][3]
    assert ranked[0][0] == pytest.approx(SearchEngine._score({**f, "clf": 0.0}) + W_CLASSIFIER * f["clf"])
    model, engine._classifier = engine._classifier, None
    try:
        assert engine.search(query).hits[0].id == without
    finally:
        engine._classifier = model


def test_a_knowledge_base_beyond_max_classes_gets_no_classifier(tmp_path, monkeypatch):
    monkeypatch.setattr("kb.search.engine.MAX_CLASSES", 1)
    engine = SearchEngine.build(tiny_kb(), [], tmp_path / "a")
    try:
        assert engine._classifier is None and not (tmp_path / "a" / CLASSIFIER_FILE).exists()
        assert engine.search("补贴几号发").hits[0].id == "Q901"
        # its confidence is the one fitted without a classifier, at that model's levels
        assert "clf" not in engine._rank(engine._analyze("补贴几号发"))[0][3]
        assert engine._levels() == (levels.SURE_AT_PLAIN, levels.CLOSE_AT_PLAIN)
    finally:
        engine.close()


def test_the_bundled_kb_without_a_classifier_is_still_sure_of_a_plain_question(tmp_path, monkeypatch):
    monkeypatch.setattr("kb.search.engine.MAX_CLASSES", 1)
    engine = SearchEngine.build(load_entries(), read_synonyms(), tmp_path / "a")
    try:
        result = engine.search("低保金每个月几号发到卡上")
        assert result.hits[0].id == "Q010" and result.level == levels.SURE
    finally:
        engine.close()


def test_an_update_goes_on_from_the_previous_fit(tmp_path):
    entries = tiny_kb()
    built = SearchEngine.build(entries, [], tmp_path / "a")
    updated = SearchEngine.update(tmp_path / "a", entries, [], tmp_path / "b")
    try:
        assert updated is not None and built._classifier.steps is not None
        reopened = SearchEngine.open(tmp_path / "a")
        assert reopened._classifier.steps is None   # a searching worker needs none
        reopened.close()
        # nothing changed: two more passes from the fit move the probabilities little
        q = "补贴几号发"
        assert updated._probabilities(updated._analyze(q))["Q901"] == pytest.approx(
            built._probabilities(built._analyze(q))["Q901"], abs=0.05)
    finally:
        built.close()
        updated.close()

"""Knowledge-base search: normalization, domain lexicon, pinyin tolerance, BM25F + re-ranking.

    engine = SearchEngine.build(entries, synonyms, index_dir)   # writes a fresh index
    engine = SearchEngine.open(index_dir, synonyms)              # read-only, for web workers
    engine.set_scope(levels.Scope.of(matters, pair_notes))        # what the KB does not cover; near pairs
    result = engine.search("低包咋申请", limit=5)                # SearchResult(hits=[Hit…], level=…, reason=…)
    engine.explain("低包咋申请", "Q002")                          # why an entry scored what it did
"""

from kb.search import levels
from kb.search.engine import Hit, SearchEngine, SearchResult
from kb.search.lexicon import Synonyms, read_dictionary, read_synonyms, tokens
from kb.search.normalize import normalize

__all__ = ["Hit", "SearchEngine", "SearchResult", "Synonyms", "levels", "normalize", "read_dictionary",
           "read_synonyms", "tokens"]

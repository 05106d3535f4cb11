"""Eligibility hints during the call (初步研判): which assistance a household may get, with reasons, the
facts still missing, the entry to read out and where to apply. Never a decision (engine.NOTICE)."""

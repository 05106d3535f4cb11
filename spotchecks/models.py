"""Hotlines, weekly plans, mystery-call results, notices, rectifications and summonses."""

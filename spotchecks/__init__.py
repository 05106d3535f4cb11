"""Spot checks of the 183 assistance hotlines: registry, weekly plans, mystery calls, notices, rectification, summons."""

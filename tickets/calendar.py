"""Compatibility re-export: the working-day calendar lives in core.calendar (removed after issue 10 merges)."""

from core.calendar import HOLIDAY_NAMES, WorkCalendar, load_calendar, package_covers  # noqa: F401

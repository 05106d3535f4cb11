"""The spot-check settings a service needs, as one value the entry points build from the app's config.

Services never read Flask's config: a handler, a command or a job builds `SpotcheckSettings` (with its
`Rubric`) and passes it, as it passes the working-day calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from core.config import SETTINGS
from spotchecks.rubric import Rubric

TEXT = ("notice_prefix", "issuer")


@dataclass(frozen=True)
class SpotcheckSettings:
    #: Calls planned per working day (SPOTCHECK_DAILY_QUOTA).
    daily_quota: int
    #: Share of calls placed just outside service hours, in % (SPOTCHECK_OUTSIDE_PERCENT).
    outside_percent: int
    #: Working days a unit has to rectify a fault (SPOTCHECK_RECTIFY_DAYS).
    rectify_days: int
    #: Faulty checks of one unit ... (SPOTCHECK_SUMMONS_FAULTS)
    summons_faults: int
    #: ... within this many weeks that propose a summons (SPOTCHECK_SUMMONS_WEEKS).
    summons_weeks: int
    #: Working days a rectification may be overdue before a summons is proposed (SPOTCHECK_SUMMONS_OVERDUE_DAYS).
    summons_overdue_days: int
    #: Notice number prefix: 绥民救通〔2026〕12号 (SPOTCHECK_NOTICE_PREFIX).
    notice_prefix: str
    #: Issuing unit printed on notices (SPOTCHECK_ISSUER).
    issuer: str
    #: How a mystery call is scored (SPOTCHECK_RUBRIC).
    rubric: Rubric = field(default_factory=Rubric)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SpotcheckSettings:
        """From the app's config (SPOTCHECK_* keys); a key it lacks takes its default from core.config.

        An unknown rubric key raises ConfigError, so building this at start-up refuses a bad setting.
        """
        defaults = {s.key: s.default for s in SETTINGS}

        def value(name: str) -> Any:
            key = f"SPOTCHECK_{name.upper()}"
            return config[key] if key in config else defaults[key]

        values = {f.name: value(f.name) for f in fields(cls) if f.name != "rubric"}
        values |= {name: int(values[name]) for name in values if name not in TEXT}
        return cls(**values, rubric=Rubric.from_config(value("rubric")))

    @classmethod
    def defaults(cls) -> SpotcheckSettings:
        """The settings as shipped (pure scripts, tests)."""
        return cls.from_config({})

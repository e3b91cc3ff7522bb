"""Configuration: the settings class, the partnership file and the statutory rule sets.

Everything here is read through functions (never at import time) and validated at load,
with errors that name the file, the key and the problem.
"""

from config.partnership import Agency, MeetingRule, Partnership, load_partnership
from config.rulesets import Clock, RuleSet, load_ruleset
from config.settings import Settings, get_settings

__all__ = [
    "Agency",
    "Clock",
    "MeetingRule",
    "Partnership",
    "RuleSet",
    "Settings",
    "get_settings",
    "load_partnership",
    "load_ruleset",
]

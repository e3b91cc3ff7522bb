"""Statutory rule sets (`wt2015`, `wt2023`): the clocks, the notices and the names a regime uses.

The limits are data under `config/rulesets/`, validated at load; a partnership picks one and may
override any clock in its own file.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.loading import ConfigurationError, load_yaml_model

RULESET_DIR = Path(__file__).resolve().parent / "rulesets"


class ClockUnit(StrEnum):
    hours = "hours"  # from the moment of the starting event, to the minute (Ofsted: "immediately")
    calendar_days = "calendar_days"
    working_days = "working_days"
    calendar_months = "calendar_months"


class ClockStart(StrEnum):
    notified = "notified"  # the partnership was notified of (became aware of) the incident
    issued = "issued"  # a request for information was issued
    decided = "decided"  # the chair's decision was recorded
    initiated = "initiated"  # a review was initiated


class Clock(BaseModel):
    """A statutory limit: `amount` `unit`s from an event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: int = Field(ge=0, le=400)
    unit: ClockUnit
    starts: ClockStart
    label: str = Field(min_length=1)
    by_return_under_days: int | None = Field(
        None, ge=0, description="a request issued fewer than this many days before the meeting is due by return"
    )

    @model_validator(mode="after")
    def _hours_need_a_moment(self) -> "Clock":
        if self.unit is ClockUnit.hours and self.starts is ClockStart.notified:
            raise ValueError("unit: hours cannot be counted from 'notified' (a date, with no time of day); "
                             "count it in days")
        return self


class Notice(BaseModel):
    """A statutory notice: whom it goes to, when it is caused and which clock it must meet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: Literal["ofsted", "national_panel"]
    sent_at: Literal["referral", "decision"]
    clock: str
    title: str


class NonPublicationNotice(BaseModel):
    """Who else is told, with the reasons, when the partnership decides not to publish the final report of a
    review of one of `review_types` (wt2015: the National Panel, of an SCR report)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: Literal["national_panel"]
    review_types: list[str] = Field(min_length=1)
    title: str = Field(min_length=1)
    source: str | None = None  # the guidance that asks for it


class RuleSet(BaseModel):
    """One regime: its clocks, notices and the names it gives the steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    terms: dict[str, str]
    clocks: dict[str, Clock]
    notices: dict[str, Notice]
    non_publication_notice: NonPublicationNotice | None = None

    @model_validator(mode="after")
    def _every_notice_has_a_clock(self) -> "RuleSet":
        for key in ("information_return", "decision"):
            if key not in self.clocks:
                raise ValueError(f"clocks.{key}: required (every rule set has this clock)")
        for name, notice in self.notices.items():
            if notice.clock not in self.clocks:
                raise ValueError(f"notices.{name}.clock: '{notice.clock}' is not a clock of this rule set")
        for key in ("consideration", "meeting", "scr", "group"):
            if key not in self.terms:
                raise ValueError(f"terms.{key}: required (every rule set names this step)")
        return self

    @property
    def notifies_panel_at_referral(self) -> bool:
        """Whether a notice goes to the Panel at referral (wt2023's serious incident notification, which
        is then the case's SIN)."""
        return any(notice.sent_at == "referral" for notice in self.notices.values())

    def term(self, key: str) -> str:
        """The regime's name for a step or review type."""
        return self.terms.get(key, key.replace("_", " "))


def available_rulesets() -> list[str]:
    """The names of the rule sets that ship."""
    return sorted(p.stem for p in RULESET_DIR.glob("*.yaml"))


def load_ruleset(name: str, overrides: dict[str, dict] | None = None) -> RuleSet:
    """Load the named rule set, with a partnership's clock overrides applied. (Parsed once per content
    and overrides: a day's sweep asks for a case's rules many times, and parsing the YAML is slow.)"""
    path = RULESET_DIR / f"{name}.yaml"
    if not path.exists():
        raise ConfigurationError(f"unknown rule set '{name}': choose one of {', '.join(available_rulesets())}")
    return _parsed_ruleset(path, path.read_bytes(), json.dumps(overrides or {}, sort_keys=True, default=str))


@lru_cache(maxsize=32)
def _parsed_ruleset(path: Path, _content: bytes, overrides_json: str) -> RuleSet:
    name = path.stem
    ruleset = load_yaml_model(path, RuleSet)
    overrides: dict[str, dict] = json.loads(overrides_json)
    if not overrides:
        return ruleset
    clocks = {k: v.model_dump() for k, v in ruleset.clocks.items()}
    for key, changes in overrides.items():
        if key not in clocks:
            raise ConfigurationError(f"clock_overrides.{key}: rule set '{name}' has no such clock")
        clocks[key].update(changes)
    try:
        return RuleSet.model_validate({**ruleset.model_dump(), "clocks": clocks})
    except ValueError as exc:
        raise ConfigurationError(f"clock_overrides: {exc}") from None

"""The plans of reviews, as data: one YAML file per methodology under config/review_plans/.

Each plan lists its milestones in order, each with a target offset (calendar days from the day the
review is commissioned), and names the review types it is the plan of, under the rule sets it names (none
named: under every rule set). A partnership adds its own (SILP, SCIE, a concise review) by adding a file;
every file is validated at load. A review type has at most one plan for every rule set and at most one for a
given rule set; the one naming the rule set is chosen (wt2023's LCSPR gets its own plan, wt2015's SCR the staged
one).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from config.loading import ConfigurationError, load_yaml_model

PLAN_DIR = Path(__file__).resolve().parent / "review_plans"


class PlanMilestone(BaseModel):
    """One stage of a review's plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    label: str = Field(min_length=3, max_length=200)
    offset_days: int = Field(ge=0, le=3 * 366, description="calendar days from commissioning")
    detail: str | None = None


class ReviewPlan(BaseModel):
    """A methodology's milestones, in order, and the review types it serves by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    title: str
    source: str | None = None
    review_types: list[str] = Field(default_factory=list)
    rulesets: list[str] = Field(default_factory=list, description="the rule sets it is the plan under (none: all)")
    engagement_days: int = Field(14, ge=1, le=90, description="days the agencies have to confirm their engagement")
    milestones: list[PlanMilestone] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_code_once(self) -> "ReviewPlan":
        codes = [m.code for m in self.milestones]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"milestones: each code once ({', '.join(twice)} repeated)")
        return self


@lru_cache(maxsize=4)
def load_review_plans(directory: Path = PLAN_DIR) -> dict[str, ReviewPlan]:
    """Every plan in `directory`, by name; ConfigurationError for a bad file, a name used twice, or a
    review type given two plans."""
    plans: dict[str, ReviewPlan] = {}
    for path in sorted(directory.glob("*.yaml")):
        plan = load_yaml_model(path, ReviewPlan)
        if plan.name in plans:
            raise ConfigurationError(f"{path}: plan name '{plan.name}' is used by another plan file")
        plans[plan.name] = plan
    claimed: dict[tuple[str, str], str] = {}
    for plan in plans.values():
        for review_type in plan.review_types:
            for ruleset in plan.rulesets or ["*"]:
                if (ruleset, review_type) in claimed:
                    under = "" if ruleset == "*" else f" under rule set '{ruleset}'"
                    raise ConfigurationError(f"{directory}: review type '{review_type}' has two plans{under} "
                                             f"({claimed[(ruleset, review_type)]}, {plan.name})")
                claimed[(ruleset, review_type)] = plan.name
    return plans


def plan_for(review_type: str, plans: dict[str, ReviewPlan] | None = None, *, ruleset: str | None = None) -> ReviewPlan:
    """The plan of a review type under `ruleset`: the one naming both, else the one naming the type under every
    rule set, else the systems review of seed 002."""
    plans = plans if plans is not None else load_review_plans()
    naming = [plan for plan in plans.values() if review_type in plan.review_types]
    for plan in naming:
        if ruleset is not None and ruleset in plan.rulesets:
            return plan
    for plan in naming:
        if not plan.rulesets:
            return plan
    return plans["systems_review"]

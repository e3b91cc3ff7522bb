"""Statutory rule sets (`wt2015`, `wt2023`): the clocks, the notices and the names a regime uses.

The limits are data under `config/rulesets/`, validated at load; a partnership picks one and may
override any clock in its own file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
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
    rapid_review_sent = "rapid_review_sent"  # the rapid review was sent to the Panel (wt2023: the Panel's reply)
    publication_date = "publication_date"  # counted BACK from the planned publication date (casework.clocks.
    # latest_day_before / earliest_day_after: wt2023's full report to the Panel and the Secretary of State)
    published = "published"  # a report was published (wt2023: the yearly report sent within 7 days)


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
    document: Literal["rapid_review"] | None = Field(
        None, description="a document built from the case and attached (wt2023: the rapid review itself)")
    reply_clock: str | None = Field(
        None, description="the clock started when the notice is sent, met when the recipient's reply is recorded")


RAPID_REVIEW_SECTIONS = ("facts", "agencies", "immediate_action", "learning", "criteria", "national_review", "sign_off")
RAPID_REVIEW_FIELDS = ("facts_established", "immediate_action", "learning_so_far", "national_review")


class RapidReviewDocument(BaseModel):
    """The rapid review as the Panel receives it (casework.referral.panel): the headings of its sections, in the
    order of the Panel's rapid review template; the labels of what the rapid review meeting records for it (the
    recommendation form's extra fields); what a section with nothing recorded says; the email's sentence on the
    attachment; and the LCSPR criteria the partners considered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    filename: str = Field(pattern=r"^[a-z0-9-]{1,40}$", description="the document's file name before the reference")
    sections: dict[str, str]
    fields: dict[str, str]
    not_recorded: str = Field(min_length=1)
    attached: str = Field(min_length=1)
    criteria: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _template_order(self) -> "RapidReviewDocument":
        if tuple(self.sections) != RAPID_REVIEW_SECTIONS:
            raise ValueError(f"sections: give exactly {', '.join(RAPID_REVIEW_SECTIONS)}, in that order (the Panel's "
                             "rapid review template)")
        if set(self.fields) != set(RAPID_REVIEW_FIELDS):
            raise ValueError(f"fields: give exactly {', '.join(RAPID_REVIEW_FIELDS)}")
        return self

    def words(self) -> list[tuple[str, str]]:
        """(where, text) of every word a person reads, for the retired-words check."""
        return ([("title", self.title), ("not_recorded", self.not_recorded), ("attached", self.attached)]
                + [(f"sections.{k}", v) for k, v in self.sections.items()]
                + [(f"fields.{k}", v) for k, v in self.fields.items()]
                + [(f"criteria.{i}", v) for i, v in enumerate(self.criteria)])


class NonPublicationNotice(BaseModel):
    """Who else is told, with the reasons, when the partnership decides not to publish the final report of a
    review of one of `review_types` (wt2015: the National Panel, of an SCR report)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipient: Literal["national_panel"]
    review_types: list[str] = Field(min_length=1)
    title: str = Field(min_length=1)
    source: str | None = None  # the guidance that asks for it


# The words every rule set must give (so that a page, an email or a document written for one regime has its
# word under the other): the step, the review, who decides, who scrutinises, the Panel, the criteria.
REQUIRED_TERMS = (
    "consideration", "meeting", "scr", "scr_short", "group", "decision", "deciders", "scrutiny", "panel",
    "panel_short", "criteria", "incident_notice", "partnership_body", "yearly_report", "sign_off",
)
ROLE_KEY = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
WHERE = re.compile(r"^(contacts|safeguarding_partners)\.[a-z][a-z0-9_]{1,40}$")
# Who a step may name beside the rule set's own roles: the person who referred the case, the member
# agencies' contacts, and every safeguarding partner the partnership file names (the three statutory ones and
# any further partner, e.g. education under the Children's Wellbeing and Schools Act 2026).
EVERYONE_OF = ("referrer", "agencies", "safeguarding_partners")


class Role(BaseModel):
    """Someone who takes part under a regime, and where the partnership file names them: `contacts.<key>` (a
    person or mailbox) or `safeguarding_partners.<key>` (a partner's lead and delegated safeguarding partners)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, description="how a person reads the role, e.g. 'the independent scrutineer'")
    named_in: str = Field(description="where the partnership file names it, e.g. contacts.independent_chair")
    required: bool = Field(True, description="a partnership file on this rule set that does not name it is refused")

    @model_validator(mode="after")
    def _where(self) -> "Role":
        if not WHERE.match(self.named_in):
            raise ValueError(f"named_in: '{self.named_in}' is not contacts.<key> or safeguarding_partners.<key>")
        return self


class Quorum(StrEnum):
    all = "all"  # every one of the deciders must agree (wt2023's default: the partners decide jointly)
    any = "any"  # one decider decides (wt2015: the independent chair)


class Step(BaseModel):
    """Who decides, who ratifies, who is consulted and who is told at one step of the process, by role key
    (or `referrer`, `agencies`, `safeguarding_partners`: everyone of that kind)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    decides: list[str] = Field(default_factory=list)
    quorum: Quorum = Quorum.all
    consulted: list[str] = Field(default_factory=list)
    ratifies: list[str] = Field(default_factory=list, description="in order: each ratifies after the one before")
    told: list[str] = Field(default_factory=list)

    def named(self) -> list[str]:
        return [*self.decides, *self.consulted, *self.ratifies, *self.told]

    def quorum_reached(self, agreeing: int, deciders: int) -> bool:
        """Whether `agreeing` of the `deciders` who take the step make its decision (all of them, or any one)."""
        if deciders < 1 or not 0 <= agreeing <= deciders:
            raise ValueError(f"{agreeing} agreeing of {deciders} deciders is not a count of this step's deciders")
        return agreeing == deciders if self.quorum is Quorum.all else agreeing >= 1

    @property
    def decided_jointly(self) -> bool:
        """Whether each decider answers for themselves (agree or disagree, with a rationale) and the step is
        decided when the quorum agrees; otherwise the one who decides records the whole decision."""
        return self.quorum is Quorum.all


class RapidReviewSchedule(BaseModel):
    """When a rule set's own rapid review meeting is held (casework.rapid_review): inside the window of the
    clock `window_clock`, `position` of the way through it (in working days), at the partnership's usual
    meeting time; the agencies' information due `information_working_days_before` working days before it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_clock: str = "decision"
    position: float = Field(0.67, gt=0, le=1, description="how far through the window the meeting is held")
    information_working_days_before: int = Field(2, ge=0, le=10)
    late_meeting_told: list[str] = Field(
        default_factory=list, description="roles told (the escalation) when the meeting is moved past the deadline")


class YearlyReport(BaseModel):
    """The safeguarding partners' yearly report: its 12-month period and whom it is sent to once published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period_starts_month: int = Field(4, ge=1, le=12, description="the first month of the period (4: April to March)")
    sent_clock: str = Field(description="the clock from publication to sending it")
    recipients: list[str] = Field(min_length=1)


class RunFormWords(BaseModel):
    """What a deployment's Run form says under this rule set where the form's own words (wt2015's) do not fit, given
    to the form when the deployments are registered (flows.forms.offered_schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heading: str | None = Field(None, description="the title of the form's one parameter")
    description: str | None = Field(None, description="the deployment's description")
    forms: dict[str, str] = Field(default_factory=dict, description="a form's description, by its model's name")
    fields: dict[str, str] = Field(default_factory=dict, description="a field's description, by its name, in every "
                                   "form of the Run form")

    def words(self) -> list[tuple[str, str]]:
        """(where, text) of every word a person reads, for the retired-words check."""
        return ([(key, text) for key, text in (("heading", self.heading), ("description", self.description)) if text]
                + [(f"forms.{k}", v) for k, v in self.forms.items()] + [(f"fields.{k}", v) for k, v in self.fields.items()])


class RuleSet(BaseModel):
    """One regime: who takes part and at which step, its clocks, notices and the words it uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    terms: dict[str, str]
    retired_words: list[str] = Field(
        default_factory=list, description="the words of the regime this one replaced: no term of this one may use "
        "them (an all-capitals word is matched exactly, a phrase in any case)")
    roles: dict[str, Role] = Field(default_factory=dict)
    steps: dict[str, Step] = Field(default_factory=dict)
    criteria_advice: Literal["regulation_5_2", "lcspr"] = Field(
        "regulation_5_2", description="which criteria the deciders' advice reads the recorded facts against "
        "(casework.referral.criteria): regulation 5(2) and the mandatory cases, or the LCSPR criteria")
    decision_step: str = Field(
        "decision", description="the step of `steps` whose deciders make the case's decision (wt2015: the "
        "independent chair's decision; wt2023: the rapid review, by the safeguarding partners)")
    clocks: dict[str, Clock]
    notices: dict[str, Notice]
    non_publication_notice: NonPublicationNotice | None = None
    rapid_review: RapidReviewSchedule | None = None
    rapid_review_document: RapidReviewDocument | None = None
    yearly_report: YearlyReport | None = None
    run_forms: dict[str, RunFormWords] = Field(
        default_factory=dict, description="deployments' Run forms in this rule set's words, by deployment name, "
        "where the forms' own words (wt2015's) do not fit")

    @model_validator(mode="after")
    def _every_notice_has_a_clock(self) -> "RuleSet":
        for key in ("information_return", "decision"):
            if key not in self.clocks:
                raise ValueError(f"clocks.{key}: required (every rule set has this clock)")
        for name, notice in self.notices.items():
            if notice.clock not in self.clocks:
                raise ValueError(f"notices.{name}.clock: '{notice.clock}' is not a clock of this rule set")
            if notice.reply_clock is not None and notice.reply_clock not in self.clocks:
                raise ValueError(f"notices.{name}.reply_clock: '{notice.reply_clock}' is not a clock of this rule set")
            if notice.document == "rapid_review" and self.rapid_review_document is None:
                raise ValueError(f"notices.{name}.document: rapid_review needs the rule set's rapid_review_document")
        for key in REQUIRED_TERMS:
            if key not in self.terms:
                raise ValueError(f"terms.{key}: required (every rule set names this step)")
        words = [(f"terms.{key}", term) for key, term in self.terms.items()]
        words += [(f"clocks.{key}.label", clock.label) for key, clock in self.clocks.items()]
        words += [(f"notices.{key}.title", notice.title) for key, notice in self.notices.items()]
        words += [(f"roles.{key}.title", role.title) for key, role in self.roles.items()]
        words += [(f"steps.{key}.title", step.title) for key, step in self.steps.items()]
        if self.rapid_review_document is not None:
            words += [(f"rapid_review_document.{where}", text) for where, text in self.rapid_review_document.words()]
        words += [(f"run_forms.{name}.{where}", text) for name, form in self.run_forms.items() for where, text in form.words()]
        for where, text in words:
            if word := retired_word_in(text, self.retired_words):
                raise ValueError(f"{where}: '{text}' uses '{word}', a word of the regime {self.name} replaced")
        return self

    @model_validator(mode="after")
    def _steps_name_known_roles(self) -> "RuleSet":
        for key in self.roles:
            if not ROLE_KEY.match(key) or key in EVERYONE_OF:
                raise ValueError(f"roles.{key}: not a role name (lower-case letters, digits and _; not "
                                 f"{', '.join(EVERYONE_OF)})")
        named = [(f"steps.{name}", role) for name, step in self.steps.items() for role in step.named()]
        if self.rapid_review is not None:
            named += [("rapid_review.late_meeting_told", role) for role in self.rapid_review.late_meeting_told]
            if self.rapid_review.window_clock not in self.clocks:
                raise ValueError(f"rapid_review.window_clock: '{self.rapid_review.window_clock}' is not a clock of "
                                 "this rule set")
        if self.yearly_report is not None:
            named += [("yearly_report.recipients", role) for role in self.yearly_report.recipients]
            if self.yearly_report.sent_clock not in self.clocks:
                raise ValueError(f"yearly_report.sent_clock: '{self.yearly_report.sent_clock}' is not a clock of "
                                 "this rule set")
        if self.steps and self.decision_step not in self.steps:
            raise ValueError(f"decision_step: '{self.decision_step}' is not a step of this rule set (its steps: "
                             f"{', '.join(self.steps)})")
        for where, role in named:
            if role not in self.roles and role not in EVERYONE_OF:
                raise ValueError(f"{where}: '{role}' is not a role of this rule set (its roles: "
                                 f"{', '.join(self.roles) or 'none'})")
        return self

    @property
    def required_roles(self) -> dict[str, Role]:
        """The roles a partnership file on this rule set must name."""
        return {key: role for key, role in self.roles.items() if role.required}

    def step(self, name: str) -> Step:
        """Who decides, ratifies, is consulted and is told at the step `name`."""
        try:
            return self.steps[name]
        except KeyError:
            raise ValueError(f"rule set '{self.name}' has no step '{name}' (its steps: "
                             f"{', '.join(self.steps)})") from None

    @property
    def deciding(self) -> Step:
        """The step that makes the case's decision: who decides it, with what quorum, and who is told."""
        return self.step(self.decision_step)

    @property
    def notifies_panel_at_referral(self) -> bool:
        """Whether the Panel is notified of the incident from the referral: a notice sent then, or (wt2023) the
        local authority's serious incident notification on its own clock, which is then the case's SIN."""
        return "serious_incident_notice" in self.clocks or any(
            notice.sent_at == "referral" for notice in self.notices.values())

    def told_at(self, step: str) -> list[str]:
        """Who is told at `step` (role keys, `referrer`, `agencies`, `safeguarding_partners`); none when the rule set
        has no such step."""
        return list(self.steps[step].told) if step in self.steps else []

    def term(self, key: str) -> str:
        """The regime's name for a step or review type."""
        return self.terms.get(key, key.replace("_", " "))


def in_terms(text: str, terms: Mapping[str, str], **more: str) -> str:
    """`text` with each {key} the rule set's term of that name (`terms`: RuleSet.terms), {the_panel} the Panel by its
    short name with its article ("the National Panel", "the Panel"), and each of `more` as given."""
    panel = terms.get("panel_short", "Panel")
    return text.format_map({**terms, "the_panel": panel if panel.startswith("the ") else f"the {panel}", **more})


def retired_word_in(text: str, words: list[str]) -> str | None:
    """The first of `words` that `text` uses, or None: an all-capitals word (SCR, CIG, LSCB) as a whole word in
    capitals, any other word or phrase as whole words in any case."""
    for word in words:
        flags = 0 if word.isupper() else re.IGNORECASE
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text, flags):
            return word
    return None


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

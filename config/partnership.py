"""The partnership file: who the people and agencies are, when the group meets, which regime applies."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from config.loading import load_yaml_model
from config.rulesets import RuleSet, available_rulesets, load_ruleset

CONFIG_DIR = Path(__file__).resolve().parent
FORM_TYPES = {  # the documents a partnership may send as its blank CIGINF1, and how an email names each
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".pdf": "application/pdf",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
}
FORM_MAX_BYTES = 2_000_000  # attached to every request for information, and kept with each in the outbox
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
AGENCY_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def single_line(value: str) -> str:
    """Refuse line breaks and control characters (the value goes into emails and calendar entries)."""
    if CONTROL.search(value):
        raise ValueError("must be a single line of text (no line breaks or control characters)")
    return value


Name = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(single_line)]
Line = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(single_line)]
Offset = Annotated[int, Field(ge=0, le=60)]


def check_email(value: str) -> str:
    """Refuse anything that is not a single plain address (no display name, no header tricks)."""
    value = value.strip()
    if not EMAIL.match(value):
        raise ValueError(f"'{value}' is not an email address")
    return value


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    email: str

    _email = field_validator("email")(check_email)


class Agency(BaseModel):
    """A member agency of the group: it receives CIGINF1 and returns it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: Name
    contact: Contact

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not AGENCY_CODE.match(value):
            raise ValueError("an agency code is 2 to 12 capital letters or digits, starting with a letter")
        return value


class MeetingRule(BaseModel):
    """When the group meets: an RFC 5545 recurrence rule at a local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(description="e.g. FREQ=MONTHLY;BYDAY=2TU")
    start_time: time = Field(time(10, 0))
    duration_minutes: int = Field(180, ge=15, le=600)
    timezone: str = "Europe/London"
    location: Line = "Partnership offices (invented address), Room 1"
    listing_lead_days: int = Field(
        3, ge=0, le=60, description="a case accepted fewer than this many days before a meeting goes to the next one"
    )
    prepare_working_days_before: int = Field(3, ge=0, le=20)

    @field_validator("rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        start = datetime(2000, 1, 1)
        try:
            # the first meeting after a fixed start: a rule that parses but can never give a
            # meeting (e.g. BYDAY=9TU) must be refused here, not fail when a case is listed
            first = rrulestr(value, dtstart=start).after(start, inc=True)
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"not a recurrence rule: {exc}") from None
        if first is None:
            raise ValueError("the recurrence rule gives no meeting")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Reminders(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    return_offsets_working_days: list[Offset] = Field([2, 1])
    decision_offsets_days: list[Offset] = Field([7, 2])
    notice_offsets_days: list[Offset] = Field([2])
    # learning and improvement actions: reminders to the named lead this many days before the target date,
    # a chase (the agency's CIG member copied) once overdue, the business manager after this many days overdue
    action_offsets_days: list[Offset] = Field([14, 3])
    action_escalation_days: int = Field(14, ge=0, le=365)
    impact_review_months: int = Field(6, ge=1, le=24, description="the committee's review of the plans after ratification")
    # a review's milestones: the business manager and the lead reviewer(s) are warned this many days before each
    # target date (and told once it is missed)
    milestone_warning_days: int = Field(
        7, strict=True, description="days before a review milestone's target date that the sweep warns (1 to 60)")

    @field_validator("milestone_warning_days")
    @classmethod
    def _warning_days(cls, value: int) -> int:
        if not 1 <= value <= 60:
            raise ValueError(f"{value} is not a number of days from 1 to 60: the sweep warns this many days before "
                             "a review milestone's target date (default 7)")
        return value


class Contacts(BaseModel):
    """The partnership's people and mailboxes by role. Which of the optional ones a partnership must name is its
    rule set's `roles` (wt2015: the CIG chair, the independent chair, the safeguarding unit manager and Ofsted;
    wt2023: the independent scrutineer and the Secretary of State), checked when the file is loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    administrator: Contact
    business_manager: Contact
    national_panel: Contact
    cig_chair: Contact | None = None
    independent_chair: Contact | None = None
    safeguarding_unit_manager: Contact | None = None
    ofsted: Contact | None = None
    independent_scrutineer: Contact | None = None  # wt2023: told, records findings, decides nothing
    secretary_of_state: Contact | None = None  # wt2023: the Department for Education's mailbox for review reports
    managers: list[Contact] = Field(default_factory=list)
    # after the decision (seed 002): who receives the review's drafts and action plans, and its learning
    training_officer: Contact | None = None
    executive_group: Contact | None = None
    board: Contact | None = None
    professional_development_committee: Contact | None = None


PARTNER_KEY = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class SafeguardingPartner(BaseModel):
    """One safeguarding partner (Working Together 2023): the organisation, its lead safeguarding partner and,
    where the lead has delegated, the delegated safeguarding partner who acts for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: Name
    lead: Contact = Field(description="the lead safeguarding partner (e.g. the local authority's chief executive)")
    delegate: Contact | None = Field(None, description="the delegated safeguarding partner, where delegated")

    @property
    def acting(self) -> Contact:
        """Who acts for the partner day to day: the delegated safeguarding partner, or else the lead."""
        return self.delegate or self.lead


class Partnership(BaseModel):
    """A local safeguarding children partnership, as its file describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    reference_prefix: str = Field("CIG", pattern=r"^[A-Z]{2,8}$")
    ruleset: str = "wt2015"
    clock_overrides: dict[str, dict] = Field(default_factory=dict)
    closure_days: list[date] = Field(default_factory=list)
    contacts: Contacts
    # wt2023: the statutory safeguarding partners (local_authority, icb, police) and any further partner (e.g.
    # education), by key; which must be named is the rule set's `roles`
    safeguarding_partners: dict[str, SafeguardingPartner] = Field(default_factory=dict)
    yearly_report_starts_month: int | None = Field(
        None, ge=1, le=12, description="the first month of the safeguarding partners' yearly report period "
        "(default: the rule set's, April)")
    agencies: list[Agency] = Field(min_length=1)
    meetings: MeetingRule
    reminders: Reminders = Field(default_factory=Reminders)
    retention_years: int = Field(10, ge=1, le=100)
    information_form: str = Field(
        "CIGINF1", min_length=1, max_length=80,
        description="the partnership's own name for its request-for-information form, as the emails name it "
        "(the seeds' CIGINF1; a partnership on Working Together 2023 may call it, e.g., its agency chronology)",
    )
    ciginf1_template: Path | None = Field(
        None,
        description="the blank CIGINF1 attached to every request for information (.docx, .odt, .pdf, .rtf or .txt, "
        "at most 2 MB); a relative path is read from the project's config/ folder, like the rule sets",
    )

    @field_validator("ciginf1_template")
    @classmethod
    def _form_exists(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value if value.is_absolute() else CONFIG_DIR / value
        if path.suffix.lower() not in FORM_TYPES:
            *others, last = FORM_TYPES
            raise ValueError(f"'{value}' is not a {', '.join(others)} or {last} document")
        if not path.is_file():
            raise ValueError(f"no file at {path}")
        if path.stat().st_size > FORM_MAX_BYTES:
            raise ValueError(f"{path} is over 2 MB; it goes with every request for information")
        return path

    @field_validator("ruleset")
    @classmethod
    def _known_ruleset(cls, value: str) -> str:
        if value not in available_rulesets():
            raise ValueError(f"unknown rule set '{value}': choose one of {', '.join(available_rulesets())}")
        return value

    @model_validator(mode="after")
    def _unique_codes(self) -> "Partnership":
        codes = [a.code for a in self.agencies]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"agencies: the code(s) {', '.join(duplicates)} appear more than once")
        load_ruleset(self.ruleset, self.clock_overrides)
        return self

    @model_validator(mode="after")
    def _the_rule_sets_roles_are_named(self) -> "Partnership":
        for key in self.safeguarding_partners:
            if not PARTNER_KEY.match(key):
                raise ValueError(f"safeguarding_partners.{key}: a partner's key is lower-case letters, digits and _ "
                                 "(e.g. local_authority, icb, police, education)")
        rules = load_ruleset(self.ruleset)
        for key, role in rules.required_roles.items():
            if self._named(role.named_in) is None:
                where = role.named_in
                raise ValueError(f"{where}: the rule set {rules.name} needs {role.title} ({key}), and this file "
                                 "does not name them")
        return self

    def _named(self, named_in: str) -> Contact | SafeguardingPartner | None:
        section, key = named_in.split(".", 1)
        if section == "safeguarding_partners":
            return self.safeguarding_partners.get(key)
        if key not in Contacts.model_fields:
            raise ValueError(f"{named_in}: the partnership file has no such contact (a rule set's role names one "
                             f"of {', '.join(Contacts.model_fields)})")
        return getattr(self.contacts, key)

    def role(self, key: str, name: str | None = None) -> list[Contact]:
        """Who acts in the role `key` of the rule set `name` (default the partnership's): one contact, or for a
        safeguarding partner the one acting for it (its delegate, else its lead); `safeguarding_partners` is every
        partner the file names. An empty list when an optional role is not named; a ValueError naming the role
        when the rule set has no such role."""
        if key == "safeguarding_partners":
            return [partner.acting for partner in self.safeguarding_partners.values()]
        rules = self.rules(name)
        if key not in rules.roles:
            raise ValueError(f"rule set '{rules.name}' has no role '{key}' (its roles: {', '.join(rules.roles)})")
        named = self._named(rules.roles[key].named_in)
        if isinstance(named, SafeguardingPartner):
            return [named.acting]
        return [named] if named is not None else []

    def deciders(self, name: str | None = None, step: str | None = None) -> dict[str, Contact]:
        """Who decides the case under the rule set `name` (default the partnership's), or takes its `step` (e.g.
        `sign_off`: wt2023's partners signing off a review's drafts), each by whom they act for: a safeguarding
        partner's key (its delegate, else its lead) or a role's key. Each is a distinct person with their own link
        and their own answer (config.rulesets.Step.quorum_reached counts them)."""
        rules = self.rules(name)
        found: dict[str, Contact] = {}
        for key in (rules.step(step) if step else rules.deciding).decides:
            if key == "safeguarding_partners":
                found |= {partner: named.acting for partner, named in self.safeguarding_partners.items()}
            else:
                found |= {key: contact for contact in self.role(key, rules.name)}
        return found

    @property
    def lead_safeguarding_partners(self) -> list[Contact]:
        """Every safeguarding partner's lead (a disagreement among the partners is escalated to them)."""
        return [partner.lead for partner in self.safeguarding_partners.values()]

    def yearly_report_start_month(self, name: str | None = None) -> int:
        """The first month of the safeguarding partners' yearly report period: the file's, else the rule set's."""
        if self.yearly_report_starts_month is not None:
            return self.yearly_report_starts_month
        report = self.rules(name).yearly_report
        return report.period_starts_month if report is not None else 4

    @cached_property
    def agency_by_code(self) -> dict[str, Agency]:
        return {a.code: a for a in self.agencies}

    @cached_property
    def addresses(self) -> frozenset[str]:
        """Every address this file names (its roles', the managers', the agencies' contacts), lower-cased:
        the partnership's own mailboxes, not a person a case names (a referrer, an action's lead)."""
        contacts = [getattr(self.contacts, name) for name in Contacts.model_fields]
        partners = [c for p in self.safeguarding_partners.values() for c in (p.lead, p.delegate) if c is not None]
        people = [c for c in contacts if isinstance(c, Contact)] + list(self.contacts.managers) \
            + [a.contact for a in self.agencies] + partners
        return frozenset(c.email.lower() for c in people)

    def agency(self, code: str) -> Agency:
        """The agency with this code, or a ValueError that lists the known codes."""
        try:
            return self.agency_by_code[code]
        except KeyError:
            known = ", ".join(sorted(self.agency_by_code))
            raise ValueError(f"unknown agency code '{code}': the partnership's agencies are {known}") from None

    def rules(self, name: str | None = None) -> RuleSet:
        """The rule set in force for a case (a case keeps the one it started under)."""
        return load_ruleset(name or self.ruleset, self.clock_overrides if (name or self.ruleset) == self.ruleset else None)


def load_partnership(path: Path, **overrides: object) -> Partnership:
    """Read and validate a partnership file; `overrides` replace top-level keys (e.g. ruleset)."""
    return load_yaml_model(Path(path), Partnership, dict(overrides))

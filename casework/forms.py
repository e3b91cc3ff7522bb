"""The forms people fill in, as pydantic models: CIGSCR1, screening, CIGINF1 return, CIGSUM1, and the
publication of a review's final report.

Each field has a description that reads like the paper form. Field-level limits are in the JSON
schema (so the Prefect UI enforces them); cross-field rules are validators here. "Not in the
future" compares with `today` from the validation context, or the date when validation runs.
The flow's RunInput forms (`flows/forms.py`) subclass these, so there is one definition of each.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from datetime import date
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic.json_schema import SkipJsonSchema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from config.rulesets import RuleSet
from casework.model import (
    CHOICE_LABELS, REVIEW_LABELS, ChairResponse, PartnerResponse, Recommendation, ReturnStatus, ReviewType,
    ScreeningOutcome, review_labels,
)

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = 10_000


def _single_line(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("must be a single line of text (no line breaks or control characters)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _text(value: str) -> str:
    if CONTROL_EXCEPT_LINES.search(value):
        raise ValueError("contains control characters")
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Name = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_single_line)]
Line = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_single_line)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_text)]
AgencyCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,11}$", description="agency code, e.g. POL")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")]


def today_from(info: ValidationInfo) -> date:
    """The date "the future" is measured from: the context's `today`, else the date now."""
    context = info.context or {}
    return context.get("today") or date.today()


def not_in_future(value: date | None, info: ValidationInfo) -> date | None:
    if value is not None and value > today_from(info):
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


class Form(BaseModel):
    """A form's fields. A coded choice may be given as its code or as its label on the form
    (casework.model.CHOICE_LABELS), and an agency as "POL" or as "POL: Northshire Police"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=lambda schema, cls: present_schema(schema, cls))
    # a rule set's own words for some coded choices (e.g. wt2023's screening outcomes), over CHOICE_LABELS
    choice_labels: ClassVar[dict[str, str]] = {}
    # the codes a coded choice offers on the form, where the rule set offers fewer than its type (the signing bodies)
    offered: ClassVar[dict[str, tuple[str, ...]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _codes_from_labels(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        own = {label: code for code, label in cls.choice_labels.items()}
        return {name: _code_of(name, own.get(value, value) if name in CHOICE_FIELDS and isinstance(value, str)
                               else value) for name, value in data.items()}


NUMBERED = re.compile(r"^(\d+)\. ")


def present_schema(schema: dict[str, Any], cls: type[BaseModel], agencies: Sequence[str] = ()) -> None:
    """Make a form's JSON schema read like the paper form on the Prefect UI, in place: an item number
    shown as written ("3. Name", not a markdown list's "1."), an optional field as its one widget
    (no "date | None" switch), a coded choice as a list of its labels, and, given `agencies` (each
    "CODE: Name"), the agency fields as a list the form enforces before submit."""
    for name, field in schema.get("properties", {}).items():
        if "oneOf" in field:  # a choice between sub-forms: the Prefect UI's type switch reads `anyOf`
            field["anyOf"] = field.pop("oneOf")
        options = [option for option in field.get("anyOf", []) if option.get("type") != "null"]
        if "anyOf" in field and len(options) == 1:
            del field["anyOf"]
            field.update({k: v for k, v in options[0].items() if k not in field})
            if field.get("default", "") is None:
                del field["default"]
        if field.get("title", name.replace("_", " ").title()) == name.replace("_", " ").title():
            field["title"] = name.replace("_", " ").capitalize()  # "Decided by", not pydantic's "Decided By"
        if NUMBERED.match(field.get("description", "")):
            field["description"] = NUMBERED.sub(r"\1\\. ", field["description"])
        target = field.get("items", field) if field.get("type") == "array" else field
        if name in CHOICE_FIELDS and _is_choice(cls.model_fields[name].annotation):
            codes = [str(member) for member in _choices(cls.model_fields[name].annotation)
                     if str(member) in getattr(cls, "offered", {}).get(name, (str(member),))]
            target.pop("$ref", None)
            labels = CHOICE_LABELS | getattr(cls, "choice_labels", {})
            target.update(type="string", enum=[labels.get(code, code) for code in codes])
            if "default" in field:
                field["default"] = labels.get(str(field["default"]), field["default"])
        if name in AGENCY_FIELDS and agencies:
            list_agencies(target, agencies)


def list_agencies(field: dict[str, Any], agencies: Sequence[str]) -> None:
    """Make an agency field's schema, in place, a choice of `agencies` ("CODE: Name") the form enforces."""
    field.pop("pattern", None)
    field.update(type="string", enum=list(agencies))


def _choices(annotation: object) -> list[object]:
    """The values a Literal or an Enum annotation allows (an optional one's, `SetStatus | None`, without None)."""
    if get_origin(annotation) in (Union, UnionType):
        [annotation] = [option for option in get_args(annotation) if option is not type(None)]
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [member.value for member in annotation]  # type: ignore[attr-defined]


def _is_choice(annotation: object) -> bool:
    """Whether a field's annotation is a Literal or an Enum (a field named like a choice may be free text: `by`)."""
    try:
        return bool(_choices(annotation))
    except (TypeError, ValueError):
        return False


CHOICE_FIELDS = frozenset({"outcome", "status", "response", "decision", "plan", "by"})
AGENCY_FIELDS = frozenset({"agency", "further_information_from"})
_CODES = {label: code for code, label in CHOICE_LABELS.items()}
_AGENCY_CHOICE = re.compile(r"^([A-Z][A-Z0-9]{1,11}): .+$")


def _code_of(field: str, value: object) -> object:
    """The code behind a choice field's label; free text and anything else unchanged."""
    if isinstance(value, list):
        return [_code_of(field, item) for item in value]
    if not isinstance(value, str):
        return value
    if field in CHOICE_FIELDS:
        return _CODES.get(value, value)
    agency = _AGENCY_CHOICE.match(value) if field in AGENCY_FIELDS else None
    return agency.group(1) if agency else value


class Child(Form):
    name: Name = Field(description="3. Name of the child or young person")
    date_of_birth: date = Field(description="3. Date of birth")
    date_of_death: date | None = Field(None, description="3. Date of death, if the child has died")
    address: Line | None = Field(None, description="3. Address of the child (the agencies asked for information are given it)")

    _dates = field_validator("date_of_birth", "date_of_death")(not_in_future)

    @model_validator(mode="after")
    def _death_after_birth(self) -> "Child":
        if self.date_of_death and self.date_of_death < self.date_of_birth:
            raise ValueError("date_of_death: the date of death is before the date of birth")
        return self


class SignificantPerson(Form):
    name: Name = Field(description="4. Name of a significant adult or child")
    date_of_birth: date | None = Field(None, description="4. Their date of birth, if known")
    relationship: Line = Field(description="Their relationship to the child, e.g. mother, step-father, sibling")
    address: Line | None = Field(None, description="4. Their address, if known")

    _dob = field_validator("date_of_birth")(not_in_future)


class CaseFacts(Form):
    """The recorded facts the criteria indication reads (regulation 5(2) and the mandatory cases)."""

    abuse_or_neglect_suspected: bool = Field(description="Abuse or neglect of the child is known or suspected")
    child_died: bool = Field(description="The child has died (including by suspected suicide)")
    seriously_harmed: bool = Field(
        False, description="The child has been seriously harmed (potentially life-threatening injury, "
        "or serious and/or likely long-term impairment of health or development)"
    )
    concern_about_joint_working: bool | None = Field(
        None, description="There is cause for concern about how the agencies worked together "
        "(leave empty if it is not yet clear)"
    )
    died_in_custody_or_detention: bool = Field(
        False, description="The child died in custody, in police custody, on remand or following sentencing, "
        "in a young offender institution, a secure training centre or a secure children's home"
    )
    detained_under_mental_health_act: bool = Field(
        False, description="The child who died was detained under the Mental Health Act"
    )
    deprivation_of_liberty_16_17: bool = Field(
        False, title="Deprived of liberty at 16 or 17", description="The child who died was 16 or 17 and subject to a deprivation of liberty order "
        "under the Mental Capacity Act"
    )
    looked_after: bool = Field(False, description="The child was looked after by the local authority")


class ThroughSafeguardingLead(Form):
    """The usual route: the referrer reviewed the case with their agency's or organisation's safeguarding lead."""

    model_config = ConfigDict(title="Through a safeguarding lead")

    reviewed_with_safeguarding_lead_on: date = Field(
        title="Reviewed with the safeguarding lead on", description="8. Date the case was reviewed with them"
    )
    safeguarding_lead: Line = Field(title="Safeguarding lead", description="8. Their name and position")

    _past = field_validator("reviewed_with_safeguarding_lead_on")(not_in_future)


class ByStrategyMeeting(Form):
    """A referral by the chair of a strategy meeting."""

    model_config = ConfigDict(title="By the chair of a strategy meeting")

    strategy_meeting_on: date = Field(title="Strategy meeting held on", description="The meeting's date")
    strategy_meeting_chair: Line = Field(title="Chair of the strategy meeting", description="Their name and role")

    _past = field_validator("strategy_meeting_on")(not_in_future)


def _route_of(value: object) -> str:
    """Which route a referral's `route` answers: the strategy meeting's when its fields are given."""
    fields = value if isinstance(value, dict) else vars(value) if isinstance(value, BaseModel) else {}
    by_meeting = {"strategy_meeting_on", "strategy_meeting_chair"} & set(fields)
    return "by_strategy_meeting" if by_meeting else "through_safeguarding_lead"


class ReferralForm(Form):
    """CIGSCR1: Request for CIG consideration (the referral)."""

    notified_on: date = Field(
        description="Date the partnership was notified of the incident (starts the statutory clock)"
    )
    reasons: Text = Field(description="1. Reason(s) for submission of the request for CIG consideration")
    case_summary: Text = Field(description="2. Summary of the case")
    child: Child = Field(description="3. The child or young person")
    significant_people: list[SignificantPerson] = Field(
        default_factory=list, max_length=30, description="4. Names and dates of birth of significant adults and children"
    )
    agency: AgencyCode | None = Field(
        None, description="5. Agency providing the information, when it is a member agency of the partnership"
    )
    organisation: Line | None = Field(
        None, description="5. Otherwise, the organisation referring: any professional can refer (a school, a GP "
        "practice, a voluntary organisation)"
    )
    named_lead: Name = Field(description="7. Named lead / person providing this information")
    referrer_email: Email = Field(description="Where to tell the referrer the outcome (an email address)")
    referrer_phone: Line | None = Field(None, description="The referrer's telephone number")
    route: Annotated[
        Annotated[ThroughSafeguardingLead, Tag("through_safeguarding_lead")] | Annotated[ByStrategyMeeting, Tag("by_strategy_meeting")],
        Discriminator(_route_of),
    ] = Field(title="Referral route", description="8. Referred through a safeguarding lead (the usual route) or by the chair of a strategy "
              "meeting: choose one, then fill in its two fields")
    completed_on: date = Field(description="9. Date this form was completed")
    facts: CaseFacts = Field(title="What happened to the child",
                             description="Tick what is known; the system reads these to advise which criteria "
                             "the case may meet (advice, never the decision)")

    _past = field_validator("notified_on", "completed_on")(not_in_future)

    @property
    def referred_by(self) -> str:
        """"agency" for a referral through a safeguarding lead, "strategy_meeting" for one by a meeting's chair."""
        return "agency" if isinstance(self.route, ThroughSafeguardingLead) else "strategy_meeting"

    @model_validator(mode="after")
    def _cross_field(self) -> "ReferralForm":
        if (self.agency is None) == (self.organisation is None):
            raise ValueError("agency: give the member agency referring, or the organisation if it is not one (not both)")
        if self.facts.child_died != (self.child.date_of_death is not None):
            raise ValueError(
                "child.date_of_death: give the date of death when (and only when) facts.child_died is true"
            )
        if self.child.date_of_death and self.notified_on < self.child.date_of_death:
            raise ValueError("notified_on: the partnership cannot have been notified before the date of death")
        if self.completed_on < self.notified_on:
            raise ValueError("completed_on: the form cannot be completed before the incident was notified")
        return self


def referral_words(rules: RuleSet) -> dict[str, str]:
    """The referral form's field descriptions in the rule set's words, by field, where they differ from the form's
    own: under wt2023 the date the clocks start from is the day the local authority became aware of the incident
    (term `referral_notified_on`); none under wt2015."""
    words = rules.terms.get("referral_notified_on")
    return {"notified_on": words} if words else {}


class SeriousIncidentNotificationForm(Form):
    """The Serious Incident Notification (SIN), completed by the safeguarding unit manager (step 1)."""

    completed_on: date = Field(title="Date completed", description="Date the notification was completed")
    completed_by: Name = Field(title="Who completed it", description="The safeguarding unit manager's name")
    sent_on: date | None = Field(
        None, title="Date sent, if sent before", description="Date it was sent to Ofsted, the CIG chair, the "
        "business manager and the partnership chair, if it was sent before it was recorded here (otherwise the "
        "system sends it now)"
    )
    notification: Text | None = Field(None, title="The notification's text",
                                      description="The notification's text, when no document is attached")

    _past = field_validator("completed_on", "sent_on")(not_in_future)

    @model_validator(mode="after")
    def _sent_after_completed(self) -> "SeriousIncidentNotificationForm":
        if self.sent_on and self.sent_on < self.completed_on:
            raise ValueError("sent_on: the notification cannot be sent before it was completed")
        return self


class PanelNotificationForm(Form):
    """wt2023: the serious incident notification the local authority made to the Child Safeguarding Practice Review
    Panel through the Panel's online service, as the administrator records it."""

    notified_on: date = Field(title="Date notified", description="The day the local authority notified the Panel, "
                              "e.g. 2027-01-12")
    notified_by: Name = Field(title="Who notified", description="The name and role of the person who made the "
                              "notification for the local authority, e.g. Sam Patel, head of safeguarding")
    panel_reference: Line = Field(title="The Panel's reference",
                                  description="The reference the Panel's online service gave the notification; "
                                  "never a child's name")

    _past = field_validator("notified_on")(not_in_future)


class ScreeningForm(Form):
    """Screening: does the case go to the CIG? (CIG chair with the business manager)."""

    outcome: ScreeningOutcome = Field(description="Accept the case for CIG consideration, or decline it")
    reason: Text | None = Field(None, description="Why (required when declining; the referrer is told)")
    decided_by: Name = Field(description="Who decided (CIG chair and business manager)")
    independent_chair_consulted: bool = Field(description="The independent chair was consulted")

    @model_validator(mode="after")
    def _reason_when_declined(self) -> "ScreeningForm":
        if self.outcome is ScreeningOutcome.decline and not self.reason:
            raise ValueError("reason: give the reason the case is declined; the referrer will be told it")
        return self


def screening_form(rules: RuleSet) -> type[ScreeningForm]:
    """The screening step's form under `rules`: wt2015's as it is; a rule set with its own two outcomes (terms
    `screening_accept`, `screening_decline`: wt2023's serious child safeguarding incident or not) shows them, and
    does not ask whether the independent chair was consulted when its screening step consults no one."""
    if "screening_accept" not in rules.terms or "screening_decline" not in rules.terms:
        return ScreeningForm
    step = rules.step("screening")
    deciders = " and ".join(rules.roles[key].title if key in rules.roles else key for key in step.decides)
    return _screening_in_terms(rules.terms["screening_accept"], rules.terms["screening_decline"], bool(step.consulted),
                               deciders)


@lru_cache(maxsize=8)
def _screening_in_terms(accept: str, decline: str, consulted: bool, deciders: str) -> type[ScreeningForm]:
    fields: dict[str, Any] = {"outcome": (ScreeningOutcome, Field(description=f"{accept}; or {decline}")),
                              "decided_by": (Name, Field(description=f"Who decided ({deciders})"))}
    if not consulted:
        fields["independent_chair_consulted"] = (SkipJsonSchema[bool], Field(False))
    form = create_model("ScreeningForm", __base__=ScreeningForm, __module__=__name__, __doc__=(
        f"Screening: {accept[0].lower()}{accept[1:]}, or {decline[0].lower()}{decline[1:]}."), **fields)
    form.choice_labels = {"accept": accept, "decline": decline}
    return form


class AgencyReturnForm(Form):
    """CIGINF1 return from one member agency, recorded by the administrator."""

    agency: AgencyCode = Field(description="The agency whose return this is")
    status: Literal["returned", "nil", "not_received"] = Field(
        description="Returned with the agency's involvement, a nil return (no involvement), or not received "
        "(the meeting goes ahead without it)"
    )
    involvement: Text | None = Field(
        None, description="The agency's involvement with the child and family (required when returned)"
    )
    key_practitioners: list[Name] = Field(
        default_factory=list, max_length=30, description="Key practitioners, to the date of the incident"
    )
    attendees: list[Name] = Field(default_factory=list, max_length=10, description="Who will attend the meeting")

    @model_validator(mode="after")
    def _content(self) -> "AgencyReturnForm":
        if self.status == "returned" and not self.involvement:
            raise ValueError("involvement: a return needs the agency's involvement with the child and family")
        return self

    @property
    def return_status(self) -> ReturnStatus:
        return ReturnStatus(self.status)


class RecommendationForm(Form):
    """CIGSUM1 part 1: the CIG recommendation and rationale, sent to the independent chair."""

    outcome: Recommendation = Field(description="The CIG recommendation")
    rationale: Text = Field(description="The rationale for the recommendation")
    further_information_from: list[AgencyCode] = Field(
        default_factory=list, description="When asking for further information: the agencies to ask"
    )

    @model_validator(mode="after")
    def _agencies_when_further_information(self) -> "RecommendationForm":
        if self.outcome is Recommendation.further_information and not self.further_information_from:
            raise ValueError("further_information_from: name the agencies to ask for further information")
        if self.outcome is not Recommendation.further_information and self.further_information_from:
            raise ValueError("further_information_from: only used when the outcome is further information needed")
        return self


def recommendation_form(record_fields: Mapping[str, str] | None,
                        terms: Mapping[str, str] | None = None) -> type[RecommendationForm]:
    """The recommendation step's form: as it is when `record_fields` is None (wt2015); otherwise with what the
    rapid review meeting records for the Panel's rapid review (wt2023: the rule set's
    `rapid_review_document.fields`, each field's name and its words), every one optional; given the rule set's
    `terms`, its outcomes are the rule set's review labels and it names the group and the deciders in them."""
    if not record_fields:
        return RecommendationForm
    return _with_record(tuple(record_fields.items()), tuple((terms or {}).items()))


@lru_cache(maxsize=8)
def _with_record(record_fields: tuple[tuple[str, str], ...],
                 terms: tuple[tuple[str, str], ...] = ()) -> type[RecommendationForm]:
    extra: dict[str, Any] = {name: (Text | None, Field(None, description=f"{words} (optional; never a name: "
                                                       "describe people by age and relationship)"))
                             for name, words in record_fields}
    doc = RecommendationForm.__doc__
    if terms:
        words = dict(terms)
        doc = f"The {words['group_short']} recommendation and rationale, sent to {words['deciders']}."
        extra |= fields_described(RecommendationForm, outcome=f"The {words['group_short']} recommendation")
    form = create_model("RecommendationForm", __base__=RecommendationForm, __module__=__name__, __doc__=doc, **extra)
    form.choice_labels = review_choices(dict(terms))
    return form


def review_choices(terms: Mapping[str, str]) -> dict[str, str]:
    """The review outcomes' labels on a form where a rule set's `terms` name them otherwise than wt2015's
    (casework.model.review_labels: wt2023's LCSPR), for a form's `choice_labels`; none under wt2015."""
    return {code: label[0].upper() + label[1:] for code, label in review_labels(terms).items()
            if label != REVIEW_LABELS[code]}


def fields_described(form: type[BaseModel], **descriptions: str) -> dict[str, Any]:
    """`form`'s fields named, each as it is but described in the given words: fields for create_model."""
    fields: dict[str, Any] = {}
    for name, words in descriptions.items():
        field = copy.copy(form.model_fields[name])
        field.description = words
        fields[name] = (field.annotation, field)
    return fields


def rapid_review_record_of(form: RecommendationForm) -> dict[str, str]:
    """What the rapid review meeting recorded for the Panel on `form` (the fields `recommendation_form` adds)."""
    added = [name for name in type(form).model_fields if name not in RecommendationForm.model_fields]
    return {name: getattr(form, name) for name in added if getattr(form, name)}


class AnonymisedDetails(Form):
    """Brief anonymised details for the National Panel when no SCR is initiated (no names, no dates of birth)."""

    nature_of_incident: Text = Field(description="The nature of the incident")
    ages_of_children: Line = Field(description="The ages of the children involved, e.g. '4 years; sibling 7 years'")
    relationship_to_alleged_perpetrator: Line = Field(description="Their relationship with any alleged perpetrator(s)")
    agency_involvement: Text = Field(description="Agency involvement with the family")
    criminal_investigation: Line = Field(description="Any criminal investigation")


class DecisionForm(Form):
    """CIGSUM1 part 2: the independent chair's decision and rationale, in writing."""

    response: ChairResponse = Field(description="Affirm or challenge the CIG recommendation")
    decision: ReviewType = Field(description="The decision: initiate an SCR, another review, or no review")
    rationale: Text = Field(description="The rationale for the decision")
    decided_by: Name = Field(description="The independent chair's name")
    lead_reviewers: list[Name] = Field(
        default_factory=list, max_length=5,
        description="Optional: lead reviewer name(s) already chosen. Usually left empty: for an SCR the lead reviewer "
        "is appointed later on the review's run (its appointment form), and the National Panel is told then",
    )
    anonymised_details: AnonymisedDetails | None = Field(
        None, description="When no SCR is initiated and no Serious Incident Notification is recorded: brief "
        "anonymised details for the National Panel (a recorded SIN goes to the Panel instead)"
    )
    criteria_explanation: Text | None = Field(
        None, description="When no SCR is initiated: why the case does not meet the SCR criteria"
    )

    @model_validator(mode="after")
    def _what_the_panel_needs(self) -> "DecisionForm":
        if self.decision is not ReviewType.scr:
            if not self.criteria_explanation:
                raise ValueError(
                    "criteria_explanation: explain why the case does not meet the SCR criteria"
                )
        return self


class PartnerDecisionForm(Form):
    """Your answer to the recommendation, with your rationale: the decision is made when the partners agree."""

    response: PartnerResponse = Field(description="Do you agree with the recommendation?")
    rationale: Text = Field(description="Your rationale (the criteria you considered and why)")
    national_importance: bool = Field(
        description="May the case raise issues of national importance, so that the Panel may consider a national review?")


def decision_form(rules: RuleSet) -> type[DecisionForm]:
    """The decision's Resume form under `rules`: wt2015's, the independent chair's, as it is; a rule set whose
    partners decide by their own links (term `resolved_decision_by`, wt2023) records on it the decision made on
    their behalf once their disagreement is resolved, in its words: who decided (the lead safeguarding partners),
    its review labels, and no anonymised details when the Panel was notified of the incident already."""
    if "resolved_decision_by" not in rules.terms:
        return DecisionForm
    return _decision_in_terms(tuple(rules.terms.items()), rules.notifies_panel_at_referral)


@lru_cache(maxsize=4)
def _decision_in_terms(terms: tuple[tuple[str, str], ...], panel_notified: bool) -> type[DecisionForm]:
    words = dict(terms)
    review, criteria = words.get("scr_short", "review"), words.get("criteria", "the criteria")
    panel = words.get("panel_short", "Panel")
    fields = fields_described(
        DecisionForm,
        response=f"Affirm or challenge the {words.get('group_short', 'group')} recommendation",
        decision=f"The decision: initiate an {review}, another review, or no review",
        decided_by=f"Who decided ({words['resolved_decision_by']})",
        lead_reviewers=f"Optional: lead reviewer name(s) already chosen. Usually left empty: for an {review} the "
        f"lead reviewer is appointed later on the review's run (its appointment form), and "
        f"{panel if panel.startswith('the ') else f'the {panel}'} is told then",
        criteria_explanation=f"When no {review} is initiated: why the case does not meet {criteria}")
    if panel_notified:
        fields["anonymised_details"] = (SkipJsonSchema[AnonymisedDetails | None], Field(None))

    def explained(self: DecisionForm) -> DecisionForm:
        if self.decision is not ReviewType.scr and not self.criteria_explanation:
            raise ValueError(f"criteria_explanation: explain why the case does not meet {criteria}")
        return self

    form = create_model("DecisionForm", __base__=DecisionForm, __module__=__name__, __validators__={
        "_what_the_panel_needs": model_validator(mode="after")(explained)}, __doc__=(
        f"{words['resolved_decision'][0].upper()}{words['resolved_decision'][1:]}, with its rationale."), **fields)
    form.choice_labels = review_choices(words)
    return form


def check_decision_against_recommendation(form: DecisionForm, recommendation: Recommendation | None) -> None:
    """Affirming means deciding what the CIG recommended; raise ValueError naming the field otherwise."""
    if recommendation is None:
        raise ValueError("the CIG has not recorded a recommendation for this case yet")
    if form.response is ChairResponse.affirm and form.decision.value != recommendation.value:
        raise ValueError(
            f"decision: affirming the recommendation ({recommendation.value}) means deciding "
            f"{recommendation.value}; choose 'challenge' to decide {form.decision.value}"
        )


Link = Annotated[str, Field(min_length=10, max_length=500, pattern=r"^https?://[^\s<>\"']+$",
                            description="an http or https address")]
Theme = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_single_line)]


class PublicationForm(Form):
    """Publication of a review's final report: when, where, and how the learning was shared."""

    published_on: date = Field(description="The date the final report was published")
    link: Link = Field(description="Where the report is published (an http or https address)")
    learning_shared: Text | None = Field(
        None, description="How the learning was shared, e.g. 'practitioner briefings; 7-minute briefing'"
    )
    themes: list[Theme] = Field(
        default_factory=list, max_length=12, description="Abuse or vulnerability themes, e.g. 'neglect', 'domestic abuse'"
    )

    _past = field_validator("published_on")(not_in_future)

    @field_validator("themes")
    @classmethod
    def _each_theme_once(cls, themes: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for theme in themes:
            seen.setdefault(theme.casefold(), theme)
        return list(seen.values())


def check_publication_is_anonymous(form: PublicationForm, names: Sequence[str], dates_of_birth: Sequence[date]) -> None:
    """Raise ValueError (naming the field, never the person) if the link, themes or learning name the
    child or a significant person or give a date of birth: these go on the tracker, which managers share."""
    check_no_identities({"link": form.link, "themes": "; ".join(form.themes), "learning_shared": form.learning_shared},
                        names, dates_of_birth)


class CaseOutcome(RecommendationForm):
    """One listed case's outcome on the meeting-outcomes form."""

    reference: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[A-Z]{2,8}-\d{4}-\d{4}$",
                                    description="The case reference, e.g. NSCP-2026-0001")]


class MeetingOutcomesForm(Form):
    """The meeting-outcomes form: one recommendation and rationale per case considered."""

    meeting_on: date = Field(description="The date of the meeting")
    outcomes: list[CaseOutcome] = Field(min_length=1, max_length=50, description="One entry per case considered")

    _past = field_validator("meeting_on")(not_in_future)

    @model_validator(mode="after")
    def _one_per_case(self) -> "MeetingOutcomesForm":
        references = [o.reference for o in self.outcomes]
        repeated = sorted({r for r in references if references.count(r) > 1})
        if repeated:
            raise ValueError(f"outcomes: {', '.join(repeated)} appear more than once")
        return self


def meeting_outcomes_form(terms: Mapping[str, str]) -> type[MeetingOutcomesForm]:
    """The meeting-outcomes form that reads each outcome as its Run form offers it under a rule set's `terms`:
    wt2015's as it is; another's outcomes by the rule set's review labels too (review_choices: wt2023's LCSPR)."""
    labels = review_choices(terms)
    return _outcomes_in(tuple(labels.items())) if labels else MeetingOutcomesForm


@lru_cache(maxsize=4)
def _outcomes_in(labels: tuple[tuple[str, str], ...]) -> type[MeetingOutcomesForm]:
    outcome = create_model("CaseOutcome", __base__=CaseOutcome, __module__=__name__, __doc__=CaseOutcome.__doc__)
    outcome.choice_labels = dict(labels)
    outcomes = copy.copy(MeetingOutcomesForm.model_fields["outcomes"])
    return create_model("MeetingOutcomesForm", __base__=MeetingOutcomesForm, __module__=__name__,
                        __doc__=MeetingOutcomesForm.__doc__, outcomes=(list[outcome], outcomes))  # type: ignore[valid-type]


class MeetingChangeForm(Form):
    """A meeting moved or cancelled: an exception to the group's meeting calendar."""

    on: date = Field(description="The date of the meeting to change, as the calendar shows it")
    to: AwareDatetime | None = Field(None, description="When the meeting is now held (empty: it is cancelled)")
    reason: Line = Field(description="Why the meeting changes (recorded with the change)")


# Words that appear in names on forms but identify no one ("Baby Testchild", "Mr Jordan Testparent").
NOT_IDENTIFYING = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "baby", "unknown", "unnamed", "child"})
MONTHS = {m: i for i, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for m in names}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<y>\d{4}|\d{2})"
DATES = [  # the ways a date is written in a sentence: 2026-07-03, 3/7/26, 3rd July 2026, July 3, 2026
    re.compile(r"\b(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.]" + _YEAR + r"\b"),
    re.compile(r"\b" + _DAY + r"\s+(?:of\s+)?(?P<mn>" + _MONTH + r")\b\.?(?:,?\s+" + _YEAR + r"\b)?"),
    re.compile(r"\b(?P<mn>" + _MONTH + r")\b\.?\s+" + _DAY + r"\b(?:,?\s+" + _YEAR + r"\b)?"),
]
BIRTH_WORDS = re.compile(r"\b(born|birth|d\.?\s?o\.?\s?b)\b", re.IGNORECASE)


def _plain(text: str) -> str:
    """Case, accents and curly quotes folded away, so 'ZOË' and 'zoe' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _name_parts(names: Iterable[str]) -> set[str]:
    parts = {part for name in names for part in re.findall(r"[^\W\d_]+", _plain(name))}
    return {part for part in parts if len(part) > 1 and part not in NOT_IDENTIFYING}


def _dates_in(text: str) -> Iterable[tuple[int, set[date]]]:
    """Each date written in `text`: where it starts, and the dates it may mean (day-first or
    month-first, 19yy or 20yy; none when it has no year)."""
    plain = _plain(text)
    for pattern in DATES:
        for found in pattern.finditer(plain):
            named = found.groupdict().get("mn")
            day, month = int(found["d"]), MONTHS[named] if named else int(found["m"])
            year = found["y"]
            years = [] if not year else [int(year)] if len(year) == 4 else [1900 + int(year), 2000 + int(year)]
            meanings = set()
            for d, m in {(day, month)} if named else {(day, month), (month, day)}:
                for y in years:
                    try:
                        meanings.add(date(y, m, d))
                    except ValueError:
                        continue
            yield found.start(), meanings


def check_no_identities(fields: dict[str, str | None], names: Sequence[str], dates_of_birth: Sequence[date]) -> None:
    """Refuse text meant to be anonymous that names someone from the case or gives a date of birth.

    `fields` maps each field's name (as the message should call it) to its text. A name counts if any
    part of it (first name, surname, either half of a double-barrelled name) is a word of the text;
    a date counts if it is one of `dates_of_birth` however written, or if it follows "born" or "date
    of birth". The ValueError names the field and the word's position, never the word: the refusal
    is logged and audited, and must not carry the name there.
    """
    parts = _name_parts(names)
    births = set(dates_of_birth)
    for field, text in fields.items():
        if not text:
            continue
        for number, word in enumerate(text.split(), start=1):
            if parts & set(re.findall(r"[^\W\d_]+", _plain(word))):
                raise ValueError(
                    f"{field}: word {number} is (part of) the name of someone in the case; "
                    "anonymised details describe people by age and relationship, never by name"
                )
        plain = _plain(text)
        for start, meanings in _dates_in(text):
            if meanings & births or BIRTH_WORDS.search(plain[max(0, start - 25):start]):
                before = plain[:start]
                number = len(before.split()) + (1 if not before or before[-1].isspace() else 0)
                raise ValueError(
                    f"{field}: word {number} gives a date of birth; anonymised details give ages, never dates of birth"
                )


def check_anonymised_details(form: DecisionForm, names: Sequence[str], dates_of_birth: Sequence[date]) -> None:
    """The National Panel's anonymised details (and the criteria explanation sent with them) name no
    one from the case and give no date of birth; raise ValueError naming the field otherwise."""
    if form.anonymised_details is None:
        return
    fields: dict[str, str | None] = {
        f"anonymised_details.{name}": value for name, value in form.anonymised_details.model_dump().items()
    }
    fields["criteria_explanation"] = form.criteria_explanation
    check_no_identities(fields, names, dates_of_birth)

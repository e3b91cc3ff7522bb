"""Bad input, generated: every malformed form is refused with a message that names the field (the
referral's forms, and the review's after the decision).

A valid base of each form (the CIGSCR1 of examples/referral.yaml for the referral) is mutated one
way at a time: a required field dropped, a value of the wrong type, a date in the future, a date of
death before the date of birth, a line break or control character inside a name, text over its
limit, an unknown choice, a field the form does not have. Each must raise a pydantic
ValidationError whose description (config.loading.describe_errors, what `cig` prints) names the
field that was spoiled.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from casework.forms import (
    MAX_TEXT,
    AgencyReturnForm,
    AnonymisedDetails,
    DecisionForm,
    RecommendationForm,
    ReferralForm,
    ScreeningForm,
)
from casework.review.forms import (
    AppointmentForm, AvailabilityForm, EngagementForm, FamilyInvolvementForm, GroupMemberForm, MilestoneForm,
    NonPublicationForm, RatificationForm, ReviewPublicationForm, TermsForm,
)
from config.loading import describe_errors

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "referral.yaml"
TODAY = date(2026, 11, 20)
Path_ = tuple[str | int, ...]

ANONYMISED = {
    "nature_of_incident": "Non-accidental head injury to an infant",
    "ages_of_children": "4 months",
    "relationship_to_alleged_perpetrator": "parent",
    "agency_involvement": "health visiting; social care assessment",
    "criminal_investigation": "police investigation open",
}

BASES: dict[type[BaseModel], dict[str, Any]] = {
    ReferralForm: yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")),
    ScreeningForm: {"outcome": "decline", "reason": "Single-agency matter.", "decided_by": "Casey Chair",
                    "independent_chair_consulted": True},
    AgencyReturnForm: {"agency": "HEALTH", "status": "returned", "involvement": "Seen by the health visitor.",
                       "key_practitioners": ["Hana Visitor"], "attendees": ["Dr Hale Health"]},
    RecommendationForm: {"outcome": "further_information", "rationale": "Need the police timeline.",
                         "further_information_from": ["POL"]},
    DecisionForm: {"response": "challenge", "decision": "multi_agency_concise_review", "rationale": "Learning is local.",
                   "decided_by": "Indra Independent", "anonymised_details": dict(ANONYMISED),
                   "criteria_explanation": "No concern about joint working.", "lead_reviewers": []},
    AnonymisedDetails: dict(ANONYMISED),
    # the review's doors (casework.review.forms), as `cig review ...` and the review run's page give them
    AppointmentForm: {"reviewer": "Morgan Internal", "kind": "internal", "independent_of_agencies": False,
                      "agency": "CSC", "appointed_on": date(2026, 11, 19), "appointed_by": "Review group",
                      "email": "morgan.internal@example.org"},
    RatificationForm: {"by": "cig", "result": "returned", "on": date(2026, 11, 19),
                       "comments": "Say more about the school's referral."},
    ReviewPublicationForm: {"published_on": date(2026, 11, 19), "link": "https://northshire-scp.example.org/scr/7",
                            "response_link": "https://northshire-scp.example.org/scr/7-response",
                            "learning_shared": "Practitioner briefings.", "themes": ["neglect"]},
    NonPublicationForm: {"decided_on": date(2026, 11, 19), "decided_by": "Partnership board",
                         "reason": "Publication would identify the surviving siblings.",
                         "improvements_link": "https://northshire-scp.example.org/scr/8-improvements"},
    EngagementForm: {"agency": "POL", "confirmed_by": "DI Pat Police", "confirmed_on": date(2026, 11, 19)},
    GroupMemberForm: {"group": "case", "name": "Quinn Healthvisitor", "agency": "HEALTH", "role": "Health visitor",
                      "email": "q.healthvisitor@example.org"},
    MilestoneForm: {"stage": "planning_meeting", "done_on": date(2026, 11, 19), "by": "Bailey Manager",
                    "note": "Half a day; criteria confirmed.", "document": "https://northshire-scp.example.org/docs/1"},
    TermsForm: {"terms_of_reference": "How information was shared.", "scope": "July to November 2026; all agencies.",
                "agreed_on": date(2026, 11, 19)},
    FamilyInvolvementForm: {"involvement": "not_possible", "on": date(2026, 11, 19),
                            "reason": "Criminal proceedings are ongoing."},
    AvailabilityForm: {"availability": "on_request", "decided_on": date(2026, 11, 19)},
}

# Fields by kind, per form. Every path here must be refused when spoiled in the named way.
REQUIRED: dict[type[BaseModel], list[Path_]] = {
    ReferralForm: [("notified_on",), ("reasons",), ("case_summary",), ("child",), ("child", "name"),
                   ("child", "date_of_birth"), ("agency",), ("named_lead",), ("referrer_email",), ("completed_on",),
                   ("facts",), ("facts", "abuse_or_neglect_suspected"), ("facts", "child_died"),
                   ("significant_people", 0, "name"), ("significant_people", 0, "relationship"),
                   ("route",), ("route", "reviewed_with_safeguarding_lead_on"), ("route", "safeguarding_lead")],
    ScreeningForm: [("outcome",), ("decided_by",), ("independent_chair_consulted",), ("reason",)],
    AgencyReturnForm: [("agency",), ("status",), ("involvement",)],
    RecommendationForm: [("outcome",), ("rationale",), ("further_information_from",)],
    # anonymised_details may be left out when the case's SIN is recorded (the store refuses it otherwise)
    DecisionForm: [("response",), ("decision",), ("rationale",), ("decided_by",),
                   ("criteria_explanation",), ("anonymised_details", "nature_of_incident"),
                   ("anonymised_details", "criminal_investigation")],
    AnonymisedDetails: [(k,) for k in ANONYMISED],
    AppointmentForm: [("reviewer",), ("kind",), ("appointed_on",), ("appointed_by",), ("agency",)],  # internal: its agency
    RatificationForm: [("by",), ("result",), ("on",), ("comments",)],  # returned: what must change
    ReviewPublicationForm: [("published_on",), ("link",), ("response_link",)],
    NonPublicationForm: [("decided_on",), ("decided_by",), ("reason",)],
    EngagementForm: [("agency",), ("confirmed_by",), ("confirmed_on",)],
    GroupMemberForm: [("group",), ("name",), ("agency",), ("role",), ("email",)],
    MilestoneForm: [("stage",), ("done_on",), ("by",)],  # done: when and by whom
    TermsForm: [("terms_of_reference",), ("scope",), ("agreed_on",)],
    FamilyInvolvementForm: [("involvement",), ("on",), ("reason",)],  # not possible: why
    AvailabilityForm: [("availability",), ("decided_on",)],
}

TYPED: dict[type[BaseModel], list[Path_]] = {
    ReferralForm: REQUIRED[ReferralForm] + [("significant_people",), ("significant_people", 0),
                                            ("significant_people", 0, "date_of_birth"), ("facts", "looked_after"),
                                            ("facts", "seriously_harmed")],
    ScreeningForm: REQUIRED[ScreeningForm],
    AgencyReturnForm: REQUIRED[AgencyReturnForm] + [("key_practitioners",), ("key_practitioners", 0),
                                                    ("attendees",), ("attendees", 0)],
    RecommendationForm: REQUIRED[RecommendationForm] + [("further_information_from", 0)],
    DecisionForm: REQUIRED[DecisionForm] + [("lead_reviewers",)],
    AnonymisedDetails: REQUIRED[AnonymisedDetails],
    AppointmentForm: REQUIRED[AppointmentForm] + [("independent_of_agencies",), ("email",)],
    RatificationForm: REQUIRED[RatificationForm],
    ReviewPublicationForm: REQUIRED[ReviewPublicationForm] + [("learning_shared",), ("themes",), ("themes", 0)],
    NonPublicationForm: REQUIRED[NonPublicationForm] + [("improvements_link",)],
    EngagementForm: REQUIRED[EngagementForm],
    GroupMemberForm: REQUIRED[GroupMemberForm],
    MilestoneForm: REQUIRED[MilestoneForm] + [("note",), ("document",)],
    TermsForm: REQUIRED[TermsForm],
    FamilyInvolvementForm: REQUIRED[FamilyInvolvementForm],
    AvailabilityForm: REQUIRED[AvailabilityForm],
}

PAST_DATES: dict[type[BaseModel], list[Path_]] = {
    ReferralForm: [("notified_on",), ("completed_on",), ("route", "reviewed_with_safeguarding_lead_on"),
                   ("child", "date_of_birth"), ("significant_people", 0, "date_of_birth")],
    AppointmentForm: [("appointed_on",)],
    RatificationForm: [("on",)],
    ReviewPublicationForm: [("published_on",)],
    NonPublicationForm: [("decided_on",)],
    EngagementForm: [("confirmed_on",)],
    MilestoneForm: [("done_on",)],
    TermsForm: [("agreed_on",)],
    FamilyInvolvementForm: [("on",)],
    AvailabilityForm: [("decided_on",)],
}

NAMES = {  # single-line fields (Name, Line) and their limits
    ReferralForm: {("child", "name"): 120, ("named_lead",): 120, ("route", "safeguarding_lead"): 300,
                   ("significant_people", 0, "name"): 120, ("significant_people", 1, "relationship"): 300},
    ScreeningForm: {("decided_by",): 120},
    AgencyReturnForm: {("key_practitioners", 0): 120, ("attendees", 0): 120},
    DecisionForm: {("decided_by",): 120, ("anonymised_details", "ages_of_children"): 300},
    AnonymisedDetails: {("ages_of_children",): 300, ("relationship_to_alleged_perpetrator",): 300,
                        ("criminal_investigation",): 300},
    AppointmentForm: {("reviewer",): 120, ("appointed_by",): 120},
    NonPublicationForm: {("decided_by",): 120},
    EngagementForm: {("confirmed_by",): 120},
    GroupMemberForm: {("name",): 120, ("role",): 300},
    MilestoneForm: {("by",): 120},
    ReviewPublicationForm: {("themes", 0): 80},
}

TEXTS = {  # free text (line breaks allowed, other control characters not)
    ReferralForm: [("reasons",), ("case_summary",)],
    ScreeningForm: [("reason",)],
    AgencyReturnForm: [("involvement",)],
    RecommendationForm: [("rationale",)],
    DecisionForm: [("rationale",), ("criteria_explanation",), ("anonymised_details", "agency_involvement")],
    AnonymisedDetails: [("nature_of_incident",), ("agency_involvement",)],
    RatificationForm: [("comments",)],
    ReviewPublicationForm: [("learning_shared",)],
    NonPublicationForm: [("reason",)],
    MilestoneForm: [("note",)],
    TermsForm: [("terms_of_reference",), ("scope",)],
    FamilyInvolvementForm: [("reason",)],
}

CHOICES = {  # fields with a fixed set of values (enums, literals, agency-code pattern, email pattern)
    ReferralForm: [("agency",), ("referrer_email",)],
    ScreeningForm: [("outcome",)],
    AgencyReturnForm: [("agency",), ("status",)],
    RecommendationForm: [("outcome",), ("further_information_from", 0)],
    DecisionForm: [("response",), ("decision",)],
    AppointmentForm: [("kind",), ("agency",), ("email",)],
    RatificationForm: [("by",), ("result",)],
    ReviewPublicationForm: [("link",), ("response_link",)],
    NonPublicationForm: [("improvements_link",)],
    EngagementForm: [("agency",)],
    GroupMemberForm: [("group",), ("agency",), ("email",)],
    MilestoneForm: [("document",)],
    FamilyInvolvementForm: [("involvement",)],
    AvailabilityForm: [("availability",)],
}

CONTROL_CHARS = [chr(c) for c in range(0x20)] + ["\x7f"]
CONTROL_IN_TEXT = [c for c in CONTROL_CHARS if c not in "\t\n\r"]
NOT_A_CHOICE = st.sampled_from(["", "maybe", "P OL", "pol", "Accept", "scr;", "X" * 13, "<b>", "Robert'); DROP TABLE cases;--"])


def field_name(path: Path_) -> str:
    """The last named part of a path: the field a message must name."""
    return next(str(p) for p in reversed(path) if isinstance(p, str))


def get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def put(data: Any, path: Path_, value: Any) -> None:
    get(data, path[:-1])[path[-1]] = value


def drop(data: Any, path: Path_) -> None:
    parent = get(data, path[:-1])
    if isinstance(parent, list):
        parent.pop(path[-1])  # type: ignore[arg-type]
    else:
        del parent[path[-1]]


Mutation = tuple[str, type[BaseModel], dict[str, Any], str]  # (kind, form, spoiled data, field that must be named)


def malformed() -> st.SearchStrategy[Mutation]:
    """Any of the forms, spoiled one way."""
    return st.sampled_from(list(BASES)).flatmap(spoiled)


@st.composite
def spoiled(draw: st.DrawFn, form: type[BaseModel]) -> Mutation:
    """The valid base of `form`, spoiled one way (dates are judged with `today` = TODAY)."""
    data = copy.deepcopy(BASES[form])
    kinds = ["drop", "wrong_type", "extra"]
    kinds += ["future"] * (form in PAST_DATES) + ["death_before_birth"] * (form is ReferralForm)
    kinds += ["control", "oversized"] * (form in NAMES) + ["text_control", "text_oversized"] * (form in TEXTS)
    kinds += ["choice"] * (form in CHOICES)
    kind = draw(st.sampled_from(kinds))

    if kind == "drop":
        path = draw(st.sampled_from(REQUIRED[form]))
        drop(data, path)
    elif kind == "wrong_type":
        path = draw(st.sampled_from(TYPED[form]))
        current = get(data, path)
        if isinstance(current, list):
            wrong: Any = draw(st.sampled_from(["not a list", 42, {"x": 1}]))
        elif isinstance(current, dict):
            wrong = draw(st.sampled_from([["wrong"], "a string", 42]))
        else:  # a string, a date, a bool or an enum value
            wrong = draw(st.sampled_from([["wrong"], {"x": 1}, [2019, 2, 17]]))
        put(data, path, wrong)
    elif kind == "extra":
        name = draw(st.sampled_from(["notes", "child_name", "Subject", "bcc", "x_injected"]))
        data[name] = draw(st.sampled_from(["anything", 1, None, ["a"]]))
        path = (name,)
    elif kind == "future":
        path = draw(st.sampled_from(PAST_DATES[form]))
        put(data, path, TODAY + timedelta(days=draw(st.integers(1, 3650))))
    elif kind == "death_before_birth":
        path = ("child", "date_of_death")
        birth = data["child"]["date_of_birth"]
        put(data, path, birth - timedelta(days=draw(st.integers(1, 5000))))
        data["facts"]["child_died"] = True
    elif kind in ("control", "oversized"):
        path = draw(st.sampled_from(sorted(NAMES[form], key=str)))
        value = str(get(data, path))
        if kind == "control":
            at = draw(st.integers(1, len(value) - 1))
            value = value[:at] + draw(st.sampled_from(CONTROL_CHARS)) + value[at:]
        else:
            value = draw(st.sampled_from(["x", "Zé", "a b"])) * (NAMES[form][path] + 1)
            value = value[: draw(st.integers(NAMES[form][path] + 1, NAMES[form][path] * 3))].strip() + "z"
        put(data, path, value)
    elif kind in ("text_control", "text_oversized"):
        path = draw(st.sampled_from(TEXTS[form]))
        value = str(get(data, path))
        if kind == "text_control":
            at = draw(st.integers(1, len(value) - 1))
            value = value[:at] + draw(st.sampled_from(CONTROL_IN_TEXT)) + value[at:]
        else:
            value = "<p>" + "word " * (MAX_TEXT // 5) + "z" * draw(st.integers(1, 500))
        put(data, path, value)
    else:  # choice
        path = draw(st.sampled_from(CHOICES[form]))
        put(data, path, draw(NOT_A_CHOICE))
    return kind, form, data, field_name(path)


@settings(max_examples=800, deadline=None)
@given(malformed())
def test_malformed_form_is_refused_naming_the_field(mutation: Mutation) -> None:
    kind, form, data, field = mutation
    with pytest.raises(ValidationError) as refused:
        form.model_validate(data, context={"today": TODAY})
    lines = describe_errors(refused.value)
    assert lines, "a refusal says what is wrong"
    assert any(field in line for line in lines), f"{kind} of {field} in {form.__name__}: {lines}"
    for line in lines:  # every line starts with where the problem is (a field's name), then what it is
        where, _, what = line.partition(": ")
        assert where and what, line
        assert where.replace(".", "").replace("_", "").isalnum(), line


def test_limits_are_stated_in_the_refusal() -> None:
    data = copy.deepcopy(BASES[ReferralForm])
    data["child"]["name"] = "x" * 121
    data["case_summary"] = "y" * (MAX_TEXT + 1)
    with pytest.raises(ValidationError) as refused:
        ReferralForm.model_validate(data, context={"today": TODAY})
    lines = describe_errors(refused.value)
    assert any(line.startswith("child.name:") and "120" in line for line in lines), lines
    assert any(line.startswith("case_summary:") and str(MAX_TEXT) in line.replace(",", "").replace("_", "") for line in lines), lines


@pytest.mark.parametrize("form", list(BASES), ids=lambda f: f.__name__)
def test_the_bases_are_valid(form: type[BaseModel]) -> None:
    """The mutations spoil valid forms: what is refused is refused for the spoiling."""
    form.model_validate(copy.deepcopy(BASES[form]), context={"today": TODAY})

"""The forms of a review's steps: the person's decisions the review's run waits for (appointment,
ratification, publication), the decision not to publish, and the facts recorded with `cig review ...` (engagement, people,
milestones, terms of reference, family involvement). Every field has a description; cross-field
rules are validators that name the field.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, create_model, field_validator, model_validator

from casework.forms import (
    AgencyCode, Email, Form, Line, Link, Name, PublicationForm, Text, fields_described, not_in_future,
)
from casework.review.rules import (
    RATIFIER_WORDS, SEED_ORDER, Availability, FamilyInvolvement, RatificationResult, Ratifier, ReviewerKind, sign_off_order,
)

if TYPE_CHECKING:
    from config.rulesets import RuleSet


class AppointmentForm(Form):
    """Appointment of a lead reviewer (seed 001 §5.6); for an SCR the National Panel is told."""

    reviewer: Name = Field(description="The lead reviewer's name")
    kind: ReviewerKind = Field(description="**independent** of the case (for an SCR: of every agency), or **internal**")
    independent_of_agencies: bool = Field(
        False, description="For a Serious Case Review: I confirm the lead reviewer is fully independent of all the "
        "partnership's agencies")
    agency: AgencyCode | None = Field(None, description="For an internal lead reviewer: the agency they come from")
    appointed_on: date = Field(description="The date of the appointment (e.g. the review group planning meeting)")
    appointed_by: Name = Field(description="Who appointed them (e.g. the review group, the partnership chair)")
    email: Email | None = Field(None, description="The lead reviewer's email address: the deadline sweep reminds them "
                                "of the review's milestones")

    _past = field_validator("appointed_on")(not_in_future)

    @model_validator(mode="after")
    def _internal_names_agency(self) -> "AppointmentForm":
        if self.kind is ReviewerKind.internal and not self.agency:
            raise ValueError("agency: name the agency an internal lead reviewer comes from")
        return self


def appointment_form(rules: RuleSet) -> type[AppointmentForm]:
    """The appointment's form under `rules`: wt2015's as it is; another rule set's says its review (wt2023: an
    LCSPR) and its Panel in its terms."""
    terms = rules.terms
    words = (terms.get("scr", "Serious Case Review"), terms.get("scr_short", "SCR"), terms.get("panel_short", "Panel"))
    return AppointmentForm if words == ("Serious Case Review", "SCR", "National Panel") else _appointment_in(*words)


@lru_cache(maxsize=4)
def _appointment_in(review: str, short: str, panel: str) -> type[AppointmentForm]:
    the_panel = panel if panel.startswith("the ") else f"the {panel}"
    fields = fields_described(
        AppointmentForm,
        kind=f"**independent** of the case (for an {short}: of every agency), or **internal**",
        independent_of_agencies=f"For a {review}: I confirm the lead reviewer is fully independent of all the "
        "partnership's agencies")
    return create_model("AppointmentForm", __base__=AppointmentForm, __module__=__name__, **fields, __doc__=(
        f"Appointment of a lead reviewer; for an {short} {the_panel} is told."))


class RatificationForm(Form):
    """The drafts before the CIG, the executive group or the partnership board: ratified, or returned."""

    by: Ratifier = Field(title="Considered by", description="Who considered them: the CIG (draft report and "
                         "findings), the executive group (action plans) or the partnership board (final report and "
                         "action plans)")
    result: RatificationResult = Field(description="**ratified**, or **returned** with comments (revised and back again)")
    on: date = Field(description="The date of the meeting")
    comments: Text | None = Field(None, description="When returned: what must change")

    _past = field_validator("on")(not_in_future)
    offered = {"by": tuple(body.value for body in SEED_ORDER)}  # wt2015's bodies; another rule set's: ratification_form

    @model_validator(mode="after")
    def _returned_says_why(self) -> "RatificationForm":
        if self.result is RatificationResult.returned and not self.comments:
            raise ValueError("comments: say what must change when the drafts are returned")
        return self


def ratification_form(rules: RuleSet) -> type[RatificationForm]:
    """The drafts' form under `rules`: wt2015's as it is (the CIG, the executive group, the board); a rule set with
    other signing bodies (wt2023: the safeguarding partners) offers only those, in its words."""
    order = sign_off_order(rules)
    return RatificationForm if order == SEED_ORDER else _ratification_by(order)


@lru_cache(maxsize=4)
def _ratification_by(order: tuple[Ratifier, ...]) -> type[RatificationForm]:
    bodies = " or ".join(RATIFIER_WORDS[body] for body in order)

    def listed(cls: type[BaseModel], value: Ratifier) -> Ratifier:
        if value not in order:
            raise ValueError(f"by: the drafts are considered by {bodies}")
        return value

    return type("RatificationForm", (RatificationForm,), {
        "__module__": __name__, "__doc__": f"The drafts before {bodies}: signed off, or returned.",
        "__annotations__": {"by": Ratifier},
        "by": Field(title="Considered by", description=f"Who considered them: {bodies}"),
        "offered": {"by": tuple(body.value for body in order)},
        "_listed": field_validator("by")(listed),
    })


class ReviewPublicationForm(PublicationForm):
    """Publication of the final report with the partnership's response alongside (seed 002)."""

    response_link: Link = Field(description="Where the partnership's response to the findings is published")


class NonPublicationForm(Form):
    """The partnership decides not to publish the final report (e.g. to protect a surviving child); the case
    can then close without a publication."""

    decided_on: date = Field(description="When the partnership decided not to publish")
    decided_by: Name = Field(description="Who decided (e.g. the partnership board, the partnership chair)")
    reason: Text = Field(description="Why the report is not published (no names, no dates of birth)")
    improvements_link: Link | None = Field(
        None, description="Where the improvements to be made after the review are published instead, if they are")

    _past = field_validator("decided_on")(not_in_future)


class EngagementForm(Form):
    """An agency confirms its engagement with the review (seed 002: "Engagement with review process assured")."""

    agency: AgencyCode = Field(description="The agency")
    confirmed_by: Name = Field(description="Who confirmed it for the agency")
    confirmed_on: date = Field(description="The date it was confirmed")

    _past = field_validator("confirmed_on")(not_in_future)


class Group(StrEnum):
    review = "review"  # the review panel: senior managers of the agencies involved (seed 001 §5.6)
    case = "case"  # the practitioners and managers involved in the case (seed 001 §5.7)


class GroupMemberForm(Form):
    """A member of the review group or the case group (sealed: the partnership file does not list them)."""

    group: Group = Field(description="**review** group (senior managers) or **case** group (practitioners)")
    name: Name = Field(description="Their name")
    agency: AgencyCode = Field(description="Their agency")
    role: Line = Field(description="Their role, e.g. 'Head of Service', 'Health visitor'")
    email: Email = Field(description="Their email address")


class MilestoneForm(Form):
    """A milestone of the review's plan: done (date, who, note, document), or re-planned with a reason."""

    stage: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", description="The milestone's code in the plan")
    done_on: date | None = Field(None, description="When it was done")
    by: Name | None = Field(None, description="Who did it / records it")
    note: Text | None = Field(None, description="A note")
    document: Link | None = Field(None, description="A document, as a link")
    replan_to: date | None = Field(None, description="A new target date, instead of marking it done")
    reason: Text | None = Field(None, description="Why it is re-planned")

    _past = field_validator("done_on")(not_in_future)

    @model_validator(mode="after")
    def _done_or_replanned(self) -> "MilestoneForm":
        if (self.done_on is None) == (self.replan_to is None):
            raise ValueError("done_on: give either the date it was done or a new target date, not both")
        if self.done_on is not None and not self.by:
            raise ValueError("by: say who did it")
        if self.replan_to is not None and not self.reason:
            raise ValueError("reason: say why the milestone is re-planned")
        return self


class TermsForm(Form):
    """Terms of reference and scope, agreed at the review group planning meeting."""

    terms_of_reference: Text = Field(description="The terms of reference")
    scope: Text = Field(description="The scope: period, agencies, questions")
    agreed_on: date = Field(description="The date of the planning meeting")

    _past = field_validator("agreed_on")(not_in_future)


class FamilyInvolvementForm(Form):
    """The family's and child's involvement (seed 001 footnote 9): complete, or not possible and why."""

    involvement: FamilyInvolvement = Field(description="**complete**, or **not_possible**")
    on: date = Field(description="When it was completed, or found not possible")
    reason: Text | None = Field(None, description="When not possible: why")

    _past = field_validator("on")(not_in_future)

    @model_validator(mode="after")
    def _not_possible_says_why(self) -> "FamilyInvolvementForm":
        if self.involvement is FamilyInvolvement.not_possible and not self.reason:
            raise ValueError("reason: say why the family's involvement was not possible")
        return self


class ReviewDocumentKind(StrEnum):
    draft_report = "draft_report"  # the draft report and findings, for the CIG
    action_plans = "action_plans"  # the multi- and single-agency action plans, for the executive group
    final_report = "final_report"  # the final report, for the partnership board and publication


class ReviewDocumentForm(Form):
    """A lead reviewer's draft or final report, uploaded as a PDF, Word (.docx) or OpenDocument (.odt) file
    (checked by its content, as a CIGINF1 return is; 10 MB at most); the file comes with the form."""

    kind: ReviewDocumentKind = Field(description="Which document: the draft report and findings (for the CIG), the "
                                     "action plans (for the executive group) or the final report (for the partnership "
                                     "board)")


class AvailabilityForm(Form):
    """Twelve months after publication: the report stays published, or becomes available on request."""

    availability: Availability = Field(description="**stays_published** or **on_request**")
    decided_on: date = Field(description="When it was decided")

    _past = field_validator("decided_on")(not_in_future)


class FullReportForm(Form):
    """Working Together 2023: the full final report (the latest uploaded) sent to the Child Safeguarding Practice
    Review Panel and the Secretary of State, at least 7 working days before the publication date."""

    publication_on: date = Field(description="The date the final report is to be published (at least 7 working "
                                 "days from today)")


class PublicationDelayForm(Form):
    """Working Together 2023: the Panel and the Secretary of State are told that publication is delayed, and why."""

    reasons: Text = Field(description="Why publication is delayed (no names, no dates of birth)")
    expected_on: date | None = Field(None, description="When the final report is now expected to be published, if known")

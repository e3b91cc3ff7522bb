"""The forms of learning and improvement: an action of a plan, its recorded update, the committee's outcome,
the learning summary's human fields, and a dissemination. Every field has a description; cross-field rules
are validators that name the field.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator, model_validator

from casework.forms import AgencyCode, Email, Form, Line, Link, Name, Text, not_in_future, today_from
from casework.learning.rules import ImpactOutcome, Plan


class ActionForm(Form):
    """One action of a review's multi-agency or single-agency learning and improvement plan."""

    plan: Plan = Field(description="The multi-agency plan (the training officer's) or the agency's own single-agency plan")
    finding: Text = Field(description="The finding or recommendation the action answers")
    action: Text = Field(description="The learning and improvement action")
    agency: AgencyCode = Field(
        description="The agency responsible (its member of the partnership's case review group is accountable for it)")
    lead_name: Name = Field(title="Lead's name", description="The named lead with responsibility for the action")
    lead_email: Email = Field(title="Lead's email", description="The named lead's email address (reminders go there)")
    target_on: date = Field(title="Target date", description="The target date (timescale)")
    evidence_of_impact: Text = Field(title="Evidence of impact",
                                     description="The evidence of impact or practice improvement that will show it worked")


class SetStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


class ActionUpdateForm(Form):
    """A recorded update to an action: its status (done with evidence, dropped with a reason), a new target
    date, a new lead, or new wording; after ratification every update needs a reason."""

    number: int = Field(ge=1, title="Action number", description="The action's number in the review's plans (as its emails give it)")
    status: SetStatus | None = Field(None, description="**done** (with evidence), **dropped** (with a reason), or **open** again")
    evidence: Text | None = Field(None, description="The evidence that the action is done")
    done_on: date | None = Field(None, title="Done on", description="When it was done (default: today)")
    target_on: date | None = Field(None, title="New target date", description="A new target date")
    lead_name: Name | None = Field(None, title="New lead's name", description="A new named lead")
    lead_email: Email | None = Field(None, title="New lead's email", description="The new named lead's email address")
    action: Text | None = Field(None, title="New wording", description="New wording of the action")
    evidence_of_impact: Text | None = Field(None, title="New evidence of impact", description="New evidence of impact expected")
    reason: Text | None = Field(None, description="Why it changes (required once the plans are ratified, and to drop an action)")

    _past = field_validator("done_on")(not_in_future)

    @model_validator(mode="after")
    def _consistent(self) -> "ActionUpdateForm":
        if self.status is SetStatus.done and not self.evidence:
            raise ValueError("evidence: say what shows the action is done")
        if self.status is SetStatus.dropped and not self.reason:
            raise ValueError("reason: say why the action is dropped")
        if (self.lead_name is None) != (self.lead_email is None):
            raise ValueError("lead_email: a new lead needs both a name and an email address")
        if all(v is None for v in (self.status, self.target_on, self.lead_name, self.action, self.evidence_of_impact)):
            raise ValueError("status: the update changes nothing")
        return self


class OutcomeForm(Form):
    """The professional development committee's outcome for one action at the 6-month review."""

    number: int = Field(ge=1, description="The action's number")
    outcome: ImpactOutcome = Field(description="**impact_evidenced**, **more_needed**, or **replanned**")
    note: Text | None = Field(None, description="What the committee said")
    on: date = Field(description="The date of the committee's meeting")

    _past = field_validator("on")(not_in_future)


class LearningSummaryForm(Form):
    """What only people can write in the learning summary (seed 001 Appendix B); the rest comes from the case."""

    case_selection: Text = Field(description="How the case was selected for review")
    completed_on: date = Field(description="The date the review was completed")
    harmed_on: date | None = Field(
        None, description="The date the child was seriously harmed, if known (the summary gives its month and year "
        "as the incident's; where the child died, the date of death on the referral is used)")
    learning_about_case: Text = Field(description="What was learnt about the case (key themes, early learning)")
    learning_about_method: Text = Field(description="What was learnt about the review / methodology")
    single_agency_recommendations: Text = Field(description="Key single-agency recommendations")
    multi_agency_recommendations: Text = Field(description="Key multi-agency recommendations")
    who_is_doing_what: Text = Field(description="How the changes will be made and who is doing what")
    impact_audit: Text = Field(description="How impact will be audited")
    other_comments: Text | None = Field(None, description="Other comments")

    _harmed = field_validator("harmed_on")(not_in_future)


class DisseminationKind(StrEnum):
    learning_brief = "learning_brief"
    learning_session = "learning_session"  # the multi-agency learning session by the review's author
    training = "training"
    newsletter = "newsletter"
    regional_forum = "regional_forum"
    summary_report = "summary_report"  # the summary learning and improvement report to the partnership
    practice_audit = "practice_audit"  # the practice learning focus group audit that tested knowledge
    staff_questionnaire = "staff_questionnaire"


class DisseminationForm(Form):
    """How the learning went out (or was tested afterwards), recorded by the training officer."""

    kind: DisseminationKind = Field(description="What it was: learning_brief, learning_session, training, newsletter, "
                                    "regional_forum, summary_report, practice_audit, staff_questionnaire")
    on: date = Field(description="When")
    audience: Line = Field(description="Who it reached (e.g. 'all agencies' frontline staff', '42 practitioners')")
    note: Text | None = Field(None, description="What it covered, or what the audit or questionnaire found")
    by: Name = Field(description="Who records it (the training officer)")

    _past = field_validator("on")(not_in_future)


class IndexEntryForm(Form):
    """An audit that is not a case review (a multi-agency audit, a section 11 audit), entered in the learning
    and improvement index by hand."""

    review_type: Line = Field(description="Type of review or audit (e.g. 'multi-agency audit', 'section 11 audit')")
    name: Line = Field(description="Its name (e.g. 'Neglect: multi-agency case file audit')")
    reported_on: date | None = Field(None, description="The date it was reported to the partnership")
    overview: Text = Field(description="Case overview / methodology")
    findings: Text = Field(description="Summary of findings / learning")
    improvement_activity: Text = Field(description="Improvement activity")
    evidence_of_improvement: Text = Field(description="Evidence of improvement")

    _past = field_validator("reported_on")(not_in_future)


class ActionProgressForm(Form):
    """Progress on an action, reported by its named lead: what has been done so far (the action stays open)."""

    number: int = Field(ge=1, title="Action number", description="The action's number in the review's plans")
    progress: Text = Field(title="Progress so far", description="What has been done so far, and what is still to do")


class TargetDateRequestForm(Form):
    """A new target date asked for by the action's named lead, with the reason; the business manager accepts or
    declines it (until then the target date stands)."""

    number: int = Field(ge=1, title="Action number", description="The action's number in the review's plans")
    target_on: date = Field(title="The new target date asked for", description="The date the action can be done by")
    reason: Text = Field(description="Why the action cannot be done by its target date")

    @field_validator("target_on")
    @classmethod
    def _ahead(cls, value: date, info: ValidationInfo) -> date:
        if value <= today_from(info):
            raise ValueError("give a date after today")
        return value


class TargetDecision(StrEnum):
    accepted = "accepted"
    declined = "declined"


class TargetDateDecisionForm(Form):
    """The business manager's answer to a new target date asked for: accepted (the action's target date becomes
    it, recorded as an update with the lead's reason) or declined (the target date stands), with a note."""

    number: int = Field(ge=1, title="Action number", description="The action's number in the review's plans")
    decision: TargetDecision = Field(title="Your decision", description="**accepted** or **declined**")
    note: Text | None = Field(None, title="A note for the named lead",
                              description="What the named lead is told with the decision (needed to decline)")

    @model_validator(mode="after")
    def _declined_with_a_note(self) -> "TargetDateDecisionForm":
        if self.decision is TargetDecision.declined and not self.note:
            raise ValueError("note: say why the new date is declined")
        return self


class YearlyReportTexts(Form):
    """What only the safeguarding partners can write in their yearly report (Working Together 2023); the
    reviews, their clocks and the actions done come from the case records. Kept in a YAML file, one key per
    field, as the learning summary's texts are."""

    what_we_did: Text | None = Field(None, description="What the partners did in the period, in their words (the "
                                     "reviews commissioned, completed and published are added from the records)")
    impact: Text | None = Field(None, description="The impact of the learning from reviews on practice (the actions "
                                "done with their evidence are added from the records)")
    effectiveness: Text = Field(description="How effective the arrangements were")
    scrutiny: Text = Field(description="The independent scrutineer's findings")
    voice: Text = Field(description="How children's and families' voice shaped the work, and what they said")


class YearlyReportPublicationForm(Form):
    """The safeguarding partners' yearly report published: which period, when, and where; it is then sent to
    the rule set's recipients (the Child Safeguarding Practice Review Panel and the Secretary of State)."""

    period_starts_on: date = Field(title="First day of the period",
                                   description="The first day of the report's 12-month period, e.g. 2026-04-01")
    published_on: date = Field(title="Published on", description="The date the report was published")
    link: Link = Field(description="Where the report is published (an http or https address)")

    _past = field_validator("published_on")(not_in_future)

"""The partnership office's own forms: the meeting calendar (an extraordinary meeting added, a meeting moved or
cancelled), a case's personal links (a new link for an agency, links withdrawn) and the Panel's reply to a rapid
review (wt2023). One model per form, read by
every door: the Prefect UI's Run forms (flows/office.py) and `cig meeting` / `cig link`.

Each field says in plain words what to give; an optional field is one widget (Form's schema), dates and times
are the partnership's local ones. What needs the case database or the calendar (a meeting that is not there, a
case not waiting for a meeting, an agency not asked) is refused by casework.meetings.rescheduling and
casework.referral.actions, naming the field.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from pydantic import Field, field_validator, model_validator

from casework.forms import AgencyCode, Form, Line, Name, Text, not_in_future
from casework.referral.panel import PanelReply, check_panel_reply
from config.partnership import MeetingRule

REFERENCE_EXAMPLE = "NSCP-2026-0001"


def local_moment(on: date, at: time | None, rule: MeetingRule) -> datetime:
    """The moment (UTC) a meeting held on `on` at local time `at` (the group's usual start time when none) begins."""
    return datetime.combine(on, at or rule.start_time, tzinfo=rule.zone).astimezone(timezone.utc)


class MeetingAddForm(Form):
    """An extraordinary meeting of the group ("a further date to meet set"), added to the calendar."""

    on: date = Field(title="Date of the meeting", description="The day the group meets, e.g. 2027-01-12")
    starts_at: time | None = Field(None, title="Start time",
                                   description="Local time the meeting starts, e.g. 14:00. Leave empty for the "
                                   "group's usual start time")
    reason: Line = Field(title="Why the group meets", description="Recorded with the meeting, e.g. a further date to "
                         "meet set at the last meeting")
    cases: list[str] = Field(default_factory=list, title="Cases to consider at it",
                             description="The reference of each case to move to this meeting, e.g. "
                             f"{REFERENCE_EXAMPLE}; each must be waiting for a later meeting. Leave empty to list none")


class MeetingMoveForm(Form):
    """A coming meeting moved to another day or time; its cases stay listed for it, their returns re-dated."""

    on: date = Field(title="Date of the meeting", description="The day the meeting is now, as the calendar shows it, "
                     "e.g. 2027-01-12")
    to_on: date = Field(title="New date", description="The day it moves to, e.g. 2027-01-14")
    to_time: time | None = Field(None, title="New start time",
                                 description="Local time it starts on the new day, e.g. 10:00. Leave empty for the "
                                 "group's usual start time")
    reason: Line = Field(title="Why it moves", description="Recorded with the change and told to the members")


class MeetingCancelForm(Form):
    """A coming meeting cancelled; its cases go to the next meeting, their returns re-dated."""

    on: date = Field(title="Date of the meeting", description="The day of the meeting to cancel, as the calendar "
                     "shows it, e.g. 2027-01-12")
    reason: Line = Field(title="Why it is cancelled", description="Recorded with the change and told to the members")


class LinkResendForm(Form):
    """A new personal link for an agency asked for its CIGINF1 return; its earlier links stop working."""

    agency: AgencyCode = Field(title="Agency", description="The agency that needs a new link, e.g. its contact "
                               "lost the email or it went to the wrong person")


class LinkRevokeForm(Form):
    """A case's live personal links withdrawn: say when an email went to the wrong person."""

    agency: AgencyCode | None = Field(None, title="Only this agency's links",
                                      description="Leave empty to withdraw every live link of the case")


class PanelReplyForm(Form):
    """The Child Safeguarding Practice Review Panel's reply to a case's rapid review, as the administrator received it."""

    reply: PanelReply = Field(title="The Panel's reply", description="What the Panel answered to the rapid review")
    received_on: date = Field(title="Date of the reply", description="The day the Panel's reply arrived, e.g. 2027-01-12")
    reasons: Text | None = Field(None, title="What the Panel said",
                                 description="Its reasons when it disagrees, what it asks for when it asks for more "
                                 "information (required then); anything else it said otherwise")
    recorded_by: Name = Field(title="Recorded by", description="Who records the reply")

    _past = field_validator("received_on")(not_in_future)

    @model_validator(mode="after")
    def _what_the_panel_said(self) -> "PanelReplyForm":
        check_panel_reply(self.reply, self.reasons)
        return self

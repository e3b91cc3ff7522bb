"""The partnership office's own tasks as Run forms in the Prefect UI, so the administrator needs no shell:

- `record-sin`: a case's Serious Incident Notification (its dates, who completed it, its text), sent to Ofsted,
  the CIG chair, the business manager and the partnership chair unless it was sent before;
- `add-meeting`, `move-meeting`, `cancel-meeting`: the group's meeting calendar, the members told;
- `resend-link`, `revoke-links`: a case's personal links to the secure website;
- `tracker-workbook`: the case tracker as a workbook under the papers folder, named in an artifact;
- `record-panel-notification` (wt2023): the serious incident notification the local authority made through the
  Panel's online service (the day, who, the Panel's reference), which meets its 5-working-day clock;
- `record-panel-reply` (wt2023): the Child Safeguarding Practice Review Panel's reply to a case's rapid review.

Each form is the model `cig` reads (casework.forms, casework.office_forms) and records through the same casework
function (the same rules, audit and outbox), then sends at once what it queued (the deadline sweep sends it
otherwise). What the form's schema cannot check fails the run with one line naming the field in the form's words
as its state message, and nothing is recorded; the run keeps what was typed for "Copy to new run" until the
sweep's housekeeping deletes it (flows.launch.FORM_FLOWS). A recorded run is emptied of the form and renamed.

Needs the case database (through the office), the mail server and a Prefect API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE
from prefect.states import Failed, State
from pydantic import BaseModel, ValidationError

from casework.delivery import deliver_pending
from casework.forms import PanelNotificationForm, SeriousIncidentNotificationForm
from casework.meetings import rescheduling
from casework.office import Office, open_office
from casework.office_forms import (
    LinkResendForm, LinkRevokeForm, MeetingAddForm, MeetingCancelForm, MeetingMoveForm, PanelReplyForm, local_moment,
)
from casework.referral import actions
from flows.learning_actions import ActionRefused, check_form, empty_form_run, in_words, send_case_messages

SIN_ACTOR = "record-sin form"
MEETING_ACTOR = "meeting form"
LINK_ACTOR = "link form"
PANEL_NOTIFICATION_ACTOR = "record-panel-notification form"
PANEL_REPLY_ACTOR = "record-panel-reply form"
TRACKER_ACTOR = "tracker-workbook form"
TRACKER_WORKBOOK_KEY = "case-tracker-workbook"

# What casework calls a field, where the form calls it something else.
ADD_FIELDS = {"at": "on", "list": "cases"}
MOVE_FIELDS = {"to": "to_on"}

FormT = TypeVar("FormT", bound=BaseModel)
Outcome = TypeVar("Outcome")


def refusal_words(model: type[BaseModel], problem: Exception, fields: dict[str, str] | None = None) -> str:
    """What a casework refusal (a ValueError or LookupError, "field: why") says, one line naming the field as
    the form heads it: an unknown case is the Reference's fault, an unknown agency the Agency's."""
    text = str(problem)
    if text.startswith("unknown agency code"):
        return f"Agency: {text}"
    if text.startswith("no case with reference"):
        return f"Reference: {text}"
    name, colon, rest = text.partition(": ")
    if colon and fields and name in fields:
        text = f"{fields[name]}: {rest}"
    return in_words(model, text)


def _refused(what: str, refusal: str) -> State:
    problem = f"{what}: {refusal}"
    get_run_logger().error(problem)
    return Failed(message=problem)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return open_office().calendar.local_date(_now())


def _checked(model: type[BaseModel], form: BaseModel | dict[str, Any] | None) -> Any:
    return check_form(model, form, _today())


async def record_office_form(model: type[FormT], form: FormT | dict[str, Any] | None,
                             record: Callable[[FormT], Outcome | str], *, refused: str,
                             run_name: Callable[[FormT], str],
                             send: Callable[[], Awaitable[object]] | None = None) -> tuple[FormT, Outcome] | State:
    """An office form's one way through: `form` checked as `model`, recorded by `record` (a casework function
    through its task: what it gives, or why not as one line naming the field), what it queued sent by `send`, and
    the run emptied of the form and renamed `run_name`. The checked form and what `record` gave; or, nothing
    recorded, the Failed state whose message is `refused` and why."""
    try:
        checked = _checked(model, form)
    except ActionRefused as refusal:
        return _refused(refused, str(refusal))
    outcome = record(checked)
    if isinstance(outcome, str):
        return _refused(refused, outcome)
    if send is not None:
        await send()
    await empty_form_run(run_name(checked))
    return checked, outcome


@task(name="send_office_messages", cache_policy=NONE, persist_result=False)
async def send_office_messages() -> int:
    """Send every pending message now, once each (the meeting notices belong to no case); what cannot be sent
    yet stays queued for the sweep."""
    report = await deliver_pending(open_office())
    return len(report.sent)


# --- the Serious Incident Notification ---------------------------------------------------------------------

@task(name="record_serious_incident_notification", cache_policy=NONE, persist_result=False)
def record_serious_incident_notification(reference: str, form: SeriousIncidentNotificationForm) -> str | None:
    """Record the case's SIN as `cig sin record` does (audited; queued to its recipients unless sent before):
    None, or why not (one line naming the field; nothing recorded)."""
    try:
        actions.record_serious_incident_notification(open_office(), reference, form, document=None, now=_now(),
                                                     actor=SIN_ACTOR)
    except (ValueError, LookupError) as refused:
        return refusal_words(SeriousIncidentNotificationForm, refused)
    return None


@flow(name="record-sin", persist_result=False, validate_parameters=False)
async def record_sin(reference: str, notification: SeriousIncidentNotificationForm) -> str | State:
    """Record a case's Serious Incident Notification (SIN) and send it to Ofsted, the CIG chair, the business
    manager and the partnership chair (unless it was sent before).

    Args:
        reference: The case's reference, e.g. NSCP-2026-0001
        notification: The notification's dates, who completed it, and its text. This form takes no file: type or
            paste the notification's text
    """
    reference = reference.strip()

    def record(checked: SeriousIncidentNotificationForm) -> str | None:
        if not checked.notification:
            return "Notification: type or paste the notification's text"
        return record_serious_incident_notification(reference, checked)

    done = await record_office_form(SeriousIncidentNotificationForm, notification, record,
                                    refused=f"Serious Incident Notification not recorded for {reference}",
                                    run_name=lambda _: f"record-sin-{reference}",
                                    send=partial(send_case_messages, reference))
    if isinstance(done, State):
        return done
    get_run_logger().info("%s: Serious Incident Notification recorded", reference)
    return reference


# --- the serious incident notification made to the Panel (wt2023) -----------------------------------------

@task(name="record_panel_notification", cache_policy=NONE, persist_result=False)
def record_panel_notification_task(reference: str, form: PanelNotificationForm) -> str | None:
    """Record that the local authority made the case's serious incident notification, as
    `casework.referral.actions.record_panel_notification` does (audited; its clock met): None, or why not (one
    line naming the field; nothing recorded)."""
    try:
        actions.record_panel_notification(open_office(), reference, form, now=_now(), actor=PANEL_NOTIFICATION_ACTOR)
    except (ValueError, LookupError) as refused:
        return refusal_words(PanelNotificationForm, refused)
    return None


@flow(name="record-panel-notification", persist_result=False, validate_parameters=False)
async def record_panel_notification(reference: str, notification: PanelNotificationForm) -> str | State:
    """Record that the local authority notified the Child Safeguarding Practice Review Panel of a serious incident
    through the Panel's online service: the day, who made it, and the Panel's reference. It meets the
    notification's 5 working days, and the reminders about it stop.

    Args:
        reference: The case's reference, e.g. NSCP-2026-0001
        notification: When the local authority notified the Panel, who made the notification, and the Panel's
            reference
    """
    reference = reference.strip()
    done = await record_office_form(PanelNotificationForm, notification,
                                    partial(record_panel_notification_task, reference),
                                    refused=f"Serious incident notification not recorded for {reference}",
                                    run_name=lambda _: f"record-panel-notification-{reference}")
    if isinstance(done, State):
        return done
    get_run_logger().info("%s: the serious incident notification recorded as made", reference)
    return reference


# --- the Panel's reply to a rapid review (wt2023) ----------------------------------------------------------

@task(name="record_panel_reply", cache_policy=NONE, persist_result=False)
def record_panel_reply_task(reference: str, form: PanelReplyForm) -> str | None:
    """Record the Panel's reply to the case's rapid review (audited; its clock met): None, or why not (one line
    naming the field; nothing recorded)."""
    try:
        actions.record_panel_reply(open_office(), reference, form, now=_now(), actor=PANEL_REPLY_ACTOR)
    except (ValueError, LookupError) as refused:
        return refusal_words(PanelReplyForm, refused)
    return None


@flow(name="record-panel-reply", persist_result=False, validate_parameters=False)
async def record_panel_reply(reference: str, reply: PanelReplyForm) -> str | State:
    """Record the Child Safeguarding Practice Review Panel's reply to a case's rapid review: it agrees, disagrees
    (with its reasons), asks for more information, or will carry out a national review (shown on the tracker; the
    case's LCSPR, if one is under way, then stops and closes with the case, and those working on it are told).

    Args:
        reference: The case's reference, e.g. NSCP-2026-0001
        reply: What the Panel answered, when, what it said, and who records it
    """
    reference = reference.strip()
    done = await record_office_form(PanelReplyForm, reply, partial(record_panel_reply_task, reference),
                                    refused=f"The Panel's reply not recorded for {reference}",
                                    run_name=lambda _: f"record-panel-reply-{reference}",
                                    send=partial(send_case_messages, reference))  # a national review stops the LCSPR
    if isinstance(done, State):
        return done
    get_run_logger().info("%s: the Panel's reply recorded", reference)
    await wake_review_run_behind(reference)
    return reference


async def wake_review_run_behind(reference: str) -> None:
    """After the Panel's reply: a national review stops the case's review, whose run, suspended at its wait, is woken
    to finish (flows.review.wake_review_run; it wakes nothing when the review is at the wait it was). No review, or
    no answer from Prefect now: nothing to do here (the sweep's catch-up wakes a run left behind)."""
    from flows.review import wake_review_run

    try:
        if await wake_review_run(open_office(), reference):
            get_run_logger().info("%s: its review's run woken to finish", reference)
    except LookupError:  # no review: the partners decided no LCSPR
        pass
    except Exception as unreachable:  # the sweep's catch-up wakes it
        get_run_logger().warning("%s: its review's run not woken now (%s); the sweep wakes it", reference, unreachable)


# --- the meeting calendar ----------------------------------------------------------------------------------

def _in_local_words(moment: datetime) -> str:
    return moment.astimezone(open_office().partnership.meetings.zone).strftime("%A %-d %B %Y %H:%M")


@task(name="add_extraordinary_meeting", cache_policy=NONE, persist_result=False)
def add_extraordinary_meeting(form: MeetingAddForm) -> str | None:
    """Add the meeting and re-list the named cases for it, as `cig meeting add` does: None, or why not."""
    office = open_office()
    try:
        added = rescheduling.add_meeting(office, local_moment(form.on, form.starts_at, office.partnership.meetings),
                                         now=_now(), reason=form.reason, actor=MEETING_ACTOR,
                                         relist_cases=[c.strip() for c in form.cases])
    except (ValueError, LookupError) as refused:
        return refusal_words(MeetingAddForm, refused, ADD_FIELDS)
    get_run_logger().info("The extraordinary meeting of %s %s%s", _in_local_words(added.meeting.starts_at),
                          "is added" if added.added else "was already in the calendar",
                          f"; listed for it: {', '.join(added.relisted)}" if added.relisted else "")
    refresh_forms(office, added.relisted)
    return None


@task(name="change_meeting", cache_policy=NONE, persist_result=False)
def change_meeting(form: MeetingMoveForm | MeetingCancelForm) -> str | None:
    """Move or cancel the meeting, as `cig meeting move` / `cancel` do: None, or why not."""
    office = open_office()
    try:
        if isinstance(form, MeetingMoveForm):
            change = rescheduling.move_meeting(office, form.on, local_moment(form.to_on, form.to_time,
                                                                             office.partnership.meetings),
                                               now=_now(), reason=form.reason, actor=MEETING_ACTOR)
        else:
            change = rescheduling.cancel_meeting(office, form.on, now=_now(), reason=form.reason, actor=MEETING_ACTOR)
    except (ValueError, LookupError) as refused:
        return refusal_words(type(form), refused, MOVE_FIELDS)
    what = f"moved to {_in_local_words(change.now_at)}" if change.now_at else "cancelled"
    get_run_logger().info("The meeting of %s is %s; %d case(s) re-listed; %d notice(s) queued",
                          _in_local_words(change.was_at), what, len(change.relisted), change.queued)
    refresh_forms(office, change.relisted)
    return None


def refresh_forms(office: Office, relisted: list[str]) -> None:
    """The re-listed cases' runs show their forms again with the new meeting and dates (a failure is logged:
    the change is recorded, and the form shows it once its run next wakes)."""
    from prefect.utilities.asyncutils import run_coro_as_sync

    from flows.people import refresh_waiting_forms

    try:
        run_coro_as_sync(refresh_waiting_forms(office, relisted))
    except Exception as exc:  # the Prefect API: the meeting change stands without it
        get_run_logger().warning("The forms of %s still show the meeting before the change: %s", ", ".join(relisted), exc)


@flow(name="add-meeting", persist_result=False, validate_parameters=False)
async def add_meeting(meeting: MeetingAddForm) -> str | State:
    """Add an extraordinary meeting of the group to the calendar, and move the cases named to it.

    Args:
        meeting: When the group meets, why, and which cases it considers
    """
    done = await record_office_form(MeetingAddForm, meeting, add_extraordinary_meeting, refused="Meeting not added",
                                    run_name=lambda checked: f"add-meeting-{checked.on.isoformat()}",
                                    send=send_office_messages)
    if isinstance(done, State):
        return done
    checked, _ = done
    return checked.on.isoformat()


@flow(name="move-meeting", persist_result=False, validate_parameters=False)
async def move_meeting(meeting: MeetingMoveForm) -> str | State:
    """Move a coming meeting of the group; its cases stay listed for it and every member is told.

    Args:
        meeting: Which meeting, where it moves to, and why
    """
    done = await record_office_form(MeetingMoveForm, meeting, change_meeting, refused="Meeting not moved",
                                    run_name=lambda checked: f"move-meeting-{checked.on.isoformat()}",
                                    send=send_office_messages)
    if isinstance(done, State):
        return done
    checked, _ = done
    return checked.on.isoformat()


@flow(name="cancel-meeting", persist_result=False, validate_parameters=False)
async def cancel_meeting(meeting: MeetingCancelForm) -> str | State:
    """Cancel a coming meeting of the group; its cases go to the next meeting and every member is told.

    Args:
        meeting: Which meeting, and why
    """
    done = await record_office_form(MeetingCancelForm, meeting, change_meeting, refused="Meeting not cancelled",
                                    run_name=lambda checked: f"cancel-meeting-{checked.on.isoformat()}",
                                    send=send_office_messages)
    if isinstance(done, State):
        return done
    checked, _ = done
    return checked.on.isoformat()


# --- personal links ----------------------------------------------------------------------------------------

@task(name="reissue_return_link", cache_policy=NONE, persist_result=False)
def reissue_return_link(reference: str, form: LinkResendForm) -> str | None:
    """Withdraw the agency's links to its CIGINF1 request and queue it a new one (audited): None, or why not."""
    try:
        actions.resend_return_link(open_office(), reference, form.agency, now=_now(), actor=LINK_ACTOR)
    except (ValueError, LookupError) as refused:
        return refusal_words(LinkResendForm, refused)
    return None


@task(name="withdraw_case_links", cache_policy=NONE, persist_result=False)
def withdraw_case_links(reference: str, form: LinkRevokeForm) -> int | str:
    """Withdraw the case's live links (one agency's, or all; audited): how many, or why not."""
    try:
        return actions.revoke_case_links(open_office(), reference, agency=form.agency, now=_now(), actor=LINK_ACTOR)
    except (ValueError, LookupError) as refused:
        return refusal_words(LinkRevokeForm, refused)


@flow(name="resend-link", persist_result=False, validate_parameters=False)
async def resend_link(reference: str, link: LinkResendForm) -> str | State:
    """Email an agency a new link to its outstanding CIGINF1 request; its earlier links stop working.

    Args:
        reference: The case's reference, e.g. NSCP-2026-0001
        link: The agency that needs a new link
    """
    reference = reference.strip()
    done = await record_office_form(LinkResendForm, link, partial(reissue_return_link, reference),
                                    refused=f"No new link sent for {reference}",
                                    run_name=lambda checked: f"resend-link-{reference}-{checked.agency}",
                                    send=partial(send_case_messages, reference))
    if isinstance(done, State):
        return done
    checked, _ = done
    get_run_logger().info("%s: a new link sent to %s; its earlier links no longer work", reference, checked.agency)
    return checked.agency


@flow(name="revoke-links", persist_result=False, validate_parameters=False)
async def revoke_links(reference: str, links: LinkRevokeForm) -> int | State:
    """Withdraw a case's live personal links (one agency's, or all): they open no page again.

    Args:
        reference: The case's reference, e.g. NSCP-2026-0001
        links: Whose links to withdraw
    """
    reference = reference.strip()
    done = await record_office_form(
        LinkRevokeForm, links, partial(withdraw_case_links, reference), refused=f"No link withdrawn for {reference}",
        run_name=lambda checked: f"revoke-links-{reference}" + (f"-{checked.agency}" if checked.agency else ""))
    if isinstance(done, State):
        return done
    checked, withdrawn = done
    get_run_logger().info("%s: %d live link(s)%s withdrawn", reference, withdrawn,
                          f" of {checked.agency}" if checked.agency else "")
    return withdrawn


# --- the tracker workbook ----------------------------------------------------------------------------------

def workbook_markdown(path: Path, cases: int, overdue: int, columns: list[str], tracker_link: str | None,
                      now_words: str) -> str:
    """The artifact naming the workbook: where it is, what it holds; no case's details (those stay in the file)."""
    lines = [f"# Case tracker workbook, {now_words}", "",
             f"Written to the papers folder as **{path.name}** ({path.parent}): {cases} case(s), {overdue} with an "
             "overdue deadline. Open it from the papers folder; it is not copied into Prefect.", "",
             "Its columns: " + ", ".join(columns) + "."]
    if tracker_link:
        lines += ["", f"The same table, as of now: [the latest case tracker]({tracker_link})."]
    return "\n".join(lines) + "\n"


@task(name="write_tracker_workbook", cache_policy=NONE, persist_result=False)
def write_tracker_workbook() -> tuple[Path, int, int]:
    """Write the tracker (every case, no child's name or date of birth) under the papers folder, audited as
    `cig tracker` is: the file, how many cases, how many overdue."""
    from casework.oversight.exports import current_tracker, write_tracker_xlsx
    from casework.store import cases as store

    office = open_office()
    now = _now()
    rows = current_tracker(office, now=now)
    path = office.settings.papers_dir / f"case-tracker-{office.calendar.local_date(now).isoformat()}.xlsx"
    write_tracker_xlsx(rows, path, now=now)
    with office.sessions.begin() as session:
        store.audit(session, reference=None, actor=TRACKER_ACTOR, action="tracker exported", now=now, format="xlsx",
                    cases=len(rows))
    return path, len(rows), sum(1 for row in rows if row.overdue)


@flow(name="tracker-workbook", persist_result=False)
async def tracker_workbook() -> str:
    """Write the case tracker as a workbook (xlsx) under the papers folder and name it in the artifact
    case-tracker-workbook; the latest tracker table is published beside it."""
    from casework.oversight.tracker import COLUMNS
    from tasks.artifacts import publish_tracker, tracker_url

    path, cases, overdue = write_tracker_workbook()
    tracker_id = await publish_tracker()
    now = _now()
    columns = [column.heading for column in COLUMNS] + ["Overdue"]
    zone = open_office().partnership.meetings.zone
    await acreate_markdown_artifact(
        markdown=workbook_markdown(path, cases, overdue, columns, tracker_url(tracker_id), f"{now.astimezone(zone):%A %-d %B %Y %H:%M}"),
        key=TRACKER_WORKBOOK_KEY, description="The case tracker workbook: where it was written")
    get_run_logger().info("Case tracker workbook written: %s (%d case(s), %d overdue)", path.name, cases, overdue)
    return str(path)

"""`cig meeting`: the group's coming meetings and their cases; move, cancel or add one.

`cig meeting add DATETIME --reason ... [--list REF ...]` adds an extraordinary meeting ("a further
date to meet set"), audited; the named cases, if they await a meeting listed later, are re-listed
for it. DATETIME may be `now`: the group meets at once, and the recommendation can be recorded.

A move or cancellation is recorded as an exception to the partnership's recurrence rule, the
listed cases are re-listed with their returns re-dated, and every member agency, the CIG chair,
business manager, administrator and independent chair is told, with an updated calendar entry
(.ics) attached (the notices are sent at once when the mail server is reachable, else by the next
deadline sweep). Running the same command twice sends nothing twice.
Errors are raised as ValueError, which `cig` prints as a sentence with exit status 1.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Annotated

import typer

from casework.meetings import rescheduling
from casework.office import Office, open_office
from cli.subcommands import send_queued

app = typer.Typer(no_args_is_help=True, help="The group's meetings: list, move, cancel, add.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"on: '{text}' is not a date: write it as YYYY-MM-DD") from None


def _moment(text: str, office: Office) -> datetime:
    """YYYY-MM-DD (the usual start time) or YYYY-MM-DDTHH:MM, in the partnership's time zone."""
    rule = office.partnership.meetings
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"to: '{text}' is not a date and time: write it as YYYY-MM-DDTHH:MM (local time)") from None
    if len(text) == 10:
        value = datetime.combine(value.date(), rule.start_time)
    if value.tzinfo is None:
        value = value.replace(tzinfo=rule.zone)
    return value.astimezone(timezone.utc)


def _local(moment: datetime, office: Office) -> str:
    return moment.astimezone(office.partnership.meetings.zone).strftime("%a %d %b %Y %H:%M")


def _refresh_forms(office: Office, relisted: list[str]) -> None:
    """Wake the re-listed cases' suspended runs, so their forms show the new meeting and dates, when a Prefect
    API answers; without one, a form shows the change once its run next wakes."""
    import asyncio

    from flows.people import refresh_waiting_forms
    from tasks.reports import prefect_api_problem

    if relisted and asyncio.run(prefect_api_problem()) is None:
        asyncio.run(refresh_waiting_forms(office, relisted))


def _report(change: rescheduling.MeetingChange, office: Office, as_json: bool, sent: str) -> None:
    data = {
        "scheduled_on": change.scheduled_on.isoformat(),
        "was_at": change.was_at.isoformat(),
        "now_at": change.now_at.isoformat() if change.now_at else None,
        "relisted": change.relisted,
        "relisted_to": change.relisted_to.starts_at.isoformat() if change.relisted_to else None,
        "notices_queued": change.queued,
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    what = f"moved to {_local(change.now_at, office)}" if change.now_at else "cancelled"
    typer.echo(f"The meeting of {_local(change.was_at, office)} is {what}.")
    if change.relisted:
        where = _local(change.relisted_to.starts_at, office) if change.relisted_to else "-"
        typer.echo(f"Re-listed for {where}: {', '.join(change.relisted)}")
    typer.echo(f"{change.queued} notice(s) with a calendar update queued{sent}.")


@app.command("list")
def meeting_list(
    count: Annotated[int, typer.Option(min=1, max=24, help="How many meetings")] = 3, as_json: JsonOption = False
) -> None:
    """The next meetings (moves and cancellations applied) and the open cases listed for each."""
    office = open_office()
    listed = rescheduling.coming_meetings(office, now=_now(), count=count)
    if as_json:
        typer.echo(json.dumps([
            {"scheduled_on": m.meeting.scheduled_on.isoformat(), "starts_at": m.meeting.starts_at.isoformat(),
             "moved": m.meeting.moved, "extraordinary": m.meeting.extraordinary, "cases": m.references} for m in listed
        ], indent=2))
        return
    for item in listed:
        moved = f"  (moved from {item.meeting.scheduled_on:%a %d %b})" if item.meeting.moved else ""
        if item.meeting.extraordinary:
            moved = "  (extraordinary)"
        cases = ", ".join(item.references) or "no cases listed"
        typer.echo(f"{_local(item.meeting.starts_at, office)}{moved}  {cases}")


@app.command("move")
def meeting_move(
    on: Annotated[str, typer.Argument(help="The meeting's date, YYYY-MM-DD")],
    to: Annotated[str, typer.Argument(help="The new date and local time, YYYY-MM-DDTHH:MM (or a date: usual time)")],
    reason: Annotated[str, typer.Option(help="Why (recorded)")] = "moved by the administrator",
    as_json: JsonOption = False,
) -> None:
    """Move a meeting; its cases stay listed for it, their returns re-dated; members and officers are told."""
    office = open_office()
    change = rescheduling.move_meeting(office, _day(on), _moment(to, office), now=_now(), reason=reason,
                                       actor="cig meeting move")
    _refresh_forms(office, change.relisted)
    _report(change, office, as_json, send_queued(office))


@app.command("cancel")
def meeting_cancel(
    on: Annotated[str, typer.Argument(help="The meeting's date, YYYY-MM-DD")],
    reason: Annotated[str, typer.Option(help="Why (recorded)")] = "cancelled by the administrator",
    as_json: JsonOption = False,
) -> None:
    """Cancel a meeting; its cases go to the next meeting, their returns re-dated; members and officers are told."""
    office = open_office()
    change = rescheduling.cancel_meeting(office, _day(on), now=_now(), reason=reason, actor="cig meeting cancel")
    _refresh_forms(office, change.relisted)
    _report(change, office, as_json, send_queued(office))


@app.command("add")
def meeting_add(
    at: Annotated[str, typer.Argument(help="When, YYYY-MM-DDTHH:MM local time (a date: the usual time), or 'now'")],
    reason: Annotated[str, typer.Option(help="Why the group meets (recorded), e.g. 'a further date to meet set'")],
    list_cases: Annotated[list[str] | None, typer.Option("--list", help="A case to re-list for it (repeatable)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add an extraordinary meeting to the calendar; re-list the named cases for it (audited)."""
    office = open_office()
    now = _now()
    try:
        when = now if at.strip().lower() == "now" else _moment(at, office)
    except ValueError as bad:
        raise ValueError(f"at:{str(bad).split(':', 1)[1]}") from None
    added = rescheduling.add_meeting(office, when, now=now, reason=reason, actor="cig meeting add",
                                     relist_cases=list_cases or [])
    _refresh_forms(office, added.relisted)
    sent = send_queued(office) if added.queued else ""
    if as_json:
        typer.echo(json.dumps({"scheduled_on": added.meeting.scheduled_on.isoformat(),
                               "starts_at": added.meeting.starts_at.isoformat(), "added": added.added,
                               "relisted": added.relisted}, indent=2))
        return
    what = "added" if added.added else "was already in the calendar"
    typer.echo(f"The extraordinary meeting of {_local(added.meeting.starts_at, office)} {what}"
               + (f"; {added.queued} members told{sent}." if added.queued else "."))
    if added.relisted:
        typer.echo(f"Re-listed for it: {', '.join(added.relisted)}")

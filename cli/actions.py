"""`cig action` and `cig learning`: a review's learning and improvement plans and what follows them.

- `cig action add|update|list|import|template REF`: the multi-agency and single-agency actions, each with
  its finding, agency, named lead, target date and evidence of impact; after the executive group ratifies
  the plans, an action changes only through a recorded update with a reason.
- `cig learning pack|outcome|summary|disseminate|index`: the professional development committee's 6-month
  review (the pack emailed with an invitation, the outcome per action), the learning summary (Word and
  markdown), dissemination, and the learning and improvement index.

Everything is recorded at once in the case database (nothing waits in a Prefect run); every command takes
`--json`. Refusals name the field (or the spreadsheet's row and column) and change nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from casework.learning import actions as learning
from casework.learning.documents import index_markdown, index_xlsx
from casework.learning.forms import (
    ActionForm, ActionUpdateForm, DisseminationForm, IndexEntryForm, LearningSummaryForm, OutcomeForm,
)
from casework.learning.spreadsheet import plan_template, read_plan
from casework.office import open_office
from cli.subcommands import JsonOption
from cli.subcommands import emit as _emit
from cli.subcommands import form as _form
from cli.subcommands import now as _now
from cli.subcommands import send_queued

app = typer.Typer(no_args_is_help=True, help="A review's learning and improvement actions, with named leads.")
learning_app = typer.Typer(no_args_is_help=True, help="The 6-month review, the learning summary, dissemination, the index.")

DayOption = Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _plain(view: Any) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    return {k: (v.value if hasattr(v, "value") else v) for k, v in data.items()}


# --- cig action ----------------------------------------------------------------------------------

@app.command("add")
def add(
    reference: str,
    plan: Annotated[str, typer.Option(help="multi_agency or single_agency")],
    finding: Annotated[str, typer.Option(help="The finding or recommendation it answers")],
    action: Annotated[str, typer.Option(help="The action")],
    agency: Annotated[str, typer.Option(help="The agency code (its CIG member is accountable)")],
    lead_name: Annotated[str, typer.Option(help="The named lead")],
    lead_email: Annotated[str, typer.Option(help="The named lead's email (reminders go there)")],
    target: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Target date, YYYY-MM-DD")],
    evidence_of_impact: Annotated[str, typer.Option(help="The evidence of impact that will show it worked")],
    reason: Annotated[Optional[str], typer.Option(help="Why it is added (required once the plans are ratified)")] = None,
    by: Annotated[str, typer.Option(help="Who records it")] = "cig",
    as_json: JsonOption = False,
) -> None:
    """Add an action to the review's multi-agency or single-agency plan."""
    form = _form(ActionForm, {"plan": plan, "finding": finding, "action": action, "agency": agency,
                              "lead_name": lead_name, "lead_email": lead_email, "target_on": target.date(),
                              "evidence_of_impact": evidence_of_impact})
    office = open_office()
    [number] = learning.add_actions(office, reference, [form], now=_now(), actor=by, reason=reason)
    sent = send_queued(office, reference)  # the lead's notice
    _emit({"reference": reference, "number": number}, as_json,
          f"{reference}: action {number} added; {form.lead_name} {'will be' if sent else 'is'} told it is theirs{sent}.")


@app.command("update")
def update(
    reference: str,
    number: int,
    status: Annotated[Optional[str], typer.Option(help="done (with --evidence), dropped (with --reason), or open")] = None,
    evidence: Annotated[Optional[str], typer.Option(help="The evidence that it is done")] = None,
    done_on: DayOption = None,
    target: DayOption = None,
    lead_name: Annotated[Optional[str], typer.Option(help="A new named lead")] = None,
    lead_email: Annotated[Optional[str], typer.Option(help="The new lead's email")] = None,
    action: Annotated[Optional[str], typer.Option(help="New wording of the action")] = None,
    evidence_of_impact: Annotated[Optional[str], typer.Option(help="New evidence of impact expected")] = None,
    reason: Annotated[Optional[str], typer.Option(help="Why (required once the plans are ratified)")] = None,
    by: Annotated[str, typer.Option(help="Who records it")] = "cig",
    as_json: JsonOption = False,
) -> None:
    """Record an update to an action: done with evidence, dropped with a reason, a new target date or lead."""
    form = _form(ActionUpdateForm, {"number": number, "status": status, "evidence": evidence, "done_on": _day(done_on),
                                    "target_on": _day(target), "lead_name": lead_name, "lead_email": lead_email,
                                    "action": action, "evidence_of_impact": evidence_of_impact, "reason": reason})
    office = open_office()
    view = learning.update_action(office, reference, form, now=_now(), actor=by)
    sent = send_queued(office, reference) if lead_name is not None else ""  # the new lead's notice
    _emit(_plain(view), as_json, f"{reference}: action {view.number} is {view.status.value}, due "
          f"{view.target_on.isoformat()} ({view.updates} recorded update{'s' if view.updates != 1 else ''}){sent}.")


@app.command("list")
def list_actions(reference: str, as_json: JsonOption = False) -> None:
    """The review's actions, their leads, target dates, status and evidence; when the 6-month review is due."""
    office = open_office()
    plan = learning.plan_view(office, reference, today=office.calendar.local_date(_now()))
    data = {"reference": plan.reference, "ratified_on": plan.ratified_on, "impact_review_due": plan.impact_review_due,
            "actions": [_plain(a) for a in plan.actions]}
    _emit(data, as_json, learning.plan_text(plan))


@app.command("import")
def import_plan(
    reference: str,
    spreadsheet: Annotated[Path, typer.Argument(help="An .xlsx with a header row (see `cig action template`)")],
    reason: Annotated[Optional[str], typer.Option(help="Why (required once the plans are ratified)")] = None,
    by: Annotated[str, typer.Option(help="Who imports it")] = "cig",
    as_json: JsonOption = False,
) -> None:
    """Import a plan's actions from a spreadsheet: every row validated; refused whole, naming row and column."""
    office = open_office()
    forms = read_plan(spreadsheet.read_bytes(), today=_now().date(), agencies=set(office.partnership.agency_by_code))
    numbers = learning.add_actions(office, reference, forms, now=_now(), actor=by, reason=reason)
    sent = send_queued(office, reference)  # each lead's notice
    _emit({"reference": reference, "numbers": numbers}, as_json,
          f"{reference}: {len(numbers)} action{'s' if len(numbers) != 1 else ''} imported ({', '.join(map(str, numbers))}); "
          f"each named lead {'will be' if sent else 'is'} told{sent}.")


@app.command("template")
def template(out: Annotated[Path, typer.Argument(help="Where to write the blank plan (.xlsx)")]) -> None:
    """Write a blank plan spreadsheet with the header row `cig action import` reads."""
    out.write_bytes(plan_template())
    typer.echo(str(out))


# --- cig learning ----------------------------------------------------------------------------------

@learning_app.command("pack")
def pack(
    reference: Annotated[Optional[str], typer.Argument(help="The review (none: every review's actions)")] = None,
    meeting: Annotated[Optional[datetime], typer.Option(formats=["%Y-%m-%dT%H:%M"],
                                                        help="Email it with an invitation to this meeting (YYYY-MM-DDTHH:MM, local time)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write the pack's markdown here")] = None,
    as_json: JsonOption = False,
) -> None:
    """The 6-month review pack: every action with status and evidence, overdue first; emailed with --meeting."""
    office = open_office()
    the_pack, markdown = learning.impact_pack_for(office, reference, today=office.calendar.local_date(_now()))
    if out:
        out.write_text(markdown, encoding="utf-8")
    queued = 0
    if meeting is not None:
        meeting_at = meeting.replace(tzinfo=office.partnership.meetings.zone)
        queued = learning.send_impact_pack(office, reference, meeting_at=meeting_at, now=_now(), actor="cig")
    _emit({"title": the_pack.title, "counts": the_pack.counts, "queued": queued}, as_json,
          markdown + (f"\n{queued} message(s) queued for the committee (send with `cig outbox send`).\n" if meeting else ""))


@learning_app.command("outcome")
def outcome(
    reference: str,
    number: int,
    result: Annotated[str, typer.Option("--outcome", help="impact_evidenced, more_needed or replanned")],
    on: DayOption = None,
    note: Annotated[Optional[str], typer.Option(help="What the committee said")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the professional development committee's outcome for one action at the 6-month review."""
    form = _form(OutcomeForm, {"number": number, "outcome": result, "note": note, "on": _day(on) or _now().date()})
    [view] = learning.record_outcomes(open_office(), reference, [form], now=_now(), actor="professional development committee")
    _emit(_plain(view), as_json, f"{reference}: action {view.number}: {result.replace('_', ' ')}.")


@learning_app.command("summary")
def summary(
    reference: str,
    answers: Annotated[Optional[Path], typer.Argument(help="A YAML file of the summary's fields people write")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write <out>.docx and <out>.md (default: learning-summary-REF)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the learning summary (seed 001 Appendix B) from ANSWERS, or print the recorded one; always write the files."""
    import yaml

    office = open_office()
    if answers is not None:
        form = _form(LearningSummaryForm, yaml.safe_load(answers.read_text(encoding="utf-8")) or {})
        learning.record_summary(office, reference, form, now=_now(), actor="cig")
    markdown, docx = learning.summary_files(office, reference)
    stem = out or Path(f"learning-summary-{reference}")
    stem.with_suffix(".docx").write_bytes(docx)
    stem.with_suffix(".md").write_text(markdown, encoding="utf-8")
    _emit({"reference": reference, "docx": str(stem.with_suffix(".docx")), "markdown": str(stem.with_suffix(".md"))},
          as_json, markdown)


@learning_app.command("disseminate")
def disseminate(
    reference: str,
    kind: Annotated[str, typer.Option(help="learning_brief, learning_session, training, newsletter, regional_forum, "
                                           "summary_report, practice_audit, staff_questionnaire")],
    audience: Annotated[str, typer.Option(help="Who it reached")],
    by: Annotated[str, typer.Option(help="Who records it (the training officer)")],
    on: DayOption = None,
    note: Annotated[Optional[str], typer.Option(help="What it covered, or what the audit found")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record how the learning went out, or the audit or questionnaire that tested it."""
    form = _form(DisseminationForm, {"kind": kind, "audience": audience, "by": by, "note": note,
                                     "on": _day(on) or _now().date()})
    new = learning.record_dissemination(open_office(), reference, form, now=_now(), actor=by)
    _emit({"reference": reference, "recorded": new}, as_json,
          f"{reference}: {kind.replace('_', ' ')} recorded." if new else f"{reference}: already recorded.")


@learning_app.command("index")
def index(
    format: Annotated[str, typer.Option("--format", help="xlsx or md")] = "md",
    out: Annotated[Optional[Path], typer.Option(help="Where to write it (default learning-index.<format>)")] = None,
    artifact: Annotated[bool, typer.Option("--artifact", help="Also publish it as a Prefect artifact")] = False,
    as_json: JsonOption = False,
) -> None:
    """The learning and improvement index: one entry per review or audit, as .xlsx or markdown."""
    office = open_office()
    entries = learning.learning_index(office, today=office.calendar.local_date(_now()))
    title = f"{office.partnership.name}: learning and improvement index"
    if format not in ("xlsx", "md"):
        raise ValueError("format: xlsx or md")
    path = out or Path(f"learning-index.{format}")
    if format == "xlsx":
        path.write_bytes(index_xlsx(entries, title=title))
    else:
        path.write_text(index_markdown(entries, title=title), encoding="utf-8")
    if artifact:
        import asyncio

        from tasks.learning import publish_learning_index

        asyncio.run(publish_learning_index.fn())
    _emit({"file": str(path), "entries": len(entries)}, as_json, f"{path}: {len(entries)} entries")


@learning_app.command("audit")
def audit_entry(
    name: Annotated[str, typer.Option(help="The audit's name")],
    review_type: Annotated[str, typer.Option("--type", help="e.g. 'multi-agency audit', 'section 11 audit'")],
    overview: Annotated[str, typer.Option(help="Case overview / methodology")],
    findings: Annotated[str, typer.Option(help="Summary of findings / learning")],
    improvement_activity: Annotated[str, typer.Option(help="Improvement activity")],
    evidence_of_improvement: Annotated[str, typer.Option(help="Evidence of improvement")],
    reported_on: DayOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enter an audit that is not a case review (multi-agency, section 11) in the learning index."""
    form = _form(IndexEntryForm, {"name": name, "review_type": review_type, "overview": overview, "findings": findings,
                                  "improvement_activity": improvement_activity,
                                  "evidence_of_improvement": evidence_of_improvement, "reported_on": _day(reported_on)})
    new = learning.add_index_entry(open_office(), form, now=_now(), actor="cig")
    _emit({"name": name, "added": new}, as_json, f"{name}: {'entered in' if new else 'updated in'} the learning index.")


def annual_report_command(year: int, *, email: bool, as_json: bool) -> None:
    """`cig report --year YYYY`: the annual report section, written under the papers folder and emailed."""
    import asyncio

    from casework.delivery import deliver_pending
    from casework.learning.annual_publication import publish_annual_report

    if not 2000 <= year <= 2100:
        raise ValueError(f"--year: {year} is not a year")
    office = open_office()
    published = publish_annual_report(office, year, now=_now(), email=email)
    status = "not emailed"
    if email:
        delivered = asyncio.run(deliver_pending(office))
        status = "sent" if not (delivered.temporary_failures or delivered.permanent_failures) else "queued (see `cig outbox`)"
    _emit({"year": year, "markdown_path": str(published.markdown_path), "docx_path": str(published.docx_path),
           "chart_path": str(published.chart_path), "email": status,
           "actions_on_time": str(published.report.actions_on_time)}, as_json,
          published.markdown + f"\nwrote {published.markdown_path}, {published.docx_path} and {published.chart_path}\n"
          + (f"emailed to the board: {status}" if email else ""))

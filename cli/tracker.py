"""`cig tracker`, `cig timeline` and `cig report`: what managers see, from the command line.

`cig tracker --format xlsx|csv|json [--out FILE]` writes the case tracker (no child's name or
date of birth); `cig timeline REF` prints a case's story as its Prefect artifact shows it;
`cig report --month YYYY-MM` prints the month's performance report, writes it
with its chart under the papers folder, emails it to the managers' list and, when a Prefect API
answers, publishes the artifact `monthly-report-YYYY-MM` as the `monthly-report` deployment does.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.subcommands import CommandError, JsonOption, now, office, record_access


class TrackerFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"
    json = "json"


def tracker(
    format: Annotated[TrackerFormat, typer.Option("--format", "-f", help="xlsx, csv or json")] = TrackerFormat.xlsx,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="File to write (csv/json: default standard output)")] = None,
    as_json: JsonOption = False,
) -> None:
    """The case tracker: one row per case (reference, stage, dates, returns, notices, deadlines, breaches)."""
    from casework.oversight.exports import current_tracker, tracker_csv, tracker_json, write_tracker_xlsx

    if as_json:
        format = TrackerFormat.json

    the_office = office()
    moment = now()
    rows = current_tracker(the_office, now=moment)
    record_access(the_office, "tracker exported", format=format.value, cases=len(rows))
    if format is TrackerFormat.xlsx:
        path = out or the_office.settings.papers_dir / f"case-tracker-{moment.date().isoformat()}.xlsx"
        write_tracker_xlsx(rows, path, now=moment)
        overdue = sum(1 for r in rows if r.overdue)
        typer.echo(f"wrote {path}: {len(rows)} case(s), {overdue} with an overdue deadline")
        return
    text = tracker_csv(rows) if format is TrackerFormat.csv else tracker_json(rows)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}: {len(rows)} case(s)")


def _month(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m").date().replace(day=1)
    except ValueError:
        raise CommandError(f"--month: '{value}' is not a month as YYYY-MM, e.g. 2026-11") from None


def report(
    month: Annotated[Optional[str], typer.Option("--month", help="YYYY-MM (default: last month)")] = None,
    email: Annotated[bool, typer.Option("--email/--no-email", help="Email it to the managers' list")] = True,
    as_json: JsonOption = False,
    year: Annotated[Optional[int], typer.Option("--year", help="The annual report section on reviews and their "
                                                "impact for this year instead (emailed to the board)")] = None,
) -> None:
    """The monthly performance report: prints it, writes markdown and chart, emails the managers. With
    --year, the annual report section (markdown, Word, chart), emailed to the board contact."""
    if year is not None:
        from cli.actions import annual_report_command

        return annual_report_command(year, email=email, as_json=as_json)
    import asyncio

    from casework.oversight.report import last_month
    from casework.oversight.publication import publish_monthly_report

    the_office = office()
    moment = now()
    first = _month(month) if month else last_month(moment, the_office.calendar)
    published = publish_monthly_report(the_office, first, now=moment, email=email)
    artifact = _publish_report_artifact(first, published.artifact_markdown)
    status = "not emailed"
    if email:
        from casework.delivery import deliver_pending

        delivered = asyncio.run(deliver_pending(the_office))
        status = "sent" if not (delivered.temporary_failures or delivered.permanent_failures) else "queued (see `cig outbox`)"
    if as_json:
        typer.echo(json.dumps({"month": first.strftime("%Y-%m"), "markdown": published.markdown,
                               "markdown_path": str(published.markdown_path), "chart_path": str(published.chart_path),
                               "email": status, "artifact": artifact}, indent=2))
        return
    typer.echo(published.markdown)
    typer.echo(f"wrote {published.markdown_path} and {published.chart_path}")
    typer.echo(artifact)
    if email:
        typer.echo(f"emailed to the managers' list: {status}")


def _publish_report_artifact(month: date, markdown: str) -> str:
    """Publish the month's artifact as the `monthly-report` deployment does, when a Prefect API
    answers; says in words what was published, or why not (the files and email do not depend on it)."""
    import asyncio
    import warnings

    from tasks.artifacts import artifact_url
    from tasks.reports import create_report_artifact, prefect_api_problem, report_artifact_key

    key = report_artifact_key(month)
    problem = asyncio.run(prefect_api_problem())
    if problem is None:
        try:
            with warnings.catch_warnings():  # Prefect 3.9 warns that artifacts outside a run are deprecated
                warnings.simplefilter("ignore", FutureWarning)
                asyncio.run(create_report_artifact(month, markdown))
        except Exception as exc:  # the report is written and emailed all the same
            problem = f"the Prefect API refused it ({exc})"
    if problem:
        return f"not published as the Prefect artifact {key}: {problem}"
    return f"published the Prefect artifact {key}: {artifact_url(key)}"


def timeline(reference: str, as_json: JsonOption = False) -> None:
    """One case's story: what happened when and who did it, the notices, what is due next (as in the UI)."""
    from casework.store import cases as store
    from casework.oversight.timeline import case_timeline_markdown, people_of
    from tasks.artifacts import tracker_url

    the_office = office()
    with the_office.sessions() as session:
        case = store.get_case(session, reference=reference)
        text = case_timeline_markdown(
            case, store.audit_trail(session, reference=reference), store.messages_for(session, case_id=case.id),
            calendar=the_office.calendar, now=now(), terms=the_office.rules(case.regime).terms,
            people=people_of(the_office.partnership, the_office.rules(case.regime)), tracker_url=tracker_url(),
        )
    if as_json:
        typer.echo(json.dumps({"reference": reference, "markdown": text}, indent=2))
        return
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    """Add `tracker`, `timeline` and `report` to the `cig` app."""
    app.command("tracker")(tracker)
    app.command("timeline")(timeline)
    app.command("report")(report)

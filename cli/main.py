"""`cig`: submit referrals, record each person's step, and see cases, mail and the outbox.

Every command takes `--json` for scripts. Errors are printed in words and exit with status 1
(bad input or a refused step) or 2 (the system is not reachable); nothing is half-written.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml
from pydantic import BaseModel, ValidationError

from casework.referral import actions
from cli.meetings import app as meetings_app
from cli.links import app as links_app
from cli.review import app as review_app
from cli.actions import app as action_app, learning_app
from cli.tracker import register as register_tracker_commands
from casework.forms import (
    AgencyReturnForm,
    AnonymisedDetails,
    DecisionForm,
    PublicationForm,
    RecommendationForm,
    ReferralForm,
    ScreeningForm,
    SeriousIncidentNotificationForm,
)
from casework.model import REVIEW_LABELS, Recommendation, ReviewType

from casework.store import cases as store
from casework.oversight.timeline import case_timeline_markdown, people_of
from casework.referral.views import case_record
from config.loading import describe_errors

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
referral_app = typer.Typer(no_args_is_help=True, help="Referrals (CIGSCR1): submit, list, show.")
outbox_app = typer.Typer(help="Messages the system owes people: list, resend.", invoke_without_command=True)
keys_app = typer.Typer(no_args_is_help=True, help="Keys that seal personal data at rest.")
sin_app = typer.Typer(no_args_is_help=True, help="The Serious Incident Notification (SIN) of a case.")
app.add_typer(referral_app, name="referral")
app.add_typer(review_app, name="review")
app.add_typer(action_app, name="action")
app.add_typer(learning_app, name="learning")
app.add_typer(sin_app, name="sin")
app.add_typer(outbox_app, name="outbox")
app.add_typer(keys_app, name="keys")
app.add_typer(meetings_app, name="meeting")
app.add_typer(links_app, name="link")
register_tracker_commands(app)  # cig tracker, cig timeline, cig report

from cli.subcommands import CommandError, JsonOption, emit, now, office, record_access  # noqa: E402


def validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data, context={"today": now().date()})
    except ValidationError as exc:
        problems = "\n  ".join(describe_errors(exc))
        raise CommandError(f"the {model.__doc__.split(':')[0].strip() if model.__doc__ else 'form'} was refused:\n  {problems}") from None


def read_form_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CommandError(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected the form's fields as a mapping")
    return data


def submit_step(reference: str, step: str, form: BaseModel, as_json: bool) -> None:
    from flows.people import submit_step as hand_over

    result = asyncio.run(hand_over(office(), reference, step, form))
    told = f"{result.reference}: {step} recorded. The case is now {result.stage.value.replace('_', ' ')}."
    if result.run_words:  # recorded, but the case's run is dead: say so, and what the system does about it
        told += f"\nwarning: {result.run_words}"
    emit({"reference": result.reference, "step": step, "stage": result.stage.value,
          "run": result.run.name if result.run else None, "run_problem": result.run_words}, as_json, told)


# --- referrals ------------------------------------------------------------------------------

@referral_app.command("submit")
def referral_submit(form_file: Annotated[Path, typer.Argument(help="CIGSCR1 as YAML or JSON")], as_json: JsonOption = False) -> None:
    """Record a referral (CIGSCR1) and start its case run; prints the new case reference."""
    from flows.launch import start_referral_run

    form: ReferralForm = validated(ReferralForm, read_form_file(form_file))
    the_office = office()
    try:
        outcome = actions.submit_referral(the_office, form, now=now(), actor="cig referral submit")
    except ValueError as exc:
        raise CommandError(f"the referral was refused: {exc}") from None
    started = True
    try:
        asyncio.run(start_referral_run(outcome.reference, the_office))
    except Exception as exc:  # the referral is safe in the database; its run starts later
        started = False
        typer.echo(
            f"warning: {outcome.reference} is recorded, but its case run could not be started ({exc}). "
            "Run `cig referral start-pending` when the Prefect server is back.",
            err=True,
        )
    emit({"reference": outcome.reference, "run_started": started}, as_json, outcome.reference)


@referral_app.command("start-pending")
def referral_start_pending(as_json: JsonOption = False) -> None:
    """Start the case runs of referrals recorded while the Prefect server was unreachable."""
    from flows.launch import start_pending_runs

    started = asyncio.run(start_pending_runs(office()))
    emit(started, as_json, "\n".join(started) or "no referral is waiting for its run")


@referral_app.command("recover")
def referral_recover(
    reference: str,
    stalled: Annotated[bool, typer.Option("--stalled", help="The run still shows running but its worker was killed")] = False,
    as_json: JsonOption = False,
) -> None:
    """Put a case's crashed run (or one suspended with no form saved) back on the work pool; it continues where the case is."""
    from flows.launch import recover_referral_run

    previous = asyncio.run(recover_referral_run(reference, office(), stalled=stalled))
    emit({"reference": reference, "previous_state": previous}, as_json,
         f"{reference}: its run was {previous.lower()}; it is scheduled again and will continue where the case is.")


@referral_app.command("list")
def referral_list(as_json: JsonOption = False, status: Annotated[Optional[str], typer.Option(help="open or closed")] = None) -> None:
    """Every case: reference, stage, returns, next deadline."""
    the_office = office()
    with the_office.sessions() as session:
        records = [case_record(c, the_office.calendar, now()) for c in store.list_cases(session, status=status)]
    lines = [f"{'reference':<16} {'status':<7} {'stage':<26} {'returns':<8} next deadline"]
    for r in records:
        current = [x for x in r["returns"] if x["round"] == r["round"]]
        got = sum(1 for x in current if x["status"] != "outstanding")
        upcoming = next((d for d in r["deadlines"] if d["met_at"] is None), None)
        next_due = f"{upcoming['label']} {upcoming['due_at'][:10]} ({upcoming['days_left']} days)" if upcoming else "-"
        lines.append(f"{r['reference']:<16} {r['status']:<7} {r['stage']:<26} {got}/{len(current):<6} {next_due}")
    emit(records, as_json, "\n".join(lines))


@referral_app.command("show")
def referral_show(reference: str, as_json: JsonOption = False) -> None:
    """One case: stage, deadlines, returns, notices and its timeline."""
    the_office = office()
    with the_office.sessions() as session:
        case = store.get_case(session, reference=reference)
        record = case_record(case, the_office.calendar, now())
        record["messages"] = [
            {"kind": m.kind, "to": m.recipient, "status": m.status, "sent_at": m.sent_at.isoformat() if m.sent_at else None}
            for m in store.messages_for(session, case_id=case.id)
        ]
        events = store.audit_trail(session, reference=reference)
        record["timeline"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action} for e in events]
        timeline_text = case_timeline_markdown(case, events, store.messages_for(session, case_id=case.id),
                                               calendar=the_office.calendar, now=now(),
                                               terms=the_office.rules(case.regime).terms,
                                               people=people_of(the_office.partnership, the_office.rules(case.regime)))
    record_access(the_office, "case viewed", reference)
    lines = [
        f"{record['reference']}  {record['status']}  {record['stage'].replace('_', ' ')}  ({record['regime']})",
        f"referred by {record['referring_agency']}, notified {record['notified_on']}, meeting {record['meeting_at'] or '-'}",
        f"recommendation: {record['recommendation'] or '-'}   decision: {record['decision'] or '-'}",
        "", "deadlines:",
    ]
    lines += [f"  {d['label']:<70} due {d['due_at'][:16]}  " + (f"met {d['met_at'][:16]}" if d["met_at"] else f"{d['days_left']} days left")
              for d in record["deadlines"]]
    lines += ["", "returns:"] + [f"  round {r['round']} {r['agency']:<8} {r['status']:<13} due {r['due_at'][:10]}{' (by return)' if r['by_return'] else ''}"
                                 for r in record["returns"]]
    lines += ["", timeline_text]
    emit(record, as_json, "\n".join(lines))


# --- the people's steps ---------------------------------------------------------------------

@app.command("screen")
def screen(
    reference: str,
    accept: Annotated[bool, typer.Option("--accept/--decline", help="Accept the case for the CIG, or decline it")],
    reason: Annotated[Optional[str], typer.Option(help="Why (required when declining; the referrer is told)")] = None,
    by: Annotated[str, typer.Option(help="Who decided")] = "CIG chair and business manager",
    consulted: Annotated[bool, typer.Option("--consulted/--not-consulted", help="The independent chair was consulted")] = True,
    as_json: JsonOption = False,
) -> None:
    """Screening by the CIG chair and business manager."""
    form = validated(ScreeningForm, {"outcome": "accept" if accept else "decline", "reason": reason, "decided_by": by,
                                     "independent_chair_consulted": consulted})
    submit_step(reference, "screening", form, as_json)


@app.command("return")
def agency_return(
    reference: str,
    agency: Annotated[str, typer.Option(help="The agency code, e.g. POL")],
    file: Annotated[Optional[Path], typer.Option(help="A text file with the agency's involvement")] = None,
    nil: Annotated[bool, typer.Option("--nil", help="A nil return: no involvement")] = False,
    not_received: Annotated[bool, typer.Option("--not-received", help="No return by the meeting")] = False,
    practitioner: Annotated[Optional[list[str]], typer.Option(help="A key practitioner (repeatable)")] = None,
    attendee: Annotated[Optional[list[str]], typer.Option(help="Who will attend (repeatable)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record one agency's CIGINF1 return."""
    if sum([file is not None, nil, not_received]) != 1:
        raise CommandError("give exactly one of --file FILE, --nil or --not-received")
    involvement = None
    if file is not None:
        try:
            involvement = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
    status = "returned" if file else ("nil" if nil else "not_received")
    the_office = office()
    try:
        the_office.partnership.agency(agency)
    except ValueError as exc:
        raise CommandError(f"agency: {exc}") from None
    form = validated(AgencyReturnForm, {"agency": agency, "status": status, "involvement": involvement,
                                        "key_practitioners": practitioner or [], "attendees": attendee or []})
    submit_step(reference, "return", form, as_json)


@app.command("recommend")
def recommend(
    reference: str,
    outcome: Annotated[Recommendation, typer.Option(help="The CIG recommendation")],
    rationale: Annotated[str, typer.Option(help="Why")],
    agency: Annotated[Optional[list[str]], typer.Option(help="With further_information: an agency to ask (repeatable)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the CIG recommendation (CIGSUM1), once the meeting the case is listed for has begun."""
    from casework.meetings.rescheduling import check_recommendation_time

    form = validated(RecommendationForm, {"outcome": outcome.value, "rationale": rationale, "further_information_from": agency or []})
    check_recommendation_time(office(), reference, now=now())  # refused here, before the case's run is woken
    submit_step(reference, "recommendation", form, as_json)


@app.command("decide")
def decide(
    reference: str,
    decision: Annotated[ReviewType, typer.Option(help="The decision")],
    rationale: Annotated[str, typer.Option(help="The rationale")],
    by: Annotated[str, typer.Option(help="The independent chair's name")],
    affirm: Annotated[bool, typer.Option("--affirm/--challenge", help="Affirm or challenge the CIG recommendation")] = True,
    lead_reviewer: Annotated[Optional[list[str]], typer.Option(help="With an SCR: a lead reviewer (repeatable)")] = None,
    details: Annotated[Optional[Path], typer.Option(help="Without an SCR: YAML with the anonymised details for the Panel")] = None,
    explanation: Annotated[Optional[str], typer.Option(help="Without an SCR: why the criteria are not met")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the independent chair's decision; the Ofsted and National Panel notices follow."""
    data: dict[str, Any] = {"response": "affirm" if affirm else "challenge", "decision": decision.value, "rationale": rationale,
                            "decided_by": by, "lead_reviewers": lead_reviewer or [], "criteria_explanation": explanation}
    if details is not None:
        data["anonymised_details"] = read_form_file(details)
    form = validated(DecisionForm, data)
    submit_step(reference, "decision", form, as_json)


# --- the Serious Incident Notification ----------------------------------------------------

@sin_app.command("record")
def sin_record(
    reference: str,
    completed_on: Annotated[datetime, typer.Option("--completed-on", formats=["%Y-%m-%d"], help="When it was completed (YYYY-MM-DD)")],
    by: Annotated[str, typer.Option(help="Who completed it (the safeguarding unit manager)")],
    document: Annotated[Optional[Path], typer.Option(
        help="The notification: a PDF, Word (.docx) or OpenDocument (.odt) file", exists=True, dir_okay=False)] = None,
    text_file: Annotated[Optional[Path], typer.Option(
        "--text-file", help="The notification as a text file, instead", exists=True, dir_okay=False)] = None,
    sent_on: Annotated[Optional[datetime], typer.Option("--sent-on", formats=["%Y-%m-%d"],
                                                        help="When it was sent, if it was sent before (else it is sent now)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the case's SIN and send it to Ofsted, the CIG chair, the business manager and the partnership chair."""
    from cli.subcommands import send_queued

    text = text_file.read_text(encoding="utf-8") if text_file else None
    form: SeriousIncidentNotificationForm = validated(SeriousIncidentNotificationForm, {
        "completed_on": completed_on.date(), "completed_by": by, "notification": text,
        "sent_on": sent_on.date() if sent_on else None})
    attached = (document.name, document.read_bytes()) if document else None
    the_office = office()
    outcome = actions.record_serious_incident_notification(the_office, reference, form, document=attached, now=now(),
                                                           actor="cig sin record")
    sent = send_queued(the_office) if outcome.queued else ""
    emit({"reference": outcome.reference, "completed_on": form.completed_on.isoformat(), "queued": outcome.queued},
         as_json, f"{outcome.reference}: Serious Incident Notification recorded"
         + (f"; sent to {outcome.queued} recipients{sent}" if outcome.queued else "; not sent again"))


# --- reviews -------------------------------------------------------------------------------

# `cig review ...` (publish among them): cli/review.py


# --- mail and the outbox --------------------------------------------------------------------

@app.command("mail")
def mail(as_json: JsonOption = False) -> None:
    """What the local SMTP server received: from, to, subject, time."""
    from notifications.mailbox import read_mailbox

    mails = read_mailbox(office().settings.mail_dir)
    records = [{"received_at": m.received_at.isoformat(), "from": m.sender, "to": m.to, "subject": m.subject} for m in mails]
    emit(records, as_json, "\n".join(f"{r['received_at'][:19]}  {', '.join(r['to']):<32} {r['subject']}" for r in records)
         or "no mail received")


@app.command("mailserver")
def mailserver(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[Optional[int], typer.Option(help="default: CIG_SMTP_PORT")] = None,
) -> None:
    """Run the local SMTP server that keeps every message it receives (Ctrl-C stops it)."""
    import signal
    import threading

    from notifications.mailbox import start_mailbox

    settings = office().settings
    controller = start_mailbox(settings.mail_dir, host, port or settings.smtp_port)
    typer.echo(f"local SMTP server on {host}:{port or settings.smtp_port}, keeping mail in {settings.mail_dir}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@outbox_app.callback()
def outbox(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List pending, sent and failed messages."""
    if ctx.invoked_subcommand:
        return
    from sqlalchemy import select

    from casework.store.tables import Case, OutboxMessage

    the_office = office()
    with the_office.sessions() as session:
        rows = session.execute(
            select(OutboxMessage, Case.reference).join(Case, OutboxMessage.case_id == Case.id, isouter=True).order_by(OutboxMessage.id)
        ).all()
        records = [{"reference": ref, "kind": m.kind, "to": m.recipient, "status": m.status, "attempts": m.attempts,
                    "queued_at": m.queued_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                    "last_error": m.last_error} for m, ref in rows]
    emit(records, as_json, "\n".join(
        f"{r['reference'] or '-':<16} {r['kind']:<24} {r['to']:<32} {r['status']:<8} {r['last_error'] or ''}" for r in records
    ) or "the outbox is empty")


@outbox_app.command("retry")
def outbox_retry(as_json: JsonOption = False) -> None:
    """Send every pending message now (after the mail server is back)."""
    from casework.delivery import deliver_pending

    report = asyncio.run(deliver_pending(office()))
    emit({"sent": report.sent, "temporary_failures": report.temporary_failures, "permanent_failures": report.permanent_failures},
         as_json, f"sent {len(report.sent)}; still pending {len(report.temporary_failures)}; refused {len(report.permanent_failures)}"
         + "".join(f"\n  {f}" for f in report.temporary_failures + report.permanent_failures))
    if report.temporary_failures or report.permanent_failures:
        raise typer.Exit(1)


@keys_app.command("new")
def keys_new() -> None:
    """Print a new Fernet key for CIG_DATA_KEYS."""
    from casework.store.sealed import new_key

    typer.echo(new_key())


@keys_app.command("rotate")
def keys_rotate(as_json: JsonOption = False) -> None:
    """Re-seal all personal data with the newest key (CIG_DATA_KEYS="new,old"); then the old key can go."""
    from casework.store.keys import reseal_all
    from casework.store.sealed import KeyProblem

    the_office = office()
    try:
        with the_office.sessions.begin() as session:
            count = reseal_all(session, now=now(), actor="cig keys rotate")
    except KeyProblem as exc:
        raise CommandError(str(exc)) from None
    emit({"resealed": count}, as_json, f"re-sealed {count} values with the newest key; the older keys can now be removed")


# --- the audit log --------------------------------------------------------------------------

@app.command("audit")
def audit_log(reference: str, as_json: JsonOption = False) -> None:
    """Who viewed, changed or sent what on a case, and when (metadata only, oldest first)."""
    with office().sessions() as session:
        events = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                  for e in store.audit_trail(session, reference=reference)]
    if not events:
        raise CommandError(f"no audit events for '{reference}'")
    emit(events, as_json, "\n".join(
        f"{e['at'][:19]}  {e['actor']:<28} {e['action']:<32} "
        + " ".join(f"{k}={v}" for k, v in sorted(e["detail"].items())) for e in events))


def main() -> None:
    """Entry point: run the app, turning known failures into a sentence and an exit status."""
    from casework.store.cases import AlreadyRecorded, CaseNotFound, NotAtThisStep

    try:
        app(standalone_mode=False)
    except (CommandError,) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.code)
    except AlreadyRecorded as exc:
        typer.echo(f"already recorded: {exc}", err=True)
        sys.exit(1)
    except (CaseNotFound, NotAtThisStep, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # unreachable services: say which, never a traceback
        from flows.people import CaseNotWaiting

        if isinstance(exc, CaseNotWaiting):
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if isinstance(exc, (typer.Exit, SystemExit)):
            raise
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

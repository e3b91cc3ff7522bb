"""How a case reads to people: the context shown on each form, and the `cig referral show` view.

Never the child's name or date of birth: the forms and the tracker show the reference only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.clocks import WorkingCalendar, days_left
from casework.criteria import indicate_criteria
from casework.forms import CaseFacts
from casework.model import Stage, describe_stage, review_labels
from casework.store.tables import Case
from config.rulesets import RuleSet


def _when(moment: datetime | None, calendar: WorkingCalendar) -> str:
    return moment.astimezone(calendar.zone).strftime("%a %d %b %Y %H:%M") if moment else "-"


def case_context_markdown(
    case: Case, rules: RuleSet, calendar: WorkingCalendar, now: datetime, problem: str | None = None
) -> str:
    """The case context a person sees above a form: stage, deadlines, returns, criteria indication."""
    lines = [f"## Case {case.reference}: {describe_stage(Stage(case.stage))}", ""]
    if problem:
        lines += [f"> **The last input could not be recorded:** {problem}", ""]
    lines += [f"- Regime: {rules.title}", f"- Referring agency: {case.referring_agency}",
              f"- Notified: {case.notified_on.isoformat()}"]
    if case.meeting_at:
        lines.append(f"- Listed for the {rules.term('meeting')} on {_when(case.meeting_at, calendar)} (round {case.round})")
    if case.recommendation:
        lines.append(f"- {rules.term('group')} recommendation: **{review_labels(rules.terms)[case.recommendation]}**: {case.recommendation_rationale}")
    lines += ["", "| deadline | due | days left |", "| --- | --- | --- |"]
    for item in sorted(case.deadlines, key=lambda d: d.due_at):
        if item.met_at is None:
            lines.append(f"| {item.label} | {_when(item.due_at, calendar)} | {days_left(item.due_at, now, calendar)} |")
    requests = [r for r in case.requests if r.round == case.round]
    if requests:
        lines += ["", "| agency | return |", "| --- | --- |"]
        lines += [f"| {r.agency} | {r.status}{' (by return)' if r.by_return and r.status == 'outstanding' else ''} |" for r in requests]
    lines += ["", indicate_criteria(CaseFacts.model_validate(case.facts)).as_markdown()]
    return "\n".join(lines)


def case_record(case: Case, calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """The case as `cig referral show --json` prints it (no personal data)."""
    return {
        "reference": case.reference,
        "status": case.status,
        "stage": case.stage,
        "regime": case.regime,
        "referring_agency": case.referring_agency,
        "notified_on": case.notified_on.isoformat(),
        "referred_at": case.referred_at.isoformat(),
        "meeting_at": case.meeting_at.isoformat() if case.meeting_at else None,
        "round": case.round,
        "screening": case.screening,
        "recommendation": case.recommendation,
        "decision": case.decision,
        "decided_at": case.decided_at.isoformat() if case.decided_at else None,
        "lead_reviewers": case.lead_reviewers or [],
        "flow_run_id": case.flow_run_id,
        "deadlines": [
            {"kind": d.kind, "subject": d.subject, "round": d.round, "label": d.label, "due_at": d.due_at.isoformat(),
             "met_at": d.met_at.isoformat() if d.met_at else None,
             "days_left": None if d.met_at else days_left(d.due_at, now, calendar)}
            for d in sorted(case.deadlines, key=lambda d: d.due_at)
        ],
        "returns": [
            {"agency": r.agency, "round": r.round, "status": r.status, "due_at": r.due_at.isoformat(),
             "by_return": r.by_return, "returned_at": r.returned_at.isoformat() if r.returned_at else None}
            for r in case.requests
        ],
    }

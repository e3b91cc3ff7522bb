"""How a case reads to people: the context shown on each form, and the `cig referral show` view.

Never the child's name or date of birth: the forms and the tracker show the reference only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from casework.clocks import WorkingCalendar, days_left
from casework.referral.criteria import criteria_indication
from casework.forms import CaseFacts
from casework.model import Stage, describe_stage, review_labels
from casework.store.tables import Case
from config.rulesets import RuleSet


def _when(moment: datetime | None, calendar: WorkingCalendar) -> str:
    return moment.astimezone(calendar.zone).strftime("%a %d %b %Y %H:%M") if moment else "-"


WHAT_TO_DO = {
    "screening": "Accept the case for the group, or decline it with the reason",
    "return": "Record one agency's CIGINF1 return",
    "recommendation": "Record the group's recommendation and rationale",
    "decision": "Affirm or challenge the recommendation, and decide",
    "answer": "Say whether you agree with the recommendation, with your rationale: the decision is made when the "
              "deciders agree",
}


def case_summary_markdown(
    case: Case, rules: RuleSet, calendar: WorkingCalendar, now: datetime, problem: str | None = None,
    *, step: str | None = None, timeline_url: str | None = None,
) -> str:
    """What a person needs to act, short enough for the top of a form: the last refusal, what to do,
    the recommendation, the next deadline, a link to the case's timeline."""
    lines = []
    if problem:
        lines += [f"**Not recorded, please change:** {problem}", ""]
    lines.append(f"**{case.reference}**: {WHAT_TO_DO[step] if step else describe_stage(Stage(case.stage), rules.terms)}.")
    if case.recommendation:
        label = review_labels(rules.terms)[case.recommendation]
        lines.append(f"**{rules.term('group')} recommends {label}:** {case.recommendation_rationale}")
    if open_deadlines := _open_deadlines(case):
        first = open_deadlines[0]
        lines.append(f"**Due:** {first.label}, {_when(first.due_at, calendar)} "
                     f"({days_left(first.due_at, now, calendar)} days left)")
    if case.sin is None and not rules.notifies_panel_at_referral:
        lines.append("**No Serious Incident Notification recorded yet**: ask the partnership administrator to record it "
                     "when the safeguarding unit manager sends it")
    if timeline_url:
        lines.append(f"[The case's timeline]({timeline_url})")
    return "  \n".join(lines)


def _open_deadlines(case: Case) -> list:  # type: ignore[type-arg]
    """The case's deadlines not yet met, soonest first."""
    return sorted((d for d in case.deadlines if d.met_at is None), key=lambda d: d.due_at)


def case_context_markdown(case: Case, rules: RuleSet, calendar: WorkingCalendar, now: datetime, summary: str) -> str:
    """The case context a person sees with a form: its `summary` first (`case_summary_markdown`),
    then the details (deadlines, returns, the criteria indication)."""
    lines = [summary]
    lines += ["", "---", "", f"- Stage: {describe_stage(Stage(case.stage), rules.terms)}", f"- Regime: {rules.title}",
              f"- Referring agency: {case.referring_agency}", f"- Notified: {case.notified_on.isoformat()}"]
    if case.meeting_at:
        lines.append(f"- Listed for the {rules.term('meeting')} on {_when(case.meeting_at, calendar)} (round {case.round})")
    lines += ["", "| deadline | due | days left |", "| --- | --- | --- |"]
    for item in _open_deadlines(case):
        lines.append(f"| {item.label} | {_when(item.due_at, calendar)} | {days_left(item.due_at, now, calendar)} |")
    requests = [r for r in case.requests if r.round == case.round]
    if requests:
        lines += ["", "| agency | return |", "| --- | --- |"]
        lines += [f"| {r.agency} | {r.status.replace('_', ' ')}{' (by return)' if r.by_return and r.status == 'outstanding' else ''} |"
                  for r in requests]
    lines += ["", criteria_indication(CaseFacts.model_validate(case.facts), rules.criteria_advice).as_markdown()]
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
        "serious_incident_notification": {"completed_on": case.sin_completed_on.isoformat() if case.sin_completed_on else None,
                                          "sent_on": case.sin_sent_on.isoformat() if case.sin_sent_on else None},
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

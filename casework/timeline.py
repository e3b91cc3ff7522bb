"""A case's story for people: what happened when and who did it, which notices went out, what is due
next, and how far along the process the case is (stage n of m).

Pure functions over the stored case, its audit events and its outbox messages; no Prefect and no
clock reads. Only metadata is shown: never the child's name or date of birth, never free text a
person typed (an audit event's detail is shown only for the fields listed in SHOWN_DETAILS).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from casework.clocks import WorkingCalendar, days_left
from casework.model import MAIN_PATH, Stage, describe_stage, review_labels
from casework.store.tables import AuditEvent, Case, OutboxMessage

ACCESS_ACTIONS = ("case viewed",)  # in `cig audit`, not in the story of the case
SHOWN_DETAILS = ("agency", "agencies", "status", "round", "meeting", "by_return", "response", "further_information_from", "kind")

MESSAGE_LABELS = {
    "referral_notice": "referral notice",
    "information_request": "request for information (CIGINF1)",
    "recommendation": "recommendation (CIGSUM1) to the independent chair",
    "ofsted_notice": "notice to Ofsted",
    "panel_notice": "notice to the National Panel",
    "serious_incident_notice": "serious incident notification to the Panel",
    "rapid_review_notice": "rapid review notice to the Panel",
    "referrer_decision": "decision to the referrer",
    "screening_decline": "decline to the referrer",
    "reminder": "reminder",
    "escalation": "escalation",
}


@dataclass(frozen=True)
class Progress:
    """Stage n of m on the main path of the process chart."""

    stage: Stage
    number: int
    of: int

    @property
    def fraction(self) -> float:
        return self.number / self.of

    @property
    def percent(self) -> float:
        return round(100 * self.fraction, 1)

    @property
    def description(self) -> str:
        return f"stage {self.number} of {self.of}: {describe_stage(self.stage)}"


def progress(case: Case) -> Progress:
    """How far along the process chart the case is (declined counts as the end)."""
    stage = Stage(case.stage)
    return Progress(stage, stage.number, len(MAIN_PATH))


def _when(moment: datetime, calendar: WorkingCalendar) -> str:
    return moment.astimezone(calendar.zone).strftime("%a %d %b %Y %H:%M")


def _detail(event: AuditEvent) -> str:
    shown = []
    for key in SHOWN_DETAILS:
        value = (event.detail or {}).get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append(f"{key.replace('_', ' ')} {value}")
    return f" ({'; '.join(shown)})" if shown else ""


def _sentence(event: AuditEvent, labels: Mapping[str, str]) -> str:
    action = event.action
    for prefix in ("recommendation: ", "decision: "):
        if action.startswith(prefix):
            outcome = action[len(prefix):]
            return f"{prefix[:-2]}: {labels.get(outcome, outcome)}"
    return action


def case_timeline_markdown(
    case: Case,
    events: Sequence[AuditEvent],
    messages: Sequence[OutboxMessage],
    *,
    calendar: WorkingCalendar,
    now: datetime,
    terms: Mapping[str, str] | None = None,
) -> str:
    """The case's story as markdown: header, progress, what happened, notices, what is due next.

    `terms`: the case's rule set's terms, so a wt2023 case reads in that regime's words.
    """
    step = progress(case)
    labels = review_labels(terms or {})
    lines = [
        f"# Case {case.reference}",
        "",
        f"**{step.description[:1].upper()}{step.description[1:]}** ({case.status}); referred by {case.referring_agency}, "
        f"notified {case.notified_on.isoformat()}.",
    ]
    if case.meeting_at:
        lines.append(f"Listed for the meeting on {_when(case.meeting_at, calendar)} (round {case.round}).")
    if case.decision:
        lines.append(f"Decision: **{labels.get(case.decision, case.decision)}**"
                     + (f", lead reviewer {', '.join(case.lead_reviewers)}" if case.lead_reviewers else "") + ".")
    lines += ["", "## What happened", "", "| when | who | what |", "| --- | --- | --- |"]
    lines += [f"| {_when(e.at, calendar)} | {e.actor} | {_sentence(e, labels)}{_detail(e)} |" for e in events
              if e.action not in ACCESS_ACTIONS]
    notices = [m for m in messages if m.kind not in ("reminder", "escalation")]
    lines += ["", "## Notices", ""]
    if notices:
        lines += ["| notice | status | sent |", "| --- | --- | --- |"]
        for kind in dict.fromkeys(m.kind for m in notices):  # in the order they were queued
            group = [m for m in notices if m.kind == kind]
            label = MESSAGE_LABELS.get(kind, kind.replace("_", " ")) + (f" (to {len(group)})" if len(group) > 1 else "")
            statuses = dict.fromkeys(m.status for m in group)
            status = ", ".join(f"{sum(1 for m in group if m.status == s)} {s}" if len(group) > 1 else s for s in statuses)
            sent = [m.sent_at for m in group if m.sent_at is not None]
            lines.append(f"| {label} | {status} | {_when(max(sent), calendar) if sent else '-'} |")
    else:
        lines.append("No notices yet.")
    upcoming = sorted((d for d in case.deadlines if d.met_at is None), key=lambda d: d.due_at)
    lines += ["", "## What is due next", ""]
    if upcoming:
        lines += ["| deadline | due | days left |", "| --- | --- | --- |"]
        for item in upcoming:
            left = days_left(item.due_at, now, calendar)
            flag = " **OVERDUE**" if item.due_at < now else ""
            lines.append(f"| {item.label} | {_when(item.due_at, calendar)} | {left}{flag} |")
    else:
        lines.append("Nothing is due: every deadline of this case is met.")
    return "\n".join(lines) + "\n"


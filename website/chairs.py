"""What the chairs' pages say, in words: the substance of the case a chair decides on (the CIGSCR1 on the
screening page; the recommendation and the returns on the decision page, as the meeting papers have them),
what their step recorded and what happens next, with dates, and the contradiction of affirming a
recommendation while deciding something else.

Pure functions over the case row (its sealed personal data opened by the caller's session), the
partnership and the rule set; no clock, no database session of their own, no Prefect. The personal data
they return is for the chair's page only: never logged, never in an email or an artifact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from casework.clocks import WorkingCalendar
from casework.forms import DecisionForm
from casework.meetings.agenda import preparation_day
from casework.meetings.calendar import Meeting
from casework.meetings.preparation import case_papers
from casework.meetings.papers import CasePapers
from casework.model import ChairResponse, PartnerResponse, review_labels
from casework.store.tables import Case, OutboxMessage, PartnerDecision
from config.partnership import Partnership
from config.rulesets import RuleSet
from website.pages import day, when


@dataclass(frozen=True)
class StepRecord:
    """A recorded step in words: a heading that says it ("Accepted for the CIG meeting on Tuesday 12 January
    2027"), what was recorded, and what happens next."""

    heading: str
    recorded: list[str] = field(default_factory=list)
    next: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CaseSubstance:
    """What the chair reads before acting: the CIGSCR1 (who it is about, the referrer, the reasons and the
    summary) and, for the decision, the recommendation and the returns received and missing."""

    papers: CasePapers
    referrer_email: str | None
    recommendation: str | None = None  # in the regime's words
    recommendation_rationale: str | None = None
    recommended_on: date | None = None


def case_substance(case: Case, partnership: Partnership, rules: RuleSet) -> CaseSubstance:
    """The case's substance, read as the meeting papers are built (casework.meetings.preparation)."""
    labels = review_labels(rules.terms)
    return CaseSubstance(
        papers=case_papers(case, partnership), referrer_email=case.referrer_email,
        recommendation=labels.get(case.recommendation, case.recommendation) if case.recommendation else None,
        recommendation_rationale=case.recommendation_rationale,
        recommended_on=case.recommended_at.date() if case.recommended_at else None,
    )


def _due_words(days: Sequence[date]) -> str:
    first, last = min(days), max(days)
    return f"by {day(first)}" if first == last else f"between {day(first)} and {day(last)}"


def screening_record(case: Case, partnership: Partnership, rules: RuleSet, calendar: WorkingCalendar,
                     meeting: Meeting | None = None) -> StepRecord:
    """The screening as recorded, and what follows: for an accepted case, the meeting it is listed for (or,
    not yet listed, `meeting`, the one it will be), the returns asked for and when the papers go out."""
    group, meeting_term = rules.term("group"), rules.term("meeting")
    on = f" on {day(case.screened_at)}" if case.screened_at else ""
    if case.screening != "accept":
        return StepRecord(
            "Referral declined", [f"The referral was declined{on}.", f"The reason given: {case.screening_reason}"],
            ["The referrer is told the reason by email.", "The case is closed: nothing more is needed from you."])
    recorded = [f"The referral was accepted{on} for the {group} to consider."]
    meeting_at = case.meeting_at or (meeting.starts_at if meeting else None)
    if meeting_at is None:
        return StepRecord(f"Accepted for the {group}", recorded,
                          [f"The case is listed for the next {meeting_term} that leaves time for the agencies' "
                           "returns, and each member agency is asked for information (CIGINF1)."])
    heading = f"Accepted for the {meeting_term} on {day(meeting_at)}"
    place = partnership.meetings.location
    steps = [f"The {meeting_term} is on {when(meeting_at)}, at {place}."]
    requests = [r for r in case.requests if r.round == case.round]
    if requests:
        due = _due_words([calendar.local_date(r.due_at) for r in requests])
        steps.append(f"Each of the {len(requests)} member agencies has been asked for information (CIGINF1), "
                     f"returns due {due}.")
    else:
        steps.append("Each member agency is asked for information (CIGINF1) within minutes.")
    steps.append("The referrer and the business manager are told the meeting's date.")
    held = Meeting(case.meeting_on or calendar.local_date(meeting_at), meeting_at)
    papers_on = preparation_day(held, partnership.meetings.prepare_working_days_before, calendar)
    steps.append(f"The agenda and the papers go to the members on {day(papers_on)}. After the {meeting_term}, "
                 f"the {group}'s recommendation goes to the independent chair to decide.")
    return StepRecord(heading, recorded, steps)


def _who(message: OutboxMessage, partnership: Partnership) -> str:
    contacts = partnership.contacts
    if message.kind == "referrer_decision":
        return "the referrer"
    named = {contact.email: who for contact, who in (
        (contacts.ofsted, "Ofsted"), (contacts.national_panel, "the National Panel"), (contacts.cig_chair, "the CIG chair"),
        (contacts.business_manager, "the business manager"), (contacts.independent_chair, "you (the independent chair)"),
        (contacts.safeguarding_unit_manager, "the safeguarding unit manager"),
        (contacts.administrator, "the partnership administrator")) if contact is not None}  # wt2023 names fewer
    return named.get(message.recipient, "another member of the partnership")


def decision_record(case: Case, partnership: Partnership, rules: RuleSet, calendar: WorkingCalendar,
                    messages: Sequence[OutboxMessage]) -> StepRecord:
    """The decision as recorded, and what follows: who was told by email (sent, or about to go) from the
    case's `messages` queued with the decision, and the deadlines still open."""
    labels = review_labels(rules.terms)
    decision = labels.get(case.decision or "", case.decision or "")
    recommended = labels.get(case.recommendation or "", case.recommendation or "")
    verb = "affirmed" if case.chair_response == ChairResponse.affirm else "challenged"
    on = f" on {day(case.decided_at)}" if case.decided_at else ""
    recorded = [f"You {verb} the {rules.term('group')}'s recommendation ({recommended}) and decided: {decision}{on}.",
                f"Your rationale: {case.decision_rationale}"]
    groups: dict[str, list[str]] = {}  # when (sent at a moment, or about to go) -> who, in the order queued
    for message in sorted(messages, key=lambda m: m.id):
        state = f"sent {when(message.sent_at)}" if message.sent_at else "going out within minutes"
        who = _who(message, partnership)
        if who not in groups.setdefault(state, []):
            groups[state].append(who)
    steps = [f"Told of your decision by email ({state}): {_listed(who)}." for state, who in groups.items()]
    for item in sorted((d for d in case.deadlines if d.met_at is None), key=lambda d: d.due_at):
        steps.append(f"Still to do: {item.label}, by {day(calendar.local_date(item.due_at))}.")
    if not steps:
        steps.append("Nothing more is needed from you for this case.")
    return StepRecord(f"Your decision: {decision}", recorded, steps)


def _listed(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def decision_contradiction(form: DecisionForm, recommendation: str | None, labels: Mapping[str, str],
                           group: str) -> str | None:
    """In words, why the decision contradicts the response (affirming a recommendation while deciding another
    outcome), or None when it does not."""
    if recommendation is None or form.response is not ChairResponse.affirm or form.decision.value == recommendation:
        return None
    recommended, decided = labels.get(recommendation, recommendation), labels.get(form.decision.value, form.decision.value)
    return (f"You chose to affirm the {group}'s recommendation, which is {recommended}, but your decision is "
            f"{decided}. To decide {decided}, choose to challenge the recommendation; to affirm it, decide "
            f"{recommended}.")




@dataclass(frozen=True)
class PartnerAnswerShown:
    """One decider's answer as the decision page shows it to every decider of the case."""

    organisation: str
    agrees: bool
    rationale: str
    national_importance: bool
    recorded_on: date
    yours: bool


def partner_organisation(partnership: Partnership, partner: str) -> str:
    """The organisation a decider acts for, in words ("Northshire Police")."""
    named = partnership.safeguarding_partners.get(partner)
    return named.organisation if named else partner.replace("_", " ")


def answers_shown(answers: Sequence[PartnerDecision], partnership: Partnership, calendar: WorkingCalendar,
                  partner: str | None) -> list[PartnerAnswerShown]:
    """The answers given so far, in the order given; `partner`'s own marked."""
    return [PartnerAnswerShown(partner_organisation(partnership, a.partner), a.response == PartnerResponse.agree,
                               a.rationale, a.national_importance, calendar.local_date(a.recorded_at),
                               a.partner == partner) for a in answers]


def partner_record(case: Case, partner: str, answers: Sequence[PartnerDecision], partnership: Partnership,
                   rules: RuleSet, calendar: WorkingCalendar) -> StepRecord:
    """A decider's answer as recorded, and what follows: the decision when the quorum agreed, the escalation of a
    disagreement, or who is still to answer."""
    labels = review_labels(rules.terms)
    recommended = labels.get(case.recommendation or "", case.recommendation or "")
    deciders = partnership.deciders(rules.name)
    mine = next((a for a in answers if a.partner == partner), None)
    if mine is None:
        recorded = [f"{partner_organisation(partnership, partner)} gave no answer before the case moved on."]
        heading = "No answer recorded"
    else:
        verb = "agreed" if mine.response == PartnerResponse.agree else "disagreed"
        recorded = [f"You {verb}, for {partner_organisation(partnership, partner)}, with the recommendation "
                    f"({recommended}) on {day(mine.recorded_at)}.", f"Your rationale: {mine.rationale}",
                    "You said the case " + ("may" if mine.national_importance else "does not")
                    + " raise issues of national importance."]
        heading = f"You {verb} with the recommendation"
    steps: list[str] = []
    if case.decision is not None:
        decision = labels.get(case.decision, case.decision)
        on = f" on {day(case.decided_at)}" if case.decided_at else ""
        steps.append(f"The {rules.term('decision')} was made{on}: {decision}. Everyone the rule set names is told "
                     "by email, the referrer included.")
    elif any(a.response == PartnerResponse.disagree for a in answers):
        steps.append("A disagreement is recorded: it was escalated to the lead safeguarding partners, and the "
                     f"{rules.term('decision')} is not made until {rules.term('deciders')} agree.")
    else:
        waiting = [partner_organisation(partnership, key) for key in deciders if key not in {a.partner for a in answers}]
        if waiting:
            steps.append(f"Still to answer: {_listed(waiting)}. The {rules.term('decision')} is made when "
                         f"{rules.term('deciders')} agree.")
    due = next((d for d in case.deadlines if d.kind == "decision" and not d.subject and d.met_at is None), None)
    if due is not None:
        steps.append(f"Still to do: {due.label}, by {day(calendar.local_date(due.due_at))}.")
    return StepRecord(heading, recorded, steps or ["Nothing more is needed from you for this case."])

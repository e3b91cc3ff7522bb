"""Who is told what, at each step: pure functions from a case file to the messages it owes.

Each message carries a stable key (case reference, step, recipient, round), so writing it to the
outbox twice keeps one. The context holds only what the recipient's role needs: the child's name
and date of birth are shown only to the agencies asked for information (the process needs them to
search their records), behind each agency's personal link to the secure website, never in an email;
statutory notices carry the reference and anonymised details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from casework.clocks import LONDON
from casework.referral.criteria import criteria_indication
from casework.forms import CaseFacts
from casework.model import review_labels
from config.partnership import Contact, Partnership
from config.rulesets import RuleSet


@dataclass(frozen=True)
class CaseFile:
    """What the messages may draw on, read from the store."""

    reference: str
    regime: str
    referring_agency: str
    notified_on: date
    referred_at: datetime
    facts: dict[str, Any]
    child_name: str
    child_date_of_birth: date
    child_date_of_death: date | None
    significant_people: list[dict[str, Any]]
    referrer_email: str | None
    child_address: str | None = None
    referring_organisation: str | None = None  # when the referrer's organisation is not a member agency
    sin: dict[str, Any] | None = None  # the Serious Incident Notification: completed_by, text, document
    sin_completed_on: date | None = None
    round: int = 0
    meeting_at: datetime | None = None
    screening_reason: str | None = None
    recommendation: str | None = None
    recommendation_rationale: str | None = None
    chair_response: str | None = None
    decision: str | None = None
    decision_rationale: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    lead_reviewers: list[str] = field(default_factory=list)
    panel_details: dict[str, Any] | None = None
    deadlines: dict[str, datetime] = field(default_factory=dict)
    # the rapid review sent to the Panel (wt2023, casework.referral.panel): the agencies asked and what each gave
    # ((code, return status) of the latest round), what the rapid review meeting recorded for the Panel, who
    # signed the decision off, and whether a decider said the case may raise issues of national importance
    agencies: tuple[tuple[str, str], ...] = ()
    rapid_review: dict[str, Any] | None = None
    signed_off_by: tuple[str, ...] = ()
    national_importance: bool = False


@dataclass(frozen=True)
class Message:
    """A message the process owes one recipient; `template` names its files in notifications/templates."""

    reference: str | None
    step: str
    template: str
    to: Contact
    round: int
    context: dict[str, Any]
    attachments: tuple[dict[str, str], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.reference or '-'}:{self.step}:{self.to.email}:{self.round}"


def _clock_words(amount: int, unit: str) -> str:
    """'7 days', '5 working days', '1 month'."""
    noun = {"calendar_days": "day", "working_days": "working day", "calendar_months": "month"}[unit]
    return f"{amount} {noun}{'' if amount == 1 else 's'}"


def age_on(born: date, on: date) -> int:
    """Whole years from `born` to `on`."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _common(case: CaseFile, partnership: Partnership, rules: RuleSet) -> dict[str, Any]:
    return {
        "administrator": partnership.contacts.administrator,
        "partnership": partnership.name,
        "reference": case.reference,
        "terms": rules.terms,
        "regime_title": rules.title,
        "deadlines": case.deadlines,
        "labels": review_labels(rules.terms),
    }


def referrer_name(case: CaseFile, partnership: Partnership) -> str:
    """The referring member agency's name, or the organisation's when it is not a member ("any
    professional can refer")."""
    if case.referring_organisation:
        return f"{case.referring_organisation} (not a member agency)"
    return partnership.agency(case.referring_agency).name


def role_contacts(partnership: Partnership, rules: RuleSet, keys: list[str]) -> list[tuple[Contact, str]]:
    """Who acts in each of the rule set's roles `keys` (`safeguarding_partners`: every partner's acting person),
    with how a person reads the role; each address once, in order. The referrer, the agencies and an optional role
    the partnership file does not name are nobody here."""
    people: dict[str, tuple[Contact, str]] = {}
    for key in keys:
        if key in ("referrer", "agencies"):
            continue
        title = "a safeguarding partner" if key == "safeguarding_partners" else rules.roles[key].title
        for contact in partnership.role(key, rules.name):
            people.setdefault(contact.email.lower(), (contact, title))
    return list(people.values())


def step_people(partnership: Partnership, rules: RuleSet, step: str, part: str = "told") -> list[Contact]:
    """The people who decide (`part="decides"`) or are told at the rule set's `step` (none when it has no such
    step)."""
    if step not in rules.steps:
        return []
    return [contact for contact, _ in role_contacts(partnership, rules, list(getattr(rules.steps[step], part)))]


def referral_notices(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 2: the partnership tells those the rule set's `referral` step names (wt2015: the CIG chair, business
    manager, administrator and independent chair; wt2023: the business manager, administrator and the local
    authority); under wt2023 the local authority is also sent the serious incident notification's content."""
    indication = criteria_indication(CaseFacts.model_validate(case.facts), rules.criteria_advice)
    context = _common(case, partnership, rules) | {
        "agency": referrer_name(case, partnership),
        "notified_on": case.notified_on,
        "indication": indication,
        "link": None,  # the screening link of the CIG chair and the business manager (casework.referral.actions)
    }
    messages = [
        Message(case.reference, "referral-notice", "referral_notice", to, 0, context)
        for to in step_people(partnership, rules, "referral")
    ]
    for name, notice in rules.notices.items():
        if notice.sent_at == "referral":
            messages.append(_statutory_notice(name, notice.title, case, partnership, rules))
    return messages + incident_notification(case, partnership, rules)


def notification_owed(facts: Mapping[str, Any]) -> str | None:
    """Why the recorded facts make the incident one the local authority notifies to the Panel (wt2023): "serious"
    (abuse or neglect known or suspected, and the child died or was seriously harmed), "looked_after_death" (a
    looked-after child died, whether or not abuse or neglect is known or suspected), or None (not a serious child
    safeguarding incident: nothing to notify)."""
    harmed = bool(facts.get("child_died")) or bool(facts.get("seriously_harmed"))
    if facts.get("abuse_or_neglect_suspected") and harmed:
        return "serious"
    if facts.get("looked_after") and facts.get("child_died"):
        return "looked_after_death"
    return None


def incident_notification(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """wt2023: the serious incident notification's content, prepared from what was recorded (abuse or neglect known
    or suspected or not, died or seriously harmed, looked after, the ages, the area), for the local authority, who
    makes it through the Panel's online service within its clock (`steps.incident_notice.decides`); the others the
    step tells (the safeguarding partners; the Panel is reached by the notification itself) are told of it within
    the same clock. A looked-after child's death is notified whether or not abuse or neglect is suspected, to whom
    `steps.looked_after_death` says. None under a rule set without the clock, or for facts that owe no
    notification. No name or date of birth: ages and relationships only."""
    why = notification_owed(case.facts)
    if "serious_incident_notice" not in rules.clocks or "incident_notice" not in rules.steps or why is None:
        return []
    step = rules.step("incident_notice")
    reaches = step.told if why == "serious" else rules.told_at("looked_after_death") or step.told
    on = case.child_date_of_death or case.notified_on
    makers = role_contacts(partnership, rules, list(step.decides))
    context = _common(case, partnership, rules) | {
        "title": rules.term("incident_notice"),
        "aware_on": case.notified_on,
        "due_at": case.deadlines.get("serious_incident_notice"),
        "why": why,
        "abuse_or_neglect_suspected": bool(case.facts.get("abuse_or_neglect_suspected")),
        "child_died": bool(case.facts.get("child_died")),
        "seriously_harmed": bool(case.facts.get("seriously_harmed")),
        "looked_after": bool(case.facts.get("looked_after")),
        "child_age": age_on(case.child_date_of_birth, on) if case.child_date_of_birth != date.min else None,
        "people": [{"relationship": p.get("relationship"),
                    "age": age_on(date.fromisoformat(p["date_of_birth"]), on) if p.get("date_of_birth") else None}
                   for p in case.significant_people],
        "area": _area(partnership),
        "reaches": [title for _, title in role_contacts(partnership, rules, [k for k in reaches if k in rules.roles])],
        "makers": [title for _, title in makers],
    }
    messages = [Message(case.reference, "serious-incident-notice", "incident_notification", to, 0,
                        context | {"prepare": True}) for to, _ in makers]
    made_by = {to.email.lower() for to, _ in makers}
    messages += [Message(case.reference, "serious-incident-told", "incident_notification", to, 0,
                         context | {"prepare": False})
                 for to, _ in role_contacts(partnership, rules, [k for k in step.told if k != "national_panel"])
                 if to.email.lower() not in made_by]
    return messages


def _area(partnership: Partnership) -> str:
    """The area the incident is in, as the notification names it: the local authority's, else the partnership's."""
    authority = partnership.safeguarding_partners.get("local_authority")
    return authority.organisation if authority is not None else partnership.name


def decline_notice(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 3: a declined referral; the referrer is told why."""
    if not case.referrer_email:
        return []
    to = Contact(name="Referrer", email=case.referrer_email)
    context = _common(case, partnership, rules) | {"reason": case.screening_reason}
    return [Message(case.reference, "screening-decline", "screening_decline", to, 0, context)]


def acceptance_notice(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 3 (CIGCON1): an accepted referral; the referrer is told it goes to the group, and the date
    of the meeting it is listed for. Once, when the case is first listed."""
    if not case.referrer_email or case.meeting_at is None or case.round != 1:
        return []
    to = Contact(name="Referrer", email=case.referrer_email)
    context = _common(case, partnership, rules) | {
        "meeting_at": case.meeting_at,
        "business_manager": partnership.contacts.business_manager.name,
    }
    return [Message(case.reference, "screening-accept", "screening_accept", to, 0, context)]


def listing_notices(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 5.1: on acceptance, the CIG chair tells the business manager and the administrator that the
    case is to be considered at the next meeting, on its date. Once, when the case is first listed (a
    further-information round is set by the group at its meeting, where both are told)."""
    if case.meeting_at is None or case.round != 1:
        return []
    contacts = partnership.contacts
    screeners = step_people(partnership, rules, "screening", "decides")
    context = _common(case, partnership, rules) | {
        "agency": referrer_name(case, partnership),
        "meeting_at": case.meeting_at,
        "cig_chair": screeners[0].name if screeners else contacts.business_manager.name,
        "form_name": partnership.information_form,
        "own_meeting": rules.rapid_review is not None,  # the case's own rapid review meeting, not the next one
    }
    return [
        Message(case.reference, "listing-notice", "listing_notice", to, case.round, context)
        for to in (contacts.business_manager, contacts.administrator)
    ]


def _day_before_meeting(due_at: datetime, meeting_at: datetime | None) -> bool:
    """Whether a return is due on the day before the meeting (where a due date is clamped to, at the latest)."""
    if meeting_at is None:
        return False
    return due_at.astimezone(LONDON).date() == meeting_at.astimezone(LONDON).date() - timedelta(days=1)


def information_requests(
    case: CaseFile, partnership: Partnership, rules: RuleSet, requests: list[dict[str, Any]],
    *, form: dict[str, str] | None = None, links: Mapping[str, str] | None = None,
) -> list[Message]:
    """Step 5: CIGINF1 to each agency asked in this round, with when it is due, its personal link to the
    partnership's secure website (`links`, by agency code), where the agency sees who is involved and
    returns it, and how else to send it back (a reply reaches the administrator); `form`, the
    partnership's blank CIGINF1 as an outbox attachment, goes with each request when the partnership
    has one. No name, address or date of birth travels in the email: they are behind the link."""
    messages = []
    for request in requests:
        agency = partnership.agency(request["agency"])
        context = _common(case, partnership, rules) | {
            "agency": agency.name,
            "link": (links or {}).get(agency.code),
            "due_at": request["due_at"],
            "due_day_before_meeting": _day_before_meeting(request["due_at"], case.meeting_at),
            "form_attached": form is not None,
            "by_return": request["by_return"],
            "meeting_at": case.meeting_at,
            "round": case.round,
            "further_information": case.round > 1,
            "form_name": partnership.information_form,
            # a rule set with a rapid review meeting of its own: due in working days before it, not within 7 days
            "working_days_before": rules.rapid_review.information_working_days_before if rules.rapid_review else None,
            "return_within": _clock_words(rules.clocks["information_return"].amount, rules.clocks["information_return"].unit.value),
            "by_return_under": _clock_words(rules.clocks["information_return"].by_return_under_days or 0, "calendar_days"),
        }
        messages.append(Message(case.reference, "information-request", "information_request", agency.contact, case.round,
                                context, (form,) if form else ()))
    return messages


def recommendation_notice(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 7: the recommendation and rationale (CIGSUM1) go to whoever decides under the rule set (wt2015: the
    independent chair; wt2023: each safeguarding partner, who answers by their own link)."""
    step = rules.deciding
    context = _common(case, partnership, rules) | {
        "recommendation": case.recommendation,
        "rationale": case.recommendation_rationale,
        "indication": criteria_indication(CaseFacts.model_validate(case.facts), rules.criteria_advice),
        "jointly": step.decided_jointly,
        "link": None,  # each decider's own link to the decision page (casework.referral.actions)
    }
    return [Message(case.reference, "recommendation", "recommendation", to, case.round, context)
            for to in partnership.deciders(rules.name).values()]


def _statutory_notice(name: str, title: str, case: CaseFile, partnership: Partnership, rules: RuleSet) -> Message:
    notice = rules.notices[name]
    to = partnership.contacts.ofsted if notice.recipient == "ofsted" else partnership.contacts.national_panel
    on = case.child_date_of_death or case.notified_on
    context = _common(case, partnership, rules) | {
        "title": title,
        "notified_on": case.notified_on,
        "child_age": age_on(case.child_date_of_birth, on),
        "child_died": bool(case.facts.get("child_died")),
        "decision": case.decision,
        "decision_rationale": case.decision_rationale,
        "decided_at": case.decided_at,
        "chair_response": case.chair_response,
        "recommendation": case.recommendation,
        "recommendation_rationale": case.recommendation_rationale,
        "lead_reviewers": case.lead_reviewers,
        "panel_details": case.panel_details,
        "scr": case.decision == "scr",
        "sin": _sin_context(case) if case.decision != "scr" else None,
    }
    # seed 002, step 9: for no SCR the Panel gets "a copy of the local authority's SIN if available"
    attachments = _sin_document(case) if case.decision != "scr" else ()
    if notice.document == "rapid_review":  # wt2023: the rapid review itself, as a Word document
        from casework.referral.panel import rapid_review_attachment

        document = rapid_review_attachment(case, partnership, rules)
        attachments = (document, *attachments)
        context |= {"attached": rules.rapid_review_document.attached, "document_name": document["filename"],
                    "sections": list(rules.rapid_review_document.sections.values())}
    return Message(case.reference, name.replace("_", "-"), name, to, 0, context, attachments)


def _sin_context(case: CaseFile) -> dict[str, Any] | None:
    if not case.sin:
        return None
    return {"completed_on": case.sin_completed_on, "completed_by": case.sin.get("completed_by"),
            "text": case.sin.get("text"), "attached": bool(case.sin.get("document"))}


def _sin_document(case: CaseFile) -> tuple[dict[str, str], ...]:
    """The SIN's document as the attachments of a message, if one was recorded."""
    return (case.sin["document"],) if case.sin and case.sin.get("document") else ()


def serious_incident_notification(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 1: the SIN, completed by the safeguarding unit manager, "returned to OFSTED / Chair CIEC / LSCB
    Business Manager / Chair LSCB", with its document attached. Under a rule set that notifies the
    Panel at referral (wt2023) that notice is the SIN, already sent: nothing more goes."""
    if rules.notifies_panel_at_referral:
        return []
    contacts = partnership.contacts
    context = _common(case, partnership, rules) | {"sin": _sin_context(case), "sender": contacts.safeguarding_unit_manager}
    attachments = _sin_document(case)
    return [
        Message(case.reference, "serious-incident-notification", "serious_incident_notification", to, 0, context, attachments)
        for to in (contacts.ofsted, contacts.cig_chair, contacts.business_manager, contacts.independent_chair)
    ]


def decision_advice(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 8: the independent chair advises the CIG chair and the business manager of the decision, with
    its rationale, and of the notices that follow."""
    owed = [(notice.title, case.deadlines.get(notice.clock)) for notice in rules.notices.values() if notice.sent_at == "decision"]
    context = _common(case, partnership, rules) | {
        "jointly": rules.deciding.decided_jointly,
        "decision": case.decision,
        "decision_rationale": case.decision_rationale,
        "chair_response": case.chair_response,
        "recommendation": case.recommendation,
        "decided_at": case.decided_at,
        "decided_by": case.decided_by,
        "lead_reviewers": case.lead_reviewers,
        "notices": owed,
    }
    return [Message(case.reference, "decision-advice", "decision_advice", to, 0, context)
            for to in decision_told(partnership, rules)]


def decision_told(partnership: Partnership, rules: RuleSet) -> list[Contact]:
    """Who the rule set's deciding step tells of the decision by the decision's advice (wt2015: the CIG chair and
    the business manager; wt2023: the independent scrutineer, the business manager and the partners): its `told`
    but the referrer and the statutory notices' recipients, who get their own messages."""
    others = {"referrer", *(notice.recipient for notice in rules.notices.values())}
    told: dict[str, Contact] = {}
    for role in rules.deciding.told:
        if role not in others:
            told |= {contact.email: contact for contact in partnership.role(role, rules.name)
                     if contact.email not in told}
    return list(told.values())


def partners_disagree(case: CaseFile, partnership: Partnership, rules: RuleSet, *, partner: str,
                      rationale: str, answers: list[tuple[str, str]]) -> list[Message]:
    """A decider disagrees with the recommendation: escalated once a round to the lead safeguarding partners, with
    who disagrees and why, and where each decider stands (`answers`: organisation, answer) ."""
    named = partnership.safeguarding_partners.get(partner)
    context = _common(case, partnership, rules) | {
        "recommendation": case.recommendation,
        "organisation": named.organisation if named else partner.replace("_", " "),
        "rationale": rationale,
        "answers": answers,
    }
    return [Message(case.reference, "partners-disagree", "partners_disagree", lead, case.round, context)
            for lead in partnership.lead_safeguarding_partners]


def decision_notices(case: CaseFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Step 9: the statutory notices of the decision (Ofsted at once, the Panel within 14 days) and the referrer."""
    from casework.review.rules import notice_waits_for_reviewer

    messages = [
        _statutory_notice(name, notice.title, case, partnership, rules)
        for name, notice in rules.notices.items()
        if notice.sent_at == "decision" and not notice_waits_for_reviewer(name, case.decision, case.lead_reviewers)
    ]
    if case.referrer_email:
        context = _common(case, partnership, rules) | {
            "decision": case.decision, "decision_rationale": case.decision_rationale,
            "jointly": rules.deciding.decided_jointly,
            "business_manager": partnership.contacts.business_manager.name,
        }
        messages.append(
            Message(case.reference, "decision-to-referrer", "referrer_decision",
                    Contact(name="Referrer", email=case.referrer_email), 0, context)
        )
    return messages


def intake_refusal(partnership: Partnership, *, problem: str, run_name: str, run_id: str) -> list[Message]:
    """A CIGSCR1 submitted on the Prefect UI could not be recorded: the administrator is told what to
    change (field names and rules only, never what was typed), once per intake run."""
    context = {"partnership": partnership.name, "reference": None, "problem": problem, "run_name": run_name}
    return [Message(None, f"intake-refused-{run_id}", "intake_refusal", partnership.contacts.administrator, 0, context)]


def run_recovered(partnership: Partnership, *, reference: str, what_happened: str, stage: str, number: int,
                  at: datetime) -> list[Message]:
    """The system restarted a case's run that had died: the administrator is told once per recovery
    (`number` counts the case's recoveries), with what happened and that nothing needs doing."""
    context = {"partnership": partnership.name, "reference": reference, "what_happened": what_happened,
               "stage": stage.replace("_", " "), "number": number, "at": at}
    return [Message(reference, f"run-recovered-{number}", "run_recovered", partnership.contacts.administrator, 0, context)]


def run_left_stopped(partnership: Partnership, *, reference: str, what_happened: str, stage: str, recoveries: int,
                     within: timedelta, total: int, at: datetime) -> list[Message]:
    """A case's run keeps dying (`recoveries` restarts within `within`): it is left stopped, and the business
    manager and the administrator are told once (`total`, the case's recoveries so far, keys the message)."""
    context = {"partnership": partnership.name, "reference": reference, "what_happened": what_happened,
               "stage": stage.replace("_", " "), "recoveries": recoveries,
               "within_minutes": int(within.total_seconds() // 60), "at": at}
    contacts = partnership.contacts
    return [Message(reference, f"run-left-stopped-{total}", "run_left_stopped", to, 0, context)
            for to in (contacts.business_manager, contacts.administrator)]


def return_receipts(case: CaseFile, partnership: Partnership, rules: RuleSet, *, agency: str, status: str,
                    documents: list[str], received_at: datetime) -> list[Message]:
    """An agency returned CIGINF1 on the secure website: a receipt to the agency (what was recorded, when),
    and the administrator is told (who returned, how, how many documents). No personal detail in either:
    `documents` are counted, not named."""
    contact = partnership.agency(agency).contact
    context = _common(case, partnership, rules) | {
        "agency": partnership.agency(agency).name, "agency_code": agency, "status": status,
        "documents": len(documents), "received_at": received_at, "meeting_at": case.meeting_at, "round": case.round,
    }
    return [
        Message(case.reference, f"return-receipt-{agency}", "return_receipt", contact, case.round, context),
        Message(case.reference, f"return-received-{agency}", "return_received", partnership.contacts.administrator,
                case.round, context),
    ]


def link_resent(case: CaseFile, partnership: Partnership, rules: RuleSet, *, agency: str, link: str, due_at: datetime,
                number: int) -> list[Message]:
    """The administrator re-issued an agency's personal link to its CIGINF1 request (`cig link resend`):
    the agency gets the new link (its `number`th, so each resend is its own message); older links stop."""
    context = _common(case, partnership, rules) | {
        "agency": partnership.agency(agency).name, "link": link, "due_at": due_at, "meeting_at": case.meeting_at,
    }
    return [Message(case.reference, f"link-resent-{agency}-{number}", "link_resent", partnership.agency(agency).contact,
                    case.round, context)]

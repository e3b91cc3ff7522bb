"""Who is told what during a review: pure functions from the case file and the review to messages.

Each message carries a stable key (case reference, step, recipient), so queuing it on every re-run
of the review's flow keeps one. Members are told the review type and the decision's rationale,
never the child's identity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from casework.referral.messages import CaseFile, Message, _common, _statutory_notice, role_contacts
from casework.review.rules import RATIFIER_WORDS, Ratifier
from config.partnership import Contact, Partnership
from config.rulesets import RuleSet


@dataclass(frozen=True)
class ReviewFile:
    """What the review's messages may draw on, read from the store."""

    review_type: str
    plan_title: str
    commissioned_on: date
    milestones: list[tuple[str, date]]  # (label, target date), in plan order
    engagement_due_at: datetime | None = None
    reviewers: list[str] | None = None


def members(partnership: Partnership, rules: RuleSet) -> list[Contact]:
    """The partnership's members as seed 002 tells them: each member agency's contact, and the chairs where the
    rule set has them (wt2015), or the safeguarding partners where it names them (wt2023)."""
    contacts = partnership.contacts
    chairs = [c for key, c in (("independent_chair", contacts.independent_chair), ("cig_chair", contacts.cig_chair))
              if key in rules.roles and c is not None]
    partners = [p.acting for p in partnership.safeguarding_partners.values()] \
        if any(r.named_in.startswith("safeguarding_partners.") for r in rules.roles.values()) else []
    return [agency.contact for agency in partnership.agencies] + chairs + partners


def commissioning_notices(case: CaseFile, review: ReviewFile, partnership: Partnership, rules: RuleSet) -> list[Message]:
    """Seed 002: the business manager is told the review is commissioned, with its plan; and "rationale and
    commencement advised to LSCB Members", who alert their managers and staff and confirm engagement."""
    context = _common(case, partnership, rules) | {
        "review_type": review.review_type, "plan_title": review.plan_title, "commissioned_on": review.commissioned_on,
        "milestones": review.milestones, "decision_rationale": case.decision_rationale, "decided_at": case.decided_at,
        "engagement_due_at": review.engagement_due_at, "business_manager": partnership.contacts.business_manager.name,
    }
    messages = [Message(case.reference, "review-commissioned", "review_commissioned",
                        partnership.contacts.business_manager, 0, context)]
    messages += [Message(case.reference, "review-commencement", "review_commencement", to, 0, context)
                 for to in members(partnership, rules)]
    return messages


def appointment_notices(case: CaseFile, reviewers: list[str], partnership: Partnership, rules: RuleSet,
                        *, panel_owed: bool, reviewer: Contact | None = None) -> list[Message]:
    """A lead reviewer is appointed: the business manager and the independent chair (where the rule set has one)
    are told, and the lead reviewer appointed (`reviewer`, when an email address was given); for an SCR whose
    National Panel notice waited for the appointment, the notice goes now, naming the reviewer(s); and whoever the
    rule set's `appointment` step tells (wt2023: the Child Safeguarding Practice Review Panel) is told of each
    appointment. The emails say the Panel is told only when a message to the Panel is among these."""
    appointed = replace(case, lead_reviewers=list(reviewers))
    context = _common(case, partnership, rules) | {"reviewers": reviewers, "review_type": case.decision}
    contacts = partnership.contacts
    key = f"review-appointment-{len(reviewers)}"
    to_panel: list[Message] = []
    if panel_owed and "panel_notice" in rules.notices:
        to_panel.append(_statutory_notice("panel_notice", rules.notices["panel_notice"].title, appointed, partnership,
                                          rules))
    told = rules.steps["appointment"].told if "appointment" in rules.steps else []
    for person, title in role_contacts(partnership, rules, told):
        to_panel.append(Message(case.reference, key, "review_appointment", person, 0,
                                context | {"panel_told": False, "told_as": title}))
    panel = {c.email.casefold() for c in partnership.role("national_panel", rules.name)}
    context |= {"panel_told": any(m.to.email.casefold() in panel for m in to_panel)}
    chair = partnership.role("independent_chair", rules.name) if "independent_chair" in rules.roles else []
    messages = [Message(case.reference, key, "review_appointment", to, 0, context)
                for to in (contacts.business_manager, *chair)]
    if reviewer is not None and reviewer.email.casefold() not in {m.to.email.casefold() for m in messages}:
        messages.append(Message(case.reference, key, "review_appointment", reviewer, 0,
                                context | {"appointed": reviewer.name}))
    return messages + to_panel


def ratification_notice(case: CaseFile, partnership: Partnership, rules: RuleSet, *, by: Ratifier, result: str,
                        on: date, comments: str | None, number: int, next_body: Ratifier | None) -> list[Message]:
    """The business manager is told each outcome before the CIG, the executive group or the board, and what comes next."""
    said = "signed off" if by is Ratifier.safeguarding_partners and result == "ratified" else result  # their word
    context = _common(case, partnership, rules) | {
        "by": RATIFIER_WORDS[by], "result": said, "on": on, "comments": comments,
        "next_body": RATIFIER_WORDS[next_body] if next_body else None,
    }
    contacts = partnership.contacts
    to = [contacts.business_manager]
    if result == "ratified" and next_body is not None:  # the body the drafts go to next is told they are coming
        body = {Ratifier.executive_group: contacts.executive_group, Ratifier.board: contacts.board}.get(next_body)
        to += [body] if body is not None else []
    return [Message(case.reference, f"review-ratification-{number}", "review_ratification", person, 0, context)
            for person in to]


def ratifying_contacts(partnership: Partnership, rules: RuleSet, body: Ratifier) -> list[Contact]:
    """Who receives the drafts for `body`: the contact the rule set's role of that name is named in (the CIG's
    chair, the executive group's and the board's addresses), or for the safeguarding partners each one acting for
    a partner (`signing_partners`); none when the rule set or the file names none."""
    if body is Ratifier.safeguarding_partners:
        return list(signing_partners(partnership, rules).values())
    if body.value not in rules.roles:
        return []
    return partnership.role(body.value, rules.name)


def signing_partners(partnership: Partnership, rules: RuleSet) -> dict[str, Contact]:
    """Who signs off the drafts each by their own hand under the rule set's `sign_off` step (wt2023: each safeguarding
    partner's delegate, else its lead), by the partner they act for; none where the rule set has no such step."""
    return partnership.deciders(rules.name, step="sign_off") if "sign_off" in rules.steps else {}


def drafts_ready_notice(case: CaseFile, partnership: Partnership, rules: RuleSet, *, body: Ratifier,
                        documents: list[str], number: int) -> list[Message]:
    """The body the drafts go to next is told they are ready (the lead reviewer uploaded them): its contact
    reads them and records its ratification, or returns them with comments, from the link the message carries."""
    context = _common(case, partnership, rules) | {"by": RATIFIER_WORDS[body], "documents": documents,
                                                   "signing": body is Ratifier.safeguarding_partners}
    return [Message(case.reference, f"review-drafts-ready-{number}", "review_drafts_ready", to, 0, context)
            for to in ratifying_contacts(partnership, rules, body)]


def non_publication_notices(case: CaseFile, partnership: Partnership, rules: RuleSet, *, decided_on: date,
                            decided_by: str, reason: str, improvements_link: str | None,
                            full_report_sent_on: date | None = None) -> list[Message]:
    """The partnership decided not to publish the final report: the business manager and the members are told
    why, and where the improvements are published instead. Where the rule set asks it for the review's type
    (wt2015: an SCR, Working Together 2015 ch. 4), the National Panel is told too, with the reasons; where the full
    report went before publication (`full_report_sent_on`, wt2023), the Panel and the Secretary of State are told."""
    context: dict[str, Any] = _common(case, partnership, rules) | {
        "review_type": case.decision, "decided_on": decided_on, "reason": reason, "improvements_link": improvements_link,
    }
    messages = [Message(case.reference, "review-not-published", "review_not_published", to, 0, context)
                for to in [partnership.contacts.business_manager, *members(partnership, rules)]]
    if full_report_sent_on is not None:  # wt2023: the Panel and the Secretary of State, who have the full report
        told = context | {"title": f"{rules.term('scr_short')} final report not published: the improvements published "
                                   "instead", "decided_by": decided_by, "decided_at": case.decided_at,
                          "lead_reviewers": case.lead_reviewers or [], "sent_on": full_report_sent_on}
        messages += [Message(case.reference, "review-not-published-panel", "review_not_published_panel", to, 0,
                             told | {"told_as": title}) for to, title in full_report_recipients(partnership, rules)]
        return messages
    notice = rules.non_publication_notice
    if notice is not None and case.decision in notice.review_types:
        panel = context | {"title": notice.title, "decided_by": decided_by, "decided_at": case.decided_at,
                           "lead_reviewers": case.lead_reviewers or []}
        messages.append(Message(case.reference, "review-not-published-panel", "review_not_published_panel",
                                partnership.contacts.national_panel, 0, panel))
    return messages


def national_review_notices(case: CaseFile, partnership: Partnership, rules: RuleSet, *, received_on: date,
                            reviewers: list[Contact], clocks: list[str]) -> list[Message]:
    """The Panel will carry out a national review (wt2023), so the local review stops: the business manager, each
    safeguarding partner (who acts for it) and each lead reviewer appointed with an email address are told once,
    why, and that its deadlines (`clocks`, their labels) no longer run. Each address once."""
    context: dict[str, Any] = _common(case, partnership, rules) | {
        "review_type": case.decision, "received_on": received_on, "clocks": clocks,
        "lead_reviewers": case.lead_reviewers or [],
    }
    people: dict[str, tuple[Contact, str]] = {}
    for person, told_as in [(partnership.contacts.business_manager, "business_manager"),
                            *((p.acting, "partner") for p in partnership.safeguarding_partners.values()),
                            *((r, "lead_reviewer") for r in reviewers)]:
        people.setdefault(person.email.casefold(), (person, told_as))
    return [Message(case.reference, "review-stopped-national-review", "review_stopped_national_review", to, 0,
                    context | {"told_as": told_as}) for to, told_as in people.values()]


def publication_notices(case: CaseFile, partnership: Partnership, rules: RuleSet, *, published_on: date, link: str,
                        response_link: str, available_until: date) -> list[Message]:
    """The report is published: the members and the business manager are told where, with the response."""
    context: dict[str, Any] = _common(case, partnership, rules) | {
        "review_type": case.decision, "published_on": published_on, "link": link, "response_link": response_link,
        "available_until": available_until,
    }
    return [Message(case.reference, "review-published", "review_published", to, 0, context)
            for to in [partnership.contacts.business_manager, *members(partnership, rules)]]


def full_report_recipients(partnership: Partnership, rules: RuleSet) -> list[tuple[Contact, str]]:
    """Who the full final report goes to before publication, and who is told of a delay: the rule set's `sign_off`
    step's `told` (wt2023: the Child Safeguarding Practice Review Panel and the Secretary of State)."""
    told = rules.steps["sign_off"].told if "sign_off" in rules.steps else []
    return role_contacts(partnership, rules, told)


def full_report_notices(case: CaseFile, partnership: Partnership, rules: RuleSet, *, publication_on: date,
                        report: dict[str, str], sent_on: date) -> list[Message]:
    """Working Together 2023: the full final report, attached, to the Panel and the Secretary of State, with the
    publication date (at least 7 working days away); the business manager gets a copy of the covering email."""
    context = _common(case, partnership, rules) | {"review_type": case.decision, "publication_on": publication_on,
                                                   "sent_on": sent_on}
    people = full_report_recipients(partnership, rules)
    messages = [Message(case.reference, "review-full-report", "review_full_report", to, 0,
                        context | {"told_as": title}, attachments=(dict(report),)) for to, title in people]
    names = [title for _, title in people]
    messages.append(Message(case.reference, "review-full-report", "review_full_report",
                            partnership.contacts.business_manager, 0, context | {"copy_for": names}))
    return messages


def publication_delay_notices(case: CaseFile, partnership: Partnership, rules: RuleSet, *, reasons: str,
                              expected_on: date | None, number: int) -> list[Message]:
    """Working Together 2023: the Panel and the Secretary of State are told that publication is delayed, with the
    reasons (and the new date, when known); the business manager gets a copy."""
    context = _common(case, partnership, rules) | {"review_type": case.decision, "reasons": reasons,
                                                   "expected_on": expected_on, "due_at": _publication_due(case)}
    people = full_report_recipients(partnership, rules)
    messages = [Message(case.reference, f"review-publication-delay-{number}", "review_publication_delay", to, 0,
                        context | {"told_as": title}) for to, title in people]
    messages.append(Message(case.reference, f"review-publication-delay-{number}", "review_publication_delay",
                            partnership.contacts.business_manager, 0, context | {"copy_for": [t for _, t in people]}))
    return messages


def _publication_due(case: CaseFile) -> datetime | None:
    return case.deadlines.get("publication")

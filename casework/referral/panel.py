"""The rapid review sent to the Child Safeguarding Practice Review Panel, and the Panel's reply (wt2023).

Pure: a case file and the rule set in, the rapid review out, as its sections (headings in the rule set's words, in
the order of the Panel's rapid review template) and as a Word document (python-docx) attached to the notice that
carries it; the Panel's reply as a checked choice. Nothing here reads the clock, the database or Prefect.

The rapid review never names the child: the child and the significant people are described by age and
relationship, as the anonymised notice to the Panel does (casework.referral.messages.age_on; the anonymised
details of casework.forms, refused at recording when they name someone). What the rapid review meeting recorded
for the Panel is refused at recording when it names someone (casework.forms.check_no_identities); any other text
the document carries (the rationales of the recommendation and the decision) has every part of a name of the case
replaced by the person's relationship to the child.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from casework.forms import NOT_IDENTIFYING, _plain
from casework.model import review_labels
from config.rulesets import RapidReviewDocument, RuleSet

if TYPE_CHECKING:
    from casework.referral.messages import CaseFile
    from config.partnership import Partnership

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PanelReply(StrEnum):
    """What the Panel answered to the rapid review (the words the office form lists)."""

    agrees = "agrees"
    disagrees = "disagrees"
    asks_for_more = "asks for more information"
    national_review = "will carry out a national review"


def check_panel_reply(reply: PanelReply, reasons: str | None) -> None:
    """A disagreement and a request for more carry what the Panel said; raise ValueError naming the field otherwise."""
    if reply in (PanelReply.disagrees, PanelReply.asks_for_more) and not (reasons or "").strip():
        raise ValueError(f"reasons: the Panel {reply.value}: give what it said")


@dataclass(frozen=True)
class Section:
    """One section of the rapid review: its heading and its paragraphs."""

    key: str
    heading: str
    paragraphs: tuple[str, ...]


def _words(rules: RuleSet) -> RapidReviewDocument:
    if rules.rapid_review_document is None:
        raise ValueError(f"rule set '{rules.name}' sends no rapid review document")
    return rules.rapid_review_document


def age_at(born: date | None, on: date) -> int | None:
    """Whole years from `born` to `on` (None when the date of birth is not known)."""
    if born is None or born == date.min:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _people(case: "CaseFile") -> list[tuple[list[str], str]]:
    """Each person of the case: the parts of their name, and how the rapid review calls them instead."""
    people = [(case.child_name, "the child")]
    people += [(str(p.get("name") or ""), f"the child's {p.get('relationship') or 'relative'}")
               for p in case.significant_people]
    named = []
    for name, called in people:
        parts = [part for part in re.findall(r"[^\W\d_]+", _plain(name)) if len(part) > 1 and part not in NOT_IDENTIFYING]
        if parts:
            named.append((parts, called))
    return named


def anonymised(text: str | None, case: "CaseFile") -> str:
    """`text` with each word that is (part of) the name of someone in the case replaced by how the rapid review
    calls them ("the child", "the child's mother"); a full name ("Ann Smith") becomes one such phrase."""
    if not text:
        return ""
    people = _people(case)
    out: list[str] = []
    last: str | None = None  # whom the last word replaced named, while only spaces follow it
    for token in re.split(r"(\s+)", text):
        if not token or token.isspace():
            out.append(token)
            continue
        letters = set(re.findall(r"[^\W\d_]+", _plain(token)))
        called = next((called for parts, called in people if letters & set(parts)), None)
        if called is None:
            out.append(token)
            last = None
            continue
        lead = re.match(r"^[^\w]*", token).group(0)
        possessive = re.search(r"['\u2019]s([^\w]*)$", token)
        tail = f"'s{possessive.group(1)}" if possessive else re.search(r"[^\w]*$", token).group(0)
        if last == called and len(out) >= 2 and out[-1].isspace():
            out.pop()
            previous = out.pop()
            lead = re.match(r"^[^\w]*", previous).group(0)
        out.append(f"{lead}{called}{tail}")
        last = called
    return "".join(out)


def _facts(case: "CaseFile", partnership: "Partnership") -> tuple[str, ...]:
    facts = case.facts
    on = case.child_date_of_death or case.notified_on
    age = age_at(case.child_date_of_birth, on)
    child = f"The child, aged {age}," if age is not None else "The child"
    harm = "has died" if facts.get("child_died") else "has been seriously harmed" if facts.get("seriously_harmed") else (
        "has been harmed")
    lines = [f"{child} {harm}.",
             "Abuse or neglect is known or suspected." if facts.get("abuse_or_neglect_suspected")
             else "Abuse or neglect is not recorded as known or suspected.",
             "The child was looked after by the local authority." if facts.get("looked_after")
             else "The child was not looked after by the local authority.",
             f"The safeguarding partners became aware of the incident on {case.notified_on:%-d %B %Y}."]
    for person in case.significant_people:
        their_age = age_at(date.fromisoformat(person["date_of_birth"]) if person.get("date_of_birth") else None, on)
        lines.append(f"The child's {person.get('relationship') or 'relative'}"
                     + (f", aged {their_age}." if their_age is not None else "."))
    anonymous = (case.panel_details or {}).get("anonymised") or {}
    for label, key in (("Nature of the incident", "nature_of_incident"), ("Ages of the children involved",
                       "ages_of_children"), ("Relationship with any alleged perpetrator",
                       "relationship_to_alleged_perpetrator"), ("Criminal investigation", "criminal_investigation")):
        if anonymous.get(key):
            lines.append(f"{label}: {anonymous[key]}")
    recorded = (case.rapid_review or {}).get("facts_established")
    if recorded:
        lines.append(recorded)
    return tuple(lines)


RETURN_WORDS = {"returned": "gave its information to the rapid review", "nil": "no involvement with the child or family",
                "not_received": "no information received by the rapid review meeting",
                "outstanding": "information asked for, not yet received"}


def _agencies(case: "CaseFile", partnership: "Partnership") -> tuple[str, ...]:
    if not case.agencies:
        return ()
    involved = [f"{partnership.agency(code).name}: {RETURN_WORDS.get(status, status)}"
                for code, status in case.agencies if code in partnership.agency_by_code]
    anonymous = (case.panel_details or {}).get("anonymised") or {}
    return tuple(involved + ([f"Agency involvement with the family: {anonymous['agency_involvement']}"]
                             if anonymous.get("agency_involvement") else []))


def _criteria(case: "CaseFile", rules: RuleSet, words: RapidReviewDocument) -> tuple[str, ...]:
    labels = review_labels(rules.terms)
    joint = case.facts.get("concern_about_joint_working")
    suggests = {True: "the recorded facts suggest a concern about agencies working together",
                False: "no concern about agencies working together is recorded",
                None: "whether agencies worked together well is not yet clear"}[joint]
    lines = [f"Considered: {criterion}." for criterion in words.criteria]
    lines.append(f"What the recorded facts suggest (advice, not the decision): {suggests}.")
    if case.recommendation:
        lines.append(f"The {rules.term('consideration')}'s recommendation: {labels.get(case.recommendation, case.recommendation)}.")
        if case.recommendation_rationale:
            lines.append(anonymised(case.recommendation_rationale, case))
    if case.decision:
        lines.append(f"The {rules.term('decision')}: {labels.get(case.decision, case.decision)}.")
        if case.decision_rationale:
            lines.append(f"Rationale: {anonymised(case.decision_rationale, case)}")
        explanation = (case.panel_details or {}).get("criteria_explanation")
        if explanation:
            lines.append(f"Why the criteria are not met: {anonymised(explanation, case)}")
    return tuple(lines)


def _signed_by(partnership: "Partnership", key: str) -> str:
    """A partner who agreed, as the sign-off names them: who acts for it and the organisation (a key the
    partnership file does not name is shown as given)."""
    partner = partnership.safeguarding_partners.get(key)
    return f"{partner.acting.name} ({partner.organisation})" if partner else key


def _sign_off(case: "CaseFile", partnership: "Partnership", rules: RuleSet) -> tuple[str, ...]:
    if not case.decided_at:
        return ()
    who = (", ".join(_signed_by(partnership, key) for key in case.signed_off_by) if case.signed_off_by
           else (case.decided_by or ""))
    when = f"{case.decided_at:%-d %B %Y}"
    return (f"Decided on {when} by {who}." if who else f"Decided on {when}.",)


def rapid_review_sections(case: "CaseFile", partnership: "Partnership", rules: RuleSet) -> list[Section]:
    """The rapid review's sections, in the order of the Panel's rapid review template, each heading in the rule
    set's words; a section with nothing recorded says so (`not_recorded`). Never the child's name."""
    words = _words(rules)
    record = case.rapid_review or {}

    def recorded(key: str) -> tuple[str, ...]:
        return (record[key],) if record.get(key) else ()

    bodies = {
        "facts": _facts(case, partnership),
        "agencies": _agencies(case, partnership),
        "immediate_action": recorded("immediate_action"),
        "learning": recorded("learning_so_far"),
        "criteria": _criteria(case, rules, words),
        "national_review": recorded("national_review") + (
            ("The decision records that the case may raise issues of national importance.",)
            if case.national_importance else ()),
        "sign_off": _sign_off(case, partnership, rules),
    }
    return [Section(key, heading, bodies[key] or (words.not_recorded,)) for key, heading in words.sections.items()]


def rapid_review_filename(case: "CaseFile", rules: RuleSet) -> str:
    return f"{_words(rules).filename}-{case.reference}.docx"


def rapid_review_docx(case: "CaseFile", partnership: "Partnership", rules: RuleSet) -> bytes:
    """The rapid review as a Word document: its title (the case's reference and the partnership), then each
    section's heading and paragraphs."""
    from docx import Document  # (imported here: `cig` starts faster without it)

    words = _words(rules)
    document = Document()
    document.add_heading(f"{words.title}: {case.reference}", level=1)
    document.add_paragraph(f"{partnership.name}. {rules.term('panel')}.")
    for section in rapid_review_sections(case, partnership, rules):
        document.add_heading(section.heading, level=2)
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rapid_review_attachment(case: "CaseFile", partnership: "Partnership", rules: RuleSet) -> dict[str, str]:
    """The rapid review as an outbox attachment (base64)."""
    import base64

    return {"filename": rapid_review_filename(case, rules), "content_type": DOCX, "encoding": "base64",
            "content": base64.b64encode(rapid_review_docx(case, partnership, rules)).decode("ascii")}


def rapid_review_record(values: dict[str, Any], fields: Sequence[str]) -> dict[str, str] | None:
    """What the rapid review meeting recorded for the Panel, of the form's `fields`; None when nothing."""
    record = {key: str(values[key]).strip() for key in fields if values.get(key) and str(values[key]).strip()}
    return record or None

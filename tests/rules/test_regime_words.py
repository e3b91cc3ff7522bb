"""Every word in the regime's terms (issue 19, item 8).

Under `ruleset: wt2023` nothing a person reads may use a word of the regime it replaced: the rule set's own
`retired_words` ("Serious Case Review", "SCR", "LSCB", "independent chair", "Critical Incident Group", "CIG",
"regulation 5(2)", "National Panel"), matched as config.rulesets.retired_word_in matches them (an all-capitals word
whole and in capitals: CIGINF1 and CIGSCR1, the partnership's form names, are not "CIG"). The words a template
needs come from the rule set's `terms` (RuleSet.term), so the two cannot drift apart:

- no email template or website page template writes a retired word itself, in any branch (its words come from
  the terms it is given);
- a case of the wt2023 example partnership (config/partnership.wt2023.example.yaml) taken from its referral
  through the rapid review, the partners' decision, the LCSPR and its publication: every email as queued, every
  page its emails link to, the documents (the meeting's agenda and papers, markdown and Word; the rapid review sent
  to the Panel; the learning index; the tracker and its workbook's columns; the case timeline; the monthly report);
- every Prefect form a person fills in under wt2023, as the run page shows it.

Each failure names the template, page, document or form and the word. Every name and address is invented.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

import casework.store
from casework.office import Office, open_office
from casework.store.tables import OutboxMessage
from config.rulesets import load_ruleset, retired_word_in
from config.settings import CONFIG_DIR
from notifications.render import TEMPLATES
from tests.rules.test_no_shell_commands import strings_in  # every string of a form's schema

ROOT = Path(__file__).resolve().parents[2]
WT2023 = load_ruleset("wt2023")
RETIRED = WT2023.retired_words
PARTNERSHIP_FILE = CONFIG_DIR / "partnership.wt2023.example.yaml"
EXAMPLE_REFERRAL = ROOT / "examples" / "referral.yaml"
UTC = timezone.utc
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def retired(where: str, text: str | None) -> list[str]:
    """Each use of a retired word in `text`, in order, as "<where>: '<word>' in ...<the words around it>..."; a word
    is found exactly where config.rulesets.retired_word_in finds it (checked)."""
    text = text or ""
    hits = sorted((match.start(), word) for word in RETIRED for match in re.finditer(
        rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text, 0 if word.isupper() else re.IGNORECASE))
    assert bool(hits) == bool(retired_word_in(text, RETIRED)), text
    return [f"{where}: '{word}' in ...{text[max(0, i - 60):i + len(word) + 30]!r}..." for i, word in hits]


def test_the_check_matches_words_as_the_rule_set_does() -> None:
    assert retired("x", "The CIG meets.") and retired("x", "the Independent Chair") and retired("x", "an SCR.")
    hits = retired("x", "The recorded facts meet regulation 5(2): an SCR must be commissioned")
    assert [hit.split("'")[1] for hit in hits] == ["regulation 5(2)", "SCR"]
    assert retired("x", "the CIGINF1 and CIGSCR1 forms; cig-chair@example.org; https://cig.example.org") == []


# --- the templates: no retired word written in any branch ----------------------------------------------


def template_words(path: Path) -> str:
    """What a template writes itself: its text with every Jinja expression, statement and comment taken out."""
    return JINJA.sub(" ", path.read_text(encoding="utf-8"))


def test_no_email_template_writes_a_retired_word_itself() -> None:
    """The email templates' own words, in every branch (wt2015's words reach them through the terms)."""
    paths = sorted(TEMPLATES.glob("*.j2"))
    assert len(paths) > 50
    hits = [hit for path in paths for hit in retired(path.name, template_words(path))]
    assert hits == [], "\n".join(hits)


def test_no_website_page_writes_a_retired_word_itself() -> None:
    from website.pages import TEMPLATES as PAGES

    paths = sorted(PAGES.glob("*.html"))
    assert len(paths) > 10
    hits = [hit for path in paths for hit in retired(path.name, template_words(path))]
    assert hits == [], "\n".join(hits)


# --- a case under wt2023, from referral to publication: what each person reads ---------------------------


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The wt2023 example partnership's office on its own SQLite file (messages stay in the outbox)."""
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_USERNAME",
                 "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_PARTNERSHIP_FILE", str(PARTNERSHIP_FILE))
    monkeypatch.setenv("CIG_WEBSITE_URL", "http://cig.example.org")
    casework.store._factory.cache_clear()
    the_office = open_office()
    assert the_office.partnership.ruleset == "wt2023"
    yield the_office
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def outbox(office: Office) -> list[OutboxMessage]:
    with office.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def docx_text(data: bytes) -> str:
    from docx import Document

    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def final_report() -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph("Final report of an invented review.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def wt2023_case(office: Office, shown: list[tuple[str, str]]) -> str:
    """A case of the wt2023 example partnership through the steps a person takes under wt2023, to publication;
    `shown` gets what each step's form shows with it (the case's context and summary, the review's plan)."""
    from casework.forms import AgencyReturnForm, PanelNotificationForm, PartnerDecisionForm, ReferralForm, ScreeningForm
    from casework.learning import actions as learning
    from casework.learning.forms import ActionForm
    from casework.meetings.preparation import prepare_meeting
    from casework.referral import actions
    from casework.review import actions as review
    from casework.review.forms import (
        AppointmentForm, FamilyInvolvementForm, FullReportForm, RatificationForm, ReviewDocumentForm,
        ReviewPublicationForm,
    )
    from casework.referral.views import case_context_markdown, case_summary_markdown
    from casework.review import store as review_store
    from casework.review.views import review_markdown, review_view
    from casework.store import cases as store
    from casework.sweep import queue_reminders

    def form_context(step: str, now: datetime) -> None:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            summary = case_summary_markdown(case, WT2023, office.calendar, now, step=step)
            shown.append((f"{step} form (summary)", summary))
            shown.append((f"{step} form (context)", case_context_markdown(case, WT2023, office.calendar, now, summary)))

    def review_context(step: str, today: date) -> None:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            view = review_view(case, review_store.get_review(session, case=case), today)
        shown.extend((f"review {step} form", text) for text in review_markdown(view, step))

    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    referral = ReferralForm.model_validate(data, context={"today": date(2026, 11, 20)})
    reference = actions.submit_referral(office, referral, now=at(11, 18), actor="referrer").reference
    form_context("screening", at(11, 18))
    actions.record_panel_notification(office, reference, PanelNotificationForm(
        notified_on=date(2026, 11, 19), notified_by="Del Director", panel_reference="SIN-0001"),
        now=at(11, 19), actor="administrator")
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Bo Business",
                                                              independent_chair_consulted=True),
                             now=at(11, 19, 11), actor="screening form")
    actions.list_and_request_information(office, reference, now=at(11, 19, 12))
    form_context("return", at(11, 20))
    for day in (20, 23, 24, 25, 26, 27, 30):  # the sweep's reminders and warnings while the returns are awaited
        queue_reminders(office, now=at(11, day, 9))
    for code in [agency.code for agency in office.partnership.agencies]:
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=at(11, 24),
                              actor="administrator")
    for n in range(14):  # the papers go out working days before the rapid review meeting
        prepare_meeting(office, now=at(11, 24, 7) + timedelta(days=n))
    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=reference).meeting_at
    assert meeting_at is not None
    from flows.forms import recommendation_input

    form_context("recommendation", meeting_at + timedelta(minutes=30))

    recommendation = recommendation_input(WT2023).model_validate({
        "outcome": "scr", "rationale": "Agencies did not share what they knew.",
        "facts_established": "A seven-year-old was seriously injured at home.",
        "immediate_action": "A strategy meeting the next day.", "learning_so_far": "Information sharing."})
    actions.record_recommendation(office, reference, recommendation, now=meeting_at + timedelta(hours=1),
                                  actor="administrator")
    form_context("decision", meeting_at + timedelta(hours=2))
    decided_at = meeting_at + timedelta(hours=3)
    for partner in office.partnership.safeguarding_partners:
        actions.record_partner_decision(office, reference, partner, PartnerDecisionForm(
            response="agree", rationale="We agree: invented rationale.", national_importance=False),
            link_id=None, now=decided_at, actor="partner")
    actions.finish_case(office, reference, now=decided_at + timedelta(hours=1))

    review.commission_review(office, reference, now=at(12, 11))
    review_context("appointment", date(2026, 12, 11))
    review.appoint_reviewer(office, reference, AppointmentForm.model_validate(
        {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
         "appointed_on": date(2026, 12, 14), "appointed_by": "the safeguarding partners",
         "email": "rowan.reviewer@example.org"}, context={"today": date(2026, 12, 14)}), now=at(12, 14), actor="t")
    for day in (date(2026, 12, 30), date(2027, 1, 20), date(2027, 3, 1)):
        queue_reminders(office, now=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9))
    review.upload_review_document(office, reference, ReviewDocumentForm(kind="final_report"), filename="final.docx",
                                  data=final_report(), now=at(4, 1, year=2027), actor="t")
    review_context("ratification", date(2027, 4, 1))
    signed_off = RatificationForm.model_validate({"by": "safeguarding_partners", "result": "ratified",
                                                  "on": date(2027, 4, 20)}, context={"today": date(2027, 4, 20)})
    for partner in office.partnership.safeguarding_partners:  # each from their own link
        review.record_partner_sign_off(office, reference, partner, signed_off, link_id=None, now=at(4, 20, year=2027),
                                       actor="partner")
    review.record_family(office, reference, FamilyInvolvementForm.model_validate(
        {"involvement": "complete", "on": date(2027, 4, 1)}, context={"today": date(2027, 4, 1)}),
        now=at(4, 21, year=2027), actor="t")
    queue_reminders(office, now=at(5, 28, 9, year=2027))
    review_context("publication", date(2027, 5, 28))
    review.send_full_report(office, reference, FullReportForm(publication_on=date(2027, 6, 9)),
                            now=at(5, 28, 12, year=2027), actor="t")
    review.publish_review(office, reference, ReviewPublicationForm.model_validate(
        {"published_on": date(2027, 6, 9), "link": "https://example.org/lcspr",
         "response_link": "https://example.org/response", "themes": ["neglect"]}, context={"today": date(2027, 6, 9)}),
        now=at(6, 9, year=2027), actor="t")
    learning.add_actions(office, reference, [ActionForm.model_validate(
        {"plan": "multi_agency", "finding": "Information was not shared.", "action": "Audit 20 assessments.",
         "agency": "CSC", "lead_name": "Ash Lead", "lead_email": "ash.lead@example.org", "target_on": "2027-09-30",
         "evidence_of_impact": "The audit's results."}, context={"today": date(2027, 6, 10)})],
        now=at(6, 10, year=2027), actor="business manager", reason="A finding of the final report.")
    for day in (date(2027, 9, 28), date(2027, 10, 20)):
        queue_reminders(office, now=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9))
    return reference


def documents(office: Office, reference: str) -> Iterator[tuple[str, str]]:
    """(what, its words) of every document of the case: papers, the rapid review, the index, tracker, timeline,
    the monthly report."""
    from casework.learning.actions import learning_index
    from casework.learning.documents import index_markdown
    from casework.oversight.exports import current_tracker
    from casework.oversight.publication import build_monthly_report
    from casework.oversight.report import report_markdown
    from casework.oversight.timeline import case_timeline_markdown, people_of
    from casework.oversight.tracker import tracker_table
    from casework.store import cases as store

    for path in sorted(office.settings.papers_dir.rglob("*")):
        if path.suffix == ".md":
            yield f"papers {path.name}", path.read_text(encoding="utf-8")
        elif path.suffix == ".docx":
            yield f"papers {path.name}", docx_text(path.read_bytes())
    for message in outbox(office):
        for attachment in message.body.get("attachments") or ():
            if attachment["filename"].endswith(".docx") and attachment["filename"] != "final.docx":
                yield (f"{attachment['filename']} attached to {message.kind}",
                       docx_text(base64.b64decode(attachment["content"])))
    now = at(6, 12, year=2027)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        yield "case timeline", case_timeline_markdown(
            case, store.audit_trail(session, reference=reference), store.messages_for(session, case_id=case.id),
            calendar=office.calendar, now=now, terms=office.rules(case.regime).terms,
            people=people_of(office.partnership, WT2023), tracker_url="http://127.0.0.1:4200/artifacts/key/case-tracker")
    rows = tracker_table(current_tracker(office, now=now), office.calendar.zone)
    yield "tracker columns", " | ".join(rows[0].keys()) if rows else ""
    for row in rows:
        yield "tracker row", " | ".join(str(value) for value in dict(row).values())
    yield "monthly report", report_markdown(build_monthly_report(office, date(2026, 11, 1), now=at(12, 1, 8)))
    yield "learning index", index_markdown(learning_index(office, today=now.date()),
                                           title="Learning and improvement index")


LINK_IN_TEXT = re.compile(r"(https?://[^\s/]+/link/[A-Za-z0-9_-]{43})")


async def test_a_wt2023_case_reads_in_its_terms_everywhere(office: Office) -> None:
    """Every email of a wt2023 case as queued, every page its emails link to, and its documents."""
    from website.app import create_app

    shown: list[tuple[str, str]] = []
    reference = wt2023_case(office, shown)
    found: list[str] = []
    for what, text in shown:
        found += retired(what, text)
    messages = outbox(office)
    for m in messages:
        for part, text in (("subject", m.subject), ("text", m.body["text"]), ("html", m.body["html"])):
            found += retired(f"email {m.kind} to {m.recipient} ({part})", text)
    read = list(documents(office, reference))
    for what, text in read:
        found += retired(what, text)
    assert {"case timeline", "tracker columns", "monthly report", "learning index"} <= {what for what, _ in read}
    assert any(what.startswith("rapid-review") for what, _ in read), [what for what, _ in read]  # sent to the Panel
    assert any(what.startswith("papers") and what.endswith(".docx") for what, _ in read)  # the papers, in Word
    links = {(m.kind, link) for m in messages for link in LINK_IN_TEXT.findall(m.body["text"])}
    transport = httpx.ASGITransport(app=create_app(office))
    async with httpx.AsyncClient(transport=transport, base_url=office.settings.website_url) as http:
        for kind, link in sorted(links):
            page = await http.get(link)
            found += retired(f"page from the {kind} email ({page.status_code})", page.text)
    assert {"rapid_review_meeting", "recommendation", "review_commissioned"} & {m.kind for m in messages}
    [write_up] = [m.body["text"] for m in messages if m.kind == "learning_write_up"]
    assert "The safeguarding partners signed off the final report of the local child safeguarding" in write_up
    assert found == [], "\n".join(found)


def test_the_emails_of_the_steps_the_case_does_not_take_read_in_its_terms() -> None:
    """A referral closed at screening, a partner's disagreement, a publication delayed, a report not published:
    each message as the process builds it under wt2023, rendered."""
    import dataclasses

    from casework.referral.messages import CaseFile, decline_notice, partners_disagree
    from casework.review.messages import non_publication_notices, publication_delay_notices
    from config.partnership import load_partnership
    from notifications.render import render

    p = load_partnership(PARTNERSHIP_FILE)
    referred = CaseFile(
        reference="SSCP-2026-0007", regime="wt2023", referring_agency="HEALTH", notified_on=date(2026, 11, 16),
        referred_at=at(11, 18), facts={"abuse_or_neglect_suspected": True, "child_died": False, "seriously_harmed": True,
                                       "concern_about_joint_working": True},
        child_name="Zephyrine Quillfeather-Testcase", child_date_of_birth=date(2019, 2, 17), child_date_of_death=None,
        significant_people=[], referrer_email="named-nurse@example.org",
        screening_reason="Not a serious child safeguarding incident.", sin=None, sin_completed_on=None,
        deadlines={"decision": at(12, 7, 23)})
    decided = dataclasses.replace(
        referred, round=1, meeting_at=at(12, 1), recommendation="scr", recommendation_rationale="Agencies did not share.",
        decision="scr", decision_rationale="The criteria are met.", decided_at=at(12, 2), decided_by="the partners")
    messages = decline_notice(referred, p, WT2023) + partners_disagree(
        decided, p, WT2023, partner="police", rationale="Invented rationale.", answers=[("Southshire Police", "disagrees")])
    messages += publication_delay_notices(decided, p, WT2023, reasons="A parallel trial.", expected_on=date(2027, 7, 15),
                                          number=1)
    messages += non_publication_notices(decided, p, WT2023, decided_on=date(2027, 6, 1), decided_by="The partners",
                                        reason="To protect a surviving sibling.",
                                        improvements_link="https://example.org/improvements")
    assert len({m.template for m in messages}) >= 4
    found = [hit for m in messages for part in ("subject", "text", "html")
             for hit in retired(f"email {m.template} to {m.to.email} ({part})", getattr(render(m), part))]
    assert found == [], "\n".join(found)


def test_the_refusal_of_a_publication_before_the_familys_involvement_reads_in_its_terms() -> None:
    from casework.review.rules import Ratifier, check_publication

    with pytest.raises(ValueError) as refused:
        check_publication("scr", None, True, Ratifier.safeguarding_partners, WT2023.term("scr_short"))
    assert str(refused.value).startswith("family_involvement: for an LCSPR the family's involvement must be complete")
    assert retired("refusal", str(refused.value)) == []


# --- the Prefect forms: what a person fills in under wt2023 ---------------------------------------------

# (form, word) found by the test below and left, each with the item of issue 19 that owns it: none left (every step's
# form has its version in the rule set's terms, as casework.forms.screening_form gives the screening step's, and every
# Run form is given the rule set's words when the deployments are registered). The test fails when a listed one is
# fixed (take it off the list).
KNOWN_GAPS: dict[tuple[str, str], str] = {
}


def test_every_form_a_person_fills_in_under_wt2023_reads_in_its_terms() -> None:
    """The Resume forms as a wt2023 case's run shows them (flows.forms.form_for, each step's form under the rule
    set), and every deployment's Run form and description in prefect.yaml (one file for both rule sets) as the
    deployments are registered for a wt2023 partnership (flows.forms.run_form_words: the rule set's words)."""
    import importlib

    from prefect.utilities.callables import parameter_schema

    from casework.forms import review_choices
    from config.partnership import load_partnership
    from config.rulesets import RunFormWords
    from flows import forms

    partnership = load_partnership(PARTNERSHIP_FILE)
    resume = {"screening": forms.screening_input(WT2023), "return": forms.AgencyReturnInput,
              "recommendation": forms.recommendation_input(WT2023), "decision": forms.decision_input(WT2023),
              "appointment": forms.appointment_input(WT2023), "ratification": forms.ratification_input(WT2023),
              "publication": forms.ReviewPublicationInput}
    found: dict[tuple[str, str], list[str]] = {}
    for step, form in resume.items():
        schema = forms.form_for(form, partnership, f"The {step} form").model_json_schema()
        for text in strings_in(schema):
            for hit in retired(f"resume {step}", text):
                found.setdefault((f"resume {step}", hit.split("'")[1]), []).append(hit)
    registered = forms.run_form_words(WT2023)  # what each Run form is given when the deployments are registered
    for deployment in yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]:
        where = f"deployment {deployment['name']}"
        given = registered.get(deployment["name"], RunFormWords())
        texts = [(f"{where} (description)", given.description or deployment["description"])]
        path, _, name = deployment["entrypoint"].partition(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)
        schema = forms.offered_schema(parameter_schema(flow.fn).model_dump_for_openapi(), partnership, given.heading,
                                      given.fields, forms=given.forms, labels=review_choices(WT2023.terms))
        texts += [(f"{where} (form)", text) for text in strings_in(schema)]
        for place, text in texts:
            for hit in retired(place, text):
                found.setdefault((place, hit.split("'")[1]), []).append(hit)
    unexpected = [hit for key, hits in sorted(found.items()) if key not in KNOWN_GAPS for hit in hits]
    assert unexpected == [], "\n".join(unexpected)
    assert set(KNOWN_GAPS) - set(found) == set(), "fixed: take it off KNOWN_GAPS"

"""No shell command in anything a person reads (issue 20, item 9).

The people of the process are public-sector staff, not operators of the server: no email, website page,
Prefect form (its fields, its case context, the deployment's description), artifact (the case timeline, the
tracker, the monthly and annual reports, the meeting papers) or refusal tells them to run `cig ...` or shows
a backtick-quoted command. Each says what to do in words and where (a link, a form in the Prefect UI, or
whom to ask). The `cig` command itself (its help and its output to operators) is not checked here.

Everything is rendered as the person receives it:
- every email template, from the messages the process builds (casework.*.messages, the reminders the
  sweep owes, the meeting notices) rendered by notifications.render, and the outbox of a case taken from
  its referral to its review's publication on a real SQLite database (the emails as they were queued);
- every page of the secure website, opened from the links in those emails (httpx over ASGI);
- every form's JSON schema as the Prefect UI reads it (the Resume forms with their case context, the
  deployments' Run forms) and every deployment's description in prefect.yaml;
- the artifacts' markdown (timeline, tracker, monthly report, annual report, learning index, papers);
- the refusals a person meets on a form or a page.

A hit is `cig ` followed by a sub-command, a backtick, or an HTML <code> element. Every name and address is
invented.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import BaseModel
from sqlalchemy import select

import casework.store
from casework.clocks import LONDON, WorkingCalendar
from casework.forms import Form
from casework.learning.annual import ActionFacts, ClockFacts, ReviewFacts, annual_report
from casework.learning.messages import impact_pack_messages, learning_write_up_notice, target_date_message
from casework.learning.rules import ACTION_KIND, IMPACT_REVIEW_KIND, ActionDue, ActionStatus, PackAction, impact_pack
from casework.meetings.agenda import Agenda, ListedCase, agenda_messages
from casework.meetings.calendar import Meeting
from casework.meetings.rescheduling import addition_notices, change_notices
from casework.office import Office, open_office
from casework.referral.messages import (
    CaseFile, Message, acceptance_notice, decision_advice, decision_notices, decline_notice, information_requests,
    intake_refusal, link_resent, listing_notices, partners_disagree, recommendation_notice, referral_notices,
    return_receipts, run_left_stopped, run_recovered, serious_incident_notification,
)
from casework.reminders import OpenDeadline
from casework.sweep import reminders_owed
from casework.review.messages import (
    ReviewFile, appointment_notices, commissioning_notices, non_publication_notices, publication_notices,
    drafts_ready_notice, full_report_notices, national_review_notices, publication_delay_notices, ratification_notice,
)
from casework.review.reminders import REVIEW_MILESTONE
from casework.review.rules import Ratifier
from casework.store.tables import OutboxMessage
from config.partnership import Contact, load_partnership
from config.rulesets import load_ruleset
from config.settings import CONFIG_DIR
from casework.links import LinkStep
from notifications.render import TEMPLATES, render
from website.notices import throttling_notice

ROOT = Path(__file__).resolve().parents[2]
PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.example.yaml")
WT2015, WT2023 = load_ruleset("wt2015"), load_ruleset("wt2023")
CALENDAR = WorkingCalendar.of()
UTC = timezone.utc

# `cig` followed by one of its sub-commands (not "cig-chair@example.org", not "the CIG")
COMMAND = re.compile(r"(?<![\w@./-])cig [a-z][a-z-]*")
CODE = re.compile(r"<code\b", re.IGNORECASE)


def shell_commands(where: str, text: str | None) -> list[str]:
    """Each place in `text` that shows a person a shell command: `cig <command>`, a backtick, an HTML <code>."""
    found = []
    for pattern in (COMMAND, re.compile("`"), CODE):
        for match in pattern.finditer(text or ""):
            start = max(0, match.start() - 60)
            found.append(f"{where}: ...{(text or '')[start:match.end() + 40]!r}")
    return found


def message_hits(message: Message, where: str = "") -> list[str]:
    rendered = render(message)
    label = f"{where}{message.template} to {message.to.email}"
    return (shell_commands(f"{label} (subject)", rendered.subject) + shell_commands(f"{label} (text)", rendered.text)
            + shell_commands(f"{label} (html)", rendered.html))


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


# --- every email, from the messages the process builds ---------------------------------------------------

REFERRED = CaseFile(
    reference="NSCP-2026-0007", regime="wt2015", referring_agency="HEALTH", notified_on=date(2026, 11, 16),
    referred_at=local(2026, 11, 18),
    facts={"abuse_or_neglect_suspected": True, "child_died": False, "seriously_harmed": True,
           "concern_about_joint_working": True},
    child_name="Zephyrine Quillfeather-Testcase", child_date_of_birth=date(2019, 2, 17), child_date_of_death=None,
    significant_people=[{"name": "Jordan Testparent", "date_of_birth": "1990-05-01", "relationship": "mother"}],
    referrer_email="named-nurse@example.org", screening_reason="The criteria are not met: no concern about joint working.",
    sin={"completed_by": "Sam Unit-Manager", "text": "Serious injury to a young child.", "document": None},
    sin_completed_on=date(2026, 11, 17),
    deadlines={"decision": local(2026, 12, 16, 23, 59), "panel_notice": local(2026, 12, 24, 23, 59)},
)
LISTED = dataclasses.replace(REFERRED, round=1, meeting_at=local(2026, 12, 8))
DECIDED = dataclasses.replace(
    LISTED, recommendation="scr", recommendation_rationale="Serious harm and concern about information sharing.",
    chair_response="affirm", decision="scr", decision_rationale="Regulation 5(2)(b)(ii) is met.",
    decided_at=local(2026, 12, 10, 15), decided_by="Indra Independent", lead_reviewers=["Rowan Reviewer"],
)
NOT_SCR = dataclasses.replace(
    DECIDED, chair_response="challenge", decision="individual_agency_review",
    decision_rationale="Learning is confined to one agency.",
    panel_details={"anonymised": {"nature_of_incident": "Injury to a young child", "ages_of_children": "7 years",
                                  "relationship_to_alleged_perpetrator": "mother's partner",
                                  "agency_involvement": "Universal health services",
                                  "criminal_investigation": "Police investigation open"},
                   "criteria_explanation": "No concern about how agencies worked together."},
)
REVIEW = ReviewFile(review_type="scr", plan_title="Serious Case Review", commissioned_on=date(2026, 12, 11),
                    milestones=[("Review group initial meeting", date(2026, 12, 24)),
                                ("Final report to the board", date(2027, 5, 28))],
                    engagement_due_at=local(2026, 12, 18, 23, 59), reviewers=["Rowan Reviewer"])
LINK = "https://cig.example.org/link/" + "A" * 43
LEAD = Contact(name="Ash Lead", email="ash.lead@example.org")


def sweeps(first: date, last: date) -> Iterator[datetime]:
    """The moments a sweep runs: each day from `first` to `last`, 09:00 London."""
    for n in range((last - first).days + 1):
        yield datetime.combine(first + timedelta(days=n), time(9), tzinfo=LONDON).astimezone(UTC)


def swept(item: OpenDeadline, around: date) -> list[Message]:
    """Every reminder, warning, chase and escalation the deadline owes over the weeks around its due day, once each."""
    owed: dict[str, Message] = {}
    for now in sweeps(around - timedelta(days=40), around + timedelta(days=40)):
        for message in reminders_owed([item], now=now, partnership=PARTNERSHIP, calendar=CALENDAR):
            owed.setdefault(message.key, message)
    return list(owed.values())


def deadline(kind: str, subject: str, label: str, due: date, **more: Any) -> OpenDeadline:
    return OpenDeadline(reference=DECIDED.reference, kind=kind, subject=subject, round=more.pop("round", 0), label=label,
                        due_at=CALENDAR.end_of_day(due), started_on=due - timedelta(days=60), **more)


def every_message() -> list[Message]:
    """At least one message of every template, with the context the process gives it."""
    p = PARTNERSHIP
    messages: list[Message] = []
    messages += referral_notices(REFERRED, p, WT2015) + referral_notices(REFERRED, p, WT2023)
    messages += decline_notice(REFERRED, p, WT2015) + acceptance_notice(LISTED, p, WT2015)
    messages += listing_notices(LISTED, p, WT2015) + recommendation_notice(DECIDED, p, WT2015)
    messages += recommendation_notice(DECIDED, p, WT2023) + partners_disagree(
        DECIDED, p, WT2023, partner="police", rationale="Invented rationale.", answers=[("Northshire Police", "disagrees")])
    messages += information_requests(LISTED, p, WT2015, [{"agency": "POL", "due_at": local(2026, 12, 1, 23, 59),
                                                           "by_return": False}],
                                     form={"filename": "CIGINF1.docx", "content_type": "text/plain", "content": "x"},
                                     links={"POL": LINK})
    messages += information_requests(dataclasses.replace(LISTED, round=2), p, WT2015,
                                     [{"agency": "CSC", "due_at": local(2026, 12, 7, 23, 59), "by_return": True}])
    messages += serious_incident_notification(REFERRED, p, WT2015)
    for case in (DECIDED, NOT_SCR):
        for rules in (WT2015, WT2023):
            messages += decision_advice(dataclasses.replace(case, regime=rules.name), p, rules)
            messages += decision_notices(dataclasses.replace(case, regime=rules.name), p, rules)
    messages += intake_refusal(p, problem="child.date_of_birth: 2027-01-01 is in the future", run_name="brave-owl",
                               run_id="0c8e")
    messages += run_recovered(p, reference=DECIDED.reference, what_happened="its run crashed", stage="awaiting_decision",
                              number=1, at=local(2026, 12, 9))
    messages += run_left_stopped(p, reference=DECIDED.reference, what_happened="its run crashed",
                                 stage="awaiting_decision", recoveries=3, within=timedelta(hours=1), total=4,
                                 at=local(2026, 12, 9))
    messages += return_receipts(LISTED, p, WT2015, agency="POL", status="returned", documents=["a.pdf"],
                                received_at=local(2026, 11, 30))
    messages += link_resent(LISTED, p, WT2015, agency="POL", link=LINK, due_at=local(2026, 12, 1, 23, 59), number=2)
    # the review
    messages += commissioning_notices(DECIDED, REVIEW, p, WT2015)
    messages += appointment_notices(DECIDED, ["Rowan Reviewer"], p, WT2015, panel_owed=True)
    for by, nxt in ((Ratifier.cig, Ratifier.executive_group), (Ratifier.executive_group, Ratifier.board),
                    (Ratifier.board, None)):
        for result, comments in (("ratified", None), ("returned", "Say more about the health visiting.")):
            messages += ratification_notice(DECIDED, p, WT2015, by=by, result=result, on=date(2027, 4, 1),
                                            comments=comments, number=1, next_body=nxt)
            messages = messages[:-1] + [dataclasses.replace(m, context=m.context | {"link": LINK})
                                        for m in messages[-1:]]  # the next body's, with its ratification link
        messages += drafts_ready_notice(DECIDED, p, WT2015, body=by, documents=["the draft report and findings"],
                                        number=1)
    messages += appointment_notices(DECIDED, ["Rowan Reviewer"], p, WT2023, panel_owed=False)
    messages += full_report_notices(DECIDED, p, WT2023, publication_on=date(2027, 6, 9), sent_on=date(2027, 5, 28),
                                    report={"filename": "final.docx", "content_type": "text/plain", "content": "eA=="})
    messages += publication_delay_notices(DECIDED, p, WT2023, reasons="A parallel trial.", expected_on=date(2027, 7, 15),
                                          number=1)
    messages += national_review_notices(DECIDED, p, WT2023, received_on=date(2027, 2, 1), clocks=[
        "Final report published (stopped: the Panel carries out a national review)"], reviewers=[
        Contact(name="Rowan Reviewer", email="rowan.reviewer@example.org")])
    messages += non_publication_notices(DECIDED, p, WT2015, decided_on=date(2027, 6, 1), decided_by="The board",
                                        reason="To protect a surviving sibling.",
                                        improvements_link="https://example.org/improvements")
    messages += publication_notices(DECIDED, p, WT2015, published_on=date(2027, 6, 1),
                                    link="https://example.org/report", response_link="https://example.org/response",
                                    available_until=date(2028, 6, 1))
    # what the deadline sweep owes: reminders, chases, warnings and escalations of every kind of deadline
    listed = dict(meeting_at=LISTED.meeting_at, round=1)
    for item, due in (
        (deadline("information_return", "POL", "CIGINF1 return", date(2026, 12, 1), **listed), date(2026, 12, 1)),
        (deadline("decision", "", "decision", date(2026, 12, 16)), date(2026, 12, 16)),
        (deadline("ofsted_notice", "", "Ofsted notice", date(2026, 12, 15)), date(2026, 12, 15)),
        (deadline("panel_notice", "", "National Panel notice", date(2026, 12, 24)), date(2026, 12, 24)),
        (deadline("panel_reply", "", "the Panel's reply to the rapid review", date(2026, 12, 22)), date(2026, 12, 22)),
        (deadline("review_engagement", "POL", "engagement", date(2026, 12, 18)), date(2026, 12, 18)),
        (deadline(REVIEW_MILESTONE, "initial_meeting", "Review group initial meeting", date(2027, 1, 14),
                  lead_reviewers=(Contact(name="Rowan Reviewer", email="rowan.reviewer@example.org"),)),
         date(2027, 1, 14)),
        (deadline("report_availability", "", "report on the website", date(2028, 6, 1)), date(2028, 6, 1)),
        (deadline(IMPACT_REVIEW_KIND, "", "6-month review", date(2027, 12, 1)), date(2027, 12, 1)),
        (deadline(ACTION_KIND, "A1", "action", date(2027, 6, 30),
                  action=ActionDue(number=1, agency="CSC", action="Audit 20 assessments.", lead=LEAD,
                                   target_on=date(2027, 6, 30), status="open", revision=0,
                                   created_on=date(2027, 3, 1))), date(2027, 6, 30)),
    ):
        messages += swept(item, due)
    # the action emails as sent: each with its personal link (the lead's action page, the CIG member's actions)
    messages += [dataclasses.replace(m, context=m.context | {"link": LINK}) for m in messages
                 if m.template == "action_reminder"]
    messages += [target_date_message(DECIDED.reference, purpose=purpose, number=1, action="Audit 20 assessments.",
                                     agency="Children's Social Care", target_on=date(2027, 6, 30),
                                     asked_for=date(2027, 9, 30), reason="The audit team is short.",
                                     note="Not later than this." if purpose != "asked" else None, to=LEAD, revision=0,
                                     link=LINK, partnership=p, stamp=local(2027, 6, 1))
                 for purpose in ("asked", "accepted", "declined")]
    # the learning: the committee's pack
    pack = impact_pack("6-month review of NSCP-2026-0007", [
        PackAction(DECIDED.reference, 1, "multi_agency", "CSC", "Finding", "Audit 20 assessments.", "Ash Lead",
                   date(2027, 6, 30), "Audit results", ActionStatus.overdue, None)], date(2027, 7, 20))
    messages += impact_pack_messages(pack, "# Pack", reference=DECIDED.reference, meeting_at=local(2027, 7, 27),
                                     partnership=p, stamp=local(2027, 7, 20))
    messages += [dataclasses.replace(m, context=m.context | {"link": LINK}) for m in messages[-1:]]  # the committee's
    # the learning: the training officer told it is theirs to write up, with and without the link
    told = learning_write_up_notice(DECIDED.reference, review_type="Serious Case Review", ratified_on=date(2027, 5, 4),
                                    partnership=p)
    messages += told + [dataclasses.replace(m, context=m.context | {"link": LINK}) for m in told]
    # the meetings: the agenda, its preparation note, a move, a cancellation, an extraordinary meeting
    meeting = Meeting(date(2026, 12, 8), local(2026, 12, 8))
    agenda = Agenda(p.name, meeting, p.meetings.location, (
        ListedCase(DECIDED.reference, 1, "HEALTH", {"POL": "returned", "CSC": "outstanding"}, {"POL": ["DI Pat Police"]}),))
    messages += agenda_messages(agenda, p, local(2026, 12, 1))
    returns_due = {"POL": [(DECIDED.reference, local(2026, 12, 14, 23, 59))]}
    relisted = Meeting(date(2026, 12, 15), local(2026, 12, 15))
    for now_at in (local(2026, 12, 15), None):
        messages += change_notices(p, scheduled_on=meeting.scheduled_on, was_at=meeting.starts_at, now_at=now_at,
                                   relisted_to=None if now_at else relisted, references=[DECIDED.reference],
                                   stamp=local(2026, 12, 1), sequence=1, returns_due=returns_due,
                                   links={("POL", DECIDED.reference): LINK})
    messages += addition_notices(p, meeting=Meeting(date(2026, 12, 11), local(2026, 12, 11), extraordinary=True),
                                 reason="A case that cannot wait", references=[DECIDED.reference], stamp=local(2026, 12, 1),
                                 returns_due=returns_due, links={("POL", DECIDED.reference): LINK})
    # wt2023: a rapid review meeting's invitation, and its move past the deadline escalated (casework.meetings.rescheduling)
    own = {"partnership": p.name, "reference": DECIDED.reference, "terms": WT2023.terms, "at": local(2026, 11, 30),
           "location": p.meetings.location, "references": [DECIDED.reference, "CIG-2026-0002"],
           "information_due_at": local(2026, 11, 25, 23, 59), "by_return": True, "deadline": date(2026, 12, 7),
           "window_days": 15}
    messages.append(Message(DECIDED.reference, "rapid-review-meeting", "rapid_review_meeting", p.contacts.administrator,
                            1, own))
    messages.append(Message(DECIDED.reference, "rapid-review-meeting-late", "rapid_review_meeting_late",
                            p.contacts.business_manager, 1,
                            own | {"was_at": local(2026, 11, 30), "now_at": local(2026, 12, 8), "role": "the business manager",
                                   "reason": "Invented reason."}))
    # the website's notice to the administrator
    messages.append(throttling_notice(p, started_at=local(2026, 12, 1), until=local(2026, 12, 1, 10, 10), allowed=60,
                                      window=timedelta(minutes=10), reference=DECIDED.reference,
                                      holder="Northshire Police"))
    messages.append(throttling_notice(p, started_at=local(2026, 12, 1), until=local(2026, 12, 1, 10, 10), allowed=20,
                                      window=timedelta(minutes=10), client="192.0.2.7"))
    # the reports (their real contexts are built on the database below: here the same shapes)
    from casework.oversight.report import monthly_report, report_markdown
    report = monthly_report([], month=date(2026, 11, 1), now=local(2026, 12, 1, 8), calendar=CALENDAR)
    messages.append(Message(None, "monthly-report.2026-11", "monthly_report", p.contacts.business_manager, 0,
                            {"partnership": p.name, "reference": None, "title": report.title, "report": report,
                             "markdown": report_markdown(report), "chart_path": "monthly-report-2026-11.png"}))
    year = annual_report(2026, today=date(2027, 1, 15),
                         reviews=[ReviewFacts(DECIDED.reference, "Serious Case Review", date(2026, 12, 11), None, None,
                                              ("neglect",))],
                         clocks=[ClockFacts("decision", date(2026, 12, 16), date(2026, 12, 10))],
                         actions=[ActionFacts("CSC", date(2026, 6, 30), "done", date(2026, 6, 1))],
                         disseminations=[("learning_brief", date(2026, 5, 1))])
    messages.append(Message(None, "annual-report.2026", "annual_report", p.contacts.business_manager, 0,
                            {"partnership": p.name, "reference": None, "title": year.title, "report": year}))
    yearly = {"partnership": p.name, "reference": None, "link": "https://example.org/yearly-report",
              "title": "Safeguarding partners' yearly report, April 2026 to March 2027", "published_on": date(2027, 7, 30),
              "send_by": local(2027, 8, 6, 23, 59)}  # casework.learning.yearly_publication's contexts
    messages.append(Message(None, "yearly-report.2026-04", "yearly_report_sent", p.contacts.business_manager, 0,
                            dict(yearly, deciders="the safeguarding partners", within="7 days")))
    messages.append(Message(None, "yearly-report-warning.2026-04", "yearly_report_warning",
                            p.contacts.business_manager, 0, dict(yearly, waiting=["the Panel (test)"])))
    return messages


TEMPLATE_NAMES = sorted({path.name.split(".")[0] for path in TEMPLATES.glob("*.txt.j2")} - {"base", "footer"})


def test_every_email_template_is_rendered_here() -> None:
    assert sorted({m.template for m in every_message()}) == TEMPLATE_NAMES


def test_no_email_tells_anyone_to_run_a_command() -> None:
    assert [hit for message in every_message() for hit in message_hits(message)] == []


def test_no_email_template_holds_a_command_in_any_branch() -> None:
    """What a branch the messages above do not reach would say: each template's own words."""
    assert [hit for path in sorted(TEMPLATES.glob("*.j2"))
            for hit in shell_commands(path.name, path.read_text(encoding="utf-8"))] == []


# --- the forms of the Prefect UI and the deployments' descriptions ---------------------------------------

FORM_MODULES = ("casework.forms", "casework.review.forms", "casework.learning.forms", "flows.forms")


def every_form() -> list[type[BaseModel]]:
    forms: dict[str, type[BaseModel]] = {}
    for name in FORM_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Form) and value.__module__ == name:
                forms[f"{name}.{value.__name__}"] = value
    return [forms[k] for k in sorted(forms)]


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_no_form_field_or_form_tells_anyone_to_run_a_command() -> None:
    """Every form's JSON schema as the Prefect UI reads it: titles, field descriptions, choices."""
    found = []
    for form in every_form():
        schema = form.model_json_schema()
        found += [hit for text in strings_in(schema) for hit in shell_commands(form.__name__, text)]
    assert len(every_form()) > 20
    assert found == []


def deployments() -> list[dict[str, Any]]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def test_no_deployment_description_or_run_form_tells_anyone_to_run_a_command() -> None:
    """prefect.yaml's descriptions, and each deployment's Run form (its flow's parameters) as `prefect deploy`
    builds it."""
    from prefect.utilities.callables import parameter_schema

    found = []
    for deployment in deployments():
        found += shell_commands(f"{deployment['name']} (description)", deployment["description"])
        path, _, name = deployment["entrypoint"].partition(":")
        flow = getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)
        schema = parameter_schema(flow.fn).model_dump_for_openapi()
        found += [hit for text in strings_in(schema) for hit in shell_commands(f"{deployment['name']} (form)", text)]
    assert found == []


def test_no_automation_the_administrator_sees_in_the_prefect_ui_tells_anyone_to_run_a_command() -> None:
    """The Automations page lists each automation `make up` creates, with its description; the undelivered-mail
    one also sends its words to the alert block."""
    from uuid import uuid4

    from flows.automations import dead_run_automations, referral_automations, undelivered_mail_automation

    automations = [*referral_automations(PARTNERSHIP, str(uuid4())), *dead_run_automations(str(uuid4()), 30),
                   undelivered_mail_automation(str(uuid4()))]
    assert [hit for automation in automations
            for hit in shell_commands(automation.name, " ".join(strings_in(automation.model_dump(mode="json"))))] == []


# --- a case on the database: the outbox, the forms' case context, the artifacts and the refusals ----------

EXAMPLE_REFERRAL = ROOT / "examples" / "referral.yaml"
AGENCIES = ("POL", "CSC", "HEALTH", "CCG", "EDU", "PROB", "YJS")


@pytest.fixture
def office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The example partnership's office on its own SQLite file (messages stay in the outbox)."""
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PARTNERSHIP_FILE", "CIG_PROFILE", "CIG_SMTP_HOST",
                 "CIG_SMTP_USERNAME", "CIG_SMTP_PASSWORD", "CIG_SMTP_STARTTLS", "CIG_SMTP_IMPLICIT_TLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_WEBSITE_URL", "http://cig.example.org")
    casework.store._factory.cache_clear()
    the_office = open_office()
    yield the_office
    the_office.sessions.kw["bind"].dispose()
    casework.store._factory.cache_clear()


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def refused(attempt: Callable[[], object]) -> str:
    """The words of the refusal a person meets when `attempt` is refused."""
    with pytest.raises((ValueError, LookupError)) as refusal:
        attempt()
    return str(refusal.value)


def outbox(office: Office) -> list[OutboxMessage]:
    with office.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def outbox_hits(office: Office) -> list[str]:
    return [hit for m in outbox(office) for part, text in (("subject", m.subject), ("text", m.body["text"]),
                                                          ("html", m.body["html"]))
            for hit in shell_commands(f"outbox {m.kind} to {m.recipient} ({part})", text)]


def test_a_case_from_referral_to_its_review_shows_no_command_anywhere(office: Office) -> None:
    """A Serious Case Review taken from CIGSCR1 to its final report, through casework's actions (as the flows,
    the website and the Prefect forms record them), with what each person reads on the way."""
    from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
    from casework.learning import actions as learning
    from casework.learning.forms import ActionForm
    from casework.oversight.exports import current_tracker
    from casework.oversight.publication import publish_monthly_report
    from casework.learning.annual_publication import publish_annual_report
    from casework.oversight.timeline import case_timeline_markdown, people_of
    from casework.oversight.tracker import tracker_table
    from casework.meetings.preparation import prepare_meeting
    from casework.referral import actions
    from casework.referral.views import case_context_markdown, case_summary_markdown
    from casework.review import actions as review
    from casework.review import store as review_store
    from casework.review.forms import (
        AppointmentForm, EngagementForm, FamilyInvolvementForm, GroupMemberForm, RatificationForm,
        ReviewPublicationForm, TermsForm,
    )
    from casework.review.views import review_markdown, review_view
    from casework.store import cases as store
    from casework.sweep import queue_reminders

    later = {"today": date(2030, 1, 1)}
    found: list[str] = []

    def forms_context(reference: str, step: str, now: datetime) -> None:
        """The case context and summary at the head of the step's Resume form (and of the chairs' pages)."""
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            rules = office.rules(case.regime)
            summary = case_summary_markdown(case, rules, office.calendar, now, step=step)
            found.extend(shell_commands(f"{step} form (summary)", summary))
            found.extend(shell_commands(f"{step} form (context)",
                                        case_context_markdown(case, rules, office.calendar, now, summary)))

    def review_context(reference: str, step: str, today: date) -> None:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            view = review_view(case, review_store.get_review(session, case=case), today)
        for text in review_markdown(view, step):
            found.extend(shell_commands(f"review {step} form", text))

    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    referral = ReferralForm.model_validate(data, context={"today": date(2026, 11, 20)})
    reference = actions.submit_referral(office, referral, now=at(11, 18), actor="HEALTH safeguarding lead").reference
    forms_context(reference, "screening", at(11, 18))
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                              independent_chair_consulted=True),
                             now=at(11, 19, 9), actor="screening form")
    actions.list_and_request_information(office, reference, now=at(11, 19))
    forms_context(reference, "return", at(11, 20))
    for code in AGENCIES:
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=at(11, 24),
                              actor="administrator")
    mornings = [at(11, 24, 7) + timedelta(days=n) for n in range(14)]  # the papers go out working days before
    prepared = [p for morning in mornings if (p := prepare_meeting(office, now=morning)) is not None and p.queued]
    assert prepared, "the meeting was not prepared"
    found += shell_commands("meeting-agenda artifact", prepared[0].artifact)
    with office.sessions() as session:
        meeting_at = store.get_case(session, reference=reference).meeting_at
    assert meeting_at is not None
    forms_context(reference, "recommendation", meeting_at + timedelta(hours=1))
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Serious harm."),
                                  now=meeting_at + timedelta(hours=1), actor="administrator")
    forms_context(reference, "decision", meeting_at + timedelta(hours=2))
    decided_at = meeting_at + timedelta(days=1)
    # the refusal the independent chair meets deciding "no review" without what the National Panel needs
    found += shell_commands("decision refusal", refused(lambda: actions.record_decision(
        office, reference, DecisionForm.model_validate(
            {"response": "challenge", "decision": "individual_agency_review", "rationale": "One agency.",
             "decided_by": "Indra Independent", "criteria_explanation": "No concern about joint working."}),
        now=decided_at, actor="independent chair")))
    actions.record_decision(office, reference, DecisionForm.model_validate(
        {"response": "affirm", "decision": "scr", "rationale": "Regulation 5(2)(b)(ii) is met.",
         "decided_by": "Indra Independent"}), now=decided_at, actor="independent chair")
    actions.finish_case(office, reference, now=decided_at + timedelta(hours=1))

    # the review: commissioned, a lead reviewer appointed, its groups, terms and drafts; then its publication
    review.commission_review(office, reference, now=at(12, 11))
    review_context(reference, "appointment", date(2026, 12, 11))
    review.appoint_reviewer(office, reference, AppointmentForm.model_validate(
        {"reviewer": "Rowan Reviewer", "kind": "independent", "independent_of_agencies": True,
         "appointed_on": "2026-12-14", "appointed_by": "the review group", "email": "rowan.reviewer@example.org"},
        context=later), now=at(12, 14), actor="business manager")
    review.confirm_engagement(office, reference, EngagementForm.model_validate(
        {"agency": "POL", "confirmed_by": "DI Pat Police", "confirmed_on": "2026-12-15"}, context=later),
        now=at(12, 15), actor="cig review engage")
    review.add_member(office, reference, GroupMemberForm.model_validate(
        {"group": "review", "name": "Morgan Manager", "agency": "CSC", "role": "Head of Service",
         "email": "morgan.manager@example.org"}, context=later), now=at(12, 15), actor="cig review member")
    review.record_terms(office, reference, TermsForm.model_validate(
        {"terms_of_reference": "How agencies shared information.", "scope": "Twelve months before the injury.",
         "agreed_on": "2026-12-16"}, context=later), now=at(12, 16), actor="cig review terms")
    for number, (by, on) in enumerate((("cig", "2027-04-06"), ("executive_group", "2027-04-20"),
                                       ("board", "2027-05-04")), start=1):
        review_context(reference, "ratification", date(2027, 4, 1))
        review.record_ratification(office, reference, RatificationForm.model_validate(
            {"by": by, "result": "ratified", "on": on}, context=later),
            now=datetime.fromisoformat(on).replace(hour=15, tzinfo=UTC), actor="business manager")
    review_context(reference, "publication", date(2027, 5, 10))
    publication = ReviewPublicationForm.model_validate(
        {"published_on": "2027-05-20", "link": "https://example.org/reviews/report",
         "response_link": "https://example.org/reviews/response", "themes": ["neglect"]}, context=later)
    # the refusal the business manager meets publishing an SCR before the family's involvement is recorded
    found += shell_commands("publication refusal", refused(lambda: review.publish_review(
        office, reference, publication, now=at(5, 20, year=2027), actor="business manager")))
    # the learning summary not yet written
    found += shell_commands("learning summary refusal", refused(lambda: learning.summary_files(office, reference)))
    review.record_family(office, reference, FamilyInvolvementForm.model_validate(
        {"involvement": "complete", "on": "2027-05-12"}, context=later), now=at(5, 12, year=2027),
        actor="cig review family")
    review.publish_review(office, reference, publication, now=at(5, 20, year=2027), actor="business manager")
    learning.add_actions(office, reference, [ActionForm.model_validate(
        {"plan": "multi_agency", "finding": "Information was not shared.", "action": "Audit 20 assessments.",
         "agency": "CSC", "lead_name": "Ash Lead", "lead_email": "ash.lead@example.org", "target_on": "2027-09-30",
         "evidence_of_impact": "The audit's results."}, context={"today": date(2027, 5, 21)})],
        now=at(5, 21, year=2027), actor="business manager", reason="A finding of the final report.")
    with office.sessions.begin() as session:  # what delivery records when the mail server refuses a message for good
        store.audit(session, reference=reference, actor="system", action="message delivery failed",
                    now=at(5, 21, year=2027), kind="review_published", recipient_role="review_published",
                    temporary=False, error="550 mailbox unavailable")
    for day in (date(2026, 11, 30), date(2026, 12, 30), date(2027, 1, 20), date(2027, 9, 28), date(2027, 10, 20)):
        queue_reminders(office, now=datetime.combine(day, time(9), tzinfo=UTC))

    # the artifacts: the case's timeline, the tracker, the reports, the learning index, the meeting's papers
    now = at(6, 1, year=2027)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        timeline = case_timeline_markdown(
            case, store.audit_trail(session, reference=reference), store.messages_for(session, case_id=case.id),
            calendar=office.calendar, now=now, terms=office.rules(case.regime).terms, people=people_of(office.partnership),
            tracker_url="http://127.0.0.1:4200/artifacts/key/case-tracker")
    found += shell_commands("timeline", timeline)
    for row in tracker_table(current_tracker(office, now=now), office.calendar.zone):
        found += [hit for text in strings_in(dict(row)) for hit in shell_commands("tracker", text)]
    monthly = publish_monthly_report(office, date(2026, 12, 1), now=at(1, 4, 8, year=2027))
    found += shell_commands("monthly report", monthly.markdown)
    annual = publish_annual_report(office, 2026, now=at(1, 15, 8, year=2027))
    found += shell_commands("annual report", annual.markdown)
    from casework.learning.documents import index_markdown
    found += shell_commands("learning index", index_markdown(learning.learning_index(office, today=now.date()),
                                                                     title="Learning and improvement index"))
    papers = sorted(office.settings.papers_dir.rglob("*.md"))
    assert any(p.name == "agenda.md" for p in papers)
    found += [hit for p in papers for hit in shell_commands(f"papers {p.name}", p.read_text(encoding="utf-8"))]
    kinds = {m.kind for m in outbox(office)}
    assert {"review_commissioned", "information_request", "meeting_agenda", "monthly_report"} <= kinds, kinds
    assert found + outbox_hits(office) == []


# --- the secure website: every page, opened from the links the emails carry ----------------------------

LINK_IN_TEXT = re.compile(r"(https?://[^\s/]+/link/[A-Za-z0-9_-]{43})")


def links_to(office: Office, recipient: str, kind: str) -> list[str]:
    return [found for m in outbox(office) if m.recipient == recipient and m.kind == kind
            for found in LINK_IN_TEXT.findall(m.body["text"])]


def page_hits(where: str, response: httpx.Response) -> list[str]:
    return shell_commands(f"{where} ({response.status_code})", response.text)


def token_in(page: httpx.Response) -> str:
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token, page.text
    return token.group(1)


def test_no_page_template_holds_a_command_in_any_branch() -> None:
    """What a page the test below does not open would say (forbidden, try later, the papers): each page's own words."""
    from website.pages import TEMPLATES as PAGES

    assert len(list(PAGES.glob("*.html"))) > 10
    assert [hit for path in sorted(PAGES.glob("*.html"))
            for hit in shell_commands(path.name, path.read_text(encoding="utf-8"))] == []


async def test_no_page_of_the_website_tells_anyone_to_run_a_command(office: Office) -> None:
    """The website reads the clock itself: this case moves on the day the test runs (what is checked does not
    depend on it)."""
    from casework.forms import AgencyReturnForm, RecommendationForm, ReferralForm, ScreeningForm
    from casework.referral import actions
    from casework.store import cases as store
    from website.app import create_app

    now = datetime.now(UTC)
    data = yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    referral = ReferralForm.model_validate(data, context={"today": now.date()})
    reference = actions.submit_referral(office, referral, now=now, actor="HEALTH safeguarding lead").reference
    contacts = office.partnership.contacts
    [screening] = links_to(office, contacts.cig_chair.email, "referral_notice")
    found: list[str] = []
    transport = httpx.ASGITransport(app=create_app(office))
    async with httpx.AsyncClient(transport=transport, base_url=office.settings.website_url) as http:
        for path in ("/", "/no-such-page", "/link/" + "B" * 43):
            found += page_hits(path, await http.get(path))
        page = await http.get(screening)
        found += page_hits("screening page", page)
        screened = {"form_token": token_in(page), "outcome": "accept", "decided_by": "Casey Chair",
                    "independent_chair_consulted": "true"}
        found += page_hits("screening page, refused", await http.post(screening, data=screened | {"outcome": "decline"}))
        recorded = await http.post(screening, data=screened)
        assert recorded.status_code == 200, recorded.text
        found += page_hits("screening recorded", recorded)
        found += page_hits("screening page, once recorded", await http.get(screening))
        actions.list_and_request_information(office, reference, now=now)
        [police] = links_to(office, "police@example.org", "information_request")
        page = await http.get(police)
        found += page_hits("return page", page)
        returned = {"form_token": token_in(page), "status": "nil", "involvement": "", "key_practitioners": "",
                    "attendees": "DI Pat Police"}
        found += page_hits("return page, refused", await http.post(police, data=returned | {"status": ""}))
        recorded = await http.post(police, data=returned)
        assert recorded.status_code == 200, recorded.text
        found += page_hits("return recorded", recorded)
        found += page_hits("return page, once recorded", await http.get(police))
        for code in AGENCIES[1:]:
            actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=now,
                                  actor="administrator")
        with office.sessions() as session:
            meeting_at = store.get_case(session, reference=reference).meeting_at
        actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Serious harm."),
                                      now=meeting_at + timedelta(hours=1), actor="administrator")
        [decision] = links_to(office, contacts.independent_chair.email, "recommendation")
        found += page_hits("decision page", await http.get(decision))
        page = await http.get(decision)
        contradiction = {"form_token": token_in(page), "response": "affirm", "decision": "no_review",
                         "rationale": "The criteria are not met.", "decided_by": "Indra Independent",
                         "criteria_explanation": "No concern about joint working."}
        found += page_hits("decision page, refused", await http.post(decision, data=contradiction))
    assert found == []

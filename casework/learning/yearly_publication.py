"""The safeguarding partners' yearly report in the office (rule sets with a `yearly_report` section: wt2023):
read the period's reviews, clocks and actions from the case database and the partners' texts from their YAML
file under the papers folder (reports/yearly-report-YYYY-MM.yaml, the period's first month; the example is
examples/yearly-report.yaml), write the report as markdown and Word beside it; record its publication with its
link and queue it, attached, to the rule set's recipients (yearly_report.recipients) at once; and the sweep's
warning to the business manager when it has not gone to all of them near the end of its sending clock.

Safe to run twice: the files are rewritten, the publication is one record per period, and every email's key
is the period and its recipient (the warning's, the period), so each is queued once. Needs the office; no
Prefect.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import select

from casework.clocks import ReportPeriod, last_complete_report_period, report_period_containing, yearly_report_send_by
from casework.learning import store as learning_store
from casework.learning.forms import YearlyReportPublicationForm, YearlyReportTexts
from casework.learning.yearly import (
    ActionDone, ReviewClock, YearlyReport, YearlyReview, YearlyTexts, period_slug, send_warning_due, title,
    yearly_docx, yearly_markdown, yearly_report,
)
from casework.model import review_labels
from casework.office import Office
from casework.oversight.publication import binary_attachment
from casework.referral import actions
from casework.referral.messages import Message
from casework.review import store as review_store
from casework.review.rules import sign_off_order
from casework.store import cases as store
from casework.store.tables import LearningAction, OutboxMessage, Review
from config.loading import describe_errors
from config.partnership import Contact
from config.rulesets import Clock, RuleSet, YearlyReport as YearlyReportRules

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RECORD_KIND = "yearly_report"
SENT_STEP = "yearly-report.{slug}"
WARNING_STEP = "yearly-report-warning.{slug}"
NOT_STATUTORY = {"information_return"}


def clock_words(clock: Clock) -> str:
    """'7 days', '5 working days'."""
    noun = {"calendar_days": "day", "working_days": "working day", "calendar_months": "month", "hours": "hour"}[clock.unit]
    return f"{clock.amount} {noun}{'' if clock.amount == 1 else 's'}"  # the agencies' returns: not the partners' clocks


@dataclass(frozen=True)
class WrittenYearlyReport:
    report: YearlyReport
    markdown: str
    docx: bytes
    markdown_path: Path
    docx_path: Path
    texts_path: Path

    @property
    def title(self) -> str:
        return self.markdown.splitlines()[0].removeprefix("# ")


def yearly_rules(office: Office) -> tuple[RuleSet, YearlyReportRules]:
    """The partnership's rule set and its yearly report section; a ValueError when it has none (wt2015 has the
    annual report section instead: casework.learning.annual_publication)."""
    rules = office.partnership.rules()
    if rules.yearly_report is None:
        raise ValueError(f"the rule set {rules.name} has no safeguarding partners' yearly report")
    return rules, rules.yearly_report


def report_period(office: Office, *, now: datetime, starts_in: int = 0) -> ReportPeriod:
    """The period that starts in the year `starts_in` (the partnership's first month), or by default the
    latest one that has ended."""
    month = office.partnership.yearly_report_start_month()
    if starts_in:
        return report_period_containing(date(starts_in, month, 1), month)
    return last_complete_report_period(office.calendar.local_date(now), month)


def texts_path(office: Office, period: ReportPeriod) -> Path:
    return office.settings.papers_dir / "reports" / f"yearly-report-{period_slug(period)}.yaml"


def read_texts(path: Path) -> YearlyTexts | None:
    """The partners' texts from their YAML file (None while there is no file); a ValueError naming each field
    the file gets wrong."""
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: one key per section (what_we_did, impact, effectiveness, scrutiny, voice)")
    try:
        form = YearlyReportTexts.model_validate(data)
    except ValidationError as refused:
        raise ValueError(f"{path.name}: " + "; ".join(describe_errors(refused))) from None
    return YearlyTexts(form.what_we_did, form.impact, form.effectiveness, form.scrutiny, form.voice)


def build_yearly_report(office: Office, period: ReportPeriod, *, now: datetime,
                        texts: YearlyTexts | None) -> YearlyReport:
    """The period's reviews with their statutory clocks (in the rule set of each case) and the actions done."""
    calendar = office.calendar
    day = lambda moment: calendar.local_date(moment) if moment else None  # noqa: E731
    with office.sessions() as session:
        reviews = []
        for review in session.scalars(select(Review).order_by(Review.id)):
            case = review.case
            rules = office.rules(case.regime)
            last_body = sign_off_order(rules)[-1]  # completed: signed off by the last body of the case's rule set
            board = [r.on for r in review_store.ratification_history(review)
                     if r.by is last_body and r.result.value == "ratified"]
            clocks = tuple(ReviewClock(rules.clocks[d.kind].label, day(d.due_at), day(d.met_at))
                           for d in sorted(case.deadlines, key=lambda d: (d.due_at, d.kind))
                           if d.kind in rules.clocks and d.kind not in NOT_STATUTORY)
            label = review_labels(rules.terms).get(review.review_type, review.review_type.replace("_", " "))
            reviews.append(YearlyReview(case.reference, label, review.commissioned_on, max(board) if board else None,
                                        case.published_on, clocks))
        references = {r.id: r.case.reference for r in session.scalars(select(Review))}
        done = [ActionDone(references[a.review_id], a.agency, a.action, a.done_on, a.status_note or "")
                for a in session.scalars(select(LearningAction).where(LearningAction.status == "done"))
                if a.done_on is not None]
    return yearly_report(period, today=calendar.local_date(now), reviews=reviews, actions=done, texts=texts)


def write_yearly_report(office: Office, period: ReportPeriod, *, now: datetime) -> WrittenYearlyReport:
    """Write `yearly-report-YYYY-MM.md` and `.docx` under the papers folder (reports/), with the partners' texts
    from `yearly-report-YYYY-MM.yaml` there (a section not yet written says so)."""
    rules, _ = yearly_rules(office)
    folder = office.settings.papers_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    source = texts_path(office, period)
    report = build_yearly_report(office, period, now=now, texts=read_texts(source))
    name = office.partnership.name
    markdown = yearly_markdown(report, partnership=name, term=rules.term)
    docx = yearly_docx(report, partnership=name, term=rules.term)
    stem = folder / f"yearly-report-{period_slug(period)}"
    stem.with_suffix(".md").write_text(markdown, encoding="utf-8")
    stem.with_suffix(".docx").write_bytes(docx)
    return WrittenYearlyReport(report, markdown, docx, stem.with_suffix(".md"), stem.with_suffix(".docx"), source)


def recipients(office: Office) -> list[Contact]:
    """Whom the published report goes to: every contact of the rule set's `yearly_report.recipients`."""
    _, section = yearly_rules(office)
    return [contact for role in section.recipients for contact in office.partnership.role(role)]


def _message(office: Office, rules: RuleSet, period: ReportPeriod, to: Contact, *, published_on: date, link: str,
             send_by: datetime, written: WrittenYearlyReport) -> Message:
    slug = period_slug(period)
    context = {"partnership": office.partnership.name, "reference": None, "title": title(rules.term, period),
               "published_on": published_on, "link": link, "send_by": send_by, "deciders": rules.term("deciders"),
               "within": clock_words(rules.clocks[rules.yearly_report.sent_clock])}
    attachments = (binary_attachment(written.docx_path.name, DOCX, written.docx),
                   {"filename": written.markdown_path.name, "content_type": "text/markdown", "content": written.markdown})
    return Message(None, SENT_STEP.format(slug=slug), "yearly_report_sent", to, 0, context, attachments)


@dataclass(frozen=True)
class YearlyPublication:
    period: ReportPeriod
    published_on: date
    link: str
    send_by: datetime
    queued: int


def record_yearly_report_publication(office: Office, form: YearlyReportPublicationForm, *, now: datetime,
                                     actor: str) -> YearlyPublication:
    """Record that the period's report is published (when, where; audited) and queue it, as published (markdown
    and Word, the partners' texts in), to each of the rule set's recipients, once each. Refused, naming the
    field, for a day that does not start one of the partnership's periods, a publication before the period
    ended, or a report whose texts the partners have not written."""
    rules, section = yearly_rules(office)
    month = office.partnership.yearly_report_start_month()
    period = report_period_containing(form.period_starts_on, month)
    if period.first_day != form.period_starts_on:
        raise ValueError(f"period_starts_on: the partnership's periods start on the 1st of "
                         f"{period.first_day:%B}, e.g. {period.first_day.isoformat()}")
    if form.published_on < period.last_day:
        raise ValueError(f"published_on: the period {period.title} ends on {period.last_day:%-d %B %Y}; "
                         "its report is published after that")
    if read_texts(texts_path(office, period)) is None:
        raise ValueError(f"period_starts_on: the partners have not written the report's texts for {period.title} "
                         f"(the file {texts_path(office, period).name} in the papers folder's reports folder)")
    written = write_yearly_report(office, period, now=now)
    send_by = yearly_report_send_by(form.published_on, rules.clocks[section.sent_clock], office.calendar)
    slug = period_slug(period)
    with office.sessions.begin() as session:
        learning_store.save_record(session, review=None, kind=RECORD_KIND, key=slug, now=now, data={
            "published_on": form.published_on.isoformat(), "link": form.link, "send_by": send_by.isoformat(),
            "markdown": written.markdown, "docx": base64.b64encode(written.docx).decode("ascii")})
        store.audit(session, reference=None, actor=actor, action="yearly report published", now=now, period=slug,
                    published_on=form.published_on.isoformat())
        messages = [_message(office, rules, period, to, published_on=form.published_on, link=form.link,
                             send_by=send_by, written=written) for to in recipients(office)]
        queued = actions.queue(session, None, messages, now)
    return YearlyPublication(period, form.published_on, form.link, send_by, queued)


def queue_yearly_report_warnings(office: Office, *, now: datetime) -> int:
    """The sweep's part: for each published report that has not gone to every recipient, the warning to the
    business manager from `notice_offsets_days` before its sending clock runs out (once per report, keyed);
    how many were queued. Nothing under a rule set without a yearly report."""
    rules = office.partnership.rules()
    if rules.yearly_report is None:
        return 0
    clock = rules.clocks[rules.yearly_report.sent_clock]
    days_before = max(office.partnership.reminders.notice_offsets_days, default=0)
    manager = office.partnership.contacts.business_manager
    queued = 0
    with office.sessions.begin() as session:
        for record in learning_store.records(session, kind=RECORD_KIND):
            slug, published_on = record.key, date.fromisoformat(record.data["published_on"])
            to = recipients(office)
            keys = [f"-:{SENT_STEP.format(slug=slug)}:{c.email}:0" for c in to]
            sent = set(session.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(keys),
                                                                        OutboxMessage.status == "sent")))
            if not send_warning_due(published_on, sent_to_all=len(sent) == len(keys), now=now, clock=clock,
                                    calendar=office.calendar, days_before=days_before):
                continue
            period = report_period_containing(date.fromisoformat(f"{slug}-01"), int(slug[5:7]))
            context = {"partnership": office.partnership.name, "reference": None, "title": title(rules.term, period),
                       "published_on": published_on, "link": record.data["link"],
                       "send_by": datetime.fromisoformat(record.data["send_by"]),
                       "waiting": [c.name for c in to if f"-:{SENT_STEP.format(slug=slug)}:{c.email}:0" not in sent]}
            warning = Message(None, WARNING_STEP.format(slug=slug), "yearly_report_warning", manager, 0, context)
            queued += actions.queue(session, None, [warning], now)
    return queued

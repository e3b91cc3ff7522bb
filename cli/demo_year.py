"""`make demo-year`: half a year of an SCR's learning and improvement actions, compressed into about a minute.

An invented referral is taken to the independent chair's decision and its review commissioned, through
the same actions `cig` and the flows use; three actions are added to its plans, which the CIG and the
executive group ratify on 4 May 2027. The deadline sweep then runs each simulated morning until
12 November 2027 and delivers to a local SMTP server: each day's learning messages are printed (the
named leads' reminders, the chase copied to the agency's CIG member, the escalation to the business
manager), then the 6-month review's pack and invitation, and the committee's outcomes. One action is done
before its 3-day reminder, one dropped; the third is chased and escalated. No Prefect server is needed.

It uses its own temporary CIG_HOME (database, data key, mailbox) and the partnership file named by
CIG_PARTNERSHIP_FILE (default: config/partnership.example.yaml).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from cli.demo_month import PROJECT, open_demo_office

START, END = date(2027, 5, 5), date(2027, 11, 12)
LATER = {"today": date(2030, 1, 1)}


def _at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def run(home: Path) -> int:
    from casework.referral import actions
    from casework.delivery import deliver_pending
    from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
    from casework.learning import actions as learning
    from casework.learning.forms import ActionForm, ActionUpdateForm, OutcomeForm
    from casework.review import actions as review
    from casework.review.forms import AppointmentForm, RatificationForm
    from casework.sweep import queue_reminders
    from notifications.mailbox import read_mailbox

    office, mailbox = open_demo_office(home)
    data = yaml.safe_load((PROJECT / "examples" / "referral.yaml").read_text(encoding="utf-8"))
    referral = ReferralForm.model_validate(data, context={"today": date(2026, 11, 20)})
    agencies = [a.code for a in office.partnership.agencies]
    deliver = lambda now: asyncio.run(deliver_pending(office, now=now))  # noqa: E731

    def form(model, **values):  # type: ignore[no-untyped-def]
        return model.model_validate(values, context=LATER)

    reference = actions.submit_referral(office, referral, now=_at(2026, 11, 18), actor="demo").reference
    actions.record_screening(office, reference, ScreeningForm(outcome="accept", decided_by="Casey Chair",
                                                              independent_chair_consulted=True), now=_at(2026, 11, 19, 9), actor="demo")
    actions.list_and_request_information(office, reference, now=_at(2026, 11, 19))
    for code in agencies:
        actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=_at(2026, 11, 24), actor="demo")
    actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="Serious harm (demo)."),
                                  now=_at(2026, 12, 8, 13), actor="demo")
    actions.record_decision(office, reference, DecisionForm.model_validate(
        {"response": "affirm", "decision": "scr", "rationale": "Regulation 5(2)(b)(ii) is met (demo).",
         "decided_by": "Indra Independent"}), now=_at(2026, 12, 10, 15), actor="demo")
    deliver(_at(2026, 12, 10, 15))
    actions.finish_case(office, reference, now=_at(2026, 12, 10, 16))
    review.commission_review(office, reference, now=_at(2026, 12, 11))
    review.appoint_reviewer(office, reference, form(AppointmentForm, reviewer="Rowan Reviewer", kind="independent",
                                                    independent_of_agencies=True, appointed_on="2026-12-20",
                                                    appointed_by="Review group"), now=_at(2026, 12, 20), actor="demo")
    plan = [
        form(ActionForm, plan="multi_agency", finding="Health visitors did not hear of the police call-outs.",
             action="Add health visiting to the daily domestic abuse triage.", agency="HEALTH", lead_name="Ash Lead",
             lead_email="ash.lead@example.org", target_on="2027-07-31", evidence_of_impact="Triage minutes."),
        form(ActionForm, plan="single_agency", finding="Assessments did not ask about the father.",
             action="Audit 20 assessments for the father's involvement.", agency="CSC", lead_name="Sky Practitioner",
             lead_email="sky.practitioner@example.org", target_on="2027-06-30", evidence_of_impact="Audit results."),
        form(ActionForm, plan="single_agency", finding="Call handlers did not flag the infant.",
             action="Brief all call handlers on infants at incidents.", agency="POL", lead_name="Jo Constable",
             lead_email="jo.constable@example.org", target_on="2027-09-30", evidence_of_impact="Flags raised."),
    ]
    learning.add_actions(office, reference, plan, now=_at(2027, 4, 20), actor="training officer")
    for by in ("cig", "executive_group"):
        review.record_ratification(office, reference, form(RatificationForm, by=by, result="ratified", on="2027-05-04"),
                                   now=_at(2027, 5, 4), actor="demo")
    deliver(_at(2027, 5, 4))
    seen = len(read_mailbox(office.settings.mail_dir))

    def done(number: int, evidence: str) -> Callable[[datetime], str]:
        def step(now: datetime) -> str:
            learning.update_action(office, reference, form(ActionUpdateForm, number=number, status="done",
                                                           evidence=evidence), now=now, actor="Bailey Manager")
            return f"action {number} recorded done: {evidence}"
        return step

    def dropped(number: int, reason: str) -> Callable[[datetime], str]:
        def step(now: datetime) -> str:
            learning.update_action(office, reference, form(ActionUpdateForm, number=number, status="dropped",
                                                           reason=reason), now=now, actor="Bailey Manager")
            return f"action {number} dropped: {reason}"
        return step

    def pack(now: datetime) -> str:
        meeting = datetime(2027, 11, 10, 14, tzinfo=office.partnership.meetings.zone)
        queued = learning.send_impact_pack(office, reference, meeting_at=meeting, now=now, actor="demo")
        return f"the 6-month review is due: the pack and invitation go to {queued} people"

    def outcomes(now: datetime) -> str:
        learning.record_outcomes(office, reference, [
            form(OutcomeForm, number=1, outcome="impact_evidenced", on="2027-11-10"),
            form(OutcomeForm, number=2, outcome="replanned", note="New audit date agreed.", on="2027-11-10")],
            now=now, actor="professional development committee")
        return "the committee records its outcomes: action 1 impact evidenced, action 2 re-planned"

    events: dict[date, Callable[[datetime], str]] = {
        date(2027, 6, 1): dropped(3, "The force replaced its call handling system."),
        date(2027, 7, 20): done(1, "Triage minutes show health visiting at 19 of 20 meetings."),
        date(2027, 11, 4): pack, date(2027, 11, 10): outcomes,
    }
    print(f"Half a year of learning and improvement actions for {reference} ({office.partnership.name}), "
          f"plans ratified 4 May 2027; the sweep each morning\nMailbox: {office.settings.mail_dir}\n")
    counts: Counter[str] = Counter()
    day = START
    try:
        while day <= END:
            now = datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc)
            said = [events[day](now)] if day in events else []
            if queue_reminders(office, now=now).queued or said:
                deliver(now)
            mails = read_mailbox(office.settings.mail_dir)[seen:]
            shown = [m for m in mails if "learning action" in m.subject or "6-month review" in m.subject]
            if said or shown:
                print(f"{day:%a %d %b %Y}")
                for line in said:
                    print(f"    * {line}")
                for mail in shown:
                    kind = mail.key.split(":")[1].split(".")[0]
                    counts[kind] += 1
                    print(f"    {kind.upper():<12} -> {', '.join(mail.to):<32} {mail.subject}")
            seen += len(mails)
            day += timedelta(days=1)
    finally:
        mailbox.stop()
    print("\n" + learning.plan_text(learning.plan_view(office, reference, today=END)))
    keys = Counter(mail.key for mail in read_mailbox(office.settings.mail_dir))
    twice = sorted(key for key, count in keys.items() if count > 1)
    if twice:
        print(f"\nsent more than once: {', '.join(twice)}")
        return 1
    print(f"\n{counts['reminder']} reminder(s), {counts['chase']} chase(s), {counts['escalation']} escalation(s), "
          f"{counts['impact-pack']} pack(s), each sent once.")
    return 0 if counts["chase"] and counts["escalation"] and counts["impact-pack"] else 1


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cig-demo-year-") as home:
        return run(Path(home))


if __name__ == "__main__":
    sys.exit(main())

"""`make demo-month`: a simulated month of deadline sweeps, compressed into well under a minute.

Two invented referrals are recorded through the same actions `cig` and the flows use, with
people's steps happening at chosen simulated moments. The deadline sweep runs every six simulated
hours from 20 November to 19 December 2026 and delivers to a local SMTP server; each day's
messages are printed. No Prefect server is needed: the sweep's two steps are called directly
with `now` set to the simulated moment.

It uses its own temporary CIG_HOME (database, data key, mailbox) and the partnership file named
by CIG_PARTNERSHIP_FILE (default: config/partnership.example.yaml).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from cli.stack import free_port

PROJECT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
END = datetime(2026, 12, 19, 0, tzinfo=timezone.utc)
EVERY = timedelta(hours=6)




def _at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


def open_demo_office(home: Path):  # type: ignore[no-untyped-def]
    """The example partnership's office on embedded defaults under `home` (a SQLite case database, a
    development key), whatever the shell's CIG_* say, and a local SMTP server on a free port."""
    from casework.office import open_office
    from notifications.mailbox import start_mailbox

    os.environ["CIG_HOME"] = str(home)
    os.environ["CIG_SMTP_PORT"] = str(free_port(0))
    for name in ("CIG_DATABASE_URL", "CIG_DATA_KEYS", "CIG_PROFILE", "CIG_SMTP_HOST", "CIG_SMTP_STARTTLS",
                 "CIG_SMTP_IMPLICIT_TLS", "CIG_SMTP_USERNAME", "CIG_SMTP_PASSWORD"):
        os.environ.pop(name, None)
    office = open_office()
    return office, start_mailbox(office.settings.mail_dir, port=office.settings.smtp_port)


def run(home: Path) -> int:
    from casework.referral import actions
    from casework.delivery import deliver_pending
    from casework.forms import AgencyReturnForm, DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
    from casework.model import ChairResponse, Recommendation, ReviewType, ScreeningOutcome
    from casework.sweep import queue_reminders
    from notifications.mailbox import read_mailbox

    office, mailbox = open_demo_office(home)
    agencies = [a.code for a in office.partnership.agencies]
    data = yaml.safe_load((PROJECT / "examples" / "referral.yaml").read_text(encoding="utf-8"))
    form = ReferralForm.model_validate(data, context={"today": START.date()})
    cases: dict[str, str] = {}

    def refer(name: str) -> Callable[[datetime], str]:
        def step(now: datetime) -> str:
            reference = actions.submit_referral(office, form, now=now, actor="demo").reference
            cases[name] = reference
            actions.record_screening(office, reference, ScreeningForm(
                outcome=ScreeningOutcome.accept, decided_by="Casey Chair", independent_chair_consulted=True),
                now=now, actor="demo")
            actions.list_and_request_information(office, reference, now=now)
            return f"case {name} ({reference}) referred, accepted, CIGINF1 sent to {len(agencies)} agencies"
        return step

    def returns(name: str, codes: list[str], status: str = "nil") -> Callable[[datetime], str]:
        def step(now: datetime) -> str:
            for code in codes:
                actions.record_return(office, cases[name], AgencyReturnForm(agency=code, status=status), now=now, actor="demo")
            return f"case {name}: {status.replace('_', ' ')} return(s) recorded from {', '.join(codes)}"
        return step

    def recommend(name: str) -> Callable[[datetime], str]:
        def step(now: datetime) -> str:
            actions.record_recommendation(office, cases[name], RecommendationForm(
                outcome=Recommendation.scr, rationale="The criteria are met (demo)."), now=now, actor="demo")
            return f"case {name}: the group recommends an SCR"
        return step

    def decide(name: str) -> Callable[[datetime], str]:
        def step(now: datetime) -> str:
            actions.record_decision(office, cases[name], DecisionForm(
                response=ChairResponse.affirm, decision=ReviewType.scr, rationale="Criteria met (demo).",
                decided_by="Indra Independent", lead_reviewers=["Rowan Reviewer (invented)"]), now=now, actor="demo")
            asyncio.run(deliver_pending(office, now=now))
            actions.finish_case(office, cases[name], now=now)
            return f"case {name}: the independent chair decides; the notices go out"
        return step

    early = [c for c in agencies if c not in ("HEALTH", "CCG", "PROB", "YJS")]
    late = [c for c in agencies if c in ("CCG", "PROB", "YJS")]
    events: list[tuple[datetime, Callable[[datetime], str]]] = [
        (_at(11, 20), refer("A")),
        (_at(11, 23), refer("B")),
        (_at(11, 24), returns("A", early)),
        (_at(11, 25), returns("B", agencies)),
        (_at(11, 26, 14), returns("A", ["HEALTH"]) if "HEALTH" in agencies else (lambda now: "")),
        (_at(12, 7), returns("A", late, "not_received") if late else (lambda now: "")),
        (_at(12, 8, 13), recommend("A")),
        (_at(12, 8, 14), recommend("B")),
        (_at(12, 8, 16), decide("B")),
    ]
    print(f"A simulated month of deadline sweeps (every {EVERY.seconds // 3600} hours), "
          f"{office.partnership.name}, rule set {office.partnership.ruleset}")
    print(f"Mailbox: {office.settings.mail_dir}\n")
    seen = 0
    current_day: date | None = None
    total_reminders = 0
    now = START
    try:
        while now < END:
            if now.date() != current_day:
                current_day = now.date()
                print(f"{current_day:%a %d %b %Y}")
            while events and events[0][0] <= now:
                when, step = events.pop(0)
                said = step(when)
                if said:
                    print(f"    * {said}")
            queue_reminders(office, now=now)
            asyncio.run(deliver_pending(office, now=now))
            mails = read_mailbox(office.settings.mail_dir)
            for mail in mails[seen:]:
                step_name = mail.key.split(":")[1] if ":" in mail.key else "?"
                kind = step_name.split(".")[0]
                if kind in ("reminder", "chase", "warning", "escalation"):
                    total_reminders += 1
                    kind = kind.upper()
                print(f"    {now:%H:%M} {kind:<20} -> {', '.join(mail.to):<32} {mail.subject}")
            seen = len(mails)
            now += EVERY
    finally:
        mailbox.stop()
    keys = Counter(mail.key for mail in read_mailbox(office.settings.mail_dir))
    twice = sorted(key for key, count in keys.items() if count > 1)
    if twice:
        print(f"\nsent more than once: {', '.join(twice)}")
        return 1
    print(f"\n{total_reminders} reminder(s), chase(s), warning(s) and escalation(s), each sent once.")
    return 0 if total_reminders else 1


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cig-demo-month-") as home:
        return run(Path(home))


if __name__ == "__main__":
    sys.exit(main())

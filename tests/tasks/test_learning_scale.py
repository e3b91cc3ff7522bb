"""The sweep reads only the actions that are due, not every action ever recorded: 10,000 open actions on a
review, five within the reminders' horizon; the sweep looks at those (and the case's own due deadlines),
queues their reminders, and takes about what it takes with five (docs/performance.md, section 5b)."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert, select

from casework.forms import ReferralForm
from casework.learning.rules import ACTION_KIND
from casework.office import Office
from casework.store import cases as store
from casework.store.tables import Deadline, LearningAction, Review
from casework.sweep import queue_reminders
from tests.tasks.conftest import Mailbox
from tests.tasks.test_learning_actions import ratified_review
from tests.tasks.test_review import at

HELD, DUE = int(os.environ.get("LEARNING_SCALE_HELD", 10_000)), 5  # LEARNING_SCALE_HELD=5 for the floor


async def test_the_sweep_reads_only_the_actions_due_among_10000_open_ones(
        office: Office, mailbox: Mailbox, referral_form: ReferralForm) -> None:
    reference = await ratified_review(office, referral_form)
    now = at(6, 1, year=2027)
    baseline = queue_reminders(office, now=now).looked_at  # the case's own deadlines due by then
    created = datetime(2027, 5, 4, 12, tzinfo=timezone.utc)
    with office.sessions.begin() as session:
        case = store.get_case(session, reference=reference)
        review_id = session.scalar(select(Review.id).where(Review.case_id == case.id))
        targets = [date(2027, 6, 10)] * DUE + [date(2028, 1, 1) + timedelta(days=n % 700) for n in range(HELD - DUE)]
        session.execute(insert(LearningAction), [
            {"review_id": review_id, "number": 100 + n, "plan": "single_agency", "agency": "CSC", "finding": "f",
             "action": f"Action {n}", "lead": {"name": "Sky Practitioner", "email": f"lead{n}@example.org"},
             "target_on": target, "evidence_of_impact": "e", "status": "open", "revision": 0, "created_at": created,
             "updated_at": created} for n, target in enumerate(targets)])
        session.execute(insert(Deadline), [
            {"case_id": case.id, "kind": ACTION_KIND, "subject": f"A{100 + n}", "round": 0,
             "label": f"Learning action {100 + n} (CSC)", "due_at": office.calendar.end_of_day(target)}
            for n, target in enumerate(targets)])
    started = time.perf_counter()
    outcome = queue_reminders(office, now=now)
    elapsed = time.perf_counter() - started
    assert outcome.looked_at == baseline + DUE
    assert outcome.by_kind.get("reminder") == DUE  # each due lead's 14-day reminder
    assert elapsed < 5, f"the sweep took {elapsed:.2f} s over {HELD} open actions"
    started = time.perf_counter()
    assert queue_reminders(office, now=now).queued == 0
    print(f"\nsweep over {HELD} open actions, {DUE} due: first {elapsed * 1000:.0f} ms, "
          f"again {(time.perf_counter() - started) * 1000:.0f} ms")

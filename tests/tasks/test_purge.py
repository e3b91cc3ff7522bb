"""Retention: closed cases past the retention period lose their data; the audit of it stays."""

from __future__ import annotations

from datetime import datetime, timezone

import yaml
from sqlalchemy import func, select

from casework.referral import actions
from casework import store as store_package
from casework.forms import ReferralForm, ScreeningForm
from casework.office import open_office
from casework.purge import purge_due, purge_expired_cases
from casework.store import cases as store
from casework.store.tables import Case, OutboxMessage
from tests.conftest import free_port


def test_purge_deletes_only_closed_cases_past_retention_and_keeps_the_audit(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))
    monkeypatch.setenv("CIG_SMTP_PORT", str(free_port()))
    monkeypatch.delenv("CIG_DATABASE_URL", raising=False)
    store_package._factory.cache_clear()
    office = open_office()
    base = yaml.safe_load(open("examples/referral.yaml"))
    then = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
    form = ReferralForm.model_validate(base, context={"today": then.date()})
    declined = actions.submit_referral(office, form, now=then, actor="t").reference
    actions.record_screening(office, declined, ScreeningForm(outcome="decline", reason="Below threshold", decided_by="C",
                                                             independent_chair_consulted=True), now=then, actor="t")
    still_open = actions.submit_referral(office, form, now=then, actor="t").reference

    from casework.meetings.papers import paper_filename
    from casework.meetings.preparation import meeting_papers_folder

    papers = {reference: meeting_papers_folder(office.settings.papers_dir, then.date()) / paper_filename(reference)
              for reference in (declined, still_open)}  # as a meeting's preparation leaves them
    for path in papers.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("a case paper")

    years = office.partnership.retention_years
    assert purge_expired_cases(office, now=then.replace(year=then.year + years - 1)) == []
    assert all(path.exists() for path in papers.values())
    assert purge_expired_cases(office, now=then.replace(year=then.year + years, day=21)) == [declined]
    with office.sessions() as session:
        assert session.scalars(select(Case.reference)).all() == [still_open]
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == "named-nurse@example.org")) == 0
        trail = [e.action for e in store.audit_trail(session, reference=declined)]
    assert trail[0] == "referral recorded" and trail[-1] == "case data purged"
    assert not papers[declined].exists() and papers[still_open].exists()
    assert purge_due(then, 10, then.replace(year=2036)) and not purge_due(then, 10, then.replace(year=2036, day=19))

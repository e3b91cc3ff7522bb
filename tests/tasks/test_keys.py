"""Key rotation (`cig keys rotate`) and the audit log (`cig audit REF`), through the command's entry point.

Data sealed with key A opens after rotating to "B,A", and then with B alone; A alone no longer
opens it. Every sealed column is covered (the case's personal data, the referrer's address, the
outbox bodies).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

import casework.store
from casework.referral import actions
from casework.forms import ReferralForm
from casework.office import Office, open_office
from casework.store import cases as store
from casework.store.sealed import KeyProblem, new_key
from cli.main import main

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Open the office on a fresh SQLite database with the given CIG_DATA_KEYS."""
    for name in ("CIG_DATABASE_URL", "CIG_PARTNERSHIP_FILE", "CIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CIG_HOME", str(tmp_path / "cig"))

    def open_with(*keys: str) -> Office:
        monkeypatch.setenv("CIG_DATA_KEYS", ",".join(keys))
        casework.store._factory.cache_clear()
        return open_office()

    yield open_with
    casework.store._factory.cache_clear()


def cig(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["cig", *args])
    capsys.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exited:
        code = int(exited.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def raw_sealed(office: Office) -> list[str]:
    with office.sessions() as session:
        return [*session.execute(text("SELECT personal FROM cases")).scalars(),
                *session.execute(text("SELECT referrer_email FROM cases")).scalars(),
                *session.execute(text("SELECT body FROM outbox")).scalars()]


def test_rotation_re_seals_everything_with_the_newest_key(
    keyed, referral_form: ReferralForm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    key_a, key_b = new_key(), new_key()
    office = keyed(key_a)
    reference = actions.submit_referral(office, referral_form, now=NOW, actor="test").reference
    before = raw_sealed(office)
    assert len(before) > 3

    keyed(key_b, key_a)
    code, out, err = cig(monkeypatch, capsys, "keys", "rotate", "--json")
    assert code == 0, err
    assert json.loads(out) == {"resealed": len(before)}

    office = keyed(key_b)  # the old key is retired
    after = raw_sealed(office)
    assert len(after) == len(before) and not set(after) & set(before)
    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        assert case.personal["child"]["name"] == "Robin Testchild"
        assert case.referrer_email == "named-nurse@example.org"
        assert all(m.body["text"] for m in store.messages_for(session, case_id=case.id))
        rotations = session.execute(text("SELECT actor, action FROM audit_events WHERE case_reference IS NULL")).all()
        assert [tuple(r) for r in rotations] == [("cig keys rotate", "data keys rotated")]
    office = keyed(key_a)
    with office.sessions() as session, pytest.raises(KeyProblem):
        store.get_case(session, reference=reference).personal


def test_rotation_with_a_key_that_opens_nothing_changes_nothing(
    keyed, referral_form: ReferralForm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    office = keyed(new_key())
    actions.submit_referral(office, referral_form, now=NOW, actor="test")
    before = raw_sealed(office)
    keyed(new_key())
    code, _, err = cig(monkeypatch, capsys, "keys", "rotate")
    assert code == 1 and "does not open with any key in CIG_DATA_KEYS" in err
    assert raw_sealed(office) == before


def test_audit_prints_who_did_what_without_personal_data(
    keyed, referral_form: ReferralForm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    office = keyed(new_key())
    reference = actions.submit_referral(office, referral_form, now=NOW, actor="cig referral submit").reference
    code, out, err = cig(monkeypatch, capsys, "audit", reference, "--json")
    assert code == 0, err
    events = json.loads(out)
    assert events[0]["actor"] == "cig referral submit" and events[0]["action"] == "referral recorded"
    assert "Robin" not in out and "2026-07-03" not in out
    code, out, _ = cig(monkeypatch, capsys, "audit", reference)
    assert code == 0 and "referral recorded" in out
    code, _, err = cig(monkeypatch, capsys, "audit", "NOPE-2026-0001")
    assert code == 1 and "no audit events" in err

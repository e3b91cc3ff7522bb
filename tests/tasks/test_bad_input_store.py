"""Bad referrals through `cig referral submit`: refused in words, exit status 1, nothing written.

Malformed CIGSCR1 files (the invented referral of examples/referral.yaml, spoiled one way at a
time, plus an agency code the partnership does not have) are submitted through the command's own
entry point, `cli.main.main`, against a real case database. Each must exit with status 1, print a
message naming the field, and leave the cases, outbox and audit tables empty.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.forms import MAX_TEXT, ReferralForm
from casework.office import Office
from casework.store.tables import AuditEvent, Case, OutboxMessage
from cli.main import main
from tests.rules.test_bad_input import (
    BASES,
    CHOICES,
    CONTROL_CHARS,
    NAMES,
    NOT_A_CHOICE,
    PAST_DATES,
    REQUIRED,
    TYPED,
    drop,
    field_name,
    get,
    put,
)

BASE = BASES[ReferralForm]


def today() -> Any:
    return datetime.now(timezone.utc).date()


@st.composite
def malformed_referral(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    data = copy.deepcopy(BASE)
    kind = draw(st.sampled_from(["drop", "wrong_type", "future", "death_before_birth", "control", "oversized",
                                 "choice", "unknown_agency", "extra"]))
    if kind == "drop":
        path = draw(st.sampled_from(REQUIRED[ReferralForm]))
        drop(data, path)
    elif kind == "wrong_type":
        path = draw(st.sampled_from(TYPED[ReferralForm]))
        current = get(data, path)
        put(data, path, "not a list" if isinstance(current, list) else (42 if isinstance(current, dict) else ["wrong"]))
    elif kind == "future":
        path = draw(st.sampled_from(PAST_DATES[ReferralForm]))
        put(data, path, today() + timedelta(days=draw(st.integers(2, 3650))))
    elif kind == "death_before_birth":
        path = ("child", "date_of_death")
        put(data, path, data["child"]["date_of_birth"] - timedelta(days=draw(st.integers(1, 3000))))
        data["facts"]["child_died"] = True
    elif kind in ("control", "oversized"):
        path = draw(st.sampled_from(sorted(NAMES[ReferralForm], key=str)))
        value = str(get(data, path))
        if kind == "control":
            at = draw(st.integers(1, len(value) - 1))
            value = value[:at] + draw(st.sampled_from(CONTROL_CHARS)) + value[at:]
        else:
            value = "x" * draw(st.integers(NAMES[ReferralForm][path] + 1, 2000))
        put(data, path, value)
    elif kind == "choice":
        path = draw(st.sampled_from(CHOICES[ReferralForm]))
        put(data, path, draw(NOT_A_CHOICE))
    elif kind == "unknown_agency":  # a well-formed code the partnership file does not list
        path = ("agency",)
        data["agency"] = draw(st.sampled_from(["XYZ", "MET", "NHS1", "POLICE"]))
    else:
        path = ("case_summary",) if draw(st.booleans()) else ("reasons",)
        put(data, path, "z" * (MAX_TEXT + draw(st.integers(1, 100))))
    return kind, data, field_name(path)


def counts(office: Office) -> tuple[int, int, int]:
    with office.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (Case, OutboxMessage, AuditEvent))  # type: ignore[return-value]


def submit(form_file: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["cig", "referral", "submit", str(form_file)])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=malformed_referral())
def test_a_malformed_referral_is_refused_and_writes_nothing(
    mutation: tuple[str, dict[str, Any], str], office: Office, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    kind, data, field = mutation
    form_file = tmp_path / "referral.json"
    form_file.write_text(json.dumps(data, default=str), encoding="utf-8")
    capsys.readouterr()

    status = submit(form_file, monkeypatch)

    said = capsys.readouterr()
    assert status == 1, (kind, field, said)
    assert said.err.startswith("error: "), said
    assert field in said.err, (kind, field, said.err)
    assert counts(office) == (0, 0, 0)


def test_an_unknown_agency_names_the_agencies_the_partnership_has(
    office: Office, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    form_file = tmp_path / "referral.json"
    form_file.write_text(json.dumps({**BASE, "agency": "XYZ"}, default=str), encoding="utf-8")
    assert submit(form_file, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "unknown agency code 'XYZ'" in err and "POL" in err
    assert counts(office) == (0, 0, 0)

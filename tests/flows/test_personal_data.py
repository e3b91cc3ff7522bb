"""Personal data stays in the case database, sealed: Prefect never sees a child's name or date of birth.

A referral with a distinctive invented child and mother is carried to a no-SCR decision on the
test Prefect server. Then every place Prefect keeps anything is searched for their names and
dates of birth: every text value of every table of its database (and the database file's raw
bytes, so a deleted flow-run input left in a free page would count too), every file under
PREFECT_HOME (persisted results, local storage), the artifacts and the flow-run logs read through
the API. None may appear. The case database holds them only as Fernet ciphertext, and the
National Panel notice of a no-SCR decision carries neither names nor dates of birth.

Intake here is the way `cig referral submit` does it (the form is recorded by
`actions.submit_referral`, the run is started with the reference only), so the `submit-referral`
flow, which takes the CIGSCR1 as parameters, is not exercised by this test.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL
from sqlalchemy import text

from casework import actions
from casework.forms import DecisionForm, RecommendationForm, ReferralForm, ScreeningForm
from casework.model import ChairResponse
from casework.office import Office
from casework.store import cases as store
from flows.launch import start_referral_run
from flows.people import submit_step
from notifications.mailbox import read_mailbox
from tests.flows.conftest import mail_to, wait_until
from tests.flows.test_referral_flow import EXAMPLE, all_returned, finished, no_scr_decision

CHILD = "Zephyrine Quillfeather"
CHILD_BORN = date(2019, 2, 17)
MOTHER = "Oswaldine Marrowgate"
MOTHER_BORN = date(1990, 8, 23)


def spellings(born: date) -> list[str]:
    return [born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%d %b %Y"), born.strftime("%d %B %Y"),
            born.strftime("%Y%m%d")]


NEEDLES = [CHILD, CHILD.split()[1], MOTHER, MOTHER.split()[1], *spellings(CHILD_BORN), *spellings(MOTHER_BORN)]


def hits(haystack: str) -> list[str]:
    lowered = haystack.lower()
    return [n for n in NEEDLES if n.lower() in lowered]


def prefect_database() -> Path:
    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    assert url and url.startswith("sqlite"), f"the scan reads the test server's SQLite database, not {url}"
    return Path(url.split("///", 1)[1])


def database_text(path: Path) -> str:
    """Every value of every table, as text, read while the server runs."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = []
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                values += [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row]
    finally:
        connection.close()
    return "\n".join(values)


def files_text(directory: Path) -> str:
    """Every file under a directory, bytes read as text."""
    return "\n".join(f.read_bytes().decode("utf-8", "replace") for f in directory.rglob("*") if f.is_file())


def referral_about_zephyrine() -> ReferralForm:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["child"] = {"name": CHILD, "date_of_birth": CHILD_BORN}
    data["significant_people"] = [{"name": MOTHER, "date_of_birth": MOTHER_BORN, "relationship": "mother"}]
    return ReferralForm.model_validate(data, context={"today": datetime.now(timezone.utc).date()})


async def test_no_name_or_date_of_birth_reaches_prefect(office: Office) -> None:
    now = datetime.now(timezone.utc)
    reference = actions.submit_referral(office, referral_about_zephyrine(), now=now, actor="test").reference
    flow_run_id = await start_referral_run(reference, office)
    await submit_step(office, reference, "screening",
                      ScreeningForm(outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True))
    await all_returned(office, reference)
    await submit_step(office, reference, "recommendation",
                      RecommendationForm(outcome="multi_agency_concise_review", rationale="Local learning."))
    decision: DecisionForm = no_scr_decision().model_copy(update={"response": ChairResponse.affirm})
    await submit_step(office, reference, "decision", decision)
    await wait_until(finished(office, reference), what="the case to be decided")
    await wait_until(lambda: "national-panel@example.org" in mail_to(office), what="the Panel notice")

    # Prefect's database, read table by table, and its raw file (free pages included)
    database = prefect_database()
    rows = database_text(database)
    assert reference in rows, "the scan reads the server's database (the run is named after the case)"
    assert hits(rows) == []
    raw = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in database.parent.glob(database.name + "*"))
    assert hits(raw) == []

    # everything under PREFECT_HOME: persisted results, local storage, the profile
    assert hits(files_text(Path(os.environ["PREFECT_HOME"]))) == []

    # artifacts and the run's logs, through the API
    async with get_client() as client:
        artifacts = await client.read_artifacts()
        assert hits("\n".join(a.model_dump_json() for a in artifacts)) == []
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        assert hits("\n".join(log.message for log in logs)) == []
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        assert runs and hits("\n".join(r.model_dump_json() for r in runs)) == []  # parameters, state, tags

    # the case database holds them sealed
    with office.sessions() as session:
        sealed = session.execute(text("SELECT personal FROM cases WHERE reference = :r"), {"r": reference}).scalar_one()
        case = store.get_case(session, reference=reference)
        assert case.personal["child"]["name"] == CHILD  # it opens with the key
    assert sealed.startswith("gAAAAA") and hits(sealed) == []

    # the National Panel is told the age, not the name or the date of birth
    panel = [m for m in read_mailbox(office.settings.mail_dir) if "national-panel@example.org" in m.to]
    assert len(panel) == 1
    assert hits("\n".join([panel[0].subject, panel[0].text(), panel[0].html()])) == []
    assert hits(panel[0].file.read_bytes().decode("utf-8", "replace")) == []

"""What managers find in the Prefect UI, against the session's real Prefect server: the monthly report
artifact `cig report --month` publishes, and the Runs page's saved views that `make up` creates
(flows.views), which keep a case referred weeks ago in view.

The browser is not driven here: the test server serves the API only. The saved views are checked
as the server stores them and by running the filter the classic UI builds from them
(tags, states, and `start_time` after now minus the span) against a case's run due three weeks ago
(the API cannot back-date a run's creation or start, but the Runs page filters on the start time or,
before a run starts, its expected start time, which can be set in the past).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from casework.office import Office
from flows.views import SAVED_VIEWS, ensure_saved_views


async def _post(path: str, body: dict[str, object]) -> list[dict[str, object]]:
    async with get_client() as client:
        response = await client.request("POST", path, json=body)  # type: ignore[arg-type]
        return response.json()


def test_cig_report_publishes_the_months_artifact(office: Office) -> None:
    from cli.main import app

    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--no-email", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["artifact"].startswith("published the Prefect artifact monthly-report-2026-10: ")
    assert printed["artifact"].endswith("/artifacts/key/monthly-report-2026-10")
    [artifact] = asyncio.run(_post("/artifacts/latest/filter", {"artifacts": {"key": {"any_": ["monthly-report-2026-10"]}}}))
    assert artifact["type"] == "markdown" and artifact["description"] == "Case review performance, October 2026"
    assert str(artifact["data"]).startswith("# Case review performance, October 2026")
    assert "](data:image/png;base64," in str(artifact["data"])  # the chart inline, as the UI can show it


def _ui_filter(view: dict[str, object], now: datetime) -> dict[str, object]:
    """The flow-run filter the classic UI builds from a saved view (its tags, states and date span)."""
    filters = {f["property"]: f["value"] for f in view["filters"]}  # type: ignore[index, union-attr]
    runs: dict[str, object] = {"tags": {"all_": filters["tag"]},
                               "start_time": {"after_": (now + timedelta(seconds=filters["range"]["seconds"])).isoformat(),
                                              "before_": now.isoformat()}}
    if "state" in filters:
        runs["state"] = {"name": {"any_": filters["state"]}}
    return {"flow_runs": runs}


def test_make_up_s_saved_views_keep_a_case_referred_weeks_ago(prefect_server: None) -> None:
    names = asyncio.run(ensure_saved_views())
    asyncio.run(ensure_saved_views())  # as on a restart of `make up`: replaced by name, never doubled
    stored = asyncio.run(_post("/saved_searches/filter", {}))
    ours = [s for s in stored if s["name"] in names]
    assert sorted(s["name"] for s in ours) == sorted(v.name for v in SAVED_VIEWS)
    by_name = {s["name"]: s for s in ours}
    chair = {f["property"]: f for f in by_name["Awaiting the chair"]["filters"]}
    assert chair["tag"]["value"] == ["stage:awaiting_decision"] and chair["tag"]["object"] == "flowRun"
    assert chair["range"]["value"]["type"] == "span" and chair["range"]["value"]["seconds"] <= -5 * 365 * 86400
    assert {f["property"]: f["value"] for f in by_name["All open cases"]["filters"]}["tag"] == ["case"]

    async def a_case_referred_three_weeks_ago() -> str:
        async with get_client() as client:
            flow_id = await client.create_flow_from_name("cig-saved-view-check")
            started = datetime.now(timezone.utc) - timedelta(weeks=3)
            response = await client.request("POST", "/flow_runs/", json={  # type: ignore[arg-type]
                "flow_id": str(flow_id), "name": "referral-SVCHK-2026-0001",
                "tags": ["case", "stage:awaiting_decision", "regime:wt2015"],
                # the API sets no past start time; a run due three weeks ago has the same place on the
                # Runs page (it filters on the start time, else the expected start time)
                "state": {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": started.isoformat()}},
            })
            return response.json()["id"]

    run_id = asyncio.run(a_case_referred_three_weeks_ago())
    now = datetime.now(timezone.utc)
    for name in ("Awaiting the chair", "All open cases"):
        found = asyncio.run(_post("/flow_runs/filter", _ui_filter(by_name[name], now)))
        assert run_id in [r["id"] for r in found], name
    past_week = {"name": "Past week", "filters": [{"property": "tag", "value": ["stage:awaiting_decision"]},
                                                  {"property": "range", "value": {"type": "span", "seconds": -604800}}]}
    assert run_id not in [r["id"] for r in asyncio.run(_post("/flow_runs/filter", _ui_filter(past_week, now)))]

"""Layer 4: the README's commands as a user runs them, against a real Prefect server and worker.

`make up`'s stack (server, process worker, local SMTP server, deployments from prefect.yaml)
is started as `cli.stack` starts it; `make demo`'s referral then runs through every step with
the people simulated by `cig` commands, and its review is kept by its people on the secure website.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import urllib.error
from pathlib import Path
from uuid import UUID

import pytest
import yaml

from cli.stack import PROJECT, running_stack
from tests.system.api import call

pytestmark = pytest.mark.system


def settled(page) -> None:  # type: ignore[no-untyped-def]
    """Once no animation or transition that ends still runs on the page (a dialog that slides in has arrived
    where it stays; a spinner's endless animation is no move)."""
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running'"
                           " || a.effect?.getComputedTiming().iterations === Infinity)")


def test_the_stack_serves_the_cigscr1_form_and_runs_a_referral_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.demo import run_demo

    saved = dict(os.environ)
    try:
        with running_stack(tmp_path / "var", api_port=4260, smtp_port=8160) as env:
            os.environ.update({k: v for k, v in env.items() if k.startswith(("CIG_", "PREFECT_"))})
            api = env["PREFECT_API_URL"]
            deployments = {d["name"]: d for d in call(api, "/deployments/filter", {})}
            assert {"submit-referral", "referral"} <= set(deployments)
            schema = deployments["submit-referral"]["parameter_openapi_schema"]
            form = schema["definitions"]["ReferralForm"]["properties"]
            for field in ("notified_on", "reasons", "case_summary", "child", "significant_people", "agency",
                          "named_lead", "route", "completed_on", "facts"):
                assert field in form and form[field].get("description"), field
            automations = {a["name"]: a for a in call(api, "/automations/filter", {})}
            backstop = automations["referral suspended past awaiting decision"]
            assert backstop["trigger"]["posture"] == "Proactive"
            assert backstop["trigger"]["within"] == 31 * 24 * 3600
            assert backstop["actions"][0]["deployment_id"] == deployments["deadline-sweep"]["id"]
            undelivered = automations["case mail undelivered after retries"]["trigger"]
            assert undelivered["expect"] == ["prefect.task-run.Failed"]
            assert undelivered["match"]["prefect.resource.name"] == "send_messages-*"
            assert run_demo(env) == 0  # first: it counts every message the mail server received
            the_review_was_kept_on_the_website()
            check_the_forms_in_a_browser(env, deployments["submit-referral"]["id"])
            # the server's scheduler has put the next deadline sweeps on the calendar
            assert call(api, "/flow_runs/filter", {"flow_runs": {
                "deployment_id": {"any_": [deployments["deadline-sweep"]["id"]]},
                "state": {"type": {"any_": ["SCHEDULED"]}}}}), "no deadline sweep was scheduled"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out = capsys.readouterr().out
    assert re.search(r"demo: \d+ messages delivered, decision recorded, the review published and the case closed", out)
    for person, did in (("the business manager", "records the publication"), ("the executive group", "ratifies"),
                        ("the partnership board", "ratifies"), ("the action's named lead", "records the action done")):
        assert f"$ (a browser) {person}: {did}" in out, person  # the demo says who did what on the website


def the_review_was_kept_on_the_website() -> None:
    """The demo's review went to publication through the website's pages, each person by their own link: the
    case's audit trail names each step's actor as a link's holder (the website's words), not a `cig` user."""
    from casework.office import open_office
    from casework.store import cases as store

    office = open_office()
    with office.sessions() as session:
        [reference] = [c.reference for c in store.list_cases(session)]  # the demo's one case
        trail = [(e.action, e.actor) for e in store.audit_trail(session, reference=reference)]

    def actors(action: str) -> list[str]:
        return [actor for done, actor in trail if done == action]

    assert len(actors("agency engagement confirmed")) == 7
    assert all(re.fullmatch(r"agency [A-Z]+ \(link \d+\)", actor) for actor in actors("agency engagement confirmed"))
    assert [re.sub(r" \(link \d+\)", "", actor) for actor in actors("review drafts ratified")] == [
        "cig", "executive group", "board"]
    for action in ("terms of reference recorded", "family involvement recorded", "review document uploaded",
                   "review published"):
        assert actors(action) and all(re.fullmatch(r"the business manager \(link \d+\)", a) for a in actors(action)), action
    assert any(re.fullmatch(r"the action's named lead \(link \d+\)", a) for a in actors("learning action updated"))


def check_the_forms_in_a_browser(env: dict[str, str], submit_referral_id: str) -> None:
    """What the administrator and the independent chair see, in headless Chromium on the stack's UI."""
    from casework.forms import DecisionForm
    from casework.office import open_office
    from cli.demo import cig
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.people import StepRefused, hand_over
    from flows.forms import presented_values
    from tests.system.browser import chromium

    ui = env["PREFECT_API_URL"].removesuffix("/api")
    reference = json.loads(cig(env, "referral", "submit", str(PROJECT / "examples" / "referral.yaml"), "--json"))["reference"]
    cig(env, "screen", reference, "--accept", "--by", "Casey Chair")
    for code in ("POL", "CSC", "HEALTH", "CCG", "EDU", "PROB", "YJS"):
        cig(env, "return", reference, "--agency", code, "--nil")
    with pytest.raises(RuntimeError, match="is listed for the CIG meeting on .*; its recommendation can be recorded from then"):
        cig(env, "recommend", reference, "--outcome", "scr", "--rationale", "Information was not shared.")
    cig(env, "meeting", "add", "now", "--reason", "a further date to meet set", "--list", reference)
    cig(env, "recommend", reference, "--outcome", "scr", "--rationale", "Information was not shared.")
    run_id = json.loads(cig(env, "referral", "show", reference, "--json"))["flow_run_id"]
    # the chair's first decision names the mother in the Panel's anonymised details: the run refuses it
    details = Path(env["CIG_HOME"]) / "details.yaml"
    details.write_text(yaml.safe_dump({
        "nature_of_incident": "Head injury; Jordan Testparent was present", "ages_of_children": "4 months",
        "relationship_to_alleged_perpetrator": "parent", "agency_involvement": "health visiting",
        "criminal_investigation": "open"}))
    refused = r"anonymised_details.nature_of_incident: word \d+ is \(part of\) the name"
    with pytest.raises(RuntimeError, match=refused):  # `cig decide` refuses it at the door, recording nothing
        cig(env, "decide", reference, "--challenge", "--decision", "multi_agency_concise_review", "--by", "Indra Independent",
            "--rationale", "Typed before the refusal.", "--details", str(details), "--explanation", "Joint working was sound.")
    # given on the run's page (what the Prefect UI's Resume does), the run refuses it and asks again
    decision = DecisionForm(response="challenge", decision="multi_agency_concise_review", decided_by="Indra Independent",
                            rationale="Typed before the refusal.", anonymised_details=yaml.safe_load(details.read_text()),
                            criteria_explanation="Joint working was sound.")
    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), pytest.raises(StepRefused, match=refused):
        # (this stack's server, not the flow tests' that may run in the same xdist worker)
        asyncio.run(hand_over(open_office(), reference, "decision", decision, UUID(run_id), check=lambda case: None))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        # the CIGSCR1 Run form: the paper form's item numbers, the agencies as a choice list
        page.goto(f"{ui}/deployments/deployment/{submit_referral_id}/run")
        page.get_by_text("3. Name of the child or young person").wait_for()
        assert page.get_by_text("CIGSCR1: request for CIG consideration", exact=True).first.is_visible()
        assert page.get_by_text("1. Name of the child").count() == 0
        assert page.get_by_text('Property is type "None"').count() == 0
        agency = page.locator(".schema-form-property", has=page.get_by_text("5. Agency providing the information")).last
        agency.locator(".p-select-button__control").click()
        page.keyboard.press("ArrowDown")  # the list opens
        page.get_by_text("POL: Northshire Police").first.wait_for()
        page.get_by_placeholder("Search").fill("XYZ")  # an agency not in the partnership file: nothing to choose
        assert page.get_by_text("POL: Northshire Police").count() == 0
        page.keyboard.press("Escape")
        # item 8: a switch between the two routes, each with its own fields, required (no "(Optional)")
        route = page.locator(".schema-form-property", has=page.get_by_text("8. Referred through a safeguarding lead")).last
        assert route.get_by_text("Safeguarding lead", exact=True).is_visible()
        route.get_by_role("button", name="By the chair of a strategy meeting").click()
        route.get_by_text("Strategy meeting held on", exact=True).wait_for()
        assert route.get_by_text("Chair of the strategy meeting", exact=True).is_visible()
        assert route.get_by_text("(Optional)").count() == 0
        page.screenshot(path=str(Path(env["CIG_HOME"]) / "run-form-route.png"))
        # the chair's Resume form: the recommendation above the fields, in view at 1366x768
        page.goto(f"{ui}/runs/flow-run/{run_id}")
        # the run's page (its logs, under the green "Flow run resumed") said within seconds why it was not recorded
        page.get_by_text(re.compile(r"the decision form was NOT recorded: anonymised_details")).first.wait_for()
        page.get_by_role("button", name="Resume").first.click()
        recommendation = page.get_by_text("recommends Serious Case Review").first
        recommendation.wait_for()
        settled(page)
        box = recommendation.bounding_box()
        assert recommendation.is_visible() and box and 0 <= box["y"] and box["y"] + box["height"] <= 768
        assert page.get_by_text("Information was not shared.").first.is_visible()
        # ... after the refusal, which it names first, and filled in with what the chair typed
        assert page.get_by_text("Not recorded, please change:").first.is_visible()
        typed = [box.input_value() for box in page.locator("textarea").all()]
        assert "Typed before the refusal." in typed and "Joint working was sound." in typed
        page.screenshot(path=str(Path(env["CIG_HOME"]) / "resume-after-refusal.png"))
        # the V2 UI's Resume dialog (behind the run page's menu) shows the same summary first
        for width, height in ((1366, 768), (1920, 1080)):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{ui}/v2/runs/flow-run/{run_id}")
            page.get_by_text(f"referral-{reference}").first.wait_for()
            menu = [b for b in page.get_by_role("button").all()
                    if (box := b.bounding_box()) and box["y"] < 60 and box["x"] > width - 120]
            menu[0].click()
            page.get_by_role("menuitem", name="Resume").click()
            # (in the dialog: the run's page behind it may show the same words further down)
            recommendation = page.get_by_role("dialog").get_by_text("recommends Serious Case Review").first
            recommendation.wait_for()
            settled(page)  # the dialog slides in: measured mid-way (a busy CI machine) it was still below the fold
            box = recommendation.bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= height, (width, box)
        # a CIGSCR1 the form cannot check (a death before the birth): one line on the run, which stays
        form = yaml.safe_load((PROJECT / "examples" / "referral.yaml").read_text())
        form["child"]["date_of_death"] = "2020-01-01"
        form["facts"]["child_died"] = True
        form = presented_values(form, open_office().partnership)  # the choices as the form gives them
        create_run = f"/deployments/{submit_referral_id}/create_flow_run"
        intake = call(env["PREFECT_API_URL"], create_run, {"parameters": {"form": form}})
        page.goto(f"{ui}/runs/flow-run/{intake['id']}")
        message = "CIGSCR1 not recorded: child: date_of_death: the date of death is before the date of birth"
        page.get_by_text(message).first.wait_for(timeout=90_000)
        # the server refuses an agency the partnership file does not list, as the form's choice list does
        form["agency"] = "XYZ"
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(env["PREFECT_API_URL"], create_run, {"parameters": {"form": form}})
        assert refused.value.code == 409 and "XYZ" in refused.value.read().decode()


def test_cig_refuses_a_malformed_referral_in_words(tmp_path: Path) -> None:
    bad = tmp_path / "referral.yaml"
    bad.write_text("notified_on: 2999-01-01\nreasons: ''\nagency: NOPE\n")
    env = dict(os.environ, CIG_HOME=str(tmp_path / "var"))
    done = subprocess.run([str(Path(sys.executable).parent / "cig"), "referral", "submit", str(bad)],
                          env=env, cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 1
    assert "notified_on: 2999-01-01 is in the future" in done.stderr
    assert "reasons:" in done.stderr and "Traceback" not in done.stderr

"""`make demo REGIME=wt2023`: one case end to end under Working Together 2023 (rule set wt2023) on
config/partnership.wt2023.example.yaml, on its own stack, with no person adding a meeting.

The referral; the serious incident notification recorded as made; the case's own rapid review meeting, which the
system schedules inside the 15 working days; the agencies' information (one agency on the secure website, from the
link in its request); the rapid review meeting's record; the three safeguarding partners deciding, each from the
link in their own email; the rapid review sent to the Panel; the Panel's reply (the record-panel-reply office form);
the LCSPR kept on the business manager's task list (the reviewer appointed, the drafts, the partners' sign-off); the
full report sent to the Panel and the Secretary of State at least 7 working days before publication; publication.

A demo cannot wait real weeks, and moves time as `make demo` does: the referral is made a working day after the
local authority became aware, and the people date what they do today. The system's meeting is some days ahead, so
the administrator brings it forward to a minute from now, inside the window, as an administrator may (`make demo`
holds an extra meeting at once instead). Publication must wait 7 working days after the full report went: the
business manager records it on the earliest allowed day, the one step the demo dates ahead (`now` is given to the
domain, as the tests do).

It ends with one line that counts the messages delivered and says whether every statutory clock of the case was met,
read from the case's deadlines in the case database (naming any that was not).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from cli.demo import LINK, PDF, Browser, cig, on, review_show

PROJECT = Path(__file__).resolve().parent.parent
PARTNERSHIP = PROJECT / "config" / "partnership.wt2023.example.yaml"
WAIT = 180  # seconds a step of the stack may take on a busy machine


def now() -> datetime:
    return datetime.now(timezone.utc)


def mail_with_link(env: dict[str, str], address: str, subject_has: str, *, wait: float = WAIT) -> str | None:
    """The personal link in the newest email to `address` whose subject holds `subject_has` (any case), as the mail
    server received it; None if none arrives within `wait` seconds."""
    from notifications.mailbox import read_mailbox

    deadline = time.monotonic() + wait
    while True:
        for mail in reversed(read_mailbox(Path(env["CIG_HOME"]) / "mail")):
            if address in mail.to and subject_has.lower() in mail.subject.lower():
                found = re.search(LINK, mail.text())
                if found:
                    return found.group(0)
        if time.monotonic() > deadline:
            return None
        time.sleep(1)


def needed_link(env: dict[str, str], address: str, subject_has: str) -> str:
    link = mail_with_link(env, address, subject_has)
    if link is None:
        raise RuntimeError(f"no email '{subject_has}' with a personal link reached {address} within {WAIT} s")
    return link


def wait_for(what: str, check, seconds: float = WAIT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not (result := check()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(1)
    return result


def the_case(env: dict[str, str], reference: str) -> dict:  # type: ignore[type-arg]
    return json.loads(cig(env, "referral", "show", reference, "--json"))


def referral_file(aware_on: date, today: date) -> Path:
    """The example referral, the local authority aware on `aware_on` and the form completed `today`."""
    form = yaml.safe_load((PROJECT / "examples" / "referral.yaml").read_text(encoding="utf-8"))
    form["notified_on"] = aware_on.isoformat()
    form["route"]["reviewed_with_safeguarding_lead_on"] = aware_on.isoformat()
    form["completed_on"] = today.isoformat()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, encoding="utf-8") as out:
        yaml.safe_dump(form, out)
    return Path(out.name)


def acting_partners(partnership) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each safeguarding partner's acting person's email, by who they act for: the delegate where there is one, else
    the lead."""
    acting = {}
    for partner in partnership.safeguarding_partners.values():
        role = "delegated" if partner.delegate else "lead"
        acting[f"{partner.organisation}'s {role} safeguarding partner"] = (partner.delegate or partner.lead).email
    return acting


def clocks_line(office, reference: str) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    """Whether every statutory clock of the case (its rule set's clocks on the case itself, not an agency's return
    or a milestone) was met, from its deadlines in the case database, and the words that say so or name those not."""
    from casework.store import cases as store

    with office.sessions() as session:
        case = store.get_case(session, reference=reference)
        rules = office.rules(case.regime)
        clocks = [d for d in case.deadlines if d.kind in rules.clocks and not getattr(d, "subject", None)]
        missed = [d for d in clocks if d.met_at is None or d.met_at > d.due_at]
        words = [f"{d.label} (due {office.calendar.local_date(d.due_at):%-d %B %Y}, "
                 + (f"met {office.calendar.local_date(d.met_at):%-d %B %Y})" if d.met_at else "not met)") for d in missed]
        count = len(clocks)
    if not missed:
        return True, f"every statutory clock was met ({count} clocks on the case)"
    return False, f"{len(missed)} of {count} statutory clocks NOT met: " + "; ".join(words)


async def pause_schedules() -> None:
    """The scheduled deployments paused (the deadline sweep every 15 minutes among them): the demo's case needs none,
    and a machine this busy runs the case's steps sooner without them."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for deployment in await client.read_deployments():
            if deployment.schedules:
                await client.pause_deployment(deployment.id)


async def panel_reply(reference: str, today: date) -> str:
    """The administrator records the Panel's reply on the record-panel-reply form (a run of its deployment)."""
    from prefect.deployments import run_deployment

    run = await run_deployment("record-panel-reply/record-panel-reply", parameters={
        "reference": reference, "reply": {"reply": "agrees", "received_on": today.isoformat(),
                                          "recorded_by": "Ari Admin"}}, timeout=WAIT)
    return run.state.type.value if run.state else "unknown"


def run_wt2023_demo(env: dict[str, str]) -> int:
    """The case through every step on the running stack `env`; 0 when every step went and every clock was met."""
    from prefect.context import SettingsContext, get_settings_context
    from prefect.settings import Settings as PrefectSettings

    os.environ.update({k: v for k, v in env.items() if k.startswith(("CIG_", "PREFECT_"))})
    # the demo's own Prefect calls (pausing the schedules, the office form) go to the stack's server, not a temporary one
    with SettingsContext(profile=get_settings_context().profile, settings=PrefectSettings()):
        return _run(env)


def _run(env: dict[str, str]) -> int:
    from casework.office import open_office

    office = open_office()
    partnership, rules, calendar = office.partnership, office.rules(), office.calendar
    if rules.name != "wt2023":
        print(f"demo: FAILED: {PARTNERSHIP} is not on wt2023", file=sys.stderr)
        return 1
    agencies = [a.code for a in partnership.agencies]
    contacts = partnership.contacts
    partners = acting_partners(partnership)
    browser = Browser(env)
    try:
        asyncio.run(pause_schedules())
        today = calendar.local_date(now())
        aware_on = calendar.subtract_working_days(today, 1)
        reference = json.loads(cig(env, "referral", "submit", str(referral_file(aware_on, today)), "--json"))["reference"]
        print(f"  -> {reference} (the local authority aware on {aware_on:%A %-d %B %Y})")

        # the local authority made the serious incident notification on the Panel's online service; the administrator
        # records it (casework.referral.actions.record_panel_notification: no office form for it yet)
        from casework.forms import PanelNotificationForm
        from casework.referral import actions

        print("$ (the administrator) records the serious incident notification made by the local authority today")
        actions.record_panel_notification(office, reference, PanelNotificationForm(
            notified_on=today, notified_by="Del Director, director of children's services", panel_reference="SIN-DEMO-0001"),
            now=now(), actor="the administrator")
        print("  recorded: made today, the Panel's reference SIN-DEMO-0001")
        cig(env, "screen", reference, "--accept", "--by", "Bo Business and Del Director", "--not-consulted")

        # the system schedules the case's own rapid review meeting inside its 15 working days and invites its members
        shown = wait_for("the rapid review meeting's scheduling", lambda: (c := the_case(env, reference))["meeting_at"] and c)
        meeting_at = datetime.fromisoformat(shown["meeting_at"])
        deadline = next(d for d in shown["deadlines"] if d["kind"] == "decision")["due_at"]
        print(f"  the system scheduled the rapid review meeting for "
              f"{meeting_at.astimezone(calendar.zone):%A %-d %B %Y at %H:%M}, inside the window (due {deadline[:10]})")

        # the agencies' information: the health trust on the secure website from its request's link, the others nil
        health = partnership.agency("HEALTH").contact.email
        browser.submit("the health trust", "returns its information on the secure website, from the link in its request",
                       needed_link(env, health, "information"), {
                           "status": "returned", "involvement": "Health visitor saw the family four times (invented).",
                           "key_practitioners": "Health visitor (invented)", "attendees": "Dr Hal Health"},
                       files=[("documents", ("information-health.pdf", PDF, "application/pdf"))])
        for code in agencies:
            if code != "HEALTH":
                cig(env, "return", reference, "--agency", code, "--nil")

        # a demo cannot wait the days to the meeting: the administrator brings it forward, inside the window
        soon = (now() + timedelta(minutes=2)).astimezone(calendar.zone).replace(second=0, microsecond=0)
        cig(env, "meeting", "move", meeting_at.astimezone(calendar.zone).date().isoformat(),
            soon.strftime("%Y-%m-%dT%H:%M"), "--reason", "brought forward: the partners can meet today (demo)")
        wait_for("the meeting's start", lambda: now() >= soon + timedelta(seconds=5), seconds=240)

        # the rapid review meeting's record: the recommendation and what the Panel's rapid review needs
        from casework.forms import recommendation_form
        from flows.people import submit_step

        fields = rules.rapid_review_document.fields if rules.rapid_review_document else None
        form = recommendation_form(fields).model_validate({
            "outcome": "scr", "rationale": "Agencies held information they did not share (invented).",
            **({"facts_established": "A four-month-old baby boy, seriously injured at home (invented).",
                "immediate_action": "A child protection plan for the baby's sibling (invented).",
                "learning_so_far": "Health visiting did not hear of police call-outs (invented).",
                "national_review": "No issue of national importance identified."} if fields else {})})
        print("$ (the administrator) records the rapid review meeting's record and its recommendation (an LCSPR)")
        done = asyncio.run(submit_step(office, reference, "recommendation", form,
                                       actor="the administrator, for the rapid review meeting"))
        print(f"  recorded; the case is now {done.stage.value.replace('_', ' ')}")

        # each safeguarding partner decides from the link in their own email
        for key, address in partners.items():
            browser.submit(key, "agrees with the recommendation, from the link in their email",
                           needed_link(env, address, "recommendation"), {
                               "response": "agree", "rationale": "The criteria for an LCSPR are met (invented).",
                               "national_importance": "false"})
        wait_for("the partners' decision", lambda: the_case(env, reference)["stage"] in ("decided", "closed"))
        print()
        cig(env, "referral", "show", reference)
        print()
        state = asyncio.run(panel_reply(reference, calendar.local_date(now())))
        print(f"$ (the administrator) records the Panel's reply on the record-panel-reply form: it agrees -> {state}")
        if state != "COMPLETED":
            raise RuntimeError(f"the record-panel-reply run ended {state}")

        # the LCSPR, kept on the business manager's task list
        wait_for("the LCSPR's commissioning", lambda: review_show(env, reference))
        tasks = needed_link(env, contacts.business_manager.email, "commissioned")
        bm, day = "the business manager", calendar.local_date(now()).isoformat()
        browser.submit(bm, "records the reviewer appointed, from the task list in the commissioned email",
                       f"{tasks}/task/appointment", {
                           "reviewer": "Rowan Reviewer (invented)", "kind": "independent", "independent_of_agencies": "true",
                           **on("appointed_on", day), "appointed_by": "the safeguarding partners"})
        shown = wait_for("the LCSPR under way", lambda: (r := review_show(env, reference)) and r["stage"] == "under_way" and r)
        browser.submit(bm, "records the terms of reference and scope", f"{tasks}/task/terms", {
            "terms_of_reference": "How health and social care shared information (invented).",
            "scope": "The four months before the incident; every agency involved.", **on("agreed_on", day)})
        for milestone in shown["milestones"]:
            try:
                browser.submit(bm, f"records the milestone '{milestone.get('label', milestone['code'])}' done",
                               f"{tasks}/task/milestone-{milestone['code']}", {**on("done_on", day), "by": "Bo Business"})
            except RuntimeError as refused:
                print(f"  ({refused})")
        browser.submit(bm, "records the family's involvement complete", f"{tasks}/task/family",
                       {"involvement": "complete", **on("on", day)})
        for kind, filename in (("draft_report", "Draft report.pdf"), ("final_report", "Final report.pdf")):
            browser.submit(bm, f"uploads {filename}", f"{tasks}/task/drafts", {"kind": kind},
                           files=[("document", (filename, PDF, "application/pdf"))])
        signed = False
        for key, address in partners.items():  # each partner's own link, where the sign-off pages send them
            link = mail_with_link(env, address, "sign", wait=20)
            if link is None:
                break
            browser.submit(key, "signs off the final report, from "
                           "the link in their email", link, {"result": "ratified", **on("on", day)})
            signed = True
        if not signed:
            browser.submit(bm, "records the safeguarding partners' sign-off of the final report",
                           f"{tasks}/task/ratification-safeguarding_partners", {"result": "ratified", **on("on", day)})

        # the full report to the Panel and the Secretary of State, at least 7 working days before publication
        from casework.clocks import earliest_publication_date

        publication_on = earliest_publication_date(calendar.local_date(now()), rules.clocks["pre_publication_notice"],
                                                   calendar)
        browser.submit(bm, f"sends the full final report to the Panel and the Secretary of State, to be published on "
                       f"{publication_on:%A %-d %B %Y}", f"{tasks}/task/full-report", on("publication_on", publication_on.isoformat()))

        # publication on that day: the one step the demo dates ahead (it cannot wait 7 working days)
        from casework.review import actions as review_actions
        from casework.review.forms import ReviewPublicationForm
        from flows.review import wake_review_run

        published_at = datetime.combine(publication_on, datetime.min.time().replace(hour=10),
                                        tzinfo=calendar.zone).astimezone(timezone.utc)
        print(f"$ (the business manager, on {publication_on:%A %-d %B %Y}) records the publication with the partners' "
              "response")
        review_actions.publish_review(office, reference, ReviewPublicationForm.model_validate({
            "published_on": publication_on.isoformat(), "link": "https://southshire-scp.example.org/reviews/lcspr-1",
            "response_link": "https://southshire-scp.example.org/reviews/lcspr-1-response", "themes": ["neglect"]},
            context={"today": publication_on}), now=published_at, actor="the business manager")
        from casework.delivery import deliver_pending

        asyncio.run(deliver_pending(office, reference=reference))
        asyncio.run(wake_review_run(office, reference))
        print()
        cig(env, "review", "show", reference)
        print()
        cig(env, "timeline", reference)
        print()
        from casework.store import cases as store

        def all_sent() -> bool:
            with office.sessions() as session:
                case = store.get_case(session, reference=reference)
                return all(m.status == "sent" for m in store.messages_for(session, case_id=case.id))

        wait_for("every message of the case to be sent", all_sent)
        mails = json.loads(cig(env, "mail", "--json"))
        cig(env, "mail")
    except RuntimeError as failure:
        print(f"demo: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        browser.close()
    met, words = clocks_line(office, reference)
    print(f"demo: {len(mails)} messages delivered under wt2023, the rapid review sent to the Panel, the LCSPR published; "
          f"{words}")
    return 0 if met else 1


def main() -> int:
    from cli.stack import ServiceStopped, StackRefused, running_stack

    os.environ["CIG_PARTNERSHIP_FILE"] = str(PARTNERSHIP)
    home = Path(os.environ.get("CIG_DEMO_HOME", PROJECT / "var" / "demo-wt2023"))
    if home.exists():
        import shutil

        shutil.rmtree(home)
    try:
        with running_stack(home, 4270, 8145) as env:
            print(f"Prefect UI: {env['PREFECT_API_URL'].removesuffix('/api')}  (Working Together 2023, "
                  f"{PARTNERSHIP.name}; SIGTERM or Ctrl-C stops everything)", flush=True)
            return run_wt2023_demo(env)
    except (StackRefused, ServiceStopped) as stopped:
        print(stopped, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

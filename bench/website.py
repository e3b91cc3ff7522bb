"""The secure website under 20 people submitting at once: section 6 of `make bench`, or alone with
`python -m bench.website` (which prints the section).

Three measurements, each with `--people` (20) people at the same moment, `--rounds` times:

- an agency's CIGINF1 return: from its browser sending the form (with a one-page PDF) to receiving the
  confirmation page (the return recorded in the case database, its documents sealed, its receipt and the
  administrator's notice sent);
- the independent chair's decision: from the browser sending the form to the SMTP server accepting the
  case's Ofsted notice (the time the server's mailbox records it received);
- a review's pages (issue 20), each from the personal link in the email its person received: every page shown
  (the business manager's task list, a task's form, the CIG chair's ratification page, an action lead's page),
  from asking for it to receiving it; and every submit confirmed (the terms of reference on the task list, the
  CIG's ratification, the action recorded done with a one-page PDF of evidence), from sending the form to
  receiving the confirmation page (after a task list's redirect, the list that says what was recorded).

The website and the mail server run as `make up` runs them (cli.stack): the website in its own process, started
with the stack's command and environment (`website_command`, `stack_env`), the SMTP server (`cig mailserver`,
aiosmtpd) in another; the bench process sets up the cases (through casework's actions, on the same SQLite case
database) and drives the website over HTTP with httpx, as browsers would. The cases have no Prefect run: waking a
run happens after the page is sent (a background task) and is not on either path measured. Needs nothing
running; writes nothing outside a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import yaml

from bench.measure import Spread
from cli.stack import (
    BIN, free_port, service_name, stack_env, stop_processes, stopping_on_signals, wait_until_serving, website_command,
)

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "referral.yaml"
LINK = re.compile(r"(https?://[^\s/]+/link/[A-Za-z0-9_-]{43})")
TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{64})"')
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> "
       b"endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\nxref\n0 4\n"
       b"0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
       b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")  # a one-page PDF, its cross-reference table counted
RETURN_LIMIT, DECISION_LIMIT = 1.0, 2.0
PAGE_LIMIT, SUBMIT_LIMIT = 0.3, 1.0  # issue 20: a new page, a new page's submit (p95)


def _open(home: Path) -> tuple:  # type: ignore[type-arg]
    """The example partnership's office on its own SQLite file, for this process to set up cases and read mail;
    its SMTP server and its website each started as the stack starts them, in a process of their own."""
    import casework.store
    from casework.office import open_office

    for name in [n for n in os.environ if n.startswith("CIG_")]:
        del os.environ[name]
    mail_port = free_port(0)
    env = stack_env(home, free_port(0), mail_port)  # no Prefect server: these cases have no run to wake
    env["CIG_SMTP_TIMEOUT_SECONDS"] = "10"
    website = website_command(env)  # sets CIG_WEBSITE_URL, on a port the kernel gives
    os.environ.update({name: value for name, value in env.items() if name.startswith("CIG_")})
    casework.store._factory.cache_clear()
    office = open_office()  # migrates the case database before the website opens it
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command, port in (("mailserver", [str(BIN / "cig"), "mailserver", "--port", str(mail_port)], mail_port),
                                    ("website", website, int(website[website.index("--port") + 1]))):
            with (logs / f"{name}.log").open("ab") as out:
                processes.append(subprocess.Popen(command, env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            wait_until_serving(processes[-1], port, service_name(name), logs / f"{name}.log", 60)
    except BaseException:
        stop_processes(processes)
        raise
    return office, processes


def _mail(office, to: str, subject_part: str, reference: str):  # type: ignore[no-untyped-def]
    from notifications.mailbox import read_mailbox

    return [m for m in read_mailbox(office.settings.mail_dir)
            if to in m.to and subject_part in m.subject and m.key.strip().startswith(f"{reference}:")]  # (a long key
    # header is folded: read back, it starts with a space)


async def _listed_cases(office, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`count` referrals accepted and listed, CIGINF1 sent to every agency (through casework.referral.actions)."""
    from casework.referral import actions
    from casework.delivery import deliver_pending
    from casework.forms import ReferralForm, ScreeningForm

    now = datetime.now(timezone.utc)
    references = []
    for _ in range(count):
        form = ReferralForm.model_validate(yaml.safe_load(EXAMPLE.read_text()), context={"today": now.date()})
        reference = actions.submit_referral(office, form, now=now, actor="bench").reference
        actions.record_screening(office, reference, ScreeningForm(
            outcome="accept", decided_by="Casey Chair", independent_chair_consulted=True), now=now, actor="bench")
        actions.list_and_request_information(office, reference, now=now)
        references.append(reference)
        await deliver_pending(office, reference=reference)
    return references


async def _recommended(office, references: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Every return in and the group's recommendation (an SCR) recorded and sent to the independent chair."""
    from casework.referral import actions
    from casework.delivery import deliver_pending
    from casework.forms import AgencyReturnForm, RecommendationForm
    from casework.store import cases as store

    now = datetime.now(timezone.utc)
    for reference in references:
        with office.sessions() as session:
            case = store.get_case(session, reference=reference)
            outstanding = [r.agency for r in case.requests if r.round == case.round and r.status == "outstanding"]
            meeting_at = case.meeting_at
        for code in outstanding:
            actions.record_return(office, reference, AgencyReturnForm(agency=code, status="nil"), now=now, actor="bench")
        actions.record_recommendation(office, reference, RecommendationForm(outcome="scr", rationale="5(2)(b)(ii) met"),
                                      now=max(now, meeting_at + timedelta(minutes=1)), actor="bench")
        await deliver_pending(office, reference=reference)


async def _opened(browser: httpx.AsyncClient, link: str) -> str:
    page = await browser.get(link)
    page.raise_for_status()
    return TOKEN.search(page.text).group(1)  # type: ignore[union-attr]


async def returns_round(office, people: int) -> list[float]:  # type: ignore[no-untyped-def]
    """`people` agencies (one per case) post their CIGINF1 at once: seconds from sending to the confirmation."""
    references = await _listed_cases(office, people)
    police = office.partnership.agency("POL").contact.email
    links = [LINK.search(_mail(office, police, "(CIGINF1)", r)[0].text()).group(1) for r in references]  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=office.settings.website_url, timeout=60) as browser:
        tokens = [await _opened(browser, link) for link in links]

        async def post(link: str, token: str) -> float:
            started = time.perf_counter()
            done = await browser.post(link, data={
                "status": "returned", "involvement": "Two home visits; a referral to early help.",
                "key_practitioners": "PC Ash Example", "attendees": "DI Pat Police", "form_token": token},
                files=[("documents", ("CIGINF1 police.pdf", PDF, "application/pdf"))])
            took = time.perf_counter() - started
            if done.status_code != 200 or "Return recorded" not in done.text:
                raise RuntimeError(f"a return was not recorded: {done.status_code}")
            return took

        return list(await asyncio.gather(*(post(link, token) for link, token in zip(links, tokens))))


async def decisions_round(office, people: int) -> list[float]:  # type: ignore[no-untyped-def]
    """`people` independent chairs (one per case) post their decision at once: seconds from sending to the SMTP
    server accepting the case's Ofsted notice."""
    references = await _listed_cases(office, people)
    await _recommended(office, references)
    chair = office.partnership.contacts.independent_chair.email
    ofsted = office.partnership.contacts.ofsted.email
    links = [LINK.search(_mail(office, chair, "recommendation", r)[0].text()).group(1) for r in references]  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=office.settings.website_url, timeout=60) as browser:
        tokens = [await _opened(browser, link) for link in links]
        sent: dict[str, datetime] = {}

        async def post(reference: str, link: str, token: str) -> None:
            sent[reference] = datetime.now(timezone.utc)
            done = await browser.post(link, data={
                "response": "affirm", "decision": "scr", "rationale": "Regulation 5(2)(b)(ii) is met.",
                "decided_by": "Indra Independent", "form_token": token})
            if done.status_code != 200 or "Decision recorded" not in done.text:
                raise RuntimeError(f"a decision was not recorded: {done.status_code}")

        await asyncio.gather(*(post(r, link, token) for r, link, token in zip(references, links, tokens)))
    took = []
    for reference in references:
        deadline = time.monotonic() + 120
        while not (received := _mail(office, ofsted, "", reference)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{reference}: no Ofsted notice within 120 s")
            await asyncio.sleep(0.2)
        took.append((received[0].received_at - sent[reference]).total_seconds())
    return took


async def _reviews_under_way(office, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`count` cases decided for a Serious Case Review, each review commissioned, its lead reviewer appointed, one
    action in its plans and its draft report uploaded, every email sent (the business manager's "commissioned",
    the action lead's notice and the CIG chair's "drafts ready" each carry a link)."""
    from casework.delivery import deliver_pending
    from casework.forms import DecisionForm
    from casework.learning.actions import add_actions
    from casework.learning.forms import ActionForm
    from casework.referral import actions
    from casework.review import actions as review_actions
    from casework.review.forms import AppointmentForm, ReviewDocumentForm
    from website.review_pages import record_document

    references = await _listed_cases(office, count)
    await _recommended(office, references)
    now = datetime.now(timezone.utc)
    for reference in references:
        actions.record_decision(office, reference, DecisionForm(
            response="affirm", decision="scr", rationale="Regulation 5(2)(b)(ii) is met.", decided_by="Indra Independent"),
            now=now, actor="bench")
        review_actions.commission_review(office, reference, now=now)
        review_actions.appoint_reviewer(office, reference, AppointmentForm(
            reviewer="Rowan Reviewer", kind="independent", independent_of_agencies=True, appointed_on=now.date(),
            appointed_by="Review group"), now=now, actor="bench")
        add_actions(office, reference, [ActionForm.model_validate({
            "plan": "multi_agency", "finding": "Information was not shared between health and social care.",
            "action": "Audit 20 assessments for information sharing.", "agency": "CSC", "lead_name": "Ash Lead",
            "lead_email": "ash.lead@example.org", "target_on": (now + timedelta(days=120)).date().isoformat(),
            "evidence_of_impact": "The audit's results, before and after."}, context={"today": now.date()})],
            now=now, actor="bench")
        record_document(office, reference, ReviewDocumentForm(kind="draft_report"), now=now, actor="bench",
                        filename="Draft report.pdf", data=PDF)
        await deliver_pending(office, reference=reference)
    return references


REVIEW_PAGES = ("The business manager's review task list", "A task's form (the terms of reference)",
                "The CIG chair's ratification page", "An action lead's page")
REVIEW_SUBMITS = ("The terms of reference, on the task list", "The CIG's ratification",
                  "An action recorded done, with a one-page PDF of evidence")


async def review_round(office, people: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """`people` reviews (one per case), their people at once: each page of REVIEW_PAGES opened by all at the same
    moment (seconds from asking to receiving the page), then each submit of REVIEW_SUBMITS posted by all at the
    same moment (seconds from sending to receiving the confirmation page)."""
    references = await _reviews_under_way(office, people)
    contacts = office.partnership.contacts
    manager, chair = contacts.business_manager.email, contacts.cig_chair.email

    def link(to: str, subject_part: str, reference: str) -> str:
        return LINK.search(_mail(office, to, subject_part, reference)[0].text()).group(1)  # type: ignore[union-attr]

    tasks = [link(manager, "commissioned", r) for r in references]
    ratify = [link(chair, "drafts ready", r) for r in references]
    lead = [link("ash.lead@example.org", "named lead", r) for r in references]
    today = datetime.now(timezone.utc).date()
    on = {"day": str(today.day), "month": str(today.month), "year": str(today.year)}
    took: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=office.settings.website_url, timeout=60) as browser:
        async def shown(url: str, needle: str) -> float:
            started = time.perf_counter()
            page = await browser.get(url)
            spent = time.perf_counter() - started
            if page.status_code != 200 or needle not in page.text:
                raise RuntimeError(f"a review page did not open: {page.status_code} {url.rsplit('/', 1)[-1]}")
            return spent

        for title, urls, needle in zip(REVIEW_PAGES, (tasks, [f"{t}/task/terms" for t in tasks], ratify, lead), (
                "Record the terms of reference", "Terms of reference and scope", "Ratify the review", "Learning action 1")):
            took[title] = list(await asyncio.gather(*(shown(url, needle) for url in urls)))

        async def submitted(url: str, data: dict[str, str], needle: str,
                            files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> float:
            token = await _opened(browser, url)  # the page is open before the clock starts, as a person's is
            started = time.perf_counter()
            done = await browser.post(url, data={**data, "form_token": token}, files=files)
            if done.status_code == 303:  # back to the list, which says what was recorded
                done = await browser.get(done.headers["location"])
            spent = time.perf_counter() - started
            if done.status_code != 200 or needle not in done.text:
                raise RuntimeError(f"a review submit was not confirmed: {done.status_code} {url.rsplit('/', 1)[-1]}")
            return spent

        terms = {"terms_of_reference": "How health and social care shared information.", "scope": "The four months "
                 "before the incident.", **{f"agreed_on-{part}": value for part, value in on.items()}}
        ratified = {"result": "ratified", **{f"on-{part}": value for part, value in on.items()}}
        evidence = {"evidence": "The audit of 20 assessments is done; its results are attached."}
        took[REVIEW_SUBMITS[0]] = list(await asyncio.gather(*(
            submitted(f"{t}/task/terms", terms, "Terms of reference recorded") for t in tasks)))
        took[REVIEW_SUBMITS[1]] = list(await asyncio.gather(*(
            submitted(r, ratified, "Drafts ratified") for r in ratify)))
        took[REVIEW_SUBMITS[2]] = list(await asyncio.gather(*(
            submitted(f"{a}/report/done", evidence, "Action recorded done",
                      [("evidence_files", ("Audit.pdf", PDF, "application/pdf"))]) for a in lead)))
    return took


def section(returns: Spread, decisions: Spread, people: int, rounds: int, seconds: float,
            review: dict[str, Spread] | None = None) -> str:
    """The results as the markdown section docs/performance.md carries."""
    def verdict(spread: Spread, limit: float) -> str:
        return f"**met** (p95 {spread.p95:.2f} s < {limit:.0f} s)" if spread.p95 < limit else \
            f"**not met** (p95 {spread.p95:.2f} s ≥ {limit:.0f} s)"

    return "\n".join([
        f"## 6. A person's step on the secure website, {people} at once",
        "",
        f"`python -m bench.website --people {people} --rounds {rounds}` ({seconds:.0f} s). The website served by "
        "uvicorn in its own process, as `make up` starts it, driven over HTTP by httpx as a browser posts; SQLite "
        "case database; the aiosmtpd SMTP server in a process of its own (`cig mailserver`); "
        f"{people} people post at the same moment, {rounds} round(s). A step is recorded in the case database "
        "at once (flows.people.record_step); the decision's notices are sent before its page, an agency's "
        "receipt right after its page; the case's run is woken after the page is sent, so Prefect is on "
        f"neither path (the cases here have no run). The {people} browsers share the bench's own process. "
        "A review's people (issue 20) each open their page from the "
        "link in their email, all at the same moment: a page is timed from asking for it to receiving it; a submit "
        "from sending the form (its page already open) to receiving the confirmation page, a task list's redirect "
        "to the list followed.",
        "",
        "| Path | Median, p95, range | Target |",
        "|---|---|---|",
        f"| An agency's CIGINF1 return (one PDF), submit to confirmation page | {returns.text()} | "
        f"p95 under {RETURN_LIMIT:.0f} s: {verdict(returns, RETURN_LIMIT)} |",
        f"| The independent chair's decision, submit to the Ofsted notice accepted by the SMTP server | "
        f"{decisions.text()} | p95 under {DECISION_LIMIT:.0f} s: {verdict(decisions, DECISION_LIMIT)} |",
        *review_rows(review or {}),
        "",
    ])


def review_rows(review: dict[str, Spread]) -> list[str]:
    """The review's pages and submits as rows of section 6's table (issue 20's targets)."""
    def verdict(spread: Spread, limit: float) -> str:
        shown = f"p95 {spread.p95 * 1000:.0f} ms" if limit < 1 else f"p95 {spread.p95:.2f} s"
        return f"**met** ({shown})" if spread.p95 < limit else f"**not met** ({shown})"

    return [f"| {title}, page shown | {review[title].text()} | p95 under {PAGE_LIMIT * 1000:.0f} ms: "
            f"{verdict(review[title], PAGE_LIMIT)} |" for title in REVIEW_PAGES if title in review] + \
        [f"| {title}, submit to confirmation page | {review[title].text()} | p95 under {SUBMIT_LIMIT:.0f} s: "
         f"{verdict(review[title], SUBMIT_LIMIT)} |" for title in REVIEW_SUBMITS if title in review]


def review_met(review: dict[str, Spread]) -> bool:
    return all(review[t].p95 < PAGE_LIMIT for t in REVIEW_PAGES if t in review) and \
        all(review[t].p95 < SUBMIT_LIMIT for t in REVIEW_SUBMITS if t in review)


async def measure(people: int, rounds: int) -> tuple[Spread, Spread, dict[str, Spread]]:
    """The returns', the decisions' and the review's pages' and submits' spreads, over `rounds` rounds."""
    home = Path(tempfile.mkdtemp(prefix="cig-bench-website-"))
    office, processes = _open(home)
    try:
        returns, decisions = [], []
        review: dict[str, list[float]] = {}
        for _ in range(rounds):
            returns += await returns_round(office, people)
            decisions += await decisions_round(office, people)
            for title, values in (await review_round(office, people)).items():
                review.setdefault(title, []).extend(values)
        return Spread.of(returns), Spread.of(decisions), {title: Spread.of(values) for title, values in review.items()}
    finally:
        stop_processes(processes)
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="The secure website with people submitting at once.")
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    started = time.monotonic()
    with stopping_on_signals():  # SIGTERM, as Ctrl-C, stops the website and the mail server it started
        returns, decisions, review = asyncio.run(measure(arguments.people, arguments.rounds))
    print(section(returns, decisions, arguments.people, arguments.rounds, time.monotonic() - started, review))
    return 0 if returns.p95 < RETURN_LIMIT and decisions.p95 < DECISION_LIMIT and review_met(review) else 1


if __name__ == "__main__":
    raise SystemExit(main())

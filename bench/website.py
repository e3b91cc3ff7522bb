"""The secure website under 20 people submitting at once: section 6 of `make bench`, or alone with
`python -m bench.website` (which prints the section).

Two measurements, each with `--people` (20) people posting at the same moment, `--rounds` times:

- an agency's CIGINF1 return: from its browser sending the form (with a one-page PDF) to receiving the
  confirmation page (the return recorded in the case database, its documents sealed, its receipt and the
  administrator's notice sent);
- the independent chair's decision: from the browser sending the form to the SMTP server accepting the
  case's Ofsted notice (the time the server's mailbox records it received).

The website is served by uvicorn on a local port and driven over HTTP with httpx, as a browser would; the
case database is SQLite and the SMTP server aiosmtpd (notifications.mailbox), both on this machine. The
cases have no Prefect run: waking a run happens after the page is sent (a background task) and is not on
either path measured. Needs nothing running; writes nothing outside a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import uvicorn
import yaml

from bench.measure import Spread

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "referral.yaml"
LINK = re.compile(r"(https?://[^\s/]+/link/[A-Za-z0-9_-]{43})")
TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{64})"')
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> "
       b"endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\nxref\n0 4\n"
       b"0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
       b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")  # a one-page PDF, its cross-reference table counted
RETURN_LIMIT, DECISION_LIMIT = 1.0, 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _open(home: Path, website_port: int):  # type: ignore[no-untyped-def]
    """The example partnership's office on its own SQLite file and SMTP server, and the website serving it."""
    import casework.store
    from casework.office import open_office
    from notifications.mailbox import start_mailbox
    from website.app import create_app

    mail_port = free_port()
    mailbox = start_mailbox(home / "mail", port=mail_port)
    for name in [n for n in os.environ if n.startswith("CIG_")]:
        del os.environ[name]
    os.environ.update(CIG_HOME=str(home), CIG_SMTP_PORT=str(mail_port), CIG_SMTP_TIMEOUT_SECONDS="10",
                      CIG_WEBSITE_URL=f"http://127.0.0.1:{website_port}")
    casework.store._factory.cache_clear()
    office = open_office()
    server = uvicorn.Server(uvicorn.Config(create_app(office), host="127.0.0.1", port=website_port, access_log=False,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return office, mailbox, server, thread


def _mail(office, to: str, subject_part: str, reference: str):  # type: ignore[no-untyped-def]
    from notifications.mailbox import read_mailbox

    return [m for m in read_mailbox(office.settings.mail_dir)
            if to in m.to and subject_part in m.subject and m.key.startswith(f"{reference}:")]


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


def section(returns: Spread, decisions: Spread, people: int, rounds: int, seconds: float) -> str:
    """The results as the markdown section docs/performance.md carries."""
    def verdict(spread: Spread, limit: float) -> str:
        return f"**met** (p95 {spread.p95:.2f} s < {limit:.0f} s)" if spread.p95 < limit else \
            f"**not met** (p95 {spread.p95:.2f} s ≥ {limit:.0f} s)"

    return "\n".join([
        f"## 6. A person's step on the secure website, {people} at once",
        "",
        f"`python -m bench.website --people {people} --rounds {rounds}` ({seconds:.0f} s). The website served by "
        "uvicorn, driven over HTTP by httpx as a browser posts; SQLite case database; aiosmtpd SMTP server; "
        f"{people} people post at the same moment, {rounds} round(s). A step is recorded in the case database "
        "at once (flows.people.record_step); the decision's notices are sent before its page, an agency's "
        "receipt right after its page; the case's run is woken after the page is sent, so Prefect is on "
        "neither path (the cases here have no run). The website, the SMTP server and the "
        f"{people} browsers share one Python process.",
        "",
        "| Path | Median, p95, range | Target |",
        "|---|---|---|",
        f"| An agency's CIGINF1 return (one PDF), submit to confirmation page | {returns.text()} | "
        f"p95 under {RETURN_LIMIT:.0f} s: {verdict(returns, RETURN_LIMIT)} |",
        f"| The independent chair's decision, submit to the Ofsted notice accepted by the SMTP server | "
        f"{decisions.text()} | p95 under {DECISION_LIMIT:.0f} s: {verdict(decisions, DECISION_LIMIT)} |",
        "",
    ])


async def measure(people: int, rounds: int) -> tuple[Spread, Spread]:
    home = Path(tempfile.mkdtemp(prefix="cig-bench-website-"))
    office, mailbox, server, thread = _open(home, free_port())
    try:
        returns, decisions = [], []
        for _ in range(rounds):
            returns += await returns_round(office, people)
            decisions += await decisions_round(office, people)
        return Spread.of(returns), Spread.of(decisions)
    finally:
        server.should_exit = True
        thread.join(10)
        mailbox.stop()
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="The secure website with people submitting at once.")
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    started = time.monotonic()
    returns, decisions = asyncio.run(measure(arguments.people, arguments.rounds))
    print(section(returns, decisions, arguments.people, arguments.rounds, time.monotonic() - started))
    return 0 if returns.p95 < RETURN_LIMIT and decisions.p95 < DECISION_LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""`make demo`: one referral through every step, the people simulated by `cig` commands, and one agency
answering its CIGINF1 on the secure website over HTTP, as a browser would; then its review, in its own
run, through to publication and the case's closure, kept on the secure website by its people over HTTP, each
from the personal link in the email the mail server received: the agencies' engagement, the business manager's
task list, the CIG's, the executive group's and the board's ratification pages, the action lead's evidence.

Prints the case timeline and the messages sent; exits non-zero if any step or message is missing.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CIG = str(Path(sys.executable).parent / "cig")


def cig(env: dict[str, str], *args: str) -> str:
    """`cig ARGS` as a person types it, with `env` as its environment: the same parsing, output and
    refusals, run in this process (a process per command cost a second of imports, and the demo
    gives some sixty commands). Raises RuntimeError with what `cig` said when it fails."""
    from click.testing import CliRunner
    from prefect.context import SettingsContext, get_settings_context
    from prefect.settings import Settings as PrefectSettings

    from cli.main import main

    if "--json" not in args:
        print(f"$ cig {' '.join(args)}", flush=True)
    argv = sys.argv
    with CliRunner().isolation(env=env) as (out, err, _), \
            SettingsContext(profile=get_settings_context().profile, settings=PrefectSettings()):
        sys.argv = [CIG, *args]  # (Prefect's settings above: this environment's, as a new process reads them)
        try:
            main()
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        finally:
            sys.argv = argv
    stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    if code != 0:
        raise RuntimeError(f"`cig {' '.join(args)}` failed: {stderr.strip() or stdout.strip()}")
    if stdout.strip() and "--json" not in args:
        print("  " + stdout.strip().replace("\n", "\n  "))
    return stdout


def expected_messages(reference: str, agencies: list[str], members: int) -> int:
    # referral notices; the SIN to Ofsted, the chairs and the business manager; acceptance to the
    # referrer and listing to the BM and administrator; CIGINF1s; the extraordinary meeting to its
    # `members`; CIGSUM1 to the chair; Ofsted + Panel + referrer; the decision to the CIG chair and BM
    # and the receipt to the agency that answered on the website, and the administrator's notice of it
    return 4 + 4 + 3 + len(agencies) + members + 1 + 3 + 2 + 2


PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> "
       b"endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >> endobj\nxref\n0 4\n"
       b"0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \n"
       b"trailer << /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n")  # an invented CIGINF1


def answer_on_the_website(env: dict[str, str], address: str, involvement: str) -> None:
    """One agency returns its CIGINF1 on the secure website as a browser would: the personal link from the
    email the mail server received, the page, the form posted with its document (over HTTP)."""
    import re

    import httpx

    from notifications.mailbox import read_mailbox

    deadline = time.monotonic() + 120
    while not (requests := [m for m in read_mailbox(Path(env["CIG_HOME"]) / "mail")
                            if address in m.to and "(CIGINF1)" in m.subject]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no CIGINF1 reached {address} within 120 s")
        time.sleep(1)
    found = re.search(r"https?://\S+/link/[A-Za-z0-9_-]{43}", requests[0].text())
    if found is None:
        raise RuntimeError(f"the CIGINF1 to {address} carries no personal link")
    link = found.group(0)
    print(f"$ (a browser) open the link in the CIGINF1 to {address}, fill in the return, upload CIGINF1.pdf, send",
          flush=True)
    with httpx.Client(timeout=180) as http:
        page = http.get(link)
        token = re.search(r'name="form_token" value="([0-9a-f]{64})"', page.text)
        if page.status_code != 200 or token is None:
            raise RuntimeError(f"the return page did not open ({page.status_code})")
        done = http.post(link, headers={"Origin": env.get("CIG_WEBSITE_URL", "")}, data={
            "status": "returned", "involvement": involvement, "key_practitioners": "Health visitor (invented)",
            "attendees": "Dr Hale Health", "form_token": token.group(1)},
            files=[("documents", ("CIGINF1-health.pdf", PDF, "application/pdf"))])
    if done.status_code != 200 or "Return recorded" not in done.text:
        raise RuntimeError(f"the website did not record the return ({done.status_code})")
    print("  Return recorded (the confirmation page); a receipt is emailed")


def review_messages(partnership) -> int:  # type: ignore[no-untyped-def]
    """What the review sends (the lead reviewer named at the decision, so no appointment notice): its plan to
    the business manager and its commencement to the members; the action's notice to its named lead; the drafts
    ready to the CIG's chair; each ratification's outcome to the business manager and the body the drafts go to
    next, and the board's to the training officer (the learning to write up); the publication to the business
    manager and the members."""
    members = len(partnership.agencies) + 2
    contacts = partnership.contacts
    return (1 + members) + 1 + 1 + (3 + (contacts.executive_group is not None) + (contacts.board is not None)
                                    + (contacts.training_officer is not None)) + (1 + members)


def review_show(env: dict[str, str], reference: str) -> dict | None:  # type: ignore[type-arg]
    try:
        return json.loads(cig(env, "review", "show", reference, "--json"))
    except RuntimeError:  # no review yet
        return None


LINK = r"https?://\S+/link/[A-Za-z0-9_-]{43}"


def link_in_mail(env: dict[str, str], address: str, subject_part: str) -> str:
    """The personal link in the first email to `address` whose subject holds `subject_part`, as the mail server
    received it (waiting up to 120 s for it to arrive)."""
    import re

    from notifications.mailbox import read_mailbox

    deadline = time.monotonic() + 120
    while not (mails := [m for m in read_mailbox(Path(env["CIG_HOME"]) / "mail")
                         if address in m.to and subject_part in m.subject]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no email '{subject_part}' reached {address} within 120 s")
        time.sleep(1)
    found = re.search(LINK, mails[0].text())
    if found is None:
        raise RuntimeError(f"the email '{mails[0].subject}' to {address} carries no personal link")
    return found.group(0)


def on(name: str, day: str) -> dict[str, str]:
    """A date field as the website's form posts it: day, month and year apart."""
    year, month, day_of_month = day.split("-")
    return {f"{name}-day": str(int(day_of_month)), f"{name}-month": str(int(month)), f"{name}-year": year}


class Browser:
    """A person at a browser on the secure website: opens a page (a personal link, or a form under it), then
    posts its form with the page's form token from the site's own origin, as the page's button does."""

    def __init__(self, env: dict[str, str]) -> None:
        import httpx

        self.origin = env.get("CIG_WEBSITE_URL", "")
        self.http = httpx.Client(timeout=180)

    def submit(self, who: str, did: str, url: str, data: dict[str, str],
               files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> str:
        """Open `url`, post its form with `data` (and `files`), and return the confirmation page's text; says
        what `who` did and what the website answered. Raises RuntimeError with the page's error summary."""
        import html
        import re

        print(f"$ (a browser) {who}: {did}", flush=True)
        page = self.http.get(url)
        token = re.search(r'name="form_token" value="([0-9a-f]{64})"', page.text)
        if page.status_code != 200 or token is None:
            raise RuntimeError(f"{who}: the page {url.split('/link/')[-1][44:] or 'of the link'} did not open "
                               f"({page.status_code})")
        done = self.http.post(url, headers={"Origin": self.origin}, data={**data, "form_token": token.group(1)},
                              files=files or None)
        if done.status_code == 303:  # a task list's form: back to the list, which says what was recorded
            done = self.http.get(str(done.url.join(done.headers["location"])))
        summary = re.search(r'govuk-error-summary.*?</ul>', done.text, re.S)
        if done.status_code != 200 or summary is not None:
            words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", summary.group(0) if summary else "")).split())
            raise RuntimeError(f"{who}: the website refused it ({done.status_code}) {words}".strip())
        heading = re.search(r'govuk-(?:panel__title|notification-banner__heading)[^>]*>(.*?)</', done.text, re.S) \
            or re.search(r"<h1[^>]*>(.*?)</h1>", done.text, re.S)
        said = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", heading.group(1))).split()) if heading else "done"
        print(f"  {said}")
        return done.text

    def close(self) -> None:
        self.http.close()


def review_on_the_website(env: dict[str, str], reference: str, shown: dict, agencies: list[str]) -> None:  # type: ignore[type-arg]
    """The review as its people keep it on the secure website, each from the link in the email they received:
    the agencies confirm their engagement, the business manager keeps the task list (groups, terms, milestones,
    the family, the drafts, the publication), the CIG, the executive group and the board ratify on their
    pages, and the action's named lead records it done with its evidence."""
    from config.partnership import load_partnership
    from config.settings import Settings

    partnership = load_partnership(Settings().partnership_file)
    contacts = partnership.contacts
    today = time.strftime("%Y-%m-%d")
    browser = Browser(env)
    try:
        for code in agencies:
            contact = partnership.agency(code).contact
            browser.submit(f"{code}'s member", "confirms the agency's engagement, from the commencement email",
                           link_in_mail(env, contact.email, "please confirm your engagement"),
                           {"confirmed_by": f"{code} member (invented)"})
        manager = contacts.business_manager.email
        tasks = link_in_mail(env, manager, "commissioned")
        bm = "the business manager"
        browser.submit(bm, "adds a review group member, from the task list in the commissioned email",
                       f"{tasks}/task/review-group", {
                           "name": "Harper Headofservice (invented)", "agency": "CSC", "role": "Head of Service",
                           "email": "h.headofservice@example.org"})
        browser.submit(bm, "adds a case group member", f"{tasks}/task/case-group", {
            "name": "Quinn Healthvisitor (invented)", "agency": "HEALTH", "role": "Health visitor",
            "email": "q.healthvisitor@example.org"})
        browser.submit(bm, "records the terms of reference and scope", f"{tasks}/task/terms", {
            "terms_of_reference": "How health and social care shared information (invented).",
            "scope": "The four months before the incident; every agency involved.", **on("agreed_on", today)})
        for milestone in shown["milestones"]:
            browser.submit(bm, f"records the milestone '{milestone.get('label', milestone['code'])}' done",
                           f"{tasks}/task/milestone-{milestone['code']}", {**on("done_on", today), "by": "Bailey Manager"})
        browser.submit(bm, "records the family's involvement complete", f"{tasks}/task/family",
                       {"involvement": "complete", **on("on", today)})
        # the training officer records the action plan's action (an office task), and its lead is told by email
        target = time.strftime("%Y-%m-%d", time.localtime(time.time() + 30 * 86400))
        cig(env, "action", "add", reference, "--plan", "multi_agency",
            "--finding", "Health visitors did not hear of the police call-outs (invented).",
            "--action", "Add health visiting to the daily domestic abuse triage.", "--agency", "HEALTH",
            "--lead-name", "Ash Lead (invented)", "--lead-email", "ash.lead@example.org", "--target", target,
            "--evidence-of-impact", "Triage minutes show health visiting at 9 in 10 meetings.", "--by", "Bailey Manager")
        for kind, filename in (("draft_report", "Draft report.pdf"), ("action_plans", "Action plans.pdf")):
            browser.submit(bm, f"uploads {filename}", f"{tasks}/task/drafts", {"kind": kind},
                           files=[("document", (filename, PDF, "application/pdf"))])
        if contacts.cig_chair is not None:
            browser.submit("the CIG's chair", "ratifies the draft report, from the 'drafts ready' email",
                           link_in_mail(env, contacts.cig_chair.email, "drafts ready"),
                           {"result": "ratified", **on("on", today)})
        else:
            browser.submit(bm, "records the CIG's ratification", f"{tasks}/task/ratification-cig",
                           {"result": "ratified", **on("on", today)})
        if contacts.executive_group is not None:
            browser.submit("the executive group", "ratifies the drafts and action plans, from the email that the CIG "
                           "ratified", link_in_mail(env, contacts.executive_group.email, "ratified"),
                           {"result": "ratified", **on("on", today)})
        else:
            browser.submit(bm, "records the executive group's ratification",
                           f"{tasks}/task/ratification-executive_group", {"result": "ratified", **on("on", today)})
        browser.submit(bm, "uploads Final report.pdf", f"{tasks}/task/drafts", {"kind": "final_report"},
                       files=[("document", ("Final report.pdf", PDF, "application/pdf"))])
        if contacts.board is not None:
            browser.submit("the partnership board", "ratifies the final report, from the email that the executive "
                           "group ratified", link_in_mail(env, contacts.board.email, "ratified by the executive group"),
                           {"result": "ratified", **on("on", today)})
        else:
            browser.submit(bm, "records the board's ratification", f"{tasks}/task/ratification-board",
                           {"result": "ratified", **on("on", today)})
        browser.submit("the action's named lead", "records the action done with its evidence, from the email that "
                       "it is theirs", f"{link_in_mail(env, 'ash.lead@example.org', 'named lead')}/report/done",
                       {"evidence": "Triage minutes for November show health visiting at every meeting (invented)."},
                       files=[("evidence_files", ("Triage minutes.pdf", PDF, "application/pdf"))])
        browser.submit(bm, "records the publication of the final report with the partnership's response",
                       f"{tasks}/task/publication", {
                           **on("published_on", today), "link": "https://northshire-scp.example.org/reviews/scr-1",
                           "response_link": "https://northshire-scp.example.org/reviews/scr-1-response",
                           "themes": "neglect"})
    finally:
        browser.close()


def continue_into_the_review(env: dict[str, str], reference: str, agencies: list[str]) -> None:
    """The decision started the review's own run, review-<REFERENCE>: its people keep it on the secure website
    (review_on_the_website) through to publication, and the case closes. Prints the case's timeline through the
    review."""
    deadline = time.monotonic() + 120
    while (shown := review_show(env, reference)) is None or shown["stage"] != "under_way":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the review of {reference} was not commissioned within 120 s")
        time.sleep(1)
    review_on_the_website(env, reference, shown, agencies)
    deadline = time.monotonic() + 120
    while (shown := review_show(env, reference)) is None or shown["case_status"] != "closed":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{reference} did not close after its review was published")
        time.sleep(1)
    print()
    cig(env, "review", "show", reference)
    print()
    cig(env, "timeline", reference)
    print()


def run_demo(env: dict[str, str]) -> int:
    from casework.meetings.rescheduling import change_recipients
    from config.partnership import load_partnership
    from config.settings import Settings

    partnership = load_partnership(Settings().partnership_file)
    agencies = [a.code for a in partnership.agencies]
    try:
        reference = json.loads(cig(env, "referral", "submit", str(PROJECT / "examples" / "referral.yaml"), "--json"))["reference"]
        print(f"  -> {reference}")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as notification:
            notification.write("Infant admitted with unexplained head injuries; police investigation opened (invented).")
        cig(env, "sin", "record", reference, "--completed-on", time.strftime("%Y-%m-%d"), "--by", "Sam Unit",
            "--text-file", notification.name)
        cig(env, "screen", reference, "--accept", "--by", "Casey Chair and Bailey Manager")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as involvement:
            involvement.write("Health visitor saw the family on four occasions; last contact three weeks before the incident.")
        for code in agencies:
            if code == "HEALTH":  # answers on the secure website, from the link in its CIGINF1 email
                answer_on_the_website(env, partnership.agency(code).contact.email,
                                      Path(involvement.name).read_text(encoding="utf-8"))
            else:
                cig(env, "return", reference, "--agency", code, "--nil")
        # the group meets at once (an extraordinary meeting): the recommendation is refused before its meeting
        cig(env, "meeting", "add", "now", "--reason", "a further date to meet set (demo)", "--list", reference)
        cig(env, "recommend", reference, "--outcome", "scr", "--rationale",
            "Serious harm, abuse suspected, and information was not shared between health and social care.")
        cig(env, "decide", reference, "--affirm", "--decision", "scr", "--by", "Indra Independent",
            "--rationale", "Regulation 5(2)(b)(ii) is met.", "--lead-reviewer", "Rowan Reviewer (invented)")
        deadline = time.monotonic() + 120
        while next(c for c in json.loads(cig(env, "referral", "list", "--json")) if c["reference"] == reference)["stage"] != "decided":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{reference} did not reach 'decided' within 120 s")
            time.sleep(1)
        print()
        cig(env, "referral", "show", reference)
        print()
        continue_into_the_review(env, reference, agencies)
        expected = expected_messages(reference, agencies, len(change_recipients(partnership))) \
            + review_messages(partnership)
        deadline = time.monotonic() + 120
        while len(mails := json.loads(cig(env, "mail", "--json"))) < expected and time.monotonic() < deadline:
            time.sleep(1)
        cig(env, "mail")
    except RuntimeError as failure:
        print(f"demo: FAILED: {failure}", file=sys.stderr)
        return 1
    subjects = [m["subject"] for m in mails]
    missing = [what for what, needle in (("Ofsted notice", "Notice to Ofsted"), ("National Panel notice", "National Panel"),
                                         ("referrer's decision", "Decision on your referral")) if not any(needle in s for s in subjects)]
    if len(mails) != expected or missing:
        print(f"demo: FAILED: {len(mails)} messages delivered, expected {expected}; missing: {', '.join(missing) or 'none'}",
              file=sys.stderr)
        return 1
    print(f"demo: {len(mails)} messages delivered, decision recorded, the review published and the case closed "
          "(the review kept on the website by its people)")
    return 0

"""`make demo`: one referral through every step, the people simulated by `cig` commands, and one agency
answering its CIGINF1 on the secure website over HTTP, as a browser would; then its review, in its own
run, through to publication and the case's closure.

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
    the business manager and its commencement to the members; each ratification's outcome to the business
    manager and the body the drafts go to next; the publication to the business manager and the members."""
    members = len(partnership.agencies) + 2
    contacts = partnership.contacts
    return (1 + members) + (3 + (contacts.executive_group is not None) + (contacts.board is not None)) + (1 + members)


def review_show(env: dict[str, str], reference: str) -> dict | None:  # type: ignore[type-arg]
    try:
        return json.loads(cig(env, "review", "show", reference, "--json"))
    except RuntimeError:  # no review yet
        return None


def continue_into_the_review(env: dict[str, str], reference: str, agencies: list[str]) -> None:
    """The decision started the review's own run, review-<REFERENCE>: the agencies confirm their engagement,
    the groups, terms and milestones are recorded, the drafts are ratified, the report published, and the
    case closes. Prints the case's timeline through the review."""
    today = time.strftime("%Y-%m-%d")
    deadline = time.monotonic() + 120
    while (shown := review_show(env, reference)) is None or shown["stage"] != "under_way":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the review of {reference} was not commissioned within 120 s")
        time.sleep(1)
    for code in agencies:
        cig(env, "review", "engage", reference, "--agency", code, "--by", f"{code} member (invented)")
    cig(env, "review", "member", reference, "--group", "review", "--name", "Harper Headofservice (invented)",
        "--agency", "CSC", "--role", "Head of Service", "--email", "h.headofservice@example.org")
    cig(env, "review", "member", reference, "--group", "case", "--name", "Quinn Healthvisitor (invented)",
        "--agency", "HEALTH", "--role", "Health visitor", "--email", "q.healthvisitor@example.org")
    cig(env, "review", "terms", reference, "--terms", "How health and social care shared information (invented).",
        "--scope", "The four months before the incident; every agency involved.")
    for milestone in shown["milestones"]:
        cig(env, "review", "milestone", reference, "--stage", milestone["code"], "--done-on", today, "--by", "Bailey Manager")
    cig(env, "review", "family", reference, "--complete-on", today)
    for body in ("cig", "executive_group", "board"):
        cig(env, "review", "ratify", reference, "--by", body)
    cig(env, "review", "publish", reference, "--on", today, "--link", "https://northshire-scp.example.org/reviews/scr-1",
        "--response-link", "https://northshire-scp.example.org/reviews/scr-1-response", "--theme", "neglect")
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
    print(f"demo: {len(mails)} messages delivered, decision recorded, the review published and the case closed")
    return 0

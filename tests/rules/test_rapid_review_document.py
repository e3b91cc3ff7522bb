"""wt2023: the rapid review sent to the Child Safeguarding Practice Review Panel. The notice of the decision carries
the rapid review as a Word document whose sections follow the Panel's rapid review template, in the rule set's
words, and never names the child (ages and relationships only, even where a rationale typed at the meeting names
them); the email says what is attached and has no empty line. The Panel's reply is a checked choice."""

from __future__ import annotations

import base64
import dataclasses
import io
from datetime import date, datetime, timezone

import pytest
from docx import Document

from casework.clocks import LONDON
from casework.referral.messages import CaseFile, decision_notices
from casework.referral.panel import PanelReply, anonymised, check_panel_reply, rapid_review_sections
from config.partnership import load_partnership
from config.rulesets import RuleSet, load_ruleset, retired_word_in
from config.settings import CONFIG_DIR
from notifications.render import render

PARTNERSHIP = load_partnership(CONFIG_DIR / "partnership.wt2023.example.yaml")
WT2023 = load_ruleset("wt2023")
CHILD = "Zephyrine Quillfeather-Testcase"
TEMPLATE_ORDER = [
    "The facts as readily established",
    "Agencies involved",
    "Immediate action taken to keep children safe",
    "Learning identified so far",
    "The criteria for a local child safeguarding practice review considered, and the decision",
    "Whether a national review may be appropriate",
    "Sign-off by the safeguarding partners",
]


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=LONDON).astimezone(timezone.utc)


DECIDED = CaseFile(
    reference="NSCP-2026-0007", regime="wt2023", referring_agency="HEALTH", notified_on=date(2026, 11, 16),
    referred_at=local(2026, 11, 18),
    facts={"abuse_or_neglect_suspected": True, "child_died": False, "seriously_harmed": True,
           "concern_about_joint_working": True, "looked_after": False},
    child_name=CHILD, child_date_of_birth=date(2019, 2, 17), child_date_of_death=None,
    significant_people=[{"name": "Jordan Testparent", "date_of_birth": "1990-05-01", "relationship": "mother"},
                        {"name": "Lee Testpartner", "date_of_birth": None, "relationship": "mother's partner"}],
    referrer_email="named-nurse@example.org", round=1, meeting_at=local(2026, 12, 1),
    recommendation="scr", recommendation_rationale="Zephyrine was known to three agencies; Jordan Testparent "
    "asked for help twice.",
    chair_response="affirm", decision="scr", decided_at=local(2026, 12, 3, 15),
    decision_rationale="Concerns about how the agencies worked together around Zephyrine Quillfeather-Testcase.",
    decided_by="the safeguarding partners", signed_off_by=("Avery Authority (local authority)",
                                                           "Imani Board (integrated care board)",
                                                           "Parker Police (police)"),
    deadlines={"rapid_review_notice": local(2026, 12, 7, 23)},
    agencies=(("POL", "returned"), ("CSC", "returned"), ("EDU", "nil")),
    rapid_review={"immediate_action": "A child protection plan for the sibling, aged 4.",
                  "learning_so_far": "Information about the mother's partner was not shared at the strategy meeting."},
)


def rapid_review_of(case: CaseFile, rules: RuleSet = WT2023):
    [notice] = [m for m in decision_notices(case, PARTNERSHIP, rules) if m.template == "rapid_review_notice"]
    return notice


def docx_text(attachment: dict[str, str]) -> tuple[list[str], str]:
    document = Document(io.BytesIO(base64.b64decode(attachment["content"])))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    return headings, "\n".join(p.text for p in document.paragraphs)


def test_the_rapid_review_is_a_word_document_in_the_order_of_the_panels_template() -> None:
    notice = rapid_review_of(DECIDED)

    [document] = notice.attachments
    assert document["filename"] == "rapid-review-NSCP-2026-0007.docx"
    assert document["content_type"].endswith("wordprocessingml.document")
    headings, text = docx_text(document)
    assert headings == TEMPLATE_ORDER
    assert "The child, aged 7, has been seriously harmed." in text
    assert "Southshire Police: gave its information to the rapid review" in text
    assert "A child protection plan for the sibling, aged 4." in text
    assert "Avery Authority (local authority), Imani Board (integrated care board), Parker Police (police)" in text
    assert retired_word_in(text, WT2023.retired_words) is None


def test_the_rapid_review_never_names_the_child_even_where_a_rationale_does() -> None:
    _, text = docx_text(rapid_review_of(DECIDED).attachments[0])
    mail = render(rapid_review_of(DECIDED))

    for part in (text, mail.subject, mail.text, mail.html):
        for piece in (CHILD, "Zephyrine", "Quillfeather", "Testparent", "2019-02-17", "17 February 2019"):
            assert piece not in part
    assert "the child was known to three agencies; the child's mother asked for help twice." in text


def test_a_section_with_nothing_recorded_says_so() -> None:
    case = dataclasses.replace(DECIDED, rapid_review=None, agencies=())

    sections = {s.key: s.paragraphs for s in rapid_review_sections(case, PARTNERSHIP, WT2023)}

    for key in ("agencies", "immediate_action", "learning", "national_review"):
        assert sections[key] == ("Not recorded at the rapid review meeting.",)


def test_the_email_says_what_is_attached_in_the_rule_sets_words_with_no_empty_line() -> None:
    mail = render(rapid_review_of(DECIDED))

    assert mail.subject == ("[NSCP-2026-0007] Rapid review and decision on a local child safeguarding practice "
                            "review: LCSPR initiated")
    assert "The rapid review is attached as a Word document" in mail.text
    assert "Attached: rapid-review-NSCP-2026-0007.docx" in mail.text
    assert "- Immediate action taken to keep children safe" in mail.text
    assert "Lead reviewer" not in mail.text
    assert not [line for line in mail.text.splitlines() if line.rstrip().endswith((": .", ":", "()"))
                and not line.startswith("Attached")]
    assert retired_word_in(mail.text + mail.html, WT2023.retired_words) is None


def test_under_wt2015_the_panel_notice_carries_no_rapid_review() -> None:
    case = dataclasses.replace(DECIDED, regime="wt2015", lead_reviewers=["Rowan Reviewer"])

    panel = [m for m in decision_notices(case, PARTNERSHIP, load_ruleset("wt2015")) if m.template == "panel_notice"]

    assert [m.attachments for m in panel] == [()]


def test_a_full_name_reads_as_one_relationship() -> None:
    assert anonymised("Seen by Jordan Testparent (Zephyrine's mother).", DECIDED) == (
        "Seen by the child's mother (the child's mother).")


@pytest.mark.parametrize("reply", [PanelReply.disagrees, PanelReply.asks_for_more])
def test_a_disagreement_or_a_request_for_more_needs_what_the_panel_said(reply: PanelReply) -> None:
    with pytest.raises(ValueError, match="^reasons: "):
        check_panel_reply(reply, "  ")
    check_panel_reply(reply, "The Panel asks for the health chronology.")
    check_panel_reply(PanelReply.agrees, None)


def test_the_sign_off_names_who_acted_for_each_partner_that_agreed_and_the_national_question() -> None:
    case = dataclasses.replace(DECIDED, signed_off_by=("local_authority", "icb", "police"), national_importance=True)

    sections = {s.key: s.paragraphs for s in rapid_review_sections(case, PARTNERSHIP, WT2023)}

    [signed] = sections["sign_off"]
    assert signed.startswith("Decided on 3 December 2026 by Del Director (")
    assert "Nia Nurse (" in signed and "Cal Constable (" in signed
    assert sections["national_review"][-1] == ("The decision records that the case may raise issues of national "
                                               "importance.")


def test_the_rapid_review_meeting_records_for_the_panel_under_wt2023_only_in_the_rule_sets_words() -> None:
    from flows.forms import RecommendationInput, recommendation_input
    from tests.rules.test_run_form_words import broken_rules

    wt2015 = recommendation_input(load_ruleset("wt2015"))
    wt2023 = recommendation_input(WT2023)
    schema = wt2023.model_json_schema()
    schema["definitions"] = schema.pop("$defs", {})

    assert wt2015 is RecommendationInput and "immediate_action" not in wt2015.model_fields
    assert list(broken_rules(schema)) == []
    fields = schema["properties"]
    assert fields["immediate_action"]["description"].startswith("Immediate action taken to keep children safe")
    assert "immediate_action" not in schema.get("required", [])
    assert retired_word_in(" ".join(f.get("description", "") for name, f in fields.items()
                                    if name in WT2023.rapid_review_document.fields), WT2023.retired_words) is None

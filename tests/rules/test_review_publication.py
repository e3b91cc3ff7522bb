"""The review type a manager reads on the tracker, in the words of the case's regime, and the
publication form (date, link, learning shared, themes) that must never name the child.

Pure functions only: cases are built in memory, never stored. Every name here is invented.
"""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from casework.forms import PublicationForm, check_publication_is_anonymous
from casework.store.tables import Case
from casework.oversight.tracker import COLUMNS, review_type
from config.rulesets import load_ruleset

WT2015 = load_ruleset("wt2015").terms
WT2023 = load_ruleset("wt2023").terms
LCSPR = "local child safeguarding practice review (LCSPR)"
TODAY = date(2027, 5, 28)
CHILD = ["Zephyrine Quillfeather-Testcase", "Jordan Testparent"]
BORN = [date(2019, 2, 17)]


def case(regime: str, *, stage: str = "decided", screening: str | None = "accept", decision: str | None = None) -> Case:
    return Case(reference="NSCP-2026-0007", regime=regime, stage=stage, screening=screening, decision=decision)


def publication(**changes: object) -> PublicationForm:
    data: dict[str, object] = {"published_on": "2027-05-27", "link": "https://northshire-scp.example.org/reviews/lcspr-7",
                               "learning_shared": "7-minute briefing; practitioner seminars", "themes": ["neglect"]}
    data.update(changes)
    return PublicationForm.model_validate(data, context={"today": TODAY})


@pytest.mark.parametrize(
    ("regime", "built", "expected"),
    [
        ("wt2023", case("wt2023", stage="awaiting_screening", screening=None), (None, None)),
        ("wt2023", case("wt2023", stage="awaiting_returns"), ("rapid review", None)),
        ("wt2023", case("wt2023", decision="scr"), (LCSPR, "rapid review")),
        ("wt2023", case("wt2023", decision="no_review"), ("no review", None)),
        ("wt2023", case("wt2023", stage="declined", screening="decline"), ("declined at screening", None)),
        ("wt2015", case("wt2015", stage="awaiting_returns"), (None, None)),
        ("wt2015", case("wt2015", decision="scr"), ("Serious Case Review", None)),
        ("wt2015", case("wt2015", decision="individual_agency_review"), ("individual agency review", None)),
    ],
)
def test_the_review_type_is_named_in_the_regimes_words(regime: str, built: Case, expected: tuple[str | None, str | None]) -> None:
    assert review_type(built, WT2023 if regime == "wt2023" else WT2015) == expected


def test_under_wt2023_a_review_is_never_called_a_serious_case_review() -> None:
    for decision in ("scr", "critical_case_review", "multi_agency_concise_review", "no_review"):
        kind, _ = review_type(case("wt2023", decision=decision), WT2023)
        assert kind is not None and "Serious Case Review" not in kind


def test_the_tracker_has_every_column_of_the_process() -> None:
    headings = {c.heading for c in COLUMNS}
    for heading in ("Reference", "Status", "Date notified", "Date referred", "Referring agency", "Stage", "Review type",
                    "Converted from", "Decision", "Date decided", "Ofsted notice", "Panel notice", "Lead reviewer",
                    "Abuse or vulnerability themes", "Date published", "Publication link", "How learning was shared"):
        assert heading in headings, heading


def test_the_publication_form_keeps_each_theme_once_and_refuses_bad_input() -> None:
    form = publication(themes=["neglect", "Neglect", "domestic abuse"])
    assert form.themes == ["neglect", "domestic abuse"] and form.published_on == date(2027, 5, 27)
    for changes, field in (({"published_on": "2027-06-01"}, "published_on"), ({"link": "javascript:alert(1)"}, "link"),
                           ({"link": "https://example.org/a b"}, "link"), ({"themes": ["line\nbreak"]}, "themes"),
                           ({"themes": ["x" * 81]}, "themes"), ({"themes": ["t"] * 13}, "themes")):
        with pytest.raises(ValidationError) as refused:
            publication(**changes)
        assert field in str(refused.value), changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"learning_shared": "Briefing on Zephyrine's case"}, "learning_shared"),
        ({"learning_shared": "what agencies knew of jordan testparent"}, "learning_shared"),
        ({"themes": ["born 17/02/2019"]}, "themes"),
        ({"themes": ["neglect", "17 February 2019"]}, "themes"),
        ({"link": "https://example.org/reviews/quillfeather-testcase"}, "link"),
        ({"link": "https://example.org/reviews/2019-02-17"}, "link"),
    ],
)
def test_the_publication_never_names_the_child_or_gives_a_date_of_birth(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_publication_is_anonymous(publication(**changes), CHILD, BORN)
    message = str(refused.value)
    assert message.startswith(f"{field}:")
    assert "Zephyrine" not in message and "Testparent" not in message and "2019" not in message


def test_an_anonymous_publication_passes() -> None:
    check_publication_is_anonymous(publication(themes=["neglect", "non-accidental injury"]), CHILD, BORN)

"""Which criteria the recorded facts meet: regulation 5(2) and the mandatory-SCR deaths (PROCESS.md, "The criteria")."""

from __future__ import annotations

import pytest

from casework.referral.criteria import indicate_criteria
from casework.forms import CaseFacts


def facts(**values: object) -> CaseFacts:
    return CaseFacts.model_validate(values)


def criterion(indication, prefix: str):  # type: ignore[no-untyped-def]
    return next(c for c in indication.criteria if c.name.startswith(prefix))


def test_death_in_custody_meets_the_mandatory_condition_on_its_own() -> None:
    indication = indicate_criteria(
        facts(abuse_or_neglect_suspected=False, child_died=True, died_in_custody_or_detention=True)
    )

    assert indication.mandatory_scr is True
    assert indication.serious_case is False  # 5(2)(a) is not met, and it does not matter
    assert indication.summary.startswith("An SCR should always be carried out")
    assert "death in custody" in criterion(indication, "mandatory").reason


@pytest.mark.parametrize(
    "flag", ["died_in_custody_or_detention", "detained_under_mental_health_act", "deprivation_of_liberty_16_17"]
)
def test_each_mandatory_condition_needs_the_child_to_have_died(flag: str) -> None:
    died = indicate_criteria(facts(abuse_or_neglect_suspected=False, child_died=True, **{flag: True}))
    alive = indicate_criteria(facts(abuse_or_neglect_suspected=False, child_died=False, **{flag: True}))

    assert died.mandatory_scr is True
    assert alive.mandatory_scr is False


def test_death_with_abuse_suspected_is_a_serious_case() -> None:
    indication = indicate_criteria(facts(abuse_or_neglect_suspected=True, child_died=True))

    assert indication.serious_case is True
    assert indication.mandatory_scr is False
    assert criterion(indication, "5(2)(b)(i)").met is True
    assert "meet regulation 5(2)" in indication.summary


def test_serious_harm_with_concern_about_joint_working_is_a_serious_case() -> None:
    indication = indicate_criteria(
        facts(abuse_or_neglect_suspected=True, child_died=False, seriously_harmed=True, concern_about_joint_working=True)
    )

    assert indication.serious_case is True
    assert criterion(indication, "5(2)(b)(ii)").met is True


def test_serious_harm_without_concern_about_joint_working_does_not_meet_b_ii() -> None:
    indication = indicate_criteria(
        facts(abuse_or_neglect_suspected=True, child_died=False, seriously_harmed=True, concern_about_joint_working=False)
    )

    b_ii = criterion(indication, "5(2)(b)(ii)")
    assert b_ii.met is False
    assert "no concern" in b_ii.reason
    assert indication.serious_case is False
    assert "do not meet regulation 5(2)" in indication.summary


def test_serious_harm_with_joint_working_unknown_is_not_yet_clear() -> None:
    indication = indicate_criteria(
        facts(abuse_or_neglect_suspected=True, child_died=False, seriously_harmed=True, concern_about_joint_working=None)
    )

    assert criterion(indication, "5(2)(b)(ii)").met is None
    assert indication.serious_case is None
    assert "unless it is clear there are no concerns" in indication.summary
    assert "5(2)(b)(ii) serious harm and concern about joint working: **not yet clear**" in indication.as_markdown()


@pytest.mark.parametrize(
    "others",
    [
        {"child_died": True},
        {"child_died": False, "seriously_harmed": True, "concern_about_joint_working": True},
        {"child_died": False, "seriously_harmed": True, "concern_about_joint_working": None},
    ],
)
def test_no_abuse_or_neglect_suspected_is_not_a_serious_case(others: dict) -> None:
    indication = indicate_criteria(facts(abuse_or_neglect_suspected=False, **others))

    assert indication.serious_case is False
    assert criterion(indication, "5(2)(a)").met is False
    assert indication.must_refer_looked_after is False


def test_no_death_and_no_serious_harm_is_not_a_serious_case() -> None:
    indication = indicate_criteria(facts(abuse_or_neglect_suspected=True, child_died=False))

    assert indication.serious_case is False
    assert criterion(indication, "5(2)(b)(ii)").reason == "no serious harm recorded"


@pytest.mark.parametrize(
    ("values", "must_refer"),
    [
        ({"abuse_or_neglect_suspected": True, "child_died": True, "looked_after": True}, True),
        ({"abuse_or_neglect_suspected": True, "child_died": False, "seriously_harmed": True, "looked_after": True}, True),
        ({"abuse_or_neglect_suspected": False, "child_died": True, "looked_after": True}, False),
        ({"abuse_or_neglect_suspected": True, "child_died": False, "looked_after": True}, False),
        ({"abuse_or_neglect_suspected": True, "child_died": True, "looked_after": False}, False),
    ],
)
def test_looked_after_child_meeting_the_first_conditions_must_be_referred(values: dict, must_refer: bool) -> None:
    indication = indicate_criteria(facts(**values))

    assert indication.must_refer_looked_after is must_refer
    assert criterion(indication, "looked-after").met is must_refer


def test_the_markdown_shows_every_criterion_with_its_reason_and_says_it_is_advice() -> None:
    text = indicate_criteria(facts(abuse_or_neglect_suspected=True, child_died=True)).as_markdown()

    assert text.startswith("**Criteria indication** (advice, not the decision)")
    assert text.count("\n- ") == 5
    assert "5(2)(b)(i) the child has died: **met** (the child has died)" in text

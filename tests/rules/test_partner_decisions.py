"""Who decides the case is the rule set's data (issue 19 items 1 and 4): the deciding step, its deciders as the
partnership file names them (each partner by its delegate, else its lead; a distinct person each), whether each
answers for themselves, who the decision's advice tells, and the advice beside the decision (the LCSPR criteria
under wt2023, never the decision). Pure: no database, no clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.forms import CaseFacts
from casework.referral.criteria import CriteriaIndication, LcsprIndication, criteria_indication, indicate_lcspr_criteria
from casework.referral.messages import decision_told
from config.partnership import load_partnership
from config.rulesets import RuleSet, load_ruleset
from tests.rules.test_participants import WT2015_EXAMPLE, WT2023_EXAMPLE, edited

WT2015, WT2023 = load_ruleset("wt2015"), load_ruleset("wt2023")


def test_the_independent_chair_decides_alone_under_wt2015_and_each_acting_partner_answers_under_wt2023() -> None:
    assert (WT2015.decision_step, WT2015.deciding.decided_jointly) == ("decision", False)
    assert (WT2023.decision_step, WT2023.deciding.decided_jointly) == ("rapid_review", True)
    assert {k: c.email for k, c in load_partnership(WT2015_EXAMPLE).deciders().items()} == {
        "independent_chair": "independent-chair@example.org"}
    assert {k: c.email for k, c in load_partnership(WT2023_EXAMPLE).deciders().items()} == {
        "local_authority": "director-childrens-services@example.org",  # the delegate acts
        "icb": "icb-chief-nurse@example.org",
        "police": "chief-constable@example.org"}  # no delegate: the lead acts


def test_a_further_partner_is_a_decider_too(tmp_path: Path) -> None:
    education = {"organisation": "Southshire Schools (invented)", "lead": {"name": "Ed Lead", "email": "ed@example.org"}}
    partnership = load_partnership(edited(WT2023_EXAMPLE, tmp_path,
                                          lambda d: d["safeguarding_partners"].update(education=education)))
    assert sorted(partnership.deciders()) == ["education", "icb", "local_authority", "police"]
    assert not WT2023.deciding.quorum_reached(3, len(partnership.deciders()))


def test_the_decisions_advice_tells_the_deciding_steps_told_but_the_referrer_and_the_notices_recipients() -> None:
    wt2015 = load_partnership(WT2015_EXAMPLE)
    assert [c.email for c in decision_told(wt2015, WT2015)] == ["cig-chair@example.org", "business-manager@example.org"]
    wt2023 = load_partnership(WT2023_EXAMPLE)
    assert [c.email for c in decision_told(wt2023, WT2023)] == [
        "independent-scrutineer@example.org", "partnership-manager@example.org",
        "director-childrens-services@example.org", "icb-chief-nurse@example.org", "chief-constable@example.org"]


def test_a_rule_set_whose_decision_step_is_not_a_step_is_refused() -> None:
    with pytest.raises(ValueError, match="decision_step: 'verdict' is not a step of this rule set"):
        RuleSet.model_validate({**WT2023.model_dump(), "decision_step": "verdict"})


FACTS = {"abuse_or_neglect_suspected": True, "child_died": False, "seriously_harmed": True}


@pytest.mark.parametrize(("changes", "incident", "together", "summary"), [
    ({"concern_about_joint_working": True}, True, True, "suggest a criterion for a local child safeguarding"),
    ({"concern_about_joint_working": None}, True, None, "do not settle the criteria"),
    ({"concern_about_joint_working": False}, True, False, "do not settle the criteria"),
    ({"abuse_or_neglect_suspected": False}, False, None, "do not describe a serious child safeguarding incident"),
])
def test_the_lcspr_advice_says_what_the_recorded_facts_suggest(changes: dict, incident: bool, together: bool | None,
                                                               summary: str) -> None:
    advice = indicate_lcspr_criteria(CaseFacts.model_validate(FACTS | changes))
    assert advice.incident.met is incident
    assert advice.criteria[2].met is together
    assert summary in advice.summary
    assert "advice, not the decision" in advice.as_markdown()


def test_national_importance_is_suggested_only_by_a_death_in_custody_or_detention() -> None:
    died = FACTS | {"child_died": True, "died_in_custody_or_detention": True}
    assert indicate_lcspr_criteria(CaseFacts.model_validate(died)).national_importance.met is True
    assert indicate_lcspr_criteria(CaseFacts.model_validate(FACTS)).national_importance.met is None


def test_each_rule_set_reads_the_facts_against_its_own_criteria() -> None:
    facts = CaseFacts.model_validate(FACTS)
    assert isinstance(criteria_indication(facts, WT2015.criteria_advice), CriteriaIndication)
    advice = criteria_indication(facts, WT2023.criteria_advice)
    assert isinstance(advice, LcsprIndication)
    assert "regulation" not in advice.as_markdown().lower() and "SCR" not in advice.as_markdown()

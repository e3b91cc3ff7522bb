"""Who takes part is the rule set's data (issue 19, item 1) and its words are the rule set's terms (item 2): the
partnership file names the people a regime needs, and a file that lacks one is refused at load, naming the role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.loading import ConfigurationError
from config.partnership import Contact, Contacts, load_partnership
from config.rulesets import RuleSet, load_ruleset, retired_word_in
from config.settings import CONFIG_DIR

WT2015_EXAMPLE = CONFIG_DIR / "partnership.example.yaml"
WT2023_EXAMPLE = CONFIG_DIR / "partnership.wt2023.example.yaml"
WT2015, WT2023 = load_ruleset("wt2015"), load_ruleset("wt2023")
OLD_WORDS = ["Serious Case Review", "SCR", "LSCB", "independent chair", "Critical Incident Group", "CIG",
             "regulation 5(2)", "National Panel"]


def edited(example: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "partnership.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_partnership(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: invalid configuration"), "the refusal names the file"
    return message


# --- item 1: the regime decides who takes part ------------------------------------------------------------

def test_the_wt2023_example_names_the_three_partners_the_scrutineer_and_the_department() -> None:
    partnership = load_partnership(WT2023_EXAMPLE)

    assert partnership.rules().name == "wt2023"
    assert partnership.role("local_authority") == [Contact(name="Del Director", email="director-childrens-services@example.org")]
    assert partnership.role("police") == [Contact(name="Cal Constable", email="chief-constable@example.org")], \
        "a partner with no delegate is acted for by its lead"
    assert [c.name for c in partnership.role("safeguarding_partners")] == ["Del Director", "Nia Nurse", "Cal Constable"]
    assert [c.name for c in partnership.lead_safeguarding_partners] == ["Lou Chief", "Ira Care", "Cal Constable"]
    assert partnership.role("independent_scrutineer")[0].email == "independent-scrutineer@example.org"
    assert partnership.role("secretary_of_state")[0].email == "dfe-reviews@example.org"
    assert partnership.contacts.independent_chair is None and partnership.contacts.cig_chair is None


def test_a_wt2015_partnership_file_without_any_wt2023_section_loads_as_before(tmp_path: Path) -> None:
    def as_before(data: dict[str, Any]) -> None:
        data.pop("safeguarding_partners")
        data["contacts"].pop("independent_scrutineer")
        data["contacts"].pop("secretary_of_state")

    partnership = load_partnership(edited(WT2015_EXAMPLE, tmp_path, as_before))

    assert partnership.rules().name == "wt2015"
    assert partnership.safeguarding_partners == {}
    assert partnership.role("independent_chair")[0].email == "independent-chair@example.org"
    assert partnership.role("cig")[0].email == "cig-chair@example.org", "the CIG is reached through its chair"
    assert partnership.role("executive_group")[0].email == "executive-group@example.org"


@pytest.mark.parametrize(("role", "remove", "named"), [
    ("police", lambda d: d["safeguarding_partners"].pop("police"),
     "safeguarding_partners.police: the rule set wt2023 needs the chief officer of police (police), "
     "and this file does not name them"),
    ("icb", lambda d: d["safeguarding_partners"].pop("icb"),
     "safeguarding_partners.icb: the rule set wt2023 needs the integrated care board (icb)"),
    ("local_authority", lambda d: d["safeguarding_partners"].pop("local_authority"),
     "safeguarding_partners.local_authority: the rule set wt2023 needs the local authority (local_authority)"),
    ("independent_scrutineer", lambda d: d["contacts"].pop("independent_scrutineer"),
     "contacts.independent_scrutineer: the rule set wt2023 needs the independent scrutineer (independent_scrutineer)"),
    ("secretary_of_state", lambda d: d["contacts"].pop("secretary_of_state"),
     "contacts.secretary_of_state: the rule set wt2023 needs the Secretary of State (Department for Education)"),
])
def test_a_wt2023_file_that_lacks_a_role_is_refused_at_load_naming_the_role(
        tmp_path: Path, role: str, remove: Callable[[dict[str, Any]], None], named: str) -> None:
    assert named in refusal(edited(WT2023_EXAMPLE, tmp_path, remove))


@pytest.mark.parametrize(("key", "title"), [
    ("independent_chair", "the independent chair"),
    ("cig_chair", "the chair of the Critical Incident Group"),
    ("safeguarding_unit_manager", "the safeguarding unit manager"),
    ("ofsted", "Ofsted"),
])
def test_a_wt2015_file_that_lacks_a_role_is_refused_at_load_naming_the_role(tmp_path: Path, key: str, title: str) -> None:
    message = refusal(edited(WT2015_EXAMPLE, tmp_path, lambda d: d["contacts"].pop(key)))

    assert f"contacts.{key}: the rule set wt2015 needs {title}" in message


def test_the_wt2015_example_moved_to_wt2023_loads_and_the_wt2023_example_moved_back_is_refused(tmp_path: Path) -> None:
    assert load_partnership(WT2015_EXAMPLE, ruleset="wt2023").role("icb")[0].email == "icb-safeguarding@example.org"

    message = refusal(edited(WT2023_EXAMPLE, tmp_path, lambda d: d.update(ruleset="wt2015")))
    assert "contacts.cig_chair: the rule set wt2015 needs the chair of the Critical Incident Group" in message


def test_a_further_partner_takes_part_wherever_the_safeguarding_partners_do(tmp_path: Path) -> None:
    education = {"organisation": "Southshire Schools (invented)", "lead": {"name": "Ed Lead", "email": "ed@example.org"}}
    partnership = load_partnership(edited(
        WT2023_EXAMPLE, tmp_path, lambda d: d["safeguarding_partners"].update(education=education)))

    assert WT2023.step("rapid_review").decides == ["safeguarding_partners"]
    assert "ed@example.org" in [c.email for c in partnership.role("safeguarding_partners")]
    assert len(partnership.role("safeguarding_partners")) == 4
    assert "ed@example.org" in partnership.addresses


@pytest.mark.parametrize("key", ["Education", "local-authority", "x"])
def test_a_badly_formed_partner_key_is_refused(tmp_path: Path, key: str) -> None:
    partner = {"organisation": "An invented body", "lead": {"name": "A Lead", "email": "lead@example.org"}}
    message = refusal(edited(WT2023_EXAMPLE, tmp_path, lambda d: d["safeguarding_partners"].update({key: partner})))

    assert f"safeguarding_partners.{key}: a partner's key is lower-case letters" in message


def test_a_partners_bad_address_is_refused_naming_it(tmp_path: Path) -> None:
    message = refusal(edited(WT2023_EXAMPLE, tmp_path,
                             lambda d: d["safeguarding_partners"]["icb"]["delegate"].update(email="Nia <nia@example.org>")))

    assert "safeguarding_partners.icb.delegate.email: 'Nia <nia@example.org>' is not an email address" in message


def test_who_decides_ratifies_and_is_told_is_the_rule_sets_data() -> None:
    assert (WT2015.step("decision").decides, WT2015.step("decision").quorum) == (["independent_chair"], "any")
    assert WT2015.step("screening").consulted == ["independent_chair"]
    assert WT2015.step("ratification").ratifies == ["cig", "executive_group", "board"]
    assert (WT2023.step("rapid_review").decides, WT2023.step("rapid_review").quorum) == (["safeguarding_partners"], "all")
    assert "independent_scrutineer" in WT2023.step("rapid_review").told
    assert WT2023.step("sign_off").told == ["national_panel", "secretary_of_state"]
    with pytest.raises(ValueError, match="rule set 'wt2023' has no step 'ratification'"):
        WT2023.step("ratification")


@pytest.mark.parametrize("rules", [WT2015, WT2023], ids=["wt2015", "wt2023"])
def test_every_role_of_a_shipped_rule_set_is_a_place_the_partnership_file_has(rules: RuleSet) -> None:
    for key, role in rules.roles.items():
        section, name = role.named_in.split(".")
        assert section == "safeguarding_partners" or name in Contacts.model_fields, (key, role.named_in)


def test_the_partners_decide_when_all_agree_and_the_independent_chair_alone() -> None:
    rapid_review, decision = WT2023.step("rapid_review"), WT2015.step("decision")

    assert [rapid_review.quorum_reached(n, 3) for n in range(4)] == [False, False, False, True]
    assert rapid_review.quorum_reached(4, 4) and not rapid_review.quorum_reached(3, 4), "a fourth partner counts too"
    assert decision.quorum_reached(1, 1)
    with pytest.raises(ValueError, match="4 agreeing of 3 deciders"):
        rapid_review.quorum_reached(4, 3)


def test_a_partnership_asked_for_a_role_its_rule_set_does_not_have_is_told_the_roles() -> None:
    with pytest.raises(ValueError, match="rule set 'wt2023' has no role 'independent_chair'"):
        load_partnership(WT2023_EXAMPLE).role("independent_chair")


def ruleset_data(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / "rulesets" / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d["steps"]["rapid_review"].update(decides=["independent_chair"]),
     "steps.rapid_review: 'independent_chair' is not a role of this rule set"),
    (lambda d: d["roles"]["police"].update(named_in="police"),
     "named_in: 'police' is not contacts.<key> or safeguarding_partners.<key>"),
    (lambda d: d["rapid_review"].update(window_clock="fortnight"),
     "rapid_review.window_clock: 'fortnight' is not a clock of this rule set"),
    (lambda d: d["yearly_report"].update(recipients=["ofsted"]),
     "yearly_report.recipients: 'ofsted' is not a role of this rule set"),
])
def test_a_rule_set_that_names_an_unknown_role_or_clock_is_refused(change: Callable[[dict], None], problem: str) -> None:
    data = ruleset_data("wt2023")
    change(data)

    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
                       .replace("<", ".").replace(">", ".")):
        RuleSet.model_validate(data)


# --- item 2: the regime's words ----------------------------------------------------------------------------

def test_wt2023_gives_its_own_word_for_every_word_wt2015_gives() -> None:
    assert set(WT2015.terms) <= set(WT2023.terms)
    assert (WT2023.term("scr_short"), WT2023.term("deciders"), WT2023.term("panel"), WT2023.term("scrutiny")) == (
        "LCSPR", "the safeguarding partners", "Child Safeguarding Practice Review Panel", "the independent scrutineer")
    assert (WT2015.term("scr_short"), WT2015.term("deciders"), WT2015.term("group"), WT2015.term("criteria")) == (
        "SCR", "the independent chair", "Critical Incident Group", "regulation 5(2)")


def test_no_word_wt2023_gives_is_an_old_regime_word() -> None:
    assert set(OLD_WORDS) <= set(WT2023.retired_words)
    texts = [*WT2023.terms.values(), *(c.label for c in WT2023.clocks.values()),
             *(n.title for n in WT2023.notices.values()), *(r.title for r in WT2023.roles.values()),
             *(s.title for s in WT2023.steps.values())]
    for text in texts:
        for word in OLD_WORDS:
            assert word.lower() not in text.lower() if not word.isupper() else word not in text.split(), (text, word)
            assert retired_word_in(text, OLD_WORDS) is None, text


@pytest.mark.parametrize(("text", "found"), [
    ("local child safeguarding practice review (LCSPR)", None),  # LCSPR is not SCR
    ("the SCR report", "SCR"),
    ("Sent to the CIG.", "CIG"),
    ("the Independent Chair's decision", "independent chair"),
    ("criteria of Regulation 5(2)", "regulation 5(2)"),
    ("a serious case review", "Serious Case Review"),
    ("descriptions of the scrutineer", None),  # 'scr' inside a word is not SCR
])
def test_an_old_regime_word_is_found_as_a_whole_word(text: str, found: str | None) -> None:
    assert retired_word_in(text, OLD_WORDS) == found


@pytest.mark.parametrize(("where", "change"), [
    ("terms.deciders", lambda d: d["terms"].update(deciders="the independent chair")),
    ("clocks.panel_reply.label", lambda d: d["clocks"]["panel_reply"].update(label="the National Panel's reply")),
    ("roles.police.title", lambda d: d["roles"]["police"].update(title="the police member of the CIG")),
])
def test_a_wt2023_word_that_uses_an_old_regime_word_is_refused_naming_it(where: str, change: Callable[[dict], None]) -> None:
    data = ruleset_data("wt2023")
    change(data)

    with pytest.raises(ValueError, match=f"{where}: .* a word of the regime wt2023 replaced"):
        RuleSet.model_validate(data)

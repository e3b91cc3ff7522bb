"""The partnership file and the rule sets: a bad file is refused with the file, the key and the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.loading import ConfigurationError
from config.partnership import load_partnership
from config.rulesets import ClockUnit, available_rulesets, load_ruleset
from config.settings import CONFIG_DIR

EXAMPLE = CONFIG_DIR / "partnership.example.yaml"


def partnership_file(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "partnership.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_partnership(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), "the error names the file"
    return message


def test_the_example_partnership_loads() -> None:
    partnership = load_partnership(EXAMPLE)

    assert partnership.reference_prefix == "NSCP"
    assert [a.code for a in partnership.agencies] == ["POL", "CSC", "HEALTH", "CCG", "EDU", "PROB", "YJS"]
    assert partnership.agency("POL").contact.email == "police@example.org"
    assert partnership.rules().name == "wt2015"


def test_an_unknown_agency_is_refused_with_the_known_codes() -> None:
    with pytest.raises(ValueError, match="unknown agency code 'XYZ': the partnership's agencies are CCG, CSC, EDU"):
        load_partnership(EXAMPLE).agency("XYZ")


@pytest.mark.parametrize("code", ["pol", "P", "1POL", "POLICE-FORCE", "ABCDEFGHIJKLM"])
def test_a_badly_formed_agency_code_is_refused_naming_the_agency(tmp_path: Path, code: str) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d["agencies"][2].update(code=code)))

    assert "agencies.2.code: an agency code is 2 to 12 capital letters or digits" in message


def test_a_duplicate_agency_code_is_refused(tmp_path: Path) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d["agencies"].append(dict(d["agencies"][0]))))

    assert "agencies: the code(s) POL appear more than once" in message


def test_an_unknown_rule_set_is_refused_with_the_choices(tmp_path: Path) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d.update(ruleset="wt1999")))

    assert "ruleset: unknown rule set 'wt1999': choose one of wt2015, wt2023" in message


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("FREQ=SOMETIMES", "not a recurrence rule"),
        ("second Tuesday", "not a recurrence rule"),
        ("FREQ=MONTHLY;BYDAY=9TU", "not a recurrence rule"),  # parses, but no month has a ninth Tuesday
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "the recurrence rule gives no meeting"),
    ],
)
def test_a_bad_meeting_rule_is_refused_naming_meetings_rule(tmp_path: Path, rule: str, problem: str) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d["meetings"].update(rule=rule)))

    assert f"meetings.rule: {problem}" in message


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d["meetings"].update(timezone="Mars/Olympus")))

    assert "meetings.timezone: unknown time zone 'Mars/Olympus'" in message


def test_a_bad_contact_address_is_refused(tmp_path: Path) -> None:
    message = refusal(
        partnership_file(tmp_path, lambda d: d["contacts"]["ofsted"].update(email="Ofsted <ofsted@example.org>"))
    )

    assert "contacts.ofsted.email: 'Ofsted <ofsted@example.org>' is not an email address" in message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"nosuch": {"amount": 3}}, ["clock_overrides.nosuch: rule set 'wt2015' has no such clock"]),
        ({"information_return": {"amount": -1}}, ["clock_overrides: ", "information_return.amount", "greater than or equal to 0"]),
        ({"information_return": {"unit": "fortnights"}}, ["clock_overrides: ", "information_return.unit", "fortnights"]),
        ({"information_return": {"amonut": 5}}, ["clock_overrides: ", "information_return.amonut", "Extra inputs"]),
    ],
)
def test_a_bad_clock_override_is_refused(tmp_path: Path, overrides: dict, expected: list[str]) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d.update(clock_overrides=overrides)))

    for part in expected:
        assert part in message


def test_a_clock_override_changes_only_that_clock_of_the_partnerships_rule_set(tmp_path: Path) -> None:
    path = partnership_file(tmp_path, lambda d: d.update(clock_overrides={"information_return": {"amount": 5}}))

    partnership = load_partnership(path)

    assert partnership.rules().clocks["information_return"].amount == 5
    assert partnership.rules().clocks["panel_notice"].amount == 14
    assert partnership.rules("wt2015").clocks["information_return"].amount == 5
    # a case that started under another regime keeps that regime's own clocks
    assert partnership.rules("wt2023").clocks["information_return"].amount == 7


def test_load_partnership_overrides_replace_top_level_keys() -> None:
    assert load_partnership(EXAMPLE, ruleset="wt2023").rules().name == "wt2023"


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigurationError, match=f"^{missing}: file not found"):
        load_partnership(missing)

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=f"^{broken}: not valid YAML"):
        load_partnership(broken)

    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="expected a mapping"):
        load_partnership(listing)


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d["contacts"].pop("national_panel")))

    assert "contacts.national_panel: Field required" in message


# --- the rule sets that ship ----------------------------------------------------------------------

def test_the_two_rule_sets_ship_and_load() -> None:
    assert available_rulesets() == ["wt2015", "wt2023"]
    wt2015, wt2023 = load_ruleset("wt2015"), load_ruleset("wt2023")

    assert (wt2015.clocks["information_return"].amount, wt2015.clocks["information_return"].by_return_under_days) == (7, 7)
    assert (wt2015.clocks["decision"].amount, wt2015.clocks["decision"].unit) == (1, ClockUnit.calendar_months)
    assert (wt2015.clocks["panel_notice"].amount, wt2015.clocks["panel_notice"].unit) == (14, ClockUnit.calendar_days)
    assert (wt2023.clocks["serious_incident_notice"].amount, wt2023.clocks["serious_incident_notice"].unit) == (
        5, ClockUnit.working_days,
    )
    assert (wt2023.clocks["decision"].amount, wt2023.clocks["decision"].unit) == (15, ClockUnit.working_days)
    assert (wt2023.clocks["publication"].amount, wt2023.clocks["publication"].unit) == (6, ClockUnit.calendar_months)


def test_an_unknown_rule_set_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown rule set 'wt1999': choose one of wt2015, wt2023"):
        load_ruleset("wt1999")


def test_an_override_of_an_unknown_clock_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="clock_overrides.nosuch: rule set 'wt2023' has no such clock"):
        load_ruleset("wt2023", {"nosuch": {"amount": 1}})


# --- the review's milestone warning and the notice of a report not published ------------------------

def test_the_milestone_warning_is_a_week_by_default_and_the_partnership_file_may_change_it(tmp_path: Path) -> None:
    assert load_partnership(EXAMPLE).reminders.milestone_warning_days == 7
    without = partnership_file(tmp_path, lambda d: d["reminders"].pop("milestone_warning_days"))
    assert load_partnership(without).reminders.milestone_warning_days == 7
    ten = partnership_file(tmp_path, lambda d: d["reminders"].update(milestone_warning_days=10))
    assert load_partnership(ten).reminders.milestone_warning_days == 10


@pytest.mark.parametrize("days, problem", [
    (0, "0 is not a number of days from 1 to 60"),
    (-7, "-7 is not a number of days from 1 to 60"),
    (61, "61 is not a number of days from 1 to 60"),
    ("a week", "Input should be a valid integer"),
    (7.5, "Input should be a valid integer"),
    (True, "Input should be a valid integer"),
])
def test_a_bad_milestone_warning_is_refused_at_load_naming_the_key(tmp_path: Path, days: object, problem: str) -> None:
    message = refusal(partnership_file(tmp_path, lambda d: d["reminders"].update(milestone_warning_days=days)))

    assert f"reminders.milestone_warning_days: {problem}" in message


def test_wt2015_tells_the_national_panel_of_an_scr_report_not_published_and_wt2023_has_no_such_notice() -> None:
    notice = load_ruleset("wt2015").non_publication_notice
    assert notice is not None and (notice.recipient, notice.review_types) == ("national_panel", ["scr"])
    assert load_ruleset("wt2023").non_publication_notice is None

"""The referral's Run form (submit-referral) in the rule set's words: under wt2023 the date its clocks start from is
the day the local authority became aware of the incident; under wt2015 the form's own words, as before."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.utilities.callables import parameter_schema_from_entrypoint

from casework.forms import referral_words
from config.partnership import load_partnership
from config.settings import CONFIG_DIR
from flows.forms import offered_schema

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = next(d["entrypoint"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
                  if d["name"] == "submit-referral")


def notified_on_words(partnership_file: str) -> str:
    partnership = load_partnership(CONFIG_DIR / partnership_file)
    schema = parameter_schema_from_entrypoint(str(ROOT / ENTRYPOINT)).model_dump()
    offered = offered_schema(schema, partnership, words=referral_words(partnership.rules()))
    return offered["definitions"]["ReferralForm"]["properties"]["notified_on"]["description"]


def test_under_wt2023_the_referrals_date_is_when_the_local_authority_became_aware() -> None:
    words = notified_on_words("partnership.wt2023.example.yaml")
    assert words.startswith("Date the local authority became aware of the incident: the 5 working days for the "
                            "serious incident notification and the 15 for the rapid review count from it")
    assert "partnership was notified" not in words


def test_under_wt2015_the_referrals_date_reads_as_before() -> None:
    assert notified_on_words("partnership.example.yaml") == (
        "Date the partnership was notified of the incident (starts the statutory clock)")

"""The vocabulary of a case: its stages, the allowed moves between them, and the outcomes."""

from __future__ import annotations

from collections.abc import Mapping

from enum import StrEnum


class Stage(StrEnum):
    """Where a case is, in the order of the process chart."""

    awaiting_screening = "awaiting_screening"
    awaiting_returns = "awaiting_returns"
    awaiting_recommendation = "awaiting_recommendation"
    awaiting_decision = "awaiting_decision"
    notifying = "notifying"
    decided = "decided"
    declined = "declined"

    @property
    def number(self) -> int:
        """Stage n of the main path (declined counts as the end)."""
        order = list(MAIN_PATH)
        return order.index(self) + 1 if self in order else len(order)


MAIN_PATH = (
    Stage.awaiting_screening,
    Stage.awaiting_returns,
    Stage.awaiting_recommendation,
    Stage.awaiting_decision,
    Stage.notifying,
    Stage.decided,
)

ALLOWED_MOVES: dict[Stage, frozenset[Stage]] = {
    Stage.awaiting_screening: frozenset({Stage.awaiting_returns, Stage.declined}),
    Stage.awaiting_returns: frozenset({Stage.awaiting_recommendation}),
    # "further information": back to requests for the next meeting
    Stage.awaiting_recommendation: frozenset({Stage.awaiting_decision, Stage.awaiting_returns}),
    Stage.awaiting_decision: frozenset({Stage.notifying}),
    Stage.notifying: frozenset({Stage.decided}),
    Stage.decided: frozenset(),
    Stage.declined: frozenset(),
}


class InvalidMove(ValueError):
    """A case was asked to move where the process does not allow."""


def check_move(current: Stage, target: Stage) -> Stage:
    """Return `target` if the process allows a case at `current` to move there; raise otherwise."""
    if target not in ALLOWED_MOVES[current]:
        raise InvalidMove(f"a case {describe_stage(current)} cannot move to '{target.value}'")
    return target


def describe_stage(stage: Stage, terms: Mapping[str, str] | None = None) -> str:
    """The stage in words; with a rule set's `terms`, who screens and the recommendation and decision it awaits in
    the regime's words (wt2023: the business manager and the local authority, the safeguarding partners' decision)."""
    if stage is Stage.awaiting_decision and terms and "decision" in terms:
        return f"awaiting the {terms['decision']}"
    if stage is Stage.awaiting_screening and terms and "screeners" in terms:
        return f"awaiting screening by the {terms['screeners']}"
    if stage is Stage.awaiting_recommendation and terms and "group_short" in terms:
        return f"awaiting the {terms['group_short']} recommendation"
    return {
        Stage.awaiting_screening: "awaiting screening by the CIG chair and business manager",
        Stage.awaiting_returns: "awaiting agencies' CIGINF1 returns",
        Stage.awaiting_recommendation: "awaiting the CIG recommendation",
        Stage.awaiting_decision: "awaiting the independent chair's decision",
        Stage.notifying: "sending the decision notices",
        Stage.decided: "decided",
        Stage.declined: "declined at screening",
    }[stage]


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class ReviewType(StrEnum):
    """What the independent chair may decide (and the CIG may recommend)."""

    scr = "scr"
    critical_case_review = "critical_case_review"
    multi_agency_concise_review = "multi_agency_concise_review"
    individual_agency_review = "individual_agency_review"
    other_agency_action = "other_agency_action"
    no_review = "no_review"


class Recommendation(StrEnum):
    """What the CIG may record at its meeting: a review type, or a request for more information."""

    scr = "scr"
    critical_case_review = "critical_case_review"
    multi_agency_concise_review = "multi_agency_concise_review"
    individual_agency_review = "individual_agency_review"
    other_agency_action = "other_agency_action"
    no_review = "no_review"
    further_information = "further_information"


REVIEW_LABELS = {
    "scr": "Serious Case Review",
    "critical_case_review": "critical case review",
    "multi_agency_concise_review": "multi-agency concise review",
    "individual_agency_review": "individual agency review",
    "other_agency_action": "other multi- or single-agency action",
    "no_review": "no review",
    "further_information": "further information needed",
}


NON_MEMBER = "NONMEMBER"  # the referring "agency" of a referral from an organisation outside the partnership

CHOICE_LABELS = {  # how each coded choice reads on a form; the forms accept either
    **{value: label[0].upper() + label[1:] for value, label in REVIEW_LABELS.items()},
    "accept": "Accept: the case goes to the group",
    "decline": "Decline: the case does not go to the group",
    "returned": "Returned, with the agency's involvement",
    "nil": "Nil return: no involvement",
    "not_received": "Not received: the meeting goes ahead without it",
    "affirm": "Affirm the recommendation",
    "challenge": "Challenge the recommendation",
    "agree": "Agree with the recommendation",
    "disagree": "Disagree with the recommendation",
    "multi_agency": "Multi-agency plan (the training officer's)",
    "single_agency": "Single-agency plan (the agency's own)",
    "cig": "The CIG (draft report and findings)",
    "executive_group": "The executive group (action plans)",
    "board": "The partnership board (final report and action plans)",
    "safeguarding_partners": "The safeguarding partners (sign-off of the final report)",
}


def review_labels(terms: Mapping[str, str]) -> dict[str, str]:
    """The review outcomes in a regime's words: wt2023 calls the SCR a local child safeguarding
    practice review. `terms` is the rule set's terms (config.rulesets.RuleSet.terms)."""
    return {outcome: terms.get(outcome, label) for outcome, label in REVIEW_LABELS.items()}


class ScreeningOutcome(StrEnum):
    accept = "accept"
    decline = "decline"


class ReturnStatus(StrEnum):
    """What became of one agency's CIGINF1 in one round."""

    outstanding = "outstanding"
    returned = "returned"
    nil = "nil"  # the agency had no involvement
    not_received = "not_received"  # recorded by the administrator when the meeting goes ahead without it

    @property
    def resolved(self) -> bool:
        return self is not ReturnStatus.outstanding


class ChairResponse(StrEnum):
    affirm = "affirm"
    challenge = "challenge"


class PartnerResponse(StrEnum):
    """One decider's answer to the recommendation, where the rule set's deciders answer each by their own hand
    (wt2023: each safeguarding partner); the decision is made when the step's quorum agrees."""

    agree = "agree"
    disagree = "disagree"

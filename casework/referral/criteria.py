"""Which review criteria the recorded facts meet, and why: advice to the committee, never the decision.

Regulation 5(2) of the LSCB Regulations 2006 (Working Together 2015): a serious case is one where
(a) abuse or neglect of a child is known or suspected, and (b) either (i) the child has died, or
(ii) the child has been seriously harmed and there is cause for concern as to the way agencies
worked together. Some deaths always call for an SCR (custody, detention, deprivation of liberty).
"""

from __future__ import annotations

from dataclasses import dataclass

from casework.forms import CaseFacts


@dataclass(frozen=True)
class Criterion:
    name: str
    met: bool | None  # None: cannot tell yet from the recorded facts
    reason: str


@dataclass(frozen=True)
class CriteriaIndication:
    """What the facts indicate, with reasons; the people decide."""

    criteria: tuple[Criterion, ...]
    serious_case: bool | None
    mandatory_scr: bool
    must_refer_looked_after: bool

    @property
    def summary(self) -> str:
        if self.mandatory_scr:
            return "An SCR should always be carried out: a mandatory condition is met."
        if self.serious_case is True:
            return "The recorded facts meet regulation 5(2): an SCR must be commissioned."
        if self.serious_case is None:
            return (
                "Regulation 5(2)(b)(ii) may be met: unless it is clear there are no concerns about "
                "inter-agency working, an SCR must be commissioned."
            )
        return "The recorded facts do not meet regulation 5(2); another review may still be chosen."

    def as_markdown(self) -> str:
        mark = {True: "met", False: "not met", None: "not yet clear"}
        lines = [f"**Criteria indication** (advice, not the decision): {self.summary}", ""]
        lines += [f"- {c.name}: **{mark[c.met]}** ({c.reason})" for c in self.criteria]
        return "\n".join(lines)


def indicate_criteria(facts: CaseFacts) -> CriteriaIndication:
    """Read the facts against regulation 5(2) and the mandatory-SCR conditions."""
    a = Criterion(
        "5(2)(a) abuse or neglect known or suspected",
        facts.abuse_or_neglect_suspected,
        "recorded as known or suspected" if facts.abuse_or_neglect_suspected else "not recorded as suspected",
    )
    b_i = Criterion(
        "5(2)(b)(i) the child has died",
        facts.child_died,
        "the child has died" if facts.child_died else "the child has not died",
    )
    if not facts.seriously_harmed:
        b_ii = Criterion("5(2)(b)(ii) serious harm and concern about joint working", False, "no serious harm recorded")
    elif facts.concern_about_joint_working is None:
        b_ii = Criterion(
            "5(2)(b)(ii) serious harm and concern about joint working",
            None,
            "serious harm recorded; it is not yet clear there are no concerns about inter-agency working",
        )
    elif facts.concern_about_joint_working:
        b_ii = Criterion(
            "5(2)(b)(ii) serious harm and concern about joint working", True,
            "serious harm and cause for concern about how agencies worked together",
        )
    else:
        b_ii = Criterion(
            "5(2)(b)(ii) serious harm and concern about joint working", False,
            "serious harm, but no concern about how agencies worked together",
        )
    mandatory_reasons = [
        reason
        for flag, reason in (
            (facts.died_in_custody_or_detention, "death in custody, on remand, after sentencing or in secure accommodation"),
            (facts.detained_under_mental_health_act, "death while detained under the Mental Health Act"),
            (facts.deprivation_of_liberty_16_17, "death of a 16 or 17 year old under a deprivation of liberty order"),
        )
        if flag and facts.child_died
    ]
    mandatory = Criterion(
        "mandatory SCR (death in custody or detention)",
        bool(mandatory_reasons),
        "; ".join(mandatory_reasons) or "no such condition recorded",
    )
    if not a.met:
        serious: bool | None = False
    elif b_i.met or b_ii.met:
        serious = True
    elif b_ii.met is None:
        serious = None
    else:
        serious = False
    looked_after = Criterion(
        "looked-after child meeting the first conditions (must be referred)",
        facts.looked_after and bool(a.met) and (facts.child_died or facts.seriously_harmed),
        "looked after" if facts.looked_after else "not looked after",
    )
    return CriteriaIndication(
        criteria=(a, b_i, b_ii, mandatory, looked_after),
        serious_case=serious,
        mandatory_scr=bool(mandatory.met),
        must_refer_looked_after=bool(looked_after.met),
    )


@dataclass(frozen=True)
class LcsprIndication:
    """What the recorded facts suggest against the criteria for a local child safeguarding practice review
    (Working Together 2023, chapter 5; PROCESS.md "Today's law"), and about national importance: advice to the
    safeguarding partners, never their decision."""

    incident: Criterion  # a serious child safeguarding incident: abuse or neglect, and death or serious harm
    criteria: tuple[Criterion, ...]
    national_importance: Criterion

    @property
    def summary(self) -> str:
        if not self.incident.met:
            return ("The recorded facts do not describe a serious child safeguarding incident; the partners may "
                    "still decide on a review.")
        if any(c.met for c in self.criteria):
            return "The recorded facts suggest a criterion for a local child safeguarding practice review is met."
        return ("The recorded facts do not settle the criteria for a local child safeguarding practice review: the "
                "rapid review's learning does.")

    def as_markdown(self) -> str:
        mark = {True: "suggested", False: "not suggested", None: "not settled by the recorded facts"}
        lines = [f"**Criteria indication** (advice, not the decision): {self.summary}", ""]
        lines += [f"- {c.name}: **{mark[c.met]}** ({c.reason})"
                  for c in (self.incident, *self.criteria, self.national_importance)]
        return "\n".join(lines)


def indicate_lcspr_criteria(facts: CaseFacts) -> LcsprIndication:
    """Read the recorded facts against the LCSPR criteria and the national-importance question."""
    harmed = facts.child_died or facts.seriously_harmed
    incident = Criterion(
        "a serious child safeguarding incident", bool(facts.abuse_or_neglect_suspected and harmed),
        ("abuse or neglect known or suspected" if facts.abuse_or_neglect_suspected else
         "abuse or neglect not recorded as known or suspected")
        + (", and the child has died" if facts.child_died else ", and the child was seriously harmed"
           if facts.seriously_harmed else ", and no death or serious harm recorded"))
    joint = facts.concern_about_joint_working
    improvements = Criterion(
        "improvements needed to safeguard children, including ones identified before",
        True if joint else None,
        "the concern about how agencies worked together points to improvements" if joint else
        "for the rapid review's learning to show")
    themes = Criterion("recurrent themes in safeguarding children", None, "for the rapid review's learning to show")
    together = Criterion(
        "concerns about two or more organisations or agencies working together", joint,
        {True: "cause for concern recorded about how the agencies worked together",
         False: "no concern recorded about how the agencies worked together",
         None: "not yet clear whether there are concerns about how the agencies worked together"}[joint])
    panel = Criterion("the Panel has said a local review may be more appropriate", None,
                      "only the Panel's reply can say")
    national_reasons = [
        reason for flag, reason in (
            (facts.died_in_custody_or_detention, "a death in custody or secure accommodation"),
            (facts.detained_under_mental_health_act, "a death while detained under the Mental Health Act"),
            (facts.deprivation_of_liberty_16_17, "a death under a deprivation of liberty order"),
        ) if flag and facts.child_died
    ]
    national = Criterion(
        "issues of national importance for the Panel", True if national_reasons else None,
        "; ".join(national_reasons) or "nothing recorded suggests it; the partners judge")
    return LcsprIndication(incident, (improvements, themes, together, panel), national)


def criteria_indication(facts: CaseFacts, advice: str) -> CriteriaIndication | LcsprIndication:
    """The advice the rule set's `criteria_advice` names: regulation 5(2) (wt2015) or the LCSPR criteria (wt2023)."""
    return indicate_lcspr_criteria(facts) if advice == "lcspr" else indicate_criteria(facts)

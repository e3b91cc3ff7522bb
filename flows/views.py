"""The saved views of the Prefect UI's Runs page ("Awaiting the chair", "All open cases", ...), created
by `make up` so nobody has to build them by hand.

The Runs page filters on when a run started (or is expected to start) and defaults to the past 7
days, so a view saved from it loses every case referred more than a week ago. Each view here
carries its own date range instead: the past 120 months (`span` of -120 months), longer than any
case stays open. Prefect 3.9 keeps saved views on the server (`PUT /saved_searches/`, replaced by
name, so creating them again on a restart changes nothing) in the format the classic UI (the one
served at /runs) writes: a list of filters, each `{"object": "flowRun", "property": "tag" | "state" |
"range", "value": ...}`. The newer UI under /v2 keeps its saved filters in the browser instead.

Needs a Prefect API (PREFECT_API_URL). `python -m flows.views` creates them and prints their names.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect.client.orchestration import get_client

MONTH_SECONDS = 2629746  # the UI's month (365.2425 days / 12): a span of whole months reads "Past 120 months"
OPEN_RANGE = {"type": "span", "seconds": -120 * MONTH_SECONDS}
# the states of a run that is not finished: a case waiting for a person is Suspended
UNFINISHED_STATES = ("Scheduled", "Late", "AwaitingRetry", "Pending", "Running", "Retrying", "Paused", "Suspended",
                     "Cancelling")


@dataclass(frozen=True)
class SavedView:
    """One saved view of the Runs page: the runs with all of `tags` (and, if given, in one of `states`)."""

    name: str
    tags: tuple[str, ...]
    states: tuple[str, ...] = ()

    def filters(self) -> list[dict[str, object]]:
        """The view as the server stores it and the classic UI reads it back."""
        found: list[dict[str, object]] = [_filter("tag", list(self.tags))]
        if self.states:
            found.append(_filter("state", list(self.states)))
        found.append(_filter("range", dict(OPEN_RANGE)))
        return found


def _filter(name: str, value: object) -> dict[str, object]:
    return {"object": "flowRun", "property": name, "type": "", "operation": "", "value": value}


SAVED_VIEWS: tuple[SavedView, ...] = (
    SavedView("Awaiting screening", ("stage:awaiting_screening",)),
    SavedView("Awaiting returns", ("stage:awaiting_returns",)),
    SavedView("Awaiting recommendation", ("stage:awaiting_recommendation",)),
    SavedView("Awaiting the chair", ("stage:awaiting_decision",)),
    SavedView("All open cases", ("case",), UNFINISHED_STATES),
    SavedView("Serious Case Reviews", ("outcome:scr",)),
    SavedView("Rapid reviews", ("regime:wt2023",)),
    # the review after the decision: its own run, review-<REFERENCE>, tagged by its stage
    SavedView("Reviews awaiting a lead reviewer", ("review-stage:awaiting_reviewer",)),
    SavedView("Reviews under way", ("review-stage:under_way",)),
    SavedView("Reviews in ratification", ("review-stage:ratifying",)),
    SavedView("Reviews awaiting publication", ("review-stage:awaiting_publication",)),
    SavedView("All open reviews", ("review",), UNFINISHED_STATES),
)


async def ensure_saved_views(views: tuple[SavedView, ...] = SAVED_VIEWS) -> list[str]:
    """Create (or replace, by name) each saved view on the Prefect server; returns their names."""
    async with get_client() as client:
        for view in views:
            response = await client.request("PUT", "/saved_searches/", json={"name": view.name, "filters": view.filters()})
            response.raise_for_status()
    return [view.name for view in views]


if __name__ == "__main__":
    import asyncio

    print("saved views: " + ", ".join(asyncio.run(ensure_saved_views())))

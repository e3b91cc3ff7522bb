"""The case-review process of a safeguarding children partnership, as plain Python.

The rules here (stages, forms, criteria, clocks, meetings, who is told what) import nothing
from Prefect and never read the clock: every function that needs the time takes `now`.
Each phase of the process has its own package: `referral` (referral to decision), `meetings` (the
CIG's calendar and papers), `review` (the review after the decision), `learning` (action plans and what
is learnt) and `oversight` (tracker, timeline, monthly report); what they share sits here (model,
forms, clocks, sweep, delivery, recovery, links, purge). The store (`casework.store`) below them
keeps cases in the project's own database.
"""

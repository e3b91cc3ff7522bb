"""The case-review process of a safeguarding children partnership, as plain Python.

The rules here (stages, forms, criteria, clocks, meetings, who is told what) import nothing
from Prefect and never read the clock: every function that needs the time takes `now`.
The store (`casework.store`) keeps cases in the project's own database.
"""

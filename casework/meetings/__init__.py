"""The Critical Incident Group's meetings: the calendar (`calendar`), changes to it (`rescheduling`),
preparing the next meeting (`preparation`), its agenda and invitation (`agenda`) and papers (`papers`).
"""

"""After the decision: the review the independent chair initiated, from commissioning to publication.

`rules` holds the pure rules (the plan's dates, who may be lead reviewer, what may follow what, the
publication clock), `forms` the people's forms, `messages` who is told what, `store` the database
changes and `actions` each step in one short transaction. Nothing here imports Prefect.
"""

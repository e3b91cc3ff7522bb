"""From referral to decision: the CIEC flowchart's steps as plain Python.

`actions` holds each step in one short transaction (the change, its audit and the messages it
causes), `messages` who is told what, `criteria` the review criteria indication, `reminders` what the
open deadlines of a referral owe, `views` how a case reads on its forms and in `cig referral show`.
The forms themselves are in `casework.forms`, beside the `Form` base every phase's forms build on.
"""

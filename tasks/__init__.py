"""Prefect tasks: one side effect each, named verb_noun, safe to run twice.

Each wraps an action of `casework.referral.actions` (one database transaction, keyed so a second run
finds the first) or one call to the outside (SMTP, the Prefect API).
"""

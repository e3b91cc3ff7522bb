"""Prefect flows: the referral (one long-running run per case), its intake, and the scheduled jobs."""

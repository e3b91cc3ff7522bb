"""`make bench`: the referral workflow measured against Prefect's own floor, on SQLite and PostgreSQL."""

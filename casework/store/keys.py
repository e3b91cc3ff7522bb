"""Key rotation for the personal data sealed at rest (`cig keys rotate`).

With CIG_DATA_KEYS="new,old" installed, every SealedJSON value in the case database is opened
with whichever key sealed it and sealed again with the newest; afterwards "new" alone opens
everything and the old key can be retired. The caller owns the transaction, so a rotation that
meets a value no configured key opens changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.fernet import InvalidToken
from sqlalchemy import Text, literal, select, type_coerce, update
from sqlalchemy.orm import Session

from casework.store.cases import audit
from casework.store.sealed import KeyProblem, SealedJSON, reseal
from casework.store.tables import Base


def reseal_all(session: Session, *, now: datetime, actor: str) -> int:
    """Re-seal every sealed value with the newest installed key; return how many values were re-sealed."""
    count = 0
    for table in Base.metadata.sorted_tables:
        sealed = [c for c in table.columns if isinstance(c.type, SealedJSON)]
        if not sealed:
            continue
        (key,) = table.primary_key.columns
        for column in sealed:
            rows = session.execute(select(key, type_coerce(column, Text)).where(column.is_not(None))).all()
            for row_id, token in rows:
                try:
                    fresh = reseal(token)
                except InvalidToken:
                    raise KeyProblem(
                        f"{table.name}.{column.name} row {row_id} does not open with any key in CIG_DATA_KEYS; "
                        "nothing was re-sealed"
                    ) from None
                session.execute(update(table).where(key == row_id).values({column.name: literal(fresh, Text)}))
                count += 1
    audit(session, reference=None, actor=actor, action="data keys rotated", now=now, values=count)
    return count

"""The Prefect server's REST API as the system tests call it, as a client would: a 503 (a SQLite-backed
server busy, "database is locked", with other runs and stacks beside it under `make test`) is asked again
for up to a minute, as Prefect's own client does. A 503 wrote nothing, so asking again doubles nothing."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def call(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """GET `path` (no body) or POST `body` as JSON; the answer's JSON. Any error but a 503 is raised."""
    request = urllib.request.Request(f"{api}{path}", data=None if body is None else json.dumps(body, default=str).encode(),
                                     method="GET" if body is None else "POST", headers={"Content-Type": "application/json"})
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(1)

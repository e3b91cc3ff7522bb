"""The Prefect server's REST API as the system tests call it, as a client would: a 503 (a SQLite-backed
server busy, "database is locked", with other runs and stacks beside it under `make test`) is asked again
for up to a minute, as Prefect's own client does. A 503 wrote nothing, so asking again doubles nothing.

The stack's server refuses a change (POST, PATCH, DELETE) without a CSRF token (cli.stack.stack_env): each
change carries one, fetched once per server, as Prefect's client and UI do."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

_CLIENT = str(uuid.uuid4())
_tokens: dict[str, dict[str, str]] = {}


def csrf_headers(api: str) -> dict[str, str]:
    """The headers that let a change through the CSRF protection of the server at `api` (none if it has none)."""
    if api not in _tokens:
        try:
            with urllib.request.urlopen(f"{api}/csrf-token?client={_CLIENT}", timeout=10) as response:
                token = json.load(response)["token"]
            _tokens[api] = {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": _CLIENT}
        except urllib.error.HTTPError as error:
            if error.code != 422:  # 422: "CSRF protection is disabled."
                raise
            _tokens[api] = {}
    return _tokens[api]


def call(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """GET `path` (no body) or POST `body` as JSON; the answer's JSON. Any error but a 503 is raised.

    A token the server does not know (a new stack on the port of an earlier one, or one an hour old) is
    fetched again once, as Prefect's client does."""
    deadline = time.monotonic() + 60
    fresh_token = False
    while True:
        headers = {"Content-Type": "application/json"} | ({} if body is None else csrf_headers(api))
        request = urllib.request.Request(f"{api}{path}", method="GET" if body is None else "POST", headers=headers,
                                         data=None if body is None else json.dumps(body, default=str).encode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 403:
                detail = error.read()
                if not fresh_token and b"Invalid CSRF token" in detail:
                    _tokens.pop(api, None)
                    fresh_token = True
                    continue
                raise urllib.error.HTTPError(error.url, 403, error.msg, error.headers, io.BytesIO(detail)) from None
            if error.code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(1)

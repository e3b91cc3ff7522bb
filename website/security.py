"""What the website puts in front of every page: security headers, a request-size limit counted while the
body streams in, a same-origin and form-token check on every form post, and a throttle on link
look-ups that fail (guessing). Needs nothing but the settings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders:
    """Adds the headers every page needs: a strict Content-Security-Policy (no inline script or style),
    no framing, no Referer to another site (a personal link must not leak; same-origin keeps the Origin header that the form check reads), no caching of anything
    but the static assets, and HSTS in production."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(("/assets/", "/static/"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(Exception):
    """The request's body passed the limit; reading stopped there and nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request is larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    """Counts a request's body as it streams in and raises BodyTooLarge past `limit` bytes, so an
    oversized upload is refused without being read whole (the page handler turns it into a field error)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if declared is not None and declared.isdigit() and int(declared) > self.limit:
                raise BodyTooLarge(self.limit)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


class LookupThrottle:
    """Link look-ups that fail, per client address: past `allowed` within `window`, every look-up from
    that address is refused until the window has passed (so guessing tokens gets nowhere)."""

    def __init__(self, *, allowed: int = 10, window: timedelta = timedelta(minutes=10)) -> None:
        self.allowed = allowed
        self.window = window
        self._failures: dict[str, deque[datetime]] = defaultdict(deque)

    def _recent(self, client: str, now: datetime) -> deque[datetime]:
        failures = self._failures[client]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str, now: datetime) -> bool:
        """Whether `client` has failed too often lately to look up another link."""
        return len(self._recent(client, now)) >= self.allowed

    def failed(self, client: str, now: datetime) -> None:
        """Count a failed look-up from `client`."""
        self._recent(client, now).append(now)


def form_token(secret: bytes, link_digest: str) -> str:
    """The hidden token a link's form carries: an HMAC of the link's digest under the website's secret."""
    return hmac.new(secret, link_digest.encode(), hashlib.sha256).hexdigest()


def form_token_valid(secret: bytes, link_digest: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(form_token(secret, link_digest), given)


def same_origin(request: Request, public_url: str) -> bool:
    """Whether a form post comes from this website's own pages: a browser's Sec-Fetch-Site and Origin
    headers, where sent, must name this site, as served or as `public_url` (behind a reverse proxy)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    theirs = urlsplit(origin)
    ours = [urlsplit(str(request.base_url)), urlsplit(public_url)]
    return any((theirs.scheme, theirs.netloc) == (own.scheme, own.netloc) for own in ours)

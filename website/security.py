"""What the website puts in front of every page: security headers, a request-size limit counted while the
body streams in, a same-origin and form-token check on every form post, a throttle on link look-ups that
fail (guessing, counted per client) and on a link's page views, and the rule that records a link's
repeated views once per interval. Needs nothing but the settings.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
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


class Throttle:
    """Events per key (a client's failed link look-ups, a link's page views) within `window`: once a key
    has had `allowed` of them, it is held back until the window has passed (so guessing tokens, or a
    script reloading a page, gets nowhere). A spell of throttling (an episode) starts when a key is held
    back while none was; it lasts a window after the last key was held back, so one episode is told once."""

    def __init__(self, *, allowed: int, window: timedelta) -> None:
        self.allowed = allowed
        self.window = window
        self._events: dict[str, deque[datetime]] = {}
        self._episode_until: datetime | None = None

    def _recent(self, key: str, now: datetime) -> int:
        """How many events `key` had within the window before `now` (a key with none takes no memory)."""
        events = self._events.get(key)
        if events is None:
            return 0
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]
        return len(events)

    def blocked(self, key: str, now: datetime) -> bool:
        """Whether `key` is held back at `now`."""
        return self._recent(key, now) >= self.allowed

    def count(self, key: str, now: datetime) -> Throttling | None:
        """Count an event of `key`; when it is the one that holds the key back, the throttling it starts
        (whether it opens an episode, and until when), else None."""
        self._recent(key, now)
        events = self._events.setdefault(key, deque())
        events.append(now)
        if len(events) != self.allowed:
            return None
        starts_episode = self._episode_until is None or now >= self._episode_until
        self._episode_until = now + self.window
        return Throttling(until=events[0] + self.window, starts_episode=starts_episode)


@dataclass(frozen=True)
class Throttling:
    """A key held back: until when, and whether it opened a spell of throttling (the administrator is told once per spell)."""

    until: datetime
    starts_episode: bool


class RepeatedViews:
    """Which of a link's repeated views are recorded: the first, then at most one per `interval` (per
    link and what was viewed), each carrying how many views went unrecorded since the one before."""

    def __init__(self, *, interval: timedelta) -> None:
        self.interval = interval
        self._last: dict[tuple[object, ...], tuple[datetime, int]] = {}

    def record(self, key: tuple[object, ...], now: datetime) -> int | None:
        """The number of views of `key` left unrecorded since the last recorded one, when this view is to be
        recorded; None when it is not (one was recorded within the interval)."""
        last, unrecorded = self._last.get(key, (None, 0))
        if last is not None and now < last + self.interval:
            self._last[key] = (last, unrecorded + 1)
            return None
        self._last[key] = (now, 0)
        return unrecorded


def client_key(host: str | None) -> str:
    """The client a request came from, as the throttle counts it: its address (the reverse proxy's
    forwarded one only when the proxy is trusted, settings.website_trusted_proxies); an IPv6 address by
    its /64 network, which one person or machine holds whole."""
    if not host:
        return "-"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


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

"""The website's pure guards (website.security): which client a request is counted against, when a
throttle holds a key back and starts a spell the administrator is told of, which repeated views are
recorded; and the setting that names the trusted reverse proxies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from config.settings import Settings
from website.security import RepeatedViews, Throttle, client_key

START = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def test_a_client_is_its_address_and_an_ipv6_client_its_64_network() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key(None) == "-"


def test_the_throttle_holds_a_key_back_for_its_window_and_starts_one_spell_however_many_it_holds() -> None:
    throttle = Throttle(allowed=2, window=timedelta(minutes=10))
    spells = [throttle.count(client, START + timedelta(seconds=n)) for n, client in enumerate(["a", "a", "b", "b"])]

    assert [s.starts_episode if s else None for s in spells] == [None, True, None, False]
    assert spells[1] is not None and spells[1].until == START + timedelta(minutes=10)
    assert throttle.blocked("a", START + timedelta(minutes=9, seconds=59))
    assert not throttle.blocked("a", START + timedelta(minutes=10))
    again = [throttle.count("c", START + timedelta(minutes=30, seconds=n)) for n in range(2)]
    assert again[1] is not None and again[1].starts_episode  # the spell ended: a new one is told again


def test_repeated_views_are_recorded_once_an_interval_with_how_many_went_unrecorded() -> None:
    views = RepeatedViews(interval=timedelta(minutes=10))
    seen = [views.record((1, "return page viewed"), START + timedelta(seconds=n)) for n in range(300)]

    assert seen[0] == 0 and seen[1:] == [None] * 299
    assert views.record((2, "return page viewed"), START) == 0  # another link is its own
    assert views.record((1, "return page viewed"), START + timedelta(minutes=10)) == 299


def test_the_trusted_proxies_are_addresses_or_networks_and_none_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIG_WEBSITE_TRUSTED_PROXIES", raising=False)
    assert Settings().trusted_proxies == []
    assert Settings(website_trusted_proxies="10.0.0.5, 10.1.0.0/24").trusted_proxies == ["10.0.0.5", "10.1.0.0/24"]
    with pytest.raises(ValidationError, match="'proxy.example.org' is not an IP address or network"):
        Settings(website_trusted_proxies="proxy.example.org")

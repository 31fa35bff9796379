"""Who the panel answers, on a real server: only the names it is served as (no DNS rebinding), state
changes only from its own page, and the rate limit counts the peer, not what it writes in a header."""

from __future__ import annotations

import pytest

from engine.errors import DreamwallError
from installation.web.auth import RateLimit, ServedAs
from installation.web.service import PROXY_ENV, proxy_setting

NEXT = '{"kind": "next"}'
CHANGE = {"X-Dreamwall-Token": "local", "Content-Type": "application/json"}


def test_a_rebound_page_cannot_drive_the_loopback_panel(serve, call, show, caplog):
    """evil.example re-pointed at 127.0.0.1: the browser sends its Host and Origin, the panel refuses both."""
    server = serve()
    foreign = {**CHANGE, "Host": f"evil.example:{server.port}", "Origin": f"http://evil.example:{server.port}"}
    status, text = call(server, "POST", "/api/action", NEXT, foreign)
    assert status == 400 and f"not served as 'evil.example:{server.port}'" in text and text.count("\n") == 1
    assert call(server, "GET", "/api/state", headers={"Host": "evil.example"})[0] == 400  # nor read
    assert show.posted == []
    assert "host 'evil.example" in caplog.text


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "http://localhost:{port}"])
def test_a_state_change_from_another_origin_is_refused(serve, call, show, origin):
    server = serve()
    headers = {**CHANGE, "Origin": origin.format(port=server.port)}
    status, text = call(server, "POST", "/api/action", NEXT, headers)
    assert status == 403 and "expected this panel's own page" in text
    assert show.posted == []


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_the_page_itself_is_obeyed_by_every_loopback_name(serve, call, show, name):
    """What chromium sends for the page's fetch() (a same-origin POST), and a script without an Origin."""
    server = serve()
    own = f"{name}:{server.port}"
    assert call(server, "POST", "/api/action", NEXT, {**CHANGE, "Host": own, "Origin": f"http://{own}"})[0] == 200
    assert call(server, "POST", "/api/action", NEXT, {**CHANGE, "Host": own})[0] == 200
    assert call(server, "GET", "/", headers={"Host": own})[0] == 200
    assert [a.kind for a in show.posted] == ["next", "next"]


def test_the_names_a_panel_is_served_as():
    loopback = ServedAs.bind("127.0.0.1")
    assert loopback.host_allowed("127.0.0.1:8080") and loopback.host_allowed("LOCALHOST.:8080")
    refused = ("evil.example", "10.0.0.5", "evil.example@127.0.0.1", "127.0.0.1:99999", "127.0.0.1/x", "", None)
    assert not any(loopback.host_allowed(host) for host in refused)
    one = ServedAs.bind("192.168.1.20", ["dreamwall.gallery.org"])
    assert one.host_allowed("192.168.1.20:8080") and one.host_allowed("dreamwall.gallery.org")
    assert not one.host_allowed("192.168.1.21:8080")
    wildcard = ServedAs.bind("0.0.0.0")  # served on every address: an address cannot be rebound, a name can
    assert wildcard.host_allowed("192.168.1.21:8080") and wildcard.host_allowed("[fe80::1]:8080")
    assert not wildcard.host_allowed("evil.example:8080")


def test_the_rate_limit_counts_the_peer_not_its_forwarded_for_header(make_panel, serve, call):
    now = [0.0]
    server = serve(make_panel(None, limiter=RateLimit(per_s=1.0, burst=3, clock=lambda: now[0])))
    codes = [call(server, "GET", "/api/state", headers={"X-Forwarded-For": f"10.0.0.{n}"})[0] for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_behind_a_configured_proxy_the_forwarded_address_counts(make_panel, serve, call):
    now = [0.0]
    server = serve(make_panel(None, limiter=RateLimit(per_s=1.0, burst=1, clock=lambda: now[0])), ("127.0.0.1",))
    codes = [call(server, "GET", "/api/state", headers={"X-Forwarded-For": f"10.0.0.{n}"})[0] for n in range(3)]
    assert codes == [200, 200, 200]  # three clients behind the proxy, one request each
    assert call(server, "GET", "/api/state", headers={"X-Forwarded-For": "10.0.0.1"})[0] == 429


def test_the_proxy_setting_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.delenv(PROXY_ENV, raising=False)
    assert proxy_setting() == ()
    monkeypatch.setenv(PROXY_ENV, "127.0.0.1, 10.0.0.0/24")
    assert proxy_setting() == ("127.0.0.1", "10.0.0.0/24")
    monkeypatch.setenv(PROXY_ENV, "*")  # trusting anyone is what this setting exists to stop
    with pytest.raises(DreamwallError, match=r"DREAMWALL_WEB_PROXY must list proxy addresses .* got '\*'"):
        proxy_setting()

"""The panel's HTTP rules: token, CSRF header, body cap, bad values, traversal, rate limit."""

from __future__ import annotations

from unittest import mock

import pytest
from starlette.testclient import TestClient

from installation.web import auth
from installation.web.auth import RateLimit
from installation.web.routes import Panel

TOKEN = "s3cret-token-value"
H = {"X-Dreamwall-Token": TOKEN}


def client(panel: Panel) -> TestClient:
    """Starlette's test client, as the panel's own address (its default Host, testserver, is refused)."""
    return TestClient(panel.app(), base_url="http://127.0.0.1:8080")


@pytest.fixture
def local(make_panel):
    return client(make_panel(None))


@pytest.fixture
def remote(make_panel):
    return client(make_panel(TOKEN))


def test_on_localhost_the_page_and_state_need_no_token(local):
    assert local.get("/").status_code == 200
    assert "Dreamwall" in local.get("/").text
    assert local.get("/api/state").json()["status"]["preset"] == "default"


def test_on_localhost_a_state_change_still_needs_the_header(local, show):
    """A page on another site can POST a form to 127.0.0.1, but not with a custom header (preflight)."""
    refused = local.post("/api/action", json={"kind": "next"})
    assert refused.status_code == 403 and "x-dreamwall-token" in refused.text
    assert show.posted == []
    assert local.post("/api/action", json={"kind": "next"}, headers={"X-Dreamwall-Token": "local"}).status_code == 200
    assert [a.kind for a in show.posted] == ["next"] and show.posted[0].source == "web"


@pytest.mark.parametrize("path", ["/", "/static/panel.js", "/api/state", "/api/screenshot"])
def test_off_localhost_every_request_needs_the_token_the_page_too(remote, path):
    assert remote.get(path).status_code == 401
    assert remote.get(path + "?token=wrong").status_code == 401
    assert remote.get(path + f"?token={TOKEN}").status_code in (200, 404)  # 404: no screenshot yet
    assert remote.get(path, headers=H).status_code in (200, 404)


def test_a_wrong_token_is_logged_and_a_post_with_the_token_only_in_the_query_is_refused(remote, show, caplog):
    assert remote.post("/api/action", json={"kind": "next"}, headers={"X-Dreamwall-Token": "nope"}).status_code == 401
    assert "wrong token" in caplog.text
    assert remote.post(f"/api/action?token={TOKEN}", json={"kind": "next"}).status_code == 401
    assert show.posted == []
    assert remote.post("/api/action", json={"kind": "blackout"}, headers=H).status_code == 200
    assert [a.kind for a in show.posted] == ["blackout"]


def test_the_token_is_compared_in_constant_time(remote):
    with mock.patch.object(auth.hmac, "compare_digest", wraps=auth.hmac.compare_digest) as compare:
        remote.get("/api/state", headers=H)
    compare.assert_called_once_with(TOKEN.encode(), TOKEN.encode())


@pytest.mark.parametrize(("body", "reason"), [
    ({"kind": "nxt"}, "unknown action 'nxt' (did you mean 'next'?)"),
    ({"kind": "quit"}, "action 'quit' is not offered by the panel"),
    ({"kind": "intensity", "value": 1.5}, "intensity must be between 0 and 1, got 1.5"),
    ({"kind": "feedback", "value": -0.1}, "feedback must be between 0 and 1"),
    ({"kind": "intensity", "value": "lots"}, "intensity needs a number value"),
    ({"kind": "select", "value": 9}, "preset number must be between 1 and 3, got 9"),
    ({"kind": "select", "value": "malt"}, "unknown preset 'malt' (did you mean 'melt'?)"),
    ({"kind": "freeze", "value": 3}, "freeze takes no value"),
    (["next"], "a JSON object"),
])  # fmt: skip
def test_bad_actions_get_400_with_a_one_line_reason(remote, show, body, reason):
    answer = remote.post("/api/action", json=body, headers=H)
    assert answer.status_code == 400
    assert reason in answer.text and answer.text.count("\n") == 1
    assert show.posted == []


def test_good_values_are_posted_as_actions(remote, show):
    bodies = ({"kind": "intensity", "value": 0.7}, {"kind": "select", "value": "melt"}, {"kind": "select", "value": 2})
    for body in bodies:
        assert remote.post("/api/action", json=body, headers=H).status_code == 200
    assert [(a.kind, a.value) for a in show.posted] == [("intensity", 0.7), ("select", "melt"), ("select", 2)]


def test_a_body_over_the_cap_is_refused(remote, show):
    big = '{"kind": "next", "pad": "' + "x" * 5000 + '"}'
    answer = remote.post("/api/action", content=big, headers={**H, "Content-Type": "application/json"})
    assert answer.status_code == 413 and show.posted == []


def test_static_files_cannot_escape_their_folder(local):
    for path in ("/static/../server.py", "/static/..%2fserver.py", "/static/%2e%2e%2fauth.py", "/static/server.py"):
        assert local.get(path).status_code == 404, path
    assert local.get("/static/panel.css").status_code == 200


def test_a_burst_is_rate_limited_and_the_bucket_refills(make_panel, show):
    now = [0.0]
    local = client(make_panel(None, limiter=RateLimit(per_s=2.0, burst=3, clock=lambda: now[0])))
    codes = [local.get("/api/state").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    now[0] += 1.0  # two more a second later
    assert [local.get("/api/state").status_code for _ in range(3)] == [200, 200, 429]


def test_the_newest_screenshot_is_downloadable(local, show):
    show.source.screenshots.mkdir()
    (show.source.screenshots / "screenshot-1.png").write_bytes(b"\x89PNG old")
    (show.source.screenshots / "screenshot-2.png").write_bytes(b"\x89PNG new")
    import os

    os.utime(show.source.screenshots / "screenshot-1.png", (1, 1))
    answer = local.get("/api/screenshot")
    assert answer.status_code == 200 and answer.content == b"\x89PNG new"
    assert "screenshot-2.png" in answer.headers["content-disposition"]

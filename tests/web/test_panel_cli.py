"""The panel's options: off by default, the kiosk environment file's say, exit 2 on a bad port."""

from __future__ import annotations

import argparse

import pytest

from installation.commands import live


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    live.configure(parser)
    return parser.parse_args(argv)


def test_the_panel_is_off_by_default_and_local(monkeypatch):
    monkeypatch.delenv("DREAMWALL_WEB_PORT", raising=False)
    monkeypatch.delenv("DREAMWALL_WEB_HOST", raising=False)
    config = live.config_from_args(parse([]))
    assert config.web_port is None and config.web_host == "127.0.0.1"


def test_the_kiosk_environment_turns_it_on_and_the_flag_wins(monkeypatch):
    monkeypatch.setenv("DREAMWALL_WEB_PORT", "8080")
    monkeypatch.setenv("DREAMWALL_WEB_HOST", "0.0.0.0")
    config = live.config_from_args(parse([]))
    assert (config.web_port, config.web_host) == (8080, "0.0.0.0")
    assert live.config_from_args(parse(["--web-port", "9090"])).web_port == 9090


@pytest.mark.parametrize("setting", [["--web-port", "70000"], ["--web-port", "x"]])
def test_a_bad_port_exits_2_naming_the_range(setting, capsys, monkeypatch):
    monkeypatch.delenv("DREAMWALL_WEB_PORT", raising=False)
    with pytest.raises(SystemExit) as stop:
        parse(setting)
    assert stop.value.code == 2
    assert "web port must be" in capsys.readouterr().err


def test_a_bad_port_in_the_environment_exits_2_too(monkeypatch, capsys):
    monkeypatch.setenv("DREAMWALL_WEB_PORT", "eighty")
    with pytest.raises(SystemExit) as stop:
        parse([])
    assert stop.value.code == 2 and "--web-port" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_before_any_thread():
    import re
    import socket

    from engine.errors import DreamwallError
    from installation.web.service import check_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DreamwallError, match=re.escape(f"web panel cannot listen on 127.0.0.1:{port}: ")):
            check_port("127.0.0.1", port)
    check_port("127.0.0.1", port)  # free again
    with pytest.raises(DreamwallError, match=re.escape("cannot listen on no-such-host.invalid")):
        check_port("no-such-host.invalid", 8080)

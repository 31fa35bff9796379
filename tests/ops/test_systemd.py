"""The kiosk unit passes systemd-analyze verify; install.sh is idempotent and --uninstall removes only its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "systemd" / "install.sh"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian: apt-get install systemd)"
)


def copy_checkout(root: Path) -> Path:
    """The parts of a checkout install.sh uses, with a venv python that really runs."""
    (root / "systemd").mkdir(parents=True)
    for name in ("install.sh", "dreamwall.service.in"):
        shutil.copy2(REPO / "systemd" / name, root / "systemd" / name)
    (root / "run.py").write_text("print('dreamwall')\n")
    return root


def render(checkout: Path) -> str:
    result = subprocess.run(["bash", str(checkout / "systemd" / "install.sh"), "--print-unit"],
                            capture_output=True, text=True, check=True)
    return result.stdout


def verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "units"
    folder.mkdir(exist_ok=True)
    unit = folder / "dreamwall.service"
    unit.write_text(unit_text)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run([SYSTEMD_ANALYZE, "--user", "verify", str(unit)], capture_output=True, text=True,
                          env=env, timeout=60)


def unit_settings(text: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def with_python(checkout: Path) -> Path:
    venv_bin = checkout / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    return checkout


@needs_analyze
@pytest.mark.parametrize("folder", ["dreamwall", "my gallery 100%"])  # a space and a '%' need escaping
def test_rendered_unit_passes_systemd_analyze_verify(tmp_path: Path, folder):
    checkout = with_python(copy_checkout(tmp_path / folder))
    text = render(checkout)
    result = verify(text, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "dreamwall.service" not in output, output  # no warnings about our file either


@needs_analyze
def test_verify_really_catches_mistakes(tmp_path: Path):
    """Guard against a verify that passes anything: a typo and a missing executable are reported."""
    checkout = with_python(copy_checkout(tmp_path / "dreamwall"))
    text = render(checkout).replace("WatchdogSec=", "WatchdogSecs=")
    output = verify(text, tmp_path)
    assert "Unknown key" in output.stdout + output.stderr
    missing = verify(render(checkout).replace(str(checkout / ".venv"), str(tmp_path / "nowhere")), tmp_path)
    assert missing.returncode != 0


def test_unit_is_a_notify_service_with_watchdog_and_restart():
    checkout_text = subprocess.run(["bash", str(INSTALL), "--print-unit"], capture_output=True, text=True,
                                   check=True).stdout
    settings = unit_settings(checkout_text)
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert settings["Restart"] == ["always"]
    # the figures systemd/README.md promises: watchdog 30 s, back in 10 s, give up after 20 starts in 10 min
    assert (settings["WatchdogSec"], settings["RestartSec"], settings["TimeoutStartSec"]) == (["30"], ["10"], ["600"])
    assert (settings["StartLimitBurst"], settings["StartLimitIntervalSec"]) == (["20"], ["600"])
    assert "PYTHONFAULTHANDLER=1" in settings["Environment"] and settings["LimitCORE"] == ["0"]
    assert settings["WantedBy"] == ["graphical-session.target"]
    assert settings["RestartPreventExitStatus"] == ["2"]  # configuration errors are not retried
    exec_start = settings["ExecStart"][0]
    assert f'"{REPO}/.venv/bin/python" "{REPO}/run.py" live' in exec_start
    assert not re.search(r"@[A-Z_]+@", checkout_text)  # every placeholder was filled


# --- install.sh in a throw-away HOME, with systemctl and make stubbed on PATH ---------------

SYSTEMCTL_STUB = """#!/usr/bin/env bash
# Imitates `systemctl --user` for enable/disable/is-enabled: the wants link is what enabling is.
echo "systemctl $*" >>"$STUB_LOG"
[ "$1" = --user ] || exit 1
shift
wants="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/graphical-session.target.wants"
case "$1" in
    is-enabled) [ -L "$wants/${@: -1}" ] ;;
    enable) mkdir -p "$wants" && ln -sf "../$2" "$wants/$2" ;;
    disable) rm -f "$wants/${@: -1}" ;;
    daemon-reload) exit 0 ;;
    *) exit 1 ;;
esac
"""

MAKE_STUB = """#!/usr/bin/env bash
# Imitates `make -C REPO venv`: makes the venv the first time, nothing after.
echo "make $*" >>"$STUB_LOG"
venv="$2/.venv"
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p "$venv/bin" && printf '#!/bin/sh\\n' >"$venv/bin/python" && chmod +x "$venv/bin/python"
    touch "$venv/.installed"
fi
"""


def snapshot(root: Path) -> dict[str, str]:
    """Every file, folder and link under root with its content or target: to compare whole trees."""
    tree = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            tree[key] = f"-> {path.readlink()}"
        elif path.is_dir():
            tree[key] = "<dir>"
        else:
            tree[key] = path.read_text(errors="replace")
    return tree


class Kiosk:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        (self.home / ".config" / "other").mkdir(parents=True)
        (self.home / ".config" / "other" / "keep.txt").write_text("not ours")
        self.checkout = copy_checkout(tmp_path / "checkout")
        stubs = tmp_path / "stubs"
        stubs.mkdir()
        for name, text in (("systemctl", SYSTEMCTL_STUB), ("make", MAKE_STUB)):
            (stubs / name).write_text(text)
            (stubs / name).chmod(0o755)
        self.log = tmp_path / "calls.log"
        self.env = {
            "HOME": str(self.home),
            "PATH": f"{stubs}:/usr/bin:/bin",
            "STUB_LOG": str(self.log),
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.log.write_text("")
        return subprocess.run(["bash", str(self.checkout / "systemd" / "install.sh"), *args], capture_output=True,
                              text=True, env=self.env, timeout=60)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def state(self) -> tuple[dict[str, str], dict[str, str]]:
        return snapshot(self.home), snapshot(self.checkout)


def test_install_is_idempotent_and_uninstall_restores_everything(tmp_path: Path):
    kiosk = Kiosk(tmp_path)
    before = kiosk.state()

    first = kiosk.run()
    assert first.returncode == 0, first.stderr
    unit = kiosk.home / ".config" / "systemd" / "user" / "dreamwall.service"
    assert unit.read_text() == render(kiosk.checkout)
    assert (kiosk.home / ".config/systemd/user/graphical-session.target.wants/dreamwall.service").is_symlink()
    assert (kiosk.checkout / ".venv" / "bin" / "python").exists()
    assert "journalctl --user -u dreamwall -f" in first.stdout
    assert "systemctl --user stop dreamwall" in first.stdout
    assert "systemctl --user enable dreamwall.service" in kiosk.calls()
    installed = kiosk.state()

    second = kiosk.run()
    assert second.returncode == 0, second.stderr
    assert kiosk.state() == installed  # nothing changed, not even the manifest
    assert not [call for call in kiosk.calls() if "enable " in call or "daemon-reload" in call]

    removed = kiosk.run("--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert kiosk.state() == before
    assert "systemctl --user disable --now dreamwall.service" in kiosk.calls()

    again = kiosk.run("--uninstall")  # nothing left to remove: still fine
    assert again.returncode == 0 and kiosk.state() == before


def test_uninstall_keeps_a_venv_that_was_there_before(tmp_path: Path):
    kiosk = Kiosk(tmp_path)
    with_python(kiosk.checkout)
    before = kiosk.state()
    assert kiosk.run().returncode == 0
    assert kiosk.run("--uninstall").returncode == 0
    assert kiosk.state() == before  # the venv is still there


def test_a_unit_file_written_by_someone_else_is_not_overwritten(tmp_path: Path):
    kiosk = Kiosk(tmp_path)
    foreign = kiosk.home / ".config" / "systemd" / "user" / "dreamwall.service"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Service]\nExecStart=/usr/bin/true\n")
    result = kiosk.run()
    assert result.returncode == 2
    assert "exists and was not installed by this script" in result.stderr
    assert foreign.read_text() == "[Service]\nExecStart=/usr/bin/true\n"
    assert kiosk.run("--uninstall").returncode == 0
    assert foreign.exists()  # still not ours to remove


def test_unknown_option_exits_2(tmp_path: Path):
    result = Kiosk(tmp_path).run("--frobnicate")
    assert result.returncode == 2 and "unknown option '--frobnicate'" in result.stderr


def test_the_readmes_system_wide_unit_keeps_the_user_units_service_rules():
    """systemd/README.md's system-unit example must not drift from the unit install.sh writes."""
    readme = (REPO / "systemd" / "README.md").read_text()
    example = unit_settings(readme.split("```ini", 2)[2].split("```", 1)[0])
    user = unit_settings(subprocess.run(["bash", str(INSTALL), "--print-unit"], capture_output=True, text=True,
                                        check=True).stdout)  # fmt: skip
    for key in ("Type", "NotifyAccess", "TimeoutStartSec", "WatchdogSec", "Restart", "RestartSec",
                "RestartPreventExitStatus", "LimitCORE", "StartLimitIntervalSec", "StartLimitBurst"):
        assert example[key] == user[key], key
